// The refresh loop of the node panels (shares, quota, AD, HA): one request round at a time.
// Part of pve-smbgateway.js (www/Makefile).

// one refresh at a time: the periodic refresh is skipped while one runs, an explicit
// reload (button, task done) runs once the running one has finished. A panel using it
// implements loadOnce(done) and calls startAutoRefresh() once it is set up.
Ext.define('SMBGateway.mixin.Refresh', {
    extend: 'Ext.Mixin',

    autoRefresh: function () {
        // a refresh that never finished (a callback that threw) does not stop the next ones
        if (this.smbgwBusy && Date.now() - this.smbgwBusySince > 120000) {
            this.smbgwBusy = false;
        }
        if (!this.smbgwBusy) {
            this.reload();
        }
    },

    reload: function () {
        let me = this;
        if (me.isDestroyed) {
            return;
        }
        if (me.smbgwBusy) {
            me.reloadQueued = true;
            return;
        }
        me.smbgwBusy = true;
        me.smbgwBusySince = Date.now();
        me.loadOnce(function () {
            me.smbgwBusy = false;
            if (me.reloadQueued && !me.isDestroyed) {
                me.reloadQueued = false;
                me.reload();
            }
        });
    },

    startAutoRefresh: function () {
        let me = this;
        let runner = new Ext.util.TaskRunner();
        me.on('afterrender', () => runner.start({ run: () => me.autoRefresh(), interval: me.refreshInterval }));
        me.on('destroy', () => runner.destroy());
    },
});
