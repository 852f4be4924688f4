#!/usr/bin/perl
# The interface of the proxmox-backup-client stand-in (t/bin/proxmox-backup-client) that the
# gateway's PBS backups are tested against: what goes in comes back byte for byte, the JSON the
# gateway parses has the real client's shape, prune keeps what the --keep-* options say, and each
# failure the gateway must tell apart (transient or permanent) ends with the real client's
# message and exit status 255. Run: prove t/pbs-client.t
use strict;
use warnings;

use File::Basename qw(dirname);
use File::Path qw(make_path);
use File::Temp qw(tempdir);
use IPC::Open3;
use JSON::PP;
use Symbol qw(gensym);
use MIME::Base64 ();
use Test::More;

our $client = dirname(__FILE__) . '/bin/proxmox-backup-client';
sub encode_b64 { MIME::Base64::encode_base64($_[0], '') }
my $tmp = tempdir('pbs-client-t-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $store = "$tmp/store";
make_path("$store/ds");
my $fp = join(':', ('ab') x 16, ('cd') x 16);
my $repo = 'root@pam@pbs.example:ds';
# TZ: prune buckets days in local time, as PBS does
my %base = (PBS_STANDIN_STORE => $store, PBS_FINGERPRINT => $fp, PBS_PASSWORD => 'pw', TZ => 'UTC');

# Run the stand-in with %$env over the base environment (undef deletes); (exit code, stdout, stderr).
sub run {
    my ($env, @args) = @_;
    my $stdin = ref($args[-1]) eq 'SCALAR' ? ${ pop @args } : undef;
    local %ENV = %ENV;
    delete @ENV{grep { m/^PBS_/ } keys %ENV};
    my %all = (%base, %$env);
    for my $k (keys %all) {
	if (defined $all{$k}) { $ENV{$k} = $all{$k} } else { delete $ENV{$k} }
    }
    my $err = gensym;
    my $pid = open3(my $in, my $out, $err, $client, @args);
    print $in $stdin if defined $stdin;
    close($in);
    local $/;
    my ($o, $e) = (scalar(<$out>) // '', scalar(<$err>) // '');
    waitpid($pid, 0);
    return ($? >> 8, $o, $e);
}

sub slurp {
    my ($path) = @_;
    open(my $fh, '<:raw', $path) or die "$path: $!";
    local $/;
    return scalar <$fh>;
}

# a share's data: a file with every byte value, a 0600 file in a subdirectory, a symlink
my $src = "$tmp/src";
make_path("$src/sub");
open(my $fh, '>:raw', "$src/bytes") or die;
print $fh join('', map { chr($_ % 256) } 0 .. 70000);
close($fh);
open($fh, '>', "$src/sub/private") or die;
print $fh "only for the owner\n";
close($fh);
chmod(0600, "$src/sub/private") or die;
symlink('../bytes', "$src/sub/link") or die;

my $group = 'host/n1-smbgw-docs';
my $t0 = 1_700_000_000;

subtest 'backup, snapshot list, restore round-trip' => sub {
    my ($rc, $out, $err) = run({ PBS_PASSWORD => undef, PBS_PASSWORD_FD => 0 },
	'backup', "docs.pxar:$src", '--repository', $repo, '--backup-type', 'host',
	'--backup-id', 'n1-smbgw-docs', '--backup-time', $t0, \"pw\n");
    is($rc, 0, 'backup exits 0') or diag $err;
    is($out, '', 'backup prints nothing on stdout (its log goes to stderr)');
    like($err, qr{^Starting backup: host/n1-smbgw-docs/2023-11-14T22:13:20Z$}m, 'log names the snapshot');
    like(slurp("$store/calls"), qr/\tPBS_PASSWORD_FD$/m, 'the password came through the descriptor');

    ($rc, $out, $err) = run({}, 'snapshot', 'list', $group, '--repository', $repo, '--output-format', 'json');
    is($rc, 0, 'snapshot list exits 0') or diag $err;
    my $list = decode_json($out);
    is(scalar(@$list), 1, 'one snapshot');
    my $s = $list->[0];
    is_deeply([@$s{qw(backup-type backup-id backup-time owner)}], ['host', 'n1-smbgw-docs', $t0, 'root@pam'],
	'type, id, time, owner');
    ok(JSON::PP::is_bool($s->{protected}) && !$s->{protected}, 'protected is a JSON false');
    is_deeply([map { $_->{filename} } @{ $s->{files} }], ['docs.pxar.didx', 'catalog.pcat1.didx', 'index.json.blob'],
	'files as the server lists them');
    my $sum = 0;
    $sum += $_->{size} for @{ $s->{files} };
    is($s->{size}, $sum, 'size is the sum of the files');

    my $target = "$tmp/restored";
    ($rc, $out, $err) = run({}, 'restore', "$group/2023-11-14T22:13:20Z", 'docs.pxar', $target, '--repository', $repo);
    is($rc, 0, 'restore exits 0') or diag $err;
    is(slurp("$target/bytes"), slurp("$src/bytes"), 'bytes read back');
    is(slurp("$target/sub/private"), "only for the owner\n", 'private file read back');
    is((stat("$target/sub/private"))[2] & 07777, 0600, 'its mode stays 0600');
    ok(-l "$target/sub/link", 'the symlink is restored as a symlink');
    is(readlink("$target/sub/link"), '../bytes', 'pointing where it pointed');

    ($rc, $out, $err) = run({}, 'restore', $group, 'docs.pxar', $target, '--repository', $repo);
    is($rc, 255, 'restoring over existing files fails');
    like($err, qr/^Error: error extracting archive - error at entry "[^"]+": failed to create \w+ "[^"]+": EEXIST: File exists$/m,
	'as pxar says it');

    ($rc, $out, $err) = run({}, 'catalog', 'dump', "$group/2023-11-14T22:13:20Z", '--repository', $repo);
    is($rc, 0, 'catalog dump exits 0');
    is($out, '', 'the catalog goes to stderr, as the real client logs it');
    like($err, qr{^f "\./docs\.pxar\.didx/sub/private" 19 \S+Z$}m, 'files with size and time');
    like($err, qr{^l "\./docs\.pxar\.didx/sub/link"$}m, 'symlinks');
};

subtest 'proxmox-file-restore: list and extract single entries' => sub {
    my $fr = dirname(__FILE__) . '/bin/proxmox-file-restore';
    local $client = $fr;
    my $snap = "$group/2023-11-14T22:13:20Z";
    my ($rc, $out, $err) = run({}, 'list', $snap, '/', '--repository', $repo, '--output-format', 'json');
    is($rc, 0, 'list / exits 0') or diag $err;
    my $top = decode_json($out);
    is_deeply([map { [$_->{text}, $_->{type}, $_->{leaf} ? 1 : 0] } @$top], [['/docs.pxar.didx', 'd', 0]], 'the archives');
    ($rc, $out, $err) = run({}, 'list', $snap, encode_b64('/docs.pxar.didx/sub'), '--base64', 1, '--repository', $repo,
	'--output-format', 'json');
    is($rc, 0, 'list of a directory, path in base64') or diag $err;
    my $sub = decode_json($out);
    is_deeply([map { [$_->{text}, $_->{type}, $_->{size}] } @$sub], [['link', 'l', undef], ['private', 'f', 19]],
	'its entries, files with their size');
    is(MIME::Base64::decode_base64($sub->[1]{filepath}), 'docs.pxar.didx/sub/private', 'filepath: base64 of the path');
    ($rc, $out, $err) = run({}, 'list', $snap, '/docs.pxar.didx/none', '--repository', $repo, '--output-format', 'json');
    is($rc, 0, 'a failed list in JSON exits 0, as the real one');
    is_deeply(decode_json($out), { message => 'path "docs.pxar.didx/none" not found in catalog' }, 'with a JSON message');

    my $dest = "$tmp/single";
    ($rc, $out, $err) = run({}, 'extract', $snap, '/docs.pxar.didx/sub/private', $dest, '--repository', $repo);
    is($rc, 0, 'extract one file') or diag $err;
    is(slurp("$dest/private"), "only for the owner\n", 'it lands under its own name');
    is((stat("$dest/private"))[2] & 07777, 0600, 'with its mode');
    is((stat($dest))[2] & 07777, 0700, 'a new target directory is 0700');
    ($rc, $out, $err) = run({}, 'extract', $snap, '/docs.pxar.didx/sub/private', $dest, '--repository', $repo);
    is($rc, 255, 'an existing file is not overwritten');
    like($err, qr/^Error: failed to create file "private"$/m, 'as pxar says it');
    ($rc, $out, $err) = run({}, 'extract', $snap, '/docs.pxar.didx/sub', $dest, '--repository', $repo);
    is($rc, 0, 'extract a directory') or diag $err;
    is(readlink("$dest/sub/link"), '../bytes', 'with its symlink');
    ($rc, $out, $err) = run({}, 'extract', $snap, '/docs.pxar.didx/gone', $dest, '--repository', $repo);
    like($err, qr{^Error: error opening "/gone"$}m, 'a missing entry');
    like(slurp("$store/calls"), qr{^proxmox-file-restore extract }m, 'calls are logged under the tool\'s name');
};

subtest 'prune keeps what --keep-* says' => sub {
    # four more snapshots: one an hour for two hours, then two days later, then a week later
    for my $t ($t0 + 3600, $t0 + 7200, $t0 + 2 * 86400, $t0 + 7 * 86400) {
	my ($rc, undef, $err) = run({}, 'backup', "docs.pxar:$src", '--repository', $repo,
	    '--backup-id', 'n1-smbgw-docs', '--backup-time', $t);
	is($rc, 0, "backup at $t") or diag $err;
    }
    my ($rc, $out, $err) = run({}, 'backup', "docs.pxar:$src", '--repository', $repo,
	'--backup-id', 'n1-smbgw-docs', '--backup-time', $t0);
    is($rc, 255, 'a backup older than the last one is refused');
    like($err, qr/^Error: backup timestamp is older than last backup\.$/m, 'with the server\'s reason');

    ($rc, $out, $err) = run({}, 'prune', $group, '--keep-last', 2, '--dry-run', '--repository', $repo,
	'--output-format', 'json');
    is($rc, 0, 'prune --dry-run exits 0') or diag $err;
    my $res = decode_json($out);
    is_deeply([map { [$_->{'backup-time'}, $_->{keep} ? 1 : 0] } @$res],
	[[$t0, 0], [$t0 + 3600, 0], [$t0 + 7200, 0], [$t0 + 2 * 86400, 1], [$t0 + 7 * 86400, 1]],
	'keep-last 2: the two newest, oldest listed first');
    ($rc, $out) = run({}, 'snapshot', 'list', $group, '--repository', $repo, '--output-format', 'json');
    is(scalar(@{ decode_json($out) }), 5, 'a dry run removes nothing');

    ($rc, $out, $err) = run({}, 'prune', $group, '--keep-last', 1, '--keep-daily', 2, '--repository', $repo,
	'--output-format', 'json');
    is($rc, 0, 'prune exits 0') or diag $err;
    # keep-last takes the newest; keep-daily then the newest of each other day (not the newest's)
    my %kept = map { ($_->{'backup-time'} => $_->{keep} ? 1 : 0) } @{ decode_json($out) };
    is_deeply(\%kept, { $t0 => 0, $t0 + 3600 => 0, $t0 + 7200 => 1, $t0 + 2 * 86400 => 1, $t0 + 7 * 86400 => 1 },
	'keep-last 1 + keep-daily 2: a snapshot counts once, each day its newest')
	or diag $out;
    ($rc, $out) = run({}, 'snapshot', 'list', $group, '--repository', $repo, '--output-format', 'json');
    is_deeply([sort map { $_->{'backup-time'} } @{ decode_json($out) }], [$t0 + 7200, $t0 + 2 * 86400, $t0 + 7 * 86400],
	'the others are gone');

    ($rc, $out) = run({}, 'prune', $group, '--repository', $repo, '--output-format', 'json');
    ok((grep { $_->{keep} } @{ decode_json($out) }) == 3, 'no keep option keeps everything');

    ($rc, $out, $err) = run({}, 'forget', "$group/2023-11-16T22:13:20Z", '--repository', $repo);
    is($rc, 0, 'forget exits 0') or diag $err;
    ($rc, $out) = run({}, 'list', '--repository', $repo, '--output-format', 'json');
    my ($g) = @{ decode_json($out) };
    is_deeply([@$g{qw(backup-type backup-id backup-count last-backup)}], ['host', 'n1-smbgw-docs', 2, $t0 + 7 * 86400],
	'list: the group with two snapshots left');
};

subtest 'failures: the real messages, exit 255' => sub {
    my @list = ('snapshot', 'list', '--repository', $repo, '--output-format', 'json');
    my @cases = (
	['server unreachable', { PBS_STANDIN_UNREACHABLE => 1 },
	    qr/^Error: error trying to connect: tcp connect error: Connection refused \(os error 111\)$/m],
	['wrong password', { PBS_STANDIN_SECRET => 'right' }, qr/^Error: permission check failed\.$/m],
	['fingerprint mismatch', { PBS_FINGERPRINT => join(':', ('00') x 32) },
	    qr/^WARNING: certificate fingerprint does not match expected fingerprint!\n.*\n.*\nError: error trying to connect: error:0A000086:SSL routines:tls_post_process_server_certificate:certificate verify failed:/m],
	['no fingerprint for a self-signed certificate', { PBS_FINGERPRINT => undef },
	    qr/^Error: error trying to connect: error:0A000086:SSL routines/m],
	['fingerprint without colons', { PBS_FINGERPRINT => ('ab' x 16) . ('cd' x 16) },
	    qr/^Error: error trying to connect: error:0A000086/m],
	['no password', { PBS_PASSWORD => undef },
	    qr/^Error: error building client for repository root\@pam\@pbs\.example:8007:ds - no password input mechanism available$/m],
    );
    for my $c (@cases) {
	my ($name, $env, $re) = @$c;
	my ($rc, $out, $err) = run($env, @list);
	is($rc, 255, "$name: exit 255");
	like($err, $re, "$name: message") or diag $err;
	is($out, '', "$name: nothing on stdout");
    }
    my ($rc, $out, $err) = run({ PBS_FINGERPRINT => uc($fp) }, @list);
    is($rc, 0, 'a fingerprint in upper case matches (compared in lower case)');

    ($rc, $out, $err) = run({ PBS_STANDIN_SECRET => 'right' }, 'snapshot', 'list', '--repository',
	'root@pam!smbgw@pbs.example:ds');
    is($rc, 255, 'wrong token secret: exit 255');
    like($err, qr/^Error: authentication failed - invalid credentials$/m, 'wrong token secret: message');
    ($rc, $out, $err) = run({ PBS_PASSWORD => undef }, 'snapshot', 'list', '--repository', 'root@pam!smbgw@pbs.example:ds');
    like($err, qr/ - API token secret must be provided!$/m, 'a token without a secret');
    ($rc, $out, $err) = run({ PBS_STANDIN_SECRET => 'right', PBS_PASSWORD => undef, PBS_PASSWORD_FILE => "$tmp/pw" }, @list);
    like($err, qr/^Error: unable to open file in ENV\(PBS_PASSWORD_FILE\)/m, 'a missing password file');
    open(my $pw, '>', "$tmp/pw") or die;
    print $pw "right\nsecond line ignored\n";
    close($pw);
    ($rc, $out, $err) = run({ PBS_STANDIN_SECRET => 'right', PBS_PASSWORD => undef, PBS_PASSWORD_FILE => "$tmp/pw" }, @list);
    is($rc, 0, 'the first line of PBS_PASSWORD_FILE is the password') or diag $err;

    open($pw, '>', "$store/secret") or die;
    print $pw "from-file\n";
    close($pw);
    ($rc, $out, $err) = run({}, @list);
    like($err, qr/^Error: permission check failed\.$/m, 'the server\'s secret can be kept in its store');
    ($rc, $out, $err) = run({ PBS_PASSWORD => 'from-file' }, @list);
    is($rc, 0, 'and is taken from there') or diag $err;
    unlink("$store/secret") or die;

    ($rc, $out, $err) = run({}, 'snapshot', 'list', '--repository', 'root@pam@pbs.example:nostore');
    is($rc, 255, 'missing datastore: exit 255');
    like($err, qr/^Error: no such datastore 'nostore'$/m, 'missing datastore: message');

    ($rc, $out, $err) = run({}, 'snapshot', 'list', '--repository', $repo, '--password', 'pw');
    is($rc, 255, 'a password in argv: exit 255');
    like($err, qr/^parameter 'password': schema does not allow additional properties\.$/m,
	'a password in argv is no option of the client');
    ($rc, $out, $err) = run({}, 'snapshot', 'list', '--repository', 'a:b:c:d');
    like($err, qr/^Error: unable to parse repository url 'a:b:c:d'$/m, 'a malformed repository');
    ($rc, $out, $err) = run({}, 'snapshot', 'list');
    like($err, qr/^Error: unable to get \(default\) repository$/m, 'no repository');
    ($rc, $out, $err) = run({ PBS_REPOSITORY => $repo }, 'snapshot', 'list', '--output-format', 'json');
    is($rc, 0, 'PBS_REPOSITORY is the default repository') or diag $err;

    # busy: the first two calls fail, the third gets through
    my %busy = (PBS_STANDIN_BUSY => 2);
    unlink("$store/.busy-calls");
    my @backup = ('backup', "docs.pxar:$src", '--repository', $repo, '--backup-id', 'n1-smbgw-docs');
    ($rc, $out, $err) = run(\%busy, @backup);
    is($rc, 255, 'busy 1: exit 255');
    like($err, qr/^Error: unable to acquire lock on backup group directory ".*host\/n1-smbgw-docs" - another backup is already running$/m,
	'busy 1: a backup finds its group locked');
    ($rc, $out, $err) = run(\%busy, @list);
    like($err, qr/^Error: error trying to connect: tcp connect error: deadline has elapsed$/m, 'busy 2: connect timeout');
    ($rc, $out, $err) = run(\%busy, @backup);
    is($rc, 0, 'busy 3: the backup gets through') or diag $err;
};

done_testing();
