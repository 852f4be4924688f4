// Share step "Quota": size, backend, alerts, ZFS dataset. Part of pve-smbgateway.js (www/Makefile).

Ext.define('SMBGateway.panel.ShareQuota', {
    extend: 'SMBGateway.panel.ShareBase',
    alias: 'widget.smbgwShareQuota',
    title: gt('Quota'),
    itemId: 'quota',

    initComponent: function () {
        let me = this;
        me.column1 = [
            {
                xtype: 'textfield',
                name: 'quota',
                fieldLabel: gt('Quota'),
                emptyText: gt('none') + ' (e.g. 500M, 10G, 1.5T)',
                // only a VM share needs one (SMBGateway.Utils.applyMode); the core's words
                blankText: gt("--mode vm needs --quota, the size of the share's data disk"),
            },
            {
                xtype: me.isCreate ? 'combobox' : 'displayfield',
                name: 'quota-backend',
                fieldLabel: gt('Backend'),
                editable: false,
                value: 'auto',
                smbgwRefusedIn: ['vm'],
                store: [
                    ['auto', gt('auto (from the filesystem)')],
                    ['btrfs', 'btrfs qgroup'],
                    ['zfs', 'ZFS refquota'],
                    ['project', 'ext4/XFS project quota'],
                    ['cephfs', 'CephFS quota (ceph.quota.max_bytes)'],
                ],
            },
        ];
        me.column2 = [
            {
                xtype: 'textfield',
                name: 'quota-alerts',
                fieldLabel: gt('Alerts at (%)'),
                emptyText: '80, 90, 95',
            },
            {
                xtype: me.isCreate ? 'textfield' : 'displayfield',
                name: 'zfs-dataset',
                fieldLabel: gt('ZFS dataset'),
                emptyText: gt('auto'),
                smbgwRefusedIn: ['vm'],
            },
        ];
        me.columnB = [
            {
                xtype: 'component',
                cls: 'smbgw-note',
                smbgwModes: ['native', 'lxc'],
                html: Ext.htmlEncode(
                    gt(
                        'The quota is enforced by the filesystem: a btrfs subvolume, a ZFS dataset, an ext4/XFS project quota (mounted with prjquota) or a CephFS directory quota (enforced by each client, so a write may overshoot it by a few MiB). Other filesystems refuse a quota.',
                    ),
                ),
            },
            {
                xtype: 'component',
                cls: 'smbgw-note',
                smbgwModes: ['vm'],
                html: Ext.htmlEncode(
                    gt(
                        "A VM share needs a quota: it is the size of the VM's data disk. Backend and dataset are the node's, so they do not apply.",
                    ),
                ),
            },
        ];
        me.callParent();
    },
});
