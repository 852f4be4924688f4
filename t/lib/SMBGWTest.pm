package SMBGWTest;

# What the t/*.t tests that call the API the way pvedaemon does share: a sandbox for the gateway
# (its root, the stand-in task directory, a free SMB port), the node API mounted on the
# stand-ins of PVE's REST layer (t/lib/PVE) with an auditor and an admin, and the CLI's JSON to
# compare with. Test code only: the stand-ins themselves stay in t/lib/PVE.

use strict;
use warnings;

use File::Temp qw(tempdir);
use IO::Socket::INET;
use JSON::PP;

# A temp dir (removed at exit) holding the gateway's sandbox root (PVE_SMBGW_ROOT) and the
# stand-in tasks; with smb_port => 1 a free loopback port for the sandbox's smbd. Its path.
sub sandbox {
    my ($name, %opt) = @_;
    my $dir = tempdir("smbgw-$name.XXXXXX", TMPDIR => 1, CLEANUP => 1);
    # smbd works as the share users below it
    chmod 0755, $dir;
    $ENV{PVE_SMBGW_ROOT} = "$dir/root";
    if ($opt{smb_port}) {
        my $sock = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1', LocalPort => 0)
            or die "no free port: $!\n";
        $ENV{PVE_SMBGW_SMB_PORT} = $sock->sockport;
    }
    $ENV{PVE_STANDIN_TASK_DIR} = "$dir/tasks";
    return $dir;
}

# The gateway's API mounted at /nodes/pve1/smbgateway as pvedaemon mounts it; 'auditor@pve' may
# read (PVEAuditor on /), 'admin@pve' may change the node (Sys.Audit, Sys.Modify). Returns the
# call: ($method, $path below $base, $params, $user (root@pam)) -> ($data, $error).
sub node_api {
    my ($base) = @_;
    require PVE::APIStandin;
    require PVE::API2::SMBGateway;
    PVE::INotify::standin_set_nodename('pve1');
    PVE::APIStandin::mount_node_api('PVE::API2::SMBGateway', 'smbgateway');
    PVE::RPCEnvironment::standin_set_acl({
        'auditor@pve' => { '/' => ['PVEAuditor'] },
        'admin@pve' => { '/nodes/pve1' => ['Sys.Audit', 'Sys.Modify'] },
    });
    my $root = PVE::APIStandin::ROOT();
    return sub {
        my ($method, $path, $params, $user) = @_;
        my $data = eval {
            PVE::APIStandin::call_api($root, $method, "$base$path", $params // {}, user => $user // 'root@pam')
        };
        return ($data, $@);
    };
}

# The CLI's (PVE_SMBGW_BIN) JSON answer to @args; dies when it fails.
sub cli_json {
    my (@args) = @_;
    my $cli = $ENV{PVE_SMBGW_BIN} or die "set PVE_SMBGW_BIN to the built pve-smbgateway\n";
    my $out = `'$cli' @args --output-format json`;
    die "pve-smbgateway @args failed: $?\n" if $?;
    return decode_json($out);
}

1;
