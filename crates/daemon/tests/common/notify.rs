//! The stand-in of PVE's `PVE::Notify` the daemon's tests put on its Perl path: each call
//! recorded as a JSON line in $SMBGW_TEST_NOTIFY_LOG. The real one (libpve-cluster-perl) takes
//! the same arguments. One copy for every daemon test.

pub const NOTIFY_STANDIN: &str = r#"package PVE::Notify;
use strict;
use warnings;
use JSON::PP;

sub notify {
    my ($severity, $template, $data, $fields) = @_;
    open(my $fh, '>>', $ENV{SMBGW_TEST_NOTIFY_LOG}) or die "cannot open the log: $!";
    print $fh JSON::PP->new->canonical->encode({
        severity => $severity, template => $template, data => $data, fields => $fields,
    }), "\n";
    close($fh);
}

1;
"#;
