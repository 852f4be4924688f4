// The base of the share's input panels: what the create wizard and the edit window send (create:
// what is set; edit: what changed, emptied fields as 'delete') and how the API's values are shown.
// Part of pve-smbgateway.js (www/Makefile).

Ext.define('SMBGateway.panel.ShareBase', {
    extend: 'Proxmox.panel.InputPanel',
    isCreate: true,

    // create: only what is set (and no checkbox at its schema default); edit: empty fields
    // become 'delete'
    cleanValues: function (values) {
        let me = this;
        let del = [];
        let checkboxDefaults = {};
        me.query('checkbox')
            .filter((c) => c.smbgwDefault !== undefined)
            .forEach((c) => {
                checkboxDefaults[c.name] = Number(c.smbgwDefault);
            });
        Ext.Object.each(values, function (key, value) {
            if (Ext.isArray(value)) {
                value = values[key] = value.join(',');
            }
            if (typeof value === 'string') {
                value = values[key] = value.trim();
            }
            if (value === '' || value === null || value === undefined) {
                delete values[key];
                if (!me.isCreate && key !== 'name') {
                    del.push(key);
                }
            } else if (me.isCreate && checkboxDefaults[key] === Number(value)) {
                delete values[key];
            }
        });
        if (del.length) {
            values.delete = del.join(',');
        }
        return values;
    },

    onGetValues: function (values) {
        return this.cleanValues(values);
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
