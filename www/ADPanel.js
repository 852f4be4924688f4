// node -> SMB Gateway -> Active Directory: membership, test (checklist), join, leave.
// Part of pve-smbgateway.js (www/Makefile).

Ext.define('SMBGateway.ADPanel', {
    extend: 'Ext.panel.Panel',
    alias: 'widget.smbgwADPanel',

    nodename: undefined,
    bodyPadding: 10,
    scrollable: true,

    renderStatus: function (s) {
        let yes = (v) => (v ? `<span class="smbgw-ok">${gt('Yes')}</span>` : `<span class="smbgw-bad">${gt('No')}</span>`);
        let rows = [[gt('Joined'), yes(s.joined)]];
        let labels = {
            domain: gt('Domain'),
            realm: gt('Realm'),
            workgroup: gt('Workgroup'),
            dc: gt('Domain controller'),
            keytab: gt('Keytab'),
            'keytab-present': gt('Keytab present'),
            'winbind-running': gt('winbind running'),
        };
        Ext.Object.each(s, function (k, v) {
            if (k === 'joined') {
                return;
            }
            k = labels[k] || k;
            let text = v === true || v === false ? yes(v) : Ext.htmlEncode(Ext.isObject(v) ? Ext.encode(v) : String(v ?? '-'));
            rows.push([Ext.htmlEncode(k), text]);
        });
        return '<table>' + rows.map(([k, v]) => `<tr><td style="padding-right:16px"><b>${k}</b></td><td>${v}</td></tr>`).join('') + '</table>';
    },

    reload: function () {
        let me = this;
        Proxmox.Utils.API2Request({
            url: SMBGateway.Utils.baseUrl(me.nodename) + '/ad',
            method: 'GET',
            failure: (response) => me.down('#adStatus').setHtml(`<span class="smbgw-error">${response.htmlStatus}</span>`),
            success: function (response) {
                let s = response.result.data || {};
                me.adStatus = s;
                me.down('#adStatus').setHtml(me.renderStatus(s));
                me.down('#join').setDisabled(!!s.joined || !me.canModify);
                me.down('#leave').setDisabled(!s.joined || !me.canModify);
                me.down('#check').setDisabled(!s.joined || !me.canModify);
                me.fireEvent('smbgwLoaded', me);
            },
        });
    },

    showChecklist: function (result) {
        let store = Ext.create('Ext.data.Store', { fields: ['ok', 'name', 'detail', 'fix'], data: result.checks || [] });
        let grid = this.down('#checklist');
        grid.setStore(store);
        grid.setTitle(
            gt('Checklist') +
                ': ' +
                Ext.htmlEncode(result.domain || '') +
                ' - ' +
                (result.ok ? `<span class="smbgw-ok">${gt('ready to join')}</span>` : `<span class="smbgw-bad">${gt('not ready')}</span>`),
        );
        grid.show();
    },

    // the fields of a domain account (Test and Join ask for the domain too)
    credentialFields: function (withDomain) {
        return [
            withDomain ? { xtype: 'textfield', name: 'domain', fieldLabel: gt('Domain'), allowBlank: false, emptyText: 'example.com' } : null,
            { xtype: 'textfield', name: 'dc', fieldLabel: gt('Domain controller'), emptyText: gt('from DNS') },
            { xtype: 'textfield', name: 'user', fieldLabel: gt('User'), emptyText: 'Administrator' },
            { xtype: 'textfield', name: 'password', inputType: 'password', fieldLabel: gt('Password') },
        ].filter((x) => x);
    },

    // a window asking for the parameters of one AD operation ('ad-test', 'ad-join', 'ad-leave'),
    // with their limits and defaults from the API's schema
    credentialWindow: function (operation, title, fields, submitText, handler) {
        let me = this;
        let win = Ext.create('Ext.window.Window', {
            title: title,
            modal: true,
            width: 440,
            layout: 'fit',
            items: [
                {
                    xtype: 'form',
                    bodyPadding: 10,
                    border: false,
                    fieldDefaults: { labelWidth: 130, anchor: '100%' },
                    items: fields,
                },
            ],
            buttons: [
                {
                    text: submitText,
                    itemId: 'submit',
                    formBind: true,
                    handler: function () {
                        let form = win.down('form').getForm();
                        if (!form.isValid()) {
                            return;
                        }
                        let values = {};
                        Ext.Object.each(form.getValues(), (k, v) => {
                            if (v !== '') {
                                values[k] = v;
                            }
                        });
                        handler(values, win, form);
                    },
                },
            ],
        });
        SMBGateway.Schema.apply(win, SMBGateway.Schema.propertiesOf(me.schema, operation), true);
        win.show();
        return win;
    },

    initComponent: function () {
        let me = this;
        me.nodename = me.nodename || (me.pveSelNode && me.pveSelNode.data.node);
        SMBGateway.Utils.injectCss();
        let caps = Ext.state.Manager.get('GuiCap') || { nodes: {} };
        me.canModify = !!(caps.nodes && caps.nodes['Sys.Modify']);
        let base = SMBGateway.Utils.baseUrl(me.nodename);
        let reload = () => me.reload();

        let apiFailure = (form) => SMBGateway.Utils.apiFailure(form);

        Ext.apply(me, {
            tbar: [
                {
                    text: gt('Test'),
                    itemId: 'test',
                    iconCls: 'fa fa-stethoscope',
                    handler: () =>
                        me.credentialWindow('ad-test', gt('Test a domain'), me.credentialFields(true), gt('Test'), function (values, win, form) {
                            Proxmox.Utils.API2Request({
                                url: base + '/ad/test',
                                method: 'POST',
                                params: values,
                                waitMsgTarget: win,
                                failure: apiFailure(form),
                                success: function (response) {
                                    win.close();
                                    me.showChecklist(response.result.data);
                                },
                            });
                        }),
                },
                {
                    text: gt('Join'),
                    itemId: 'join',
                    iconCls: 'fa fa-sign-in',
                    disabled: true,
                    handler: () =>
                        me.credentialWindow(
                            'ad-join',
                            gt('Join an Active Directory domain'),
                            me.credentialFields(true).concat([
                                { xtype: 'textfield', name: 'ou', fieldLabel: 'OU', emptyText: 'Servers/PVE' },
                                { xtype: 'textfield', name: 'netbios', fieldLabel: gt('NetBIOS name'), emptyText: gt('host name') },
                            ]),
                            gt('Join'),
                            function (values, win, form) {
                                Proxmox.Utils.API2Request({
                                    url: base + '/ad/join',
                                    method: 'POST',
                                    params: values,
                                    waitMsgTarget: win,
                                    failure: apiFailure(form),
                                    success: function (response) {
                                        win.close();
                                        SMBGateway.Utils.openTask(response.result.data, reload).on('destroy', reload);
                                    },
                                });
                            },
                        ),
                },
                {
                    text: gt('Leave'),
                    itemId: 'leave',
                    iconCls: 'fa fa-sign-out',
                    disabled: true,
                    handler: () =>
                        me.credentialWindow(
                            'ad-leave',
                            gt('Leave the domain'),
                            [
                                {
                                    xtype: 'component',
                                    html: Ext.htmlEncode(gt('With a password, the computer account is deleted in the domain too.')),
                                    padding: '0 0 8 0',
                                },
                            ].concat(me.credentialFields(false).slice(1)),
                            gt('Leave'),
                            function (values, win, form) {
                                Proxmox.Utils.API2Request({
                                    url: base + '/ad/leave',
                                    method: 'POST',
                                    params: values,
                                    waitMsgTarget: win,
                                    failure: apiFailure(form),
                                    success: function (response) {
                                        win.close();
                                        SMBGateway.Utils.openTask(response.result.data, reload).on('destroy', reload);
                                    },
                                });
                            },
                        ),
                },
                {
                    text: gt('Check now'),
                    itemId: 'check',
                    iconCls: 'fa fa-heartbeat',
                    disabled: true,
                    handler: () =>
                        Proxmox.Utils.API2Request({
                            url: base + '/ad/check',
                            method: 'POST',
                            waitMsgTarget: me,
                            failure: apiFailure(),
                            success: reload,
                        }),
                },
                '-',
                { text: gt('Reload'), iconCls: 'fa fa-refresh', handler: reload },
            ],
            items: [
                {
                    xtype: 'fieldset',
                    title: gt('Domain membership'),
                    items: [{ xtype: 'component', itemId: 'adStatus', html: gt('Loading...') }],
                },
                {
                    xtype: 'grid',
                    itemId: 'checklist',
                    hidden: true,
                    title: gt('Checklist'),
                    store: Ext.create('Ext.data.Store', { fields: ['ok', 'name', 'detail', 'fix'], data: [] }),
                    columns: [
                        {
                            header: '',
                            dataIndex: 'ok',
                            width: 40,
                            renderer: (v) =>
                                v ? '<i class="fa fa-check-circle smbgw-ok"></i>' : '<i class="fa fa-times-circle smbgw-bad"></i>',
                        },
                        { header: gt('Check'), dataIndex: 'name', width: 160, renderer: Ext.htmlEncode },
                        {
                            header: gt('Result'),
                            dataIndex: 'detail',
                            flex: 1,
                            cellWrap: true,
                            renderer: Ext.htmlEncode,
                        },
                        { header: gt('How to fix'), dataIndex: 'fix', flex: 1, cellWrap: true, renderer: Ext.htmlEncode },
                    ],
                },
            ],
        });
        me.callParent();
        me.on('afterrender', reload);
        // the parameters' limits and defaults of the AD operations, once for the panel
        SMBGateway.Schema.load(me.nodename, null, (schema) => {
            me.schema = schema;
        });
    },
});
