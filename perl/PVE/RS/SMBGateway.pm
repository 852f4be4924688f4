package PVE::RS::SMBGateway;

# The pve-smbgateway core (Rust) for PVE's Perl side. The functions mirror what perlmod would
# export: plain Perl data in, plain Perl data out, errors as die with the core's message.
#
# The library is found by XSLoader (auto/PVE/RS/SMBGateway/SMBGateway.so in @INC) when
# installed, or taken from $ENV{PVE_RS_SMBGW_SO} (tests, development).

use strict;
use warnings;

use JSON::PP ();

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

sub _invoke {
    my ($method, @args) = @_;
    return $json->decode(_call($method, $json->encode(\@args)));
}

# Shares
sub list_shares { return _invoke('list') }
sub show_share { my ($name) = @_; return _invoke('show', $name) }
sub create_share { my ($name, $props, $dry_run) = @_; return _invoke('create', $name, $props // {}, $dry_run ? 1 : 0) }
sub update_share {
    my ($name, $props, $delete, $dry_run) = @_;
    return _invoke('update', $name, $props // {}, $delete // [], $dry_run ? 1 : 0);
}
sub delete_share { my ($name, $purge, $dry_run) = @_; return _invoke('delete', $name, $purge ? 1 : 0, $dry_run ? 1 : 0) }
sub status { my ($name) = @_; return _invoke('status', $name) }
sub apply { my ($dry_run, $force) = @_; return _invoke('apply', $dry_run ? 1 : 0, $force ? 1 : 0) }

# Quotas
sub space { my ($name) = @_; return _invoke('space', $name) }
sub activate_storage_dirs { my ($name, $subdirs) = @_; return _invoke('activate_storage_dirs', $name, $subdirs) }
sub quota_status { my ($name) = @_; return _invoke('quota_status', $name) }
sub quota_history { my ($name, $days) = @_; return _invoke('quota_history', $name, $days // 2) }

# Users
sub list_users { return _invoke('user_list') }

# Active Directory (passwords travel in the JSON argument, never in argv or the environment)
sub ad_status { my ($check) = @_; return _invoke('ad_status', $check ? 1 : 0) }
sub ad_test { my ($domain, $dc, $user, $password) = @_; return _invoke('ad_test', $domain, $dc, $user, $password) }
sub ad_join {
    my ($p, $dry_run) = @_;
    return _invoke('ad_join', @$p{qw(domain ou netbios dc user password)}, $dry_run ? 1 : 0);
}
sub ad_leave { my ($user, $password, $dry_run) = @_; return _invoke('ad_leave', $user, $password, $dry_run ? 1 : 0) }

# High availability (CTDB)
sub ha_setup {
    my ($nodes, $vips, $interface, $lock, $no_lock, $tunables, $dry_run) = @_;
    return _invoke('ha_setup', $nodes, $vips, $interface, $lock, $no_lock ? 1 : 0, $tunables, $dry_run ? 1 : 0);
}
sub ha_status { return _invoke('ha_status') }
sub ha_failover { my ($vip, $node) = @_; return _invoke('ha_failover', $vip, $node) }
sub ha_test { my ($vip) = @_; return _invoke('ha_test', $vip) }
sub ha_node { my ($node, $enable) = @_; return _invoke('ha_node', $node, $enable ? 1 : 0) }

# The share properties in PVE::JSONSchema form, defined once in Rust, and the formats they use.
sub share_schema { return _invoke('share_schema') }
sub formats { return _invoke('formats') }
sub check_format { my ($format, $value) = @_; return _invoke('check_format', $format, $value) }

1;
