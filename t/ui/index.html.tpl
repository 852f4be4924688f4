<!DOCTYPE html>
<html>
  <!-- Test page: the script order of pve-manager's www/index.html.tpl (branch stable-8), with GPL
       ExtJS 6.2 from npm and the stand-ins of proxmoxlib.js (/standins/proxmox.js) and pvemanagerlib.js (served from
       t/ui/standins/pve.js), and a test workspace (/standins/workspace.js).
       run.sh copies it and applies www/ui-hook to the copy, as the package does to the real one;
       the template's [% ... %] placeholders stay as they are (the test never renders them). -->
  <head>
    <meta http-equiv="Content-Type" content="text/html; charset=utf-8" />
    <title>[% nodename %] - Proxmox Virtual Environment</title>
    <link rel="stylesheet" type="text/css" href="/ext/classic/theme-crisp/resources/theme-crisp-all.css" />
    <link rel="stylesheet" type="text/css" href="/ext/packages/charts/classic/crisp/resources/charts-all.css" />
    <link rel="stylesheet" type="text/css" href="/ext/packages/font-awesome/resources/font-awesome-all.css" />
    <script type='text/javascript'>function gettext(buf) { return buf; }</script>
    <script type="text/javascript" src="/ext/ext-all.js"></script>
    <script type="text/javascript" src="/ext/classic/theme-crisp/theme-crisp.js"></script>
    <script type="text/javascript" src="/ext/packages/charts/classic/charts.js"></script>
    <script type="text/javascript">
    Proxmox = {
	Setup: { auth_cookie_name: 'PVEAuthCookie' },
	defaultLang: 'en',
	NodeName: 'pve1',
	UserName: 'root@pam',
	CSRFPreventionToken: 'test',
	ConsentText: ''
    };
    </script>
    <script type="text/javascript" src="/standins/proxmox.js"></script>
    <script type="text/javascript" src="/standins/workspace.js"></script>
    <script type="text/javascript" src="/pve2/js/pvemanagerlib.js?ver=[% version %]"></script>

    <script type="text/javascript">
    if (typeof(PVE) === 'undefined') PVE = {};
    Ext.onReady(function() { Ext.create('SMBGatewayTest.Workspace');});
    </script>

  </head>
  <body>
  </body>
</html>
