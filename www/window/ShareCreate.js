// The create wizard: General, Container or Virtual machine (modes lxc and vm only), Quota,
// Access, Options, Summary (the API's dry-run plan). Part of pve-smbgateway.js (www/Makefile).

Ext.define('SMBGateway.window.ShareCreate', {
    extend: 'Ext.window.Window',
    alias: 'widget.smbgwShareCreate',

    nodename: undefined,
    // the API's schema (SMBGateway.Schema) if the opening panel has it, else read when opened
    schema: null,
    title: gt('Create') + ': ' + gt('SMB Share'),
    width: 720,
    height: 480,
    modal: true,
    layout: 'fit',
    taskDone: Ext.emptyFn,

    // the values the last successful dry run was for (Create is offered only for them)
    plannedFor: null,

    getValues: function () {
        let values = {};
        this.query('inputpanel').forEach((p) => Ext.apply(values, p.getValues()));
        return values;
    },

    // the API's errors of the values ({errors: {param: message}}, answered before any task
    // starts) on their fields; the first step with a field in error is shown
    markErrors: function (errors) {
        let me = this;
        me.down('form').getForm().markInvalid(errors);
        SMBGateway.Utils.showTabOfErrors(me, errors);
    },

    setSummary: function (html) {
        this.down('#summary').update(html);
    },

    // the wizard's steps: its tabs but the one of a placement not chosen
    steps: function () {
        return this.down('tabpanel')
            .items.getRange()
            .filter((t) => !t.tab.isHidden());
    },

    // go `delta` steps back or forth
    step: function (delta) {
        let me = this;
        let steps = me.steps();
        let idx = steps.indexOf(me.down('tabpanel').getActiveTab());
        me.down('tabpanel').setActiveTab(steps[Math.min(Math.max(0, idx + delta), steps.length - 1)]);
    },

    updateButtons: function () {
        let me = this;
        let steps = me.steps();
        let idx = steps.indexOf(me.down('tabpanel').getActiveTab());
        let last = steps.length - 1;
        me.down('#back').setDisabled(idx === 0);
        me.down('#next').setDisabled(idx === last);
        let current = Ext.encode(me.getValues());
        me.down('#submit').setDisabled(!(idx === last && me.plannedFor === current));
    },

    dryRun: function () {
        let me = this;
        let values = me.getValues();
        let key = Ext.encode(values);
        me.plannedFor = null;
        me.updateButtons();
        me.setSummary(`<i>${gt('Asking the gateway for the plan...')}</i>`);
        Proxmox.Utils.API2Request({
            url: SMBGateway.Utils.baseUrl(me.nodename) + '/shares',
            method: 'POST',
            params: Ext.apply({ 'dry-run': 1 }, values),
            waitMsgTarget: me,
            failure: function (response) {
                let errors = response.result && response.result.errors;
                me.setSummary(`<div class="smbgw-error">${response.htmlStatus}</div>`);
                if (errors) {
                    me.markErrors(errors);
                }
            },
            success: function (response) {
                SMBGateway.Utils.waitTask(response.result.data, function (status, lines) {
                    if (me.isDestroyed) {
                        return;
                    }
                    if (status.exitstatus !== 'OK') {
                        let msg = status.exitstatus || gt('unknown error');
                        me.setSummary(
                            `<div class="smbgw-error">${Ext.htmlEncode(msg)}</div>` +
                                `<p>${gt('Nothing was changed. Correct the values and look at the plan again.')}</p>`,
                        );
                        return;
                    }
                    let plan = lines.filter((l) => /^(plan|note|nothing to do):?/.test(l));
                    // the join account's password is not shown back
                    let rows = Object.entries(values)
                        .filter(([k]) => k !== 'ad-password')
                        .map(([k, v]) => `<tr><td><b>${Ext.htmlEncode(k)}</b></td><td>${Ext.htmlEncode(String(v))}</td></tr>`)
                        .join('');
                    // the plan first: with a guest's settings it would be below the fold
                    me.setSummary(
                        `<p><b>${gt('What the gateway will do')}:</b></p>` +
                            `<div class="smbgw-plan">${plan.map((l) => Ext.htmlEncode(l)).join('\n')}</div>` +
                            `<p><b>${gt('Settings')}:</b></p>` +
                            `<table class="smbgw-values">${rows}</table>`,
                    );
                    me.plannedFor = key;
                    me.updateButtons();
                });
            },
        });
    },

    submit: function () {
        let me = this;
        let values = me.getValues();
        if (Ext.encode(values) !== me.plannedFor) {
            me.dryRun(); // changed since the plan: show the plan for these values first
            return;
        }
        Proxmox.Utils.API2Request({
            url: SMBGateway.Utils.baseUrl(me.nodename) + '/shares',
            method: 'POST',
            params: values,
            waitMsgTarget: me,
            failure: SMBGateway.Utils.apiFailure(me.down('form').getForm(), (errors) => SMBGateway.Utils.showTabOfErrors(me, errors)),
            success: function (response) {
                me.hide();
                SMBGateway.Utils.openTask(response.result.data, me.taskDone).on('destroy', () => me.close());
            },
        });
    },

    initComponent: function () {
        let me = this;
        if (!me.nodename) {
            throw 'no node name specified';
        }
        let tabs = SMBGateway.Utils.sharePanels(true).concat([
            {
                title: gt('Summary'),
                itemId: 'summary',
                bodyPadding: 10,
                scrollable: true,
                html: '',
            },
        ]);
        Ext.apply(me, {
            items: [
                {
                    xtype: 'form',
                    layout: 'fit',
                    border: false,
                    fieldDefaults: { labelWidth: 110, anchor: '100%' },
                    items: [
                        {
                            xtype: 'tabpanel',
                            defaults: { bodyPadding: 10, scrollable: true },
                            items: tabs,
                            listeners: {
                                tabchange: function (tp, tab) {
                                    if (tab.itemId === 'summary') {
                                        me.dryRun();
                                    }
                                    me.updateButtons();
                                },
                            },
                        },
                    ],
                },
            ],
            buttons: [
                { text: gt('Back'), itemId: 'back', handler: () => me.step(-1) },
                {
                    text: gt('Next'),
                    itemId: 'next',
                    handler: function () {
                        let panel = me.down('tabpanel').getActiveTab();
                        let invalid = panel.query('[isFormField]').filter((f) => !f.isValid());
                        if (invalid.length) {
                            return;
                        }
                        me.step(1);
                    },
                },
                { text: gt('Create'), itemId: 'submit', disabled: true, handler: () => me.submit() },
            ],
        });
        me.callParent();
        SMBGateway.Utils.applyMode(me, 'native', true);
        // the fields' limits and defaults: the API's share schema (the shares panel's)
        SMBGateway.Schema.whenLoaded(me, function (schema) {
            SMBGateway.Schema.apply(me, SMBGateway.Schema.propertiesOf(schema, 'share'), true);
            me.updateButtons();
        });
        me.down('form').getForm().on('dirtychange', () => me.updateButtons());
        me.on('afterrender', () => me.updateButtons());
    },
});
