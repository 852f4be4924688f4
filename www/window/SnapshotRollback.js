// The confirmation of a rollback: what will change (the share's content replaced by the
// snapshot's, a safety snapshot taken first, the share's SMB sessions closed, with how many are
// connected now) and the gateway's own plan for it (the API's dry run, run as a task like every
// change), before the rollback itself is offered. Opened by SMBGateway.panel.ShareSnapshots.
// Part of pve-smbgateway.js (www/Makefile).

Ext.define('SMBGateway.window.SnapshotRollback', {
    extend: 'Ext.window.Window',
    alias: 'widget.smbgwSnapshotRollback',

    nodename: undefined,
    shareName: undefined,
    sharePath: '',
    // the snapshot: {name, time}
    snapshot: undefined,
    // called with the UPID of the rollback once it is started
    started: Ext.emptyFn,

    modal: true,
    width: 620,
    bodyPadding: 10,
    scrollable: true,
    maxHeight: 560,

    rollbackUrl: function () {
        let me = this;
        return (
            `${SMBGateway.Utils.baseUrl(me.nodename)}/shares/${encodeURIComponent(me.shareName)}` +
            `/snapshots/${encodeURIComponent(me.snapshot.name)}/rollback`
        );
    },

    setSessions: function (html) {
        let el = this.down('#sessions');
        if (el) {
            el.setHtml(html);
        }
    },

    setPlan: function (html, ready) {
        let me = this;
        if (me.isDestroyed) {
            return;
        }
        me.down('#plan').setHtml(html);
        me.down('#confirm').setDisabled(!ready);
    },

    // the connected sessions the rollback ends (the API's sessions of this share)
    loadSessions: function () {
        let me = this;
        Proxmox.Utils.API2Request({
            url: SMBGateway.Utils.baseUrl(me.nodename) + '/sessions',
            params: { name: me.shareName },
            method: 'GET',
            failure: (response) => !me.isDestroyed && me.setSessions(Ext.htmlEncode(gt('Connected now: unknown')) + ` (${response.htmlStatus})`),
            success: function (response) {
                if (me.isDestroyed) {
                    return;
                }
                let n = ((response.result.data || {}).sessions || []).length;
                me.setSessions(
                    Ext.htmlEncode(
                        n
                            ? Ext.String.format(gt('Connected now: {0} session(s); their clients must reconnect.'), n)
                            : gt('Connected now: no session.'),
                    ),
                );
            },
        });
    },

    // the gateway's plan: the rollback as a dry run
    loadPlan: function () {
        let me = this;
        me.setPlan(`<i>${gt('Asking the gateway for the plan...')}</i>`, false);
        Proxmox.Utils.API2Request({
            url: me.rollbackUrl(),
            method: 'POST',
            params: { confirm: 1, 'dry-run': 1 },
            failure: (response) => me.setPlan(`<div class="smbgw-error">${response.htmlStatus}</div>`, false),
            success: function (response) {
                SMBGateway.Utils.waitTask(response.result.data, function (status, lines) {
                    if (status.exitstatus !== 'OK') {
                        me.setPlan(`<div class="smbgw-error">${Ext.htmlEncode(status.exitstatus || gt('unknown error'))}</div>`, false);
                        return;
                    }
                    let plan = lines.filter((l) => /^(plan|note):?/.test(l));
                    me.setPlan(`<div class="smbgw-plan">${plan.map((l) => Ext.htmlEncode(l)).join('\n')}</div>`, true);
                });
            },
        });
    },

    rollback: function () {
        let me = this;
        Proxmox.Utils.API2Request({
            url: me.rollbackUrl(),
            method: 'POST',
            params: { confirm: 1 },
            waitMsgTarget: me,
            failure: (response) => Ext.Msg.alert(gt('Error'), response.htmlStatus),
            success: function (response) {
                let started = me.started;
                me.close();
                started(response.result.data);
            },
        });
    },

    initComponent: function () {
        let me = this;
        if (!me.nodename || !me.shareName || !me.snapshot) {
            throw 'no node, share or snapshot specified';
        }
        let enc = Ext.htmlEncode;
        let when = SMBGateway.Utils.timeText(me.snapshot.time);
        let points = [
            Ext.String.format(
                gt('Everything in {0} is replaced by the content of the snapshot: what was changed, added or deleted since {1} is undone in the share.'),
                `<b>${enc(me.sharePath)}</b>`,
                enc(when),
            ),
            enc(
                gt('First a safety snapshot of the current content is taken (kind "safety", kept until you delete it): what is replaced stays readable there, in Previous Versions, and can be rolled back to.'),
            ),
            enc(gt("The share's SMB connections are closed: open files of its clients are closed without saving.")),
        ];
        Ext.apply(me, {
            title: gt('Rollback') + ': ' + enc(me.shareName),
            itemId: 'smbgwRollbackConfirm',
            items: [
                {
                    xtype: 'component',
                    html:
                        `<p>${Ext.String.format(
                            gt('Roll back share {0} to snapshot {1} (taken {2})?'),
                            `'<b>${enc(me.shareName)}</b>'`,
                            `<b>${enc(me.snapshot.name)}</b>`,
                            enc(when),
                        )}</p>` +
                        '<ul style="padding-left:18px">' +
                        points.map((p) => `<li style="margin-bottom:4px">${p}</li>`).join('') +
                        '</ul>',
                },
                { xtype: 'component', itemId: 'sessions', margin: '0 0 8 18', html: `<i>${gt('Loading...')}</i>` },
                { xtype: 'component', html: `<b>${gt('What the gateway will do')}:</b>` },
                { xtype: 'component', itemId: 'plan', margin: '4 0 0 0', html: '' },
            ],
            buttons: [
                {
                    text: gt('Rollback'),
                    itemId: 'confirm',
                    iconCls: 'fa fa-undo',
                    disabled: true,
                    handler: () => me.rollback(),
                },
                { text: gt('Cancel'), itemId: 'cancel', handler: () => me.close() },
            ],
        });
        me.callParent();
        me.loadSessions();
        me.loadPlan();
    },
});
