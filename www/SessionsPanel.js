// node -> SMB Gateway -> Sessions: who is connected to this node's smbd, from where, how
// (protocol, encryption, signing), on which shares, holding which files and locks; a
// Disconnect button ends one session (GET / DELETE .../smbgateway/sessions, the core's
// `sessions`). Part of pve-smbgateway.js (www/Makefile).

Ext.define('SMBGateway.SessionsPanel', {
    extend: 'Ext.panel.Panel',
    alias: 'widget.smbgwSessionsPanel',

    nodename: undefined,
    refreshInterval: 10000,
    layout: { type: 'vbox', align: 'stretch' },

    mixins: ['SMBGateway.mixin.Refresh'],

    loadOnce: function (finish) {
        let me = this;
        Proxmox.Utils.API2Request({
            url: SMBGateway.Utils.baseUrl(me.nodename) + '/sessions',
            method: 'GET',
            failure: function (response) {
                if (!me.isDestroyed) {
                    Proxmox.Utils.setErrorMask(me, response.htmlStatus);
                }
                finish();
            },
            success: function (response) {
                if (!me.isDestroyed) {
                    Proxmox.Utils.setErrorMask(me, false);
                    me.showSessions(response.result.data || {});
                    me.fireEvent('smbgwLoaded', me);
                }
                finish();
            },
        });
    },

    // a cipher with how much it covers ("AES-128-GCM (full)"), or "-" when off
    protectionText: function (p) {
        if (!p || !p.degree || p.degree === 'none') {
            return '-';
        }
        return `${p.cipher} (${p.degree})`;
    },

    showSessions: function (report) {
        let me = this;
        let grid = me.down('#sessions');
        let sel = grid.getSelection()[0];
        let selId = sel && sel.get('id');
        // what each session holds, from the per-share lists
        me.held = {};
        (report.shares || []).forEach(function (share) {
            let add = (session, row) => {
                if (session) {
                    (me.held[session] = me.held[session] || []).push(Ext.apply({ share: share.name }, row));
                }
            };
            (share.open_files || []).forEach((f) =>
                add(f.session, { file: f.file, what: gt('open') + ' ' + f.access, caching: f.caching, since: f.opened_at }),
            );
            (share.locks || []).forEach((l) =>
                add(l.session, {
                    file: l.file,
                    what: `${gt('lock')} ${l.type} ${l.start}+${l.size}`,
                    caching: '',
                    since: '',
                }),
            );
        });
        grid.store.loadData(
            (report.sessions || []).map((s) => ({
                id: s.id,
                user: s.user,
                client: s.client,
                address: s.address,
                protocol: s.protocol,
                encryption: me.protectionText(s.encryption),
                signing: me.protectionText(s.signing),
                shares: (s.shares || []).join(', '),
                open_files: s.open_files,
                locks: s.locks,
            })),
        );
        let rec = selId && grid.store.findRecord('id', selId, 0, false, true, true);
        if (rec) {
            grid.setSelection(rec);
        }
        me.showHeld();
        let smbd = me.down('#smbdState');
        smbd.setHtml(
            report.smbd_running === false
                ? `<i class="fa fa-exclamation-triangle smbgw-bad"></i> ${gt('smbd is not running')}`
                : Ext.String.format(gt('{0} session(s)'), (report.sessions || []).length),
        );
    },

    // the files and locks of the selected session
    showHeld: function () {
        let me = this;
        let rec = me.down('#sessions').getSelection()[0];
        me.down('#held').store.loadData((rec && me.held && me.held[rec.get('id')]) || []);
    },

    disconnect: function () {
        let me = this;
        let rec = me.down('#sessions').getSelection()[0];
        if (!rec || !me.canModify) {
            return;
        }
        let id = rec.get('id');
        Ext.Msg.confirm(
            gt('Disconnect') + ': ' + Ext.htmlEncode(rec.get('user')),
            Ext.htmlEncode(
                Ext.String.format(
                    gt('End session {0} of {1} from {2}? Its open files are closed without the client saving them; the client may reconnect.'),
                    id,
                    rec.get('user'),
                    rec.get('client'),
                ),
            ),
            function (btn) {
                if (btn !== 'yes') {
                    return;
                }
                Proxmox.Utils.API2Request({
                    url: `${SMBGateway.Utils.baseUrl(me.nodename)}/sessions/${encodeURIComponent(id)}`,
                    method: 'DELETE',
                    waitMsgTarget: me,
                    failure: (response) => {
                        Ext.Msg.alert(gt('Error'), response.htmlStatus);
                        me.reload();
                    },
                    success: (response) => SMBGateway.Utils.openTask(response.result.data, () => me.reload()),
                });
            },
        );
    },

    initComponent: function () {
        let me = this;
        me.nodename = me.nodename || (me.pveSelNode && me.pveSelNode.data.node);
        SMBGateway.Utils.injectCss();
        let caps = Ext.state.Manager.get('GuiCap') || { nodes: {} };
        me.canModify = !!(caps.nodes && caps.nodes['Sys.Modify']);
        let sessionStore = Ext.create('Ext.data.Store', {
            fields: ['id', 'user', 'client', 'address', 'protocol', 'encryption', 'signing', 'shares', 'open_files', 'locks'],
            sorters: ['user', 'id'],
            data: [],
        });
        let heldStore = Ext.create('Ext.data.Store', {
            fields: ['share', 'file', 'what', 'caching', 'since'],
            sorters: ['share', 'file'],
            data: [],
        });
        let text = (v) => Ext.htmlEncode(v === undefined || v === null || v === '' ? '-' : String(v));
        Ext.apply(me, {
            items: [
                {
                    xtype: 'grid',
                    itemId: 'sessions',
                    flex: 2,
                    store: sessionStore,
                    emptyText: gt('No SMB sessions'),
                    tbar: [
                        {
                            text: gt('Reload'),
                            iconCls: 'fa fa-refresh',
                            handler: () => me.reload(),
                        },
                        {
                            text: gt('Disconnect'),
                            itemId: 'disconnect',
                            iconCls: 'fa fa-plug',
                            disabled: true,
                            handler: () => me.disconnect(),
                        },
                        '->',
                        { xtype: 'component', itemId: 'smbdState', html: '' },
                    ],
                    columns: [
                        { header: gt('User'), dataIndex: 'user', width: 130, renderer: text },
                        {
                            header: gt('Client'),
                            dataIndex: 'client',
                            width: 150,
                            renderer: function (v, md, rec) {
                                md.tdAttr = 'data-qtip="' + Ext.htmlEncode(Ext.htmlEncode(rec.get('address'))) + '"';
                                return text(v);
                            },
                        },
                        { header: gt('Share'), dataIndex: 'shares', flex: 1, renderer: text },
                        { header: gt('Protocol'), dataIndex: 'protocol', width: 90, renderer: text },
                        { header: gt('Encryption'), dataIndex: 'encryption', width: 160, renderer: text },
                        { header: gt('Signing'), dataIndex: 'signing', width: 190, renderer: text },
                        { header: gt('Open files'), dataIndex: 'open_files', width: 100, align: 'right' },
                        { header: gt('Locks'), dataIndex: 'locks', width: 70, align: 'right' },
                        { header: gt('Session'), dataIndex: 'id', width: 110, renderer: text },
                    ],
                    listeners: {
                        selectionchange: function (sm, sel) {
                            me.down('#disconnect').setDisabled(!sel.length || !me.canModify);
                            me.showHeld();
                        },
                    },
                },
                {
                    xtype: 'grid',
                    itemId: 'held',
                    title: gt('Open files and locks of the selected session'),
                    flex: 1,
                    store: heldStore,
                    emptyText: gt('None'),
                    columns: [
                        { header: gt('Share'), dataIndex: 'share', width: 130, renderer: text },
                        { header: gt('File'), dataIndex: 'file', flex: 1, renderer: text },
                        { header: gt('Held'), dataIndex: 'what', width: 160, renderer: text },
                        { header: gt('Caching'), dataIndex: 'caching', width: 90, renderer: text },
                        { header: gt('Since'), dataIndex: 'since', width: 200, renderer: text },
                    ],
                },
            ],
        });
        me.callParent();
        me.startAutoRefresh();
    },
});
