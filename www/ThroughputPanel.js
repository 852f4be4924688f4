// node -> SMB Gateway -> Throughput: the node's SMB read and write rates over the last hours,
// drawn from the daemon's samples of smbd's profiling counters (GET .../smbgateway/io-history,
// crates/gateway/src/smb_profile.rs). For the whole server: Samba has no per-share figures.
// Part of pve-smbgateway.js (www/Makefile).

Ext.define('SMBGateway.ThroughputPanel', {
    extend: 'Ext.panel.Panel',
    alias: 'widget.smbgwThroughputPanel',

    nodename: undefined,
    refreshInterval: 60000,
    layout: { type: 'vbox', align: 'stretch' },

    mixins: ['SMBGateway.mixin.Refresh'],

    loadOnce: function (finish) {
        let me = this;
        Proxmox.Utils.API2Request({
            url: SMBGateway.Utils.baseUrl(me.nodename) + '/io-history',
            params: { hours: me.down('#hours').getValue() },
            method: 'GET',
            failure: function (response) {
                if (!me.isDestroyed) {
                    me.down('#summary').setHtml(`<span class="smbgw-error">${response.htmlStatus}</span>`);
                }
                finish();
            },
            success: function (response) {
                if (!me.isDestroyed) {
                    me.showHistory(response.result.data || {});
                    me.fireEvent('smbgwLoaded', me);
                }
                finish();
            },
        });
    },

    showHistory: function (h) {
        let me = this;
        let mib = 1024 * 1024;
        let points = (h.points || []).map((p) => ({
            time: new Date(p.time * 1000),
            read: p.read_bytes_per_second / mib,
            write: p.write_bytes_per_second / mib,
            requests: p.requests_per_second,
        }));
        me.chartStore.loadData(points);
        if (!points.length) {
            me.down('#summary').setHtml(
                Ext.htmlEncode(
                    Ext.String.format(
                        gt('{0} sample(s), not enough for a figure. The daemon records them with "smb-profiling: count" in /etc/pve-smbgateway/daemon.conf.'),
                        h.samples || 0,
                    ),
                ),
            );
            return;
        }
        let peak = (key) => Math.max(...points.map((p) => p[key]));
        let last = points[points.length - 1];
        me.down('#summary').setHtml(
            Ext.htmlEncode(
                Ext.String.format(
                    gt('Last: read {0} MiB/s, write {1} MiB/s, {2} requests/s. Peak: read {3} MiB/s, write {4} MiB/s. Whole server (Samba has no per-share figures).'),
                    last.read.toFixed(2),
                    last.write.toFixed(2),
                    last.requests.toFixed(1),
                    peak('read').toFixed(2),
                    peak('write').toFixed(2),
                ),
            ),
        );
    },

    initComponent: function () {
        let me = this;
        me.nodename = me.nodename || (me.pveSelNode && me.pveSelNode.data.node);
        SMBGateway.Utils.injectCss();
        me.chartStore = Ext.create('Ext.data.Store', { fields: ['time', 'read', 'write', 'requests'], data: [] });
        let series = (field, title) => ({
            type: 'line',
            title: title,
            xField: 'time',
            yField: field,
            style: { lineWidth: 2 },
            marker: { radius: 2 },
            tooltip: {
                trackMouse: true,
                renderer: function (tooltip, record) {
                    tooltip.setHtml(
                        Ext.Date.format(record.get('time'), 'Y-m-d H:i:s') + ': ' + record.get(field).toFixed(2) + ' MiB/s',
                    );
                },
            },
        });
        let chart = Ext.ClassManager.getByAlias('widget.cartesian')
            ? {
                  xtype: 'cartesian',
                  itemId: 'chart',
                  flex: 1,
                  store: me.chartStore,
                  insetPadding: 20,
                  legend: { docked: 'bottom' },
                  axes: [
                      { type: 'numeric', position: 'left', minimum: 0, title: 'MiB/s', grid: true, fields: ['read', 'write'] },
                      { type: 'time', position: 'bottom', fields: ['time'], dateFormat: 'H:i', label: { rotate: { degrees: -30 } } },
                  ],
                  series: [series('read', gt('Read')), series('write', gt('Write'))],
              }
            : { xtype: 'component', itemId: 'chart', flex: 1, html: gt('Charts are not available.') };
        Ext.apply(me, {
            tbar: [
                { text: gt('Reload'), iconCls: 'fa fa-refresh', handler: () => me.reload() },
                '->',
                SMBGateway.Utils.historyCombo(
                    'hours',
                    2,
                    [
                        [1, gt('1 hour')],
                        [2, gt('2 hours')],
                        [12, gt('12 hours')],
                        [48, gt('2 days')],
                    ],
                    () => me.reload(),
                ),
            ],
            items: [chart, { xtype: 'component', itemId: 'summary', padding: 8, html: '' }],
        });
        me.callParent();
        me.startAutoRefresh();
    },
});
