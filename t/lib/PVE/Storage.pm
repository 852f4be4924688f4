# Test stand-in for PVE::Storage (libpve-storage-perl), written from scratch.
#
# Mirrors src/PVE/Storage.pm in https://github.com/proxmox/pve-storage at commit
# 0c56bad8b2a7d69e5ce2c243651fe830d6caa936 ("bump version to 9.1.7", 2026-07-24, PVE 9 / trixie):
#
#   APIVER = 15, APIAGE = 6  (the values at that commit)
#
# What loading this module does, in the real order:
#   1. registers the stock plugins (dir lvm lvmthin nfs cifs iscsi rbd cephfs iscsidirect zfspool
#      zfs pbs btrfs esxi). They are stand-ins generated at load time from
#      t/data/stock-storage-properties.json (type, plugindata, properties, options, base class - as
#      extracted from the real sources at that commit); their storage methods are the stand-in base
#      class's, so nothing but their schema is mirrored;
#   2. loads the third-party plugins: the real code scans /usr/share/perl5/PVE/Storage/Custom for
#      files matching ^(.*\.pm)$ (readdir order) and, for each, inside an eval:
#        require "PVE/Storage/Custom/<file>" (through @INC);
#        die "not derived from PVE::Storage::Plugin\n" unless ->isa('PVE::Storage::Plugin');
#        die "does not provide an api() method\n" unless ->can('api');
#        $version = ->api();
#        die "implements an API version newer than current ($version > APIVER)\n" if $version > APIVER;
#        die "API version too old, please update the plugin ($version < APIVER-APIAGE)\n"
#            if $version < APIVER - APIAGE;
#        ->register();   (dies "duplicate plugin registration (type = T)" for a taken type)
#        warn "Plugin \"<module>\" is implementing an older storage API, an upgrade is recommended\n"
#            if $version != APIVER;
#      and on any error: warn "Error loading storage plugin \"<module>\": <error>" - the plugin is
#      skipped, everything else loads.
#      => accepted: APIVER-APIAGE <= api() <= APIVER, i.e. 9..15 here (silently only for 15).
#      This stand-in reads "$ENV{PVE_STORAGE_CUSTOM_LIB}/PVE/Storage/Custom" instead when that
#      variable is set (empty: load none), otherwise the real /usr/share/perl5 directory.
#   3. PVE::Storage::Plugin->init() - OUTSIDE any eval: a custom plugin whose properties clash with
#      a stock (or base) property makes loading PVE::Storage itself die ("duplicate property 'X'"),
#      i.e. it breaks every PVE service using storage, not just the plugin.
#
# For tests (not in the real module, prefixed "standin_" or documented as such):
#   load_custom_plugins($libdir, apiver => N, apiage => N) - steps 2 and 3 for
#     "$libdir/PVE/Storage/Custom" with $libdir put first in @INC, same warnings and errors;
#     returns the module names it registered. apiver/apiage default to APIVER/APIAGE.
#   %STANDIN_API_LEVELS - APIVER/APIAGE of master (mirrored here) and of stable-8 (PVE 8 / bookworm,
#     commit 1af4790d7ef4caacc9db10cc3c5f64575f13e966: APIVER 11, APIAGE 2, accepted 9..11). The stock
#     schemas of that branch are in t/data/stock-storage-properties.stable-8.json.
#   PVE_STORAGE_STANDIN_RELEASE=8 (environment, read when PVE::Storage::Plugin loads; default 9):
#     this stand-in is stable-8 instead, the PVE 8 release: APIVER 11, APIAGE 2, the stock plugins
#     of t/data/stock-storage-properties.stable-8.json (with glusterfs), and PVE::Storage::Plugin as
#     there (see that file). $STANDIN_BRANCH says which ('master' or 'stable-8').
#   standin_with_registry_restored($code) - runs $code and afterwards restores the registered
#     plugins and re-runs init(), so a test can register throw-away plugins.
#   config()/write_config($cfg): the real ones go through pmxcfs (cfs_read_file('storage.cfg'));
#     here they read/write the file named by $ENV{PVE_STORAGE_STANDIN_CFG} with
#     PVE::Storage::Plugin->parse_config / ->write_config.
# Also mirrored: PVE::Storage::CephFSPlugin::check_config (a cephfs storage's default path
# /mnt/pve/<id>), $KNOWN_EXPORT_FORMATS, the volume-name regexes ($ISO_EXT_RE_0, $VZTMPL_EXT_RE_1,
# $BACKUP_EXT_RE_2, $IMPORT_EXT_RE_1, $UPLOAD_IMPORT_EXT_RE_1, $SAFE_CHAR_CLASS_RE,
# $SAFE_CHAR_WITH_WHITESPACE_CLASS_RE, $OVA_CONTENT_RE_1), storage_config, storage_check_node (the
# local node name comes from $ENV{PVE_STORAGE_STANDIN_NODENAME} instead of PVE::INotify),
# storage_check_enabled, parse_volume_id, complete_content_type.
# Left out: everything that talks to storages, pmxcfs, RPC environment (activate_*, path, vdisk_*,
# volume_* wrappers, storage_info, ...).
package PVE::Storage;

use strict;
use warnings;
use feature 'current_sub';

use File::Basename qw(dirname);
use File::Spec;
use JSON::PP ();

use PVE::JSONSchema;
use PVE::Tools;
use PVE::Storage::Plugin;

our (%STANDIN_API_LEVELS, $STANDIN_BRANCH);
BEGIN {
    %STANDIN_API_LEVELS = (
        master => { APIVER => 15, APIAGE => 6, commit => '0c56bad8b2a7d69e5ce2c243651fe830d6caa936' },
        'stable-8' => { APIVER => 11, APIAGE => 2, commit => '1af4790d7ef4caacc9db10cc3c5f64575f13e966' },
    );
    # PVE_STORAGE_STANDIN_RELEASE (read by PVE::Storage::Plugin): 9 = master, 8 = stable-8
    $STANDIN_BRANCH = $PVE::Storage::Plugin::STANDIN_RELEASE == 8 ? 'stable-8' : 'master';
}

use constant APIVER => $STANDIN_API_LEVELS{$STANDIN_BRANCH}->{APIVER};
use constant APIAGE => $STANDIN_API_LEVELS{$STANDIN_BRANCH}->{APIAGE};

our $KNOWN_EXPORT_FORMATS = ['raw+size', 'tar+size', 'qcow2+size', 'vmdk+size', 'zfs', 'btrfs'];

our $STANDIN_STOCK_JSON = File::Spec->catfile(dirname(File::Spec->rel2abs(__FILE__)), '..', '..', 'data',
    $STANDIN_BRANCH eq 'stable-8' ? 'stock-storage-properties.stable-8.json' : 'stock-storage-properties.json');

# ---- stock plugins (schema only) -------------------------------------------------------------

my sub read_json {
    my ($file) = @_;
    open(my $fh, '<:raw', $file) or die "PVE::Storage stand-in: cannot read '$file': $!\n";
    local $/;
    my $data = <$fh>;
    close($fh);
    return JSON::PP->new->decode($data);
}

my sub deep_copy {
    my ($v) = @_;
    return { map { $_ => __SUB__->($v->{$_}) } keys %$v } if ref($v) eq 'HASH';
    return [map { __SUB__->($_) } @$v] if ref($v) eq 'ARRAY';
    return JSON::PP::is_bool($v) ? ($v ? 1 : 0) : $v;
}

our $STANDIN_STOCK = read_json($STANDIN_STOCK_JSON);

sub PVE::Storage::ZFSPoolPlugin::verify_zfs_blocksize {
    my ($value, $noerr) = @_;
    return $value if !defined($value) || $value eq '';
    if (my ($num, $unit) = $value =~ /^([1-9][0-9]*)([km])?$/i) {
        my $bytes = $num * { '' => 1, k => 1024, m => 1024 * 1024 }->{ lc($unit // '') };
        return $value if $bytes >= 512 && $bytes <= 16 * 1024 * 1024 && ($bytes & ($bytes - 1)) == 0;
        return undef if $noerr;
        die "value '$value' is not a valid ZFS blocksize. Must be a power of 2 "
            . "between 512B and 16MiB (e.g., 4k, 8k, 16k, 64k, 1m).\n";
    }
    return undef if $noerr;
    die "invalid ZFS blocksize format '$value'. Use a positive number "
        . "(no leading zeros) with an optional 'k' or 'm' suffix.\n";
}
PVE::JSONSchema::register_format('pve-storage-zfs-blocksize', \&PVE::Storage::ZFSPoolPlugin::verify_zfs_blocksize);

{
    no strict 'refs';
    for my $entry (@{ $STANDIN_STOCK->{plugins} }) {
        my $pkg = $entry->{package};
        @{"${pkg}::ISA"} = ($entry->{isa});
        (my $file = "$pkg.pm") =~ s!::!/!g;
        $INC{$file} //= __FILE__; # so "use base 'PVE::Storage::DirPlugin'" works in custom plugins
        my %inherited = map { $_ => 1 } @{ $entry->{inherited} // [] };
        for my $method (qw(type plugindata properties options)) {
            next if $inherited{$method};
            my $value = $entry->{$method};
            *{"${pkg}::$method"} = ref($value) ? sub { deep_copy($value) } : sub { $value };
        }
    }
    for my $pkg (@{ $STANDIN_STOCK->{registration_order} }) {
        $pkg->register();
    }
}

# PVE::Storage::CephFSPlugin::check_config, as at the commit above (the one stock method besides the
# schema that reading storage.cfg runs): a cephfs storage without a path gets /mnt/pve/<id>, when it
# is created and whenever storage.cfg is read (parse_config checks each section as created).
{
    package PVE::Storage::CephFSPlugin;

    sub check_config {
        my ($class, $sectionId, $config, $create, $skipSchemaCheck) = @_;
        $config->{path} = "/mnt/pve/$sectionId" if $create && !$config->{path};
        return $class->SUPER::check_config($sectionId, $config, $create, $skipSchemaCheck);
    }
}

# ---- third-party plugins ---------------------------------------------------------------------

my sub load_from_dir {
    my ($libdir, %opt) = @_;
    my $apiver = $opt{apiver} // APIVER;
    my $apiage = $opt{apiage} // APIAGE;
    my $dir = "$libdir/PVE/Storage/Custom";
    return () if !-d $dir;

    local @INC = ($libdir, @INC);
    my @registered;
    PVE::Tools::dir_glob_foreach($dir, '.*\.pm$', sub {
        my ($file) = @_;
        (my $modname = "PVE::Storage::Custom::$file") =~ s/\.pm$//;
        $file = "PVE/Storage/Custom/$file";
        eval {
            require $file;
            die "not derived from PVE::Storage::Plugin\n" if !$modname->isa('PVE::Storage::Plugin');
            die "does not provide an api() method\n" if !$modname->can('api');
            my $version = $modname->api();
            die "implements an API version newer than current ($version > $apiver)\n" if $version > $apiver;
            my $min_version = $apiver - $apiage;
            die "API version too old, please update the plugin ($version < $min_version)\n"
                if $version < $min_version;
            $file->import();
            $modname->register();
            push @registered, $modname;
            warn "Plugin \"$modname\" is implementing an older storage API, an upgrade is recommended\n"
                if $version != $apiver;
        };
        warn "Error loading storage plugin \"$modname\": $@" if $@;
    });
    return @registered;
}

sub load_custom_plugins {
    my ($libdir, %opt) = @_;
    my @registered = load_from_dir($libdir, %opt);
    PVE::Storage::Plugin->init();
    return @registered;
}

sub standin_with_registry_restored {
    my ($code) = @_;
    my $pdata = PVE::Storage::Plugin->private();
    my %saved = map { $_ => { %{ $pdata->{$_} } } } qw(plugins plugindata);
    my @res = eval { $code->() };
    my $err = $@;
    $pdata->{$_} = $saved{$_} for keys %saved;
    PVE::Storage::Plugin->init();
    die $err if $err;
    return wantarray ? @res : $res[0];
}

{
    my $libdir = $ENV{PVE_STORAGE_CUSTOM_LIB} // '/usr/share/perl5';
    load_from_dir($libdir) if $libdir ne '';
}

PVE::Storage::Plugin->init();

# ---- volume name regexes (the "_N" suffix is the number of capture groups) -------------------

our $ISO_EXT_RE_0 = qr/\.(?:iso|img)/i;
our $VZTMPL_EXT_RE_1 = qr/\.(?|(tar)(?!\.)|tar\.(gz|xz|zst|bz2))/i;
our $BACKUP_EXT_RE_2 = qr/\.(tgz|(?:tar|vma)(?:\.(${\PVE::Storage::Plugin::COMPRESSOR_RE}))?)/;
our $IMPORT_EXT_RE_1 = qr/\.(ova|ovf|qcow2|raw|vmdk)/;
our $UPLOAD_IMPORT_EXT_RE_1 = qr/\.(ova|qcow2|raw|vmdk)/;
our $SAFE_CHAR_CLASS_RE = qr/[a-zA-Z0-9\-\.\+\=\_]/;
our $SAFE_CHAR_WITH_WHITESPACE_CLASS_RE = qr/[ a-zA-Z0-9\-\.\+\=\_]/;
our $OVA_CONTENT_RE_1 = qr/${SAFE_CHAR_WITH_WHITESPACE_CLASS_RE}+\.(qcow2|raw|vmdk)/;
our $vztmpl_extension_re = $VZTMPL_EXT_RE_1;

# ---- config helpers --------------------------------------------------------------------------

sub config {
    my $file = $ENV{PVE_STORAGE_STANDIN_CFG}
        // die "PVE::Storage stand-in: config() reads the file named by PVE_STORAGE_STANDIN_CFG (no pmxcfs here)\n";
    my $raw = '';
    if (open(my $fh, '<', $file)) {
        local $/;
        $raw = <$fh>;
        close($fh);
    }
    return PVE::Storage::Plugin->parse_config('storage.cfg', $raw);
}

sub write_config {
    my ($cfg) = @_;
    my $file = $ENV{PVE_STORAGE_STANDIN_CFG}
        // die "PVE::Storage stand-in: write_config() writes the file named by PVE_STORAGE_STANDIN_CFG\n";
    my $raw = PVE::Storage::Plugin->write_config('storage.cfg', $cfg);
    open(my $fh, '>', "$file.tmp") or die "unable to write '$file.tmp' - $!\n";
    print {$fh} $raw;
    close($fh) or die "unable to write '$file.tmp' - $!\n";
    rename("$file.tmp", $file) or die "unable to rename '$file.tmp' - $!\n";
}

sub storage_config {
    my ($cfg, $storeid, $noerr) = @_;
    die "no storage ID specified\n" if !$storeid;
    my $scfg = $cfg->{ids}->{$storeid};
    die "storage '$storeid' does not exist\n" if !$noerr && !$scfg;
    return $scfg;
}

sub storage_check_node {
    my ($cfg, $storeid, $node, $noerr) = @_;
    my $scfg = storage_config($cfg, $storeid);
    if ($scfg->{nodes}) {
        # the real code falls back to PVE::INotify::nodename() for an empty node or 'localhost'
        $node = $ENV{PVE_STORAGE_STANDIN_NODENAME} // die "PVE::Storage stand-in: no node name"
            . " (set PVE_STORAGE_STANDIN_NODENAME)\n" if !$node || $node eq 'localhost';
        if (!$scfg->{nodes}->{$node}) {
            die "storage '$storeid' is not available on node '$node'\n" if !$noerr;
            return undef;
        }
    }
    return $scfg;
}

sub storage_check_enabled {
    my ($cfg, $storeid, $node, $noerr) = @_;
    my $scfg = storage_config($cfg, $storeid);
    if ($scfg->{disable}) {
        die "storage '$storeid' is disabled\n" if !$noerr;
        return undef;
    }
    return storage_check_node($cfg, $storeid, $node, $noerr);
}

sub parse_volume_id {
    my ($volid, $noerr) = @_;
    return PVE::Storage::Plugin::parse_volume_id($volid, $noerr);
}

sub complete_content_type {
    my ($cmdname, $pname, $cvalue) = @_;
    return [qw(rootdir images vztmpl iso backup snippets)];
}

1;
