// SMBGateway.Schema: the limits and defaults of the fields, from the API's own schema
// (GET /nodes/{node}/smbgateway/schema: one PVE::JSONSchema `properties` object per operation,
// share, guest, ad-join, ad-test, ad-leave, ha-setup, ...; the core's crates/core/src/schema.rs is
// their source), so no panel repeats a range, a length or a default. A panel loads it once and
// applies one operation's properties to its fields (its windows get the panel's copy, or read it
// when opened on their own); without it (an API that has no schema yet)
// the fields have no limits of their own and the API's checks alone stand.
// Part of pve-smbgateway.js (www/Makefile).
Ext.define('SMBGateway.Schema', {
    singleton: true,

    // callback(schema) with the API's object, or callback(null) when it could not be read
    load: function (nodename, waitMsgTarget, callback) {
        Proxmox.Utils.API2Request({
            url: SMBGateway.Utils.baseUrl(nodename) + '/schema',
            method: 'GET',
            waitMsgTarget: waitMsgTarget,
            failure: function (response) {
                console.warn(TAG, 'no schema from the API; the fields have no limits of their own:', response.htmlStatus);
                callback(null);
            },
            success: (response) => callback(response.result.data || null),
        });
    },

    // callback(schema) for a window: the schema it was given (its panel's), else read now; not
    // called once the window is gone
    whenLoaded: function (win, callback) {
        if (win.schema) {
            callback(win.schema);
            return;
        }
        SMBGateway.Schema.load(win.nodename, win, (schema) => {
            if (!win.isDestroyed) {
                win.schema = schema;
                callback(schema);
            }
        });
    },

    // the properties of one operation ('share', 'guest', 'ad-join', ...), {} if there are none
    propertiesOf: function (schema, operation) {
        return (schema && schema[operation] && schema[operation].properties) || {};
    },

    // put the properties' limits on the form fields below `container` that have their names;
    // with `withDefaults` (a create form) an untouched field also takes the default. A number
    // field's range message is its smbgwRangeText ('{0}' min, '{1}' max) or a plain one.
    apply: function (container, properties, withDefaults) {
        container.query('field[name]').forEach(function (field) {
            let p = properties[field.name];
            if (!p || field.isXType('displayfield') || field.isRadio) {
                return;
            }
            if (p.type === 'integer' || p.type === 'number') {
                if (Ext.isFunction(field.setMinValue)) {
                    let text = Ext.String.format(field.smbgwRangeText || gt('a number from {0} to {1}'), p.minimum, p.maximum);
                    if (p.minimum !== undefined) {
                        field.setMinValue(p.minimum);
                        field.minText = text;
                    }
                    if (p.maximum !== undefined) {
                        field.setMaxValue(p.maximum);
                        field.maxText = text;
                    }
                }
            } else if (p.maxLength !== undefined && field.isXType('textfield')) {
                field.maxLength = p.maxLength;
            }
            if (p.default !== undefined) {
                field.smbgwDefault = p.default;
                if (withDefaults && !field.isDirty()) {
                    field.setValue(field.isXType('checkbox') ? !!Number(p.default) : p.default);
                    field.resetOriginalValue();
                }
            }
            // a value typed before the schema came is checked against the limits now
            if (field.getValue() !== null && field.getValue() !== '') {
                field.validate();
            }
        });
    },
});
