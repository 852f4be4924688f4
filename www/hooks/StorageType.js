// Hook: the 'smbgateway' storage type in PVE's storage schema. Runs in pve-smbgateway.js.in's
// frame after the classes are defined (www/Makefile), guarded on its own.

// the storage type in Datacenter -> Storage (the Add menu is built from storageSchema)
guarded('registering the smbgateway storage type', function () {
    if (typeof PVE === 'undefined' || !PVE.Utils || !Ext.isObject(PVE.Utils.storageSchema)) {
        throw 'PVE.Utils.storageSchema not found';
    }
    if (!Ext.ClassManager.get('PVE.storage.SMBGatewayInputPanel')) {
        throw 'PVE.panel.StorageBase not found';
    }
    PVE.Utils.storageSchema.smbgateway = {
        name: 'SMB Gateway',
        ipanel: 'SMBGatewayInputPanel',
        faIcon: 'share-alt',
        backups: true,
    };
});
