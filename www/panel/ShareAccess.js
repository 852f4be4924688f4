// Share step "Access": users, groups, hosts, read-only and guest access; for an lxc share naming
// domain accounts, the domain administrator who joins its container to the domain (ad-user,
// ad-password: sent with that create or update only, never stored or shown back).
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
            // shown by updateJoin: lxc, and a domain account among the users or groups
            {
                xtype: 'textfield',
                name: 'ad-user',
                fieldLabel: gt('Join account'),
                emptyText: gt('a domain administrator'),
                smbgwJoin: true,
                hidden: true,
                disabled: true,
            },
            {
                xtype: 'textfield',
                inputType: 'password',
                name: 'ad-password',
                fieldLabel: gt('Password'),
                smbgwJoin: true,
                hidden: true,
                disabled: true,
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
                smbgwModes: ['vm'],
                html: Ext.htmlEncode(gt('In a VM: local users and groups only, domain accounts are not available there yet.')),
            },
            {
                xtype: 'component',
                cls: 'smbgw-note',
                smbgwJoin: true,
                hidden: true,
                html: Ext.htmlEncode(
                    gt(
                        'Domain accounts in a container: the container joins the domain as a computer of its own (SMBGW-CT<id>). The join account is a domain administrator who may join computers; it and its password are used for this change only and are not stored. Needed when the container joins: at create, or when domain accounts are added later.',
                    ),
                ),
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
        me.query('field[name=users], field[name=groups]').forEach((f) => f.on('change', () => me.updateJoin()));
    },

    // the join account applies to an lxc share naming a domain account (DOMAIN\name); hidden
    // fields are disabled, so neither checked nor sent
    updateJoin: function () {
        let me = this;
        let domain = ['users', 'groups'].some((n) => String(me.down(`field[name=${n}]`).getValue() || '').indexOf('\\') !== -1);
        let on = SMBGateway.Utils.modeOf(me) === 'lxc' && domain;
        me.query('[smbgwJoin]').forEach(function (c) {
            c.setHidden(!on);
            if (c.isFormField) {
                c.setDisabled(!on);
            }
        });
    },
    // called by SMBGateway.Utils.applyMode
    smbgwOnMode: function () {
        this.updateJoin();
    },
    // the join account is no share property: never reset with 'delete'
    onGetValues: function (values) {
        let v = this.callParent([values]);
        if (v.delete) {
            let del = v.delete.split(',').filter((k) => k !== 'ad-user' && k !== 'ad-password');
            if (del.length) {
                v.delete = del.join(',');
            } else {
                delete v.delete;
            }
        }
        return v;
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
