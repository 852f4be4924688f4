#!/usr/bin/perl
# PVE::Storage::Custom::SMBGatewayPlugin loaded the way PVE::Storage loads third-party plugins
# (stand-ins in t/lib mirror pve-storage), beside every stock plugin, and used on a real share
# with a btrfs quota.
use strict;
use warnings;

use File::Basename qw(dirname);
use File::Temp qw(tempdir);
use IO::Socket::INET;
use JSON::PP;
use Test::More;

BEGIN { $ENV{PVE_STORAGE_CUSTOM_LIB} = ''; $ENV{PVE_STORAGE_STANDIN_RELEASE} = 9 } # hermetic: nothing from /usr/share/perl5; PVE 9

plan skip_all => 'needs root (loop device, smbd)' if $> != 0;
my $cli = $ENV{PVE_SMBGW_BIN} or BAIL_OUT('set PVE_SMBGW_BIN to the built pve-smbgateway');
my $repo = dirname(dirname(__FILE__));

my $dir = tempdir('smbgw-storage.XXXXXX', TMPDIR => 1, CLEANUP => 1);
chmod 0755, $dir;
$ENV{PVE_SMBGW_ROOT} = "$dir/root";
$ENV{PVE_SMBGW_SMB_PORT} = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1', LocalPort => 0)->sockport;

require PVE::Storage;
my $plugin = 'PVE::Storage::Custom::SMBGatewayPlugin';

# As on a node: PVE::Storage scans the custom plugin directory while it loads, under the stand-in
# of each release (a perl of its own each: PVE::Storage loads once per process). Neither may warn.
my $child = <<'PERL';
my @warnings;
BEGIN { $SIG{__WARN__} = sub { push @warnings, $_[0] } }
require PVE::Storage;
require JSON::PP;
my $plugin = 'PVE::Storage::Custom::SMBGatewayPlugin';
print JSON::PP->new->canonical->encode({
    apiver => PVE::Storage::APIVER(),
    api => $plugin->can('api') ? $plugin->api() : undef,
    registered => (grep { $_ eq 'smbgateway' } @{ PVE::Storage::Plugin->lookup_types() }) ? 1 : 0,
    warnings => join('', @warnings),
});
PERL
for my $release (8, 9) {
    subtest "PVE $release loads it without a warning" => sub {
	local $ENV{PVE_STORAGE_STANDIN_RELEASE} = $release;
	local $ENV{PVE_STORAGE_CUSTOM_LIB} = "$repo/perl";
	open(my $fh, '-|', $^X, "-I$repo/t/lib", "-I$repo/perl", '-e', $child) or die "perl: $!";
	my $out = do { local $/; <$fh> };
	close($fh);
	is($?, 0, 'PVE::Storage loads');
	my $res = eval { decode_json($out) } // {};
	my $apiver = $release == 8 ? 11 : 15;
	is($res->{apiver}, $apiver, "the stand-in of PVE $release has APIVER $apiver");
	is($res->{registered}, 1, 'the smbgateway type is registered');
	is($res->{api}, $apiver, "api() is $apiver");
	is($res->{warnings}, '', 'no warning (no "older storage API", no load error)');
    };
}

# For the rest: registered for real, at the API level of the mirrored pve-storage (PVE 9).
my @warnings;
{
    local $SIG{__WARN__} = sub { push @warnings, $_[0] };
    my @loaded = PVE::Storage::load_custom_plugins("$repo/perl");
    is_deeply(\@loaded, [$plugin], 'PVE 9 (APIVER 15) loads it: SectionConfig init found no property clash');
}
is(join('', @warnings), '', 'and without a warning');

subtest 'schema' => sub {
    is($plugin->type(), 'smbgateway', 'type');
    my $data = PVE::Storage::Plugin->private();
    ok($data->{propertyList}->{'smbgateway-share'}, 'our property is in the merged property list');
    for my $file ('stock-storage-properties.json', 'stock-storage-properties.stable-8.json') {
	my $stock = decode_json(do { local (@ARGV, $/) = ("$repo/t/data/$file"); <> });
	my $taken = $stock->{property_defined_by};
	ok(!exists $taken->{$_}, "$file: '$_' is not a stock property") for keys %{ $plugin->properties() };
	my %known = (%$taken, map { $_ => 1 } keys %{ $stock->{base_properties} }, %{ $plugin->properties() });
	ok($known{$_}, "$file: option '$_' exists") for keys %{ $plugin->options() };
    }
    my $cfg = PVE::Storage::Plugin->parse_config('storage.cfg', "smbgateway: isos\n\tsmbgateway-share media\n\tcontent iso,vztmpl\n");
    is($cfg->{ids}->{isos}->{type}, 'smbgateway', 'a storage.cfg section parses');
    is_deeply($cfg->{ids}->{isos}->{content}, { iso => 1, vztmpl => 1 }, 'content list');
};

# A real share with a quota on btrfs
my $img = "$dir/btrfs.img";
system('truncate', '-s', '512M', $img) == 0 or die;
chomp(my $loop = `losetup --find --show $img`);
system('mkfs.btrfs', '-q', '-f', $loop) == 0 or die;
mkdir "$dir/mnt";
system('mount', $loop, "$dir/mnt") == 0 or die;
END {
    system($cli, 'stop') if $cli && $ENV{PVE_SMBGW_ROOT};
    system('umount', '-l', "$dir/mnt") if $dir && -d "$dir/mnt";
    system('losetup', '-d', $loop) if $loop;
}
system($cli, 'create', 'media', '--path', "$dir/mnt/media", '--quota', '100M') == 0 or die 'create failed';

subtest 'a share with a quota as storage' => sub {
    my $scfg = { type => 'smbgateway', 'smbgateway-share' => 'media', content => { iso => 1, backup => 1 } };
    $plugin->on_add_hook('media-store', $scfg);
    is($scfg->{path}, "$dir/mnt/media", 'on_add_hook takes the share path');
    ok($plugin->check_connection('media-store', $scfg), 'check_connection');
    ok($plugin->activate_storage('media-store', $scfg), 'activate_storage');
    ok(-d "$dir/mnt/media/template/iso" && -d "$dir/mnt/media/dump", 'content directories created');

    open(my $fh, '>', "$dir/mnt/media/template/iso/x.iso") or die;
    print $fh "\0" x (10 * 1024 * 1024);
    close($fh);
    my ($total, $avail, $used, $active) = $plugin->status('media-store', $scfg);
    is($total, 100 * 1024 * 1024, 'total is the quota');
    cmp_ok($used, '>=', 10 * 1024 * 1024, "used counts the 10 MiB written ($used)");
    is($avail, $total - $used, 'avail is what is left of the quota');
    is($active, 1, 'active');

    my $wrong = { %$scfg, path => '/srv/elsewhere' };
    eval { $plugin->on_add_hook('x', $wrong) };
    like($@, qr/is not the path of share 'media'/, 'a storage path other than the share path is refused');
    # an update may not point the storage elsewhere: on_update_hook_full (storage API 13+, PVE 9) ...
    is($plugin->on_update_hook_full('media-store', $scfg, { path => "$dir/mnt/media", content => 'iso' }, [], {}),
	undef, 'an update keeping the share path is fine');
    eval { $plugin->on_update_hook_full('media-store', $scfg, { path => '/srv/elsewhere' }, [], {}) };
    like($@, qr/^storage path '\/srv\/elsewhere' is not the path of share 'media'/, 'an update to another path is refused');
    eval { $plugin->on_update_hook_full('media-store', $scfg, {}, ['content', 'path'], {}) };
    like($@, qr/'path' is the path of share 'media' and cannot be deleted/, 'deleting the path is refused');
    # ... and on_update_hook (PVE 8), which gets only the changed properties and reads storage.cfg
    local $ENV{PVE_STORAGE_STANDIN_CFG} = "$dir/storage.cfg";
    PVE::Storage::write_config({ ids => { 'media-store' => { %$scfg } }, order => { 'media-store' => 1 } });
    eval { $plugin->on_update_hook('media-store', { path => '/srv/elsewhere' }) };
    like($@, qr/^storage path '\/srv\/elsewhere' is not the path of share 'media'/, 'PVE 8: another path is refused');
    is($plugin->on_update_hook('media-store', { path => "$dir/mnt/media" }), undef, 'PVE 8: the share path is fine');
    is($plugin->on_update_hook('media-store', { content => 'iso' }), undef, 'PVE 8: other properties are not checked');

    my $missing = { type => 'smbgateway', 'smbgateway-share' => 'nosuch' };
    eval { $plugin->on_add_hook('y', $missing) };
    like($@, qr/share 'nosuch' does not exist/, 'a missing share is refused on add');
    is(scalar($plugin->status('y', $missing)), undef, 'status of a missing share is undef (storage inactive)');

    # with a path, adding the storage provisions the share
    my $new = { type => 'smbgateway', 'smbgateway-share' => 'backups', path => "$dir/mnt/backups", content => { backup => 1 } };
    $plugin->on_add_hook('backup-store', $new);
    my $created = PVE::RS::SMBGateway::show_share({ name => 'backups' });
    is($created->{path}, "$dir/mnt/backups", 'on_add_hook created the share at the storage path');
    is($created->{comment}, 'PVE storage backup-store', 'the share says which storage made it');
    ok(-d "$dir/mnt/backups" && $plugin->activate_storage('backup-store', $new), 'its directory is there and activates');

    # a link a share user planted where a content directory goes: nothing is made through it
    my $victim = "$dir/victim";
    mkdir($victim, 0700) or die "mkdir $victim: $!";
    my $links = { type => 'smbgateway', 'smbgateway-share' => 'backups', content => { iso => 1 } };
    symlink($victim, "$dir/mnt/backups/template") or die "symlink: $!";
    eval { $plugin->activate_storage('backup-store', $links) };
    like($@, qr/template/, 'activation refuses a planted link in place of a content directory');
    ok(!-e "$victim/iso", 'nothing was created through the link');
    unlink("$dir/mnt/backups/template");
    ok($plugin->activate_storage('backup-store', $links) && -d "$dir/mnt/backups/template/iso", 'without the link it activates');
    # a share whose storage is gone (its subvolume not mounted): PVE must not write below it
    rename("$dir/mnt/media", "$dir/mnt/media.away") or die "rename: $!";
    mkdir("$dir/mnt/media") or die;
    eval { $plugin->activate_storage('media-store', $scfg) };
    like($@, qr/share 'media' is unavailable/, 'activation refuses a share whose subvolume is not there');
    ok(!-e "$dir/mnt/media/dump", 'nothing was created on the filesystem below');
    rmdir("$dir/mnt/media");
    rename("$dir/mnt/media.away", "$dir/mnt/media") or die "rename back: $!";

    my $bad = { type => 'smbgateway', 'smbgateway-share' => 'bad', path => "relative/path" };
    eval { $plugin->on_add_hook('bad-store', $bad) };
    like($@, qr/absolute/, 'a bad path is refused by the core');
};

done_testing();
