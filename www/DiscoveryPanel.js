// node -> SMB Gateway -> Discovery: whether Windows' Network view (WS-Discovery, wsdd) and macOS
// Finder (mDNS, Avahi) find this node's SMB server, and on which interfaces wsdd answers; Edit
// changes it (GET / PUT .../smbgateway/discovery, the core's `discovery`).
// Part of pve-smbgateway.js (www/Makefile).

Ext.define('SMBGateway.DiscoveryPanel', {
    extend: 'Ext.panel.Panel',
    alias: 'widget.smbgwDiscoveryPanel',

    nodename: undefined,
    refreshInterval: 60000,
    bodyPadding: 10,

    mixins: ['SMBGateway.mixin.Refresh'],

    loadOnce: function (finish) {
        let me = this;
        Proxmox.Utils.API2Request({
            url: SMBGateway.Utils.baseUrl(me.nodename) + '/discovery',
            method: 'GET',
            failure: function (response) {
                if (!me.isDestroyed) {
                    me.down('#status').setHtml(`<span class="smbgw-error">${response.htmlStatus}</span>`);
                }
                finish();
            },
            success: function (response) {
                if (!me.isDestroyed) {
                    me.setting = response.result.data || {};
                    me.down('#status').setHtml(me.renderSetting(me.setting));
                    me.fireEvent('smbgwLoaded', me);
                }
                finish();
            },
        });
    },

    renderSetting: function (s) {
        let on = s.discovery
            ? `<span class="smbgw-ok">${gt('Advertised')}</span>`
            : `<span class="smbgw-bad">${gt('Not advertised')}</span>`;
        let interfaces = (s.interfaces || []).length ? Ext.htmlEncode(s.interfaces.join(', ')) : gt('every interface');
        let rows = [
            [gt('Discovery'), on],
            [gt('wsdd answers on'), s.discovery ? interfaces : '-'],
            [gt('Windows (Network view)'), s.discovery ? 'WS-Discovery (wsdd)' : '-'],
            [gt('macOS (Finder)'), s.discovery ? 'mDNS (Avahi): _smb._tcp, _device-info._tcp; _adisk._tcp for Time Machine shares' : '-'],
        ];
        return (
            '<table>' +
            rows.map(([k, v]) => `<tr><td style="padding-right:16px"><b>${k}</b></td><td>${v}</td></tr>`).join('') +
            '</table>' +
            `<p>${gt('The node advertises its native shares; the container of an lxc share and the VM of a vm share advertise themselves (at their share\'s next create, update or apply; a VM is rebooted for it).')}</p>`
        );
    },

    edit: function () {
        let me = this;
        Ext.create('Proxmox.window.Edit', {
            subject: gt('Discovery'),
            url: SMBGateway.Utils.baseUrl(me.nodename) + '/discovery',
            method: 'PUT',
            autoLoad: true,
            autoShow: true,
            items: [
                {
                    xtype: 'inputpanel',
                    // the GET answers a boolean and a list; the PUT takes on|off and a comma list
                    onSetValues: (values) => ({
                        discovery: !!values.discovery,
                        interfaces: (values.interfaces || []).join(','),
                    }),
                    onGetValues: (values) => ({
                        discovery: values.discovery ? 'on' : 'off',
                        interfaces: values.interfaces || '',
                    }),
                    items: [
                        {
                            xtype: 'checkbox',
                            name: 'discovery',
                            itemId: 'discovery',
                            fieldLabel: gt('Advertise'),
                            uncheckedValue: 0,
                            boxLabel: gt('WS-Discovery and mDNS'),
                        },
                        {
                            xtype: 'textfield',
                            name: 'interfaces',
                            itemId: 'interfaces',
                            fieldLabel: gt('Interfaces'),
                            emptyText: gt('every interface'),
                            regex: /^[A-Za-z0-9_.:@-]+(,[A-Za-z0-9_.:@-]+)*$/,
                            regexText: gt('Interface names, comma separated, e.g. vmbr0,eth1'),
                            allowBlank: true,
                        },
                    ],
                },
            ],
            listeners: { destroy: () => me.reload() },
        });
    },

    initComponent: function () {
        let me = this;
        if (!me.nodename) {
            throw 'no node name specified';
        }
        let caps = Ext.state.Manager.get('GuiCap') || { nodes: {} };
        me.canModify = !!(caps.nodes && caps.nodes['Sys.Modify']);
        Ext.apply(me, {
            tbar: [
                { text: gt('Reload'), iconCls: 'fa fa-refresh', handler: () => me.reload() },
                { text: gt('Edit'), itemId: 'edit', iconCls: 'fa fa-pencil', disabled: !me.canModify, handler: () => me.edit() },
            ],
            items: [{ xtype: 'component', itemId: 'status', html: gt('Loading...') }],
        });
        me.callParent();
        me.startAutoRefresh();
    },
});
