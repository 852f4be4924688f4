package PVE::Storage::Custom::SMBGatewayPlugin;

# A pve-smbgateway share as a PVE storage: ISO images, container templates, backups and snippets
# kept in a share, with the share's quota as the storage's size. The share itself is managed by
# the gateway core (Rust, through PVE::RS::SMBGateway); this module only wires it into
# PVE::Storage. Files are read and written the way a directory storage does (the base class).

use strict;
use warnings;

use PVE::Storage::Plugin;
use PVE::RS::SMBGateway;

use base qw(PVE::Storage::Plugin);

# The storage API: PVE accepts APIVER-APIAGE .. APIVER and warns at every load ("implementing an
# older storage API") unless api() is APIVER. PVE 8 has APIVER 11 (APIAGE 2), PVE 9 APIVER 15
# (APIAGE 6). This plugin answers the running PVE's APIVER, up to the newest version whose
# changes (pve-storage's ApiChangeLog) it was checked against:
#   12  qemu_blockdev_options: the base class's (a file below 'path') is right for ISO images;
#       get_formats, rename_snapshot, volume_qemu_snapshot_method concern VM images, which this
#       storage does not hold.
#   13  $hints for activate_volume/map_volume: the base class's take and ignore them;
#       on_update_hook_full: below (on_update_hook stays for API < 13).
#   14  get_identity: optional; a share has no backend identity beyond its name, which
#       'smbgateway-share' already shows.
#   15  $snapname for volume_resize, 'virtual-size' from volume_snapshot_info: VM images only.
use constant VERIFIED_API => 15;

sub api {
    my $running = PVE::Storage->can('APIVER') ? PVE::Storage::APIVER() : VERIFIED_API;
    return $running < VERIFIED_API ? $running : VERIFIED_API;
}

sub type {
    return 'smbgateway';
}

sub plugindata {
    return {
	content => [ { iso => 1, vztmpl => 1, backup => 1, snippets => 1, none => 1 }, { backup => 1 } ],
    };
}

# Property names are shared by all storage plugins and must be new: ours carry a prefix.
sub properties {
    return {
	'smbgateway-share' => {
	    description => "Name of the pve-smbgateway share that holds this storage.",
	    type => 'string',
	    maxLength => 80,
	    pattern => '[^\\\\/\[\]:|<>+=;,*?"%\x00-\x1f]+',
	},
    };
}

sub options {
    return {
	'smbgateway-share' => { fixed => 1 },
	path => { optional => 1 },
	nodes => { optional => 1 },
	shared => { optional => 1 },
	disable => { optional => 1 },
	content => { optional => 1 },
	'prune-backups' => { optional => 1 },
	'max-protected-backups' => { optional => 1 },
    };
}

sub share_of {
    my ($scfg) = @_;
    my $name = $scfg->{'smbgateway-share'} or die "storage definition has no 'smbgateway-share'\n";
    return PVE::RS::SMBGateway::show_share({ name => $name });
}

# Adding the storage provisions the share when it does not exist yet (at the storage's `path`,
# as the gateway creates any share: directory or subvolume, Samba config); an existing share is
# adopted, and its path becomes the storage path.
sub on_add_hook {
    my ($class, $storeid, $scfg, %param) = @_;
    my $name = $scfg->{'smbgateway-share'};
    # asked, not read from an error: only a share that does not exist is provisioned, and only
    # where a path is given (without one, share_of raises the core's "does not exist", a 404)
    # (share names are case-insensitive, as Samba's)
    my $exists = grep { lc($_->{name}) eq lc($name // '') } @{ PVE::RS::SMBGateway::list_shares() };
    my $share;
    if ($exists || !defined($scfg->{path})) {
	$share = share_of($scfg);
    } else {
	my $change = PVE::RS::SMBGateway::create_share({
	    name => $name,
	    properties => { path => $scfg->{path}, comment => "PVE storage $storeid" },
	});
	$share = $change->{share};
    }
    if (defined($scfg->{path}) && $scfg->{path} ne $share->{path}) {
	die "storage path '$scfg->{path}' is not the path of share '$share->{name}' ($share->{path})\n";
    }
    $scfg->{path} = $share->{path};
    return undef;
}

# The storage path is the share's path (on_add_hook sets it): an update may not point it
# elsewhere, nor remove it. Storage API 13 and later (PVE 9) call this with the current config.
sub on_update_hook_full {
    my ($class, $storeid, $scfg, $update, $delete, $sensitive) = @_;
    die "storage '$storeid': 'path' is the path of share '$scfg->{'smbgateway-share'}' and cannot be deleted\n"
	if grep { $_ eq 'path' } @{ $delete // [] };
    if (defined(my $path = $update->{path})) {
	my $share = share_of($scfg);
	die "storage path '$path' is not the path of share '$share->{name}' ($share->{path})\n"
	    if $path ne $share->{path};
    }
    return undef;
}

# Storage API 11 and 12 (PVE 8): only the properties being set; the rest is read from storage.cfg.
sub on_update_hook {
    my ($class, $storeid, $update, %sensitive) = @_;
    return undef if !defined($update->{path});
    my $scfg = PVE::Storage::storage_config(PVE::Storage::config(), $storeid);
    return $class->on_update_hook_full($storeid, $scfg, $update, [], \%sensitive);
}

# Removing the storage leaves the share and its data alone (also one the storage provisioned): delete them with
# 'pve-smbgateway delete' (or the SMB Gateway panel), never by accident through storage.cfg.
sub on_delete_hook {
    my ($class, $storeid, $scfg) = @_;
    return undef;
}

sub check_connection {
    my ($class, $storeid, $scfg) = @_;
    return -d share_of($scfg)->{path} ? 1 : 0;
}

sub activate_storage {
    my ($class, $storeid, $scfg, $cache) = @_;
    my $share = share_of($scfg);
    my $path = $share->{path};
    die "unable to activate storage '$storeid' - share '$share->{name}' has no directory '$path'\n" if !-d $path;
    local $scfg->{path} = $path;
    my @subdirs;
    for my $vtype (sort keys %{ $scfg->{content} // {} }) {
	next if $vtype eq 'none';
	my $dir = $class->get_subdir($scfg, $vtype);
	push @subdirs, substr($dir, length($path) + 1) if index($dir, "$path/") == 0;
    }
    # root never creates by name inside a directory share users write: the gateway does it
    # through handles, and refuses a share whose storage is not mounted
    PVE::RS::SMBGateway::activate_storage_dirs({ name => $share->{name}, subdirs => \@subdirs });
    return 1;
}

# ($total, $avail, $used, $active), in bytes: the share's quota where it has one.
sub status {
    my ($class, $storeid, $scfg, $cache) = @_;
    my $space = eval { PVE::RS::SMBGateway::space({ name => $scfg->{'smbgateway-share'} }) };
    return undef if !$space;
    return ($space->{total}, $space->{avail}, $space->{used}, 1);
}

1;
