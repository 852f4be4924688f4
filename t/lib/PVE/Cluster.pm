# Test stand-in for a few functions of PVE::Cluster (pve-cluster), written from scratch.
#
# Mirrors src/PVE/Cluster.pm in https://github.com/proxmox/pve-cluster at commit
# 7091d92e594952dba65c1e57568b3d7cc244e960 ("bump version to 9.1.6"), only what the REST layer
# stand-ins (and an API module's proxyto handling) touch:
#   get_nodelist()                  - the cluster's node names; [nodename()] when there is no
#                                     cluster (or the local node is not in its node list)
#   check_node_exists($node, $noerr) - 1 if $node is in the cluster node list, else undef (noerr)
#                                     or dies "no such cluster node '$node'\n". Like the real one it
#                                     knows only the corosync node list: on a single node without a
#                                     cluster even the local node "does not exist".
#   remote_node_ip($node, $noerr)   - the node's IP from the node list; in list context
#                                     ($ip, $family). The real fallback for a node not in the list
#                                     is a host name lookup (PVE::Network::get_ip_from_hostname);
#                                     this stand-in does no lookups and behaves like a failed one:
#                                     dies "address lookup for '$node' did not find any IP address\n"
#                                     (undef with $noerr).
#   log_msg($priority, $ident, $msg) - the real one writes to the cluster log (and syslog); here
#                                     the entry is appended to @STANDIN_CLUSTER_LOG as
#                                     { priority, ident, msg }: priority numeric (the names emerg ..
#                                     debug mapped like the real one, which dies "need numeric log
#                                     priority" for others), "empty message" for an empty $msg.
#   broadcast_tasklist($data), cfs_update($fail) - do nothing here (no pmxcfs).
# For tests (not in the real module):
#   standin_set_nodelist({ pve1 => { ip => '192.0.2.1' }, pve2 => { ip => '192.0.2.2' } }) - the
#     corosync node list (undef: no cluster); @STANDIN_CLUSTER_LOG as above.
# Left out: everything else (cfs_read_file/cfs_write_file/cfs_lock_*, get_vmlist, get_tasklist,
# the kv store, RRD, ssh helpers, ...).
package PVE::Cluster;

use strict;
use warnings;

use PVE::INotify;

our @STANDIN_CLUSTER_LOG;

my $nodelist; # the corosync node list: { name => { ip => ... } }, undef without a cluster

sub standin_set_nodelist {
    my ($list) = @_;
    $nodelist = $list;
}

sub cfs_update {
    my ($fail) = @_;
    return;
}

sub get_nodelist {
    my $nodename = PVE::INotify::nodename();
    return [$nodename] if !$nodelist || !$nodelist->{$nodename};
    return [keys %$nodelist];
}

sub check_node_exists {
    my ($nodename, $noerr) = @_;

    return 1 if $nodelist && $nodelist->{$nodename};
    return undef if $noerr;
    die "no such cluster node '$nodename'\n";
}

sub remote_node_ip {
    my ($nodename, $noerr) = @_;

    if ($nodelist && $nodelist->{$nodename}) {
        if (my $ip = $nodelist->{$nodename}->{ip}) {
            return $ip if !wantarray;
            my $family = $ip =~ /:/ ? Socket::AF_INET6() : Socket::AF_INET();
            return ($ip, $family);
        }
    }
    # the real fallback: a host name lookup, which finds nothing here
    die "address lookup for '$nodename' did not find any IP address\n" if !$noerr;
    return;
}

my $log_levels = {
    emerg => 0,
    alert => 1,
    crit => 2,
    critical => 2,
    err => 3,
    error => 3,
    warn => 4,
    warning => 4,
    notice => 5,
    info => 6,
    debug => 7,
};

sub log_msg {
    my ($priority, $ident, $msg) = @_;
    if (defined(my $level = $log_levels->{$priority})) {
        $priority = $level;
    }
    die "need numeric log priority" if $priority !~ /^\d+$/;
    $msg = "empty message" if !$msg;
    push @STANDIN_CLUSTER_LOG, { priority => $priority, ident => $ident // '', msg => $msg };
}

sub broadcast_tasklist {
    my ($data) = @_;
    return;
}

require Socket;

1;
