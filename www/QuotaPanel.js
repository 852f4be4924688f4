// node -> SMB Gateway -> Quota: usage of every share with a quota and its history chart.
// Part of pve-smbgateway.js (www/Makefile).

Ext.define('SMBGateway.QuotaPanel', {
    extend: 'Ext.panel.Panel',
    alias: 'widget.smbgwQuotaPanel',

    nodename: undefined,
    layout: 'border',

    loadHistory: function () {
        let me = this;
        let rec = me.down('grid').getSelection()[0];
        let chartStore = me.chartStore;
        if (!rec) {
            chartStore.loadData([]);
            return;
        }
        let days = me.down('#days').getValue();
        Proxmox.Utils.API2Request({
            url: `${SMBGateway.Utils.baseUrl(me.nodename)}/shares/${encodeURIComponent(rec.get('name'))}/quota-history`,
            params: { days: days },
            method: 'GET',
            failure: (response) => me.down('#trend').setHtml(`<span class="smbgw-error">${response.htmlStatus}</span>`),
            success: function (response) {
                let h = response.result.data;
                let mib = 1024 * 1024;
                let points = (h.samples || []).map((s) => ({
                    time: new Date(s.time * 1000),
                    used: s.used / mib,
                    limit: s.limit / mib,
                }));
                // and where it stands now (the samples are taken every 5 minutes)
                if (rec.get('limit') && rec.get('used') !== undefined) {
                    points.push({ time: new Date(), used: rec.get('used') / mib, limit: rec.get('limit') / mib });
                }
                let chart = me.down('#chart');
                if (chart && points.length > 1) {
                    let span = (points[points.length - 1].time - points[0].time) / 1000;
                    let fmt = span < 3600 ? 'H:i:s' : span < 2 * 86400 ? 'H:i' : 'M d';
                    let axis = chart.getAxes().find((a) => Ext.chart.axis.Time && a instanceof Ext.chart.axis.Time);
                    if (axis && Ext.isFunction(axis.setDateFormat)) {
                        axis.setDateFormat(fmt);
                    }
                }
                chartStore.loadData(points);
                let growth =
                    h.growth_per_day === null || h.growth_per_day === undefined
                        ? gt('not enough samples yet')
                        : SMBGateway.Utils.sizeText(h.growth_per_day) + ' / ' + gt('day');
                let full =
                    h.days_until_full === null || h.days_until_full === undefined
                        ? '-'
                        : Number(h.days_until_full).toFixed(1) + ' ' + gt('days');
                me.down('#trend').setHtml(
                    `<b>${Ext.htmlEncode(rec.get('name'))}</b>: ${(h.samples || []).length} ${gt('samples')}, ` +
                        `${gt('growth')} ${Ext.htmlEncode(growth)}, ${gt('full in')} ${Ext.htmlEncode(full)}`,
                );
            },
        });
    },

    reload: function () {
        let me = this;
        let base = SMBGateway.Utils.baseUrl(me.nodename);
        Proxmox.Utils.API2Request({
            url: base + '/shares',
            method: 'GET',
            failure: (response) => Proxmox.Utils.setErrorMask(me, response.htmlStatus),
            success: function (response) {
                let shares = (response.result.data || []).filter((s) => s.quota);
                let grid = me.down('grid');
                let sel = grid.getSelection()[0];
                let selName = sel && sel.get('name');
                grid.store.loadData(shares.map((s) => ({ name: s.name, limit: s.quota, backend: s['quota-backend'] })));
                grid.store.each(function (rec) {
                    Proxmox.Utils.API2Request({
                        url: `${base}/shares/${encodeURIComponent(rec.get('name'))}/quota`,
                        method: 'GET',
                        failure: Ext.emptyFn,
                        success: function (r) {
                            if (!rec.store) {
                                return;
                            }
                            let q = r.result.data;
                            rec.set({ used: q.used, limit: q.limit, backend: q.backend }, { commit: true });
                            if (grid.getSelection()[0] === rec) {
                                me.loadHistory();
                            }
                        },
                    });
                });
                let rec = (selName && grid.store.findRecord('name', selName, 0, false, true, true)) || grid.store.first();
                if (rec) {
                    grid.setSelection(rec);
                }
                me.fireEvent('smbgwLoaded', me);
            },
        });
    },

    initComponent: function () {
        let me = this;
        me.nodename = me.nodename || (me.pveSelNode && me.pveSelNode.data.node);
        SMBGateway.Utils.injectCss();
        me.chartStore = Ext.create('Ext.data.Store', { fields: ['time', 'used', 'limit'], data: [] });
        let chart;
        if (Ext.ClassManager.getByAlias('widget.cartesian')) {
            chart = {
                xtype: 'cartesian',
                itemId: 'chart',
                flex: 1,
                store: me.chartStore,
                insetPadding: 20,
                legend: { docked: 'bottom' },
                axes: [
                    {
                        type: 'numeric',
                        position: 'left',
                        minimum: 0,
                        title: 'MiB',
                        grid: true,
                        fields: ['used', 'limit'],
                    },
                    {
                        type: 'time',
                        position: 'bottom',
                        fields: ['time'],
                        dateFormat: 'M d H:i',
                        label: { rotate: { degrees: -30 } },
                    },
                ],
                series: [
                    {
                        type: 'line',
                        title: gt('Used'),
                        xField: 'time',
                        yField: 'used',
                        fill: true,
                        style: { lineWidth: 2, fillOpacity: 0.3 },
                        marker: { radius: 3 },
                        tooltip: {
                            trackMouse: true,
                            renderer: function (tooltip, record) {
                                tooltip.setHtml(
                                    Ext.Date.format(record.get('time'), 'Y-m-d H:i') + ': ' + record.get('used').toFixed(2) + ' MiB',
                                );
                            },
                        },
                    },
                    {
                        type: 'line',
                        title: gt('Limit'),
                        xField: 'time',
                        yField: 'limit',
                        style: { lineWidth: 2, lineDash: [6, 3] },
                    },
                ],
            };
        } else {
            chart = { xtype: 'component', flex: 1, html: gt('Charts are not available.') };
        }
        Ext.apply(me, {
            tbar: [
                { text: gt('Reload'), iconCls: 'fa fa-refresh', handler: () => me.reload() },
                '->',
                SMBGateway.Utils.historyCombo(
                    'days',
                    2,
                    [
                        [2, gt('2 days')],
                        [7, gt('1 week')],
                        [30, gt('30 days')],
                        [90, gt('90 days')],
                    ],
                    () => me.loadHistory(),
                ),
            ],
            items: [
                {
                    xtype: 'grid',
                    region: 'west',
                    width: 420,
                    split: true,
                    emptyText: gt('No share has a quota.'),
                    store: Ext.create('Ext.data.Store', { fields: ['name', 'used', 'limit', 'backend'], data: [] }),
                    columns: [
                        { header: gt('Share'), dataIndex: 'name', width: 110, renderer: Ext.htmlEncode },
                        { header: gt('Backend'), dataIndex: 'backend', width: 70 },
                        {
                            header: gt('Usage'),
                            dataIndex: 'used',
                            flex: 1,
                            renderer: (v, md, rec) => SMBGateway.Utils.renderUsageBar(rec.get('used'), rec.get('limit')),
                        },
                    ],
                    listeners: { selectionchange: () => me.loadHistory() },
                },
                {
                    xtype: 'panel',
                    region: 'center',
                    layout: { type: 'vbox', align: 'stretch' },
                    items: [chart, { xtype: 'component', itemId: 'trend', padding: 8, html: '' }],
                },
            ],
        });
        me.callParent();
        me.on('afterrender', () => me.reload());
    },
});
