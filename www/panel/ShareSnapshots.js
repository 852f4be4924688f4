// A share's snapshots, as PVE's guest Snapshots tab shows a guest's: the list (name, time, kind:
// scheduled, manual, safety, backup, or not made by the gateway; size where the filesystem tells), Take
// Snapshot, Rollback (SMBGateway.window.SnapshotRollback) and Delete (ours only, confirmed), each
// a task; beside the list the share's schedule and retention (share properties
// snapshot-schedule and snapshot-keep, edited in SMBGateway.window.SnapshotSchedule). The list
// and the changes are the API's shares/{name}/snapshots. Part of pve-smbgateway.js (www/Makefile).

Ext.define('SMBGateway.panel.ShareSnapshots', {
    extend: 'Ext.panel.Panel',
    alias: 'widget.smbgwShareSnapshots',

    mixins: ['SMBGateway.mixin.Refresh'],

    nodename: undefined,
    shareName: undefined,
    refreshInterval: 10000,
    layout: 'border',
    border: false,

    // the share and its snapshot list as last loaded
    share: null,
    list: null,

    kindText: {
        scheduled: gt('scheduled'),
        manual: gt('manual'),
        safety: gt('safety (before a rollback)'),
        backup: gt('backup (read by a backup running now)'),
    },

    shareUrl: function () {
        return `${SMBGateway.Utils.baseUrl(this.nodename)}/shares/${encodeURIComponent(this.shareName)}`;
    },

    // the share (its schedule) and its snapshots, in one round
    loadOnce: function (done) {
        let me = this;
        let fail = function (response) {
            if (!me.isDestroyed) {
                Proxmox.Utils.setErrorMask(me.down('#snapshots'), response.htmlStatus);
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
                    url: me.shareUrl() + '/snapshots',
                    method: 'GET',
                    // e.g. a filesystem without snapshots: the API's reason over the list, the
                    // schedule still shown
                    failure: function (response) {
                        if (!me.isDestroyed) {
                            me.share = sresp.result.data || {};
                            me.list = null;
                            me.showSchedule();
                        }
                        fail(response);
                    },
                    success: function (response) {
                        if (!me.isDestroyed) {
                            Proxmox.Utils.setErrorMask(me.down('#snapshots'), false);
                            me.share = sresp.result.data || {};
                            me.list = response.result.data || {};
                            me.showList();
                            me.showSchedule();
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
        let grid = me.down('#snapshots');
        let sel = grid.getSelection()[0];
        let selName = sel && sel.get('name');
        grid.store.loadData(
            (me.list.snapshots || []).map((s) => ({ name: s.name, time: s.time, kind: s.kind || null, size: s.size })),
        );
        let rec = selName && grid.store.findRecord('name', selName, 0, false, true, true);
        if (rec) {
            grid.setSelection(rec);
        } else {
            grid.getSelectionModel().deselectAll();
        }
        me.updateButtons();
        me.down('#count').setHtml(
            Ext.htmlEncode(Ext.String.format(gt('{0} snapshot(s) on {1}'), grid.store.getCount(), me.list.backend || '?')),
        );
    },

    // beside the list: what the daemon does (the share's own properties, and the next run as
    // the API reports it from the daemon's last one)
    showSchedule: function () {
        let me = this;
        let s = me.share;
        let enc = Ext.htmlEncode;
        let muted = (text) => `<span class="smbgw-muted">${enc(text)}</span>`;
        let rows = [
            [gt('Schedule'), s['snapshot-schedule'] ? `<b>${enc(s['snapshot-schedule'])}</b>` : muted(gt('none: snapshots by hand only'))],
            [gt('Next run'), me.list && me.list.next_run ? enc(SMBGateway.Utils.timeText(me.list.next_run)) : muted('-')],
            [
                gt('Retention'),
                s['snapshot-keep']
                    ? enc(s['snapshot-keep'].split(',').join(', '))
                    : muted(s['snapshot-schedule'] ? gt('all scheduled snapshots are kept') : '-'),
            ],
            [
                gt('Previous Versions'),
                s['shadow-copies'] ? enc(gt('shown to Windows clients')) : muted(gt('off (Options: Shadow copies)')),
            ],
            [gt('Path'), enc((me.list && me.list.path) || s.path || '')],
        ];
        me.down('#schedule').setHtml(
            '<table class="smbgw-values">' +
                rows.map(([k, v]) => `<tr><td style="vertical-align:top"><b>${enc(k)}</b></td><td>${v}</td></tr>`).join('') +
                '</table>',
        );
    },

    updateButtons: function () {
        let me = this;
        let rec = me.down('#snapshots').getSelection()[0];
        let btrfs = me.list && me.list.backend === 'btrfs';
        me.down('#take').setDisabled(!me.canModify || !me.list);
        me.down('#rollback').setDisabled(!me.canModify || !rec || !btrfs);
        // a snapshot the gateway did not make is never deleted by it
        me.down('#remove').setDisabled(!me.canModify || !rec || !rec.get('kind'));
        me.down('#editSchedule').setDisabled(!me.canModify);
    },

    task: function (upid) {
        let me = this;
        SMBGateway.Utils.openTask(upid, () => me.reload()).on('destroy', () => me.reload());
    },

    take: function () {
        let me = this;
        Proxmox.Utils.API2Request({
            url: me.shareUrl() + '/snapshots',
            method: 'POST',
            waitMsgTarget: me,
            failure: (response) => Ext.Msg.alert(gt('Error'), response.htmlStatus),
            success: (response) => me.task(response.result.data),
        });
    },

    remove: function () {
        let me = this;
        let rec = me.down('#snapshots').getSelection()[0];
        if (!rec || !rec.get('kind')) {
            return;
        }
        let name = rec.get('name');
        Ext.Msg.confirm(
            gt('Delete') + ': ' + Ext.htmlEncode(name),
            Ext.htmlEncode(
                Ext.String.format(
                    gt('Delete snapshot {0} of share {1} (taken {2})? Its content is gone from Previous Versions.'),
                    name,
                    me.shareName,
                    SMBGateway.Utils.timeText(rec.get('time')),
                ),
            ),
            function (btn) {
                if (btn !== 'yes') {
                    return;
                }
                Proxmox.Utils.API2Request({
                    url: `${me.shareUrl()}/snapshots/${encodeURIComponent(name)}`,
                    method: 'DELETE',
                    waitMsgTarget: me,
                    failure: (response) => Ext.Msg.alert(gt('Error'), response.htmlStatus),
                    success: (response) => me.task(response.result.data),
                });
            },
        );
    },

    rollback: function () {
        let me = this;
        let rec = me.down('#snapshots').getSelection()[0];
        if (!rec) {
            return;
        }
        Ext.create('SMBGateway.window.SnapshotRollback', {
            nodename: me.nodename,
            shareName: me.shareName,
            sharePath: (me.list && me.list.path) || '',
            snapshot: { name: rec.get('name'), time: rec.get('time') },
            autoShow: true,
            started: (upid) => me.task(upid),
        });
    },

    editSchedule: function () {
        let me = this;
        Ext.create('SMBGateway.window.SnapshotSchedule', {
            nodename: me.nodename,
            shareName: me.shareName,
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
            fields: ['name', 'time', 'kind', 'size'],
            sorters: [{ property: 'time', direction: 'DESC' }],
            data: [],
        });
        Ext.apply(me, {
            tbar: [
                { text: gt('Take Snapshot'), itemId: 'take', iconCls: 'fa fa-camera', disabled: true, handler: () => me.take() },
                { text: gt('Rollback'), itemId: 'rollback', iconCls: 'fa fa-undo', disabled: true, handler: () => me.rollback() },
                { text: gt('Delete'), itemId: 'remove', iconCls: 'fa fa-trash-o', disabled: true, handler: () => me.remove() },
                '-',
                { text: gt('Reload'), itemId: 'reload', iconCls: 'fa fa-refresh', handler: () => me.reload() },
                '->',
                { xtype: 'component', itemId: 'count', html: '' },
            ],
            items: [
                {
                    xtype: 'grid',
                    itemId: 'snapshots',
                    region: 'center',
                    store: store,
                    emptyText: gt('No snapshots yet: take one, or set a schedule.'),
                    columns: [
                        { header: gt('Name'), dataIndex: 'name', flex: 1, minWidth: 200, renderer: Ext.htmlEncode },
                        { header: gt('Date'), dataIndex: 'time', width: 165, renderer: SMBGateway.Utils.timeText },
                        {
                            header: gt('Kind'),
                            dataIndex: 'kind',
                            width: 190,
                            renderer: (v) =>
                                v
                                    ? Ext.htmlEncode(me.kindText[v] || v)
                                    : `<span class="smbgw-muted" data-qtip="${Ext.htmlEncode(
                                          gt('Made by someone else; the gateway lists it but never deletes it.'),
                                      )}">${gt('not made by the gateway')}</span>`,
                        },
                        {
                            header: gt('Size'),
                            dataIndex: 'size',
                            width: 100,
                            renderer: (v) => (v === undefined || v === null ? '-' : SMBGateway.Utils.sizeText(v)),
                        },
                    ],
                    listeners: {
                        selectionchange: () => me.updateButtons(),
                    },
                },
                {
                    xtype: 'panel',
                    region: 'east',
                    width: 300,
                    split: true,
                    title: gt('Schedule'),
                    bodyPadding: 10,
                    scrollable: true,
                    items: [{ xtype: 'component', itemId: 'schedule', html: `<i>${gt('Loading...')}</i>` }],
                    tbar: [
                        {
                            text: gt('Edit'),
                            itemId: 'editSchedule',
                            iconCls: 'fa fa-pencil',
                            disabled: true,
                            handler: () => me.editSchedule(),
                        },
                    ],
                },
            ],
        });
        me.callParent();
        me.startAutoRefresh();
    },
});
