/*
 * Test-only: a minimal workspace in place of PVE.StdWorkspace. It sets the GuiCap state (as PVE
 * does after login from the user's permissions) and shows, by URL hash:
 *   #node (default)  the node panel, PVE.node.Config for node 'pve1'
 *   #storage         Datacenter -> Storage (PVE.dc.StorageView)
 * Browser errors are forwarded to the test server's log.
 */
(function () {

    window.smbgwErrors = [];
    window.addEventListener('error', (e) => window.smbgwErrors.push(String(e.message)));

    Ext.define('SMBGatewayTest.Workspace', {
        extend: 'Ext.container.Viewport',
        layout: 'fit',

        initComponent: function () {
            let me = this;
            // as PVE.Workspace does: tooltips from data-qtip (grid cells)
            Ext.tip.QuickTipManager.init();
            Ext.state.Manager.setProvider(Ext.create('Ext.state.Provider'));
            Ext.state.Manager.set('GuiCap', {
                nodes: { 'Sys.Audit': 1, 'Sys.Modify': 1, 'Sys.Console': 1, 'Sys.Syslog': 1 },
                storage: { 'Datastore.Allocate': 1 },
                vms: {},
                // root: Sys.Audit/Sys.Modify on / (the cluster API's privileges) land in 'dc'
                dc: { 'Sys.Audit': 1, 'Sys.Modify': 1 },
                access: {},
            });
            let view = (window.location.hash || '#node').substring(1);
            if (view === 'storage') {
                me.items = [{ xtype: 'pveStorageView', itemId: 'storageview', title: 'Datacenter - Storage' }];
            } else {
                me.items = [
                    Ext.create('PVE.node.Config', {
                        itemId: 'nodeconfig',
                        pveSelNode: { data: { node: 'pve1', text: 'pve1', id: 'node/pve1' } },
                    }),
                ];
            }
            me.callParent();
        },
    });
})();
