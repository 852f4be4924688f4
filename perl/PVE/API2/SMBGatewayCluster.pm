package PVE::API2::SMBGatewayCluster;

# REST API of pve-smbgateway for the whole cluster, mounted at /cluster/smbgateway: the CTDB
# cluster with its floating addresses. Like PVE::API2::SMBGateway, every method calls the Rust
# core through PVE::RS::SMBGateway. Reading needs Sys.Audit on /, changes Sys.Modify on /.

use strict;
use warnings;

use PVE::API2::SMBGateway;
use PVE::RESTHandler;
use PVE::RPCEnvironment;
use PVE::RS::SMBGateway;

use base qw(PVE::RESTHandler);

my $read_perm = { check => ['perm', '/', ['Sys.Audit']] };
my $modify_perm = { check => ['perm', '/', ['Sys.Modify']] };

# the parameters of each action, as the core defines them (PVE::API2::SMBGateway's schema)
my $failover_properties = PVE::API2::SMBGateway::operation_properties('ha-failover');
my $node_properties = PVE::API2::SMBGateway::operation_properties('ha-node');

# Run an HA action as a task: it waits for CTDB to move addresses. $check runs first, outside
# the task: the core's dry run of the action (HA set up, VIP and node known), so a wrong value is
# answered at once with the field it is about (a 404 with errors => { vip => ... }), which the
# UI marks, instead of a failed task.
my sub run_task {
    my ($what, $id, $check, $code) = @_;
    $check->();
    my $rpcenv = PVE::RPCEnvironment::get();
    my $task_id = PVE::API2::SMBGateway::task_id($id);
    return $rpcenv->fork_worker("smbgwha$what", $task_id, $rpcenv->get_user(), sub {
	my $result = eval { $code->() };
	# the task log and status carry the core's message; the HTTP status is for API callers
	die ref($@) ? $@->{msg} : $@ if $@;
	print "$result\n";
    });
}

__PACKAGE__->register_method({
    name => 'index',
    path => '',
    method => 'GET',
    description => "Directory index.",
    permissions => { user => 'all' },
    parameters => { additionalProperties => 0, properties => {} },
    returns => {
	type => 'array',
	items => { type => 'object', properties => { subdir => { type => 'string' } } },
	links => [ { rel => 'child', href => "{subdir}" } ],
    },
    code => sub { return [ { subdir => 'ha' } ] },
});

__PACKAGE__->register_method({
    name => 'ha_status',
    path => 'ha',
    method => 'GET',
    description => "CTDB cluster health: nodes, leader, cluster lock, which node holds each VIP.",
    permissions => $read_perm,
    protected => 1,
    parameters => { additionalProperties => 0, properties => {} },
    returns => { type => 'object' },
    code => sub { return PVE::RS::SMBGateway::ha_status() },
});

__PACKAGE__->register_method({
    name => 'ha_setup',
    path => 'ha',
    method => 'POST',
    description => "Set up the CTDB cluster with floating addresses (VIPs). Writes the cluster-wide"
	. " configuration; every node then converges with 'pve-smbgateway apply'.",
    permissions => $modify_perm,
    protected => 1,
    parameters => {
	additionalProperties => 0,
	properties => {
	    %{ PVE::API2::SMBGateway::operation_properties('ha-setup') },
	    'dry-run' => { type => 'boolean', optional => 1, default => 0, description => "Only show the plan." },
	},
    },
    returns => { type => 'object', description => "The plan, and whether it was applied." },
    code => sub {
	my ($param) = @_;
	my $args = PVE::API2::SMBGateway::operation_args('ha-setup', $param);
	$args->{tunable} = [ grep { length } split(/[;,\s]+/, $param->{tunable} // '') ];
	return PVE::RS::SMBGateway::ha_setup({ %$args, 'dry-run' => $param->{'dry-run'} });
    },
});

__PACKAGE__->register_method({
    name => 'ha_failover',
    path => 'ha/failover',
    method => 'POST',
    description => "Move a VIP to another node (planned).",
    permissions => $modify_perm,
    protected => 1,
    parameters => {
	additionalProperties => 0,
	properties => $failover_properties,
    },
    returns => { type => 'string', description => "Task UPID." },
    code => sub {
	my ($param) = @_;
	my $args = { vip => $param->{vip}, node => $param->{node} };
	return run_task('failover', $param->{vip}, sub {
	    PVE::RS::SMBGateway::ha_failover({ %$args, 'dry-run' => 1 });
	}, sub {
	    my $r = PVE::RS::SMBGateway::ha_failover($args);
	    return sprintf("%s moved to %s in %.2f s", $param->{vip}, $param->{node}, $r->{seconds});
	});
    },
});

__PACKAGE__->register_method({
    name => 'ha_test',
    path => 'ha/test',
    method => 'POST',
    description => "Failover drill: disable the VIP's holder, measure until the VIP answers from another node, enable it again.",
    permissions => $modify_perm,
    protected => 1,
    parameters => { additionalProperties => 0, properties => { vip => $failover_properties->{vip} } },
    returns => { type => 'string', description => "Task UPID." },
    code => sub {
	my ($param) = @_;
	return run_task('test', $param->{vip}, sub {
	    PVE::RS::SMBGateway::ha_test({ vip => $param->{vip}, 'dry-run' => 1 });
	}, sub {
	    my $r = PVE::RS::SMBGateway::ha_test({ vip => $param->{vip} });
	    return sprintf("%s: node %d -> node %d, moved in %.2f s, answering after %.2f s",
		$r->{vip}, $r->{from}, $r->{to}, $r->{seconds_to_move}, $r->{seconds_to_answer});
	});
    },
});

__PACKAGE__->register_method({
    name => 'ha_node',
    path => 'ha/node',
    method => 'POST',
    description => "Node maintenance: a disabled node hosts no VIP.",
    permissions => $modify_perm,
    protected => 1,
    parameters => {
	additionalProperties => 0,
	properties => $node_properties,
    },
    returns => { type => 'string', description => "Task UPID." },
    code => sub {
	my ($param) = @_;
	my $args = { node => $param->{node}, enable => $param->{action} eq 'enable' };
	return run_task('node', $param->{node}, sub {
	    PVE::RS::SMBGateway::ha_node({ %$args, 'dry-run' => 1 });
	}, sub {
	    PVE::RS::SMBGateway::ha_node($args);
	    return "node $param->{node}: $param->{action}d";
	});
    },
});

1;
