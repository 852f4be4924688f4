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
# Everything else (run_command, file_get_contents, lock_file, df, ...) is left out: a module that
# needs it gets "Undefined subroutine" from this stand-in, not silently different behaviour.
package PVE::Tools;

use strict;
use warnings;

use Exporter qw(import);

our @EXPORT_OK = qw(split_list dir_glob_regex dir_glob_foreach);

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

1;
