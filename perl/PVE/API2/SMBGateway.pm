package PVE::API2::SMBGateway;

# REST API of pve-smbgateway, mounted at /nodes/{node}/smbgateway. Every method calls the
# gateway core (Rust) through PVE::RS::SMBGateway, the same functions the CLI and the daemon
# use; every parameter (share properties, AD, HA) is the core's own schema, so CLI, API and UI
# validate alike, and the UI reads its limits and defaults from the 'schema' method. Changes run
# as tasks (UPID) and need Sys.Modify on the node; reading needs Sys.Audit. All methods but the
# schema are protected (run by pvedaemon as root): quota figures and smbd's state need root.

use strict;
use warnings;

use JSON::PP ();

use PVE::JSONSchema qw(get_standard_option);
use PVE::RESTHandler;
use PVE::RPCEnvironment;
use PVE::RS::SMBGateway;
use PVE::Tools;

use base qw(PVE::RESTHandler);

# The core's own formats, checked by the core: the API refuses exactly what the CLI refuses.
for my $format (@{ PVE::RS::SMBGateway::formats() }) {
    PVE::JSONSchema::register_format($format, sub {
	my ($value, $noerr) = @_;
	eval { PVE::RS::SMBGateway::check_format({ format => $format, value => $value }) };
	if (my $err = $@) {
	    return undef if $noerr;
	    # PVE::JSONSchema puts the text on the parameter: the message without a status
	    die ref($err) ? $err->{msg} : $err;
	}
	return $value;
    });
}

# Every operation's parameters as the core defines them, in PVE::JSONSchema form:
# { share => { properties => {...} }, 'ad-join' => ..., ... } (see the schema method below).
my $schema = do {
    my $all = PVE::RS::SMBGateway::schema();
    for my $op (values %$all) {
	for my $p (values %{ $op->{properties} }) {
	    # JSON booleans become plain 0/1, as PVE::JSONSchema expects
	    for my $k (keys %$p) {
		$p->{$k} = $p->{$k} ? 1 : 0 if JSON::PP::is_bool($p->{$k});
	    }
	}
    }
    $all;
};

# The parameters of one operation ('share', 'ad-join', 'ha-setup', ...), a copy to extend.
sub operation_properties {
    my ($op) = @_;
    my $props = $schema->{$op}->{properties} or die "no schema for operation '$op'\n";
    return { map { $_ => { %{ $props->{$_} } } } keys %$props };
}

# The values of an operation's parameters given in an API call, for the bridge.
sub operation_args {
    my ($op, $param) = @_;
    my $props = $schema->{$op}->{properties};
    return { map { $_ => $param->{$_} } grep { exists $props->{$_} } keys %$param };
}

my $share_properties = operation_properties('share');

my $name_property = { %{ $share_properties->{name} }, optional => 0 };
my $dry_run_property = {
    type => 'boolean',
    optional => 1,
    default => 0,
    description => "Only print the plan (in the task log); change nothing.",
};

# One share's path: names may hold spaces, which the default '\S+' of a path parameter refuses
my $SHARE = 'shares/{name:[^\x2f]+}';

my $read_perm = { check => ['perm', '/nodes/{node}', ['Sys.Audit']] };
my $modify_perm = { check => ['perm', '/nodes/{node}', ['Sys.Modify']] };

# The share properties given in an API call, as text like on the command line.
my sub share_params {
    my ($param) = @_;
    my $props = {};
    for my $key (keys %$param) {
	next if !exists $share_properties->{$key} || $key eq 'name';
	$props->{$key} = "$param->{$key}";
    }
    return $props;
}

# A task id from a name: a UPID field cannot hold ':' or white space, share names can. Escaped
# as systemd does (\xNN), which the toolkit's task viewer unescapes for display.
sub task_id {
    my ($name) = @_;
    (my $id = $name // '') =~ s/([^A-Za-z0-9_.\-])/sprintf('\\x%02x', ord($1))/ge;
    return $id;
}

# Run a change as a task; its log lists every step done (or planned, with dry-run).
my sub run_task {
    my ($what, $name, $code) = @_;
    my $rpcenv = PVE::RPCEnvironment::get();
    my $user = $rpcenv->get_user();
    return $rpcenv->fork_worker('smbgw' . $what, task_id($name), $user, sub {
	# the core prints each step to the task log as it starts
	local $ENV{PVE_SMBGW_PROGRESS} = 1;
	my $change = eval { $code->() };
	# the task log and status carry the core's message; the HTTP status is for API callers
	die ref($@) ? $@->{msg} : $@ if $@;
	print "plan: $_\n" for $change->{'dry-run'} ? @{ $change->{steps} // [] } : ();
	print "nothing to do: the node already matches the configuration\n" if !$change->{changed};
	print "note: $_\n" for @{ $change->{notes} // [] };
	# PVE's task warnings: each shows as "WARN: ..." in the log, the task ends "WARNINGS: n"
	$rpcenv->warn($_) for @{ $change->{warnings} // [] };
    });
}

# A change, run as a task: node and dry-run parameters, Sys.Modify, the UPID as result. $code
# gets the parameters and returns what the core returns for the change. With validate => 1 the
# change is first planned (a dry run) before the task starts, as PVE's API checks a request
# before it forks a worker: bad input is answered at once, a 400 whose errors name the
# parameter (a 404 or 409 for a missing share or a stale digest), not a failed task. Other
# failures of planning are left to the task, whose log explains them.
my sub register_change {
    my ($name, $path, $method, $description, $properties, $code, %opts) = @_;
    my ($task) = $name =~ m/^(\w+?)(?:_share)?$/;
    __PACKAGE__->register_method({
	name => $name,
	path => $path,
	method => $method,
	description => $description,
	permissions => $modify_perm,
	protected => 1,
	proxyto => 'node',
	parameters => {
	    additionalProperties => 0,
	    properties => { node => get_standard_option('pve-node'), %$properties, 'dry-run' => $dry_run_property },
	},
	returns => { type => 'string', description => "Task UPID." },
	code => sub {
	    my ($param) = @_;
	    if ($opts{validate}) {
		eval { $code->({ %$param, 'dry-run' => 1 }) };
		die $@ if ref($@) && $@->{code};
	    }
	    return run_task($task, $param->{name} // $param->{session}, sub { $code->($param) });
	},
    });
}

# A read-only GET returning what the core returns. Paths with {name} are about one share, and
# their code gets the share name.
my sub register_reader {
    my ($name, $path, $description, $returns, $code) = @_;
    my $properties = { node => get_standard_option('pve-node') };
    $properties->{name} = $name_property if $path =~ m/\{name[:}]/;
    __PACKAGE__->register_method({
	name => $name,
	path => $path,
	method => 'GET',
	description => $description,
	permissions => $read_perm,
	protected => 1,
	proxyto => 'node',
	parameters => { additionalProperties => 0, properties => $properties },
	returns => $returns,
	code => sub { my ($param) = @_; return $code->($param->{name}) },
    });
}

__PACKAGE__->register_method({
    name => 'index',
    path => '',
    method => 'GET',
    description => "Directory index.",
    permissions => { user => 'all' },
    parameters => {
	additionalProperties => 0,
	properties => { node => get_standard_option('pve-node') },
    },
    returns => {
	type => 'array',
	items => { type => 'object', properties => { subdir => { type => 'string' } } },
	links => [ { rel => 'child', href => "{subdir}" } ],
    },
    code => sub {
	return [ map { { subdir => $_ } } qw(shares storages status sessions io-history discovery apply users ad schema) ];
    },
});

register_reader('list_shares', 'shares', "List the SMB shares of this node.",
    { type => 'array', items => { type => 'object' }, links => [ { rel => 'child', href => "{name}" } ] },
    sub { PVE::RS::SMBGateway::list_shares() });

# the storages the create wizard offers (create with storage => ID)
register_reader('list_storages', 'storages',
    "This node's PVE storages a share can be put on (types dir, btrfs, zfspool, cephfs; enabled"
	. " for this node): type, path, whether mounted (active, else reason), total and avail bytes.",
    {
	type => 'array',
	items => {
	    type => 'object',
	    properties => {
		storage => { type => 'string' },
		type => { type => 'string' },
		path => { type => 'string' },
		shared => { type => 'boolean' },
		active => { type => 'boolean' },
		reason => { type => 'string', optional => 1 },
		total => { type => 'integer', optional => 1 },
		avail => { type => 'integer', optional => 1 },
		backend => { type => 'string' },
	    },
	},
    },
    sub { PVE::RS::SMBGateway::list_storages() });

register_change('create_share', 'shares', 'POST', "Create an SMB share.",
    # path is optional: a vm share's data lives in the VM; the core asks for it everywhere else
    { %$share_properties, name => $name_property },
    sub {
	my ($param) = @_;
	return PVE::RS::SMBGateway::create_share(
	    { name => $param->{name}, properties => share_params($param), 'dry-run' => $param->{'dry-run'} });
    }, validate => 1);

register_reader('read_share', $SHARE, "Show a share's configuration.", { type => 'object' },
    sub { PVE::RS::SMBGateway::show_share({ name => $_[0] }) });

register_change('update_share', $SHARE, 'PUT', "Change a share.",
    {
	%$share_properties,
	name => $name_property,
	delete => {
	    type => 'string',
	    format => 'pve-configid-list',
	    optional => 1,
	    description => "Reset these properties to their defaults.",
	},
	digest => get_standard_option('pve-config-digest'),
    },
    sub {
	my ($param) = @_;
	return PVE::RS::SMBGateway::update_share({
	    name => $param->{name},
	    properties => share_params($param),
	    delete => [ PVE::Tools::split_list($param->{delete} // '') ],
	    digest => $param->{digest},
	    'dry-run' => $param->{'dry-run'},
	});
    }, validate => 1);

register_change('delete_share', $SHARE, 'DELETE', "Delete a share. Its data stays unless purge-data is set.",
    {
	name => $name_property,
	'purge-data' => {
	    type => 'boolean',
	    optional => 1,
	    default => 0,
	    description => "Also delete the share's directory (subvolume, dataset) and everything in it.",
	},
	digest => get_standard_option('pve-config-digest'),
    },
    sub {
	my ($param) = @_;
	return PVE::RS::SMBGateway::delete_share({ map { $_ => $param->{$_} } qw(name purge-data digest dry-run) });
    }, validate => 1);

register_reader('share_status', "$SHARE/status", "Whether smbd serves the share, and what is wrong if not.",
    { type => 'object' }, sub { PVE::RS::SMBGateway::status({ name => $_[0] }) });

register_reader('share_quota', "$SHARE/quota", "The share's quota: limit, used, free, percent and backend.",
    { type => 'object' }, sub { PVE::RS::SMBGateway::quota_status({ name => $_[0] }) });

__PACKAGE__->register_method({
    name => 'share_quota_history',
    path => "$SHARE/quota-history",
    method => 'GET',
    description => "The share's usage history, growth per day and days until full.",
    permissions => $read_perm,
    protected => 1,
    proxyto => 'node',
    parameters => {
	additionalProperties => 0,
	properties => {
	    node => get_standard_option('pve-node'),
	    name => $name_property,
	    %{ operation_properties('quota-history') },
	},
    },
    returns => { type => 'object' },
    code => sub {
	my ($param) = @_;
	return PVE::RS::SMBGateway::quota_history({ name => $param->{name}, %{ operation_args('quota-history', $param) } });
    },
});

register_reader('node_status', 'status', "smbd and every share on this node.", { type => 'object' },
    sub { PVE::RS::SMBGateway::status({}) });

# Who is connected and what they hold (a share's open files and locks), from smbd's own
# status; and ending one session. The parameters are the core's ('sessions' in its schema).
my $sessions_properties = operation_properties('sessions');

__PACKAGE__->register_method({
    name => 'sessions',
    path => 'sessions',
    method => 'GET',
    description => "SMB sessions of this node's smbd (user, client, protocol, encryption, signing, the"
	. " shares each uses) and per share its tree connects, open files and byte-range locks; with"
	. " name, only that share and the sessions using it.",
    permissions => $read_perm,
    protected => 1,
    proxyto => 'node',
    parameters => {
	additionalProperties => 0,
	properties => { node => get_standard_option('pve-node'), name => $sessions_properties->{name} },
    },
    returns => { type => 'object' },
    code => sub {
	my ($param) = @_;
	return PVE::RS::SMBGateway::sessions({ name => $param->{name} });
    },
});

register_change('disconnect_session', 'sessions/{session}', 'DELETE',
    "End one SMB session: the smbd process serving its client connection (other sessions on that"
	. " connection end with it). The client may reconnect; remove its access to keep it out.",
    { session => { %{ $sessions_properties->{session} }, optional => 0 } },
    sub {
	my ($param) = @_;
	return PVE::RS::SMBGateway::disconnect_session(
	    { session => $param->{session}, 'dry-run' => $param->{'dry-run'} });
    }, validate => 1);

__PACKAGE__->register_method({
    name => 'io_history',
    path => 'io-history',
    method => 'GET',
    description => "The node's SMB throughput (bytes read and written, requests per second) between the"
	. " samples of smbd's profiling counters the daemon records with 'smb-profiling: count'. For the"
	. " whole server: Samba has no per-share figures.",
    permissions => $read_perm,
    protected => 1,
    proxyto => 'node',
    parameters => {
	additionalProperties => 0,
	properties => {
	    node => get_standard_option('pve-node'),
	    %{ operation_properties('io-history') },
	},
    },
    returns => { type => 'object' },
    code => sub {
	my ($param) = @_;
	return PVE::RS::SMBGateway::io_history(operation_args('io-history', $param));
    },
});

# How clients find this node's SMB server (wsdd for Windows, Avahi for macOS): the node's
# setting, shown and changed as the CLI's 'discovery' command does (its parameters are the
# core's 'discovery' in the schema). The change is small and synchronous, not a task: bad input
# (an interface the node lacks) is a 400 on its field and nothing is written.
my $discovery_returns = {
    type => 'object',
    properties => {
	discovery => { type => 'boolean', description => "Whether the node is advertised." },
	interfaces => {
	    type => 'array',
	    items => { type => 'string' },
	    description => "The interfaces wsdd answers on; empty: every interface.",
	},
    },
};

__PACKAGE__->register_method({
    name => 'discovery',
    path => 'discovery',
    method => 'GET',
    description => "This node's discovery setting: whether it is advertised (WS-Discovery, mDNS) and on"
	. " which interfaces wsdd answers.",
    permissions => $read_perm,
    protected => 1,
    proxyto => 'node',
    parameters => { additionalProperties => 0, properties => { node => get_standard_option('pve-node') } },
    returns => $discovery_returns,
    code => sub { return PVE::RS::SMBGateway::discovery({}) },
});

__PACKAGE__->register_method({
    name => 'set_discovery',
    path => 'discovery',
    method => 'PUT',
    description => "Change this node's discovery setting; wsdd follows it (restarted or stopped). Returns"
	. " the setting now in force.",
    permissions => $modify_perm,
    protected => 1,
    proxyto => 'node',
    parameters => {
	additionalProperties => 0,
	properties => { node => get_standard_option('pve-node'), %{ operation_properties('discovery') } },
    },
    returns => $discovery_returns,
    code => sub {
	my ($param) = @_;
	return PVE::RS::SMBGateway::discovery(operation_args('discovery', $param));
    },
});

# A share's snapshots, the versions its Previous Versions show; taking, deleting (ours only)
# and rolling back (with confirm, after a safety snapshot) run as tasks. The parameters are the
# core's ('snapshot' in its schema).
my $snapshot_properties = operation_properties('snapshot');

register_reader('share_snapshots', "$SHARE/snapshots",
    "The share's snapshots: name, time, whether the gateway made them (kind) or not.",
    { type => 'object' },
    sub { PVE::RS::SMBGateway::snapshot_list({ name => $_[0] }) });

register_change('snapshot_create', "$SHARE/snapshots", 'POST',
    "Take a snapshot of the share now (kept until deleted by hand; retention never removes it).",
    { name => $name_property },
    sub {
	my ($param) = @_;
	return PVE::RS::SMBGateway::snapshot_create({ name => $param->{name}, 'dry-run' => $param->{'dry-run'} });
    }, validate => 1);

register_change('snapshot_delete', "$SHARE/snapshots/{snapshot}", 'DELETE',
    "Delete a snapshot the gateway made; one it did not make is refused.",
    { name => $name_property, snapshot => $snapshot_properties->{snapshot} },
    sub {
	my ($param) = @_;
	return PVE::RS::SMBGateway::snapshot_delete({ map { $_ => $param->{$_} } qw(name snapshot dry-run) });
    }, validate => 1);

register_change('snapshot_rollback', "$SHARE/snapshots/{snapshot}/rollback", 'POST',
    "Replace the share's content by the snapshot's; only with confirm, after a safety snapshot of"
	. " the current content. The share's SMB connections are closed.",
    { name => $name_property, map { $_ => $snapshot_properties->{$_} } qw(snapshot confirm) },
    sub {
	my ($param) = @_;
	return PVE::RS::SMBGateway::snapshot_rollback({ map { $_ => $param->{$_} } qw(name snapshot confirm dry-run) });
    }, validate => 1);

# A share's backups to a Proxmox Backup Server storage of storage.cfg: each read from a snapshot
# of the share, made and restored as tasks. The parameters are the core's ('backup' in its
# schema); the storage, the backup and the target are required where the CLI requires them.
my $backup_properties = operation_properties('backup');
my sub backup_required { return { map { $_ => { %{ $backup_properties->{$_} }, optional => 0 } } @_ } }

__PACKAGE__->register_method({
    name => 'share_backups',
    path => "$SHARE/backups",
    method => 'GET',
    description => "The share's backups (group host/<node>-smbgw-<share>) on one PBS storage, or on every"
	. " usable one (a storage that cannot be read says why).",
    permissions => $read_perm,
    protected => 1,
    proxyto => 'node',
    parameters => {
	additionalProperties => 0,
	properties => { node => get_standard_option('pve-node'), name => $name_property, storage => $backup_properties->{storage} },
    },
    returns => { type => 'object' },
    code => sub {
	my ($param) = @_;
	return PVE::RS::SMBGateway::backup_list({ name => $param->{name}, storage => $param->{storage} });
    },
});

register_change('backup_create', "$SHARE/backups", 'POST',
    "Back the share up to a PBS storage now: from a snapshot of the share, deleted again afterwards.",
    { name => $name_property, %{ backup_required('storage') } },
    sub {
	my ($param) = @_;
	return PVE::RS::SMBGateway::backup_create({ map { $_ => $param->{$_} } qw(name storage dry-run) });
    }, validate => 1);

register_change('backup_restore', "$SHARE/backups/restore", 'POST',
    "Restore a backup of the share into a new (or empty) directory outside every share, or one"
	. " file or directory of it (file) into a directory, under its own name.",
    { name => $name_property, %{ backup_required(qw(storage snapshot target)) }, file => $backup_properties->{file} },
    sub {
	my ($param) = @_;
	return PVE::RS::SMBGateway::backup_restore({ map { $_ => $param->{$_} } grep { defined $param->{$_} } qw(name storage snapshot target file dry-run) });
    }, validate => 1);

register_change('apply', 'apply', 'POST', "Re-converge this node from the share configuration.",
    {
	force => {
	    type => 'boolean',
	    optional => 1,
	    default => 0,
	    description => "Converge even an empty share configuration while this node still serves shares"
		. " (unpublishes them); without it such a configuration is refused.",
	},
    },
    sub {
	my ($param) = @_;
	my $change = PVE::RS::SMBGateway::apply({ 'dry-run' => $param->{'dry-run'}, force => $param->{force} });
	# shares left out (storage missing, repair failed): the task fails and says which
	if (my $error = $change->{error}) {
	    print "note: $_\n" for @{ $change->{notes} // [] };
	    die "$error\n";
	}
	return $change;
    });

register_reader('list_users', 'users', "List the Samba users of this node.",
    { type => 'array', items => { type => 'object' } }, sub { PVE::RS::SMBGateway::list_users() });

# Active Directory membership of this node
register_reader('ad_status', 'ad', "Domain membership of this node: DC, winbind, keytab, last health check.",
    { type => 'object' }, sub { PVE::RS::SMBGateway::ad_status({ check => 0 }) });

__PACKAGE__->register_method({
    name => 'ad_check',
    path => 'ad/check',
    method => 'POST',
    description => "Ask the domain now and record the result (fallback shares follow a lost or regained domain).",
    permissions => $modify_perm,
    protected => 1,
    proxyto => 'node',
    parameters => { additionalProperties => 0, properties => { node => get_standard_option('pve-node') } },
    returns => { type => 'object' },
    code => sub { return PVE::RS::SMBGateway::ad_status({ check => 1 }) },
});

# POST: the credentials are in the body, not in a URL that proxies and logs keep
__PACKAGE__->register_method({
    name => 'ad_test',
    path => 'ad/test',
    method => 'POST',
    description => "Check everything a join needs (DNS, DC ports, clock, credentials if given); changes nothing.",
    permissions => $read_perm,
    protected => 1,
    proxyto => 'node',
    parameters => {
	additionalProperties => 0,
	properties => { node => get_standard_option('pve-node'), %{ operation_properties('ad-test') } },
    },
    returns => { type => 'object' },
    code => sub {
	my ($param) = @_;
	return PVE::RS::SMBGateway::ad_test(operation_args('ad-test', $param));
    },
});

# The join's input is checked by the schema before the task starts; what needs the domain
# (DNS, the DC's ports, the clock) is checked by the task, whose log shows the checklist.
register_change('ad_join', 'ad/join', 'POST', "Join this node to an Active Directory domain.",
    operation_properties('ad-join'),
    sub {
	my ($param) = @_;
	return PVE::RS::SMBGateway::ad_join({ %{ operation_args('ad-join', $param) }, 'dry-run' => $param->{'dry-run'} });
    });

register_change('ad_leave', 'ad/leave', 'POST',
    "Leave the domain; with a password the computer account is deleted in the domain too.",
    operation_properties('ad-leave'),
    sub {
	my ($param) = @_;
	return PVE::RS::SMBGateway::ad_leave({ %{ operation_args('ad-leave', $param) }, 'dry-run' => $param->{'dry-run'} });
    });

# The parameters of every operation, for the UI: its limits and defaults are the core's.
__PACKAGE__->register_method({
    name => 'schema',
    path => 'schema',
    method => 'GET',
    description => "The parameters of every operation in JSON schema form: share (with guest, the"
	. " container and VM properties among them), ad-join, ad-test, ad-leave, ha-setup, ha-failover,"
	. " ha-node, user, sessions, discovery, snapshot and backup.",
    permissions => { user => 'all' },
    proxyto => 'node',
    parameters => { additionalProperties => 0, properties => { node => get_standard_option('pve-node') } },
    returns => { type => 'object' },
    code => sub { return { map { $_ => { properties => operation_properties($_) } } keys %$schema } },
});

1;
