/*
 * pve-smbgateway web UI: the node "SMB Gateway" panels (shares, quota, Active Directory, HA) and the
 * "SMB Gateway" storage type of Datacenter -> Storage, inside the stock Proxmox VE 8 UI.
 *
 * Loaded by a script tag after pvemanagerlib.js (see www/ui-hook). Written against ExtJS 7.0 and
 * proxmox-widget-toolkit 4.x as PVE 8 ships them, keeping to APIs also present in ExtJS 6.2 (the
 * browser tests run on GPL ExtJS 6.2). Every class definition and every hook into PVE's own
 * classes is wrapped: if anything here fails (a renamed PVE class, a newer ExtJS, a half-installed
 * file), the error goes to the console and the stock UI stays as it is.
 *
 * All checks of the input are the API's (the Rust core's schema): the create window asks the API
 * for a dry-run plan of exactly the values entered and offers "Create" only when the API accepted
 * them; errors the API reports for a field ({errors: {field: msg}}) are shown on that field. The
 * fields only repeat the schema's limits (ranges, formats, what a placement refuses) so that a
 * mistake shows before the round trip.
 *
 * No 'use strict' here: ExtJS' callParent finds the calling method through Function.caller,
 * which strict-mode functions do not allow.
 */
(function () {

    const TAG = 'pve-smbgateway:';

    if (typeof Ext === 'undefined' || typeof Proxmox === 'undefined' || !Proxmox.Utils) {
        if (typeof console !== 'undefined') {
            console.warn(TAG, 'ExtJS or the Proxmox toolkit is missing; the SMB Gateway panels are not loaded');
        }
        return;
    }

    let gt = typeof gettext === 'function' ? gettext : (s) => s;

    // run one step of the set-up; a failure is logged and leaves the rest of the UI alone
    let guarded = function (what, fn) {
        try {
            fn();
            return true;
        } catch (err) {
            console.error(TAG, what + ' failed; the stock UI is unchanged.', err);
            return false;
        }
    };

    let classesOk = guarded('defining the SMB Gateway classes', function () {
        // Ext.define on a missing base class would try to load it later, outside of this guard
        let missing = ['Proxmox.panel.InputPanel', 'Proxmox.window.Edit', 'Proxmox.window.TaskViewer'].filter(
            (name) => !Ext.ClassManager.get(name),
        );
        ['API2Request', 'parse_task_upid', 'format_size', 'setErrorMask'].forEach((fn) => {
            if (!Ext.isFunction(Proxmox.Utils[fn])) {
                missing.push('Proxmox.Utils.' + fn);
            }
        });
        if (missing.length) {
            throw 'missing in this Proxmox toolkit: ' + missing.join(', ');
        }

        Ext.define('SMBGateway.Utils', {
            singleton: true,

            // share properties with these defaults need not be sent on create
            booleanDefaults: {
                'read-only': 0,
                browseable: 1,
                guest: 0,
                'shadow-copies': 0,
                'recycle-bin': 0,
                macos: 0,
                audit: 0,
                encrypt: 0,
                'fallback-local': 0,
            },

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

            // the field an error message of the core is about (for errors raised in a task);
            // the first rule that matches wins, so the guest fields come before the words
            // ("quota", "user", "mode") that their messages may also contain
            fieldOfTaskError: function (msg) {
                let rules = [
                    [/share name|share '.*' already exists/i, 'name'],
                    [/--ct-id\b/, 'ct-id'],
                    [/--vm-id\b/, 'vm-id'],
                    [/--vm-template\b|template VM\b/, 'vm-template'],
                    [/--ct-template\b|\btemplate\b/, 'ct-template'],
                    [/\bct-memory\b/, 'ct-memory'],
                    [/\bvm-memory\b/, 'vm-memory'],
                    [/\bvm-cores\b/, 'vm-cores'],
                    [/\bct-storage\b/, 'ct-storage'],
                    [/\bvm-storage\b/, 'vm-storage'],
                    [/\bbridge\b/, 'bridge'],
                    [/^ip\b|--ip\b/, 'ip'],
                    [/^gateway\b|--gateway\b/, 'gateway'],
                    [/--shadow-copies\b/, 'shadow-copies'],
                    [/--quota-backend\b/, 'quota-backend'],
                    [/--zfs-dataset\b/, 'zfs-dataset'],
                    [/quota/i, 'quota'],
                    [/\buser/i, 'users'],
                    [/\bgroup/i, 'groups'],
                    [/hosts?\b/i, 'hosts-allow'],
                    [/path|director/i, 'path'],
                    [/placement|mode/i, 'mode'],
                ];
                for (const [re, field] of rules) {
                    if (re.test(msg)) {
                        return field;
                    }
                }
                return undefined;
            },

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

        // ------------------------------------------------------------------------------------
        // share editing: four input panels shared by the create wizard and the edit window

        let checkbox = (name, label, extra) =>
            Ext.apply(
                {
                    xtype: 'checkbox',
                    name: name,
                    fieldLabel: label,
                    inputValue: 1,
                    uncheckedValue: 0,
                    checked: !!SMBGateway.Utils.booleanDefaults[name],
                },
                extra || {},
            );

        // create: only what is set; edit: empty fields become 'delete'
        let cleanValues = function (panel, values) {
            let del = [];
            Ext.Object.each(values, function (key, value) {
                if (Ext.isArray(value)) {
                    value = values[key] = value.join(',');
                }
                if (typeof value === 'string') {
                    value = values[key] = value.trim();
                }
                if (value === '' || value === null || value === undefined) {
                    delete values[key];
                    if (!panel.isCreate && key !== 'name') {
                        del.push(key);
                    }
                } else if (panel.isCreate && SMBGateway.Utils.booleanDefaults[key] !== undefined) {
                    if (Number(value) === SMBGateway.Utils.booleanDefaults[key]) {
                        delete values[key];
                    }
                }
            });
            if (del.length) {
                values.delete = del.join(',');
            }
            return values;
        };

        Ext.define('SMBGateway.panel.ShareBase', {
            extend: 'Proxmox.panel.InputPanel',
            isCreate: true,
            onGetValues: function (values) {
                return cleanValues(this, values);
            },
            // edit: only what was changed (an emptied field becomes 'delete'); some properties
            // cannot be deleted, so untouched empty fields must not be sent
            getValues: function (dirtyOnly) {
                let me = this;
                if (me.isCreate) {
                    return me.callParent([dirtyOnly]);
                }
                let values = {};
                me.query('[isFormField]').forEach(function (field) {
                    if (field.isDirty()) {
                        Proxmox.Utils.assemble_field_data(values, field.getSubmitData());
                    }
                });
                return me.onGetValues(values);
            },
            onSetValues: function (values) {
                let v = Ext.apply({}, values);
                ['users', 'groups', 'hosts-allow', 'hosts-deny', 'quota-alerts', 'options', 'user-quotas'].forEach(
                    (k) => {
                        if (v[k] !== undefined) {
                            v[k] = SMBGateway.Utils.listText(v[k]);
                        }
                    },
                );
                if (v.quota !== undefined) {
                    v.quota = SMBGateway.Utils.quotaText(v.quota);
                }
                Ext.Object.each(v, (k, val) => {
                    if (val === true || val === false) {
                        v[k] = val ? 1 : 0;
                    }
                });
                return v;
            },
        });

        Ext.define('SMBGateway.panel.ShareGeneral', {
            extend: 'SMBGateway.panel.ShareBase',
            alias: 'widget.smbgwShareGeneral',
            title: gt('General'),
            itemId: 'general',

            initComponent: function () {
                let me = this;
                me.column1 = [
                    {
                        xtype: me.isCreate ? 'textfield' : 'displayfield',
                        name: 'name',
                        fieldLabel: gt('Name'),
                        allowBlank: false,
                        maxLength: 80,
                        emptyText: 'e.g. team',
                        submitValue: me.isCreate,
                    },
                    {
                        xtype: 'textfield',
                        name: 'path',
                        fieldLabel: gt('Path'),
                        allowBlank: !me.isCreate,
                        emptyText: '/srv/smb/team',
                    },
                    {
                        xtype: 'textfield',
                        name: 'comment',
                        fieldLabel: gt('Comment'),
                        maxLength: 256,
                    },
                ];
                let note = (modes, text) => ({
                    xtype: 'component',
                    cls: 'smbgw-note',
                    smbgwModes: modes,
                    html: Ext.htmlEncode(text),
                });
                me.column2 = [
                    {
                        xtype: 'radiogroup',
                        fieldLabel: gt('Placement'),
                        columns: 1,
                        vertical: true,
                        disabled: !me.isCreate,
                        items: [
                            { boxLabel: gt('Native (host smbd)'), name: 'mode', inputValue: 'native', checked: true },
                            { boxLabel: gt('LXC container'), name: 'mode', inputValue: 'lxc' },
                            { boxLabel: gt('Virtual machine'), name: 'mode', inputValue: 'vm' },
                        ],
                        listeners: {
                            change: function (group, value) {
                                if (me.isCreate && typeof value.mode === 'string') {
                                    SMBGateway.Utils.applyMode(group.up('window'), value.mode, true);
                                }
                            },
                        },
                    },
                    note(['native'], gt("This node's smbd serves the share.")),
                    note(
                        ['lxc'],
                        gt(
                            "Samba runs in an unprivileged container made for the share; the share's directory stays on this node and is bind-mounted into it at /srv/share.",
                        ),
                    ),
                    note(
                        ['vm'],
                        gt(
                            "Samba runs in a VM cloned from the gateway's template VM; the share's data lives on the VM's own disk, sized from the quota and mounted at /srv/share inside the VM.",
                        ),
                    ),
                ];
                me.callParent();
            },

            onGetValues: function (values) {
                if (!this.isCreate) {
                    delete values.mode;
                    delete values.name;
                }
                return this.callParent([values]);
            },
        });

        // the core's formats of the guest properties (crates/core/src/guest.rs), as regexes: never
        // stricter than the core, which checks them again (and has the last word)
        const IPV4 = '(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)(\\.(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)){3}';
        const GUEST_FORMATS = {
            storage: {
                regex: /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/,
                regexText: gt("not a PVE storage id (a letter, then letters, digits, '-', '_', '.')"),
            },
            bridge: {
                regex: /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,14}$/,
                regexText: gt("not an interface name (1-15 letters, digits, '-', '_', '.')"),
            },
            ip: {
                regex: new RegExp(`^(dhcp|${IPV4}/([1-9]|[12]\\d|3[0-2]))$`),
                regexText: gt("'dhcp' or an IPv4 address with prefix, e.g. 192.168.1.50/24"),
            },
            gateway: { regex: new RegExp(`^${IPV4}$`), regexText: gt('not an IPv4 address') },
            template: {
                regex: /^[A-Za-z][A-Za-z0-9_.-]{0,63}:vztmpl\/(?!\.)(?=[A-Za-z0-9._-]{1,200}$).*(\.tar\.(gz|xz|zst)|\.tgz)$/,
                regexText: gt('not a template volume such as local:vztmpl/debian-12-smbgateway_1_amd64.tar.gz'),
            },
        };

        // the container or VM of an lxc or vm share; fixed once it is made, so shown read-only
        // on edit, except memory and cores (pct set applies them at once, qm set at the
        // reboot). Limits and defaults are the core's schema (crates/core/src/schema.rs).
        Ext.define('SMBGateway.panel.ShareGuest', {
            extend: 'SMBGateway.panel.ShareBase',
            alias: 'widget.smbgwShareGuest',
            title: gt('Container'),
            itemId: 'guest',

            initComponent: function () {
                let me = this;
                let lxc = ['lxc'];
                let vm = ['vm'];
                let both = ['lxc', 'vm'];
                let resizable = ['ct-memory', 'vm-memory', 'vm-cores'];
                let field = function (modes, xtype, name, label, extra) {
                    let cfg = { xtype: 'displayfield', name: name, fieldLabel: label, smbgwModes: modes };
                    let editable = me.isCreate || resizable.indexOf(name) !== -1;
                    return editable ? Ext.apply(cfg, { xtype: xtype }, extra) : cfg;
                };
                let number = (modes, name, label, min, max, range, extra) =>
                    field(
                        modes,
                        'numberfield',
                        name,
                        label,
                        Ext.apply({ allowDecimals: false, minValue: min, maxValue: max, minText: range, maxText: range }, extra),
                    );
                let guestId = gt('a number from 100 to 999999999');
                let nextFree = { emptyText: gt('next free') };
                me.column1 = [
                    number(lxc, 'ct-id', gt('CT ID'), 100, 999999999, guestId, nextFree),
                    number(lxc, 'ct-memory', gt('Memory (MiB)'), 128, 65536, gt('MiB from 128 to 65536'), { value: 512 }),
                    field(lxc, 'textfield', 'ct-storage', gt('Storage'), Ext.apply({ value: 'local-lvm', maxLength: 64 }, GUEST_FORMATS.storage)),
                    number(vm, 'vm-id', gt('VM ID'), 100, 999999999, guestId, nextFree),
                    number(vm, 'vm-template', gt('Template VM ID'), 100, 999999999, guestId, { value: 9000 }),
                    number(vm, 'vm-memory', gt('Memory (MiB)'), 512, 262144, gt('MiB from 512 to 262144'), { value: 1024 }),
                    number(vm, 'vm-cores', gt('Cores'), 1, 128, gt('a number from 1 to 128'), { value: 1 }),
                    field(vm, 'textfield', 'vm-storage', gt('Storage'), Ext.apply({ value: 'local-lvm', maxLength: 64 }, GUEST_FORMATS.storage)),
                ];
                me.column2 = [
                    field(both, 'textfield', 'bridge', gt('Bridge'), Ext.apply({ value: 'vmbr0', maxLength: 15 }, GUEST_FORMATS.bridge)),
                    field(both, 'textfield', 'ip', gt('IPv4/CIDR'), Ext.apply({ value: 'dhcp', maxLength: 18 }, GUEST_FORMATS.ip)),
                    field(both, 'textfield', 'gateway', gt('Gateway (IPv4)'), Ext.apply({ emptyText: gt('none'), maxLength: 15 }, GUEST_FORMATS.gateway)),
                ];
                me.columnB = [
                    field(
                        lxc,
                        'textfield',
                        'ct-template',
                        gt('Template'),
                        Ext.apply({ value: 'local:vztmpl/debian-12-smbgateway_1_amd64.tar.gz', maxLength: 256 }, GUEST_FORMATS.template),
                    ),
                    {
                        xtype: 'component',
                        cls: 'smbgw-note',
                        smbgwModes: lxc,
                        html: Ext.htmlEncode(
                            gt(
                                "An unprivileged container from the gateway's template (scripts/create_ct_template.sh). The share's users keep their uid and gid inside, so files written over SMB belong to them on this node.",
                            ),
                        ),
                    },
                    {
                        xtype: 'component',
                        cls: 'smbgw-note',
                        smbgwModes: vm,
                        html: Ext.htmlEncode(
                            gt(
                                "A full clone of the gateway's template VM (scripts/create_vm_template.sh), set up by cloud-init. Its data disk is sized from the quota.",
                            ),
                        ),
                    },
                ];
                me.callParent();
            },

            // the API gives the guest as an object ({container: {id, ...}} or {vm: {...}})
            onSetValues: function (values) {
                let v = this.callParent([values]);
                let prefix = values.container ? 'ct' : 'vm';
                Ext.Object.each(values.container || values.vm || {}, function (key, value) {
                    v[['bridge', 'ip', 'gateway'].indexOf(key) !== -1 ? key : `${prefix}-${key}`] = value;
                });
                return v;
            },
        });

        Ext.define('SMBGateway.panel.ShareQuota', {
            extend: 'SMBGateway.panel.ShareBase',
            alias: 'widget.smbgwShareQuota',
            title: gt('Quota'),
            itemId: 'quota',

            initComponent: function () {
                let me = this;
                me.column1 = [
                    {
                        xtype: 'textfield',
                        name: 'quota',
                        fieldLabel: gt('Quota'),
                        emptyText: gt('none') + ' (e.g. 500M, 10G, 1.5T)',
                        // only a VM share needs one (SMBGateway.Utils.applyMode); the core's words
                        blankText: gt("--mode vm needs --quota, the size of the share's data disk"),
                    },
                    {
                        xtype: me.isCreate ? 'combobox' : 'displayfield',
                        name: 'quota-backend',
                        fieldLabel: gt('Backend'),
                        editable: false,
                        value: 'auto',
                        smbgwRefusedIn: ['vm'],
                        store: [
                            ['auto', gt('auto (from the filesystem)')],
                            ['btrfs', 'btrfs qgroup'],
                            ['zfs', 'ZFS refquota'],
                            ['project', 'ext4/XFS project quota'],
                        ],
                    },
                ];
                me.column2 = [
                    {
                        xtype: 'textfield',
                        name: 'quota-alerts',
                        fieldLabel: gt('Alerts at (%)'),
                        emptyText: '80, 90, 95',
                    },
                    {
                        xtype: me.isCreate ? 'textfield' : 'displayfield',
                        name: 'zfs-dataset',
                        fieldLabel: gt('ZFS dataset'),
                        emptyText: gt('auto'),
                        smbgwRefusedIn: ['vm'],
                    },
                ];
                me.columnB = [
                    {
                        xtype: 'component',
                        cls: 'smbgw-note',
                        smbgwModes: ['native', 'lxc'],
                        html: Ext.htmlEncode(
                            gt(
                                'The quota is enforced by the filesystem: a btrfs subvolume, a ZFS dataset, or an ext4/XFS project quota (mounted with prjquota). Other filesystems refuse a quota.',
                            ),
                        ),
                    },
                    {
                        xtype: 'component',
                        cls: 'smbgw-note',
                        smbgwModes: ['vm'],
                        html: Ext.htmlEncode(
                            gt(
                                "A VM share needs a quota: it is the size of the VM's data disk. Backend and dataset are the node's, so they do not apply.",
                            ),
                        ),
                    },
                ];
                me.callParent();
            },
        });

        // the core refuses domain accounts (DOMAIN\name) on lxc and vm shares; its words
        let localOnlyInGuests = function (value) {
            let mode = SMBGateway.Utils.modeOf(this);
            if (mode !== 'native' && value.indexOf('\\') !== -1) {
                return Ext.String.format(gt('domain users and groups are not available in --mode {0} yet; use --mode native'), mode);
            }
            return true;
        };

        Ext.define('SMBGateway.panel.ShareAccess', {
            extend: 'SMBGateway.panel.ShareBase',
            alias: 'widget.smbgwShareAccess',
            title: gt('Access'),
            itemId: 'access',

            initComponent: function () {
                let me = this;
                me.column1 = [
                    {
                        xtype: 'textfield',
                        name: 'users',
                        fieldLabel: gt('Users'),
                        emptyText: 'alice, EXAMPLE\\bob',
                        validator: localOnlyInGuests,
                    },
                    {
                        xtype: 'textfield',
                        name: 'groups',
                        fieldLabel: gt('Groups'),
                        emptyText: 'staff, EXAMPLE\\Domain Users',
                        validator: localOnlyInGuests,
                    },
                    checkbox('fallback-local', gt('Local fallback'), {
                        boxLabel: gt('local users while the domain is down'),
                        smbgwRefusedIn: ['lxc', 'vm'],
                    }),
                ];
                me.column2 = [
                    { xtype: 'textfield', name: 'hosts-allow', fieldLabel: gt('Hosts allow'), emptyText: '192.0.2.0/24' },
                    { xtype: 'textfield', name: 'hosts-deny', fieldLabel: gt('Hosts deny') },
                    checkbox('read-only', gt('Read-only')),
                    checkbox('guest', gt('Guest access')),
                ];
                me.columnB = [
                    {
                        xtype: 'component',
                        cls: 'smbgw-note',
                        html: Ext.htmlEncode(
                            gt(
                                'Comma separated. Local Samba users and groups, or domain users and groups as DOMAIN\\name once the node has joined Active Directory. No users and no groups: every Samba user may connect.',
                            ),
                        ),
                    },
                    {
                        xtype: 'component',
                        cls: 'smbgw-note',
                        smbgwModes: ['lxc', 'vm'],
                        html: Ext.htmlEncode(gt('In a container or a VM: local users and groups only, domain accounts are not available there yet.')),
                    },
                ];
                me.callParent();
            },
        });

        Ext.define('SMBGateway.panel.ShareOptions', {
            extend: 'SMBGateway.panel.ShareBase',
            alias: 'widget.smbgwShareOptions',
            title: gt('Options'),
            itemId: 'options',

            initComponent: function () {
                let me = this;
                me.column1 = [
                    checkbox('shadow-copies', gt('Shadow copies'), { boxLabel: gt('"Previous Versions"'), smbgwRefusedIn: ['vm'] }),
                    checkbox('recycle-bin', gt('Recycle bin')),
                    checkbox('macos', gt('macOS clients'), { boxLabel: 'vfs_fruit' }),
                    checkbox('audit', gt('Audit log')),
                ];
                me.column2 = [
                    checkbox('browseable', gt('Browseable')),
                    checkbox('encrypt', gt('Encryption'), { boxLabel: gt('require SMB3') }),
                    {
                        xtype: 'combobox',
                        name: 'case-sensitive',
                        fieldLabel: gt('Case sensitive'),
                        editable: false,
                        value: 'auto',
                        store: [
                            ['auto', 'auto'],
                            ['yes', gt('Yes')],
                            ['no', gt('No')],
                        ],
                    },
                ];
                me.columnB = [
                    {
                        xtype: 'textfield',
                        name: 'options',
                        fieldLabel: gt('Samba options'),
                        emptyText: 'KEY=VALUE, ... (allow list)',
                    },
                    {
                        xtype: 'component',
                        cls: 'smbgw-note',
                        smbgwModes: ['vm'],
                        html: Ext.htmlEncode(gt('In a VM: no shadow copies yet (the data disk has no snapshots inside the VM).')),
                    },
                ];
                me.callParent();
            },
        });

        let sharePanels = (isCreate) => [
            { xtype: 'smbgwShareGeneral', isCreate: isCreate },
            { xtype: 'smbgwShareGuest', isCreate: isCreate },
            { xtype: 'smbgwShareQuota', isCreate: isCreate },
            { xtype: 'smbgwShareAccess', isCreate: isCreate },
            { xtype: 'smbgwShareOptions', isCreate: isCreate },
        ];

        // ------------------------------------------------------------------------------------
        // the create wizard: General, Container or Virtual machine (modes lxc and vm only),
        // Quota, Access, Options, Summary (the API's dry-run plan)

        Ext.define('SMBGateway.window.ShareCreate', {
            extend: 'Ext.window.Window',
            alias: 'widget.smbgwShareCreate',

            nodename: undefined,
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

            markErrors: function (errors) {
                let me = this;
                let form = me.down('form').getForm();
                form.markInvalid(errors);
                // show the first step with a field in error
                let tabs = me.down('tabpanel');
                for (const name of Object.keys(errors)) {
                    let field = form.findField(name);
                    let panel = field && field.up('inputpanel');
                    if (panel) {
                        tabs.setActiveTab(panel);
                        break;
                    }
                }
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
                                let field = SMBGateway.Utils.fieldOfTaskError(msg);
                                if (field) {
                                    me.markErrors({ [field]: msg });
                                }
                                return;
                            }
                            let plan = lines.filter((l) => /^(plan|note|nothing to do):?/.test(l));
                            let rows = Object.entries(values)
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
                    failure: function (response) {
                        if (response.result && response.result.errors) {
                            me.markErrors(response.result.errors);
                        }
                        Ext.Msg.alert(gt('Error'), response.htmlStatus);
                    },
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
                let tabs = sharePanels(true).concat([
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
                me.down('form').getForm().on('dirtychange', () => me.updateButtons());
                me.on('afterrender', () => me.updateButtons());
            },
        });

        // ------------------------------------------------------------------------------------
        // the edit window: the standard Proxmox edit window on PUT shares/{name}, as a task

        Ext.define('SMBGateway.window.ShareEdit', {
            extend: 'Proxmox.window.Edit',
            alias: 'widget.smbgwShareEdit',

            nodename: undefined,
            shareName: undefined,
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
                            items: sharePanels(false),
                        },
                    ],
                });
                me.callParent();
                SMBGateway.Utils.applyMode(me, 'native', false);
            },
        });

        // ------------------------------------------------------------------------------------
        // the shares grid: node -> SMB Gateway

        // what GET /cluster/smbgateway/ha answers before 'pve-smbgateway ha-setup' (the core's message)
        const HA_NOT_SET_UP = /high availability is not set up/i;

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
                        if (HA_NOT_SET_UP.test(msg) || [403, 404, 501].indexOf(result.status) !== -1) {
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
                        shareName: rec.get('name'),
                        autoShow: true,
                        taskDone: reload,
                        listeners: { destroy: reload },
                    });
                };

                let deleteShare = function () {
                    let rec = selected();
                    if (!rec) {
                        return;
                    }
                    let name = rec.get('name');
                    let win = Ext.create('Ext.window.Window', {
                        title: gt('Delete') + ': ' + Ext.htmlEncode(name),
                        itemId: 'smbgwDeleteConfirm',
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
                                boxLabel: gt('Also delete the data') + ' (' + Ext.htmlEncode(rec.get('path') || '') + ')',
                            },
                        ],
                        buttons: [
                            {
                                text: gt('Remove'),
                                itemId: 'confirm',
                                handler: function () {
                                    let purge = win.down('#purge').getValue();
                                    win.close();
                                    Proxmox.Utils.API2Request({
                                        url:
                                            `${SMBGateway.Utils.baseUrl(me.nodename)}/shares/${encodeURIComponent(name)}` +
                                            (purge ? '?purge-data=1' : ''),
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

                let needSel = (btn) =>
                    Ext.apply(btn, {
                        disabled: true,
                        listeners: {
                            afterrender: function (b) {
                                me.on('selectionchange', (sm, sel) => b.setDisabled(!sel.length || (b.needModify && !canModify)));
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
                                    autoShow: true,
                                    taskDone: reload,
                                    listeners: { destroy: reload },
                                }),
                        },
                        needSel({ text: gt('Edit'), itemId: 'edit', iconCls: 'fa fa-pencil', needModify: true, handler: editShare }),
                        needSel({ text: gt('Delete'), itemId: 'delete', iconCls: 'fa fa-trash-o', needModify: true, handler: deleteShare }),
                        needSel({ text: gt('Status'), itemId: 'status', iconCls: 'fa fa-heartbeat', handler: showStatus }),
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
            },
        });

        // ------------------------------------------------------------------------------------
        // quota panel: usage per share and its history as a chart

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
                        {
                            xtype: 'combobox',
                            itemId: 'days',
                            fieldLabel: gt('History'),
                            labelWidth: 50,
                            width: 170,
                            editable: false,
                            value: 2,
                            store: [
                                [2, gt('2 days')],
                                [7, gt('1 week')],
                                [30, gt('30 days')],
                                [90, gt('90 days')],
                            ],
                            listeners: { change: () => me.loadHistory() },
                        },
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

        // ------------------------------------------------------------------------------------
        // Active Directory: membership, test (checklist), join, leave

        let adCredentialFields = (withDomain) =>
            [
                withDomain ? { xtype: 'textfield', name: 'domain', fieldLabel: gt('Domain'), allowBlank: false, emptyText: 'example.com' } : null,
                { xtype: 'textfield', name: 'dc', fieldLabel: gt('Domain controller'), emptyText: gt('from DNS') },
                { xtype: 'textfield', name: 'user', fieldLabel: gt('User'), emptyText: 'Administrator' },
                { xtype: 'textfield', name: 'password', inputType: 'password', fieldLabel: gt('Password') },
            ].filter((x) => x);

        Ext.define('SMBGateway.ADPanel', {
            extend: 'Ext.panel.Panel',
            alias: 'widget.smbgwADPanel',

            nodename: undefined,
            bodyPadding: 10,
            scrollable: true,

            renderStatus: function (s) {
                let yes = (v) => (v ? `<span class="smbgw-ok">${gt('Yes')}</span>` : `<span class="smbgw-bad">${gt('No')}</span>`);
                let rows = [[gt('Joined'), yes(s.joined)]];
                let labels = {
                    domain: gt('Domain'),
                    realm: gt('Realm'),
                    workgroup: gt('Workgroup'),
                    dc: gt('Domain controller'),
                    keytab: gt('Keytab'),
                    'keytab-present': gt('Keytab present'),
                    'winbind-running': gt('winbind running'),
                };
                Ext.Object.each(s, function (k, v) {
                    if (k === 'joined') {
                        return;
                    }
                    k = labels[k] || k;
                    let text = v === true || v === false ? yes(v) : Ext.htmlEncode(Ext.isObject(v) ? Ext.encode(v) : String(v ?? '-'));
                    rows.push([Ext.htmlEncode(k), text]);
                });
                return '<table>' + rows.map(([k, v]) => `<tr><td style="padding-right:16px"><b>${k}</b></td><td>${v}</td></tr>`).join('') + '</table>';
            },

            reload: function () {
                let me = this;
                Proxmox.Utils.API2Request({
                    url: SMBGateway.Utils.baseUrl(me.nodename) + '/ad',
                    method: 'GET',
                    failure: (response) => me.down('#adStatus').setHtml(`<span class="smbgw-error">${response.htmlStatus}</span>`),
                    success: function (response) {
                        let s = response.result.data || {};
                        me.adStatus = s;
                        me.down('#adStatus').setHtml(me.renderStatus(s));
                        me.down('#join').setDisabled(!!s.joined || !me.canModify);
                        me.down('#leave').setDisabled(!s.joined || !me.canModify);
                        me.down('#check').setDisabled(!s.joined || !me.canModify);
                        me.fireEvent('smbgwLoaded', me);
                    },
                });
            },

            showChecklist: function (result) {
                let store = Ext.create('Ext.data.Store', { fields: ['ok', 'name', 'detail', 'fix'], data: result.checks || [] });
                let grid = this.down('#checklist');
                grid.setStore(store);
                grid.setTitle(
                    gt('Checklist') +
                        ': ' +
                        Ext.htmlEncode(result.domain || '') +
                        ' - ' +
                        (result.ok ? `<span class="smbgw-ok">${gt('ready to join')}</span>` : `<span class="smbgw-bad">${gt('not ready')}</span>`),
                );
                grid.show();
            },

            credentialWindow: function (title, fields, submitText, handler) {
                let win = Ext.create('Ext.window.Window', {
                    title: title,
                    modal: true,
                    width: 440,
                    layout: 'fit',
                    items: [
                        {
                            xtype: 'form',
                            bodyPadding: 10,
                            border: false,
                            fieldDefaults: { labelWidth: 130, anchor: '100%' },
                            items: fields,
                        },
                    ],
                    buttons: [
                        {
                            text: submitText,
                            itemId: 'submit',
                            formBind: true,
                            handler: function () {
                                let form = win.down('form').getForm();
                                if (!form.isValid()) {
                                    return;
                                }
                                let values = {};
                                Ext.Object.each(form.getValues(), (k, v) => {
                                    if (v !== '') {
                                        values[k] = v;
                                    }
                                });
                                handler(values, win, form);
                            },
                        },
                    ],
                });
                win.show();
                return win;
            },

            initComponent: function () {
                let me = this;
                me.nodename = me.nodename || (me.pveSelNode && me.pveSelNode.data.node);
                SMBGateway.Utils.injectCss();
                let caps = Ext.state.Manager.get('GuiCap') || { nodes: {} };
                me.canModify = !!(caps.nodes && caps.nodes['Sys.Modify']);
                let base = SMBGateway.Utils.baseUrl(me.nodename);
                let reload = () => me.reload();

                let apiFailure = (form) => (response) => {
                    if (form && response.result && response.result.errors) {
                        form.markInvalid(response.result.errors);
                    }
                    Ext.Msg.alert(gt('Error'), response.htmlStatus);
                };

                Ext.apply(me, {
                    tbar: [
                        {
                            text: gt('Test'),
                            itemId: 'test',
                            iconCls: 'fa fa-stethoscope',
                            handler: () =>
                                me.credentialWindow(gt('Test a domain'), adCredentialFields(true), gt('Test'), function (values, win, form) {
                                    Proxmox.Utils.API2Request({
                                        url: base + '/ad/test',
                                        method: 'POST',
                                        params: values,
                                        waitMsgTarget: win,
                                        failure: apiFailure(form),
                                        success: function (response) {
                                            win.close();
                                            me.showChecklist(response.result.data);
                                        },
                                    });
                                }),
                        },
                        {
                            text: gt('Join'),
                            itemId: 'join',
                            iconCls: 'fa fa-sign-in',
                            disabled: true,
                            handler: () =>
                                me.credentialWindow(
                                    gt('Join an Active Directory domain'),
                                    adCredentialFields(true).concat([
                                        { xtype: 'textfield', name: 'ou', fieldLabel: 'OU', emptyText: 'Servers/PVE' },
                                        { xtype: 'textfield', name: 'netbios', fieldLabel: gt('NetBIOS name'), emptyText: gt('host name') },
                                    ]),
                                    gt('Join'),
                                    function (values, win, form) {
                                        Proxmox.Utils.API2Request({
                                            url: base + '/ad/join',
                                            method: 'POST',
                                            params: values,
                                            waitMsgTarget: win,
                                            failure: apiFailure(form),
                                            success: function (response) {
                                                win.close();
                                                SMBGateway.Utils.openTask(response.result.data, reload).on('destroy', reload);
                                            },
                                        });
                                    },
                                ),
                        },
                        {
                            text: gt('Leave'),
                            itemId: 'leave',
                            iconCls: 'fa fa-sign-out',
                            disabled: true,
                            handler: () =>
                                me.credentialWindow(
                                    gt('Leave the domain'),
                                    [
                                        {
                                            xtype: 'component',
                                            html: Ext.htmlEncode(gt('With a password, the computer account is deleted in the domain too.')),
                                            padding: '0 0 8 0',
                                        },
                                    ].concat(adCredentialFields(false).slice(1)),
                                    gt('Leave'),
                                    function (values, win, form) {
                                        Proxmox.Utils.API2Request({
                                            url: base + '/ad/leave',
                                            method: 'POST',
                                            params: values,
                                            waitMsgTarget: win,
                                            failure: apiFailure(form),
                                            success: function (response) {
                                                win.close();
                                                SMBGateway.Utils.openTask(response.result.data, reload).on('destroy', reload);
                                            },
                                        });
                                    },
                                ),
                        },
                        {
                            text: gt('Check now'),
                            itemId: 'check',
                            iconCls: 'fa fa-heartbeat',
                            disabled: true,
                            handler: () =>
                                Proxmox.Utils.API2Request({
                                    url: base + '/ad/check',
                                    method: 'POST',
                                    waitMsgTarget: me,
                                    failure: apiFailure(),
                                    success: reload,
                                }),
                        },
                        '-',
                        { text: gt('Reload'), iconCls: 'fa fa-refresh', handler: reload },
                    ],
                    items: [
                        {
                            xtype: 'fieldset',
                            title: gt('Domain membership'),
                            items: [{ xtype: 'component', itemId: 'adStatus', html: gt('Loading...') }],
                        },
                        {
                            xtype: 'grid',
                            itemId: 'checklist',
                            hidden: true,
                            title: gt('Checklist'),
                            store: Ext.create('Ext.data.Store', { fields: ['ok', 'name', 'detail', 'fix'], data: [] }),
                            columns: [
                                {
                                    header: '',
                                    dataIndex: 'ok',
                                    width: 40,
                                    renderer: (v) =>
                                        v ? '<i class="fa fa-check-circle smbgw-ok"></i>' : '<i class="fa fa-times-circle smbgw-bad"></i>',
                                },
                                { header: gt('Check'), dataIndex: 'name', width: 160, renderer: Ext.htmlEncode },
                                {
                                    header: gt('Result'),
                                    dataIndex: 'detail',
                                    flex: 1,
                                    cellWrap: true,
                                    renderer: Ext.htmlEncode,
                                },
                                { header: gt('How to fix'), dataIndex: 'fix', flex: 1, cellWrap: true, renderer: Ext.htmlEncode },
                            ],
                        },
                    ],
                });
                me.callParent();
                me.on('afterrender', reload);
            },
        });

        // ------------------------------------------------------------------------------------
        // HA: the CTDB cluster (/cluster/smbgateway/ha): nodes, VIPs, leader and cluster lock;
        // move a VIP, failover drill, node maintenance - each a task

        Ext.define('SMBGateway.HAPanel', {
            extend: 'Ext.panel.Panel',
            alias: 'widget.smbgwHAPanel',

            nodename: undefined,
            refreshInterval: 10000,
            layout: { type: 'vbox', align: 'stretch' },
            scrollable: true,

            apiBase: '/cluster/smbgateway/ha',

            // 'loading', 'none' (not set up), 'error' or 'ok'
            haState: 'loading',

            mixins: ['SMBGateway.mixin.Refresh'],

            loadOnce: function (finish) {
                let me = this;
                Proxmox.Utils.API2Request({
                    url: me.apiBase,
                    method: 'GET',
                    failure: function (response) {
                        let msg = (response.result && response.result.message) || '';
                        if (!me.isDestroyed) {
                            if (HA_NOT_SET_UP.test(msg)) {
                                me.showNotSetUp();
                            } else {
                                // the core's message as it is; the HTTP status only without one
                                me.showError(msg.trim() ? Ext.htmlEncode(msg.trim()) : response.htmlStatus);
                            }
                        }
                        finish();
                    },
                    success: function (response) {
                        if (!me.isDestroyed) {
                            me.showStatus(response.result.data || {});
                        }
                        finish();
                    },
                });
            },

            setView: function (state) {
                let me = this;
                me.haState = state;
                me.down('#haEmpty').setVisible(state === 'none');
                me.down('#haSummary').setVisible(state !== 'none');
                me.down('#nodes').setVisible(state !== 'none');
                me.down('#vips').setVisible(state !== 'none');
            },

            showNotSetUp: function () {
                let me = this;
                me.haStatus = null;
                me.nodeStore.loadData([]);
                me.vipStore.loadData([]);
                me.setView('none');
                me.updateButtons();
                me.fireEvent('smbgwLoaded', me);
            },

            // htmlStatus: already HTML
            showError: function (htmlStatus) {
                let me = this;
                me.haStatus = null;
                me.nodeStore.loadData([]);
                me.vipStore.loadData([]);
                me.setView('error');
                me.down('#haSummary').setHtml(
                    `<span class="smbgw-bad"><i class="fa fa-times-circle"></i></span> ` +
                        `<b>${gt('The cluster status is not available')}:</b>` +
                        `<div class="smbgw-error">${htmlStatus}</div>`,
                );
                me.updateButtons();
                me.fireEvent('smbgwLoaded', me);
            },

            nodeText: function (pnn) {
                let s = this.haStatus;
                if (pnn === null || pnn === undefined) {
                    return null;
                }
                let node = s && (s.nodes || []).find((n) => n.pnn === pnn);
                let name = node && node.name;
                return name ? `${name} (PNN ${pnn})` : `PNN ${pnn}`;
            },

            renderSummary: function (s) {
                let me = this;
                let none = `<span class="smbgw-muted">${gt('none')}</span>`;
                let health = s.healthy
                    ? `<span class="smbgw-ok"><i class="fa fa-check-circle"></i> ${gt('Healthy')}</span>`
                    : `<span class="smbgw-bad"><i class="fa fa-exclamation-triangle"></i> ${gt('Degraded')}</span>` +
                      ` <span class="smbgw-muted">(${gt('a node is not OK or a VIP has no node')})</span>`;
                let leader = me.nodeText(s.leader);
                let lock = s.cluster_lock || {};
                let lockText;
                if (lock.configured) {
                    let holder = me.nodeText(lock.holder);
                    lockText =
                        `<span class="smbgw-plan">${Ext.htmlEncode(lock.configured)}</span>, ${gt('held by')} ` +
                        (holder ? Ext.htmlEncode(holder) : `<span class="smbgw-bad">${gt('nobody')}</span>`);
                } else {
                    lockText = `<span class="smbgw-bad">${gt('none')}</span> <span class="smbgw-muted">(${gt('split brain is possible')})</span>`;
                }
                let rows = [
                    [gt('Cluster'), health],
                    [gt('Leader'), leader ? Ext.htmlEncode(leader) : `<span class="smbgw-bad">${gt('none (election running?)')}</span>`],
                    [gt('Cluster lock'), lockText],
                    [gt('This node'), me.nodeText(s.this_node) ? Ext.htmlEncode(me.nodeText(s.this_node)) : none],
                ];
                return (
                    '<table>' +
                    rows.map(([k, v]) => `<tr><td style="padding-right:16px"><b>${Ext.htmlEncode(k)}</b></td><td>${v}</td></tr>`).join('') +
                    '</table>'
                );
            },

            showStatus: function (s) {
                let me = this;
                me.haStatus = s;
                me.setView('ok');
                me.down('#haSummary').setHtml(me.renderSummary(s));

                let nodesGrid = me.down('#nodes');
                let vipsGrid = me.down('#vips');
                let selNode = nodesGrid.getSelection()[0];
                let selPnn = selNode && selNode.get('pnn');
                let selVip = vipsGrid.getSelection()[0];
                let selAddress = selVip && selVip.get('address');

                me.nodeStore.loadData(
                    (s.nodes || []).map((n) => ({
                        pnn: n.pnn,
                        name: n.name || '',
                        address: n.address,
                        state: n.state,
                        flags: n.flags || [],
                        this_node: !!n.this_node,
                        leader: n.pnn === s.leader,
                        disabled: (n.flags || []).indexOf('DISABLED') !== -1,
                    })),
                );
                me.vipStore.loadData(
                    (s.vips || []).map((v) => ({
                        address: v.address,
                        holder: v.holder,
                        holder_name: v.holder_name || '',
                        interface: v.interface || '',
                    })),
                );
                if (selPnn !== undefined) {
                    let rec = me.nodeStore.findRecord('pnn', selPnn, 0, false, true, true);
                    if (rec) {
                        nodesGrid.setSelection(rec);
                    }
                }
                if (selAddress !== undefined) {
                    let rec = me.vipStore.findRecord('address', selAddress, 0, false, true, true);
                    if (rec) {
                        vipsGrid.setSelection(rec);
                    }
                }
                me.updateButtons();
                me.fireEvent('smbgwLoaded', me);
            },

            updateButtons: function () {
                let me = this;
                let on = me.haState === 'ok' && me.canModify;
                let vip = me.down('#vips').getSelection()[0];
                let node = me.down('#nodes').getSelection()[0];
                me.down('#move').setDisabled(!on || !vip);
                me.down('#test').setDisabled(!on || !vip);
                let toggle = me.down('#nodeToggle');
                let enable = !!(node && node.get('disabled'));
                toggle.setText(enable ? gt('Enable node') : gt('Disable node'));
                toggle.setIconCls(enable ? 'fa fa-play' : 'fa fa-pause');
                // the API takes the node's name (of the HA config)
                toggle.setDisabled(!on || !node || !node.get('name'));
            },

            // POST one of the HA actions and follow its task
            runAction: function (path, params, waitTarget) {
                let me = this;
                Proxmox.Utils.API2Request({
                    url: `${me.apiBase}/${path}`,
                    method: 'POST',
                    params: params,
                    waitMsgTarget: waitTarget || me,
                    failure: (response) => Ext.Msg.alert(gt('Error'), response.htmlStatus),
                    success: function (response) {
                        if (waitTarget && waitTarget !== me) {
                            waitTarget.close();
                        }
                        let reload = () => me.reload();
                        SMBGateway.Utils.openTask(response.result.data, reload).on('destroy', reload);
                    },
                });
            },

            moveVip: function () {
                let me = this;
                let vip = me.down('#vips').getSelection()[0];
                if (!vip) {
                    return;
                }
                let targets = [];
                me.nodeStore.each(function (n) {
                    if (n.get('name') && n.get('pnn') !== vip.get('holder')) {
                        let text = `${n.get('name')} (PNN ${n.get('pnn')})` + (n.get('state') === 'OK' ? '' : ` - ${n.get('state')}`);
                        targets.push([n.get('name'), text]);
                    }
                });
                let holder = me.nodeText(vip.get('holder'));
                let win = Ext.create('Ext.window.Window', {
                    title: gt('Move VIP') + ': ' + Ext.htmlEncode(vip.get('address')),
                    itemId: 'smbgwMoveVip',
                    modal: true,
                    width: 440,
                    layout: 'fit',
                    items: [
                        {
                            xtype: 'form',
                            bodyPadding: 10,
                            border: false,
                            fieldDefaults: { labelWidth: 110, anchor: '100%' },
                            items: [
                                { xtype: 'displayfield', fieldLabel: 'VIP', value: Ext.htmlEncode(vip.get('address')) },
                                {
                                    xtype: 'displayfield',
                                    fieldLabel: gt('Now on'),
                                    value: holder ? Ext.htmlEncode(holder) : gt('no node'),
                                },
                                {
                                    xtype: 'combobox',
                                    name: 'node',
                                    fieldLabel: gt('Move to'),
                                    allowBlank: false,
                                    editable: false,
                                    store: targets,
                                    value: targets.length === 1 ? targets[0][0] : undefined,
                                },
                                {
                                    xtype: 'component',
                                    cls: 'smbgw-note',
                                    html: Ext.htmlEncode(
                                        gt('A planned move: CTDB releases the address on one node and takes it up on the other; open SMB sessions on it reconnect.'),
                                    ),
                                },
                            ],
                        },
                    ],
                    buttons: [
                        {
                            text: gt('Move'),
                            itemId: 'submit',
                            formBind: true,
                            handler: function () {
                                let form = win.down('form').getForm();
                                if (!form.isValid()) {
                                    return;
                                }
                                me.runAction('failover', { vip: vip.get('address'), node: form.getValues().node }, win);
                            },
                        },
                    ],
                });
                win.show();
            },

            testFailover: function () {
                let me = this;
                let vip = me.down('#vips').getSelection()[0];
                if (!vip) {
                    return;
                }
                let address = vip.get('address');
                let holder = me.nodeText(vip.get('holder'));
                Ext.Msg.confirm(
                    gt('Test failover') + ': ' + Ext.htmlEncode(address),
                    Ext.htmlEncode(
                        Ext.String.format(
                            gt('A real drill: CTDB disables {1}, the node that holds {0}, until the address answers from another node, then enables it again. SMB clients of {0} see a short interruption. Run it?'),
                            address,
                            holder || gt('its node'),
                        ),
                    ),
                    function (btn) {
                        if (btn === 'yes') {
                            me.runAction('test', { vip: address });
                        }
                    },
                );
            },

            toggleNode: function () {
                let me = this;
                let node = me.down('#nodes').getSelection()[0];
                if (!node || !node.get('name')) {
                    return;
                }
                let name = node.get('name');
                if (node.get('disabled')) {
                    me.runAction('node', { node: name, action: 'enable' });
                    return;
                }
                Ext.Msg.confirm(
                    gt('Disable node') + ': ' + Ext.htmlEncode(name),
                    Ext.htmlEncode(
                        Ext.String.format(
                            gt('Node {0} keeps running but hosts no VIP until it is enabled again; CTDB moves its VIPs to the other nodes now. Disable it?'),
                            name,
                        ),
                    ),
                    function (btn) {
                        if (btn === 'yes') {
                            me.runAction('node', { node: name, action: 'disable' });
                        }
                    },
                );
            },

            initComponent: function () {
                let me = this;
                me.nodename = me.nodename || (me.pveSelNode && me.pveSelNode.data.node);
                SMBGateway.Utils.injectCss();
                // the cluster API needs Sys.Modify on / (GuiCap 'dc', as PVE's datacenter panels)
                let caps = Ext.state.Manager.get('GuiCap') || {};
                me.canModify = !!(caps.dc && caps.dc['Sys.Modify']);
                me.nodeStore = Ext.create('Ext.data.Store', {
                    fields: ['pnn', 'name', 'address', 'state', 'flags', 'this_node', 'leader', 'disabled'],
                    sorters: 'pnn',
                    data: [],
                });
                me.vipStore = Ext.create('Ext.data.Store', {
                    fields: ['address', 'holder', 'holder_name', 'interface'],
                    sorters: 'address',
                    data: [],
                });
                let reload = () => me.reload();
                let selectionChanged = () => me.updateButtons();

                let setupCommand = 'pve-smbgateway ha-setup --vip 192.0.2.100/24 --interface vmbr0';
                let emptyHtml =
                    `<p class="smbgw-title"><i class="fa fa-info-circle"></i> ${gt('High availability is not set up.')}</p>` +
                    `<p>${Ext.htmlEncode(
                        gt('Each node serves its shares on its own address. With HA, CTDB serves them on floating addresses (VIPs) and moves a VIP to another node when its node fails. To set it up, run on one node:'),
                    )}</p>` +
                    `<div class="smbgw-cmd">${Ext.htmlEncode(setupCommand)}</div>` +
                    `<p>${Ext.htmlEncode(
                        gt('It takes the nodes of the Proxmox VE cluster (--nodes n1,n2 for some of them), checks that every node answers ping and writes the CTDB configuration for all of them. This panel then shows the nodes and the VIPs.'),
                    )}</p>`;

                Ext.apply(me, {
                    tbar: [
                        {
                            text: gt('Move VIP') + '...',
                            itemId: 'move',
                            iconCls: 'fa fa-exchange',
                            disabled: true,
                            handler: () => me.moveVip(),
                        },
                        {
                            text: gt('Test failover'),
                            itemId: 'test',
                            iconCls: 'fa fa-bolt',
                            disabled: true,
                            handler: () => me.testFailover(),
                        },
                        '-',
                        {
                            text: gt('Disable node'),
                            itemId: 'nodeToggle',
                            iconCls: 'fa fa-pause',
                            disabled: true,
                            handler: () => me.toggleNode(),
                        },
                        '-',
                        { text: gt('Reload'), itemId: 'reload', iconCls: 'fa fa-refresh', handler: reload },
                    ],
                    items: [
                        {
                            xtype: 'component',
                            itemId: 'haEmpty',
                            hidden: true,
                            padding: 10,
                            html: emptyHtml,
                        },
                        {
                            xtype: 'component',
                            itemId: 'haSummary',
                            padding: 10,
                            html: gt('Loading...'),
                        },
                        {
                            xtype: 'grid',
                            itemId: 'nodes',
                            title: gt('Nodes'),
                            flex: 1,
                            minHeight: 140,
                            store: me.nodeStore,
                            emptyText: gt('No nodes'),
                            columns: [
                                { header: 'PNN', dataIndex: 'pnn', width: 75 },
                                {
                                    header: gt('Name'),
                                    dataIndex: 'name',
                                    flex: 1,
                                    renderer: function (v, md, rec) {
                                        let text = v ? Ext.htmlEncode(v) : `<span class="smbgw-muted">${gt('unknown')}</span>`;
                                        if (rec.get('leader')) {
                                            text += ` <span class="smbgw-muted"><i class="fa fa-star"></i> ${gt('leader')}</span>`;
                                        }
                                        if (rec.get('this_node')) {
                                            text += ` <span class="smbgw-muted">(${gt('this node')})</span>`;
                                        }
                                        return text;
                                    },
                                },
                                { header: gt('Address'), dataIndex: 'address', width: 160, renderer: Ext.htmlEncode },
                                {
                                    header: gt('State'),
                                    dataIndex: 'state',
                                    flex: 1,
                                    renderer: function (v) {
                                        if (v === 'OK') {
                                            return `<i class="fa fa-check-circle smbgw-ok"></i> ${gt('OK')}`;
                                        }
                                        return `<i class="fa fa-exclamation-triangle smbgw-bad"></i> ${Ext.htmlEncode(v || gt('unknown'))}`;
                                    },
                                },
                            ],
                            listeners: { selectionchange: selectionChanged },
                        },
                        {
                            xtype: 'grid',
                            itemId: 'vips',
                            title: gt('Floating addresses (VIPs)'),
                            flex: 1,
                            minHeight: 140,
                            store: me.vipStore,
                            emptyText: gt('No VIPs'),
                            columns: [
                                { header: gt('Address'), dataIndex: 'address', width: 180, renderer: Ext.htmlEncode },
                                {
                                    header: gt('Node'),
                                    dataIndex: 'holder',
                                    flex: 1,
                                    renderer: function (v, md, rec) {
                                        if (v === null || v === undefined) {
                                            return `<i class="fa fa-exclamation-triangle smbgw-bad"></i> ${gt('unassigned')}`;
                                        }
                                        let name = rec.get('holder_name');
                                        return (name ? Ext.htmlEncode(name) + ' ' : '') + `<span class="smbgw-muted">(PNN ${Ext.htmlEncode(String(v))})</span>`;
                                    },
                                },
                                {
                                    header: gt('Interface'),
                                    dataIndex: 'interface',
                                    width: 140,
                                    renderer: (v) => (v ? Ext.htmlEncode(v) : '<span class="smbgw-muted">-</span>'),
                                },
                            ],
                            listeners: { selectionchange: selectionChanged },
                        },
                    ],
                });
                me.callParent();

                me.startAutoRefresh();
            },
        });

        // ------------------------------------------------------------------------------------
        // Datacenter -> Storage -> Add -> SMB Gateway (storage type 'smbgateway')

        if (Ext.ClassManager.get('PVE.panel.StorageBase')) {
            Ext.define('PVE.storage.SMBGatewayInputPanel', {
                extend: 'PVE.panel.StorageBase',

                onGetValues: function (values) {
                    let me = this;
                    if (Ext.isArray(values.content)) {
                        values.content = values.content.join(',');
                    }
                    if (!me.isCreate) {
                        delete values['smbgateway-share'];
                    }
                    return me.callParent([values]);
                },

                onSetValues: function (values) {
                    if (typeof values.content === 'string') {
                        values.content = values.content.split(',');
                    }
                    return values;
                },

                initComponent: function () {
                    let me = this;
                    let nodename = Proxmox.NodeName || 'localhost';
                    let shareStore = Ext.create('Ext.data.Store', {
                        fields: ['name', 'path', 'quota'],
                        proxy: {
                            type: 'ajax',
                            url: `/api2/json${SMBGateway.Utils.baseUrl(nodename)}/shares`,
                            reader: { type: 'json', rootProperty: 'data' },
                            // the API takes no paging/sorting parameters (as Proxmox.RestProxy)
                            noCache: false,
                            pageParam: null,
                            startParam: null,
                            limitParam: null,
                            sortParam: null,
                            filterParam: null,
                            groupParam: null,
                        },
                        autoLoad: me.isCreate,
                    });
                    me.column1 = [
                        me.isCreate
                            ? {
                                  xtype: 'combobox',
                                  name: 'smbgateway-share',
                                  fieldLabel: gt('Share'),
                                  allowBlank: false,
                                  editable: false,
                                  store: shareStore,
                                  queryMode: 'local',
                                  displayField: 'name',
                                  valueField: 'name',
                                  emptyText: gt('an SMB Gateway share of this node'),
                                  listConfig: {
                                      itemTpl: '<b>{name:htmlEncode}</b> <span class="smbgw-muted">{path:htmlEncode}</span>',
                                  },
                                  listeners: {
                                      change: function (field, value) {
                                          let rec = shareStore.findRecord('name', value, 0, false, true, true);
                                          me.down('#sharePath').setValue(rec ? rec.get('path') : '');
                                      },
                                  },
                              }
                            : { xtype: 'displayfield', name: 'smbgateway-share', fieldLabel: gt('Share') },
                        {
                            xtype: 'displayfield',
                            itemId: 'sharePath',
                            name: 'path',
                            submitValue: false,
                            fieldLabel: gt('Path'),
                        },
                        {
                            xtype: 'tagfield',
                            name: 'content',
                            fieldLabel: gt('Content'),
                            allowBlank: false,
                            value: ['backup'],
                            queryMode: 'local',
                            filterPickList: true,
                            store: [
                                ['backup', gt('VZDump backup file')],
                                ['iso', gt('ISO image')],
                                ['vztmpl', gt('Container template')],
                                ['snippets', gt('Snippets')],
                            ],
                        },
                    ];
                    me.column2 = [];
                    me.columnB = [
                        {
                            xtype: 'component',
                            cls: 'smbgw-note',
                            html: Ext.htmlEncode(
                                gt(
                                    "The storage uses the share's directory; its size and free space are the share's quota. Removing the storage keeps the share and its data.",
                                ),
                            ),
                        },
                    ];
                    me.callParent();
                },
            });
        }
    });

    // tasks of the gateway in PVE's task lists and viewer titles
    guarded('registering task descriptions', function () {
        if (!Ext.isFunction(Proxmox.Utils.override_task_descriptions)) {
            return;
        }
        Proxmox.Utils.override_task_descriptions({
            smbgwcreate: ['SMB share', gt('Create')],
            smbgwupdate: ['SMB share', gt('Update')],
            smbgwdelete: ['SMB share', gt('Delete')],
            smbgwapply: ['', gt('SMB Gateway apply')],
            smbgwad_join: ['', gt('Join Active Directory domain')],
            smbgwad_leave: ['', gt('Leave Active Directory domain')],
            smbgwhafailover: ['SMB Gateway VIP', gt('Move')],
            smbgwhatest: ['SMB Gateway VIP', gt('Failover test')],
            smbgwhanode: ['SMB Gateway HA node', gt('Maintenance')],
        });
    });

    if (!classesOk) {
        return;
    }

    // the storage type in Datacenter -> Storage (the Add menu is built from storageSchema)
    guarded('registering the smbgateway storage type', function () {
        if (typeof PVE === 'undefined' || !PVE.Utils || !Ext.isObject(PVE.Utils.storageSchema)) {
            throw 'PVE.Utils.storageSchema not found';
        }
        if (!Ext.ClassManager.get('PVE.storage.SMBGatewayInputPanel')) {
            throw 'PVE.panel.StorageBase not found';
        }
        PVE.Utils.storageSchema.smbgateway = {
            name: 'SMB Gateway',
            ipanel: 'SMBGatewayInputPanel',
            faIcon: 'share-alt',
            backups: true,
        };
    });

    // node -> "SMB Gateway" with Quota, Active Directory and HA below it
    guarded('adding the SMB Gateway node panels', function () {
        let nodeConfig = Ext.ClassManager.get('PVE.node.Config');
        if (!nodeConfig || !Ext.isFunction(nodeConfig.prototype.insertNodes)) {
            throw 'PVE.node.Config with insertNodes not found';
        }
        Ext.define('SMBGateway.override.NodeConfig', {
            override: 'PVE.node.Config',

            insertNodes: function (items) {
                let me = this;
                try {
                    let caps = Ext.state.Manager.get('GuiCap') || { nodes: {} };
                    if (!me.smbgwInserted && Ext.isArray(items) && caps.nodes && caps.nodes['Sys.Audit'] && me.pveSelNode) {
                        me.smbgwInserted = true;
                        let nodename = me.pveSelNode.data.node;
                        let ours = [
                            {
                                xtype: 'smbgwShareGrid',
                                title: 'SMB Gateway',
                                iconCls: 'fa fa-share-alt',
                                itemId: 'smbgateway',
                                expandedOnInit: true,
                                nodename: nodename,
                            },
                            {
                                xtype: 'smbgwQuotaPanel',
                                title: gt('Quota'),
                                iconCls: 'fa fa-pie-chart',
                                itemId: 'smbgateway-quota',
                                groups: ['smbgateway'],
                                nodename: nodename,
                            },
                            {
                                xtype: 'smbgwADPanel',
                                title: 'Active Directory',
                                iconCls: 'fa fa-sitemap',
                                itemId: 'smbgateway-ad',
                                groups: ['smbgateway'],
                                nodename: nodename,
                            },
                            {
                                xtype: 'smbgwHAPanel',
                                title: 'HA',
                                iconCls: 'fa fa-heartbeat',
                                itemId: 'smbgateway-ha',
                                groups: ['smbgateway'],
                                nodename: nodename,
                            },
                        ];
                        // before the task history, else at the end
                        let at = items.findIndex((i) => i && i.itemId === 'tasks');
                        items.splice(at === -1 ? items.length : at, 0, ...ours);
                    }
                } catch (err) {
                    console.error(TAG, 'could not add the SMB Gateway panels', err);
                }
                return me.callParent(arguments);
            },
        });
    });
})();
