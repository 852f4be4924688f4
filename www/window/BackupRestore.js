// Restore a backup of a share, with a preview: the whole share into a new (or empty) directory,
// or one file or directory of it into a directory; "Preview" asks the gateway for its plan (the
// API's dry run, a task like every change), and Restore is offered only for the values the plan
// was shown for (as the create wizard does). Opened by SMBGateway.panel.ShareBackups.
// Part of pve-smbgateway.js (www/Makefile).

Ext.define('SMBGateway.window.BackupRestore', {
    extend: 'Ext.window.Window',
    alias: 'widget.smbgwBackupRestore',

    nodename: undefined,
    shareName: undefined,
    storage: undefined,
    // the backup, by its time as the list shows it (YYYY-MM-DDTHH:MM:SSZ)
    snapshot: undefined,
    // called with the UPID of the restore once it is started
    started: Ext.emptyFn,

    modal: true,
    width: 640,
    bodyPadding: 10,
    // the values the plan shown is for
    plannedFor: null,

    restoreUrl: function () {
        return `${SMBGateway.Utils.baseUrl(this.nodename)}/shares/${encodeURIComponent(this.shareName)}/backups/restore`;
    },

    values: function () {
        let me = this;
        let v = { storage: me.storage, snapshot: me.snapshot, target: me.down('field[name=target]').getValue().trim() };
        let file = me.down('field[name=file]').getValue().trim();
        if (file) {
            v.file = file;
        }
        return v;
    },

    updateButtons: function () {
        let me = this;
        let valid = me.down('form').getForm().isValid();
        me.down('#preview').setDisabled(!valid);
        me.down('#confirm').setDisabled(!valid || me.plannedFor !== Ext.encode(me.values()));
    },

    setPlan: function (html) {
        if (!this.isDestroyed) {
            this.down('#plan').setHtml(html);
        }
    },

    // the API's errors on the fields (a 400 before any task), the message in the preview
    failed: function (response) {
        let me = this;
        let errors = response.result && response.result.errors;
        if (errors) {
            me.down('form').getForm().markInvalid(errors);
        }
        me.setPlan(`<div class="smbgw-error">${response.htmlStatus}</div>`);
    },

    preview: function () {
        let me = this;
        let values = me.values();
        let key = Ext.encode(values);
        me.plannedFor = null;
        me.updateButtons();
        me.setPlan(`<i>${gt('Asking the gateway for the plan...')}</i>`);
        Proxmox.Utils.API2Request({
            url: me.restoreUrl(),
            method: 'POST',
            params: Ext.apply({ 'dry-run': 1 }, values),
            failure: (response) => me.failed(response),
            success: function (response) {
                SMBGateway.Utils.waitTask(response.result.data, function (status, lines) {
                    if (me.isDestroyed) {
                        return;
                    }
                    if (status.exitstatus !== 'OK') {
                        me.setPlan(`<div class="smbgw-error">${Ext.htmlEncode(status.exitstatus || gt('unknown error'))}</div>`);
                        return;
                    }
                    let plan = lines.filter((l) => /^(plan|note|nothing to do):?/.test(l));
                    me.setPlan(`<div class="smbgw-plan">${plan.map((l) => Ext.htmlEncode(l)).join('\n')}</div>`);
                    me.plannedFor = key;
                    me.updateButtons();
                });
            },
        });
    },

    restore: function () {
        let me = this;
        Proxmox.Utils.API2Request({
            url: me.restoreUrl(),
            method: 'POST',
            params: me.values(),
            waitMsgTarget: me,
            failure: (response) => me.failed(response),
            success: function (response) {
                let started = me.started;
                me.close();
                started(response.result.data);
            },
        });
    },

    initComponent: function () {
        let me = this;
        if (!me.nodename || !me.shareName || !me.storage || !me.snapshot) {
            throw 'no node, share, storage or backup specified';
        }
        let enc = Ext.htmlEncode;
        Ext.apply(me, {
            title: gt('Restore') + ': ' + enc(me.shareName),
            items: [
                {
                    xtype: 'component',
                    html: `<p>${Ext.String.format(
                        gt('Restore backup {0} of share {1} from {2}.'),
                        `<b>${enc(me.snapshot)}</b>`,
                        `'<b>${enc(me.shareName)}</b>'`,
                        `<b>${enc(me.storage)}</b>`,
                    )} ${enc(gt('The share itself is not changed: the backup goes to a new (or empty) directory on a storage of this node, outside every share.'))}</p>`,
                },
                {
                    xtype: 'form',
                    border: false,
                    defaults: { anchor: '100%', labelWidth: 130 },
                    items: [
                        {
                            xtype: 'textfield',
                            name: 'target',
                            fieldLabel: gt('Restore into'),
                            allowBlank: false,
                            emptyText: gt('a new or empty directory, e.g. /srv/restore/docs'),
                        },
                        {
                            xtype: 'textfield',
                            name: 'file',
                            fieldLabel: gt('Only this file'),
                            emptyText: gt('a path in the share, e.g. docs/report.odt (empty: everything)'),
                        },
                    ],
                    listeners: {
                        validitychange: () => me.updateButtons(),
                        dirtychange: () => me.updateButtons(),
                    },
                },
                { xtype: 'component', html: `<b>${gt('What the gateway will do')}:</b>` },
                {
                    xtype: 'component',
                    itemId: 'plan',
                    margin: '4 0 0 0',
                    html: `<span class="smbgw-muted">${enc(gt('Preview shows it; Restore is offered for the values previewed.'))}</span>`,
                },
            ],
            buttons: [
                { text: gt('Preview'), itemId: 'preview', disabled: true, handler: () => me.preview() },
                { text: gt('Restore'), itemId: 'confirm', iconCls: 'fa fa-upload', disabled: true, handler: () => me.restore() },
                { text: gt('Cancel'), itemId: 'cancel', handler: () => me.close() },
            ],
        });
        me.callParent();
        // a change of the values takes the Restore offer back until they are previewed
        me.query('textfield').forEach((f) => f.on('change', () => me.updateButtons()));
    },
});
