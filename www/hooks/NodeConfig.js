// Hook: our panels in PVE's node menu, by an override of PVE.node.Config. Runs in
// pve-smbgateway.js.in's frame after the classes are defined (www/Makefile), guarded on its own.

// node -> "SMB Gateway" with Quota, Sessions, Throughput, Discovery, Active Directory and HA below it
guarded('adding the SMB Gateway node panels', function () {
    let nodeConfig = Ext.ClassManager.get('PVE.node.Config');
    if (!nodeConfig || !Ext.isFunction(nodeConfig.prototype.insertNodes)) {
        throw 'PVE.node.Config with insertNodes not found';
    }
    Ext.define('SMBGateway.override.NodeConfig', {
        override: 'PVE.node.Config',

        insertNodes: function (items) {
            let me = this;
            try {
                let caps = Ext.state.Manager.get('GuiCap') || { nodes: {} };
                if (!me.smbgwInserted && Ext.isArray(items) && caps.nodes && caps.nodes['Sys.Audit'] && me.pveSelNode) {
                    me.smbgwInserted = true;
                    let nodename = me.pveSelNode.data.node;
                    let ours = [
                        {
                            xtype: 'smbgwShareGrid',
                            title: 'SMB Gateway',
                            iconCls: 'fa fa-share-alt',
                            itemId: 'smbgateway',
                            expandedOnInit: true,
                            nodename: nodename,
                        },
                        {
                            xtype: 'smbgwQuotaPanel',
                            title: gt('Quota'),
                            iconCls: 'fa fa-pie-chart',
                            itemId: 'smbgateway-quota',
                            groups: ['smbgateway'],
                            nodename: nodename,
                        },
                        {
                            xtype: 'smbgwSessionsPanel',
                            title: gt('Sessions'),
                            iconCls: 'fa fa-plug',
                            itemId: 'smbgateway-sessions',
                            groups: ['smbgateway'],
                            nodename: nodename,
                        },
                        {
                            xtype: 'smbgwThroughputPanel',
                            title: gt('Throughput'),
                            iconCls: 'fa fa-area-chart',
                            itemId: 'smbgateway-throughput',
                            groups: ['smbgateway'],
                            nodename: nodename,
                        },
                        {
                            xtype: 'smbgwDiscoveryPanel',
                            title: gt('Discovery'),
                            iconCls: 'fa fa-binoculars',
                            itemId: 'smbgateway-discovery',
                            groups: ['smbgateway'],
                            nodename: nodename,
                        },
                        {
                            xtype: 'smbgwADPanel',
                            title: 'Active Directory',
                            iconCls: 'fa fa-sitemap',
                            itemId: 'smbgateway-ad',
                            groups: ['smbgateway'],
                            nodename: nodename,
                        },
                        {
                            xtype: 'smbgwHAPanel',
                            title: 'HA',
                            iconCls: 'fa fa-heartbeat',
                            itemId: 'smbgateway-ha',
                            groups: ['smbgateway'],
                            nodename: nodename,
                        },
                    ];
                    // before the task history, else at the end
                    let at = items.findIndex((i) => i && i.itemId === 'tasks');
                    items.splice(at === -1 ? items.length : at, 0, ...ours);
                }
            } catch (err) {
                console.error(TAG, 'could not add the SMB Gateway panels', err);
            }
            return me.callParent(arguments);
        },
    });
});
