// Share step "Access": users, groups, hosts, read-only and guest access.
// Part of pve-smbgateway.js (www/Makefile).

Ext.define('SMBGateway.panel.ShareAccess', {
    extend: 'SMBGateway.panel.ShareBase',
    alias: 'widget.smbgwShareAccess',
    title: gt('Access'),
    itemId: 'access',

    initComponent: function () {
        let me = this;
        me.column1 = [
            {
                xtype: 'textfield',
                name: 'users',
                fieldLabel: gt('Users'),
                emptyText: 'alice, EXAMPLE\\bob',
                validator: SMBGateway.Utils.localOnlyInGuests,
            },
            {
                xtype: 'textfield',
                name: 'groups',
                fieldLabel: gt('Groups'),
                emptyText: 'staff, EXAMPLE\\Domain Users',
                validator: SMBGateway.Utils.localOnlyInGuests,
            },
            SMBGateway.Utils.checkbox('fallback-local', gt('Local fallback'), {
                boxLabel: gt('local users while the domain is down'),
                smbgwRefusedIn: ['lxc', 'vm'],
            }),
        ];
        me.column2 = [
            { xtype: 'textfield', name: 'hosts-allow', fieldLabel: gt('Hosts allow'), emptyText: '192.0.2.0/24' },
            { xtype: 'textfield', name: 'hosts-deny', fieldLabel: gt('Hosts deny') },
            SMBGateway.Utils.checkbox('read-only', gt('Read-only')),
            SMBGateway.Utils.checkbox('guest', gt('Guest access')),
            // a home share is one from its creation on (the core fixes it), so edit only shows it
            me.isCreate
                ? SMBGateway.Utils.checkbox('homes', gt('Home folders'), {
                      boxLabel: gt('one private folder per user'),
                      smbgwRefusedIn: ['lxc', 'vm'],
                  })
                : {
                      xtype: 'displayfield',
                      name: 'homes',
                      fieldLabel: gt('Home folders'),
                      renderer: (v) => (Number(v) ? gt('Yes') : gt('No')),
                  },
            {
                xtype: 'textfield',
                name: 'home-quota',
                fieldLabel: gt('Home quota'),
                emptyText: gt('none') + ' (e.g. 10G, btrfs)',
                smbgwRefusedIn: ['lxc', 'vm'],
            },
        ];
        me.columnB = [
            {
                xtype: 'component',
                cls: 'smbgw-note',
                html: Ext.htmlEncode(
                    gt(
                        'Comma separated. Local Samba users and groups, or domain users and groups as DOMAIN\\name once the node has joined Active Directory. No users and no groups: every Samba user may connect.',
                    ),
                ),
            },
            {
                xtype: 'component',
                cls: 'smbgw-note',
                smbgwModes: ['lxc', 'vm'],
                html: Ext.htmlEncode(gt('In a container or a VM: local users and groups only, domain accounts are not available there yet.')),
            },
            {
                xtype: 'component',
                cls: 'smbgw-note',
                smbgwModes: ['native'],
                html: Ext.htmlEncode(
                    gt(
                        'Home folders: each listed user (and each member of the groups) gets a private folder under the path, and connecting to the share lands in it. Local accounts; one home share per node; name it "homes" to reach it as \\\\server\\USER too. The home quota limits each folder (btrfs: each is its own subvolume).',
                    ),
                ),
            },
        ];
        me.callParent();
    },
    // the API gives the home quota in bytes, the field takes it as --quota does (e.g. 10G)
    onSetValues: function (values) {
        let v = this.callParent([values]);
        if (v['home-quota'] !== undefined) {
            v['home-quota'] = SMBGateway.Utils.quotaText(v['home-quota']);
        }
        return v;
    },
});
