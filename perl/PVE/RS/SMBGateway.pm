package PVE::RS::SMBGateway;

# The pve-smbgateway core (Rust) for PVE's Perl side. The functions mirror what perlmod would
# export: plain Perl data in, plain Perl data out. Each takes its arguments as one hash, named as
# in the API and the schema (create_share({ name => 'team', properties => {...}, 'dry-run' => 1 })),
# which the bridge reads into typed structs; so nothing here knows an argument order.
#
# An error is raised as a PVE::Exception with the HTTP status the API answers: 400 for bad input
# (with errors => { <parameter> => <message> } when the core names the parameter), 404 when the
# thing asked for does not exist, 409 on a conflict (a stale digest), and no code (the REST layer
# answers 500) for a failure of the system or of an external service.
#
# The library is found by XSLoader (auto/PVE/RS/SMBGateway/SMBGateway.so in @INC) when
# installed, or taken from $ENV{PVE_RS_SMBGW_SO} (tests, development).

use strict;
use warnings;

use JSON::PP ();

use PVE::Exception;

our $VERSION = '0.1.0';

if (my $so = $ENV{PVE_RS_SMBGW_SO}) {
    require DynaLoader;
    my $lib = DynaLoader::dl_load_file($so, 0)
	or die "cannot load $so: " . DynaLoader::dl_error() . "\n";
    my $boot = DynaLoader::dl_find_symbol($lib, 'boot_PVE__RS__SMBGateway')
	or die "boot_PVE__RS__SMBGateway not found in $so\n";
    DynaLoader::dl_install_xsub('PVE::RS::SMBGateway::bootstrap', $boot, $so)->(__PACKAGE__);
} else {
    require XSLoader;
    XSLoader::load(__PACKAGE__, $VERSION);
}

# Character strings both ways: the XS side converts to and from UTF-8 itself. JSON::XS (on
# every PVE node, through libjson-perl) decodes 25 times faster than JSON::PP, which is only
# the fallback.
my $json = (eval { require JSON::XS; JSON::XS->new } // JSON::PP->new)->canonical->allow_nonref;

# The HTTP status of an error, from the core's code and kind.
my %STATUS_OF_CODE = ('not-found' => 404, conflict => 409);

# The bridge's error ({kind, message, field?, code?}) as the exception the API hands on.
sub _exception {
    my ($text) = @_;
    my $error = eval { $json->decode($text) };
    return $text if ref($error) ne 'HASH' || !defined($error->{message}); # not the bridge's
    my $message = $error->{message};
    my %param;
    my $status = $STATUS_OF_CODE{ $error->{code} // '' } // (($error->{kind} // '') eq 'input' ? 400 : undef);
    $param{code} = $status if $status;
    $param{errors} = { $error->{field} => $message } if defined($error->{field});
    # the trailing newline keeps Perl's " at FILE line N" out of the message
    return PVE::Exception->new("$message\n", %param);
}

sub _invoke {
    my ($method, $args) = @_;
    die "PVE::RS::SMBGateway: the arguments of '$method' are a hash\n" if defined($args) && ref($args) ne 'HASH';
    my $result = eval { _call($method, $json->encode($args // {})) };
    die _exception($@) if $@;
    return $json->decode($result);
}

# The functions, by the bridge method each calls.
my %METHODS = (
    # shares: {name}; create {name, properties, dry-run}; update {name, properties, delete,
    # digest, dry-run}; delete {name, purge-data, digest, dry-run}; status {name?}; apply
    # {dry-run, force}
    list_shares => 'list',
    list_storages => 'storages',
    show_share => 'show',
    create_share => 'create',
    update_share => 'update',
    delete_share => 'delete',
    status => 'status',
    apply => 'apply',
    # quotas: {name}; activate_storage_dirs {name, subdirs}; quota_history {name, days}
    space => 'space',
    activate_storage_dirs => 'activate_storage_dirs',
    quota_status => 'quota_status',
    quota_history => 'quota_history',
    list_users => 'user_list',
    # smbd's sessions and what they hold: sessions {name?}; disconnect_session {session, dry-run}
    sessions => 'sessions',
    disconnect_session => 'disconnect_session',
    # a share's snapshots: snapshot_list {name}; snapshot_create {name, dry-run};
    # snapshot_delete / snapshot_rollback {name, snapshot, confirm?, dry-run}
    snapshot_list => 'snapshot_list',
    snapshot_create => 'snapshot_create',
    snapshot_delete => 'snapshot_delete',
    snapshot_rollback => 'snapshot_rollback',
    # a share's backups to PBS: backup_create {name, storage, dry-run}; backup_list {name,
    # storage?}; backup_restore {name, storage, snapshot, target, file?, dry-run}
    backup_create => 'backup_create',
    backup_list => 'backup_list',
    backup_restore => 'backup_restore',
    # the node's discovery setting: discovery {discovery?, interfaces?} (neither: show it)
    discovery => 'discovery',
    # the node's SMB throughput sampled by the daemon: io_history {hours}
    io_history => 'io_history',
    # Active Directory: the parameters of the schema's ad-join, ad-test, ad-leave (passwords
    # travel in the JSON argument, never in argv or the environment); ad_status {check}
    ad_status => 'ad_status',
    ad_test => 'ad_test',
    ad_join => 'ad_join',
    ad_leave => 'ad_leave',
    # high availability (CTDB): the schema's ha-setup, ha-failover; ha_test {vip}; ha_node
    # {node, enable}
    ha_setup => 'ha_setup',
    ha_status => 'ha_status',
    ha_failover => 'ha_failover',
    ha_test => 'ha_test',
    ha_node => 'ha_node',
    # every parameter in PVE::JSONSchema form, defined once in Rust: the share properties, all
    # operations' parameters ({ share => {properties}, 'ad-join' => ..., ... }), the formats
    # they use and their check {format, value}
    share_schema => 'share_schema',
    schema => 'schema',
    formats => 'formats',
    check_format => 'check_format',
);

for my $name (keys %METHODS) {
    my $method = $METHODS{$name};
    no strict 'refs';
    *{$name} = sub { my ($args) = @_; return _invoke($method, $args) };
}

1;
