#!/usr/bin/perl
# GET and PUT /nodes/{node}/smbgateway/discovery called the way pvedaemon does (stand-ins of
# PVE's REST layer in t/lib), against a real sandbox: the API's answer equals the CLI's JSON
# (one schema, one core function), an interface the node lacks is a 400 on 'interfaces' that
# leaves the stored setting as it was, a change is read back by the API and the CLI, and only
# Sys.Modify may change it. No smbd runs here, so no wsdd is started.
use strict;
use warnings;

use Test::More;

use SMBGWTest;

BEGIN { $ENV{PVE_STORAGE_CUSTOM_LIB} = '' }

plan skip_all => 'needs root (the gateway runs as root)' if $> != 0;
my $cli = $ENV{PVE_SMBGW_BIN} or BAIL_OUT('set PVE_SMBGW_BIN to the built pve-smbgateway');

my $dir = SMBGWTest::sandbox('discovery');

my $api = SMBGWTest::node_api('/nodes/pve1/smbgateway');
sub api { return $api->(@_) }

sub cli_json { return SMBGWTest::cli_json(@_) }

sub stored {
    open(my $fh, '<', "$dir/root/state/discovery.cfg") or return undef;
    local $/;
    return <$fh>;
}

# nothing stored: on, every interface
my ($got, $err) = api('GET', '/discovery', {}, 'auditor@pve');
is($err, '', 'an auditor reads the setting') or diag($err);
is_deeply($got, cli_json('discovery'), "the API's answer is the CLI's JSON");
ok($got->{discovery}, 'discovery is on by default');
is_deeply($got->{interfaces}, [], 'on every interface by default');

# only Sys.Modify changes it
(undef, $err) = api('PUT', '/discovery', { discovery => 'off' }, 'auditor@pve');
is(ref($err) && $err->{code}, 403, 'an auditor may not change it');
is(stored(), undef, 'the refused change wrote nothing');

# a change is read back, by the API and the CLI
($got, $err) = api('PUT', '/discovery', { interfaces => 'lo' }, 'admin@pve');
is($err, '', 'interfaces set') or diag($err);
is_deeply($got->{interfaces}, ['lo'], 'the answer is the new setting');
($got) = api('GET', '/discovery');
is_deeply($got->{interfaces}, ['lo'], 'the interface is read back');
is_deeply($got, cli_json('discovery'), 'the CLI shows the same setting');

# an interface the node lacks: a 400 on its field, before anything is written
my $before = stored();
(undef, $err) = api('PUT', '/discovery', { discovery => 'off', interfaces => 'lo,smbgwdisc-none' }, 'admin@pve');
is(ref($err) && $err->{code}, 400, 'an unknown interface is a 400');
like(ref($err) && $err->{errors}->{interfaces}, qr/smbgwdisc-none.*does not exist/, 'on the interfaces field')
    or diag(explain($err));
is(stored(), $before, 'the refused change left the stored setting as it was');
($got) = api('GET', '/discovery');
ok($got->{discovery}, 'discovery is still on');

# a value outside on|off is refused by the schema, on its field
(undef, $err) = api('PUT', '/discovery', { discovery => 'maybe' }, 'admin@pve');
is(ref($err) && $err->{code}, 400, 'discovery=maybe is a 400');
ok(ref($err) && $err->{errors}->{discovery}, 'on the discovery field');
is(stored(), $before, 'and nothing was written');

# off is stored and read back; the interfaces stay
($got, $err) = api('PUT', '/discovery', { discovery => 'off' }, 'admin@pve');
is($err, '', 'discovery turned off') or diag($err);
($got) = api('GET', '/discovery');
ok(!$got->{discovery}, 'off is read back');
is_deeply($got->{interfaces}, ['lo'], 'the interfaces were kept');
is_deeply($got, cli_json('discovery'), 'the CLI shows it off too');

# an empty list means every interface again
($got, $err) = api('PUT', '/discovery', { interfaces => '' }, 'admin@pve');
is($err, '', 'interfaces cleared') or diag($err);
($got) = api('GET', '/discovery');
is_deeply([$got->{discovery} ? 1 : 0, $got->{interfaces}], [0, []], 'every interface, still off');

done_testing();
