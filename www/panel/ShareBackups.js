// A share's backups on Proxmox Backup Server storages, as PVE's Backup view lists a guest's:
// every backup of the share's group (host/<node>-smbgw-<share>) on each PBS storage (a storage
// that cannot be read says why), Backup now (SMBGateway.window.BackupNow) and Restore with a
// preview of what it will do (SMBGateway.window.BackupRestore), each a task; beside the list the
// share's backup storage, schedule and retention (edited in SMBGateway.window.SnapshotSchedule
// with prefix 'backup'). The API's shares/{name}/backups. Part of pve-smbgateway.js (www/Makefile).

Ext.define('SMBGateway.panel.ShareBackups', {
    extend: 'Ext.panel.Panel',
    alias: 'widget.smbgwShareBackups',

    mixins: ['SMBGateway.mixin.Refresh'],

    nodename: undefined,
    shareName: undefined,
    // reading a PBS server may take a while: not as often as the snapshots
    refreshInterval: 30000,
    layout: 'border',
    border: false,

    share: null,
    list: null,

    shareUrl: function () {
        return `${SMBGateway.Utils.baseUrl(this.nodename)}/shares/${encodeURIComponent(this.shareName)}`;
    },

    // the PBS storages the list covers (the usable ones)
    storages: function () {
        return ((this.list && this.list.storages) || []).map((s) => s.storage);
    },

    loadOnce: function (done) {
        let me = this;
        let fail = function (response) {
            if (!me.isDestroyed) {
                Proxmox.Utils.setErrorMask(me.down('#backups'), response.htmlStatus);
                me.updateButtons();
            }
            done();
        };
        Proxmox.Utils.API2Request({
            url: me.shareUrl(),
            method: 'GET',
            failure: fail,
            success: function (sresp) {
                Proxmox.Utils.API2Request({
                    url: me.shareUrl() + '/backups',
                    method: 'GET',
                    failure: function (response) {
                        if (!me.isDestroyed) {
                            me.share = sresp.result.data || {};
                            me.list = null;
                            me.showSettings();
                        }
                        fail(response);
                    },
                    success: function (response) {
                        if (!me.isDestroyed) {
                            Proxmox.Utils.setErrorMask(me.down('#backups'), false);
                            me.share = sresp.result.data || {};
                            me.list = response.result.data || {};
                            me.showList();
                            me.showSettings();
                            me.fireEvent('smbgwLoaded', me);
                        }
                        done();
                    },
                });
            },
        });
    },

    showList: function () {
        let me = this;
        let grid = me.down('#backups');
        let sel = grid.getSelection()[0];
        let selKey = sel && sel.get('storage') + '/' + sel.get('time');
        let rows = [];
        let errors = [];
        (me.list.storages || []).forEach(function (s) {
            if (s.error) {
                errors.push(`${s.storage}: ${s.error}`);
            }
            (s.backups || []).forEach((b) =>
                rows.push({
                    storage: s.storage,
                    time: b.time,
                    when: b['backup-time'],
                    size: b.size,
                    files: (b.files || []).map((f) => f.filename).join(', '),
                    protected: !!b.protected,
                }),
            );
        });
        grid.store.loadData(rows);
        let rec = selKey && grid.store.findBy((r) => r.get('storage') + '/' + r.get('time') === selKey);
        if (rec !== undefined && rec !== null && rec >= 0) {
            grid.setSelection(grid.store.getAt(rec));
        } else {
            grid.getSelectionModel().deselectAll();
        }
        let status = me.storages().length
            ? Ext.String.format(gt('{0} backup(s) on {1}'), rows.length, me.storages().join(', '))
            : gt('No PBS storage: add one in Datacenter - Storage');
        me.down('#count').setHtml(
            Ext.htmlEncode(status) +
                errors.map((e) => ` <span class="smbgw-bad"><i class="fa fa-exclamation-triangle"></i> ${Ext.htmlEncode(e)}</span>`).join(''),
        );
        me.updateButtons();
    },

    showSettings: function () {
        let me = this;
        let s = me.share;
        let enc = Ext.htmlEncode;
        let muted = (text) => `<span class="smbgw-muted">${enc(text)}</span>`;
        let rows = [
            [gt('Storage'), s['backup-storage'] ? `<b>${enc(s['backup-storage'])}</b>` : muted(gt('none'))],
            [gt('Schedule'), s['backup-schedule'] ? `<b>${enc(s['backup-schedule'])}</b>` : muted(gt('none: backups by hand only'))],
            [gt('Next run'), me.list && me.list.next_run ? enc(SMBGateway.Utils.timeText(me.list.next_run)) : muted('-')],
            [
                gt('Retention'),
                s['backup-keep']
                    ? enc(s['backup-keep'].split(',').join(', '))
                    : muted(s['backup-schedule'] ? gt('all backups are kept') : '-'),
            ],
            [gt('Backup group'), me.list && me.list.backup_id ? enc('host/' + me.list.backup_id) : '-'],
        ];
        me.down('#settings').setHtml(
            '<table class="smbgw-values">' +
                rows.map(([k, v]) => `<tr><td style="vertical-align:top"><b>${enc(k)}</b></td><td>${v}</td></tr>`).join('') +
                '</table>',
        );
    },

    updateButtons: function () {
        let me = this;
        let rec = me.down('#backups').getSelection()[0];
        let any = me.storages().length > 0;
        me.down('#backupNow').setDisabled(!me.canModify || !any);
        me.down('#restore').setDisabled(!me.canModify || !rec);
        me.down('#editBackup').setDisabled(!me.canModify || !me.list);
    },

    task: function (upid) {
        let me = this;
        SMBGateway.Utils.openTask(upid, () => me.reload()).on('destroy', () => me.reload());
    },

    backupNow: function () {
        let me = this;
        Ext.create('SMBGateway.window.BackupNow', {
            nodename: me.nodename,
            shareName: me.shareName,
            storages: me.storages(),
            storage: me.share && me.share['backup-storage'],
            autoShow: true,
            taskDone: () => me.reload(),
            listeners: { destroy: () => me.reload() },
        });
    },

    restore: function () {
        let me = this;
        let rec = me.down('#backups').getSelection()[0];
        if (!rec) {
            return;
        }
        Ext.create('SMBGateway.window.BackupRestore', {
            nodename: me.nodename,
            shareName: me.shareName,
            storage: rec.get('storage'),
            snapshot: rec.get('time'),
            autoShow: true,
            started: (upid) => me.task(upid),
        });
    },

    editSettings: function () {
        let me = this;
        Ext.create('SMBGateway.window.SnapshotSchedule', {
            nodename: me.nodename,
            shareName: me.shareName,
            prefix: 'backup',
            storages: me.storages(),
            autoShow: true,
            taskDone: () => me.reload(),
            listeners: { destroy: () => me.reload() },
        });
    },

    initComponent: function () {
        let me = this;
        if (!me.nodename || !me.shareName) {
            throw 'no node or share name specified';
        }
        SMBGateway.Utils.injectCss();
        let caps = Ext.state.Manager.get('GuiCap') || { nodes: {} };
        me.canModify = !!(caps.nodes && caps.nodes['Sys.Modify']);
        let store = Ext.create('Ext.data.Store', {
            fields: ['storage', 'time', 'when', 'size', 'files', 'protected'],
            sorters: [{ property: 'when', direction: 'DESC' }],
            data: [],
        });
        Ext.apply(me, {
            tbar: [
                { text: gt('Backup now'), itemId: 'backupNow', iconCls: 'fa fa-floppy-o', disabled: true, handler: () => me.backupNow() },
                { text: gt('Restore'), itemId: 'restore', iconCls: 'fa fa-upload', disabled: true, handler: () => me.restore() },
                '-',
                { text: gt('Reload'), itemId: 'reload', iconCls: 'fa fa-refresh', handler: () => me.reload() },
                '->',
                { xtype: 'component', itemId: 'count', html: '' },
            ],
            items: [
                {
                    xtype: 'grid',
                    itemId: 'backups',
                    region: 'center',
                    store: store,
                    emptyText: gt('No backups yet: back the share up now, or set a schedule.'),
                    columns: [
                        { header: gt('Storage'), dataIndex: 'storage', width: 110, renderer: Ext.htmlEncode },
                        { header: gt('Date'), dataIndex: 'when', width: 165, renderer: SMBGateway.Utils.timeText },
                        { header: gt('Backup time'), dataIndex: 'time', width: 170, renderer: Ext.htmlEncode },
                        {
                            header: gt('Size'),
                            dataIndex: 'size',
                            width: 90,
                            renderer: (v) => (v === undefined || v === null ? '-' : SMBGateway.Utils.sizeText(v)),
                        },
                        { header: gt('Files'), dataIndex: 'files', flex: 1, renderer: Ext.htmlEncode },
                    ],
                    listeners: { selectionchange: () => me.updateButtons() },
                },
                {
                    xtype: 'panel',
                    region: 'east',
                    width: 300,
                    split: true,
                    title: gt('Backup job'),
                    bodyPadding: 10,
                    scrollable: true,
                    items: [{ xtype: 'component', itemId: 'settings', html: `<i>${gt('Loading...')}</i>` }],
                    tbar: [
                        { text: gt('Edit'), itemId: 'editBackup', iconCls: 'fa fa-pencil', disabled: true, handler: () => me.editSettings() },
                    ],
                },
            ],
        });
        me.callParent();
        me.startAutoRefresh();
    },
});
