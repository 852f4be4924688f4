// Edit a share's snapshot (or backup) schedule and retention: the standard edit window on PUT
// shares/{name} (with the digest of the share it loaded, as every PVE edit window), sending only
// the properties of SMBGateway.panel.SnapshotSchedule; the API's field errors land on the fields.
// Part of pve-smbgateway.js (www/Makefile).

Ext.define('SMBGateway.window.SnapshotSchedule', {
    extend: 'Proxmox.window.Edit',
    alias: 'widget.smbgwSnapshotScheduleEdit',

    nodename: undefined,
    shareName: undefined,
    // 'snapshot' or 'backup' (with the PBS storages offered)
    prefix: 'snapshot',
    storages: [],
    subject: gt('Snapshot schedule'),
    isCreate: false,
    autoLoad: true,
    showTaskViewer: true,
    width: 640,

    // the retention is one property: its error goes on the keep fields that are set
    apiCallDone: function (success, response) {
        let errors = !success && response.result && response.result.errors;
        let keepError = errors && errors[this.prefix + '-keep'];
        if (keepError) {
            let set = this.query('numberfield').filter((f) => f.getValue() !== null && f.getValue() !== '');
            (set.length ? set : this.query('numberfield')).forEach((f) => f.markInvalid(keepError));
        }
    },

    initComponent: function () {
        let me = this;
        if (!me.nodename || !me.shareName) {
            throw 'no node or share name specified';
        }
        Ext.apply(me, {
            url: `/api2/extjs${SMBGateway.Utils.baseUrl(me.nodename)}/shares/${encodeURIComponent(me.shareName)}`,
            method: 'PUT',
            items: [{ xtype: 'smbgwSnapshotSchedule', prefix: me.prefix, storages: me.storages }],
        });
        if (me.prefix === 'backup') {
            me.subject = gt('Backup schedule');
        }
        me.callParent();
        me.setTitle(Ext.htmlEncode(me.title + ' - ' + me.shareName));
    },
});
