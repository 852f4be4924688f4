// Share step "Container" / "Virtual machine" (modes lxc and vm only).
// Part of pve-smbgateway.js (www/Makefile).

// the container or VM of an lxc or vm share; fixed once it is made, so shown read-only
// on edit, except memory and cores (pct set applies them at once, qm set at the
// reboot). Limits and defaults are the API's schema (SMBGateway.Schema).
Ext.define('SMBGateway.panel.ShareGuest', {
    extend: 'SMBGateway.panel.ShareBase',
    alias: 'widget.smbgwShareGuest',
    title: gt('Container'),
    itemId: 'guest',

    // the core's formats of the guest properties (crates/core/src/guest.rs), as regexes: never
    // stricter than the core, which checks them again (and has the last word)
    formats: (function () {
        const IPV4 = '(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)(\\.(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)){3}';
        return {
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
    })(),

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
        // ranges and defaults: SMBGateway.Schema, from the API; a range in MiB says so
        let number = (modes, name, label, extra) => field(modes, 'numberfield', name, label, Ext.apply({ allowDecimals: false }, extra));
        let mib = { smbgwRangeText: gt('MiB from {0} to {1}') };
        let nextFree = { emptyText: gt('next free') };
        me.column1 = [
            number(lxc, 'ct-id', gt('CT ID'), nextFree),
            number(lxc, 'ct-memory', gt('Memory (MiB)'), mib),
            field(lxc, 'textfield', 'ct-storage', gt('Storage'), me.formats.storage),
            number(vm, 'vm-id', gt('VM ID'), nextFree),
            number(vm, 'vm-template', gt('Template VM ID')),
            number(vm, 'vm-memory', gt('Memory (MiB)'), mib),
            number(vm, 'vm-cores', gt('Cores')),
            field(vm, 'textfield', 'vm-storage', gt('Storage'), me.formats.storage),
        ];
        me.column2 = [
            field(both, 'textfield', 'bridge', gt('Bridge'), me.formats.bridge),
            field(both, 'textfield', 'ip', gt('IPv4/CIDR'), me.formats.ip),
            field(both, 'textfield', 'gateway', gt('Gateway (IPv4)'), Ext.apply({ emptyText: gt('none') }, me.formats.gateway)),
        ];
        me.columnB = [
            field(
                lxc,
                'textfield',
                'ct-template',
                gt('Template'),
                me.formats.template,
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
