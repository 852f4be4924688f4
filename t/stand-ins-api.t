#!/usr/bin/perl
# The REST layer stand-ins under t/lib (PVE::RESTHandler, PVE::RESTEnvironment, PVE::RPCEnvironment,
# PVE::AccessControl, PVE::UPID, PVE::INotify, PVE::Cluster) and the test helper PVE::APIStandin
# behave like pveproxy/pvedaemon for one API call: method registration and lookup, parameter
# validation (400 with per-parameter errors), permission checks (403, API tokens with privilege
# separation), tasks (UPID, task log ending "TASK OK" / "TASK ERROR: ...").
# Run: prove -I t/lib t/stand-ins-api.t
use strict;
use warnings;

use Test::More;

BEGIN { $ENV{PVE_STORAGE_CUSTOM_LIB} = '' } # hermetic, should anything load PVE::Storage

BEGIN {
    use_ok('PVE::JSONSchema');
    use_ok('PVE::RESTHandler');
    use_ok('PVE::RESTEnvironment', qw(log_warn));
    use_ok('PVE::RPCEnvironment');
    use_ok('PVE::AccessControl');
    use_ok('PVE::INotify');
    use_ok('PVE::Cluster');
    use_ok('PVE::UPID');
    use_ok('PVE::Tools');
    use_ok('PVE::APIStandin');
}

PVE::INotify::standin_set_nodename('pve1');

# ---- a throw-away API class, shaped like an API module of ours -------------------------------

{
    package PVE::API2::StandinTest; ## no critic (ProhibitMultiplePackages)

    use strict;
    use warnings;

    use PVE::JSONSchema qw(get_standard_option);
    use PVE::RESTEnvironment qw(log_warn);
    use PVE::RPCEnvironment;

    use base qw(PVE::RESTHandler);

    __PACKAGE__->register_method({
        name => 'status',
        path => 'status',
        method => 'GET',
        description => "Read something.",
        permissions => { check => ['perm', '/nodes/{node}', ['Sys.Audit']] },
        proxyto => 'node',
        parameters => {
            additionalProperties => 0,
            properties => {
                node => get_standard_option('pve-node'),
                count => { type => 'integer', minimum => 1, maximum => 10, optional => 1 },
                verbose => { type => 'boolean', optional => 1 },
                names => { type => 'string', format => 'pve-configid-list', optional => 1 },
            },
        },
        returns => { type => 'object' },
        code => sub {
            my ($param) = @_;
            return { node => $param->{node}, count => $param->{count} // 1, names => $param->{names} };
        },
    });

    __PACKAGE__->register_method({
        name => 'read_item',
        path => 'items/{name}',
        method => 'GET',
        description => "Read one item.",
        permissions => { check => ['perm', '/nodes/{node}', ['Sys.Audit']] },
        parameters => {
            additionalProperties => 0,
            properties => {
                node => get_standard_option('pve-node'),
                name => { type => 'string', format => 'pve-configid' },
            },
        },
        returns => { type => 'object' },
        code => sub {
            my ($param) = @_;
            return { name => $param->{name} };
        },
    });

    __PACKAGE__->register_method({
        name => 'run',
        path => 'run',
        method => 'POST',
        description => "Change something, as a task.",
        permissions => { check => ['perm', '/nodes/{node}', ['Sys.Modify']] },
        protected => 1,
        proxyto => 'node',
        parameters => {
            additionalProperties => 0,
            properties => {
                node => get_standard_option('pve-node'),
                fail => { type => 'boolean', optional => 1 },
                warn => { type => 'boolean', optional => 1 },
                message => { type => 'string', maxLength => 20, optional => 1 },
            },
        },
        returns => { type => 'string', description => "Task UPID." },
        code => sub {
            my ($param) = @_;
            my $rpcenv = PVE::RPCEnvironment::get();
            my $user = $rpcenv->get_user();
            return $rpcenv->fork_worker('standintest', 'x', $user, sub {
                print "working on $param->{node}\n";
                print "message: $param->{message}\n" if defined($param->{message});
                print "worker: ", (PVE::RESTEnvironment->is_worker() ? 'yes' : 'no'), "\n";
                log_warn("careful") if $param->{warn};
                die "it broke\nbadly\n" if $param->{fail};
            });
        },
    });

    __PACKAGE__->register_method({
        name => 'ticket_only',
        path => 'ticket-only',
        method => 'GET',
        description => "Not for API tokens.",
        permissions => { user => 'all' },
        allowtoken => 0,
        parameters => { additionalProperties => 0, properties => { node => get_standard_option('pve-node') } },
        returns => { type => 'null' },
        code => sub { return undef },
    });
}

my $ROOT = PVE::APIStandin::ROOT;
PVE::APIStandin::mount_node_api('PVE::API2::StandinTest', 'standintest');

PVE::RPCEnvironment::standin_set_acl(
    {
        'auditor@pve' => { '/' => ['PVEAuditor'] },
        'auditor@pve!wide' => { '/' => ['Administrator'] },
        'admin@pve' => { '/nodes/pve1' => ['Sys.Audit', 'Sys.Modify'] },
        'admin@pve!ci' => { '/' => ['Sys.Audit'] },
        'pveadmin@pve' => { '/' => ['PVEAdmin'] },
        'narrow@pve' => { '/nodes' => { privs => ['Sys.Audit'], propagate => 0 } },
        'blocked@pve' => { '/' => ['Sys.Audit'], '/nodes/pve1' => ['NoAccess'] },
        '@ops' => { '/nodes' => ['SMBAdmin'] },
    },
    tokens => { 'admin@pve!full' => { privsep => 0 } },
    users => { 'off@pve' => { enable => 0 } },
    groups => { ops => ['op1@pve'] },
    roles => { SMBAdmin => ['Sys.Audit', 'Sys.Modify'] },
);

# call_api, returning ($data, $exception)
sub try_call {
    my @args = @_;
    my $data = eval { PVE::APIStandin::call_api(@args) };
    return ($data, $@);
}

my $UPID_RE = qr/^UPID:pve1:([0-9A-F]{8}):([0-9A-F]{8,9}):([0-9A-F]{8}):standintest:x:([^:]+):$/;

subtest 'method definitions are checked by validate_method_schemas (verifyapi)' => sub {
    is(eval { PVE::RESTHandler::validate_method_schemas(); 1 }, 1, 'all registered methods are valid')
        or diag($@);

    my $check = sub {
        my ($info) = @_;
        eval { PVE::JSONSchema::validate_method_info($info) };
        return $@;
    };
    my %base = (
        name => 'x', path => 'x', method => 'GET', description => 'd', code => sub { 1 },
        parameters => { type => 'object', properties => {} }, returns => { type => 'null' },
        match_name => [undef], match_re => ['x'],
    );
    is($check->({%base}), '', 'a complete definition');

    my $err = $check->({ %base, permission => { user => 'all' } });
    isa_ok($err, 'PVE::Exception');
    is($err->{msg}, "internal error - unable to verify method info\n", 'message');
    is($err->{code}, 400, 'code');
    is_deeply($err->{errors},
        { permission => 'property is not defined in schema and the schema does not allow additional properties' },
        'a misspelt key');

    my %no_desc = %base;
    delete $no_desc{description};
    is_deeply($check->(\%no_desc)->{errors}, { description => 'property is missing and it is not optional' },
        'a named method needs a description');
    is_deeply($check->({ %base, method => 'PATCH' })->{errors},
        { method => "value 'PATCH' does not have a value in the enumeration 'GET, POST, PUT, DELETE'" }, 'method');
    is_deeply($check->({ %base, protected => 'yes' })->{errors},
        { protected => "type check ('boolean') failed - got 'yes'" }, 'protected is a boolean');
    is_deeply($check->({ %base, permissions => { user => 'everybody' } })->{errors},
        { 'permissions.user' => "value 'everybody' does not have a value in the enumeration 'all, world'" },
        'permissions.user');
    is_deeply($check->({ %base, permissions => { checks => [] } })->{errors},
        { 'permissions.checks' =>
            'property is not defined in schema and the schema does not allow additional properties' },
        'permissions has only description, user, check');

    $err = $check->({ %base, parameters => { type => 'object', properties => { a => { type => 'strng' } } } });
    is($err->{msg}, "internal error - unable to verify schema\n", 'parameter schemas are checked too');
    like($err->{errors}->{'properties.a.type'}, qr/^value 'strng' does not have a value in the enumeration/,
        'the bad type is named');
};

subtest 'register_method checks what the real one checks' => sub {
    {
        package PVE::API2::StandinBad; ## no critic (ProhibitMultiplePackages)
        use base qw(PVE::RESTHandler);
    }
    my $bad = 'PVE::API2::StandinBad';
    my $ok = { name => 'a', path => 'x/{id}', method => 'GET', code => sub { 1 } };
    is(eval { $bad->register_method($ok); 1 }, 1, 'a first method registers');
    is($ok->{allowtoken}, 1, 'allowtoken defaults to 1');
    is_deeply($ok->{match_name}, [undef, 'id'], 'match_name');
    is_deeply($ok->{match_re}, ['x', '\S+'], 'match_re: {id} matches \S+');

    eval { $bad->register_method({ name => 'b', path => 'x/{id}', method => 'GET', code => sub { 1 } }) };
    is($@, "register method PVE::API2::StandinBad/x/{id} - duplicate method definition\n", 'duplicate method');
    eval { $bad->register_method({ name => 'a', path => 'x/{id}', method => 'PUT', code => sub { 1 } }) };
    is($@, "register method PVE::API2::StandinBad/x/{id} - method name already defined\n", 'duplicate name');
    eval { $bad->register_method({ name => 'c', path => 'x/{other}', method => 'PUT' }) };
    is($@, "register method PVE::API2::StandinBad/x/{other} - found changed regex match name\n",
        'two templates at one level must share the name');
    eval { $bad->register_method({ name => 'd', path => 'x/fixed', method => 'PUT' }) };
    is($@, "register method PVE::API2::StandinBad/x/fixed - path match error - regex and fixed items\n",
        'templates and fixed names do not mix at one level');
    eval { $bad->register_method({ name => 'e', path => '/lead', method => 'PUT' }) };
    is($@, "register method PVE::API2::StandinBad//lead - path compoment has zero length\n", 'leading slash');
    {
        local $SIG{__WARN__} = sub { }; # the real one interpolates the undefined path as well
        eval { $bad->register_method({ name => 'f', method => 'PUT' }) };
    }
    like($@, qr/^register method PVE::API2::StandinBad\/ - no path at \S+ line \d+\.$/, 'no path (no newline)');
    eval { $bad->register_method({ subclass => 'PVE::API2::StandinTest', path => 'x' }) };
    is($@, '', 'a subclass at a fresh path');
    eval { $bad->register_method({ name => 'g', path => 'y', method => 'GET', code => sub { 1 } }) };
    eval { $bad->register_method({ subclass => 'PVE::API2::StandinTest', path => 'y' }) };
    is($@, "register subclass PVE::API2::StandinTest at PVE::API2::StandinBad/y - duplicate method definition"
        . " SUBCLASS and GET\n", 'a subclass where a method is');

    is(PVE::API2::StandinTest->map_method_by_name('status')->{path}, 'status', 'map_method_by_name');
    eval { PVE::API2::StandinTest->map_method_by_name('nope') };
    is($@, "no such method 'PVE::API2::StandinTest::nope'\n", 'unknown method name');
    is_deeply([map { $_->{name} } @{ PVE::API2::StandinTest->method_attributes() }],
        [qw(status read_item run ticket_only)], 'method_attributes in registration order');
};

subtest 'find_handler' => sub {
    my $uri_param = {};
    my $pathmatch;
    my ($class, $info) = $ROOT->find_handler('GET', '/nodes/pve1/standintest/items/data', $uri_param, \$pathmatch);
    is($class, 'PVE::API2::StandinTest', 'handler class');
    is($info->{name}, 'read_item', 'method info');
    is_deeply($uri_param, { node => 'pve1', name => 'data' }, 'URI parameters are filled into the given hash');
    is($pathmatch, '/nodes/{node}/standintest/items/{name}', 'the template path');

    my @res = $ROOT->find_handler('GET', 'nodes//pve1/standintest/status/');
    is($res[1]->{name}, 'status', 'empty fragments are skipped');
    is_deeply([$ROOT->find_handler('DELETE', '/nodes/pve1/standintest/status')], [undef], 'no such method');
    is_deeply([$ROOT->find_handler('GET', '/nodes/pve1/nothing')], [undef], 'no such path');
    is_deeply([$ROOT->find_handler('GET', '/nodes/pve1/standintest/status/more')], [undef],
        'nothing below a leaf');
};

subtest 'handle and AUTOLOAD validate parameters' => sub {
    my $res = PVE::API2::StandinTest->status({ node => 'pve1', count => 3 });
    is_deeply($res, { node => 'pve1', count => 3, names => undef }, 'a method called by name');

    $res = PVE::API2::StandinTest->status({ node => 'pve1', names => ['a1', 'b2'] });
    is($res->{names}, 'a1,b2', "an array for a '-list' format is joined (legacy normalization)");

    eval { PVE::API2::StandinTest->status({ node => 'pve1', count => 11, bogus => 1, verbose => 'yes' }) };
    my $err = $@;
    isa_ok($err, 'PVE::Exception');
    is($err->{code}, 400, 'code 400');
    is($err->{msg}, "Parameter verification failed.\n", 'message');
    is_deeply($err->{errors}, {
        count => 'value must have a maximum value of 10',
        bogus => 'property is not defined in schema and the schema does not allow additional properties',
        verbose => "type check ('boolean') failed - got 'yes'",
    }, 'one error per parameter, with the real texts');
    like("$err", qr/^400 Parameter verification failed\.\n(?:\w+: .+\n){3}\z/, 'stringified');

    eval { PVE::API2::StandinTest->status({}) };
    is_deeply($@->{errors}, { node => 'property is missing and it is not optional' }, 'missing parameter');

    eval { PVE::API2::StandinTest->status({ node => 'pve1', names => 'ok1,-bad' }) };
    is_deeply($@->{errors}, { names => "invalid format - invalid configuration ID '-bad'\n" }, 'list format');
};

subtest 'call_api: success, 400, 401, 501' => sub {
    my ($data, $err) = try_call($ROOT, 'GET', '/nodes/pve1/standintest/status', { count => 2 });
    is($err, '', 'root@pam (the default user) may');
    is_deeply($data, { node => 'pve1', count => 2, names => undef }, 'the result');

    ($data, $err) = try_call($ROOT, 'GET', '/nodes/pve1/standintest/items/my-share', {}, user => 'auditor@pve');
    is_deeply($data, { name => 'my-share' }, 'URI parameters reach the method');

    ($data, $err) = try_call($ROOT, 'GET', '/nodes/pve1/standintest/status', { count => 0 });
    is($err->{code}, 400, 'code 400');
    is_deeply($err->{errors}, { count => 'value must have a minimum value of 1' }, 'field-keyed errors');

    ($data, $err) = try_call($ROOT, 'GET', '/nodes/pve1/standintest/items/-bad', {});
    is_deeply($err->{errors}, { name => "invalid format - invalid configuration ID '-bad'\n" },
        'URI parameters are validated too');
    ($data, $err) = try_call($ROOT, 'GET', '/nodes/bad_node/standintest/status', {});
    is("$err->{code} $err->{msg}", "500 address lookup for 'bad_node' did not find any IP address\n",
        'proxyto is resolved before the parameters are validated (as in pveproxy)');

    ($data, $err) = try_call($ROOT, 'GET', '/nodes/pve1/standintest/items/a1', { name => 'b2' });
    is($err->{code}, 400, 'a parameter given twice');
    is_deeply($err->{errors}, { name => 'duplicate parameter (already defined in URI) with conflicting values!' },
        'with the real message');

    ($data, $err) = try_call($ROOT, 'GET', '/nodes/pve1/standintest/status', {}, user => 'ghost@pve');
    is($err->{code}, 401, 'unknown user: 401');
    is($err->{msg}, "Authentication failed!\n", 'message');
    is($err->{standin_auth_error}, "no such user ('ghost\@pve')\n", 'the reason');
    ($data, $err) = try_call($ROOT, 'GET', '/nodes/pve1/standintest/status', {}, user => 'off@pve');
    is($err->{standin_auth_error}, "user 'off\@pve' is disabled\n", 'disabled user: 401');
    ($data, $err) = try_call($ROOT, 'GET', '/nodes/pve1/standintest/status', {}, user => 'admin@pve!nope');
    is($err->{standin_auth_error}, "no such token 'nope' for user 'admin\@pve'\n", 'unknown token: 401');
    ($data, $err) = try_call($ROOT, 'GET', '/nodes/pve1/standintest/status', {}, user => undef);
    is("$err->{code} $err->{msg}", "401 No ticket\n", 'no credentials');

    ($data, $err) = try_call($ROOT, 'GET', '/nodes/pve1/standintest/nothing', {});
    is($err->{code}, 501, 'unknown path: 501');
    is($err->{msg}, "Method 'GET /nodes/pve1/standintest/nothing' not implemented", 'message');
};

subtest 'call_api: permissions (403) and API tokens' => sub {
    my $get = sub {
        my ($user) = @_;
        return (try_call($ROOT, 'GET', '/nodes/pve1/standintest/status', {}, user => $user))[1];
    };
    my $post = sub {
        my ($user) = @_;
        my ($upid, $err) = try_call($ROOT, 'POST', '/nodes/pve1/standintest/run', {}, user => $user);
        PVE::APIStandin::wait_task($upid) if $upid;
        return $err;
    };
    my $denied = sub {
        my ($err, $text, $what) = @_;
        isa_ok($err, 'PVE::Exception', $what) or return;
        is($err->{code}, 403, "$what: 403");
        is($err->{msg}, "Permission check failed ($text)\n", "$what: message");
    };

    is($get->('auditor@pve'), '', 'PVEAuditor on / (propagating) reads /nodes/pve1');
    $denied->($post->('auditor@pve'), '/nodes/pve1, Sys.Modify', 'PVEAuditor cannot change');
    $denied->($post->('pveadmin@pve'), '/nodes/pve1, Sys.Modify', 'PVEAdmin has no Sys.Modify (root-only)');
    is($post->('admin@pve'), '', 'Sys.Modify on /nodes/pve1');
    is($post->('op1@pve'), '', 'through a group ACL on /nodes with a custom role');
    $denied->($get->('narrow@pve'), '/nodes/pve1, Sys.Audit', 'a non-propagating ACL on /nodes');
    $denied->($get->('blocked@pve'), '/nodes/pve1, Sys.Audit', 'NoAccess deeper down wins');

    is($get->('admin@pve!ci'), '', 'a privsep token with Sys.Audit (its own and its user\'s)');
    $denied->($post->('admin@pve!ci'), '/nodes/pve1, Sys.Modify', 'a privsep token without Sys.Modify');
    $denied->($post->('auditor@pve!wide'), '/nodes/pve1, Sys.Modify',
        'a privsep token never exceeds its user (Administrator ACL, auditor user)');
    is($post->('admin@pve!full'), '', 'a token without privilege separation has its user\'s rights');

    my (undef, $err) = try_call($ROOT, 'GET', '/nodes/pve1/standintest/ticket-only', {}, user => 'admin@pve!full');
    $denied->($err, "URI '/nodes/pve1/standintest/ticket-only' not available with API token, need proper ticket.\n",
        'allowtoken => 0');
    is((try_call($ROOT, 'GET', '/nodes/pve1/standintest/ticket-only', {}, user => 'admin@pve'))[1], '',
        'user => all, with a ticket');
};

subtest 'RPCEnvironment checks directly' => sub {
    my $rpcenv = PVE::RPCEnvironment::get();
    $rpcenv->init_request();

    ok(defined($rpcenv->permissions('root@pam', '/nodes/pve1')->{'Sys.Modify'}), 'root@pam has everything');
    is_deeply([sort keys %{ $rpcenv->permissions('auditor@pve', '/nodes/pve1') }],
        [sort keys %{ PVE::RPCEnvironment::standin_user_cfg()->{roles}->{PVEAuditor} }],
        'the privileges of PVEAuditor');
    is($rpcenv->check('auditor@pve', '/nodes/pve9', ['Sys.Audit']), 1, 'check');
    is($rpcenv->check('auditor@pve', '/nodes/pve9', ['Sys.Audit', 'Sys.Modify'], 1), undef, 'check, noerr');
    eval { $rpcenv->check_any('auditor@pve', '/nodes/pve9', ['Sys.Modify', 'Sys.PowerMgmt']) };
    is($@->{msg}, "Permission check failed (/nodes/pve9, Sys.Modify|Sys.PowerMgmt)\n", 'check_any message');
    is($rpcenv->check_any('auditor@pve', '/', ['Sys.Modify', 'Sys.Audit']), 1, 'check_any');
    eval { $rpcenv->check('auditor@pve', '/', ['Sys.Audti']) };
    is($@, "invalid privilege 'Sys.Audti'\n", 'a misspelt privilege dies');
    is_deeply($rpcenv->permissions('nobody', '/'), {}, 'an invalid user name has nothing');

    my $perm = sub {
        my ($perm, $user, $param) = @_;
        return eval { $rpcenv->check_api2_permissions($perm, $user, $param // { node => 'pve1' }) } // $@;
    };
    is($perm->({ check => ['perm', '/nodes/{node}', ['Sys.Modify', 'Sys.Audit'], any => 1] }, 'auditor@pve'), 1,
        "'perm' with any => 1");
    is($perm->({ check => ['or', ['perm', '/', ['Sys.Modify']], ['perm', '/nodes/{node}', ['Sys.Audit']]] },
        'auditor@pve'), 1, "'or'");
    is($perm->({ check => ['or', ['perm', '/', ['Sys.Modify']], ['perm', '/nodes/{node}', ['Sys.PowerMgmt']]] },
        'auditor@pve')->{msg}, "Permission check failed\n", "'or' fails without details");
    is($perm->({ check => ['and', ['perm', '/', ['Sys.Audit']], ['perm', '/nodes/{node}', ['Sys.Modify']]] },
        'auditor@pve')->{msg}, "Permission check failed (/nodes/pve1, Sys.Modify)\n", "'and' names the failing one");
    is($perm->({ check => ['perm', '/nodes/{node}', ['Sys.Audit']] }, 'narrow@pve', {})->{msg},
        "Permission check failed (/nodes/-, Sys.Audit)\n", 'a missing template parameter becomes -');
    is($perm->({ check => ['perm', '/', ['Sys.Audit'], require_param => 'x'] }, 'auditor@pve')->{msg},
        "Permission check failed\n", 'require_param');
    is($perm->(undef, 'auditor@pve')->{msg}, "Permission check failed (user != root\@pam)\n",
        'no permissions hash: root only');
    is($perm->(undef, 'root@pam'), 1, 'root@pam passes any check');
    is($perm->({ user => 'all' }, 'narrow@pve'), 1, "user => 'all'");
    is($perm->({ description => 'x' }, 'auditor@pve')->{msg}, "Permission check failed\n",
        'a hash without check or user');

    eval { PVE::RESTEnvironment->get()->get_user() };
    is($@, "user name not set\n", 'no user outside a call');
};

subtest 'tasks: UPID and task log' => sub {
    @PVE::Cluster::STANDIN_CLUSTER_LOG = ();
    my $before = time();
    my ($upid, $err) = try_call($ROOT, 'POST', '/nodes/pve1/standintest/run', { message => 'hello' });
    is($err, '', 'started');
    like($upid, $UPID_RE, 'UPID:node:pid:pstart:starttime:type:id:user: with upper-case hex fields');
    my $task = PVE::UPID::decode($upid);
    is($task->{user}, 'root@pam', 'user');
    is($task->{type}, 'standintest', 'type');
    is($task->{id}, 'x', 'id');
    ok($task->{starttime} >= $before && $task->{starttime} <= time(), 'starttime is the epoch');
    is(PVE::UPID::encode($task), $upid, 'encode(decode(upid)) round trip');
    is(PVE::Tools::upid_encode($task), $upid, 'PVE::Tools::upid_encode');
    ok(-e (PVE::UPID::decode($upid))[1], 'the task log exists when fork_worker returns');

    my $res = PVE::APIStandin::wait_task($upid);
    is($res->{status}, 'OK', 'status OK');
    is($res->{exitstatus}, 0, 'exit status 0');
    is($res->{lines}->[-1], 'TASK OK', 'the log ends with TASK OK');
    is_deeply($res->{lines}, ['working on pve1', 'message: hello', 'worker: yes', 'TASK OK'],
        "the worker's output is the task log");
    ok(!PVE::RPCEnvironment::get()->check_worker($upid), 'check_worker: not running any more');
    is_deeply([map { $_->{msg} } @PVE::Cluster::STANDIN_CLUSTER_LOG], ["starting task $upid", "end task $upid OK"],
        'cluster log');

    ($upid) = try_call($ROOT, 'POST', '/nodes/pve1/standintest/run', { fail => 1 }, user => 'admin@pve');
    like($upid, $UPID_RE, 'a failing task');
    is((PVE::UPID::decode($upid))->{user}, 'admin@pve', 'the calling user is in the UPID');
    $res = PVE::APIStandin::wait_task($upid);
    is($res->{lines}->[-1], 'TASK ERROR: it broke badly', 'TASK ERROR: <error with newlines as blanks>');
    is($res->{status}, 'it broke badly', 'read_status gives the error text');
    is($res->{exitstatus} >> 8, 255, 'the worker exits 255 (-1)');
    ok(PVE::UPID::status_is_error($res->{status}), 'status_is_error');

    ($upid) = try_call($ROOT, 'POST', '/nodes/pve1/standintest/run', { warn => 1 });
    $res = PVE::APIStandin::wait_task($upid);
    is($res->{status}, 'WARNINGS: 1', 'a worker that warned');
    is_deeply([@{ $res->{lines} }[-2, -1]], ['WARN: careful', 'TASK WARNINGS: 1'], 'log ends TASK WARNINGS: 1');
    is(PVE::UPID::normalize_status_type($res->{status}), 'warning', 'normalize_status_type');
};

subtest 'proxyto and protected' => sub {
    my $resp = PVE::APIStandin::call_api_response($ROOT, 'GET', '/nodes/pve2/standintest/status', {});
    is($resp->{status}, 500, 'a node outside the cluster');
    is($resp->{message}, "address lookup for 'pve2' did not find any IP address\n", 'message');

    PVE::Cluster::standin_set_nodelist({ pve1 => { ip => '192.0.2.1' }, pve2 => { ip => '192.0.2.2' } });
    $resp = PVE::APIStandin::call_api_response($ROOT, 'GET', '/nodes/pve2/standintest/status', {});
    is($resp->{proxy}, '192.0.2.2', 'another node: proxied, not run');
    is($resp->{proxynode}, 'pve2', 'proxynode');
    my (undef, $err) = try_call($ROOT, 'GET', '/nodes/pve2/standintest/status', {});
    is($err->{code}, 501, 'call_api refuses to pretend');
    $resp = PVE::APIStandin::call_api_response($ROOT, 'GET', '/nodes/localhost/standintest/status', {});
    is($resp->{status}, 200, "'localhost' runs here");
    PVE::Cluster::standin_set_nodelist(undef);

    $resp = PVE::APIStandin::call_api_response($ROOT, 'POST', '/nodes/pve1/standintest/run', {});
    ok($resp->{info}->{protected}, 'a protected method runs (as in pvedaemon)');
    PVE::APIStandin::wait_task($resp->{data});
};

subtest 'api_dump' => sub {
    my $tree = PVE::RESTHandler::api_dump($ROOT);
    my ($nodes) = grep { $_->{text} eq 'nodes' } @$tree;
    my ($node) = @{ $nodes->{children} };
    is($node->{path}, '/nodes/{node}', 'path template');
    my ($ours) = grep { $_->{text} eq 'standintest' } @{ $node->{children} };
    my ($status) = grep { $_->{text} eq 'status' } @{ $ours->{children} };
    is($status->{leaf}, 1, 'a leaf');
    is_deeply($status->{info}->{GET}->{permissions}, { check => ['perm', '/nodes/{node}', ['Sys.Audit']] },
        'permissions are in the dump');
    is($status->{info}->{GET}->{parameters}->{properties}->{count}->{typetext}, '<integer> (1 - 10)',
        'typetext added by api_clone_schema');
    ok(!exists $status->{info}->{GET}->{code}, 'no code in the dump');
};

subtest 'a cli environment runs tasks synchronously' => sub {
    PVE::RESTEnvironment::standin_reset();
    my $rpcenv = PVE::RPCEnvironment->init('cli');
    $rpcenv->init_request();
    $rpcenv->set_user('root@pam');

    my ($out, $errout) = ('', '');
    my ($upid, $res);
    {
        open(my $outfh, '>', \$out) or die;
        open(my $errfh, '>', \$errout) or die;
        local *STDOUT = $outfh;
        local *STDERR = $errfh;
        ($upid, $res) = $rpcenv->fork_worker('standintest', 'x', undef, sub { print "sync output\n"; die "sync failure\n" });
    }
    like($upid, $UPID_RE, 'UPID');
    is($res >> 8, 255, 'returns after the worker ended, with its exit status');
    is($out, "sync output\n", 'the output went to STDOUT');
    is($errout, "sync failure\n", 'the error to STDERR');
    is(PVE::APIStandin::task_log($upid), "sync output\n\nTASK ERROR: sync failure\n", 'and both to the task log');
    is(PVE::UPID::read_status($upid), 'sync failure', 'status');

    eval { PVE::RPCEnvironment->init('cli') };
    like($@, qr/^already initialized at /, 'init twice');
    PVE::RESTEnvironment::standin_reset();
    eval { PVE::RPCEnvironment->init('server') };
    like($@, qr/^unknown environment type at /, 'unknown type');
    PVE::RESTEnvironment::standin_reset();
};

done_testing();
