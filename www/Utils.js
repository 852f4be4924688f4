// SMBGateway.Utils: what several classes share (API paths, value formatting, the placement
// rules of the share fields, task helpers, the CSS). Part of pve-smbgateway.js (www/Makefile).

Ext.define('SMBGateway.Utils', {
    singleton: true,

    // where a guest sees the share (crates/core/src/guest.rs SHARE_MOUNT): a VM share's
    // path is always this one, inside the VM
    guestMount: '/srv/share',

    // the share's placement decides which fields apply: fields and notes with smbgwModes
    // show only in those modes, fields with smbgwRefusedIn are disabled in those (the
    // core refuses them there); disabled fields are neither checked nor sent
    applyMode: function (win, mode, isCreate) {
        let mount = SMBGateway.Utils.guestMount;
        win.smbgwMode = mode;
        win.query('[smbgwModes]').forEach(function (c) {
            let on = c.smbgwModes.indexOf(mode) !== -1;
            c.setHidden(!on);
            if (c.isFormField) {
                c.setDisabled(!on);
            }
        });
        win.query('[smbgwRefusedIn]').forEach(function (f) {
            let refused = f.smbgwRefusedIn.indexOf(mode) !== -1;
            if (refused && isCreate) {
                f.reset();
            }
            f.setDisabled(refused);
        });
        // panels whose fields depend on the mode and on other fields (ShareAccess)
        win.query('[smbgwOnMode]').forEach((c) => c.smbgwOnMode(mode));
        let guest = win.down('#guest');
        if (guest) {
            guest.setTitle(mode === 'vm' ? gt('Virtual machine') : gt('Container'));
            guest.tab.setHidden(mode === 'native');
        }
        // a VM share's data is on the VM's own disk at the mount point; an existing lxc
        // share's path is its container's bind mount, which an update does not move
        let path = win.down('field[name=path]');
        if (path) {
            if (isCreate && mode === 'vm' && !path.readOnly) {
                path.smbgwNodePath = path.getValue();
                path.setValue(mount);
            } else if (isCreate && mode !== 'vm' && path.readOnly) {
                path.setValue(path.smbgwNodePath || '');
            }
            path.setReadOnly(mode === 'vm' || (!isCreate && mode === 'lxc'));
            path.setFieldLabel(mode === 'vm' ? gt('Path in the VM') : gt('Path'));
        }
        // a VM's data disk is sized from the quota
        let quota = win.down('field[name=quota]');
        if (quota) {
            quota.smbgwEmptyText = quota.smbgwEmptyText || quota.emptyText;
            quota.allowBlank = mode !== 'vm';
            quota.setEmptyText(mode === 'vm' ? gt('required, e.g. 10G') : quota.smbgwEmptyText);
            quota.clearInvalid();
        }
        win.query('field[name=users], field[name=groups]').forEach((f) => f.getValue() && f.validate());
    },

    // the placement of the window a field is in
    modeOf: function (field) {
        let win = field.up('window');
        return (win && win.smbgwMode) || 'native';
    },

    baseUrl: function (nodename) {
        return `/nodes/${encodeURIComponent(nodename)}/smbgateway`;
    },

    // a byte count as the API takes it back: 52428800 -> "50M" (binary units, exact)
    quotaText: function (bytes) {
        if (bytes === undefined || bytes === null || bytes === '') {
            return '';
        }
        if (typeof bytes === 'string' && !/^\d+$/.test(bytes)) {
            return bytes;
        }
        let n = Number(bytes);
        let units = ['K', 'M', 'G', 'T', 'P'];
        let text = null;
        units.forEach((u, i) => {
            let f = Math.pow(1024, i + 1);
            if (n >= f && n % f === 0) {
                text = n / f + u;
            } else if (n >= f && text === null && i === 0) {
                text = Math.ceil(n / f) + u;
            }
        });
        return text ?? '1K';
    },

    // the API's lists and maps as the text the fields edit
    listText: function (value) {
        if (Ext.isArray(value)) {
            return value.join(', ');
        }
        if (Ext.isObject(value)) {
            return Object.entries(value)
                .map(([k, v]) => `${k}=${v}`)
                .join(', ');
        }
        return value ?? '';
    },

    // unix seconds as the node's UI shows times (Proxmox.Utils.render_timestamp's format)
    timeText: function (seconds) {
        if (seconds === undefined || seconds === null) {
            return '';
        }
        return Ext.Date.format(new Date(seconds * 1000), 'Y-m-d H:i:s');
    },

    sizeText: function (bytes) {
        return Proxmox.Utils.format_size(Number(bytes) || 0);
    },

    // a usage bar (used of limit) for grids
    renderUsageBar: function (used, limit) {
        if (!limit) {
            return `<span class="smbgw-muted">${gt('no quota')}</span>`;
        }
        let pct = Math.min(100, Math.max(0, ((used || 0) * 100) / limit));
        let cls = pct >= 90 ? 'smbgw-bar-crit' : pct >= 80 ? 'smbgw-bar-warn' : '';
        let text = `${SMBGateway.Utils.sizeText(used || 0)} / ${SMBGateway.Utils.sizeText(limit)} (${pct.toFixed(1)}%)`;
        return (
            `<div class="smbgw-bar ${cls}" data-qtip="${Ext.htmlEncode(text)}">` +
            `<div class="smbgw-bar-fill" style="width:${pct.toFixed(2)}%"></div>` +
            `<div class="smbgw-bar-text">${Ext.htmlEncode(text)}</div></div>`
        );
    },

    // open PVE's task viewer on a UPID; taskDone(success) when it ends
    openTask: function (upid, taskDone, extraTitle) {
        return Ext.create('Proxmox.window.TaskViewer', {
            autoShow: true,
            upid: upid,
            taskDone: taskDone || Ext.emptyFn,
            extraTitle: extraTitle || '',
        });
    },

    // poll a task until it stops; callback(status, logLines)
    waitTask: function (upid, callback, waitMsgTarget) {
        let task = Proxmox.Utils.parse_task_upid(upid);
        let base = `/nodes/${task.node}/tasks/${encodeURIComponent(upid)}`;
        let readLog = function (status) {
            Proxmox.Utils.API2Request({
                url: base + '/log',
                params: { start: 0, limit: 1000 },
                method: 'GET',
                success: (resp) => callback(status, (resp.result.data || []).map((l) => l.t)),
                failure: () => callback(status, []),
            });
        };
        let poll = function () {
            Proxmox.Utils.API2Request({
                url: base + '/status',
                method: 'GET',
                success: function (resp) {
                    let s = resp.result.data;
                    if (s.status === 'stopped') {
                        readLog(s);
                    } else {
                        Ext.defer(poll, 300);
                    }
                },
                failure: (resp) => callback({ status: 'stopped', exitstatus: resp.htmlStatus }, []),
            });
        };
        poll();
    },

    // a failure handler for a form's API call, as Proxmox.window.Edit's submit has it: the
    // API's errors ({errors: {param: message}}, a 400 answered before any task starts) on the
    // fields of `form` (if given), then the message; onErrors(errors) e.g. shows the field's tab
    apiFailure: function (form, onErrors) {
        return function (response) {
            let errors = response.result && response.result.errors;
            if (form && errors) {
                form.markInvalid(errors);
                if (onErrors) {
                    onErrors(errors);
                }
            }
            Ext.Msg.alert(gt('Error'), response.htmlStatus);
        };
    },

    // show the tab of the first field in error (the form's tabs are its input panels)
    showTabOfErrors: function (win, errors) {
        let form = win.down('form').getForm();
        let tabs = win.down('tabpanel');
        for (const name of Object.keys(errors)) {
            let field = form.findField(name);
            let panel = field && field.up('inputpanel');
            if (panel && tabs) {
                tabs.setActiveTab(panel);
                return;
            }
        }
    },

    // a checkbox of a share property (its default comes with the schema: SMBGateway.Schema)
    checkbox: function (name, label, extra) {
        return Ext.apply(
            {
                xtype: 'checkbox',
                name: name,
                fieldLabel: label,
                inputValue: 1,
                uncheckedValue: 0,
            },
            extra || {},
        );
    },

    // the toolbar's choice of how far back a history chart goes (quota and throughput panels):
    // choices are [value, label] pairs, value the one shown at start
    historyCombo: function (itemId, value, choices, onChange) {
        return {
            xtype: 'combobox',
            itemId: itemId,
            fieldLabel: gt('History'),
            labelWidth: 50,
            width: 170,
            editable: false,
            value: value,
            store: choices,
            listeners: { change: onChange },
        };
    },

    // the input panels of a share, shared by the create wizard and the edit window
    sharePanels: function (isCreate) {
        return [
            { xtype: 'smbgwShareGeneral', isCreate: isCreate },
            { xtype: 'smbgwShareGuest', isCreate: isCreate },
            { xtype: 'smbgwShareQuota', isCreate: isCreate },
            { xtype: 'smbgwShareAccess', isCreate: isCreate },
            { xtype: 'smbgwShareOptions', isCreate: isCreate },
        ];
    },

    // a field validator (this: the field): the core refuses domain accounts (DOMAIN\name) on
    // vm shares (an lxc share's container joins the domain: ShareAccess); its words
    localOnlyInGuests: function (value) {
        let mode = SMBGateway.Utils.modeOf(this);
        if (mode === 'vm' && value.indexOf('\\') !== -1) {
            return Ext.String.format(gt('domain users and groups are not available in --mode {0} yet; use --mode native'), mode);
        }
        return true;
    },

    // what GET /cluster/smbgateway/ha answers before 'pve-smbgateway ha-setup' (the core's message)
    haNotSetUp: /high availability is not set up/i,

    injectCss: function () {
        if (SMBGateway.Utils.cssDone) {
            return;
        }
        SMBGateway.Utils.cssDone = true;
        Ext.util.CSS.createStyleSheet(
            [
                '.smbgw-bar { position: relative; height: 16px; border: 1px solid #b5b8c8; background: #f5f5f5; border-radius: 2px; }',
                '.smbgw-bar-fill { position: absolute; left: 0; top: 0; bottom: 0; background: #6fb04f; }',
                '.smbgw-bar-warn .smbgw-bar-fill { background: #e0a82e; }',
                '.smbgw-bar-crit .smbgw-bar-fill { background: #d9534f; }',
                '.smbgw-bar-text { position: relative; text-align: center; font-size: 11px; line-height: 16px; }',
                '.smbgw-muted { color: #888; }',
                '.smbgw-ok { color: #21bf4b; }',
                '.smbgw-bad { color: #d9534f; }',
                '.smbgw-plan { font-family: monospace; white-space: pre-wrap; font-size: 12px; }',
                '.smbgw-values td:first-child { padding-right: 16px; }',
                '.smbgw-note { color: #666; font-style: italic; padding: 4px 0 8px 0; }',
                '.smbgw-error { color: #d9534f; font-weight: bold; white-space: pre-wrap; }',
                '.smbgw-title { font-weight: bold; font-size: 14px; }',
                '.smbgw-cmd { font-family: monospace; font-size: 12px; background: #f5f5f5; border: 1px solid #ddd; padding: 6px 8px; margin: 4px 0 8px 0; white-space: pre-wrap; }',
            ].join('\n'),
            'smbgw-css',
        );
    },
});
