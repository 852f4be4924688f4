// "Backup now" of a share, as PVE's Backup now window of a guest: the PBS storage to back up to,
// then POST shares/{name}/backups as a task (the core backs up from a snapshot of the share).
// Part of pve-smbgateway.js (www/Makefile).

Ext.define('SMBGateway.window.BackupNow', {
    extend: 'Proxmox.window.Edit',
    alias: 'widget.smbgwBackupNow',

    nodename: undefined,
    shareName: undefined,
    // the PBS storages offered, and the one chosen at first (the share's backup-storage)
    storages: [],
    storage: undefined,

    isCreate: true,
    method: 'POST',
    showTaskViewer: true,
    submitText: gt('Backup'),
    width: 420,

    initComponent: function () {
        let me = this;
        if (!me.nodename || !me.shareName) {
            throw 'no node or share name specified';
        }
        Ext.apply(me, {
            title: gt('Backup now') + ': ' + Ext.htmlEncode(me.shareName),
            url: `/api2/extjs${SMBGateway.Utils.baseUrl(me.nodename)}/shares/${encodeURIComponent(me.shareName)}/backups`,
            items: [
                {
                    xtype: 'combobox',
                    name: 'storage',
                    fieldLabel: gt('Storage'),
                    editable: false,
                    allowBlank: false,
                    store: me.storages,
                    value: me.storage && me.storages.indexOf(me.storage) !== -1 ? me.storage : me.storages[0],
                },
                {
                    xtype: 'component',
                    cls: 'smbgw-note',
                    html: Ext.htmlEncode(gt('Read from a snapshot of the share (consistent), deleted again afterwards.')),
                },
            ],
        });
        me.callParent();
    },
});
