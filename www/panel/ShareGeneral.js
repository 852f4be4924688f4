// Share step "General": name, storage, path, comment and the placement (native, lxc, vm), which
// decides the other steps' fields (SMBGateway.Utils.applyMode). The storage list is the node's
// GET .../smbgateway/storages (the storages a share can be put on, mounted ones only); with a
// storage chosen the path is optional (the core puts the share at its place there).
// Part of pve-smbgateway.js (www/Makefile).

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
            me.isCreate ? me.storageField() : { xtype: 'displayfield', name: 'storage', fieldLabel: gt('Storage') },
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

    // the PVE storage to put a new share on: the node's usable storages, or none (a path)
    storageField: function () {
        let pathText = '/srv/smb/team';
        let follow = function (combo, value) {
            let path = combo.up('inputpanel').down('field[name=path]');
            let chosen = value && combo.getStore().findRecord('storage', value, 0, false, true, true);
            path.allowBlank = !!value;
            path.setEmptyText(chosen ? Ext.String.format(gt('default: a place on {0}'), chosen.get('path')) : pathText);
            path.validate();
            combo.getTrigger('clear').setHidden(!value);
        };
        return {
            xtype: 'combobox',
            name: 'storage',
            fieldLabel: gt('Storage'),
            emptyText: gt('none: give a path'),
            // a VM keeps its data on its own disk (--vm-storage)
            smbgwRefusedIn: ['vm'],
            editable: false,
            queryMode: 'local',
            valueField: 'storage',
            displayField: 'storage',
            store: { fields: ['storage', 'type', 'path', 'avail', 'shared'], data: [] },
            listConfig: {
                getInnerTpl: () =>
                    '{storage:htmlEncode} <span class="smbgw-note">({type:htmlEncode}, {path:htmlEncode}' +
                    '<tpl if="avail !== undefined">, {[SMBGateway.Utils.sizeText(values.avail)]} ' +
                    gt('free') +
                    '</tpl>)</span>',
            },
            triggers: {
                clear: {
                    cls: 'x-form-clear-trigger',
                    hidden: true,
                    handler: function () {
                        this.setValue(null);
                    },
                },
            },
            listeners: {
                change: follow,
                afterrender: function (combo) {
                    let win = combo.up('window');
                    Proxmox.Utils.API2Request({
                        url: SMBGateway.Utils.baseUrl(win.nodename) + '/storages',
                        method: 'GET',
                        failure: (response) => combo.setEmptyText(response.htmlStatus),
                        success: function (response) {
                            if (combo.isDestroyed) {
                                return;
                            }
                            // only mounted ones: the core refuses the others with the reason
                            combo.getStore().loadData(response.result.data.filter((s) => s.active));
                        },
                    });
                },
            },
        };
    },

    onGetValues: function (values) {
        if (!this.isCreate) {
            delete values.mode;
            delete values.name;
        }
        return this.callParent([values]);
    },
});
