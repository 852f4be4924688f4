#!/usr/bin/perl
# Helper of scripts/bench.sh: the Perl side of pve-smbgateway timed in one perl process.
#
#   perl-bridge.pl bridge BATCHES CALLS   PVE::RS::SMBGateway::list_shares() per call, in µs
#   perl-bridge.pl api RUNS               GET /nodes/pve1/smbgateway/shares through
#                                         PVE::APIStandin::call_api, in ms per call
#   perl-bridge.pl rss CALLS              the perl process's RSS around CALLS bridge calls
#
# The caller sets PVE_SMBGW_ROOT (a sandbox whose config/shares.cfg holds the shares),
# PVE_RS_SMBGW_SO (the built bridge library) and PERL5LIB (perl/ of this tree; t/lib for 'api').
# Output: one line per figure, "KEY VALUE VALUE ...", for bench.sh to read; no output but that.
# Timed work is interleaved batch by batch (rotating which goes first), so drift in the machine
# hits every side alike.
use strict;
use warnings;

BEGIN { $ENV{PVE_STORAGE_CUSTOM_LIB} = '' } # the PVE::Storage stand-in: no custom plugins

use JSON::PP ();
use Time::HiRes qw(time);

use PVE::RS::SMBGateway;

my $mode = shift // '';
my $root = $ENV{PVE_SMBGW_ROOT} or die "PVE_SMBGW_ROOT is not set\n";
my $cfg_file = "$root/config/shares.cfg";

sub out { my ($key, @values) = @_; print join(' ', $key, @values), "\n"; }

# Seconds per call of CODE over N calls.
sub per_call {
    my ($n, $code) = @_;
    my $t0 = time;
    $code->() for 1 .. $n;
    return (time - $t0) / $n;
}

# The baseline a Perl programmer writes by hand: read shares.cfg and parse the section format
# with regexes into a list of hashes ({ name, type, <key> => <value> }). No defaults, no
# validation, values left as the text after the key.
sub hand_list {
    open(my $fh, '<', $cfg_file) or die "cannot open $cfg_file: $!\n";
    my (@shares, $cur);
    while (defined(my $line = <$fh>)) {
        if ($line =~ /^(\S+):\s*(\S+)\s*$/) {
            $cur = { type => $1, name => $2 };
            push @shares, $cur;
        } elsif ($cur && $line =~ /^\s+(\S+)(?:\s+(.*?))?\s*$/) {
            $cur->{$1} = $2 // 1;
        } elsif ($line =~ /\S/) {
            die "cannot parse line $. of $cfg_file: $line";
        }
    }
    close($fh);
    return \@shares;
}

# The same decoder the bridge uses (PVE/RS/SMBGateway.pm), for the decode-only figure.
my $json = JSON::PP->new->canonical->allow_nonref;

# Both see the same shares: the same names with the same paths.
sub check_same {
    my ($what, $a, $b) = @_;
    my $ka = join("\n", sort map { "$_->{name} $_->{path}" } @$a);
    my $kb = join("\n", sort map { "$_->{name} $_->{path}" } @$b);
    die "$what: not the same shares (" . scalar(@$a) . " vs " . scalar(@$b) . ")\n" if $ka ne $kb;
}

sub rss_kib {
    open(my $fh, '<', '/proc/self/status') or die "cannot read /proc/self/status: $!\n";
    while (<$fh>) { return $1 if /^VmRSS:\s+(\d+)\s+kB/ }
    die "no VmRSS in /proc/self/status\n";
}

if ($mode eq 'bridge') {
    my ($batches, $calls) = @ARGV;
    die "usage: $0 bridge BATCHES CALLS\n" if !$calls;
    my $list = PVE::RS::SMBGateway::list_shares();
    check_same('list_shares vs the hand parse', $list, hand_list());
    my $raw = PVE::RS::SMBGateway::_call('list', '{}');
    out(shares => scalar(@$list));
    out(json_bytes => length($raw));
    my %sides = (
        bridge_us => sub { PVE::RS::SMBGateway::list_shares() },
        hand_us => sub { hand_list() },
        call_us => sub { PVE::RS::SMBGateway::_call('list', '{}') },
        decode_us => sub { $json->decode($raw) },
    );
    my @order = sort keys %sides;
    my %samples;
    $sides{$_}->() for @order; # warm-up
    my $rss0 = rss_kib();
    for my $b (0 .. $batches - 1) {
        for my $i (0 .. $#order) {
            my $key = $order[($b + $i) % @order];
            push @{ $samples{$key} }, sprintf('%.2f', per_call($calls, $sides{$key}) * 1e6);
        }
    }
    out($_ => @{ $samples{$_} }) for @order;
    # the timed list_shares calls above, as a side check of the RSS row
    out(rss_timed_kib => $rss0, rss_kib(), $batches * $calls);
} elsif ($mode eq 'api') {
    my ($runs) = @ARGV;
    die "usage: $0 api RUNS\n" if !$runs;
    require PVE::APIStandin;
    require PVE::API2::SMBGateway;
    PVE::INotify::standin_set_nodename('pve1');
    PVE::APIStandin::mount_node_api('PVE::API2::SMBGateway', 'smbgateway');
    my $api_root = PVE::APIStandin::ROOT();
    my $path = '/nodes/pve1/smbgateway/shares';
    my $api = sub { PVE::APIStandin::call_api($api_root, 'GET', $path, {}, user => 'root@pam') };

    my $data = $api->();
    my $list = PVE::RS::SMBGateway::list_shares();
    check_same('the API vs list_shares', $data, $list);
    check_same('list_shares vs the hand parse', $list, hand_list());
    my $raw = PVE::RS::SMBGateway::_call('list', '{}');
    out(shares => scalar(@$data));
    out(json_bytes => length($raw));
    my %sides = (
        api_ms => $api,
        bridge_ms => sub { PVE::RS::SMBGateway::list_shares() },
        call_ms => sub { PVE::RS::SMBGateway::_call('list', '{}') },
        decode_ms => sub { $json->decode($raw) },
        hand_ms => sub { hand_list() },
    );
    my @order = sort keys %sides;
    my %samples;
    for my $r (0 .. $runs - 1) {
        for my $i (0 .. $#order) {
            my $key = $order[($r + $i) % @order];
            push @{ $samples{$key} }, sprintf('%.3f', per_call(1, $sides{$key}) * 1e3);
        }
    }
    out($_ => @{ $samples{$_} }) for @order;
    # the API layer around a method that does no work (the directory index), for scale
    my $index = sub { PVE::APIStandin::call_api($api_root, 'GET', '/nodes/pve1/smbgateway', {}, user => 'root@pam') };
    $index->();
    out(index_us => map { sprintf('%.2f', per_call(200, $index) * 1e6) } 1 .. 5);
} elsif ($mode eq 'rss') {
    my ($calls) = @ARGV;
    die "usage: $0 rss CALLS\n" if !$calls;
    # the XS round trip of list_shares without the pure-Perl JSON::PP encode/decode around it:
    # what crosses the Rust/Perl boundary (argument string in, result string out, errors as die)
    my $call = sub { PVE::RS::SMBGateway::_call('list', '{}') };
    my $loaded = rss_kib();
    $call->() for 1 .. 1000;
    my $before = rss_kib();
    my $t0 = time;
    $call->() for 1 .. $calls / 2;
    my $mid = rss_kib();
    $call->() for $calls / 2 + 1 .. $calls;
    my $after = rss_kib();
    my $secs = time - $t0;
    # errors cross the boundary too: a share that does not exist, as die
    for (1 .. 1000) { eval { PVE::RS::SMBGateway::_call('show', '{"name":"no-such-share"}') }; die "show did not die\n" if !$@ }
    my $after_err = rss_kib();
    out(rss_kib => $loaded, $before, $mid, $after, $after_err);
    out(rss_calls => $calls, sprintf('%.2f', $secs));
} else {
    die "usage: $0 bridge BATCHES CALLS | api RUNS | rss CALLS\n";
}
