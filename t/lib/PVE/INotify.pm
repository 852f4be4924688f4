# Test stand-in for one function of PVE::INotify (libpve-common-perl), written from scratch.
#
# Mirrors src/PVE/INotify.pm in https://github.com/proxmox/pve-common at commit
# f665029eac78022e81810ab2e44eace57ade13fb ("bump version to 9.2.1"):
#   nodename()   - the node's name: POSIX::uname()'s nodename with any domain part (from the first
#                  '.') stripped, computed once and cached; dies "unable to read node name\n" if
#                  that is empty.
# For tests (not in the real module):
#   standin_set_nodename($name)  - nodename() returns $name from now on (undef: back to uname).
#                                  The RESTEnvironment stand-in takes its node name (the one in
#                                  UPIDs) from here too, see there.
# Left out: everything else (read_file/write_file and the registered files, inotify_init/_close,
# the interfaces/resolv.conf/hostname parsers, ...): a module needing them gets "Undefined
# subroutine" here rather than silently different behaviour.
package PVE::INotify;

use strict;
use warnings;

use POSIX ();

my $cached_nodename;

sub nodename {
    return $cached_nodename if $cached_nodename;

    my (undef, $nodename) = POSIX::uname();
    $nodename =~ s/\..*$//; # strip the domain part, if any

    die "unable to read node name\n" if !$nodename;

    $cached_nodename = $nodename;
    return $cached_nodename;
}

sub standin_set_nodename {
    my ($name) = @_;
    $cached_nodename = $name;
}

1;
