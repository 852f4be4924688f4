#!/usr/bin/perl
# GET/POST /nodes/{node}/smbgateway/shares/{name}/snapshots, DELETE .../snapshots/{snapshot} and
# POST .../snapshots/{snapshot}/rollback called the way pvedaemon does (stand-ins of PVE's REST
# layer in t/lib), on a share of a real btrfs on a loop device: the list equals the CLI's, the
# changes run as tasks, and a snapshot the gateway did not make, a rollback without confirm and
# a malformed snapshot name are 4xx on their field before any task.
use strict;
use warnings;

use Test::More;

use SMBGWTest;

BEGIN { $ENV{PVE_STORAGE_CUSTOM_LIB} = '' }

plan skip_all => 'needs root (btrfs on a loop device)' if $> != 0;
my $cli = $ENV{PVE_SMBGW_BIN} or BAIL_OUT('set PVE_SMBGW_BIN to the built pve-smbgateway');
chomp(my $free = `losetup -f 2>/dev/null`);
plan skip_all => 'no free loop device' if !$free;

my $dir = SMBGWTest::sandbox('snapshots', smb_port => 1);

system("truncate -s 512M '$dir/btrfs.img'") == 0 or die "truncate failed\n";
chomp(my $loop = `losetup --find --show '$dir/btrfs.img'`);
die "losetup failed\n" if $? || !$loop;
mkdir "$dir/mnt";
system("mkfs.btrfs -q -f $loop >/dev/null && mount $loop '$dir/mnt'") == 0 or die "mkfs/mount failed\n";
END {
    system("'$cli' stop >/dev/null 2>&1") if $cli;
    system("umount -l '$dir/mnt'") if $dir;
    system("losetup -d $loop") if $loop;
}

my $api = SMBGWTest::node_api('/nodes/pve1/smbgateway/shares/docs/snapshots');
sub api { return $api->(@_) }

sub cli_json { return SMBGWTest::cli_json(@_) }

system("'$cli' create docs --path '$dir/mnt/docs' --shadow-copies 1 >/dev/null 2>&1") == 0 or die "create failed\n";

my ($list, $err) = api('GET', '', {}, 'auditor@pve');
is($err, '', 'an auditor reads the snapshots') or diag($err);
is_deeply($list->{snapshots}, [], 'none yet');

(undef, $err) = api('POST', '', {}, 'auditor@pve');
is(ref($err) && $err->{code}, 403, 'an auditor may not take one');
my ($upid);
($upid, $err) = api('POST', '', {}, 'admin@pve');
is($err, '', 'snapshot create accepted') or diag($err);
like($upid, qr/:smbgwsnapshot_create:docs:admin\@pve:$/, 'a task named after the share');
my $task = PVE::APIStandin::wait_task($upid);
is($task->{status}, 'OK', 'the task succeeded') or diag($task->{log});
like($task->{log}, qr/take manual snapshot \@GMT-/, 'its log names the snapshot');

($list) = api('GET', '');
is(scalar(@{ $list->{snapshots} }), 1, 'one snapshot');
my $ours = $list->{snapshots}->[0];
is($ours->{kind}, 'manual', 'ours, taken by hand');
is_deeply($list, cli_json('snapshot', 'list', 'docs'), 'API list equals CLI json');

# one made by hand: listed, never deleted
my $foreign = '@GMT-2026.01.01-00.00.00';
system("btrfs subvolume snapshot -r '$dir/mnt/docs' '$dir/mnt/docs/.snapshots/$foreign' >/dev/null") == 0
    or die "btrfs snapshot failed\n";
($upid, $err) = api('DELETE', "/$foreign", {}, 'admin@pve');
ok(!defined($upid), 'no task for a foreign snapshot');
like(ref($err) && $err->{errors}->{snapshot}, qr/was not made by the gateway/, 'refused on the snapshot field');
ok(-d "$dir/mnt/docs/.snapshots/$foreign", 'it is still there');
(undef, $err) = api('DELETE', '/..', {}, 'admin@pve');
ok(ref($err) && $err->{errors}->{snapshot}, 'a malformed name is refused by the schema');
(undef, $err) = api('DELETE', '/@GMT-2020.01.01-00.00.00', {}, 'admin@pve');
is(ref($err) && $err->{code}, 404, 'an unknown snapshot is a 404');

# rollback: only with confirm
(undef, $err) = api('POST', "/$ours->{name}/rollback", {}, 'admin@pve');
like(ref($err) && $err->{errors}->{confirm}, qr/--confirm/, 'a rollback without confirm is refused on confirm');
is(scalar(@{ cli_json('snapshot', 'list', 'docs')->{snapshots} }), 2, 'and takes no safety snapshot');

($upid, $err) = api('DELETE', "/$ours->{name}", {}, 'admin@pve');
is($err, '', 'deleting ours accepted') or diag($err);
$task = PVE::APIStandin::wait_task($upid);
is($task->{status}, 'OK', 'the delete task succeeded') or diag($task->{log});
($list) = api('GET', '');
is_deeply([map { $_->{name} } @{ $list->{snapshots} }], [$foreign], 'only the foreign one is left');
system("btrfs subvolume delete '$dir/mnt/docs/.snapshots/$foreign' >/dev/null");

done_testing();
