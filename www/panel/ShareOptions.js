// Share step "Options": the Samba features of a share. Part of pve-smbgateway.js (www/Makefile).

Ext.define('SMBGateway.panel.ShareOptions', {
    extend: 'SMBGateway.panel.ShareBase',
    alias: 'widget.smbgwShareOptions',
    title: gt('Options'),
    itemId: 'options',

    initComponent: function () {
        let me = this;
        me.column1 = [
            SMBGateway.Utils.checkbox('shadow-copies', gt('Shadow copies'), { boxLabel: gt('"Previous Versions"'), smbgwRefusedIn: ['vm'] }),
            SMBGateway.Utils.checkbox('recycle-bin', gt('Recycle bin')),
            SMBGateway.Utils.checkbox('macos', gt('macOS clients'), { boxLabel: 'vfs_fruit' }),
            SMBGateway.Utils.checkbox('streams', gt('Alternate data streams'), { boxLabel: 'vfs_streams_xattr' }),
            SMBGateway.Utils.checkbox('time-machine', gt('Time Machine'), { boxLabel: gt('needs macOS clients') }),
            SMBGateway.Utils.checkbox('audit', gt('Audit log')),
        ];
        me.column2 = [
            SMBGateway.Utils.checkbox('browseable', gt('Browseable')),
            SMBGateway.Utils.checkbox('encrypt', gt('Encryption'), { boxLabel: gt('require SMB3') }),
            {
                xtype: 'combobox',
                name: 'case-sensitive',
                fieldLabel: gt('Case sensitive'),
                editable: false,
                value: 'auto',
                store: [
                    ['auto', 'auto'],
                    ['yes', gt('Yes')],
                    ['no', gt('No')],
                ],
            },
            {
                xtype: 'combobox',
                name: 'acl-mode',
                fieldLabel: gt('Permissions'),
                editable: false,
                value: 'posix',
                // acl_xattr needs security.* xattrs, which an unprivileged container cannot write
                smbgwRefusedIn: ['lxc', 'vm'],
                store: [
                    ['posix', gt('POSIX ACLs for the users')],
                    ['windows', gt('Windows ACLs (Security tab)')],
                    ['keep', gt('Keep as on disk (gateway changes none)')],
                ],
            },
            SMBGateway.Utils.checkbox('access-based-enum', gt('Access-based listing'), {
                boxLabel: gt('list only to its users'),
            }),
            SMBGateway.Utils.checkbox('hide-unreadable', gt('Hide unreadable'), { boxLabel: gt('files the user cannot read') }),
        ];
        me.columnB = [
            {
                xtype: 'textfield',
                name: 'time-machine-max-size',
                fieldLabel: gt('Time Machine size'),
                emptyText: gt('e.g. 500G, at most the quota'),
            },
            {
                xtype: 'textfield',
                name: 'options',
                fieldLabel: gt('Samba options'),
                emptyText: 'KEY=VALUE, ... (allow list)',
            },
            {
                // the examples of the snapshot editor (SMBGateway.form.CalendarEvent)
                xtype: 'smbgwCalendarEvent',
                name: 'snapshot-schedule',
                fieldLabel: gt('Snapshot schedule'),
                emptyText: gt('e.g. hourly, mon..fri 08..18:00 (as backup jobs)'),
                smbgwRefusedIn: ['vm'],
            },
            {
                xtype: 'textfield',
                name: 'snapshot-keep',
                fieldLabel: gt('Keep snapshots'),
                emptyText: gt('e.g. keep-last=3,keep-daily=7 (empty: all)'),
                smbgwRefusedIn: ['vm'],
            },
            {
                xtype: 'component',
                cls: 'smbgw-note',
                smbgwModes: ['vm'],
                html: Ext.htmlEncode(gt('In a VM: no shadow copies yet (the data disk has no snapshots inside the VM).')),
            },
        ];
        me.callParent();
    },
    // the API gives the size in bytes, the field takes it as --quota does (e.g. 500G)
    onSetValues: function (values) {
        let v = this.callParent([values]);
        if (v['time-machine-max-size'] !== undefined) {
            v['time-machine-max-size'] = SMBGateway.Utils.quotaText(v['time-machine-max-size']);
        }
        return v;
    },
});
