// node -> SMB Gateway -> HA: the CTDB cluster, its nodes and VIPs; failover, test, maintenance.
// Part of pve-smbgateway.js (www/Makefile).

Ext.define('SMBGateway.HAPanel', {
    extend: 'Ext.panel.Panel',
    alias: 'widget.smbgwHAPanel',

    nodename: undefined,
    refreshInterval: 10000,
    layout: { type: 'vbox', align: 'stretch' },
    scrollable: true,

    apiBase: '/cluster/smbgateway/ha',

    // 'loading', 'none' (not set up), 'error' or 'ok'
    haState: 'loading',

    mixins: ['SMBGateway.mixin.Refresh'],

    loadOnce: function (finish) {
        let me = this;
        Proxmox.Utils.API2Request({
            url: me.apiBase,
            method: 'GET',
            failure: function (response) {
                let msg = (response.result && response.result.message) || '';
                if (!me.isDestroyed) {
                    if (SMBGateway.Utils.haNotSetUp.test(msg)) {
                        me.showNotSetUp();
                    } else {
                        // the core's message as it is; the HTTP status only without one
                        me.showError(msg.trim() ? Ext.htmlEncode(msg.trim()) : response.htmlStatus);
                    }
                }
                finish();
            },
            success: function (response) {
                if (!me.isDestroyed) {
                    me.showStatus(response.result.data || {});
                }
                finish();
            },
        });
    },

    setView: function (state) {
        let me = this;
        me.haState = state;
        me.down('#haEmpty').setVisible(state === 'none');
        me.down('#haSummary').setVisible(state !== 'none');
        me.down('#nodes').setVisible(state !== 'none');
        me.down('#vips').setVisible(state !== 'none');
    },

    showNotSetUp: function () {
        let me = this;
        me.haStatus = null;
        me.nodeStore.loadData([]);
        me.vipStore.loadData([]);
        me.setView('none');
        me.updateButtons();
        me.fireEvent('smbgwLoaded', me);
    },

    // htmlStatus: already HTML
    showError: function (htmlStatus) {
        let me = this;
        me.haStatus = null;
        me.nodeStore.loadData([]);
        me.vipStore.loadData([]);
        me.setView('error');
        me.down('#haSummary').setHtml(
            `<span class="smbgw-bad"><i class="fa fa-times-circle"></i></span> ` +
                `<b>${gt('The cluster status is not available')}:</b>` +
                `<div class="smbgw-error">${htmlStatus}</div>`,
        );
        me.updateButtons();
        me.fireEvent('smbgwLoaded', me);
    },

    nodeText: function (pnn) {
        let s = this.haStatus;
        if (pnn === null || pnn === undefined) {
            return null;
        }
        let node = s && (s.nodes || []).find((n) => n.pnn === pnn);
        let name = node && node.name;
        return name ? `${name} (PNN ${pnn})` : `PNN ${pnn}`;
    },

    renderSummary: function (s) {
        let me = this;
        let none = `<span class="smbgw-muted">${gt('none')}</span>`;
        let health = s.healthy
            ? `<span class="smbgw-ok"><i class="fa fa-check-circle"></i> ${gt('Healthy')}</span>`
            : `<span class="smbgw-bad"><i class="fa fa-exclamation-triangle"></i> ${gt('Degraded')}</span>` +
              ` <span class="smbgw-muted">(${gt('a node is not OK or a VIP has no node')})</span>`;
        let leader = me.nodeText(s.leader);
        let lock = s.cluster_lock || {};
        let lockText;
        if (lock.configured) {
            let holder = me.nodeText(lock.holder);
            lockText =
                `<span class="smbgw-plan">${Ext.htmlEncode(lock.configured)}</span>, ${gt('held by')} ` +
                (holder ? Ext.htmlEncode(holder) : `<span class="smbgw-bad">${gt('nobody')}</span>`);
        } else {
            lockText = `<span class="smbgw-bad">${gt('none')}</span> <span class="smbgw-muted">(${gt('split brain is possible')})</span>`;
        }
        let rows = [
            [gt('Cluster'), health],
            [gt('Leader'), leader ? Ext.htmlEncode(leader) : `<span class="smbgw-bad">${gt('none (election running?)')}</span>`],
            [gt('Cluster lock'), lockText],
            [gt('This node'), me.nodeText(s.this_node) ? Ext.htmlEncode(me.nodeText(s.this_node)) : none],
        ];
        // shares the VIPs do not serve (node-local data, guest shares), with the core's reason
        let unserved = s.shares_not_on_vips || [];
        if (unserved.length) {
            rows.push([
                gt('Not served through the VIPs'),
                unserved
                    .map((u) => `<b>${Ext.htmlEncode(u.share)}</b>: <span class="smbgw-muted">${Ext.htmlEncode(u.reason)}</span>`)
                    .join('<br>'),
            ]);
        }
        return (
            '<table>' +
            rows.map(([k, v]) => `<tr><td style="padding-right:16px"><b>${Ext.htmlEncode(k)}</b></td><td>${v}</td></tr>`).join('') +
            '</table>'
        );
    },

    showStatus: function (s) {
        let me = this;
        me.haStatus = s;
        me.setView('ok');
        me.down('#haSummary').setHtml(me.renderSummary(s));

        let nodesGrid = me.down('#nodes');
        let vipsGrid = me.down('#vips');
        let selNode = nodesGrid.getSelection()[0];
        let selPnn = selNode && selNode.get('pnn');
        let selVip = vipsGrid.getSelection()[0];
        let selAddress = selVip && selVip.get('address');

        me.nodeStore.loadData(
            (s.nodes || []).map((n) => ({
                pnn: n.pnn,
                name: n.name || '',
                address: n.address,
                state: n.state,
                flags: n.flags || [],
                this_node: !!n.this_node,
                leader: n.pnn === s.leader,
                disabled: (n.flags || []).indexOf('DISABLED') !== -1,
            })),
        );
        me.vipStore.loadData(
            (s.vips || []).map((v) => ({
                address: v.address,
                holder: v.holder,
                holder_name: v.holder_name || '',
                interface: v.interface || '',
            })),
        );
        if (selPnn !== undefined) {
            let rec = me.nodeStore.findRecord('pnn', selPnn, 0, false, true, true);
            if (rec) {
                nodesGrid.setSelection(rec);
            }
        }
        if (selAddress !== undefined) {
            let rec = me.vipStore.findRecord('address', selAddress, 0, false, true, true);
            if (rec) {
                vipsGrid.setSelection(rec);
            }
        }
        me.updateButtons();
        me.fireEvent('smbgwLoaded', me);
    },

    updateButtons: function () {
        let me = this;
        let on = me.haState === 'ok' && me.canModify;
        let vip = me.down('#vips').getSelection()[0];
        let node = me.down('#nodes').getSelection()[0];
        me.down('#move').setDisabled(!on || !vip);
        me.down('#test').setDisabled(!on || !vip);
        let toggle = me.down('#nodeToggle');
        let enable = !!(node && node.get('disabled'));
        toggle.setText(enable ? gt('Enable node') : gt('Disable node'));
        toggle.setIconCls(enable ? 'fa fa-play' : 'fa fa-pause');
        // the API takes the node's name (of the HA config)
        toggle.setDisabled(!on || !node || !node.get('name'));
    },

    // POST one of the HA actions and follow its task
    runAction: function (path, params, waitTarget) {
        let me = this;
        // a window's fields get the API's errors of its parameters
        let form = waitTarget && waitTarget !== me ? waitTarget.down('form') : null;
        Proxmox.Utils.API2Request({
            url: `${me.apiBase}/${path}`,
            method: 'POST',
            params: params,
            waitMsgTarget: waitTarget || me,
            failure: SMBGateway.Utils.apiFailure(form ? form.getForm() : null),
            success: function (response) {
                if (waitTarget && waitTarget !== me) {
                    waitTarget.close();
                }
                let reload = () => me.reload();
                SMBGateway.Utils.openTask(response.result.data, reload).on('destroy', reload);
            },
        });
    },

    moveVip: function () {
        let me = this;
        let vip = me.down('#vips').getSelection()[0];
        if (!vip) {
            return;
        }
        let targets = [];
        me.nodeStore.each(function (n) {
            if (n.get('name') && n.get('pnn') !== vip.get('holder')) {
                let text = `${n.get('name')} (PNN ${n.get('pnn')})` + (n.get('state') === 'OK' ? '' : ` - ${n.get('state')}`);
                targets.push([n.get('name'), text]);
            }
        });
        let holder = me.nodeText(vip.get('holder'));
        let win = Ext.create('Ext.window.Window', {
            title: gt('Move VIP') + ': ' + Ext.htmlEncode(vip.get('address')),
            itemId: 'smbgwMoveVip',
            modal: true,
            width: 440,
            layout: 'fit',
            items: [
                {
                    xtype: 'form',
                    bodyPadding: 10,
                    border: false,
                    fieldDefaults: { labelWidth: 110, anchor: '100%' },
                    items: [
                        { xtype: 'displayfield', fieldLabel: 'VIP', value: Ext.htmlEncode(vip.get('address')) },
                        {
                            xtype: 'displayfield',
                            fieldLabel: gt('Now on'),
                            value: holder ? Ext.htmlEncode(holder) : gt('no node'),
                        },
                        {
                            xtype: 'combobox',
                            name: 'node',
                            fieldLabel: gt('Move to'),
                            allowBlank: false,
                            editable: false,
                            store: targets,
                            value: targets.length === 1 ? targets[0][0] : undefined,
                        },
                        {
                            xtype: 'component',
                            cls: 'smbgw-note',
                            html: Ext.htmlEncode(
                                gt('A planned move: CTDB releases the address on one node and takes it up on the other; open SMB sessions on it reconnect.'),
                            ),
                        },
                    ],
                },
            ],
            buttons: [
                {
                    text: gt('Move'),
                    itemId: 'submit',
                    formBind: true,
                    handler: function () {
                        let form = win.down('form').getForm();
                        if (!form.isValid()) {
                            return;
                        }
                        me.runAction('failover', { vip: vip.get('address'), node: form.getValues().node }, win);
                    },
                },
            ],
        });
        win.show();
    },

    testFailover: function () {
        let me = this;
        let vip = me.down('#vips').getSelection()[0];
        if (!vip) {
            return;
        }
        let address = vip.get('address');
        let holder = me.nodeText(vip.get('holder'));
        Ext.Msg.confirm(
            gt('Test failover') + ': ' + Ext.htmlEncode(address),
            Ext.htmlEncode(
                Ext.String.format(
                    gt('A real drill: CTDB disables {1}, the node that holds {0}, until the address answers from another node, then enables it again. SMB clients of {0} see a short interruption. Run it?'),
                    address,
                    holder || gt('its node'),
                ),
            ),
            function (btn) {
                if (btn === 'yes') {
                    me.runAction('test', { vip: address });
                }
            },
        );
    },

    toggleNode: function () {
        let me = this;
        let node = me.down('#nodes').getSelection()[0];
        if (!node || !node.get('name')) {
            return;
        }
        let name = node.get('name');
        if (node.get('disabled')) {
            me.runAction('node', { node: name, action: 'enable' });
            return;
        }
        Ext.Msg.confirm(
            gt('Disable node') + ': ' + Ext.htmlEncode(name),
            Ext.htmlEncode(
                Ext.String.format(
                    gt('Node {0} keeps running but hosts no VIP until it is enabled again; CTDB moves its VIPs to the other nodes now. Disable it?'),
                    name,
                ),
            ),
            function (btn) {
                if (btn === 'yes') {
                    me.runAction('node', { node: name, action: 'disable' });
                }
            },
        );
    },

    initComponent: function () {
        let me = this;
        me.nodename = me.nodename || (me.pveSelNode && me.pveSelNode.data.node);
        SMBGateway.Utils.injectCss();
        // the cluster API needs Sys.Modify on / (GuiCap 'dc', as PVE's datacenter panels)
        let caps = Ext.state.Manager.get('GuiCap') || {};
        me.canModify = !!(caps.dc && caps.dc['Sys.Modify']);
        me.nodeStore = Ext.create('Ext.data.Store', {
            fields: ['pnn', 'name', 'address', 'state', 'flags', 'this_node', 'leader', 'disabled'],
            sorters: 'pnn',
            data: [],
        });
        me.vipStore = Ext.create('Ext.data.Store', {
            fields: ['address', 'holder', 'holder_name', 'interface'],
            sorters: 'address',
            data: [],
        });
        let reload = () => me.reload();
        let selectionChanged = () => me.updateButtons();

        let setupCommand = 'pve-smbgateway ha-setup --vip 192.0.2.100/24 --interface vmbr0';
        let emptyHtml =
            `<p class="smbgw-title"><i class="fa fa-info-circle"></i> ${gt('High availability is not set up.')}</p>` +
            `<p>${Ext.htmlEncode(
                gt('Each node serves its shares on its own address. With HA, CTDB serves them on floating addresses (VIPs) and moves a VIP to another node when its node fails. To set it up, run on one node:'),
            )}</p>` +
            `<div class="smbgw-cmd">${Ext.htmlEncode(setupCommand)}</div>` +
            `<p>${Ext.htmlEncode(
                gt('It takes the nodes of the Proxmox VE cluster (--nodes n1,n2 for some of them), checks that every node answers ping and writes the CTDB configuration for all of them. This panel then shows the nodes and the VIPs.'),
            )}</p>`;

        Ext.apply(me, {
            tbar: [
                {
                    text: gt('Move VIP') + '...',
                    itemId: 'move',
                    iconCls: 'fa fa-exchange',
                    disabled: true,
                    handler: () => me.moveVip(),
                },
                {
                    text: gt('Test failover'),
                    itemId: 'test',
                    iconCls: 'fa fa-bolt',
                    disabled: true,
                    handler: () => me.testFailover(),
                },
                '-',
                {
                    text: gt('Disable node'),
                    itemId: 'nodeToggle',
                    iconCls: 'fa fa-pause',
                    disabled: true,
                    handler: () => me.toggleNode(),
                },
                '-',
                { text: gt('Reload'), itemId: 'reload', iconCls: 'fa fa-refresh', handler: reload },
            ],
            items: [
                {
                    xtype: 'component',
                    itemId: 'haEmpty',
                    hidden: true,
                    padding: 10,
                    html: emptyHtml,
                },
                {
                    xtype: 'component',
                    itemId: 'haSummary',
                    padding: 10,
                    html: gt('Loading...'),
                },
                {
                    xtype: 'grid',
                    itemId: 'nodes',
                    title: gt('Nodes'),
                    flex: 1,
                    minHeight: 140,
                    store: me.nodeStore,
                    emptyText: gt('No nodes'),
                    columns: [
                        { header: 'PNN', dataIndex: 'pnn', width: 75 },
                        {
                            header: gt('Name'),
                            dataIndex: 'name',
                            flex: 1,
                            renderer: function (v, md, rec) {
                                let text = v ? Ext.htmlEncode(v) : `<span class="smbgw-muted">${gt('unknown')}</span>`;
                                if (rec.get('leader')) {
                                    text += ` <span class="smbgw-muted"><i class="fa fa-star"></i> ${gt('leader')}</span>`;
                                }
                                if (rec.get('this_node')) {
                                    text += ` <span class="smbgw-muted">(${gt('this node')})</span>`;
                                }
                                return text;
                            },
                        },
                        { header: gt('Address'), dataIndex: 'address', width: 160, renderer: Ext.htmlEncode },
                        {
                            header: gt('State'),
                            dataIndex: 'state',
                            flex: 1,
                            renderer: function (v) {
                                if (v === 'OK') {
                                    return `<i class="fa fa-check-circle smbgw-ok"></i> ${gt('OK')}`;
                                }
                                return `<i class="fa fa-exclamation-triangle smbgw-bad"></i> ${Ext.htmlEncode(v || gt('unknown'))}`;
                            },
                        },
                    ],
                    listeners: { selectionchange: selectionChanged },
                },
                {
                    xtype: 'grid',
                    itemId: 'vips',
                    title: gt('Floating addresses (VIPs)'),
                    flex: 1,
                    minHeight: 140,
                    store: me.vipStore,
                    emptyText: gt('No VIPs'),
                    columns: [
                        { header: gt('Address'), dataIndex: 'address', width: 180, renderer: Ext.htmlEncode },
                        {
                            header: gt('Node'),
                            dataIndex: 'holder',
                            flex: 1,
                            renderer: function (v, md, rec) {
                                if (v === null || v === undefined) {
                                    return `<i class="fa fa-exclamation-triangle smbgw-bad"></i> ${gt('unassigned')}`;
                                }
                                let name = rec.get('holder_name');
                                return (name ? Ext.htmlEncode(name) + ' ' : '') + `<span class="smbgw-muted">(PNN ${Ext.htmlEncode(String(v))})</span>`;
                            },
                        },
                        {
                            header: gt('Interface'),
                            dataIndex: 'interface',
                            width: 140,
                            renderer: (v) => (v ? Ext.htmlEncode(v) : '<span class="smbgw-muted">-</span>'),
                        },
                    ],
                    listeners: { selectionchange: selectionChanged },
                },
            ],
        });
        me.callParent();

        me.startAutoRefresh();
    },
});
