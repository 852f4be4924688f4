# Test stand-in for a few functions of PVE::Tools (libpve-common-perl), written from scratch.
#
# Mirrors src/PVE/Tools.pm (which delegates to src/PVE/ParseUtils.pm and src/PVE/File.pm) in
# https://github.com/proxmox/pve-common at commit f665029eac78022e81810ab2e44eace57ade13fb
# ("bump version to 9.2.1"), only the functions the other stand-ins call:
#   split_list($text)                       - NUL-separated if the text has a NUL, otherwise split on
#                                             commas, semicolons and white space
#   assert_if_modified($digest1, $digest2)  - dies "detected modified configuration - file changed by
#                                             other user? Try again.\n" if both are set and differ
#   dir_glob_regex($dir, $regex)            - first entry of $dir matching ^($regex)$
#   dir_glob_foreach($dir, $regex, $func)   - $func->(captures) for every entry matching ^($regex)$,
#                                             in readdir order (unsorted, like the real one)
#   template_replace($tmpl, $data)          - replaces every "{key}" in $tmpl by $data->{key}, or by
#                                             '-' when that is false (undef, '' or 0 - as the real
#                                             one); used for the paths of permission checks
#   upid_encode, upid_decode, upid_open, upid_read_status, upid_status_is_error,
#   upid_normalize_status_type              - the backward-compatible wrappers the real module
#                                             keeps; they call the PVE::UPID stand-in
# Everything else (run_command, file_get_contents, lock_file, df, ...) is left out: a module that
# needs it gets "Undefined subroutine" from this stand-in, not silently different behaviour.
package PVE::Tools;

use strict;
use warnings;

use Exporter qw(import);

our @EXPORT_OK = qw(split_list dir_glob_regex dir_glob_foreach template_replace);

sub split_list {
    my ($text) = @_;
    $text //= '';
    return split(/\0/, $text) if $text =~ /\0/;
    (my $spaced = $text) =~ tr/,;/  /;
    $spaced =~ s/^\s+//;
    return split(/\s+/, $spaced);
}

sub assert_if_modified {
    my ($digest1, $digest2) = @_;
    return if !$digest1 || !$digest2 || $digest1 eq $digest2;
    die "detected modified configuration - file changed by other user? Try again.\n";
}

sub dir_glob_regex {
    my ($dir, $regex) = @_;
    opendir(my $dh, $dir) or return wantarray ? () : undef;
    while (defined(my $entry = readdir($dh))) {
        my @captures = $entry =~ m/^($regex)$/ or next;
        closedir($dh);
        return wantarray ? @captures : $entry;
    }
    closedir($dh);
    return wantarray ? () : undef;
}

sub dir_glob_foreach {
    my ($dir, $regex, $func) = @_;
    opendir(my $dh, $dir) or return;
    my @entries = readdir($dh);
    closedir($dh);
    for my $entry (@entries) {
        my @captures = $entry =~ m/^($regex)$/ or next;
        $func->(@captures);
    }
    return;
}

sub template_replace {
    my ($tmpl, $data) = @_;

    return $tmpl if !$tmpl;

    my $res = '';
    while ($tmpl =~ m/([^{]+)?(\{([^}]+)\})?/g) {
        $res .= $1 if $1;
        $res .= ($data->{$3} || '-') if $2;
    }
    return $res;
}

sub upid_encode {
    my ($d) = @_;
    return PVE::UPID::encode($d);
}

sub upid_decode {
    my ($upid, $noerr) = @_;
    return PVE::UPID::decode($upid, $noerr);
}

sub upid_open {
    my ($upid) = @_;
    return PVE::UPID::open_log($upid);
}

sub upid_read_status {
    my ($upid) = @_;
    return PVE::UPID::read_status($upid);
}

sub upid_status_is_error {
    my ($status) = @_;
    return PVE::UPID::status_is_error($status);
}

sub upid_normalize_status_type {
    my ($status) = @_;
    return PVE::UPID::normalize_status_type($status);
}

require PVE::UPID;

1;
