// The shares grid: node -> SMB Gateway (smbd state, shares with usage, HA VIPs; create, edit,
// status, delete). Part of pve-smbgateway.js (www/Makefile).

Ext.define('SMBGateway.ShareGrid', {
    extend: 'Ext.grid.Panel',
    alias: 'widget.smbgwShareGrid',

    nodename: undefined,
    refreshInterval: 10000,
    emptyText: gt('No shares yet: create one with "Create".'),

    mixins: ['SMBGateway.mixin.Refresh'],

    // its quota requests included: a slow node gets no pile of requests
    loadOnce: function (done) {
        let me = this;
        let base = SMBGateway.Utils.baseUrl(me.nodename);
        Proxmox.Utils.API2Request({
            url: base + '/shares',
            method: 'GET',
            failure: function (response) {
                Proxmox.Utils.setErrorMask(me, response.htmlStatus);
                done();
            },
            success: function (response) {
                let shares = response.result.data || [];
                Proxmox.Utils.API2Request({
                    url: base + '/status',
                    method: 'GET',
                    failure: function () {
                        me.readHa((ha) => me.loadShares(shares, {}, null, done, ha));
                    },
                    success: function (sresp) {
                        let states = {};
                        (sresp.result.data.shares || []).forEach((s) => {
                            states[s.name] = s;
                        });
                        me.readHa((ha) => me.loadShares(shares, states, sresp.result.data.smbd, done, ha));
                    },
                });
            },
        });
    },

    // the CTDB cluster (cluster-wide, as the HA panel reads it) for the HA / VIP column:
    // callback(status), null when HA is not set up, {error} when it cannot be read
    readHa: function (callback) {
        Proxmox.Utils.API2Request({
            url: '/cluster/smbgateway/ha',
            method: 'GET',
            failure: function (response) {
                let result = response.result || {};
                let msg = (result.message || '').trim();
                // not set up, not ours to see (Sys.Audit on /) or no cluster API here
                if (SMBGateway.Utils.haNotSetUp.test(msg) || [403, 404, 501].indexOf(result.status) !== -1) {
                    callback(null);
                } else {
                    callback({ error: msg || response.htmlStatus });
                }
            },
            success: (response) => callback(response.result.data || {}),
        });
    },

    // done: called once the quota usage of every share with a quota has come back
    loadShares: function (shares, states, smbd, done, ha) {
        let me = this;
        done = done || Ext.emptyFn;
        if (me.isDestroyed) {
            done();
            return;
        }
        Proxmox.Utils.setErrorMask(me, false);
        let old = {};
        me.store.each((rec) => {
            old[rec.get('name')] = rec.data;
        });
        let records = shares.map(function (s) {
            let st = states[s.name] || {};
            let users = [].concat(s.users || [], (s.groups || []).map((g) => '@' + g));
            let domain = users.some((u) => u.indexOf('\\') !== -1);
            return {
                name: s.name,
                mode: s.mode || 'native',
                guest: me.guestInfo(s, st),
                // CTDB serves the node's own shares; a guest's Samba is not clustered
                ha: s.container || s.vm ? null : ha,
                path: s.path,
                comment: s.comment,
                quota: s.quota,
                used: old[s.name] ? old[s.name].used : undefined,
                users: users.join(', '),
                ad: domain,
                state: st.state || 'unknown',
                problems: (st.problems || []).join('; '),
                config: s,
            };
        });
        let sel = me.getSelection()[0];
        let selName = sel && sel.get('name');
        me.store.loadData(records);
        if (selName) {
            let rec = me.store.findRecord('name', selName, 0, false, true, true);
            if (rec) {
                me.setSelection(rec);
            }
        }
        if (smbd) {
            me.down('#smbdState').setHtml(
                smbd.running
                    ? `<span class="smbgw-ok"><i class="fa fa-check-circle"></i></span> smbd ${gt('running')} (${Ext.htmlEncode(smbd.listen || '')})`
                    : `<span class="smbgw-bad"><i class="fa fa-times-circle"></i></span> smbd ${gt('not running')}`,
            );
        }
        // quota usage of the shares that have one
        let withQuota = me.store.getRange().filter((rec) => rec.get('quota'));
        let pending = withQuota.length;
        let quotaDone = function () {
            if (--pending === 0) {
                done();
            }
        };
        withQuota.forEach(function (rec) {
            Proxmox.Utils.API2Request({
                url: `${SMBGateway.Utils.baseUrl(me.nodename)}/shares/${encodeURIComponent(rec.get('name'))}/quota`,
                method: 'GET',
                failure: quotaDone,
                success: function (response) {
                    try {
                        let q = response.result.data;
                        if (rec.store) {
                            rec.set({ used: q.used, quota: q.limit }, { commit: true });
                        }
                    } finally {
                        quotaDone();
                    }
                },
            });
        });
        me.fireEvent('smbgwLoaded', me);
        if (!withQuota.length) {
            done();
        }
    },

    // the container or VM of an lxc or vm share (config and status): {label, tip}
    guestInfo: function (share, status) {
        let guest = share.container || share.vm;
        if (!guest) {
            return null;
        }
        let ct = !!share.container;
        let state = (ct ? status.container : status.vm) || {};
        let id = guest.id === undefined || guest.id === null ? '?' : guest.id;
        let rows = [
            [ct ? gt('Container') : gt('VM'), id],
            [gt('State'), state.state || gt('unknown')],
            [gt('Address'), state.ip || guest.ip],
            [gt('Bridge'), guest.bridge],
            ['SMB', state.smb ? gt('answers') : gt('does not answer')],
        ];
        return {
            label: (ct ? 'CT ' : 'VM ') + id,
            tip: rows.map(([k, v]) => `${Ext.htmlEncode(k)}: ${Ext.htmlEncode(String(v))}`).join('<br>'),
        };
    },

    initComponent: function () {
        let me = this;
        me.nodename = me.nodename || (me.pveSelNode && me.pveSelNode.data.node);
        if (!me.nodename) {
            throw 'no node name specified';
        }
        SMBGateway.Utils.injectCss();
        let caps = Ext.state.Manager.get('GuiCap') || { nodes: {} };
        let canModify = !!(caps.nodes && caps.nodes['Sys.Modify']);

        let store = Ext.create('Ext.data.Store', {
            fields: ['name', 'mode', 'guest', 'ha', 'path', 'comment', 'quota', 'used', 'users', 'ad', 'state', 'problems', 'config'],
            sorters: 'name',
            data: [],
        });
        let selected = () => me.getSelection()[0];
        let reload = () => me.reload();

        let editShare = function () {
            let rec = selected();
            if (!rec || !canModify) {
                return;
            }
            Ext.create('SMBGateway.window.ShareEdit', {
                nodename: me.nodename,
                schema: me.schema,
                shareName: rec.get('name'),
                autoShow: true,
                taskDone: reload,
                listeners: { destroy: reload },
            });
        };

        // the confirmation is for the share as it is now: it is loaded first, and its digest goes
        // with the DELETE (a change made meanwhile is refused with a 409, as in PVE's windows)
        let deleteShare = function () {
            let rec = selected();
            if (!rec) {
                return;
            }
            let name = rec.get('name');
            let shareUrl = `${SMBGateway.Utils.baseUrl(me.nodename)}/shares/${encodeURIComponent(name)}`;
            Proxmox.Utils.API2Request({
                url: shareUrl,
                method: 'GET',
                waitMsgTarget: me,
                failure: (response) => Ext.Msg.alert(gt('Error'), response.htmlStatus),
                success: (response) => confirmDelete(name, shareUrl, response.result.data || {}, response.result.digest),
            });
        };

        let confirmDelete = function (name, shareUrl, share, digest) {
            digest = digest || share.digest;
            let win = Ext.create('Ext.window.Window', {
                title: gt('Delete') + ': ' + Ext.htmlEncode(name),
                itemId: 'smbgwDeleteConfirm',
                digest: digest,
                modal: true,
                width: 420,
                bodyPadding: 10,
                items: [
                    {
                        xtype: 'component',
                        html:
                            Ext.String.format(
                                gt('Are you sure you want to remove share {0}?'),
                                `'<b>${Ext.htmlEncode(name)}</b>'`,
                            ) +
                            '<br>' +
                            Ext.htmlEncode(gt('Its data stays on disk unless you also purge it.')),
                    },
                    {
                        xtype: 'checkbox',
                        itemId: 'purge',
                        boxLabel: gt('Also delete the data') + ' (' + Ext.htmlEncode(share.path || '') + ')',
                    },
                ],
                buttons: [
                    {
                        text: gt('Remove'),
                        itemId: 'confirm',
                        handler: function () {
                            let params = {};
                            if (win.down('#purge').getValue()) {
                                params['purge-data'] = 1;
                            }
                            if (win.digest) {
                                params.digest = win.digest;
                            }
                            win.close();
                            // in the query string, as Proxmox.window.Edit sends a DELETE's values
                            let query = Ext.Object.toQueryString(params);
                            Proxmox.Utils.API2Request({
                                url: shareUrl + (query ? '?' + query : ''),
                                method: 'DELETE',
                                waitMsgTarget: me,
                                failure: (response) => Ext.Msg.alert(gt('Error'), response.htmlStatus),
                                success: (response) =>
                                    SMBGateway.Utils.openTask(response.result.data, reload).on('destroy', reload),
                            });
                        },
                    },
                    { text: gt('Cancel'), itemId: 'cancel', handler: () => win.close() },
                ],
            });
            win.show();
        };

        let showStatus = function () {
            let rec = selected();
            if (!rec) {
                return;
            }
            let name = rec.get('name');
            Proxmox.Utils.API2Request({
                url: `${SMBGateway.Utils.baseUrl(me.nodename)}/shares/${encodeURIComponent(name)}/status`,
                method: 'GET',
                waitMsgTarget: me,
                failure: (response) => Ext.Msg.alert(gt('Error'), response.htmlStatus),
                success: function (response) {
                    let d = response.result.data;
                    let s = (d.shares || [])[0] || {};
                    let rows = [
                        [gt('Share'), name],
                        [gt('State'), s.state],
                        [gt('Path'), s.path],
                        [gt('Problems'), (s.problems || []).join('\n') || gt('none')],
                        ['smbd', d.smbd ? (d.smbd.running ? gt('running') : gt('not running')) + ' ' + (d.smbd.listen || '') : ''],
                        [gt('Configuration'), d.config],
                    ];
                    Ext.create('Ext.window.Window', {
                        title: gt('Status') + ': ' + Ext.htmlEncode(name),
                        itemId: 'smbgwStatusWindow',
                        modal: true,
                        width: 520,
                        bodyPadding: 10,
                        autoShow: true,
                        html:
                            '<table class="smbgw-status">' +
                            rows
                                .map(
                                    ([k, v]) =>
                                        `<tr><td style="padding-right:12px"><b>${Ext.htmlEncode(k)}</b></td><td style="white-space:pre-wrap">${Ext.htmlEncode(String(v ?? ''))}</td></tr>`,
                                )
                                .join('') +
                            '</table>',
                        buttons: [{ text: gt('Close'), handler: function () { this.up('window').close(); } }],
                    });
                },
            });
        };

        // a share's snapshots (and backups): not for a VM share, whose data has no snapshots
        // on this node
        let openProtection = function () {
            let rec = selected();
            if (!rec || rec.get('mode') === 'vm') {
                return;
            }
            Ext.create('SMBGateway.window.ShareProtection', {
                nodename: me.nodename,
                shareName: rec.get('name'),
                autoShow: true,
            });
        };

        let needSel = (btn) =>
            Ext.apply(btn, {
                disabled: true,
                listeners: {
                    afterrender: function (b) {
                        me.on('selectionchange', (sm, sel) =>
                            b.setDisabled(
                                !sel.length || (b.needModify && !canModify) || (b.notInVm && sel[0].get('mode') === 'vm'),
                            ),
                        );
                    },
                },
            });

        Ext.apply(me, {
            store: store,
            tbar: [
                {
                    text: gt('Create'),
                    itemId: 'create',
                    iconCls: 'fa fa-plus-circle',
                    disabled: !canModify,
                    handler: () =>
                        Ext.create('SMBGateway.window.ShareCreate', {
                            nodename: me.nodename,
                            schema: me.schema,
                            autoShow: true,
                            taskDone: reload,
                            listeners: { destroy: reload },
                        }),
                },
                needSel({ text: gt('Edit'), itemId: 'edit', iconCls: 'fa fa-pencil', needModify: true, handler: editShare }),
                needSel({ text: gt('Delete'), itemId: 'delete', iconCls: 'fa fa-trash-o', needModify: true, handler: deleteShare }),
                needSel({ text: gt('Status'), itemId: 'status', iconCls: 'fa fa-heartbeat', handler: showStatus }),
                needSel({
                    text: gt('Snapshots & Backup'),
                    itemId: 'protection',
                    iconCls: 'fa fa-history',
                    notInVm: true,
                    handler: openProtection,
                }),
                '-',
                { text: gt('Reload'), itemId: 'reload', iconCls: 'fa fa-refresh', handler: reload },
                '->',
                { xtype: 'component', itemId: 'smbdState', html: '' },
            ],
            columns: [
                { header: gt('Name'), dataIndex: 'name', width: 130, renderer: Ext.htmlEncode },
                {
                    header: gt('Mode'),
                    dataIndex: 'mode',
                    width: 110,
                    renderer: function (v, md, rec) {
                        let guest = rec.get('guest');
                        if (!guest) {
                            return Ext.htmlEncode(v);
                        }
                        md.tdAttr = 'data-qtip="' + Ext.htmlEncode(guest.tip) + '"';
                        return `${Ext.htmlEncode(v)} <span class="smbgw-muted">${Ext.htmlEncode(guest.label)}</span>`;
                    },
                },
                {
                    header: gt('Path'),
                    dataIndex: 'path',
                    flex: 1,
                    // a VM share's path is inside its VM, not on this node
                    renderer: (v, md, rec) =>
                        Ext.htmlEncode(v) + (rec.get('mode') === 'vm' ? ` <span class="smbgw-muted">(${gt('in the VM')})</span>` : ''),
                },
                {
                    header: gt('Quota (used / limit)'),
                    dataIndex: 'used',
                    width: 230,
                    renderer: (v, md, rec) => SMBGateway.Utils.renderUsageBar(rec.get('used'), rec.get('quota')),
                },
                { header: gt('Users / groups'), dataIndex: 'users', flex: 1, renderer: Ext.htmlEncode },
                {
                    header: 'AD',
                    dataIndex: 'ad',
                    width: 50,
                    renderer: (v) => (v ? Proxmox.Utils.yesText : '-'),
                },
                {
                    header: 'HA / VIP',
                    width: 190,
                    dataIndex: 'ha',
                    renderer: function (ha, md) {
                        let none = '<span class="smbgw-muted">-</span>';
                        if (!ha) {
                            return none;
                        }
                        let qtip = (html) => {
                            md.tdAttr = 'data-qtip="' + Ext.htmlEncode(html) + '"';
                        };
                        let warn = '<i class="fa fa-exclamation-triangle smbgw-bad"></i> ';
                        if (ha.error) {
                            qtip(Ext.htmlEncode(ha.error));
                            return warn + gt('unknown');
                        }
                        let vips = ha.vips || [];
                        qtip(
                            vips
                                .map(
                                    (v) =>
                                        Ext.htmlEncode(v.address) +
                                        ': ' +
                                        (v.holder === null || v.holder === undefined
                                            ? gt('unassigned')
                                            : Ext.htmlEncode(v.holder_name || 'PNN ' + v.holder)),
                                )
                                .join('<br>'),
                        );
                        let text = vips.length ? vips.map((v) => Ext.htmlEncode(v.address)).join(', ') : gt('Yes');
                        return (ha.healthy ? '' : warn) + text;
                    },
                },
                {
                    header: gt('State'),
                    dataIndex: 'state',
                    width: 140,
                    renderer: function (v, md, rec) {
                        if (v === 'ok') {
                            return `<i class="fa fa-check-circle smbgw-ok"></i> ${gt('OK')}`;
                        }
                        let problems = rec.get('problems');
                        if (problems) {
                            md.tdAttr = 'data-qtip="' + Ext.htmlEncode(Ext.htmlEncode(problems)) + '"';
                        }
                        return `<i class="fa fa-exclamation-triangle smbgw-bad"></i> ${Ext.htmlEncode(v)}`;
                    },
                },
            ],
            listeners: {
                itemdblclick: editShare,
            },
        });
        me.callParent();

        me.startAutoRefresh();
        // the API's schema, once for the panel: the share windows take their limits from it
        SMBGateway.Schema.load(me.nodename, null, (schema) => {
            me.schema = schema;
        });
    },
});
