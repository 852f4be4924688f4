// "Snapshots & Backup" of one share, opened from the shares grid (SMBGateway.ShareGrid): its
// snapshots with their schedule (SMBGateway.panel.ShareSnapshots) and its backups to PBS with
// their job (SMBGateway.panel.ShareBackups) in two tabs, as PVE shows a guest's Snapshots and
// Backup as tabs of the guest. Part of pve-smbgateway.js (www/Makefile).

Ext.define('SMBGateway.window.ShareProtection', {
    extend: 'Ext.window.Window',
    alias: 'widget.smbgwShareProtection',

    nodename: undefined,
    shareName: undefined,

    modal: true,
    width: 980,
    height: 520,
    layout: 'fit',

    initComponent: function () {
        let me = this;
        if (!me.nodename || !me.shareName) {
            throw 'no node or share name specified';
        }
        Ext.apply(me, {
            title: gt('Snapshots & Backup') + ': ' + Ext.htmlEncode(me.shareName),
            items: [
                {
                    xtype: 'tabpanel',
                    items: [
                        {
                            xtype: 'smbgwShareSnapshots',
                            title: gt('Snapshots'),
                            iconCls: 'fa fa-history',
                            itemId: 'snapshotsTab',
                            nodename: me.nodename,
                            shareName: me.shareName,
                        },
                        {
                            xtype: 'smbgwShareBackups',
                            title: gt('Backup'),
                            iconCls: 'fa fa-floppy-o',
                            itemId: 'backupsTab',
                            nodename: me.nodename,
                            shareName: me.shareName,
                        },
                    ],
                },
            ],
        });
        me.callParent();
    },
});
