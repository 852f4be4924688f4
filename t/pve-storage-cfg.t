#!/usr/bin/perl
# The gateway reads PVE's storage.cfg itself (crates/core/src/pve_storage.rs); this checks it reads
# it as PVE does: the same awkward file goes through the stand-in of PVE::Storage::Plugin's
# parse_config (t/lib, a mirror of pve-common's SectionConfig and pve-storage's Plugin) and through
# `pve-smbgateway storages`, which must list exactly the storages PVE has of a type a share can
# use, enabled, for this node, with the path PVE has for each.
use strict;
use warnings;

use File::Temp qw(tempdir);
use JSON::PP;
use Test::More;

BEGIN { $ENV{PVE_STORAGE_CUSTOM_LIB} = ''; $ENV{PVE_STORAGE_STANDIN_RELEASE} = 9 }

my $cli = $ENV{PVE_SMBGW_BIN} or BAIL_OUT('set PVE_SMBGW_BIN to the built pve-smbgateway');
my $dir = tempdir('smbgw-pvecfg.XXXXXX', TMPDIR => 1, CLEANUP => 1);
$ENV{PVE_SMBGW_ROOT} = "$dir/root";
mkdir "$dir/root";
mkdir "$dir/root/pve";
mkdir "$dir/a";

require PVE::Storage;

# comments anywhere, a type in capitals, a bad id, a header without the empty line before it (PVE
# ignores it and gives its properties to the section above: a repeated path keeps the first), a
# cephfs with its default path, node lists with ';' and bad names, types a share cannot use
my $text = <<"CFG";
# storages of the lab
dir: local
\tpath /var/lib/vz
\tcontent iso,vztmpl,backup

DIR: upper
\tpath $dir/a

dir: x
\tpath $dir/a

dir: good-1
\tpath $dir/a
# a comment inside a section
\tnodes pve1;pve2,bad_name
dir: swallowed
\tpath $dir/b

btrfs: other-node
\tpath $dir/a
\tnodes pve2

cephfs: cephdefault
\tcontent backup

zfspool: zp
\tpool tank/data
\tmountpoint $dir/a/

dir: off
\tpath $dir/a
\tdisable 1

dir: on
\tpath $dir/a
\tdisable 0

lvmthin: thin
\tthinpool data
\tvgname pve

rbd: vms
\tpool vms
CFG

open(my $fh, '>', "$dir/root/pve/storage.cfg") or die $!;
print $fh $text;
close($fh);
open($fh, '>', "$dir/root/pve/.members") or die $!;
print $fh qq({\n"nodename": "pve1",\n"version": 2\n}\n);
close($fh);

my @warnings;
my $cfg = do {
    local $SIG{__WARN__} = sub { push @warnings, @_ };
    PVE::Storage::Plugin->parse_config('storage.cfg', $text);
};
ok(scalar(grep { /skip section 'x'/ } @warnings), 'PVE skips the section with a bad id') or diag(@warnings);

my %usable_type = map { $_ => 1 } qw(dir btrfs cephfs zfspool);
my $ids = $cfg->{ids};
my @expected = map {
    my $s = $ids->{$_};
    { storage => $_, type => $s->{type}, path => ($s->{type} eq 'zfspool' ? $s->{mountpoint} : $s->{path}) }
} grep {
    my $s = $ids->{$_};
    # a section PVE could not check stays undef
    defined($s) && $usable_type{ $s->{type} } && !$s->{disable} && (!$s->{nodes} || $s->{nodes}->{pve1})
} sort { ($cfg->{order}->{$a} // 0) <=> ($cfg->{order}->{$b} // 0) } keys %$ids;

my $json = `$cli storages --output-format json`;
is($?, 0, 'storages ran') or diag($json);
my @got = map { { storage => $_->{storage}, type => $_->{type}, path => $_->{path} } } @{ decode_json($json) };
# PVE keeps the mountpoint as written; the gateway without its trailing '/'
$_->{path} =~ s{(.)/+$}{$1} for @expected;
is_deeply(\@got, \@expected, 'the gateway lists the storages PVE has, usable here, with their paths')
    or diag(explain({ got => \@got, expected => \@expected }));
is($ids->{'good-1'}->{path}, "$dir/a", 'PVE keeps the first of a repeated property (the check above agrees)');
ok(!$ids->{swallowed}, 'and ignores a header without an empty line before it');

done_testing();
