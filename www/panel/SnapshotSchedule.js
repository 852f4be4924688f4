// A share's schedule and retention, as PVE's backup job editor shows a job's schedule and its
// "Retention" (one number per keep-* bucket): the share properties <prefix>-schedule and
// <prefix>-keep (PVE's prune format, which the core parses and checks), for the snapshots
// (prefix 'snapshot') or the backups to PBS (prefix 'backup', with backup-storage). Used by
// SMBGateway.window.SnapshotSchedule. Part of pve-smbgateway.js (www/Makefile).

Ext.define('SMBGateway.panel.SnapshotSchedule', {
    extend: 'Proxmox.panel.InputPanel',
    alias: 'widget.smbgwSnapshotSchedule',

    // 'snapshot' or 'backup': which share properties are edited
    prefix: 'snapshot',
    // prefix 'backup': the PBS storages offered for backup-storage
    storages: [],

    // the buckets of PVE's prune format, in its order
    keepKinds: ['keep-last', 'keep-hourly', 'keep-daily', 'keep-weekly', 'keep-monthly', 'keep-yearly'],

    // the properties as loaded: only what was set is deleted when emptied
    loaded: {},

    // "keep-last=3,keep-daily=7" (as the core stored and checked it) -> {'keep-last': 3,
    // 'keep-daily': 7}
    parseKeep: function (text) {
        let out = {};
        (text || '')
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean)
            .forEach((item) => {
                let [k, v] = item.split('=').map((s) => s.trim());
                out[k] = v;
            });
        return out;
    },

    props: function () {
        let p = this.prefix;
        return { schedule: `${p}-schedule`, keep: `${p}-keep`, storage: p === 'backup' ? 'backup-storage' : null };
    },

    onSetValues: function (values) {
        let me = this;
        let props = me.props();
        me.loaded = {};
        [props.schedule, props.keep, props.storage].filter(Boolean).forEach((k) => {
            me.loaded[k] = values[k] || '';
        });
        let v = { [props.schedule]: me.loaded[props.schedule] };
        if (props.storage) {
            v[props.storage] = me.loaded[props.storage];
        }
        Ext.apply(v, me.parseKeep(me.loaded[props.keep]));
        return v;
    },

    // the share properties; an emptied one is deleted. Without a schedule there is nothing to
    // prune: the retention goes with it (the core refuses one without a schedule). The keep
    // fields are not disabled or invalidated meanwhile: that would flip the form's validity
    // while the schedule is retyped, which leaves the window's OK button behind.
    onGetValues: function (values) {
        let me = this;
        let props = me.props();
        let out = {};
        let del = [];
        let schedule = (values[props.schedule] || '').trim();
        let keep = me.keepKinds
            .filter((k) => values[k] !== undefined && values[k] !== null && values[k] !== '')
            .map((k) => `${k}=${values[k]}`)
            .join(',');
        if (!schedule) {
            keep = '';
        }
        let pairs = [
            [props.schedule, schedule],
            [props.keep, keep],
        ];
        if (props.storage) {
            pairs.unshift([props.storage, (values[props.storage] || '').trim()]);
        }
        pairs.forEach(([key, value]) => {
            if (value) {
                if (value !== me.loaded[key]) {
                    out[key] = value;
                }
            } else if (me.loaded[key]) {
                del.push(key);
            }
        });
        if (del.length) {
            out.delete = del.join(',');
        }
        return out;
    },

    initComponent: function () {
        let me = this;
        let keepField = (name, label) => ({
            xtype: 'numberfield',
            name: name,
            fieldLabel: label,
            minValue: 1,
            allowDecimals: false,
            allowBlank: true,
            emptyText: '-',
        });
        let backup = me.prefix === 'backup';
        me.column1 = [
            {
                xtype: 'smbgwCalendarEvent',
                name: me.props().schedule,
                fieldLabel: gt('Schedule'),
                emptyText: backup ? gt('none: backups by hand only') : gt('none: snapshots by hand only'),
            },
            {
                xtype: 'component',
                cls: 'smbgw-note',
                html: Ext.htmlEncode(
                    gt("As backup jobs: e.g. hourly, '*/15', 'mon..fri 08..18:00'; the node's local time unless it ends in UTC."),
                ),
            },
            keepField('keep-last', gt('Keep Last')),
            keepField('keep-hourly', gt('Keep Hourly')),
            keepField('keep-daily', gt('Keep Daily')),
        ];
        if (backup) {
            me.column1.unshift({
                xtype: 'combobox',
                name: 'backup-storage',
                fieldLabel: gt('Storage'),
                editable: false,
                emptyText: gt('a PBS storage'),
                store: me.storages,
            });
        }
        me.column2 = [
            keepField('keep-weekly', gt('Keep Weekly')),
            keepField('keep-monthly', gt('Keep Monthly')),
            keepField('keep-yearly', gt('Keep Yearly')),
            {
                xtype: 'component',
                cls: 'smbgw-note',
                html: Ext.htmlEncode(
                    backup
                        ? gt('Retention prunes the share\'s backups on the PBS server after each scheduled backup (as PVE and PBS prune); none set: all are kept. Without a schedule the retention is removed with it.')
                        : gt('Retention prunes the scheduled snapshots only (as PVE and PBS prune); none set: all are kept. Without a schedule there is nothing to prune: the retention is removed with it. Manual and safety snapshots stay until deleted by hand.'),
                ),
            },
        ];
        me.callParent();
    },
});
