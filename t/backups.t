#!/usr/bin/perl
# GET/POST /nodes/{node}/smbgateway/shares/{name}/backups and POST .../backups/restore called the
# way pvedaemon does (stand-ins of PVE's REST layer in t/lib), on a share of a real btrfs on a
# loop device, backed up through the stand-ins of PBS's tools (t/bin, on PATH): the list equals
# the CLI's, backup and restore run as tasks and the restored file reads back, and a bad storage,
# a restore target inside a share, a malformed backup time are 4xx on their field before any task;
# the share's backup-storage/backup-schedule/backup-keep go through the share API like the CLI.
use strict;
use warnings;

use File::Temp qw(tempdir);
use FindBin;
use IO::Socket::INET;
use JSON::PP;
use Test::More;

BEGIN { $ENV{PVE_STORAGE_CUSTOM_LIB} = '' }

plan skip_all => 'needs root (btrfs on a loop device)' if $> != 0;
my $cli = $ENV{PVE_SMBGW_BIN} or BAIL_OUT('set PVE_SMBGW_BIN to the built pve-smbgateway');
chomp(my $free = `losetup -f 2>/dev/null`);
plan skip_all => 'no free loop device' if !$free;

my $dir = tempdir('smbgw-backups.XXXXXX', TMPDIR => 1, CLEANUP => 1);
chmod 0755, $dir;
$ENV{PVE_SMBGW_ROOT} = "$dir/root";
my $port = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1', LocalPort => 0)->sockport;
$ENV{PVE_SMBGW_SMB_PORT} = $port;
$ENV{PVE_STANDIN_TASK_DIR} = "$dir/tasks";

# PBS: the stand-ins on PATH, their store (datastore ds) and the storage's password where PVE
# keeps it; the server's secret in a file, out of every environment
my $secret = 'pbs-Api-Secret-93b1';
my $fp = join(':', ('ab') x 16, ('cd') x 16); # the stand-in server's certificate
mkdir "$dir/pbs"; mkdir "$dir/pbs/ds"; mkdir "$dir/bin";
for my $tool (qw(proxmox-backup-client proxmox-file-restore)) {
    open(my $fh, '>', "$dir/bin/$tool") or die;
    print $fh "#!/bin/sh\nexport PBS_STANDIN_STORE='$dir/pbs'\nexec '$FindBin::Bin/bin/$tool' \"\$@\"\n";
    close($fh);
    chmod 0755, "$dir/bin/$tool";
}
$ENV{PATH} = "$dir/bin:$ENV{PATH}";
sub write_file { my ($path, $text) = @_; open(my $fh, '>', $path) or die "$path: $!\n"; print $fh $text; close($fh) }
system('mkdir', '-p', "$dir/root/pve/priv/storage") == 0 or die;
write_file("$dir/pbs/secret", "$secret\n");
write_file("$dir/root/pve/priv/storage/pbs1.pw", "$secret\n");
write_file("$dir/root/pve/storage.cfg",
    "dir: local\n\tpath /var/lib/vz\n\tcontent backup\n\ndir: scratch\n\tpath $dir\n\tcontent backup\n\npbs: pbs1\n\tserver pbs.example\n\tdatastore ds\n\tusername smbgw\@pbs\n\tfingerprint $fp\n");

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

use PVE::APIStandin;
use PVE::API2::SMBGateway;

PVE::INotify::standin_set_nodename('pve1');
PVE::APIStandin::mount_node_api('PVE::API2::SMBGateway', 'smbgateway');
PVE::RPCEnvironment::standin_set_acl({
    'auditor@pve' => { '/' => ['PVEAuditor'] },
    'admin@pve' => { '/nodes/pve1' => ['Sys.Audit', 'Sys.Modify'] },
});
my $ROOT = PVE::APIStandin::ROOT();
my $base = '/nodes/pve1/smbgateway/shares/docs/backups';

sub api {
    my ($method, $path, $params, $user) = @_;
    my $data = eval { PVE::APIStandin::call_api($ROOT, $method, "$base$path", $params // {}, user => $user // 'root@pam') };
    return ($data, $@);
}

sub cli_json {
    my $out = `$cli @_ --output-format json`;
    die "pve-smbgateway @_ failed: $?\n" if $?;
    return decode_json($out);
}

system("'$cli' create docs --path '$dir/mnt/docs' >/dev/null 2>&1") == 0 or die "create failed\n";
write_file("$dir/mnt/docs/report.txt", "quarterly figures\n");

sub calls { open(my $fh, '<', "$dir/pbs/calls") or return 0; my @l = <$fh>; return scalar(@l) }

my ($list, $err) = api('GET', '', {}, 'auditor@pve');
is($err, '', 'an auditor reads the backups') or diag($err);
is_deeply([map { $_->{storage} } @{ $list->{storages} }], ['pbs1'], 'every usable PBS storage');
is_deeply($list->{storages}->[0]->{backups}, [], 'none yet');

my $calls = calls();
(undef, $err) = api('POST', '', { storage => 'pbs1' }, 'auditor@pve');
is(ref($err) && $err->{code}, 403, 'an auditor may not back up');
(undef, $err) = api('POST', '', { storage => 'local' }, 'admin@pve');
like(ref($err) && $err->{errors}->{storage}, qr/is of type 'dir'/, 'a storage not of type pbs is a 400 on storage');
(undef, $err) = api('POST', '', {}, 'admin@pve');
ok(ref($err) && $err->{errors}->{storage}, 'the storage is required');
is(calls(), $calls, 'no PBS tool ran for a refusal');

my ($upid);
($upid, $err) = api('POST', '', { storage => 'pbs1' }, 'admin@pve');
is($err, '', 'backup accepted') or diag($err);
like($upid, qr/:smbgwbackup_create:docs:admin\@pve:$/, 'a task named after the share');
my $task = PVE::APIStandin::wait_task($upid);
is($task->{status}, 'OK', 'the backup task succeeded') or diag($task->{log});
like($task->{log}, qr{backed up as host/[^/ ]+-smbgw-docs/\d{4}-\d\d-\d\dT}, 'its log names the PBS snapshot');
like($task->{log}, qr{take backup snapshot.*back up the snapshot to PBS storage 'pbs1'.*delete snapshot}s, 'and each step in order');
is_deeply(cli_json('snapshot', 'list', 'docs')->{snapshots}, [], 'the backup snapshot is gone');

($list) = api('GET', '', { storage => 'pbs1' });
is(scalar(@{ $list->{storages}->[0]->{backups} }), 1, 'one backup');
is_deeply($list, cli_json('backup', 'list', 'docs', '--storage', 'pbs1'), 'API list equals CLI json');
my $time = $list->{storages}->[0]->{backups}->[0]->{time};

(undef, $err) = api('POST', '/restore', { storage => 'pbs1', snapshot => $time, target => "$dir/mnt/docs/back" }, 'admin@pve');
like(ref($err) && $err->{errors}->{target}, qr/lies inside .*share 'docs'/, 'a target inside a share is a 400 on target');
(undef, $err) = api('POST', '/restore', { storage => 'pbs1', snapshot => 'latest', target => "$dir/r" }, 'admin@pve');
like(ref($err) && $err->{errors}->{snapshot}, qr/not a backup time/, 'a malformed time is a 400 on snapshot');
ok(!-e "$dir/r", 'nothing was made');

($upid, $err) = api('POST', '/restore', { storage => 'pbs1', snapshot => $time, target => "$dir/r", file => 'report.txt' }, 'admin@pve');
is($err, '', 'single-file restore accepted') or diag($err);
$task = PVE::APIStandin::wait_task($upid);
is($task->{status}, 'OK', 'the restore task succeeded') or diag($task->{log});
open(my $fh, '<', "$dir/r/report.txt") or die "$dir/r/report.txt: $!\n";
is(do { local $/; <$fh> }, "quarterly figures\n", 'the file reads back');

# the share's backup settings through the share API: refused on their field, stored when good
my $share = '/nodes/pve1/smbgateway/shares/docs';
my $put = sub {
    my ($params) = @_;
    my $upid = eval { PVE::APIStandin::call_api($ROOT, 'PUT', $share, $params, user => 'root@pam') };
    return ($upid, $@);
};
(undef, $err) = $put->({ 'backup-storage' => 'nope' });
like(ref($err) && $err->{errors}->{'backup-storage'}, qr/does not exist in storage\.cfg/, 'an unknown backup-storage is a 400 on its field');
(undef, $err) = $put->({ 'backup-schedule' => 'daily' });
like(ref($err) && $err->{errors}->{'backup-schedule'}, qr/needs --backup-storage/, 'a backup-schedule without storage is a 400 on its field');
($upid, $err) = $put->({ 'backup-storage' => 'pbs1', 'backup-schedule' => 'sat 02:00', 'backup-keep' => 'keep-weekly=4' });
is($err, '', 'good backup settings accepted') or diag($err);
is(PVE::APIStandin::wait_task($upid)->{status}, 'OK', 'and stored');
my $shown = cli_json('show', 'docs');
is_deeply([@$shown{qw(backup-storage backup-schedule backup-keep)}], ['pbs1', 'sat 02:00', 'keep-weekly=4'], 'as the CLI shows them');

done_testing();
