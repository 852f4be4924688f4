package PVE::API2::StandinTasks;

# Test stand-in (t/package/run.sh): one subclass under /nodes/{node}, like PVE::API2::Tasks.

use strict;
use warnings;

use PVE::RESTHandler;
use PVE::JSONSchema qw(get_standard_option);

use base qw(PVE::RESTHandler);

__PACKAGE__->register_method({
    name => 'node_tasks',
    path => '',
    method => 'GET',
    permissions => { user => 'all' },
    description => "Read task list for one node (stand-in).",
    parameters => {
        additionalProperties => 0,
        properties => { node => get_standard_option('pve-node') },
    },
    returns => { type => 'array', items => { type => 'object', properties => {} } },
    code => sub { return []; },
});

1;
