// The snapshot schedule of a share and its retention, as PVE's backup job editor shows a job's
// schedule and its "Retention" (one number per keep-* bucket): the share properties
// snapshot-schedule and snapshot-keep (PVE's prune format, which the core parses and checks).
// Used by SMBGateway.window.SnapshotSchedule. Part of pve-smbgateway.js (www/Makefile).

Ext.define('SMBGateway.panel.SnapshotSchedule', {
    extend: 'Proxmox.panel.InputPanel',
    alias: 'widget.smbgwSnapshotSchedule',

    // the buckets of PVE's prune format, in its order
    keepKinds: ['keep-last', 'keep-hourly', 'keep-daily', 'keep-weekly', 'keep-monthly', 'keep-yearly'],

    // the properties as loaded: only what was set is deleted when emptied
    loaded: {},

    // "keep-last=3,keep-daily=7" -> {'keep-last': 3, 'keep-daily': 7}; what is not of the
    // format stays for the core to refuse
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

    onSetValues: function (values) {
        let me = this;
        me.loaded = {
            'snapshot-schedule': values['snapshot-schedule'] || '',
            'snapshot-keep': values['snapshot-keep'] || '',
        };
        let v = { 'snapshot-schedule': me.loaded['snapshot-schedule'] };
        Ext.apply(v, me.parseKeep(me.loaded['snapshot-keep']));
        return v;
    },

    // the two share properties; an emptied one is deleted. Without a schedule there is nothing
    // to prune: the retention goes with it (the core refuses one without a schedule). The keep
    // fields are not disabled or invalidated meanwhile: that would flip the form's validity
    // while the schedule is retyped, which leaves the window's OK button behind.
    onGetValues: function (values) {
        let me = this;
        let out = {};
        let del = [];
        let schedule = (values['snapshot-schedule'] || '').trim();
        let keep = me.keepKinds
            .filter((k) => values[k] !== undefined && values[k] !== null && values[k] !== '')
            .map((k) => `${k}=${values[k]}`)
            .join(',');
        if (!schedule) {
            keep = '';
        }
        [
            ['snapshot-schedule', schedule],
            ['snapshot-keep', keep],
        ].forEach(([key, value]) => {
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
        me.column1 = [
            {
                xtype: 'smbgwCalendarEvent',
                name: 'snapshot-schedule',
                fieldLabel: gt('Schedule'),
                emptyText: gt('none: snapshots by hand only'),
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
        me.column2 = [
            keepField('keep-weekly', gt('Keep Weekly')),
            keepField('keep-monthly', gt('Keep Monthly')),
            keepField('keep-yearly', gt('Keep Yearly')),
            {
                xtype: 'component',
                cls: 'smbgw-note',
                html: Ext.htmlEncode(
                    gt('Retention prunes the scheduled snapshots only (as PVE and PBS prune); none set: all are kept. Without a schedule there is nothing to prune: the retention is removed with it. Manual and safety snapshots stay until deleted by hand.'),
                ),
            },
        ];
        me.callParent();
    },
});
