// Share step "General": name, path, comment and the placement (native, lxc, vm), which decides
// the other steps' fields (SMBGateway.Utils.applyMode). Part of pve-smbgateway.js (www/Makefile).

Ext.define('SMBGateway.panel.ShareGeneral', {
    extend: 'SMBGateway.panel.ShareBase',
    alias: 'widget.smbgwShareGeneral',
    title: gt('General'),
    itemId: 'general',

    initComponent: function () {
        let me = this;
        me.column1 = [
            {
                xtype: me.isCreate ? 'textfield' : 'displayfield',
                name: 'name',
                fieldLabel: gt('Name'),
                allowBlank: false,
                emptyText: 'e.g. team',
                submitValue: me.isCreate,
            },
            {
                xtype: 'textfield',
                name: 'path',
                fieldLabel: gt('Path'),
                allowBlank: !me.isCreate,
                emptyText: '/srv/smb/team',
            },
            {
                xtype: 'textfield',
                name: 'comment',
                fieldLabel: gt('Comment'),
            },
        ];
        let note = (modes, text) => ({
            xtype: 'component',
            cls: 'smbgw-note',
            smbgwModes: modes,
            html: Ext.htmlEncode(text),
        });
        me.column2 = [
            {
                xtype: 'radiogroup',
                fieldLabel: gt('Placement'),
                columns: 1,
                vertical: true,
                disabled: !me.isCreate,
                items: [
                    { boxLabel: gt('Native (host smbd)'), name: 'mode', inputValue: 'native', checked: true },
                    { boxLabel: gt('LXC container'), name: 'mode', inputValue: 'lxc' },
                    { boxLabel: gt('Virtual machine'), name: 'mode', inputValue: 'vm' },
                ],
                listeners: {
                    change: function (group, value) {
                        if (me.isCreate && typeof value.mode === 'string') {
                            SMBGateway.Utils.applyMode(group.up('window'), value.mode, true);
                        }
                    },
                },
            },
            note(['native'], gt("This node's smbd serves the share.")),
            note(
                ['lxc'],
                gt(
                    "Samba runs in an unprivileged container made for the share; the share's directory stays on this node and is bind-mounted into it at /srv/share.",
                ),
            ),
            note(
                ['vm'],
                gt(
                    "Samba runs in a VM cloned from the gateway's template VM; the share's data lives on the VM's own disk, sized from the quota and mounted at /srv/share inside the VM.",
                ),
            ),
        ];
        me.callParent();
    },

    onGetValues: function (values) {
        if (!this.isCreate) {
            delete values.mode;
            delete values.name;
        }
        return this.callParent([values]);
    },
});
