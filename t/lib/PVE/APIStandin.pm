# Test-only helper: NOT a mirror of any Proxmox module. It does for one API call what pveproxy and
# pvedaemon do (PVE::APIServer::AnyEvent of pve-http-server, and PVE::HTTPServer's auth_handler and
# rest_handler of pve-manager - read at pve-manager commit 14a22df35955d97dfc1af21e117dc894a29df0c9,
# pve-http-server commit 5c9e4ea773364bdb7ae0e2faec5750fe58129a47), on top of the stand-ins of
# PVE::RESTHandler, PVE::RPCEnvironment, PVE::AccessControl, PVE::INotify and PVE::Cluster.
#
# The API for tests
# -----------------
#   my $data = PVE::APIStandin::call_api($root, $method, $path, \%params, user => 'root@pam');
#       One call of $method ('GET', 'POST', 'PUT', 'DELETE') on $path (relative to $root, e.g.
#       '/nodes/pve1/smbgateway/shares/data') with the given parameters (as a client sends them:
#       the URI's {name} parts come from $path). Returns the method's result (for a method that
#       starts a task: the UPID), or dies with a PVE::Exception whose {code} is the HTTP status and
#       whose {msg}/{errors} are what the client would get:
#         401 "Authentication failed!\n"   unknown/disabled/expired user, unknown or expired
#                                          token (the reason is in {standin_auth_error})
#         501 "Method 'GET /x' not implemented"  no such path/method
#         400 "Parameter verification failed.\n", errors { <param> => <text> }
#                                          schema validation (or a parameter given both in the
#                                          URI and in %params with different values)
#         403 "Permission check failed (<path>, <priv>)\n" etc.   the method's 'permissions'
#         403 "Permission check failed (URI '<path>' not available with API token, need proper
#             ticket.\n)\n"                 a method with allowtoken => 0 called by a token
#         500 <text>                       the method died with a plain error (or a PVE::Exception
#                                          without code); a PVE::Exception keeps its code
#         401 "No ticket\n"               user => undef (no credentials at all)
#       Options: user => 'x@pve' or 'x@pve!token' (default 'root@pam'), client_ip => '127.0.0.1'.
#   my $resp = PVE::APIStandin::call_api_response(same arguments)
#       The response hash instead of dying: { status => 200 | <code>, data, message, errors,
#       info => <method info>, total, changes } - like rest_handler's. A method with
#       proxyto/proxyto_callback whose node is neither 'localhost' nor PVE::INotify::nodename() is
#       not run: { proxy => <ip>, proxynode => <node>, proxy_params } as pveproxy would forward it
#       (the node must be in PVE::Cluster::standin_set_nodelist, else 500 "address lookup for
#       '<node>' did not find any IP address"); call_api dies 501 "stand-in: the call would be
#       proxied to node '<node>' (<ip>)" for those.
#       'protected' methods are run directly, as pvedaemon (root) would after pveproxy forwarded
#       the call to it; $resp->{info}->{protected} tells.
#   my $task = PVE::APIStandin::wait_task($upid, timeout => 60)
#       Waits for a task started (by this process) with fork_worker and returns
#       { upid, status => 'OK' | 'WARNINGS: <n>' | <error text> | 'unexpected status',
#         exitstatus => $?, log => <task log text>, lines => [<log lines>], task => <decoded UPID> }.
#       The log's last line is "TASK OK", "TASK WARNINGS: <n>" or "TASK ERROR: <text>".
#   PVE::APIStandin::task_log($upid)         - the task log's text so far.
#   PVE::APIStandin::ROOT                    - 'PVE::APIStandin::API2', a root API class shaped like
#       pve-manager's PVE::API2 -> 'nodes' (PVE::APIStandin::Nodes) -> '{node}'
#       (PVE::APIStandin::Nodes::Nodeinfo) with nothing else in it.
#   PVE::APIStandin::mount_node_api($class, $subpath)
#       Registers $class at /nodes/{node}/$subpath below ROOT, exactly as pve-manager's
#       PVE::API2::Nodes::Nodeinfo mounts its subclasses:
#         PVE::APIStandin::Nodes::Nodeinfo->register_method({ subclass => $class, path => $subpath });
#       (registering the same path twice dies "duplicate method definition", as in the real one).
#
# What call_api_response does, in the real order: RPCEnvironment init('priv') (only if no
# environment exists yet; an existing one - e.g. 'cli' - is used as it is), set_user(undef),
# set_language('C'), set_client_ip, init_request (reloads standin_set_acl's table);
# authentication (token: token ID syntax, user enabled, token exists and not expired; user: user
# enabled); set_user; find_handler; URI parameters merged with %params; allowtoken;
# check_api2_permissions($info->{permissions}, $user, $params); proxyto; expose_credentials;
# $handler->handle($info, $params); total/changes result attributes; set_user(undef).
package PVE::APIStandin;

use strict;
use warnings;

use PVE::AccessControl;
use PVE::Cluster;
use PVE::Exception qw(raise_param_exc raise_perm_exc);
use PVE::INotify;
use PVE::RESTHandler;
use PVE::RPCEnvironment;
use PVE::UPID;

use constant ROOT => 'PVE::APIStandin::API2';

{
    package PVE::APIStandin::Nodes::Nodeinfo; ## no critic (ProhibitMultiplePackages)
    use base qw(PVE::RESTHandler);
}
{
    package PVE::APIStandin::Nodes; ## no critic (ProhibitMultiplePackages)
    use base qw(PVE::RESTHandler);
    __PACKAGE__->register_method({ subclass => 'PVE::APIStandin::Nodes::Nodeinfo', path => '{node}' });
}
{
    package PVE::APIStandin::Cluster; ## no critic (ProhibitMultiplePackages)
    use base qw(PVE::RESTHandler);
}
{
    package PVE::APIStandin::API2; ## no critic (ProhibitMultiplePackages)
    use base qw(PVE::RESTHandler);
    __PACKAGE__->register_method({ subclass => 'PVE::APIStandin::Nodes', path => 'nodes' });
    __PACKAGE__->register_method({ subclass => 'PVE::APIStandin::Cluster', path => 'cluster' });
}

sub mount_node_api {
    my ($class, $subpath) = @_;
    PVE::APIStandin::Nodes::Nodeinfo->register_method({ subclass => $class, path => $subpath });
}

# /cluster/SUBPATH, as PVE::API2::Cluster registers its subclasses
sub mount_cluster_api {
    my ($class, $subpath) = @_;
    PVE::APIStandin::Cluster->register_method({ subclass => $class, path => $subpath });
}

my sub rpcenv {
    my $env = eval { PVE::RESTEnvironment->get() };
    return $env if $env;
    return PVE::RPCEnvironment->init('priv');
}

# PVE::HTTPServer::auth_handler's checks for a ticket or API token; dies with the reason
my sub authenticate {
    my ($rpcenv, $user) = @_;

    my $cfg = $rpcenv->{user_cfg};
    if (PVE::AccessControl::pve_verify_tokenid($user, 1)) {
        my ($username, $token) = PVE::AccessControl::split_tokenid($user);
        PVE::AccessControl::check_user_enabled($cfg, $username);
        PVE::AccessControl::check_token_exist($cfg, $username, $token);
        my $token_info = $cfg->{users}->{$username}->{tokens}->{$token};
        die "token '$token' access expired\n" if $token_info->{expire} && $token_info->{expire} < time();
        return ($user, 1);
    }
    PVE::AccessControl::check_user_enabled($cfg, $user);
    return ($user, 0);
}

sub call_api_response {
    my ($root, $method, $path, $params, %opts) = @_;

    my $user = exists $opts{user} ? $opts{user} : 'root@pam';
    $params = { %{ $params // {} } };

    my $rpcenv = rpcenv();
    $rpcenv->set_user(undef);
    $rpcenv->set_language('C');
    $rpcenv->set_client_ip($opts{client_ip} // '127.0.0.1');
    $rpcenv->init_request();

    # every API path of ours needs authentication (only a few /access/... ones do not)
    return { status => 401, message => "No ticket\n" } if !defined($user);
    my $is_token = eval { (authenticate($rpcenv, $user))[1] };
    if (my $err = $@) {
        return { status => 401, message => "Authentication failed!\n", standin_auth_error => $err };
    }
    my $auth = { userid => $user, api_token => $is_token };
    $rpcenv->set_user($user);

    my $resp = { status => 501, message => "Method '$method $path' not implemented" };
    my ($handler, $info);
    eval {
        my $uri_param = {};
        ($handler, $info) = $root->find_handler($method, $path, $uri_param);
        return if !$handler || !$info;

        for my $p (sort keys %$params) {
            if (defined($uri_param->{$p}) && $uri_param->{$p} ne $params->{$p}) {
                raise_param_exc({ $p => "duplicate parameter (already defined in URI) with conflicting values!" });
            }
            $uri_param->{$p} = $params->{$p};
        }

        raise_perm_exc("URI '$path' not available with API token, need proper ticket.\n")
            if $auth->{api_token} && !$info->{allowtoken};

        $rpcenv->check_api2_permissions($info->{permissions}, $auth->{userid}, $uri_param);

        if ($info->{proxyto} || $info->{proxyto_callback}) {
            my $node;
            if ($info->{proxyto_callback}) {
                $node = $info->{proxyto_callback}->($rpcenv, $info->{proxyto}, $uri_param);
                die "internal error - proxyto_callback returned nothing\n" if !$node;
            } else {
                $node = $uri_param->{ $info->{proxyto} };
                raise_param_exc({ $info->{proxyto} => "proxyto parameter does not exist" }) if !$node;
            }
            if ($node ne 'localhost' && $node ne PVE::INotify::nodename()) {
                my $remip = PVE::Cluster::remote_node_ip($node);
                die "unable to get remote IP address for node '$node'\n" if !$remip;
                $resp = { proxy => $remip, proxynode => $node, proxy_params => $params, info => $info };
                return;
            }
        }

        $rpcenv->set_credentials($auth) if $info->{expose_credentials};

        $resp = { data => $handler->handle($info, $uri_param), info => $info, status => 200 };

        if (my $count = $rpcenv->get_result_attrib('total')) {
            $resp->{total} = $count;
        }
        if (my $diff = $rpcenv->get_result_attrib('changes')) {
            $resp->{changes} = $diff;
        }
    };
    my $err = $@;

    $rpcenv->set_user(undef);
    $rpcenv->set_credentials(undef);

    if ($err) {
        $resp = { info => $info };
        if (ref($err) eq 'PVE::Exception') {
            $resp->{status} = $err->{code} || 500;
            $resp->{errors} = $err->{errors} if $err->{errors};
            $resp->{message} = $err->{msg};
        } else {
            $resp->{status} = 500;
            $resp->{message} = $err;
        }
    }
    return $resp;
}

sub call_api {
    my $resp = call_api_response(@_);

    if (my $host = $resp->{proxy}) {
        die PVE::Exception->new(
            "stand-in: the call would be proxied to node '$resp->{proxynode}' ($host)\n",
            code => 501,
        );
    }
    return $resp->{data} if $resp->{status} == 200;

    my %exc = (code => $resp->{status});
    $exc{errors} = $resp->{errors} if $resp->{errors};
    $exc{standin_auth_error} = $resp->{standin_auth_error} if $resp->{standin_auth_error};
    die PVE::Exception->new($resp->{message}, %exc);
}

sub task_log {
    my ($upid) = @_;
    my (undef, $filename) = PVE::UPID::decode($upid);
    open(my $fh, '<', $filename) or die "unable to open task log '$filename' - $!\n";
    local $/;
    return scalar(<$fh>) // '';
}

sub wait_task {
    my ($upid, %opts) = @_;

    my $exitstatus = PVE::RESTEnvironment::standin_wait_worker($upid, $opts{timeout} // 60);
    my $log = task_log($upid);
    return {
        upid => $upid,
        task => scalar(PVE::UPID::decode($upid)),
        status => PVE::UPID::read_status($upid),
        exitstatus => $exitstatus,
        log => $log,
        lines => [split(/\n/, $log)],
    };
}

1;
