// Datacenter -> Storage -> Add -> SMB Gateway (storage type 'smbgateway'): the input panel of
// PVE's storage edit window; hooks/StorageType.js registers it. Defined only where PVE has the
// base class. Part of pve-smbgateway.js (www/Makefile).

if (Ext.ClassManager.get('PVE.panel.StorageBase')) {
    Ext.define('PVE.storage.SMBGatewayInputPanel', {
        extend: 'PVE.panel.StorageBase',

        onGetValues: function (values) {
            let me = this;
            if (Ext.isArray(values.content)) {
                values.content = values.content.join(',');
            }
            if (!me.isCreate) {
                delete values['smbgateway-share'];
            }
            return me.callParent([values]);
        },

        onSetValues: function (values) {
            if (typeof values.content === 'string') {
                values.content = values.content.split(',');
            }
            return values;
        },

        initComponent: function () {
            let me = this;
            let nodename = Proxmox.NodeName || 'localhost';
            let shareStore = Ext.create('Ext.data.Store', {
                fields: ['name', 'path', 'quota'],
                proxy: {
                    type: 'ajax',
                    url: `/api2/json${SMBGateway.Utils.baseUrl(nodename)}/shares`,
                    reader: { type: 'json', rootProperty: 'data' },
                    // the API takes no paging/sorting parameters (as Proxmox.RestProxy)
                    noCache: false,
                    pageParam: null,
                    startParam: null,
                    limitParam: null,
                    sortParam: null,
                    filterParam: null,
                    groupParam: null,
                },
                autoLoad: me.isCreate,
            });
            me.column1 = [
                me.isCreate
                    ? {
                          xtype: 'combobox',
                          name: 'smbgateway-share',
                          fieldLabel: gt('Share'),
                          allowBlank: false,
                          editable: false,
                          store: shareStore,
                          queryMode: 'local',
                          displayField: 'name',
                          valueField: 'name',
                          emptyText: gt('an SMB Gateway share of this node'),
                          listConfig: {
                              itemTpl: '<b>{name:htmlEncode}</b> <span class="smbgw-muted">{path:htmlEncode}</span>',
                          },
                          listeners: {
                              change: function (field, value) {
                                  let rec = shareStore.findRecord('name', value, 0, false, true, true);
                                  me.down('#sharePath').setValue(rec ? rec.get('path') : '');
                              },
                          },
                      }
                    : { xtype: 'displayfield', name: 'smbgateway-share', fieldLabel: gt('Share') },
                {
                    xtype: 'displayfield',
                    itemId: 'sharePath',
                    name: 'path',
                    submitValue: false,
                    fieldLabel: gt('Path'),
                },
                {
                    xtype: 'tagfield',
                    name: 'content',
                    fieldLabel: gt('Content'),
                    allowBlank: false,
                    value: ['backup'],
                    queryMode: 'local',
                    filterPickList: true,
                    store: [
                        ['backup', gt('VZDump backup file')],
                        ['iso', gt('ISO image')],
                        ['vztmpl', gt('Container template')],
                        ['snippets', gt('Snippets')],
                    ],
                },
            ];
            me.column2 = [];
            me.columnB = [
                {
                    xtype: 'component',
                    cls: 'smbgw-note',
                    html: Ext.htmlEncode(
                        gt(
                            "The storage uses the share's directory; its size and free space are the share's quota. Removing the storage keeps the share and its data.",
                        ),
                    ),
                },
            ];
            me.callParent();
        },
    });
}
