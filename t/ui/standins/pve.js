/*
 * Test-only stand-ins of the pve-manager ExtJS classes that www/pve-smbgateway.js extends or hooks
 * into (pve-manager www/manager6, branch stable-8). Written from scratch; names, configs and methods
 * mirror the real ones:
 *
 *   PVE.Utils.storageSchema / format_storage_type  (Utils.js: type -> {name, ipanel, faIcon, backups,
 *       hideAdd}; the Add menu of Datacenter -> Storage is built from it)
 *   PVE.panel.Config  (panel/ConfigPanel.js): a card panel with a tree menu on the left built from
 *       `items` (itemId, title, iconCls, groups, expandedOnInit) by insertNodes(items) - which our
 *       override of PVE.node.Config hooks - savedItems, activateCard, selectById, hstateid
 *   PVE.node.Config   (node/Config.js): extends PVE.panel.Config, pveSelNode.data.node, items
 *       gated by the GuiCap state (caps.nodes['Sys.Audit']) ending with 'tasks' and 'support'
 *   PVE.panel.StorageBase (storage/Base.js): InputPanel with type, isCreate, storageId; prepends
 *       the 'storage' ID field to column1 and nodes/enable to column2; onGetValues adds type on
 *       create and turns enable into disable
 *   PVE.storage.BaseEdit (storage/Base.js): Proxmox.window.Edit on /api2/extjs/storage[/<id>] with
 *       paneltype, type, storageId; the input panel in a tab panel
 *   PVE.dc.StorageView (dc/StorageView.js): grid with an Add menu from storageSchema, opening
 *       PVE.storage.BaseEdit with paneltype 'PVE.storage.' + schema.ipanel
 */
(function () {

    Ext.ns('PVE', 'PVE.Utils');

    Ext.define('PVE.Utils', {
        singleton: true,

        storageSchema: {
            dir: { name: Proxmox.Utils.directoryText, ipanel: 'DirInputPanel', faIcon: 'folder', backups: true },
            nfs: { name: 'NFS', ipanel: 'NFSInputPanel', faIcon: 'building', backups: true },
            cifs: { name: 'SMB/CIFS', ipanel: 'CIFSInputPanel', faIcon: 'building', backups: true },
            drbd: { name: 'DRBD', hideAdd: true, backups: false },
        },

        format_storage_type: function (value, md, record) {
            if (value === 'rbd') {
                value = !record || record.get('monhost') ? 'rbd' : 'pveceph';
            }
            let schema = PVE.Utils.storageSchema[value];
            return schema?.name ?? value;
        },
    });

    Ext.define('PVE.panel.Config', {
        extend: 'Ext.panel.Panel',
        alias: 'widget.pvePanelConfig',

        showSearch: true,
        border: false,
        layout: 'card',
        firstItem: '',

        selectById: function (cardid) {
            let me = this;
            let selection = me.store.getRoot().findChild('id', cardid, true);
            if (selection) {
                selection.expand();
                me.down('#menu').setSelection(selection);
                return cardid;
            }
            return '';
        },

        activateCard: function (cardid) {
            let me = this;
            if (me.savedItems[cardid]) {
                let curcard = me.getLayout().getActiveItem();
                me.add(me.savedItems[cardid]);
                if (curcard) {
                    me.setActiveItem(cardid);
                    me.remove(curcard, true);
                }
            }
        },

        initComponent: function () {
            let me = this;
            let title = me.title || me.pveSelNode.data.text;
            me.title = undefined;

            me.items = me.items || [];
            me.savedItems = {};
            if (me.items[0]) {
                me.firstItem = me.items[0].itemId;
            }
            me.store = Ext.create('Ext.data.TreeStore', { root: { expanded: true } });
            let root = me.store.getRoot();
            me.insertNodes(me.items);
            delete me.items;

            me.defaults = Ext.apply(me.defaults || {}, { pveSelNode: me.pveSelNode, border: 0 });
            me.dockedItems = [
                {
                    xtype: 'toolbar',
                    dock: 'top',
                    height: 36,
                    items: [{ xtype: 'tbtext', text: title, baseCls: 'x-panel-header-text' }, '->'].concat(
                        me.tbar || [],
                    ),
                },
                {
                    xtype: 'treepanel',
                    itemId: 'menu',
                    dock: 'left',
                    width: 200,
                    rootVisible: false,
                    border: false,
                    store: me.store,
                    listeners: {
                        selectionchange: function (view, selected) {
                            if (selected[0]) {
                                me.activateCard(selected[0].data.id);
                            }
                        },
                    },
                },
            ];
            me.tbar = undefined;
            me.callParent();

            let selection = root.firstChild;
            me.down('#menu').setSelection(selection);
        },

        insertNodes: function (items) {
            let me = this;
            let root = me.store.getRoot();
            items.forEach(function (item) {
                let treeitem = Ext.create('Ext.data.TreeModel', {
                    id: item.itemId,
                    text: item.title,
                    iconCls: item.iconCls,
                    leaf: true,
                    expanded: item.expandedOnInit,
                });
                item.header = false;
                if (me.savedItems[item.itemId] !== undefined) {
                    throw 'itemId already exists, please use another';
                }
                me.savedItems[item.itemId] = item;
                let curnode = root;
                while (Ext.isArray(item.groups) && item.groups.length > 0) {
                    let group = item.groups.shift();
                    let child = curnode.findChild('id', group);
                    if (child === null) {
                        break;
                    }
                    curnode = child;
                }
                if (curnode.findChild('id', item.itemId) === null) {
                    curnode.appendChild(treeitem);
                } else {
                    throw 'id already exists';
                }
            });
        },
    });

    Ext.define('PVE.node.Config', {
        extend: 'PVE.panel.Config',
        alias: 'widget.PVE.node.Config',

        initComponent: function () {
            let me = this;
            let nodename = me.pveSelNode.data.node;
            if (!nodename) {
                throw 'no node name specified';
            }
            let caps = Ext.state.Manager.get('GuiCap');
            me.items = [];
            if (caps.nodes['Sys.Audit']) {
                me.items.push({
                    xtype: 'panel',
                    title: gettext('Summary'),
                    iconCls: 'fa fa-book',
                    itemId: 'summary',
                    html: 'stand-in: node summary',
                    bodyPadding: 10,
                });
                me.items.push({
                    xtype: 'panel',
                    title: gettext('Replication'),
                    iconCls: 'fa fa-retweet',
                    itemId: 'replication',
                    html: 'stand-in: replication',
                    bodyPadding: 10,
                });
            }
            me.items.push(
                {
                    xtype: 'panel',
                    title: gettext('Task History'),
                    iconCls: 'fa fa-list-alt',
                    itemId: 'tasks',
                    html: 'stand-in: task history',
                    bodyPadding: 10,
                },
                {
                    xtype: 'panel',
                    title: gettext('Subscription'),
                    iconCls: 'fa fa-support',
                    itemId: 'support',
                    html: 'stand-in: subscription',
                    bodyPadding: 10,
                },
            );
            Ext.apply(me, { title: Ext.String.format(gettext('Node {0}'), "'" + nodename + "'"), hstateid: 'nodetab' });
            me.callParent();
        },
    });

    Ext.define('PVE.panel.StorageBase', {
        extend: 'Proxmox.panel.InputPanel',

        type: '',

        onGetValues: function (values) {
            let me = this;
            if (me.isCreate) {
                values.type = me.type;
            } else {
                delete values.storage;
            }
            values.disable = values.enable ? 0 : 1;
            delete values.enable;
            return values;
        },

        initComponent: function () {
            let me = this;
            me.column1.unshift({
                xtype: me.isCreate ? 'textfield' : 'displayfield',
                name: 'storage',
                value: me.storageId || '',
                fieldLabel: 'ID',
                allowBlank: false,
            });
            me.column2 = me.column2 || [];
            me.column2.unshift(
                {
                    xtype: 'textfield',
                    name: 'nodes',
                    fieldLabel: gettext('Nodes'),
                    emptyText: gettext('All') + ' (' + gettext('No restrictions') + ')',
                },
                {
                    xtype: 'checkbox',
                    name: 'enable',
                    checked: true,
                    inputValue: 1,
                    uncheckedValue: 0,
                    fieldLabel: gettext('Enable'),
                },
            );
            me.callParent();
        },
    });

    Ext.define('PVE.storage.BaseEdit', {
        extend: 'Proxmox.window.Edit',

        initComponent: function () {
            let me = this;
            me.isCreate = !me.storageId;
            if (me.isCreate) {
                me.url = '/api2/extjs/storage';
                me.method = 'POST';
            } else {
                me.url = '/api2/extjs/storage/' + me.storageId;
                me.method = 'PUT';
            }
            me.ipanel = Ext.create(me.paneltype, {
                title: gettext('General'),
                type: me.type,
                isCreate: me.isCreate,
                storageId: me.storageId,
            });
            Ext.apply(me, {
                subject: PVE.Utils.format_storage_type(me.type),
                isAdd: true,
                bodyPadding: 0,
                width: 600,
                items: {
                    xtype: 'tabpanel',
                    bodyPadding: 10,
                    items: [
                        me.ipanel,
                        { title: gettext('Backup Retention'), html: 'stand-in', disabled: !me.canDoBackups },
                    ],
                },
            });
            me.callParent();
            if (!me.isCreate) {
                me.load({
                    success: function (response) {
                        let values = response.result.data;
                        values.enable = values.disable ? 0 : 1;
                        me.ipanel.setValues(values);
                    },
                });
            }
        },
    });

    Ext.define('PVE.dc.StorageView', {
        extend: 'Ext.grid.GridPanel',
        alias: ['widget.pveStorageView'],

        createStorageEditWindow: function (type, sid) {
            let schema = PVE.Utils.storageSchema[type];
            if (!schema || !schema.ipanel) {
                throw 'no editor registered for storage type: ' + type;
            }
            Ext.create('PVE.storage.BaseEdit', {
                paneltype: 'PVE.storage.' + schema.ipanel,
                type: type,
                storageId: sid,
                canDoBackups: schema.backups,
                autoShow: true,
                listeners: { destroy: this.reloadStore },
            });
        },

        initComponent: function () {
            let me = this;
            let store = Ext.create('Ext.data.Store', {
                fields: ['storage', 'type', 'content', 'path', 'smbgateway-share'],
                proxy: { type: 'ajax', url: '/api2/json/storage', reader: { type: 'json', rootProperty: 'data' } },
                autoLoad: true,
            });
            let addMenuItems = [];
            for (const [type, storage] of Object.entries(PVE.Utils.storageSchema)) {
                if (storage.hideAdd) {
                    continue;
                }
                addMenuItems.push({
                    text: PVE.Utils.format_storage_type(type),
                    iconCls: 'fa fa-fw fa-' + storage.faIcon,
                    handler: () => me.createStorageEditWindow(type),
                });
            }
            Ext.apply(me, {
                store: store,
                reloadStore: () => store.load(),
                tbar: [{ text: gettext('Add'), itemId: 'addBtn', menu: new Ext.menu.Menu({ items: addMenuItems }) }],
                columns: [
                    { header: 'ID', flex: 2, dataIndex: 'storage' },
                    { header: gettext('Type'), flex: 1, dataIndex: 'type', renderer: PVE.Utils.format_storage_type },
                    { header: gettext('Content'), flex: 3, dataIndex: 'content' },
                    { header: gettext('Path/Target'), flex: 2, dataIndex: 'path' },
                ],
            });
            me.callParent();
        },
    });
})();
