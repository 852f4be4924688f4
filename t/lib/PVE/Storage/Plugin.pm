# Test stand-in for PVE::Storage::Plugin (libpve-storage-perl), written from scratch.
#
# Mirrors src/PVE/Storage/Plugin.pm in https://github.com/proxmox/pve-storage at commit
# 0c56bad8b2a7d69e5ce2c243651fe830d6caa936 ("bump version to 9.1.7", 2026-07-24; storage APIVER 15).
#
# Mirrored exactly: the base class (PVE::SectionConfig), $defaultData->{propertyList} (the base
# properties: type storage nodes content disable prune-backups max-protected-backups shared subdir
# format preallocation content-dirs options port snapshot-as-volume-chain), the formats it registers
# (pve-storage-path, -server, -vgname, -portal-dns, -content, -format, -options, pve-volume-id,
# pve-dir-override, prune-backups) and the prune-backups standard option, constants and package
# variables (KNOWN_COMPRESSION_FORMATS, COMPRESSOR_RE, LOG_EXT, NOTES_EXT, @SHARED_STORAGE,
# $QCOW2_PREALLOCATION, $RAW_PREALLOCATION, $MAX_VOLUMES_PER_GUEST, $hints_properties, $hints_format),
# private, parse_section_header (lower-cases the type, checks the storage ID), decode_value/encode_value
# (content, format, nodes, content-dirs), parse_config (the implicit 'local' dir storage, default
# content, 'shared' for @SHARED_STORAGE types), and the pure helpers (content_hash_to_string,
# valid_content_types, dirs_hash_to_string, sensitive_properties, storage_has_feature, verify_*,
# parse_volume_id, parse_lvm_name, preallocation_cmd_opt, is_hint_supported, verify_hints,
# parse_name_dir, parse_volname, get_vtype_subdirs, get_subdir, filesystem_path, get_formats,
# get_next_vm_diskname, volume_has_feature, volume_*_formats, ...).
#
# The plugin API: every method of the real base class exists here with the real signature. Where
# the real base implementation is trivial it is mirrored (on_add_hook/on_update_hook/on_delete_hook
# return undef, on_update_hook_full, check_connection returns 1, deactivate_storage and
# deactivate_volume do nothing, map_volume returns path(), unmap_volume returns 1,
# volume_snapshot_needs_fsfreeze and storage_can_replicate return 0, get_identity dies
# "get_identity not implemented for this plugin", new_backup_provider dies "implement me if ...",
# get_volume_notes/update_volume_notes die "volume notes are not supported for CLASS", ...).
# NOTE: the real base class has no "die 'implement me'" defaults for status, activate_storage,
# list_images, volume_size_info, alloc_image, free_image, ...: it implements a *directory* storage
# (df on $scfg->{path}, qemu-img, files under path). Those directory implementations are NOT mirrored:
# the stand-in keeps their first checks (e.g. "storage definition has no path\n" when $scfg has no
# 'path') and then dies
#   "PVE::Storage::Plugin stand-in: base implementation of '<method>' (directory storage) is not mirrored\n"
# A custom plugin must override every such method it relies on; a test hitting that message found
# a method the plugin inherits from the directory implementation.
# Also left out: cfs_register_file('storage.cfg', ...) (no pmxcfs here), api() (the real base class
# has none either: custom plugins must define it), cluster_lock_storage, file_size_info.
package PVE::Storage::Plugin;

use strict;
use warnings;

use File::Basename qw(dirname);

use PVE::JSONSchema qw(get_standard_option register_standard_option);
use PVE::Storage::Common;
use PVE::Tools;

use base qw(PVE::SectionConfig);

use constant KNOWN_COMPRESSION_FORMATS => ('gz', 'lzo', 'zst', 'bz2');
use constant COMPRESSOR_RE => join('|', KNOWN_COMPRESSION_FORMATS);
use constant LOG_EXT => ".log";
use constant NOTES_EXT => ".notes";

our @COMMON_TAR_FLAGS = qw(
    --one-file-system
    -p --sparse --numeric-owner --acls
    --xattrs --xattrs-include=user.* --xattrs-include=security.capability
    --warning=no-file-ignored --warning=no-xattr-write
);

our @SHARED_STORAGE = ('iscsi', 'nfs', 'cifs', 'rbd', 'cephfs', 'iscsidirect', 'zfs', 'drbd', 'pbs');

our $QCOW2_PREALLOCATION = { off => 1, metadata => 1, falloc => 1, full => 1 };
our $RAW_PREALLOCATION = { off => 1, falloc => 1, full => 1 };
our $MAX_VOLUMES_PER_GUEST = 1024;

our $hints_properties = {
    'guest-is-windows' => {
        type => 'boolean',
        optional => 1,
        description => "true if the volume belongs to a Windows VM guest",
    },
    'plugin-may-deactivate-volume' => {
        type => 'boolean',
        optional => 1,
        description => "true if the plugin may deactivate the volume in order to apply a hint",
    },
};
our $hints_format = { type => 'object', additionalProperties => 0, properties => $hints_properties };

my sub not_mirrored {
    my ($method) = @_;
    die "PVE::Storage::Plugin stand-in: base implementation of '$method' (directory storage) is not mirrored\n";
}

# ---- prune-backups ---------------------------------------------------------------------------

my %keep_n = (optional => 1, type => 'integer', minimum => '0', format_description => 'N');
my sub keep_text {
    my ($period) = @_;
    # the real texts lack a space between "more" and "than"; kept as they are
    return "Keep backups for the last <N> different ${period}s. If there is more"
        . "than one backup for a single $period, only the latest one is kept.";
}
our $prune_backups_format = {
    'keep-all' => {
        type => 'boolean',
        description => 'Keep all backups. Conflicts with the other options when true.',
        optional => 1,
    },
    'keep-last' => { %keep_n, description => 'Keep the last <N> backups.' },
    (map { ("keep-${_}ly" => { %keep_n, description => keep_text($_) }) } qw(hour week month year)),
    'keep-daily' => { %keep_n, description => keep_text('day') },
};
PVE::JSONSchema::register_format('prune-backups', $prune_backups_format, \&validate_prune_backups);

sub validate_prune_backups {
    my ($prune_backups) = @_;

    my %res = %$prune_backups;
    my $keep_all = delete $res{'keep-all'};
    return { 'keep-all' => 1 } if !grep { $_ > 0 } values %res;
    die "keep-all cannot be set together with other options.\n" if $keep_all;
    return \%res;
}

register_standard_option('prune-backups', {
    description => "The retention options with shorter intervals are processed first "
        . "with --keep-last being the very first one. Each option covers a "
        . "specific period of time. We say that backups within this period "
        . "are covered by this option. The next option does not take care "
        . "of already covered backups and only considers older backups.",
    optional => 1,
    type => 'string',
    format => 'prune-backups',
});

# PVE_STORAGE_STANDIN_RELEASE=8: the base class of stable-8 (commit 1af4790d, PVE 8, storage API
# 11) instead of master's: the base properties without 'snapshot-as-volume-chain' and with the
# deprecated 'maxfiles', and none of the methods storage API 12 to 15 added (get_formats,
# qemu_blockdev_options, rename_snapshot, volume_qemu_snapshot_method, is_hint_supported,
# verify_hints, on_update_hook_full, get_identity). The rest is the same in both.
our $STANDIN_RELEASE = $ENV{PVE_STORAGE_STANDIN_RELEASE} // 9;
die "PVE::Storage stand-in: PVE_STORAGE_STANDIN_RELEASE must be 8 or 9, not '$STANDIN_RELEASE'\n"
    if $STANDIN_RELEASE !~ m/^[89]\z/;

# ---- base properties -------------------------------------------------------------------------

my $defaultData = {
    propertyList => {
        type => { description => "Storage type." },
        storage => get_standard_option('pve-storage-id', { completion => \&PVE::Storage::complete_storage }),
        nodes => get_standard_option('pve-node-list', {
            description => "List of nodes for which the storage configuration applies.",
            optional => 1,
        }),
        content => {
            description => "Allowed content types.\n\nNOTE: the value "
                . "'rootdir' is used for Containers, and value 'images' for VMs.\n",
            type => 'string',
            format => 'pve-storage-content-list',
            optional => 1,
            completion => \&PVE::Storage::complete_content_type,
        },
        disable => { description => "Flag to disable the storage.", type => 'boolean', optional => 1 },
        'prune-backups' => get_standard_option('prune-backups'),
        'max-protected-backups' => {
            description => "Maximal number of protected backups per guest. Use '-1' for unlimited.",
            type => 'integer',
            minimum => -1,
            optional => 1,
            default => "Unlimited for users with Datastore.Allocate privilege, 5 for other users",
        },
        shared => {
            description => "Indicate that this is a single storage with the same contents on all "
                . "nodes (or all listed in the 'nodes' option). It will not make the contents of a "
                . "local storage automatically accessible to other nodes, it just marks an already "
                . "shared storage as such!",
            type => 'boolean',
            optional => 1,
        },
        subdir => { description => "Subdir to mount.", type => 'string', format => 'pve-storage-path', optional => 1 },
        format => get_standard_option('pve-storage-image-format', {
            description => "Default image format.",
            optional => 1,
        }),
        preallocation => {
            description => "Preallocation mode for raw and qcow2 images. "
                . "Using 'metadata' on raw images results in preallocation=off.",
            type => 'string',
            enum => ['off', 'metadata', 'falloc', 'full'],
            default => 'metadata',
            optional => 1,
        },
        'content-dirs' => {
            description => "Overrides for default content type directories.",
            type => "string",
            format => "pve-dir-override-list",
            optional => 1,
        },
        options => {
            description => "NFS/CIFS mount options (see 'man nfs' or 'man mount.cifs')",
            type => 'string',
            format => 'pve-storage-options',
            optional => 1,
        },
        port => {
            description => "Use this port to connect to the storage instead of the default one (for"
                . " example, with PBS or ESXi). For NFS and CIFS, use the 'options' option to"
                . " configure the port via the mount options.",
            type => 'integer',
            minimum => 1,
            maximum => 65535,
            optional => 1,
        },
        'snapshot-as-volume-chain' => {
            type => 'boolean',
            description => 'Enable support for creating storage-vendor agnostic snapshot'
                . ' through volume backing-chains.',
            default => 0,
            optional => 1,
        },
    },
};

if ($STANDIN_RELEASE == 8) {
    delete $defaultData->{propertyList}->{'snapshot-as-volume-chain'};
    $defaultData->{propertyList}->{maxfiles} = {
        description => "Deprecated: use 'prune-backups' instead. "
            . "Maximal number of backup files per VM. Use '0' for unlimited.",
        type => 'integer',
        minimum => 0,
        optional => 1,
    };
}

sub private {
    return $defaultData;
}

# ---- helpers on plugindata -------------------------------------------------------------------

sub content_hash_to_string {
    my ($hash) = @_;
    return join(',', grep { $hash->{$_} } keys %$hash);
}

sub valid_content_types {
    my ($type) = @_;
    my $def = $defaultData->{plugindata}->{$type} or return {};
    return $def->{content}->[0];
}

sub dirs_hash_to_string {
    my ($hash) = @_;
    return join(',', map { "$_=$hash->{$_}" } sort keys %$hash);
}

sub sensitive_properties {
    my ($type) = @_;
    my $data = $defaultData->{plugindata}->{$type};
    if (my $sensitive = $data->{'sensitive-properties'}) {
        return [sort keys %$sensitive];
    }
    return [qw(encryption-key keyring master-pubkey password)]; # the real backwards-compatible default
}

sub storage_has_feature {
    my ($type, $feature) = @_;
    my $features = $defaultData->{plugindata}->{$type}->{features} or return;
    return $features->{$feature};
}

# ---- formats ---------------------------------------------------------------------------------

my sub verdict {
    my ($ok, $value, $noerr, $msg) = @_;
    return $value if $ok;
    return undef if $noerr;
    die $msg;
}

sub verify_path {
    my ($path, $noerr) = @_;
    return verdict(!!($path =~ m|^/[^;()]+|), $path, $noerr, "value does not look like a valid absolute path\n");
}

sub verify_server {
    my ($server, $noerr) = @_;
    my $ok = PVE::JSONSchema::pve_verify_ip($server, 1) || PVE::JSONSchema::pve_verify_dns_name($server, 1);
    return verdict(!!($ok), $server, $noerr, "value does not look like a valid server name or IP address\n");
}

sub parse_lvm_name {
    my ($name, $noerr) = @_;
    return verdict(!!($name =~ /^[a-z0-9][a-z0-9\-_.]*[a-z0-9]$/i), $name, $noerr,
        "lvm name '$name' contains illegal characters\n");
}

# PVE::Tools::parse_host_and_port's rule: a host name or IPv4 with optional ":port", anything
# (IPv6, IPv4, host name) in brackets with optional ":port", or a bare IPv6 with optional ".port"
my sub host_and_port_ok {
    my ($text) = @_;
    return 1 if $text =~ /^[[:alnum:]\-.]+(?::\d+)?$/;
    if (my ($inner) = $text =~ /^\[([^\]]+)\](?::\d+)?$/) {
        return 1 if $inner =~ /^[[:alnum:]\-.]+$/;
        return !!PVE::JSONSchema::pve_verify_ip($inner, 1);
    }
    return 1 if PVE::JSONSchema::pve_verify_ipv6($text, 1);
    my ($ip6) = $text =~ /^(.+)\.\d+$/;
    return defined($ip6) && !!PVE::JSONSchema::pve_verify_ipv6($ip6, 1);
}

sub verify_portal_dns {
    my ($portal, $noerr) = @_;
    return verdict(!!(host_and_port_ok($portal)), $portal, $noerr, "value does not look like a valid portal address\n");
}

sub verify_content {
    my ($ct, $noerr) = @_;
    return $ct if $ct eq 'import';
    my $valid = valid_content_types('dir'); # dir allows every content type
    return verdict(!!($valid->{$ct}), $ct, $noerr, "invalid content type '$ct'\n");
}

sub verify_format {
    my ($fmt, $noerr) = @_;
    return verdict(!!($fmt =~ /^(?:raw|qcow2|vmdk|subvol)$/), $fmt, $noerr, "invalid format '$fmt'\n");
}

sub verify_options {
    my ($value, $noerr) = @_;
    return verdict(!!($value =~ /^\S+$/), $value, $noerr, "invalid options '$value'\n");
}

sub parse_volume_id {
    my ($volid, $noerr) = @_;
    if (my ($storeid, $volname) = $volid =~ /^([a-z][a-z0-9\-_.]*[a-z0-9]):(.+)$/i) {
        return wantarray ? ($storeid, $volname) : $storeid;
    }
    return undef if $noerr;
    die "unable to parse volume ID '$volid'\n";
}

sub verify_dir_override {
    my ($value, $noerr) = @_;
    if (my ($ct, $rel) = $value =~ /^([a-z]+)=([^.]*(?:\.?[^.]+)+)$/) {
        if (verify_content($ct, $noerr)) {
            return $value if length($rel) < 1023 && !grep { length($_) >= 255 } split(m|/|, $rel);
        }
    }
    return undef if $noerr;
    die "invalid override '$value'\n";
}

PVE::JSONSchema::register_format('pve-storage-path', \&verify_path);
PVE::JSONSchema::register_format('pve-storage-server', \&verify_server);
PVE::JSONSchema::register_format('pve-storage-vgname', \&parse_lvm_name);
PVE::JSONSchema::register_format('pve-storage-portal-dns', \&verify_portal_dns);
PVE::JSONSchema::register_format('pve-storage-content', \&verify_content);
PVE::JSONSchema::register_format('pve-storage-format', \&verify_format);
PVE::JSONSchema::register_format('pve-storage-options', \&verify_options);
PVE::JSONSchema::register_format('pve-volume-id', \&parse_volume_id);
PVE::JSONSchema::register_format('pve-dir-override', \&verify_dir_override);

# ---- section config --------------------------------------------------------------------------

sub parse_section_header {
    my ($class, $line) = @_;
    my ($type, $storeid) = $line =~ /^(\S+):\s*(\S+)\s*$/ or return undef;
    my $errmsg;
    eval { PVE::JSONSchema::parse_storage_id($storeid) };
    $errmsg = $@ if $@;
    return (lc($type), $storeid, $errmsg, {});
}

sub decode_value {
    my ($class, $type, $key, $value) = @_;

    my $def = $defaultData->{plugindata}->{$type};
    if ($key eq 'content') {
        my $valid = $def->{content}->[0];
        my %res;
        for my $ct (PVE::Tools::split_list($value)) {
            if (!$valid->{$ct}) {
                warn "storage does not support content type '$ct'\n";
                next;
            }
            $res{$ct} = 1;
        }
        die "unable to combine 'none' with other content types\n" if $res{none} && keys(%res) > 1;
        die "storage does not support content type 'none'\n" if !%res && !$valid->{none};
        return \%res;
    } elsif ($key eq 'format') {
        if (!$def->{format}->[0]->{$value}) {
            warn "storage does not support format '$value'\n";
            # as in the real code: "next" leaves this sub and skips the key in the caller's loop
            # (check_config's), so the unsupported format is dropped (Perl warns "Exiting subroutine")
            next;
        }
        return $value;
    } elsif ($key eq 'nodes') {
        return { map { $_ => 1 } grep { PVE::JSONSchema::pve_verify_node_name($_) } PVE::Tools::split_list($value) };
    } elsif ($key eq 'content-dirs') {
        my $valid = $def->{content}->[0];
        my %res;
        for my $entry (PVE::Tools::split_list($value)) {
            my ($ct, $path) = split(/=/, $entry, 2);
            if (!$valid->{$ct}) {
                warn "storage does not support content type '$ct'\n";
                next;
            }
            $res{$ct} = $path;
        }
        return \%res;
    }
    return $value;
}

sub encode_value {
    my ($class, $type, $key, $value) = @_;
    return join(',', keys %$value) if $key eq 'nodes';
    return content_hash_to_string($value) || 'none' if $key eq 'content';
    return dirs_hash_to_string($value) if $key eq 'content-dirs';
    return $value;
}

sub parse_config {
    my ($class, $filename, $raw) = @_;

    my $cfg = $class->SUPER::parse_config($filename, $raw);
    my $ids = $cfg->{ids};

    # 'local' is always a dir storage on /var/lib/vz
    my $local = $ids->{local};
    if (!$local || $local->{type} ne 'dir' || ($local->{path} && $local->{path} ne '/var/lib/vz')) {
        $ids->{local} = {
            type => 'dir',
            priority => 0,
            path => '/var/lib/vz',
            'prune-backups' => 'keep-all=1',
            content => { map { $_ => 1 } qw(backup images iso rootdir snippets vztmpl) },
        };
    }
    $ids->{local}->{path} ||= '/var/lib/vz';
    delete $ids->{local}->{nodes};

    for my $storeid (keys %$ids) {
        my $scfg = $ids->{$storeid}; # a copy: a section that failed its check stays undef
        my $type = $scfg->{type};
        my $def = $defaultData->{plugindata}->{$type};
        $scfg->{content} = $def->{content}->[1] if $def->{content} && !$scfg->{content};
        $scfg->{shared} = 1 if grep { $_ eq $type } @SHARED_STORAGE;
    }
    return $cfg;
}

# ---- small helpers used by plugins -----------------------------------------------------------

sub preallocation_cmd_opt {
    my ($scfg, $fmt) = @_;

    my $prealloc = $scfg->{preallocation};
    if ($fmt eq 'qcow2') {
        $prealloc //= 'metadata';
        die "preallocation mode '$prealloc' not supported by format '$fmt'\n" if !$QCOW2_PREALLOCATION->{$prealloc};
        return $prealloc;
    } elsif ($fmt eq 'raw') {
        $prealloc //= 'off';
        $prealloc = 'off' if $prealloc eq 'metadata';
        die "preallocation mode '$prealloc' not supported by format '$fmt'\n" if !$RAW_PREALLOCATION->{$prealloc};
        return $prealloc;
    }
    return;
}

sub is_hint_supported {
    my ($hint) = @_;
    return defined($hints_properties->{$hint});
}

sub verify_hints {
    my ($hints, $noerr) = @_;
    return if !defined($hints);
    eval { PVE::JSONSchema::validate($hints, $hints_format) };
    my $err = $@ or return $hints;
    return if $noerr;
    die "internal error - hints are not valid: $err";
}

# ---- plugin API ------------------------------------------------------------------------------

sub get_formats {
    my ($class, $scfg, $storeid) = @_;
    my $pd = $defaultData->{plugindata}->{ $scfg->{type} };
    return { default => 'raw', valid => { raw => 1 } } if !defined($pd->{format});
    return { default => $scfg->{format} || $pd->{format}->[1], valid => { %{ $pd->{format}->[0] } } };
}

sub on_add_hook {
    my ($class, $storeid, $scfg, %param) = @_;
    return undef;
}

sub on_update_hook {
    my ($class, $storeid, $scfg, %param) = @_;
    return undef;
}

sub on_update_hook_full {
    my ($class, $storeid, $scfg, $update, $delete, $sensitive) = @_;
    return $class->on_update_hook($storeid, $update, %$sensitive);
}

sub on_delete_hook {
    my ($class, $storeid, $scfg) = @_;
    return undef;
}

sub cluster_lock_storage {
    my ($class, $storeid, $shared, $timeout, $func, @param) = @_;
    die "PVE::Storage::Plugin stand-in: cluster_lock_storage (lock file / pmxcfs lock) is not mirrored\n";
}

sub parse_name_dir {
    my ($name) = @_;
    if ($name =~ m!^((vm-|base-|subvol-)(\d+)-[^/\s]+\.(raw|qcow2|vmdk|subvol))$!) {
        return ($1, $4, $2 eq 'base-' ? $2 : undef);
    }
    die "'$name' is a snapshot filename, not a volume!\n" if $name =~ m!^snap-.*\.qcow2$!;
    if ($name =~ m!^((base-)?[^/\s]+\.(raw|qcow2|vmdk|subvol))$!) {
        return ($1, $3, $2);
    }
    die "unable to parse volume filename '$name'\n";
}

sub parse_volname {
    my ($class, $volname) = @_;
    no warnings 'once'; # the regexes live in PVE::Storage, which loads this module

    if (my ($basevmid, $basename, $vmid, $name) = $volname =~ m!^(\d+)/(\S+)/(\d+)/(\S+)$!) {
        parse_name_dir($basename);
        my (undef, $format, $isBase) = parse_name_dir($name);
        return ('images', $name, $vmid, $basename, $basevmid, $isBase, $format);
    } elsif (my ($vmid2, $name2) = $volname =~ m!^(\d+)/(\S+)$!) {
        my (undef, $format, $isBase) = parse_name_dir($name2);
        return ('images', $name2, $vmid2, undef, undef, $isBase, $format);
    } elsif ($volname =~ m!^iso/([^/]+$PVE::Storage::ISO_EXT_RE_0)$!) {
        return ('iso', $1, undef, undef, undef, undef, 'raw');
    } elsif ($volname =~ m!^vztmpl/([^/]+$PVE::Storage::VZTMPL_EXT_RE_1)$!) {
        return ('vztmpl', $1, undef, undef, undef, undef, 'raw');
    } elsif ($volname =~ m!^backup/([^/]+$PVE::Storage::BACKUP_EXT_RE_2)$!) {
        my $file = $1;
        my ($owner) = $file =~ /^vzdump-(?:openvz|lxc|qemu)-(\d+)-.+/;
        return ('backup', $file, $owner, undef, undef, undef, 'raw');
    } elsif ($volname =~ m!^snippets/([^/]+)$!) {
        return ('snippets', $1, undef, undef, undef, undef, 'raw');
    } elsif ($volname =~
        m!^import/(${PVE::Storage::SAFE_CHAR_WITH_WHITESPACE_CLASS_RE}+\.ova/${PVE::Storage::OVA_CONTENT_RE_1})$!) {
        return ('import', $1, undef, undef, undef, undef, "ova+$2");
    } elsif ($volname =~ m!^import/(${PVE::Storage::SAFE_CHAR_WITH_WHITESPACE_CLASS_RE}+$PVE::Storage::IMPORT_EXT_RE_1)$!) {
        return ('import', $1, undef, undef, undef, undef, $2);
    }
    die "unable to parse directory volume name '$volname'\n";
}

my $vtype_subdirs = {
    images => 'images',
    rootdir => 'private',
    iso => 'template/iso',
    vztmpl => 'template/cache',
    backup => 'dump',
    snippets => 'snippets',
    import => 'import',
};

sub get_vtype_subdirs {
    return $vtype_subdirs;
}

sub get_subdir {
    my ($class, $scfg, $vtype) = @_;
    my $path = $scfg->{path} or die "storage definition has no path\n";
    die "unknown vtype '$vtype'\n" if !exists($vtype_subdirs->{$vtype});
    return "$path/" . ($scfg->{'content-dirs'}->{$vtype} // $vtype_subdirs->{$vtype});
}

sub filesystem_path {
    my ($class, $scfg, $volname, $snapname) = @_;

    my ($vtype, $name, $vmid, undef, undef, undef, $format) = $class->parse_volname($volname);
    if ($scfg->{'snapshot-as-volume-chain'} && $snapname) {
        $name = $snapname eq 'current' ? $name : "snap-$snapname-$name";
    }
    die "can't snapshot this image format\n" if defined($snapname) && $format !~ /^(?:qcow2|qed)$/;

    my $dir = $class->get_subdir($scfg, $vtype);
    $dir .= "/$vmid" if $vtype eq 'images';
    my $path = "$dir/$name";
    return wantarray ? ($path, $vmid, $vtype) : $path;
}

sub path {
    my ($class, $scfg, $volname, $storeid, $snapname) = @_;
    return $class->filesystem_path($scfg, $volname, $snapname);
}

sub create_base {
    my ($class, $storeid, $scfg, $volname) = @_;
    die "storage definition has no path\n" if !$scfg->{path};
    my ($vtype, undef, undef, undef, undef, $isBase) = $class->parse_volname($volname);
    die "create_base on wrong vtype '$vtype'\n" if $vtype ne 'images';
    die "create_base not possible with base image\n" if $isBase;
    not_mirrored('create_base');
}

sub get_next_vm_diskname {
    my ($disk_list, $storeid, $vmid, $fmt, $scfg, $add_fmt_suffix) = @_;

    $fmt //= '';
    my $prefix = $fmt eq 'subvol' ? 'subvol' : 'vm';
    my $suffix = $add_fmt_suffix ? ".$fmt" : '';

    my %def = %{ $defaultData->{plugindata}->{ $scfg->{type} } };
    my $valid = $def{format}->[0];
    my $re = $valid->{subvol}
        ? qr/(?:vm|base|subvol|basevol)-$vmid-disk-(\d+)/
        : qr/(?:vm|base)-$vmid-disk-(\d+)$suffix/;
    my %taken = map { $_ =~ $re ? ($1 => 1) : () } @$disk_list;

    for my $i (0 .. $MAX_VOLUMES_PER_GUEST - 1) {
        return "$prefix-$vmid-disk-$i$suffix" if !$taken{$i};
    }
    die "unable to allocate an image name for VM $vmid in storage '$storeid'\n";
}

sub find_free_diskname {
    my ($class, $storeid, $scfg, $vmid, $fmt, $add_fmt_suffix) = @_;
    my $disks = $class->list_images($storeid, $scfg, $vmid);
    return get_next_vm_diskname([map { $_->{volid} } @$disks], $storeid, $vmid, $fmt, $scfg, $add_fmt_suffix);
}

sub clone_image {
    my ($class, $scfg, $storeid, $volname, $vmid, $snap) = @_;
    die "storage definition has no path\n" if !$scfg->{path};
    my ($vtype, undef, undef, undef, undef, $isBase, $format) = $class->parse_volname($volname);
    die "clone_image on wrong vtype '$vtype'\n" if $vtype ne 'images';
    die "this storage type does not support clone_image on snapshot\n" if $snap;
    die "this storage type does not support clone_image on subvolumes\n" if $format eq 'subvol';
    die "clone_image only works on base images\n" if !$isBase;
    not_mirrored('clone_image');
}

sub alloc_image {
    my ($class, $storeid, $scfg, $vmid, $fmt, $name, $size) = @_;
    $class->get_subdir($scfg, 'images'); # dies "storage definition has no path\n"
    not_mirrored('alloc_image');
}

sub free_image {
    my ($class, $storeid, $scfg, $volname, $isBase, $format) = @_;
    die "cannot remove protected volume '$volname' on '$storeid'\n"
        if $class->get_volume_attribute($scfg, $storeid, $volname, 'protected');
    $class->filesystem_path($scfg, $volname);
    not_mirrored('free_image');
}

sub get_volume_notes {
    my ($class, $scfg, $storeid, $volname, $timeout) = @_;
    die "volume notes are not supported for $class";
}

sub update_volume_notes {
    my ($class, $scfg, $storeid, $volname, $notes, $timeout) = @_;
    die "volume notes are not supported for $class";
}

sub get_volume_attribute {
    my ($class, $scfg, $storeid, $volname, $attribute) = @_;
    return if $attribute ne 'notes';
    my $notes = eval { $class->get_volume_notes($scfg, $storeid, $volname) };
    if (my $err = $@) {
        return if $err =~ /^volume notes are not supported/;
        die $err;
    }
    return $notes;
}

sub update_volume_attribute {
    my ($class, $scfg, $storeid, $volname, $attribute, $value) = @_;
    $class->update_volume_notes($scfg, $storeid, $volname, $value) if $attribute eq 'notes';
    # like the real one: dies even after updating notes successfully
    die "attribute '$attribute' is not supported for storage type '$scfg->{type}'\n";
}

sub volume_size_info {
    my ($class, $scfg, $storeid, $volname, $timeout) = @_;
    $class->filesystem_path($scfg, $volname);
    not_mirrored('volume_size_info');
}

sub volume_resize {
    my ($class, $scfg, $storeid, $volname, $size, $running, $snapname) = @_;
    die "can't resize this image format\n" if $volname !~ /\.(?:raw|qcow2)$/;
    return 1 if $running;
    die "resizing a snapshot is not supported for $class without 'snapshot-as-volume-chain'\n"
        if !$scfg->{'snapshot-as-volume-chain'} && $snapname;
    not_mirrored('volume_resize');
}

sub volume_snapshot {
    my ($class, $scfg, $storeid, $volname, $snap) = @_;
    die "can't snapshot this image format\n" if $volname !~ ($scfg->{'snapshot-as-volume-chain'} ? qr/\.qcow2$/ : qr/\.(?:qcow2|qed)$/);
    not_mirrored('volume_snapshot');
}

sub volume_rollback_is_possible {
    my ($class, $scfg, $storeid, $volname, $snap, $blockers) = @_;
    return 1 if !$scfg->{'snapshot-as-volume-chain'};
    not_mirrored('volume_rollback_is_possible');
}

sub volume_snapshot_rollback {
    my ($class, $scfg, $storeid, $volname, $snap) = @_;
    die "can't rollback snapshot this image format\n" if $volname !~ /\.(?:qcow2|qed)$/;
    not_mirrored('volume_snapshot_rollback');
}

sub volume_snapshot_delete {
    my ($class, $scfg, $storeid, $volname, $snap, $running) = @_;
    die "can't delete snapshot for this image format\n" if $volname !~ /\.(?:qcow2|qed)$/;
    not_mirrored('volume_snapshot_delete');
}

sub volume_snapshot_needs_fsfreeze {
    return 0;
}

sub storage_can_replicate {
    my ($class, $scfg, $storeid, $format) = @_;
    return 0;
}

sub volume_has_feature {
    my ($class, $scfg, $feature, $storeid, $volname, $snapname, $running, $opts) = @_;

    my %image = (qcow2 => 1, raw => 1, vmdk => 1);
    my $features = {
        snapshot => { current => { qcow2 => 1 }, snap => { qcow2 => 1 } },
        clone => { base => {%image} },
        template => { current => { %image, subvol => 1 } },
        copy => { base => {%image}, current => {%image}, snap => { qcow2 => 1 } },
        sparseinit => { base => {%image}, current => {%image} },
        rename => { current => {%image} },
    };

    if ($feature eq 'clone') {
        my $targets = $opts->{valid_target_formats};
        return 0 if defined($targets) && !grep { $_ eq 'qcow2' } @$targets;
    } elsif ($feature eq 'rename') {
        return 0 if $class->can('api') && $class->api() < 10;
    }

    my (undef, undef, undef, undef, undef, $isBase, $format) = $class->parse_volname($volname);
    my $key = $snapname ? 'snap' : $isBase ? 'base' : 'current';
    return 1 if defined($features->{$feature}->{$key}->{$format});
    return undef;
}

sub list_images {
    my ($class, $storeid, $scfg, $vmid, $vollist, $cache) = @_;
    $class->get_subdir($scfg, 'images'); # dies "storage definition has no path\n"
    not_mirrored('list_images');
}

sub list_volumes {
    my ($class, $storeid, $scfg, $vmid, $content_types) = @_;
    not_mirrored('list_volumes');
}

sub status {
    my ($class, $storeid, $scfg, $cache) = @_;
    die "storage definition has no path\n" if !$scfg->{path};
    # real: PVE::Tools::df($path, 2); returns undef if that fails, else ($total, $avail, $used, 1)
    not_mirrored('status');
}

sub volume_snapshot_info {
    my ($class, $scfg, $storeid, $volname) = @_;
    $class->filesystem_path($scfg, $volname);
    not_mirrored('volume_snapshot_info');
}

sub activate_storage {
    my ($class, $storeid, $scfg, $cache) = @_;
    my $path = $scfg->{path} or die "storage definition has no path\n";
    die "unable to activate storage '$storeid' - directory '$path' does not exist or is unreachable\n"
        if !-d $path;
    return if !defined($scfg->{content});
    not_mirrored('activate_storage');
}

sub deactivate_storage {
    # does nothing; like the real one, it returns its arguments (the value of its only statement)
    my ($class, $storeid, $scfg, $cache) = @_;
}

sub map_volume {
    my ($class, $storeid, $scfg, $volname, $snapname, $hints) = @_;
    my ($path) = $class->path($scfg, $volname, $storeid, $snapname);
    return $path;
}

sub unmap_volume {
    my ($class, $storeid, $scfg, $volname, $snapname) = @_;
    return 1;
}

sub activate_volume {
    my ($class, $storeid, $scfg, $volname, $snapname, $cache, $hints) = @_;
    my $path = $class->filesystem_path($scfg, $volname, $snapname);
    die "volume '$storeid:$volname' does not exist\n" if $scfg->{path} ? !-e $path : !-b $path;
    return;
}

sub deactivate_volume {
    # does nothing; like the real one, it returns its arguments (the value of its only statement)
    my ($class, $storeid, $scfg, $volname, $snapname, $cache) = @_;
}

sub check_connection {
    my ($class, $storeid, $scfg) = @_;
    return 1;
}

sub prune_backups {
    my ($class, $scfg, $storeid, $keep, $vmid, $type, $dryrun, $logfunc) = @_;
    not_mirrored('prune_backups');
}

sub write_common_header($$) {
    my ($fh, $image_size_in_bytes) = @_;
    syswrite($fh, pack('Q<', $image_size_in_bytes), 8);
}

sub read_common_header($) {
    my ($fh) = @_;
    sysread($fh, my $raw, 8);
    my $size = unpack('Q<', $raw // '');
    die "import: no size found in export header, aborting.\n" if !defined($size);
    return $size;
}

sub volume_export {
    my ($class, $scfg, $storeid, $fh, $volname, $format, $snapshot, $base_snapshot, $with_snapshots) = @_;
    die "cannot export volumes together with their snapshots in $class\n"
        if $with_snapshots && $scfg->{'snapshot-as-volume-chain'};
    not_mirrored('volume_export');
}

my sub transfer_formats {
    my ($class, $scfg, $volname, $with_snapshots) = @_;
    my ($vtype, $format) = ($class->parse_volname($volname))[0, 6];
    if ($with_snapshots) {
        return ($format eq 'qcow2' || $format eq 'vmdk') ? ("$format+size") : ();
    }
    return ('tar+size') if $format eq 'subvol';
    return ('raw+size') if $vtype =~ /^(?:images|iso|snippets|vztmpl|import)$/;
    return ();
}

sub volume_export_formats {
    my ($class, $scfg, $storeid, $volname, $snapshot, $base_snapshot, $with_snapshots) = @_;
    return () if !$scfg->{path} || defined($snapshot) || defined($base_snapshot);
    return transfer_formats($class, $scfg, $volname, $with_snapshots);
}

sub volume_import {
    my ($class, $scfg, $storeid, $fh, $volname, $format, $snapshot, $base_snapshot, $with_snapshots,
        $allow_rename) = @_;
    not_mirrored('volume_import');
}

sub volume_import_formats {
    my ($class, $scfg, $storeid, $volname, $snapshot, $base_snapshot, $with_snapshots) = @_;
    return () if !$scfg->{path} || defined($base_snapshot);
    return transfer_formats($class, $scfg, $volname, $with_snapshots);
}

sub rename_volume {
    my ($class, $scfg, $storeid, $source_volname, $target_vmid, $target_volname) = @_;
    die "not implemented in storage plugin '$class'\n" if $class->can('api') && $class->api() < 10;
    die "no path found\n" if !$scfg->{path};
    not_mirrored('rename_volume');
}

sub rename_snapshot {
    my ($class, $scfg, $storeid, $volname, $source_snap, $target_snap) = @_;
    not_mirrored('rename_snapshot');
}

sub qemu_blockdev_options {
    my ($class, $scfg, $storeid, $volname, $machine_version, $options) = @_;
    not_mirrored('qemu_blockdev_options');
}

sub new_backup_provider {
    my ($class, $scfg, $storeid, $log_function) = @_;
    die "implement me if enabling the feature 'backup-provider' in plugindata()->{features}\n";
}

sub volume_qemu_snapshot_method {
    my ($class, $storeid, $scfg, $volname) = @_;
    my $format = ($class->parse_volname($volname))[6];
    return $format eq 'qcow2' ? 'qemu' : 'storage';
}

sub config_aware_base_mkdir {
    my ($class, $scfg, $path) = @_;
    if ($scfg->{'create-base-path'} // $scfg->{mkdir} // 1) {
        require File::Path;
        File::Path::mkpath($path);
    }
}

sub get_identity {
    my ($class, $scfg, $storeid) = @_;
    die("get_identity not implemented for this plugin");
}

if ($STANDIN_RELEASE == 8) {
    no strict 'refs';
    delete ${'PVE::Storage::Plugin::'}{$_} for qw(get_formats qemu_blockdev_options rename_snapshot
        volume_qemu_snapshot_method is_hint_supported verify_hints on_update_hook_full get_identity);
}

1;
