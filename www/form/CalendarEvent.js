// The schedule field of the snapshot editor: an editable combobox of common calendar events, as
// PVE's backup job editor offers them (pve-manager's PVE.form.CalendarEvent); any other event in
// the same syntax can be typed, the API checks it (the core's smbgw-calendar-event format).
// Part of pve-smbgateway.js (www/Makefile).

Ext.define('SMBGateway.form.CalendarEvent', {
    extend: 'Ext.form.field.ComboBox',
    alias: 'widget.smbgwCalendarEvent',

    editable: true,
    emptyText: gt('Editable'),
    valueField: 'value',
    displayField: 'value',
    queryMode: 'local',
    matchFieldWidth: false,
    // typing is free text: no example is picked by itself (Tab would put it in place of what
    // was typed)
    autoSelect: false,
    listConfig: { minWidth: 360, maxWidth: 450 },

    // every one of these is accepted by the core's parser (t/ui/test.js checks them)
    examples: [
        ['*/15', Ext.String.format(gt('Every {0} minutes'), 15)],
        ['*/30', Ext.String.format(gt('Every {0} minutes'), 30)],
        ['hourly', gt('Every hour')],
        ['*/2:00', gt('Every two hours')],
        ['mon..fri 08..18:00', gt('Monday to Friday') + ', ' + gt('hourly') + ' 08:00 - 18:00'],
        ['daily', gt('Every day') + ' 00:00'],
        ['2,22:30', gt('Every day') + ' 02:30, 22:30'],
        ['mon..fri', gt('Monday to Friday') + ' 00:00'],
        ['sat,sun 12:00', gt('Weekends') + ' 12:00'],
        ['weekly', gt('Every week') + ' (' + gt('Monday') + ' 00:00)'],
    ],

    // the value first, as it is sent; what it means beside it
    tpl: [
        '<ul class="x-list-plain"><tpl for=".">',
        '<li role="option" class="x-boundlist-item"><b>{value:htmlEncode}</b>',
        ' <span class="smbgw-muted">{text:htmlEncode}</span></li>',
        '</tpl></ul>',
    ],

    // a typed event is a change at once, so the edit window's OK button follows it: the
    // combobox can let fast typing pass unchecked while it filters its list
    enableKeyEvents: true,

    initComponent: function () {
        let me = this;
        me.store = Ext.create('Ext.data.Store', {
            fields: ['value', 'text'],
            data: me.examples.map(([value, text]) => ({ value: value, text: text })),
        });
        me.callParent();
        me.on({ keyup: () => me.checkChange(), blur: () => me.checkChange() });
    },
});
