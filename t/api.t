#!/usr/bin/perl
# PVE::API2::SMBGateway mounted at /nodes/{node}/smbgateway and called the way pvedaemon does
# (stand-ins of PVE's REST layer in t/lib), against a real sandbox: the data equals the CLI's,
# changes run as tasks, permissions are enforced, bad input is a 400 naming the field.
use strict;
use warnings;

use File::Temp qw(tempdir);
use IO::Socket::INET;
use JSON::PP;
use Test::More;

BEGIN { $ENV{PVE_STORAGE_CUSTOM_LIB} = '' }

plan skip_all => 'needs root (smbd switches users)' if $> != 0;
my $cli = $ENV{PVE_SMBGW_BIN} or BAIL_OUT('set PVE_SMBGW_BIN to the built pve-smbgateway');

my $dir = tempdir('smbgw-api.XXXXXX', TMPDIR => 1, CLEANUP => 1);
chmod 0755, $dir;
$ENV{PVE_SMBGW_ROOT} = "$dir/root";
$ENV{PVE_SMBGW_SMB_PORT} = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1', LocalPort => 0)->sockport;
$ENV{PVE_STANDIN_TASK_DIR} = "$dir/tasks";
END { system($cli, 'stop') if $cli }

use PVE::APIStandin;
use PVE::API2::SMBGateway;
use PVE::API2::SMBGatewayCluster;

PVE::INotify::standin_set_nodename('pve1');
PVE::APIStandin::mount_node_api('PVE::API2::SMBGateway', 'smbgateway');
PVE::APIStandin::mount_cluster_api('PVE::API2::SMBGatewayCluster', 'smbgateway');
PVE::RPCEnvironment::standin_set_acl({
    'auditor@pve' => { '/' => ['PVEAuditor'] },
    'admin@pve' => { '/nodes/pve1' => ['Sys.Audit', 'Sys.Modify'] },
    'admin@pve!ro' => { '/' => ['Sys.Audit'] },
});
my $ROOT = PVE::APIStandin::ROOT();
my $base = '/nodes/pve1/smbgateway';

sub api {
    my ($method, $path, $params, $user) = @_;
    my $data = eval { PVE::APIStandin::call_api($ROOT, $method, "$base$path", $params // {}, user => $user // 'root@pam') };
    return ($data, $@);
}

sub task_ok {
    my ($upid, $what) = @_;
    my $task = PVE::APIStandin::wait_task($upid);
    is($task->{status}, 'OK', "$what: task OK") or diag($task->{log});
    return $task;
}

eval { PVE::RESTHandler::validate_method_schemas() };
is($@, '', 'the API passes the schema checks of pvesh verifyapi');

my ($index) = api('GET', '');
is_deeply([sort map { $_->{subdir} } @$index], [qw(ad apply discovery io-history schema sessions shares status storages users)], 'index');
my ($list) = api('GET', '/shares');
is_deeply($list, [], 'no shares yet');

# create through a task, as admin
my ($upid, $err) = api('POST', '/shares', { name => 'team', path => "$dir/data/team", comment => 'Team', 'read-only' => 1, 'dry-run' => 1 }, 'admin@pve');
is($err, '', 'dry-run create accepted') or diag($err);
my $task = task_ok($upid, 'dry run');
like($task->{log}, qr/^plan: create share config/m, 'the task log shows the plan');
ok(!-e "$dir/data/team", 'dry run changed nothing');

($upid, $err) = api('POST', '/shares', { name => 'team', path => "$dir/data/team", comment => 'Team', 'read-only' => 1 }, 'admin@pve');
like($upid, qr/^UPID:pve1:[0-9A-F]{8}:[0-9A-F]{8}:[0-9A-F]{8}:smbgwcreate:team:admin\@pve:$/, 'create returns a UPID');
$task = task_ok($upid, 'create');
like($task->{log}, qr{^step \d+/\d+: start smbd}m, 'the task log shows each step as it starts');

# the same data as the CLI (and so as pvesh)
my ($shares) = api('GET', '/shares', {}, 'auditor@pve');
is_deeply($shares, decode_json(`$cli list --output-format json`), 'API list equals CLI json');
my ($share) = api('GET', '/shares/team', {}, 'auditor@pve');
is($share->{comment}, 'Team', 'read a share');
my ($status) = api('GET', '/shares/team/status');
is($status->{shares}->[0]->{state}, 'ok', 'share status');

# update and delete
($upid) = api('PUT', '/shares/team', { 'read-only' => 0, delete => 'comment' }, 'admin@pve');
task_ok($upid, 'update');
($share) = api('GET', '/shares/team');
ok(!exists $share->{comment} && !$share->{'read-only'}, 'updated');

# permissions
(undef, $err) = api('POST', '/shares', { name => 'x', path => "$dir/data/x" }, 'auditor@pve');
is(ref($err) && $err->{code}, 403, 'an auditor may not create');
(undef, $err) = api('DELETE', '/shares/team', {}, 'admin@pve!ro');
is(ref($err) && $err->{code}, 403, 'a token with privilege separation and only Sys.Audit may not delete');
(undef, $err) = api('GET', '/shares', {}, 'nobody@pve');
ok(ref($err) && $err->{code} >= 401, 'an unknown user gets nothing');

# bad input: a 400 naming the field, from the core's own checks
(undef, $err) = api('POST', '/shares', { name => 'x', path => "$dir/data/x", users => 'Bad User' });
is(ref($err) && $err->{code}, 400, 'bad users list is a 400');
like(ref($err) && $err->{errors}->{users}, qr/is not valid/, 'the error names the users field');
(undef, $err) = api('POST', '/shares', { name => 'x', path => "$dir/data/x", options => 'wide links=yes' });
like(ref($err) && $err->{errors}->{options}, qr/not in the allow list/, 'an option outside the allow list is refused');
(undef, $err) = api('POST', '/shares', { name => 'bad/name', path => "$dir/data/x" });
is(ref($err) && $err->{code}, 400, 'a bad name is a 400');
(undef, $err) = api('POST', '/shares', { name => 'x', path => "$dir/data/x", quota => '10' });
ok(ref($err) && $err->{errors}->{quota}, 'a quota without unit is refused by the schema');
(undef, $err) = api('POST', '/shares', { name => 'x', path => "$dir/data/x", 'snapshot-schedule' => '25:00' });
like(ref($err) && $err->{errors}->{'snapshot-schedule'}, qr/hour 25 is out of range/, 'a malformed calendar event is refused on its field by the core\'s format');
(undef, $err) = api('POST', '/shares', { name => 'x', path => "$dir/data/x", 'snapshot-schedule' => 'hourly', 'snapshot-keep' => 'keep-last=0' });
like(ref($err) && $err->{errors}->{'snapshot-keep'}, qr/every snapshot would be deleted/, 'a retention that keeps nothing is refused on its field');

# a change the core refuses is answered before a task starts (planned as a dry run first), with
# the core's message and its status, as PVE checks a request before it forks a worker
($upid, $err) = api('POST', '/shares', { name => 'team', path => "$dir/data/other" }, 'admin@pve');
ok(!defined($upid), 'no task for a refused change');
is(ref($err) && $err->{code}, 400, 'a share that exists: refused at once');
ok(ref($err) && $err->{errors}->{name}, 'on the name field');
like(ref($err) && $err->{msg}, qr/share 'team' already exists/, 'with the core message');
($upid, $err) = api('POST', '/shares', { name => 'rel', path => 'data/rel' }, 'admin@pve');
is(ref($err) && $err->{code}, 400, 'an input error only the core finds (a relative path) is a 400 before the task');
like(ref($err) && $err->{msg}, qr/path/, 'naming the path');
ok(!-e "$dir/root/config/shares.cfg" || !grep({ $_->{name} eq 'rel' } @{ PVE::RS::SMBGateway::list_shares() }), 'nothing created');
(undef, $err) = api('POST', '/shares', { name => 'rel', path => 'data/rel', 'dry-run' => 1 }, 'admin@pve');
is(ref($err) && $err->{code}, 400, 'a dry run is checked the same way');
($upid, $err) = api('DELETE', '/shares/nosuch', {}, 'admin@pve');
like(ref($err) && $err->{msg}, qr/share 'nosuch' does not exist/, 'deleting a missing share is refused at once');

# errors with a code and a field (the core's Error as the bridge hands it over)
is(ref($err) && $err->{code}, 404, 'a missing share is a 404');
(undef, $err) = api('POST', '/shares', { name => 'rel', path => 'data/rel' }, 'admin@pve');
ok(ref($err) && $err->{errors}->{path}, 'the core\'s input error names the path field');

# digests: update and delete take the digest show gave; a stale one is a 409 before any task
ok(exists PVE::API2::SMBGateway->map_method_by_name('update_share')->{parameters}->{properties}->{digest}, 'update takes a digest');
ok(exists PVE::API2::SMBGateway->map_method_by_name('delete_share')->{parameters}->{properties}->{digest}, 'delete takes a digest');
{
    my ($team) = api('GET', '/shares/team');
    like($team->{digest}, qr/^[0-9a-f]{40}$/, 'show gives the digest of the config as read');
    ($upid, $err) = api('PUT', '/shares/team', { comment => 'stale', digest => '0' x 64 }, 'admin@pve');
    is(ref($err) && $err->{code}, 409, 'a stale digest is a 409');
    ($upid, $err) = api('PUT', '/shares/team', { comment => 'fresh', digest => $team->{digest} }, 'admin@pve');
    task_ok($upid, 'the digest read just now is accepted');
    ($team) = api('GET', '/shares/team');
    is($team->{comment}, 'fresh', 'and the change made');
}

# the schema of every operation, for the UI: the core's limits and defaults
my ($schema) = api('GET', '/schema', {}, 'auditor@pve');
is_deeply([sort keys %$schema], [qw(ad-join ad-leave ad-test backup discovery guest ha-failover ha-node ha-setup io-history quota-history sessions share snapshot user)], 'one schema per operation');
is($schema->{guest}->{properties}->{'ct-memory'}->{maximum}, 65536, 'guest limits');
is($schema->{guest}->{properties}->{'vm-cores'}->{default}, 1, 'guest defaults');
is($schema->{'ad-join'}->{properties}->{user}->{default}, 'Administrator', 'AD defaults');
is($schema->{'ha-setup'}->{properties}->{'no-lock'}->{default}, 0, 'booleans as 0/1');
is_deeply(PVE::API2::SMBGateway->map_method_by_name('ad_join')->{parameters}->{properties}->{netbios},
    $schema->{'ad-join'}->{properties}->{netbios}, 'the API takes its AD parameters from the schema');
is_deeply(PVE::API2::SMBGatewayCluster->map_method_by_name('ha_setup')->{parameters}->{properties}->{vip},
    $schema->{'ha-setup'}->{properties}->{vip}, 'and its HA parameters');
is_deeply(PVE::API2::SMBGateway->map_method_by_name('io_history')->{parameters}->{properties}->{hours},
    $schema->{'io-history'}->{properties}->{hours}, 'and how far back io-history looks');
is($schema->{'io-history'}->{properties}->{hours}->{maximum}, 48, 'the hours the history keeps');

# a share name with a space: the UPID escapes it (a UPID field holds no white space)
($upid, $err) = api('POST', '/shares', { name => 'team data', path => "$dir/data/team-data" }, 'admin@pve');
like($upid, qr/:smbgwcreate:team\\x20data:admin\@pve:$/, 'the share name is escaped in the UPID') or diag($err);
task_ok($upid, 'create a share with a space in its name');
(undef, $err) = api('POST', '/shares', { name => 'homes', path => "$dir/data/homes" }, 'admin@pve');
like(ref($err) && $err->{errors}->{name}, qr/reserved/, 'a reserved name is a 400 on the name field');
($upid, $err) = api('DELETE', '/shares/team data', {}, 'admin@pve');
task_ok($upid, 'delete it again');

# a share its users cannot reach (a parent without o+x): created, with PVE's task warning status
mkdir("$dir/private", 0700) or die "mkdir: $!";
chmod 0700, "$dir/private";
($upid, $err) = api('POST', '/shares', { name => 'private', path => "$dir/private/data" }, 'admin@pve');
$task = PVE::APIStandin::wait_task($upid);
is($task->{status}, 'WARNINGS: 1', 'a share under a private directory: the task ends with a warning') or diag($task->{log});
like($task->{log}, qr{^WARN: \Q$dir/private\E is not searchable by other users}m, 'the warning names the directory');
ok(PVE::RS::SMBGateway::show_share({ name => 'private' }), 'the share was created');
($upid) = api('DELETE', '/shares/private', {}, 'admin@pve');
task_ok($upid, 'delete the private share');

# Active Directory: the membership through the same core (a real DC is in crates/cli/tests/ad.rs)
my ($ad) = api('GET', '/ad', {}, 'auditor@pve');
ok(defined($ad) && !$ad->{joined}, 'not joined to a domain');
is_deeply($ad, decode_json(`$cli ad-status --output-format json`), 'API ad status equals CLI json');
(undef, $err) = api('POST', '/ad/join', { domain => 'bad domain', password => 'x' }, 'admin@pve');
is(ref($err) && $err->{code}, 400, 'a bad domain name is a 400');
(undef, $err) = api('POST', '/ad/join', { domain => 'example.com', password => 'x' }, 'auditor@pve');
is(ref($err) && $err->{code}, 403, 'an auditor may not join');
($upid, $err) = api('POST', '/ad/join', { domain => 'example.com', dc => 'dc1;reboot', password => 'x' }, 'admin@pve');
is(ref($err) && $err->{code}, 400, 'a hostile DC name is a 400, before any task');
like(ref($err) && $err->{errors}->{dc}, qr/is not a host name or an IP address/, 'on the dc field, by the core\'s check');
unlike("$err", qr/password|x$/m, 'the error does not carry the password');
($upid) = api('POST', '/ad/leave', {}, 'admin@pve');
$task = PVE::APIStandin::wait_task($upid);
like($task->{status}, qr/not joined to a domain/, 'leaving without a domain is refused');
(undef, $err) = api('POST', '/shares', { name => 'x', path => "$dir/data/x", users => 'EXAMPLE\\alice' }, 'admin@pve');
like(ref($err) && $err->{msg}, qr/not joined to a domain/, 'a domain user passes the schema; the core refuses it at once while the node is not joined');
like(ref($err) && $err->{errors}->{users}, qr/not joined to a domain/, 'on the users field');

# HA: the CTDB cluster through the same core (a real cluster runs in crates/ha/tests/cluster.rs)
my ($ha, $haerr) = eval { (PVE::APIStandin::call_api($ROOT, 'GET', '/cluster/smbgateway/ha', {}, user => 'auditor@pve'), '') };
$haerr = $@ if !defined $ha;
like("$haerr", qr/high availability is not set up/, 'HA status before ha-setup says so');
my $err403 = eval { PVE::APIStandin::call_api($ROOT, 'POST', '/cluster/smbgateway/ha/failover', { vip => '10.0.0.1', node => 'pve1' }, user => 'admin@pve') } ? undef : $@;
is(ref($err403) && $err403->{code}, 403, 'a node admin may not move cluster VIPs');
my $err400 = eval { PVE::APIStandin::call_api($ROOT, 'POST', '/cluster/smbgateway/ha/failover', { vip => 'not-an-ip', node => 'pve1' }) } ? undef : $@;
is(ref($err400) && $err400->{code}, 400, 'a bad VIP is a 400');
my $setup = { vip => '10.99.78.100/24', interface => 'eth0', 'dry-run' => 1 };
$err403 = eval { PVE::APIStandin::call_api($ROOT, 'POST', '/cluster/smbgateway/ha', $setup, user => 'admin@pve') } ? undef : $@;
is(ref($err403) && $err403->{code}, 403, 'a node admin may not set up HA');
$err400 = eval { PVE::APIStandin::call_api($ROOT, 'POST', '/cluster/smbgateway/ha', { %$setup, interface => 'eth0; reboot' }) } ? undef : $@;
is(ref($err400) && $err400->{code}, 400, 'a hostile interface name is a 400');
my $noclu = eval { PVE::APIStandin::call_api($ROOT, 'POST', '/cluster/smbgateway/ha', $setup) } ? undef : $@;
like("$noclu", qr/not in a PVE cluster/, 'HA setup outside a PVE cluster asks for the nodes');
ok(!-e "$ROOT/config/ha.json", 'a refused HA setup writes nothing');
like(ref($noclu) && $noclu->{errors}->{nodes}, qr/not in a PVE cluster/, 'on the nodes field');

# with HA set up (its config as ha-setup writes it): a wrong VIP or node of a failover, drill or
# maintenance is answered at once with its field, before any task is forked; a new share on
# node-local storage is refused on its path
{
    my $hacfg = "$dir/root/config/ha.cfg";
    open(my $fh, '>', $hacfg) or die "$hacfg: $!";
    print $fh "cluster: ctdb\n\tinterface lo\n\tvips 10.99.79.100/24\n\tlock corosync\n"
	. "\tkeepalive-interval 1\n\tkeepalive-limit 3\n\tad 0\n\n"
	. "node: pve1\n\taddress 10.99.79.1\n\nnode: pve2\n\taddress 10.99.79.2\n";
    close($fh);
    my $tasks_before = () = glob("$dir/tasks/*");
    my $call = sub {
	my ($path, $params) = @_;
	return eval { PVE::APIStandin::call_api($ROOT, 'POST', "/cluster/smbgateway/ha/$path", $params) } ? undef : $@;
    };
    my $e = $call->('failover', { vip => '10.99.79.200', node => 'pve2' });
    is(ref($e) && $e->{code}, 404, 'failover to an unknown VIP: a 404');
    like(ref($e) && $e->{errors}->{vip}, qr/not a VIP of this cluster/, 'on the vip field');
    $e = $call->('failover', { vip => '10.99.79.100', node => 'pve9' });
    like(ref($e) && $e->{errors}->{node}, qr/not a node of this cluster; its nodes are pve1, pve2/, 'an unknown node on the node field');
    $e = $call->('test', { vip => '10.99.79.201' });
    like(ref($e) && $e->{errors}->{vip}, qr/not a VIP/, 'a drill of an unknown VIP');
    $e = $call->('node', { action => 'disable', node => 'pve9' });
    is(ref($e) && $e->{code}, 404, 'maintenance of an unknown node: a 404');
    like(ref($e) && $e->{errors}->{node}, qr/not a node/, 'on the node field');
    my $setup_again = { vip => '10.99.79.100/24', interface => 'lo', nodes => 'pve1=10.99.79.1,pve2=10.99.79.2', 'dry-run' => 1 };
    $e = eval { PVE::APIStandin::call_api($ROOT, 'POST', '/cluster/smbgateway/ha', { %$setup_again, digest => '0' x 40 }) } ? undef : $@;
    is(ref($e) && $e->{code}, 409, 'ha-setup with a stale digest: a conflict');
    like(ref($e) && $e->{errors}->{digest}, qr/HA config was changed since it was read/, 'on the digest field');
    $e = eval { PVE::APIStandin::call_api($ROOT, 'POST', '/cluster/smbgateway/ha', $setup_again) } ? undef : $@;
    like(ref($e) && $e->{msg}, qr/node-local storage: 'team'/, 'ha-setup refuses while a node-local share exists, naming it');
    my $tasks_after = () = glob("$dir/tasks/*");
    is($tasks_after, $tasks_before, 'no task was forked for them');
    mkdir "$dir/data/local";
    (undef, $err) = api('POST', '/shares', { name => 'local', path => "$dir/data/local" }, 'admin@pve');
    like(ref($err) && $err->{errors}->{path}, qr/node-local storage .*high availability is set up.*--storage/s,
	'a node-local share is refused while HA is set up, on its path');
    unlink $hacfg or die "$hacfg: $!";
}

# an emptied share config: apply refuses and names the shares; force confirms (here a dry run)
{
    my $cfg = "$dir/root/config/shares.cfg";
    my $good = do { local (@ARGV, $/) = ($cfg); <> };
    open(my $fh, '>', $cfg) or die "$cfg: $!";
    close($fh);
    ($upid) = api('POST', '/apply', {}, 'admin@pve');
    $task = PVE::APIStandin::wait_task($upid);
    like($task->{status}, qr/holds no share, but this node still serves .*team.*apply --force/, 'apply refuses an emptied config');
    ($upid) = api('POST', '/apply', { force => 1, 'dry-run' => 1 }, 'admin@pve');
    $task = task_ok($upid, 'apply with force, dry run');
    like($task->{log}, qr/unpublishing .*team/, 'force says what it unpublishes');
    open($fh, '>', $cfg) or die "$cfg: $!";
    print $fh $good;
    close($fh);
}

# shares on PVE storages: the sandbox's pve/storage.cfg (beside pve/.members), in PVE's format
{
    mkdir "$dir/store";
    mkdir "$dir/root/pve";
    open(my $fh, '>', "$dir/root/pve/storage.cfg") or die "storage.cfg: $!";
    print $fh "dir: data\n\tpath $dir/store\n\tcontent backup\n\n"
	. "cephfs: ceph\n\tpath $dir/nomount\n\n"
	. "dir: off\n\tpath $dir/store\n\tdisable 1\n\n"
	. "dir: away\n\tpath $dir/store\n\tnodes elsewhere\n\n"
	. "rbd: vms\n\tpool vms\n";
    close($fh);
    my ($storages, $serr) = api('GET', '/storages', {}, 'auditor@pve');
    is($serr, '', 'an auditor lists the storages') or diag($serr);
    # free space moves between two calls on a busy machine: compared without the figures
    my $without_room = sub { [ map { my %s = %$_; delete @s{qw(avail total)}; \%s } @{ $_[0] } ] };
    is_deeply($without_room->($storages), $without_room->(decode_json(`$cli storages --output-format json`)),
	'API storages equal CLI json');
    my %by_id = map { $_->{storage} => $_ } @$storages;
    is_deeply([sort keys %by_id], [qw(ceph data local)], 'only usable types enabled for this node are listed');
    ok($by_id{data}->{active} && $by_id{data}->{avail} > 0 && $by_id{data}->{path} eq "$dir/store", 'a dir storage with its room');
    ok(!$by_id{ceph}->{active}, 'an unmounted cephfs is not active');
    like($by_id{ceph}->{reason}, qr/no CephFS at \Q$dir\E\/nomount/, 'and says why');

    ($upid, $err) = api('POST', '/shares', { name => 'onstore', storage => 'data' }, 'admin@pve');
    is($err, '', 'create on a storage, without a path') or diag($err);
    task_ok($upid, 'create on a storage');
    my ($onstore) = api('GET', '/shares/onstore');
    is($onstore->{path}, "$dir/store/smbgateway/onstore", 'the path follows from the storage');
    is($onstore->{storage}, 'data', 'the share names its storage');
    ok(-d "$dir/store/smbgateway/onstore", 'its directory is on the storage');

    for my $case (['ceph', qr/not mounted/], ['off', qr/disabled/], ['away', qr/not enabled on node/],
	['vms', qr/of type 'rbd'/], ['nope', qr/does not exist in storage\.cfg; storages for shares on this node: .*data \(dir/]) {
	my ($id, $why) = @$case;
	($upid, $err) = api('POST', '/shares', { name => 'x', storage => $id }, 'admin@pve');
	ok(!defined($upid), "storage $id: no task");
	is(ref($err) && $err->{code}, 400, "storage $id: a 400");
	like(ref($err) && $err->{errors}->{storage}, $why, "storage $id: the storage field says why");
    }
    ok(!-e "$dir/nomount/smbgateway", 'a refused create wrote nothing');
    ($upid) = api('DELETE', '/shares/onstore', { 'purge-data' => 1 }, 'admin@pve');
    task_ok($upid, 'delete the share on the storage');
}

($upid) = api('DELETE', '/shares/team', { 'purge-data' => 1 }, 'admin@pve');
task_ok($upid, 'delete');
ok(!-e "$dir/data/team", 'purged');

done_testing();
