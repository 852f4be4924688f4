// The edit window: the standard Proxmox edit window on PUT shares/{name}, as a task. As PVE's
// edit windows do, it keeps the `digest` of the share it loaded and sends it back with the
// update (Proxmox.window.Edit's load and submit), so a change made meanwhile by someone else is
// refused (409) instead of overwritten; the API's field errors (a 400 with {errors}) are marked
// on their fields by Proxmox.window.Edit, and the tab of the first one is shown here.
// Part of pve-smbgateway.js (www/Makefile).

Ext.define('SMBGateway.window.ShareEdit', {
    extend: 'Proxmox.window.Edit',
    alias: 'widget.smbgwShareEdit',

    nodename: undefined,
    shareName: undefined,
    // the API's schema (SMBGateway.Schema) if the opening panel has it, else read when opened
    schema: null,
    subject: gt('SMB Share'),
    width: 720,
    showTaskViewer: true,
    autoLoad: true,
    bodyPadding: 0,

    getValues: function (dirtyOnly) {
        let values = this.callParent([dirtyOnly]);
        if (Ext.isArray(values.delete)) {
            values.delete = values.delete.join(',');
        }
        return values;
    },

    apiCallDone: function (success, response) {
        let errors = !success && response.result && response.result.errors;
        if (errors) {
            SMBGateway.Utils.showTabOfErrors(this, errors);
        }
    },

    // the share as loaded: its placement decides what can be edited
    setValues: function (values) {
        this.callParent([values]);
        SMBGateway.Utils.applyMode(this, values.mode || 'native', false);
    },

    initComponent: function () {
        let me = this;
        if (!me.nodename || !me.shareName) {
            throw 'no node or share name specified';
        }
        Ext.apply(me, {
            url: `/api2/extjs${SMBGateway.Utils.baseUrl(me.nodename)}/shares/${encodeURIComponent(me.shareName)}`,
            method: 'PUT',
            isCreate: false,
            items: [
                {
                    xtype: 'tabpanel',
                    bodyPadding: 10,
                    height: 330,
                    items: SMBGateway.Utils.sharePanels(false),
                },
            ],
        });
        me.callParent();
        SMBGateway.Utils.applyMode(me, 'native', false);
        // the fields' limits: the API's share schema (the shares panel's); the values are the
        // share's own
        SMBGateway.Schema.whenLoaded(me, function (schema) {
            SMBGateway.Schema.apply(me, SMBGateway.Schema.propertiesOf(schema, 'share'), false);
        });
    },
});
