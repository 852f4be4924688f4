/*
 * Test-only stand-ins of the few Proxmox ExtJS classes and helpers that www/pve-smbgateway.js uses
 * (the real ones, proxmox-widget-toolkit's proxmoxlib.js and pve-manager's pvemanagerlib.js, are not
 * installable here). Written from scratch; names, configs, methods and behaviour mirror
 * proxmox-widget-toolkit 4.x (branch stable-bookworm, src/Utils.js, src/panel/InputPanel.js,
 * src/window/Edit.js, src/window/TaskViewer.js). Only what our code relies on is here:
 *
 *   gettext (index.html defines it, as index.html.tpl does without a language file)
 *   Proxmox.Utils: API2Request (prefixes /api2/extjs, waitMsgTarget masking, success/failure/
 *       callback, response.result / response.htmlStatus, autoErrorAlert), extractRequestError,
 *       format_size, parse_task_upid, format_task_description, override_task_descriptions,
 *       task_desc_table, assemble_field_data, dialog_title, setErrorMask, yesText/noText/...
 *   Proxmox.panel.InputPanel (xtype inputpanel): items / column1+column2 / columnB, onGetValues,
 *       onSetValues, getValues, setValues
 *   Proxmox.window.Edit: url, method, isCreate, subject, autoLoad, load(), submit() (marks the
 *       API's {errors} on the form's fields, like the real one), showTaskViewer, taskDone,
 *       apiCallDone, submit button enabled by validity/dirtiness
 *   Proxmox.window.TaskViewer (xtype proxmoxTaskViewer): upid, taskDone, extraTitle; polls
 *       /api2/json/nodes/<node>/tasks/<upid>/status every second and shows the log
 *       (/api2/extjs/.../log) in an "Output" tab and the status in a "Status" tab.
 */
(function () {

    Ext.ns('Proxmox', 'Proxmox.Utils');

    Ext.define('Proxmox.Utils', {
        singleton: true,

        yesText: gettext('Yes'),
        noText: gettext('No'),
        noneText: gettext('none'),
        unknownText: gettext('Unknown'),
        errorText: gettext('Error'),
        directoryText: gettext('Directory'),

        task_desc_table: {},

        override_task_descriptions: function (extra) {
            for (const [key, value] of Object.entries(extra)) {
                Proxmox.Utils.task_desc_table[key] = value;
            }
        },

        format_task_description: function (type, id) {
            let farray = Proxmox.Utils.task_desc_table[type];
            if (!farray) {
                return id ? type + ' ' + id : type;
            }
            if (Ext.isFunction(farray)) {
                return farray(type, id);
            }
            let [prefix, text] = farray;
            return prefix && id !== undefined ? prefix + ' ' + id + ' - ' + text : text;
        },

        parse_task_upid: function (upid) {
            let m = upid.match(
                /^UPID:([^\s:]+):([0-9A-Fa-f]{8}):([0-9A-Fa-f]{8,9}):(([0-9A-Fa-f]{8,16}):)?([0-9A-Fa-f]{8}):([^:\s]+):([^:\s]*):([^:\s]+):$/,
            );
            if (!m) {
                throw "unable to parse upid '" + upid + "'";
            }
            let task = {
                node: m[1],
                pid: parseInt(m[2], 16),
                pstart: parseInt(m[3], 16),
                starttime: parseInt(m[6], 16),
                type: m[7],
                id: m[8],
                user: m[9],
            };
            task.desc = Proxmox.Utils.format_task_description(task.type, task.id);
            return task;
        },

        format_size: function (size, useSI) {
            let units = useSI ? ['B', 'KB', 'MB', 'GB', 'TB', 'PB'] : ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
            let base = useSI ? 1000 : 1024;
            let i = 0;
            while (size >= base && i < units.length - 1) {
                size /= base;
                i++;
            }
            let decimals = i === 0 ? 0 : 2;
            return size.toFixed(decimals) + ' ' + units[i];
        },

        assemble_field_data: function (values, data) {
            if (!Ext.isObject(data)) {
                return;
            }
            Ext.Object.each(data, function (name, val) {
                if (Object.prototype.hasOwnProperty.call(values, name)) {
                    let bucket = values[name];
                    if (!Ext.isArray(bucket)) {
                        bucket = values[name] = [bucket];
                    }
                    if (Ext.isArray(val)) {
                        values[name] = bucket.concat(val);
                    } else {
                        bucket.push(val);
                    }
                } else {
                    values[name] = val;
                }
            });
        },

        dialog_title: function (subject, create, isAdd) {
            if (create) {
                return (isAdd ? gettext('Add') : gettext('Create')) + ': ' + subject;
            }
            return gettext('Edit') + ': ' + subject;
        },

        setErrorMask: function (comp, msg) {
            let el = comp.el;
            if (!el) {
                return;
            }
            if (!msg) {
                el.unmask();
            } else if (msg === true) {
                el.mask(gettext('Loading...'));
            } else {
                el.mask(msg);
            }
        },

        extractRequestError: function (result, verbose) {
            let msg = gettext('Successful');
            if (!result.success) {
                msg = gettext('Unknown error');
                if (result.message) {
                    msg = Ext.htmlEncode(result.message);
                    if (result.status) {
                        msg += ` (${result.status})`;
                    }
                }
                if (verbose && Ext.isObject(result.errors)) {
                    msg += '<br>';
                    Ext.Object.each(result.errors, (prop, desc) => {
                        msg += `<br><b>${Ext.htmlEncode(prop)}</b>: ${Ext.htmlEncode(desc)}`;
                    });
                }
            }
            return msg;
        },

        API2Request: function (reqOpts) {
            let newopts = Ext.apply({ waitMsg: gettext('Please wait...') }, reqOpts);
            let autoErrorAlert =
                reqOpts.autoErrorAlert ??
                (typeof reqOpts.failure !== 'function' && typeof reqOpts.callback !== 'function');
            if (!newopts.url.match(/^\/api2/)) {
                newopts.url = '/api2/extjs' + newopts.url;
            }
            delete newopts.callback;
            let unmask = (target) => {
                if (target.waitMsgTargetCount === undefined || --target.waitMsgTargetCount <= 0) {
                    target.setLoading(false);
                    delete target.waitMsgTargetCount;
                }
            };
            let successFn = reqOpts.success,
                callbackFn = reqOpts.callback,
                failureFn = reqOpts.failure;
            Ext.apply(newopts, {
                success: function (response, options) {
                    if (options.waitMsgTarget) {
                        unmask(options.waitMsgTarget);
                    }
                    let result = Ext.decode(response.responseText);
                    response.result = result;
                    if (!result.success) {
                        response.htmlStatus = Proxmox.Utils.extractRequestError(result, true);
                        Ext.callback(callbackFn, options.scope, [options, false, response]);
                        Ext.callback(failureFn, options.scope, [response, options]);
                        if (autoErrorAlert) {
                            Ext.Msg.alert(gettext('Error'), response.htmlStatus);
                        }
                        return;
                    }
                    Ext.callback(callbackFn, options.scope, [options, true, response]);
                    Ext.callback(successFn, options.scope, [response, options]);
                },
                failure: function (response, options) {
                    if (options.waitMsgTarget) {
                        unmask(options.waitMsgTarget);
                    }
                    response.result = {};
                    try {
                        response.result = Ext.decode(response.responseText);
                    } catch (_e) {
                        // ignore
                    }
                    let msg = gettext('Connection error') + ' - server offline?';
                    if (response.status && response.statusText) {
                        msg = gettext('Connection error') + ' ' + response.status + ': ' + response.statusText;
                    }
                    response.htmlStatus = Ext.htmlEncode(msg);
                    Ext.callback(callbackFn, options.scope, [options, false, response]);
                    Ext.callback(failureFn, options.scope, [response, options]);
                },
            });
            let target = newopts.waitMsgTarget;
            if (target) {
                target.waitMsgTargetCount = (target.waitMsgTargetCount ?? 0) + 1;
                if (target.rendered) {
                    target.setLoading(newopts.waitMsg);
                }
            }
            Ext.Ajax.request(newopts);
        },
    });

    Ext.define('Proxmox.panel.InputPanel', {
        extend: 'Ext.panel.Panel',
        alias: ['widget.inputpanel'],
        border: false,
        onlineHelp: undefined,
        hasAdvanced: false,

        onGetValues: function (values) {
            return values;
        },

        getValues: function (dirtyOnly) {
            let me = this;
            if (Ext.isFunction(me.onGetValues)) {
                dirtyOnly = false;
            }
            let values = {};
            Ext.Array.each(me.query('[isFormField]'), function (field) {
                if (!dirtyOnly || field.isDirty()) {
                    Proxmox.Utils.assemble_field_data(values, field.getSubmitData());
                }
            });
            return me.onGetValues(values);
        },

        onSetValues: function (values) {
            return values;
        },

        setValues: function (values) {
            let me = this;
            let form = me.up('form');
            values = me.onSetValues(values);
            Ext.iterate(values, function (fieldId, val) {
                for (const field of me.query('[isFormField][name=' + fieldId + ']')) {
                    field.setValue(val);
                    if (form && form.trackResetOnLoad) {
                        field.resetOriginalValue();
                    }
                }
            });
        },

        initComponent: function () {
            let me = this;
            let items;
            if (me.items) {
                items = [{ layout: 'anchor', items: me.items }];
                me.items = undefined;
            } else if (me.column1) {
                items = [];
                if (me.columnT) {
                    items.push({ padding: '0 0 10 0', layout: 'anchor', items: me.columnT });
                }
                items.push({
                    layout: 'hbox',
                    defaults: { border: false, layout: 'anchor', flex: 1 },
                    items: [
                        { padding: '0 10 0 0', items: me.column1 },
                        { padding: '0 0 0 10', items: me.column2 || [] },
                    ],
                });
                if (me.columnB) {
                    items.push({ padding: '10 0 0 0', layout: 'anchor', items: me.columnB });
                }
            } else {
                throw 'unsupported config';
            }
            if (me.advancedColumn1 || me.advancedColumn2) {
                me.hasAdvanced = true;
                items.push({
                    xtype: 'container',
                    itemId: 'advancedContainer',
                    items: [
                        {
                            layout: 'hbox',
                            defaults: { border: false, layout: 'anchor', flex: 1 },
                            items: [
                                { padding: '0 10 0 0', items: me.advancedColumn1 || [] },
                                { padding: '0 0 0 10', items: me.advancedColumn2 || [] },
                            ],
                        },
                    ],
                });
                me.advancedColumn1 = me.advancedColumn2 = undefined;
            }
            Ext.apply(me, {
                layout: { type: 'vbox', align: 'stretch' },
                defaultType: 'container',
                items: items,
            });
            me.callParent();
        },
    });

    Ext.define('Proxmox.window.Edit', {
        extend: 'Ext.window.Window',
        alias: 'widget.proxmoxWindowEdit',

        autoLoad: false,
        extraRequestParams: {},
        resizable: false,
        subject: undefined,
        isCreate: false,
        isAdd: false,
        showReset: true,
        submitText: undefined,
        submitUrl: Ext.identityFn,
        loadUrl: Ext.identityFn,
        referenceHolder: true,
        defaultButton: 'submitbutton',
        showProgress: false,
        showTaskViewer: false,
        taskDone: Ext.emptyFn,
        apiCallDone: Ext.emptyFn,

        isValid: function () {
            return this.formPanel.getForm().isValid();
        },

        getValues: function (dirtyOnly) {
            let me = this;
            let values = Ext.apply({}, me.extraRequestParams);
            let form = me.formPanel.getForm();
            form.getFields().each(function (field) {
                if (!field.up('inputpanel') && (!dirtyOnly || field.isDirty())) {
                    Proxmox.Utils.assemble_field_data(values, field.getSubmitData());
                }
            });
            Ext.Array.each(me.query('inputpanel'), function (panel) {
                Proxmox.Utils.assemble_field_data(values, panel.getValues(dirtyOnly));
            });
            return values;
        },

        setValues: function (values) {
            let me = this;
            let form = me.formPanel.getForm();
            Ext.iterate(values, function (id, val) {
                form.getFields()
                    .filterBy((f) => (f.id === id || f.name === id) && !f.up('inputpanel'))
                    .each((field) => {
                        field.setValue(val);
                        if (form.trackResetOnLoad) {
                            field.resetOriginalValue();
                        }
                    });
            });
            Ext.Array.each(me.query('inputpanel'), (panel) => panel.setValues(values));
        },

        submit: function () {
            let me = this;
            let form = me.formPanel.getForm();
            let values = me.getValues();
            Ext.Object.each(values, function (name, val) {
                if (Ext.isArray(val) && !val.length) {
                    values[name] = '';
                }
            });
            if (me.digest) {
                values.digest = me.digest;
            }
            let url = Ext.isFunction(me.submitUrl) ? me.submitUrl(me.url, values) : me.submitUrl || me.url;
            if (me.method === 'DELETE') {
                url = url + '?' + Ext.Object.toQueryString(values);
                values = undefined;
            }
            Proxmox.Utils.API2Request({
                url: url,
                waitMsgTarget: me,
                method: me.method || 'PUT',
                params: values,
                failure: function (response, options) {
                    me.apiCallDone(false, response, options);
                    if (response.result && response.result.errors) {
                        form.markInvalid(response.result.errors);
                    }
                    Ext.Msg.alert(gettext('Error'), response.htmlStatus);
                },
                success: function (response, options) {
                    let hasProgressBar = (me.showProgress || me.showTaskViewer) && response.result.data;
                    me.apiCallDone(true, response, options);
                    if (hasProgressBar) {
                        me.hide();
                        Ext.create('Proxmox.window.TaskViewer', {
                            autoShow: true,
                            upid: response.result.data,
                            taskDone: me.taskDone,
                            listeners: {
                                destroy: function () {
                                    me.close();
                                },
                            },
                        });
                    } else {
                        me.close();
                    }
                },
            });
        },

        load: function (options) {
            let me = this;
            let form = me.formPanel.getForm();
            options = options || {};
            let newopts = Ext.apply({ waitMsgTarget: me }, options);
            let url = Ext.isFunction(me.loadUrl) ? me.loadUrl(me.url, me.initialConfig) : me.loadUrl || me.url;
            let successFn = options.success;
            Ext.apply(newopts, {
                url: url,
                method: 'GET',
                success: function (response, opts) {
                    form.clearInvalid();
                    me.digest = response.result?.digest || response.result?.data?.digest;
                    if (successFn) {
                        successFn(response, opts);
                    } else {
                        me.setValues(response.result.data);
                    }
                },
                failure: function (response) {
                    Ext.Msg.alert(gettext('Error'), response.htmlStatus, () => me.close());
                },
            });
            Proxmox.Utils.API2Request(newopts);
        },

        initComponent: function () {
            let me = this;
            if (!me.url && (me.submitUrl === Ext.identityFn || me.loadUrl === Ext.identityFn)) {
                throw "neither 'url' nor both, submitUrl and loadUrl specified";
            }
            let items = Ext.isArray(me.items) ? me.items : [me.items];
            me.items = undefined;
            me.formPanel = Ext.create('Ext.form.Panel', {
                url: me.url,
                method: me.method || 'PUT',
                trackResetOnLoad: true,
                bodyPadding: me.bodyPadding !== undefined ? me.bodyPadding : 10,
                border: false,
                defaults: Ext.apply({}, me.defaults, { border: false }),
                fieldDefaults: Ext.apply({}, me.fieldDefaults, { labelWidth: 100, anchor: '100%' }),
                items: items,
            });
            let inputPanel = me.formPanel.down('inputpanel');
            let form = me.formPanel.getForm();
            let submitText = me.isCreate
                ? me.submitText || (me.isAdd ? gettext('Add') : gettext('Create'))
                : me.submitText || gettext('OK');
            let submitBtn = Ext.create('Ext.Button', {
                reference: 'submitbutton',
                text: submitText,
                disabled: !me.isCreate,
                handler: () => me.submit(),
            });
            let setButtonStatus = function () {
                submitBtn.setDisabled(!form.isValid() || !(form.isDirty() || me.isCreate));
            };
            form.on('dirtychange', setButtonStatus);
            form.on('validitychange', setButtonStatus);
            let twoColumn = inputPanel && (inputPanel.column1 || inputPanel.column2);
            if (me.subject && !me.title) {
                me.title = Proxmox.Utils.dialog_title(me.subject, me.isCreate, me.isAdd);
            }
            me.buttons = [submitBtn];
            if (!me.isCreate && me.showReset) {
                me.buttons.push({ text: gettext('Reset'), handler: () => form.reset() });
            }
            Ext.applyIf(me, {
                modal: true,
                width: twoColumn ? 600 : 300,
                border: false,
                items: [me.formPanel],
            });
            me.callParent();
            if (me.autoLoad) {
                me.load(me.autoLoadOptions);
            }
        },
    });

    Ext.define('Proxmox.window.TaskViewer', {
        extend: 'Ext.window.Window',
        alias: 'widget.proxmoxTaskViewer',

        extraTitle: '',
        taskDone: Ext.emptyFn,

        initComponent: function () {
            let me = this;
            if (!me.upid) {
                throw 'no task specified';
            }
            let task = Proxmox.Utils.parse_task_upid(me.upid);
            let base = `/api2/json/nodes/${task.node}/tasks/${encodeURIComponent(me.upid)}`;

            let statusPanel = Ext.create('Ext.panel.Panel', {
                title: gettext('Status'),
                itemId: 'status',
                bodyPadding: 10,
                scrollable: true,
                html: gettext('Loading...'),
            });
            let logPanel = Ext.create('Ext.panel.Panel', {
                title: gettext('Output'),
                itemId: 'output',
                scrollable: true,
                bodyPadding: 5,
                bodyStyle: 'font-family: monospace; white-space: pre;',
                html: '',
            });

            let stopped = false;
            let poll = function () {
                Ext.Ajax.request({
                    url: base + '/log?start=0&limit=500',
                    success: (resp) => {
                        let lines = Ext.decode(resp.responseText).data || [];
                        if (!logPanel.isDestroyed) {
                            logPanel.update(
                                lines.map((l) => `<div class="pmx-task-log-line">${Ext.htmlEncode(l.t)}</div>`).join(''),
                            );
                        }
                    },
                });
                Ext.Ajax.request({
                    url: base + '/status',
                    success: (resp) => {
                        if (me.isDestroyed || stopped) {
                            return;
                        }
                        let s = Ext.decode(resp.responseText).data;
                        let text = s.status === 'stopped' ? `stopped: ${s.exitstatus}` : s.status;
                        statusPanel.update(
                            `<table class="pmx-task-status">` +
                                [
                                    [gettext('Status'), text],
                                    [gettext('Task type'), s.type],
                                    [gettext('User name'), s.user],
                                    [gettext('Node'), s.node],
                                    ['UPID', me.upid],
                                ]
                                    .map(([k, v]) => `<tr><td><b>${k}</b></td><td>${Ext.htmlEncode(v)}</td></tr>`)
                                    .join('') +
                                `</table>`,
                        );
                        me.taskStatus = s;
                        if (s.status === 'stopped') {
                            stopped = true;
                            runner.stop(pollTask);
                            // one more log read, the end of the log is there now
                            Ext.defer(poll, 10);
                            me.taskDone(s.exitstatus === 'OK');
                            me.fireEvent('smbgwTaskStopped', me, s);
                        }
                    },
                });
            };
            let runner = new Ext.util.TaskRunner();
            let pollTask = { run: poll, interval: 1000 };
            me.on('destroy', () => runner.destroy());

            Ext.apply(me, {
                title: Ext.htmlEncode('Task viewer: ' + task.desc + me.extraTitle),
                width: 800,
                height: 500,
                layout: 'fit',
                modal: true,
                items: [{ xtype: 'tabpanel', items: [logPanel, statusPanel] }],
            });
            me.callParent();
            runner.start(pollTask);
        },
    });
})();
