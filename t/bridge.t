#!/usr/bin/perl
# PVE::RS::SMBGateway: the Rust core called from Perl, against a real sandbox (smbd, testparm).
use strict;
use utf8;
use warnings;

use File::Temp qw(tempdir);
use IO::Socket::INET;
use JSON::PP;
use Test::More;

plan skip_all => 'needs root (smbd switches users)' if $> != 0;
my $so = $ENV{PVE_RS_SMBGW_SO} or BAIL_OUT('set PVE_RS_SMBGW_SO to the built libpve_rs_smbgateway.so');
my $cli = $ENV{PVE_SMBGW_BIN} or BAIL_OUT('set PVE_SMBGW_BIN to the built pve-smbgateway');

my $dir = tempdir('smbgw-bridge.XXXXXX', TMPDIR => 1, CLEANUP => 1);
chmod 0755, $dir;
my $port = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1', LocalPort => 0)->sockport;
$ENV{PVE_SMBGW_ROOT} = "$dir/root";
$ENV{PVE_SMBGW_SMB_PORT} = $port;

use_ok('PVE::RS::SMBGateway');

my $schema = PVE::RS::SMBGateway::share_schema();
is($schema->{type}, 'object', 'schema is a JSONSchema object');
is($schema->{properties}->{'read-only'}->{type}, 'boolean', 'read-only is a boolean');
ok($schema->{properties}->{quota}->{pattern}, 'quota has a pattern');
ok(grep({ $_ eq 'native' } @{$schema->{properties}->{mode}->{enum}}), 'mode enumerates native');

is_deeply(PVE::RS::SMBGateway::list_shares(), [], 'no shares yet');

# every operation's parameters, as the API serves them to the UI
my $all = PVE::RS::SMBGateway::schema();
is_deeply([sort keys %$all], [qw(ad-join ad-leave ad-test backup discovery guest ha-failover ha-node ha-setup io-history quota-history sessions share snapshot user)], 'one schema per operation');
is($all->{guest}->{properties}->{'vm-memory'}->{minimum}, 512, 'guest bounds are in it');
is($all->{'ad-join'}->{properties}->{user}->{default}, 'Administrator', 'AD defaults are in it');
is_deeply($all->{share}->{properties}, $schema->{properties}, 'its share part is the share schema');

my $comment = "Ünïcødé – team data";
my $props = { path => "$dir/data/team", comment => $comment, 'read-only' => 1, 'hosts-allow' => '10.0.0.0/8' };
my $plan = PVE::RS::SMBGateway::create_share({ name => 'team', properties => $props, 'dry-run' => 1 });
ok($plan->{'dry-run'} && @{$plan->{steps}} > 0, 'dry run returns a plan');
ok(!-e "$dir/data/team", 'dry run created nothing');

my $done = PVE::RS::SMBGateway::create_share({ name => 'team', properties => $props });
ok($done->{changed}, 'share created');
my $share = PVE::RS::SMBGateway::show_share({ name => 'team' });
is($share->{comment}, $comment, 'unicode comment round trip');
is($share->{'read-only'}, JSON::PP::true, 'booleans come back as booleans');
is_deeply($share->{'hosts-allow'}, ['10.0.0.0/8'], 'lists come back as arrays');

PVE::RS::SMBGateway::update_share({ name => 'team', properties => { 'read-only' => 0 }, delete => ['comment'] });
$share = PVE::RS::SMBGateway::show_share({ name => 'team' });
ok(!exists $share->{comment}, 'comment deleted');
is($share->{'read-only'}, JSON::PP::false, 'read-only switched off');

# errors: a PVE::Exception with the core's message (no Perl " at FILE line N") and the HTTP
# status the API answers: 400 for bad input
eval { PVE::RS::SMBGateway::create_share({ name => "bad/name", properties => { path => "$dir/x" } }) };
isa_ok($@, 'PVE::Exception', 'an error');
is(ref($@) && $@->{code}, 400, 'bad input is a 400');
like(ref($@) && $@->{msg}, qr/^share name "bad\/name" contains '\/'/, 'bad name dies with the core message');
unlike("$@", qr/ at \S+ line \d+/, 'no Perl location appended');
eval { PVE::RS::SMBGateway::create_share({ name => 'x', properties => { path => "$dir/x", quota => '10' } }) };
like($@, qr/invalid size '10'/, 'bad quota');
eval { PVE::RS::SMBGateway::create_share({ name => 'x', properties => { path => "$dir/x", comment => { nested => 1 } } }) };
like($@, qr/property 'comment' must be a scalar/, 'nested data refused');
eval { PVE::RS::SMBGateway::create_share({ name => 'x', propreties => {} }) };
like($@, qr/unknown field `propreties`/, 'a misspelt argument name is refused, not ignored');
eval { PVE::RS::SMBGateway::create_share('x') };
like($@, qr/the arguments of 'create' are a hash/, 'positional arguments are refused');
# Perl's Inf and NaN are no JSON numbers: the error names the argument and the value
my $inf = 9**9**9;
my $nan = -sin($inf);
eval { PVE::RS::SMBGateway::quota_history({ name => 'team', days => $inf }) };
like($@, qr/argument 'days' is Inf; numbers must be finite/, 'Inf is named with its argument');
eval { PVE::RS::SMBGateway::quota_history({ name => 'team', days => -$inf }) };
like($@, qr/argument 'days' is -Inf; numbers must be finite/, '-Inf is named');
eval { PVE::RS::SMBGateway::create_share({ name => 'x', properties => { path => "$dir/x", comment => $nan } }) };
like($@, qr/argument 'properties' contains NaN; numbers must be finite/, 'NaN inside a hash argument is named');
my $plan_inf = eval { PVE::RS::SMBGateway::create_share({ name => 'x', properties => { path => "$dir/x", comment => 'inf' }, 'dry-run' => 1 }) };
is($@, '', 'the word "inf" as text is text');
ok($plan_inf && $plan_inf->{'dry-run'}, 'a dry run with it plans');
eval { PVE::RS::SMBGateway::show_share({ name => 'missing' }) };
like($@, qr/share 'missing' does not exist/, 'missing share');
eval { PVE::RS::SMBGateway::_call('no_such_method', '{}') };
like($@, qr/has no method 'no_such_method'/, 'unknown method');
{
    local $ENV{PVE_SMBGW_BRIDGE_SELFTEST} = 1;
    eval { PVE::RS::SMBGateway::_call('_selftest_panic', '{}') };
    like($@, qr/internal error .*self-test panic/, 'a panic becomes a die');
}

# the error the bridge hands over, as the exception the API answers with
{
    my $e = PVE::RS::SMBGateway::_exception('{"kind":"input","message":"quota \"10\" is not a size","field":"quota"}');
    is($e->{code}, 400, 'input: 400');
    is_deeply($e->{errors}, { quota => 'quota "10" is not a size' }, 'the field carries the message');
    $e = PVE::RS::SMBGateway::_exception('{"kind":"input","message":"share \'x\' does not exist","field":"name","code":"not-found"}');
    is($e->{code}, 404, 'not-found: 404');
    $e = PVE::RS::SMBGateway::_exception('{"kind":"input","message":"the config changed","field":"digest","code":"conflict"}');
    is($e->{code}, 409, 'conflict: 409');
    $e = PVE::RS::SMBGateway::_exception('{"kind":"input","message":"HA is not set up","code":"not-set-up"}');
    is($e->{code}, 400, 'not-set-up: an input error, 400');
    ok(!exists $e->{errors}, 'no field, no errors');
    $e = PVE::RS::SMBGateway::_exception('{"kind":"system","message":"smbd did not start"}');
    ok(!$e->{code}, 'a system failure has no code: the REST layer answers 500');
    is("$e", "smbd did not start\n", 'and reads as the plain message');
    is(PVE::RS::SMBGateway::_exception("Usage: x\n"), "Usage: x\n", 'a die that is not the bridge\'s stays as it is');
}
ok(PVE::RS::SMBGateway::show_share({ name => 'team' }), 'still usable after a panic');

# the CLI and the bridge see the same data
my $from_cli = decode_json(`$cli list --output-format json`);
is_deeply($from_cli, PVE::RS::SMBGateway::list_shares(), 'CLI json equals bridge data');

# large lists: 1000 shares written straight into the config
{
    open(my $fh, '>>', "$dir/root/config/shares.cfg") or die;
    print $fh "\nshare: s$_\n\tmode native\n\tpath /srv/s$_\n" for 1 .. 1000;
    close($fh);
    my $all = PVE::RS::SMBGateway::list_shares();
    is(scalar(@$all), 1001, 'a thousand shares come through');
    is($all->[-1]->{name}, 'team', 'sorted by name');
}

# no leak: RSS stays flat over 100k calls
sub rss_kb { open(my $fh, '<', '/proc/self/status') or die; while (<$fh>) { return $1 if /^VmRSS:\s+(\d+)/ } }
PVE::RS::SMBGateway::_call('share_schema', '{}') for 1 .. 1000;
my $before = rss_kb();
PVE::RS::SMBGateway::_call('share_schema', '{}') for 1 .. 100_000;
my $growth = rss_kb() - $before;
cmp_ok($growth, '<', 2048, "RSS grew by $growth KiB over 100k calls");
diag("RSS growth over 100k calls: $growth KiB");

system($cli, 'stop') == 0 or diag('stopping smbd failed');
done_testing();
