package PVE::API2::Nodes::Nodeinfo;

# Test stand-in for PVE/API2/Nodes.pm of pve-manager, written for t/package/run.sh (not copied).
# It mirrors the structure of the real file at proxmox/pve-manager commit
# 14a22df35955d97dfc1af21e117dc894a29df0c9 (PVE 9) around the spot the pve-smbgateway API hook
# patches: package PVE::API2::Nodes::Nodeinfo (strict, warnings, 'use base qw(PVE::RESTHandler)',
# subclasses registered with __PACKAGE__->register_method({ subclass => ..., path => ... }), the
# node index method 'index' at path '' returning a fixed list of { name => ... }, more methods,
# then plain subs), followed by the line 'package PVE::API2::Nodes;' (the hook's anchor, once in
# the file) and the cluster node index that mounts Nodeinfo at '{node}'. Only the two subclasses
# the stand-ins can load are registered.

use strict;
use warnings;

use PVE::RESTHandler;
use PVE::JSONSchema qw(get_standard_option);

use base qw(PVE::RESTHandler);

__PACKAGE__->register_method({
    subclass => "PVE::API2::StandinTasks",
    path => 'tasks',
});

__PACKAGE__->register_method({
    name => 'index',
    path => '',
    method => 'GET',
    permissions => { user => 'all' },
    description => "Node index.",
    parameters => {
        additionalProperties => 0,
        properties => {
            node => get_standard_option('pve-node'),
        },
    },
    returns => {
        type => 'array',
        items => {
            type => "object",
            properties => {},
        },
        links => [{ rel => 'child', href => "{name}" }],
    },
    code => sub {
        my ($param) = @_;

        my $result = [
            { name => 'status' },
            { name => 'tasks' },
            { name => 'version' },
        ];

        return $result;
    },
});

__PACKAGE__->register_method({
    name => 'version',
    path => 'version',
    method => 'GET',
    permissions => { user => 'all' },
    description => "API version details",
    parameters => {
        additionalProperties => 0,
        properties => {
            node => get_standard_option('pve-node'),
        },
    },
    returns => { type => "object", properties => {} },
    code => sub {
        return { version => '0.0.0-standin', release => '0.0' };
    },
});

sub standin_helper {
    my ($x) = @_;
    return $x;
}

package PVE::API2::Nodes;

use strict;
use warnings;

use PVE::RESTHandler;
use PVE::JSONSchema qw(get_standard_option);

use base qw(PVE::RESTHandler);

__PACKAGE__->register_method({
    subclass => "PVE::API2::Nodes::Nodeinfo",
    path => '{node}',
});

__PACKAGE__->register_method({
    name => 'index',
    path => '',
    method => 'GET',
    permissions => { user => 'all' },
    description => "Cluster node index.",
    parameters => {
        additionalProperties => 0,
        properties => {},
    },
    returns => {
        type => 'array',
        items => { type => "object", properties => {} },
        links => [{ rel => 'child', href => "{node}" }],
    },
    code => sub {
        return [{ node => 'localhost', status => 'online' }];
    },
});

1;
