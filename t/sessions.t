#!/usr/bin/perl
# GET /nodes/{node}/smbgateway/sessions and DELETE .../sessions/{session} called the way
# pvedaemon does (stand-ins of PVE's REST layer in t/lib), against a real sandbox smbd with a
# real smbclient holding a file open: the data equals the CLI's, a bad share name or session id
# is a 4xx naming its field before any task, the disconnect task ends the client's session;
# and GET .../io-history, the node's SMB throughput, equals the CLI's.
use strict;
use warnings;

use IO::Handle;
use Test::More;

use SMBGWTest;

BEGIN { $ENV{PVE_STORAGE_CUSTOM_LIB} = '' }

plan skip_all => 'needs root (smbd switches users)' if $> != 0;
my $cli = $ENV{PVE_SMBGW_BIN} or BAIL_OUT('set PVE_SMBGW_BIN to the built pve-smbgateway');

my $dir = SMBGWTest::sandbox('sessions', smb_port => 1);
my $port = $ENV{PVE_SMBGW_SMB_PORT};
my $client_pid;
END {
    kill('KILL', $client_pid) if $client_pid;
    system("'$cli' stop >/dev/null") if $cli;
}

my $api = SMBGWTest::node_api('/nodes/pve1/smbgateway');
sub api { return $api->(@_) }

sub cli_json { return SMBGWTest::cli_json(@_) }

sub session_of {
    my ($report, $user) = @_;
    my ($s) = grep { $_->{user} eq $user } @{ $report->{sessions} };
    return $s;
}

# a user and a share, made with the CLI (its report kept out of the TAP stream)
{
    open(my $saved, '>&', \*STDOUT) or die "$!\n";
    open(STDOUT, '>', '/dev/null') or die "$!\n";
    open(my $pw, '|-', $cli, 'user', 'add', 'carol', '--password-stdin') or die "user add: $!\n";
    print $pw "Carol-pw1\n";
    close($pw) or die "user add carol failed\n";
    system($cli, 'create', 'team', '--path', "$dir/data/team", '--users', 'carol') == 0 or die "create failed\n";
    open(STDOUT, '>&', $saved) or die "$!\n";
}
open(my $fh, '>', "$dir/data/team/notes.txt") or die "$!\n";
print $fh "notes\n";
close($fh);

my ($report, $err) = api('GET', '/sessions', {}, 'auditor@pve');
is($err, '', 'an auditor reads the sessions') or diag($err);
is_deeply($report->{sessions}, [], 'nobody connected yet');

# carol's client holds notes.txt open: smbclient reading commands from a pipe, its output
# line-buffered into a file
open(my $creds, '>', "$dir/creds") or die "$!\n";
print $creds "username = carol\npassword = Carol-pw1\n";
close($creds);
open(my $out, '>', "$dir/client.out") or die "$!\n";
close($out);
pipe(my $from_test, my $to_client) or die "pipe: $!\n";
$client_pid = fork() // die "fork: $!\n";
if (!$client_pid) {
    close($to_client);
    open(STDIN, '<&', $from_test) or die "$!\n";
    open(STDOUT, '>', "$dir/client.out") or die "$!\n";
    open(STDERR, '>&', \*STDOUT) or die "$!\n";
    exec('stdbuf', '-oL', 'smbclient', '//127.0.0.1/team', '-p', $port, '-m', 'SMB3', '-A', "$dir/creds")
	or die "exec smbclient: $!\n";
}
close($from_test);
$to_client->autoflush(1);

# wait for smbclient's report of a command (a bound on a hung client only, not a measurement)
sub client_says {
    my ($pattern) = @_;
    for (1 .. 600) {
	my $out = do { local (@ARGV, $/) = ("$dir/client.out"); <> } // '';
	return $out if $out =~ $pattern;
	select(undef, undef, undef, 0.1);
    }
    return do { local (@ARGV, $/) = ("$dir/client.out"); <> } // '';
}
print $to_client "open notes.txt\n";
like(client_says(qr/fnum|NT_STATUS_/), qr/open file .*notes\.txt: for read\/write fnum/, 'carol holds notes.txt open');

($report, $err) = api('GET', '/sessions', {}, 'auditor@pve');
is($err, '', 'sessions read') or diag($err);
my $carol = session_of($report, 'carol');
ok($carol, 'carol is listed') or diag(explain($report));
is_deeply($carol->{shares}, ['team'], 'on share team');
is($carol->{open_files}, 1, 'holding one file');
my ($team) = grep { $_->{name} eq 'team' } @{ $report->{shares} };
is($team->{open_files}->[0]->{file}, 'notes.txt', 'the open file, under its share');
is($team->{open_files}->[0]->{session}, $carol->{id}, 'held by her session');
is_deeply($report, cli_json('sessions'), 'API sessions equal CLI json');
my ($one) = api('GET', '/sessions', { name => 'team' });
is_deeply($one, cli_json('sessions', 'team'), 'one share: API equals CLI');

# bad input: a 4xx on its field, before any task, nothing changed
(undef, $err) = api('GET', '/sessions', { name => 'nosuch' });
is(ref($err) && $err->{code}, 404, 'an unknown share is a 404');
ok(ref($err) && $err->{errors}->{name}, 'on the name field');
(undef, $err) = api('GET', '/sessions', { name => 'bad/name' });
ok(ref($err) && $err->{errors}->{name}, 'a malformed share name is refused by the schema');
(undef, $err) = api('DELETE', '/sessions/12x', {}, 'admin@pve');
ok(ref($err) && $err->{errors}->{session}, 'a malformed session id is refused by the schema');
my $unknown = $carol->{id} eq '4242' ? '4243' : '4242';
my ($upid);
($upid, $err) = api('DELETE', "/sessions/$unknown", {}, 'admin@pve');
ok(!defined($upid), 'no task for an unknown session');
is(ref($err) && $err->{code}, 404, 'an unknown session is a 404');
like(ref($err) && $err->{errors}->{session}, qr/there is no SMB session $unknown/, 'on the session field');
(undef, $err) = api('DELETE', "/sessions/$carol->{id}", {}, 'auditor@pve');
is(ref($err) && $err->{code}, 403, 'an auditor may not disconnect');
ok(session_of(cli_json('sessions'), 'carol'), 'carol is still connected');

# the disconnect, as a task: her session is gone, her client's next command fails
($upid, $err) = api('DELETE', "/sessions/$carol->{id}", {}, 'admin@pve');
is($err, '', 'disconnect accepted') or diag($err);
like($upid, qr/:smbgwdisconnect_session:$carol->{id}:admin\@pve:$/, 'a task named after the session');
my $task = PVE::APIStandin::wait_task($upid);
is($task->{status}, 'OK', 'the disconnect task succeeded') or diag($task->{log});
like($task->{log}, qr/end SMB session $carol->{id} of 'carol'/, 'its log says which session ended');
($report) = api('GET', '/sessions');
ok(!session_of($report, 'carol'), 'carol is no longer listed') or diag(explain($report));
print $to_client "ls\n";
like(client_says(qr/NT_STATUS_|blocks of size/), qr/NT_STATUS_/, "carol's client is cut off");

# the node's SMB throughput history (recorded by the daemon; none here): the CLI's figures
my ($io) = api('GET', '/io-history', { hours => 3 }, 'auditor@pve');
is_deeply($io, cli_json('io-history', '--hours', 3), 'API io-history equals CLI json');
(undef, $err) = api('GET', '/io-history', { hours => 49 });
ok(ref($err) && $err->{errors}->{hours}, 'more hours than the history keeps are refused on the hours field');

done_testing();
