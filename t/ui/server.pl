#!/usr/bin/perl
# Test-only HTTP server for the browser tests of the web UI: what pveproxy and pvedaemon do for
# the UI, on 127.0.0.1, single process, one request per connection.
#
#   /api2/json/...   and /api2/extjs/...   PVE::APIStandin::call_api_response on the real
#       PVE::API2::SMBGateway (mounted at /nodes/{node}/smbgateway) and PVE::API2::SMBGatewayCluster
#       (at /cluster/smbgateway, as t/api.t mounts it) with the stand-in REST layer of t/lib, backed by the real Rust core in sandbox mode (PVE_SMBGW_ROOT, PVE_SMBGW_SMB_PORT).
#       GET/DELETE parameters from the query string, POST/PUT from the form-encoded body, as
#       pveproxy takes them. Responses are formatted like PVE::APIServer::Formatter::Standard
#       (pve-http-server): json -> {data} (+ message/errors with the HTTP status on errors);
#       extjs -> always HTTP 200 with {data, success, message, errors, status}.
#   /api2/{json,extjs}/nodes/{node}/tasks/{upid}/status|log   stand-in of pve-manager's task
#       API (PVE::API2::Tasks read_task_status / read_task_log): {status: running|stopped,
#       exitstatus, upid, node, pid, pstart, starttime, type, id, user} and [{n, t}] with total.
#   /api2/json/storage (GET, POST)  a tiny in-memory stand-in of the storage.cfg API, only to see
#       what the storage editor submits (the real plugin is tested by t/storage-plugin.t).
#   /ext/...        GPL ExtJS from npm (ext-all.js, theme, charts)     -> $EXTJS_DIR
#   /www/...        our UI files                                       -> <repo>/www
#   /standins/...   stand-ins of the Proxmox/PVE ExtJS base classes    -> t/ui/standins
#   /               --index FILE: t/ui/index.html.tpl (mirrors pve-manager's index.html.tpl) after
#                   www/ui-hook apply
#   /pve2/js/pvemanagerlib.js   t/ui/standins/pve.js (stand-in of pve-manager's classes)
#   /pve2/js/pve-smbgateway.js  www/pve-smbgateway.js as www/Makefile builds it (where the package installs it)
#   /__test/log     POST: browser console lines forwarded by the tests (printed to stderr)
#
# Usage: server.pl --port N --extjs DIR   (prints "listening on PORT" when ready)
#   SMBGW_UI_DEBUG=1: every request and its status on stderr
use strict;
use warnings;

use Cwd ();
use FindBin;
use Getopt::Long;
use HTTP::Daemon;
use HTTP::Response;
use HTTP::Status qw(status_message is_error);
use JSON::PP;
use POSIX qw(WNOHANG);
use URI;
use URI::Escape qw(uri_unescape);

BEGIN { $ENV{PVE_STORAGE_CUSTOM_LIB} = '' }

use PVE::APIStandin;
use PVE::API2::SMBGateway;
use PVE::API2::SMBGatewayCluster;
use PVE::RESTEnvironment;
use PVE::UPID;

my ($port, $extjs, $index) = (0, undef, "$FindBin::Bin/index.html.tpl");
GetOptions('port=i' => \$port, 'extjs=s' => \$extjs, 'index=s' => \$index)
    or die "usage: $0 --port N --extjs DIR [--index FILE]\n";
die "--extjs DIR (extjs-gpl/build) is required\n" if !$extjs || !-d $extjs;

my $repo = Cwd::abs_path("$FindBin::Bin/../..");
my %static = (
    '/ext/' => $extjs,
    '/www/' => "$repo/www",
    '/standins/' => "$FindBin::Bin/standins",
);
my %mime = (
    js => 'application/javascript', css => 'text/css', html => 'text/html; charset=utf-8',
    png => 'image/png', gif => 'image/gif', svg => 'image/svg+xml', woff => 'font/woff',
    woff2 => 'font/woff2', ttf => 'font/ttf', eot => 'application/vnd.ms-fontobject', json => 'application/json',
);

PVE::INotify::standin_set_nodename('pve1');
PVE::APIStandin::mount_node_api('PVE::API2::SMBGateway', 'smbgateway');
PVE::APIStandin::mount_cluster_api('PVE::API2::SMBGatewayCluster', 'smbgateway');
my $ROOT = PVE::APIStandin::ROOT();
my $json = JSON::PP->new->utf8->canonical->allow_nonref;

my %storage_cfg;    # storage id -> properties (stand-in of /storage)

my $d = HTTP::Daemon->new(LocalAddr => '127.0.0.1', LocalPort => $port, ReuseAddr => 1, Listen => 64)
    or die "cannot listen on 127.0.0.1:$port: $!\n";
$| = 1;
print "listening on ", $d->sockport, "\n";

my $stop = 0;
$SIG{TERM} = $SIG{INT} = sub { $stop = 1; close($d) };

# PVE::APIServer::Formatter::Standard::prepare_response_data + the json/extjs formatters
sub format_response {
    my ($format, $res) = @_;
    my $status = $res->{status} // 200;
    my $new = { data => $res->{data} };
    my $success = 1;
    if ($res->{errors} && scalar(keys %{ $res->{errors} })) {
        $success = 0;
        $new->{errors} = $res->{errors};
    }
    my $message = $res->{message};
    if ($format eq 'extjs') {
        if (is_error($status)) {
            $success = 0;
            $new->{message} = defined($message) && "$message" ne '' ? "$message" : status_message($status);
            $new->{status} = $status;
            $message = undef;
            $status = 200;
        }
        $new->{success} = $success;
    } elsif (is_error($status)) {
        $new->{message} = defined($message) && "$message" ne '' ? "$message" : status_message($status);
    }
    $new->{total} = $res->{total} if $success && $res->{total};
    my $resp = HTTP::Response->new($status);
    # pveproxy puts the (first line of the) message in the HTTP status line
    if (is_error($status)) {
        (my $line = $message // status_message($status)) =~ s/\n.*//s;
        $resp->message($line);
    }
    $resp->header('Content-Type' => 'application/json;charset=UTF-8');
    $resp->content($json->encode($new));
    return $resp;
}

sub parse_params {
    my ($req) = @_;
    my $params = {};
    my $uri = URI->new($req->uri);
    my @pairs = $uri->query_form;
    if ($req->method eq 'POST' || $req->method eq 'PUT') {
        my $ct = $req->header('Content-Type') // '';
        if ($ct =~ m{application/json}) {
            my $body = $req->content ne '' ? decode_json($req->content) : {};
            push @pairs, %$body;
        } else {
            my $u = URI->new('http://x/');
            $u->query($req->content);
            push @pairs, $u->query_form;
        }
    }
    while (my ($k, $v) = splice(@pairs, 0, 2)) {
        next if $k eq '_dc';    # ExtJS cache buster
        $params->{$k} = defined($params->{$k}) ? "$params->{$k}\0$v" : $v;
    }
    return $params;
}

# pve-manager's PVE::API2::Tasks, just what the task viewer reads
sub task_api {
    my ($method, $node, $upid, $what, $params) = @_;
    my $task = PVE::UPID::decode($upid, 1) or return { status => 400, message => "unable to parse worker upid\n", errors => { upid => 'invalid' } };
    my (undef, $file) = PVE::UPID::decode($upid);
    return { status => 404, message => "no such task\n" } if !-f $file;
    if ($what eq 'status') {
        my $running = PVE::RESTEnvironment->get()->check_worker($upid) ? 1 : 0;
        my $data = { %$task, upid => $upid, status => $running ? 'running' : 'stopped' };
        if (!$running) {
            eval { PVE::RESTEnvironment::standin_wait_worker($upid, 5) };    # reap it
            $data->{exitstatus} = PVE::UPID::read_status($upid);
        }
        return { status => 200, data => $data };
    }
    if ($what eq 'log') {
        open(my $fh, '<', $file) or return { status => 500, message => "unable to open task log - $!\n" };
        my @lines = <$fh>;
        chomp @lines;
        my $start = $params->{start} // 0;
        my $limit = $params->{limit} // 50;
        my @out;
        for my $i ($start .. $#lines) {
            last if @out >= $limit;
            push @out, { n => $i + 1, t => $lines[$i] };
        }
        push @out, { n => 1, t => 'no content' } if !@lines;
        return { status => 200, data => \@out, total => scalar(@lines) || 1 };
    }
    return { status => 501, message => "Method '$method' not implemented" };
}

sub storage_api {
    my ($method, $path, $params) = @_;
    if ($method eq 'GET' && $path eq '') {
        return { status => 200, data => [ map { { storage => $_, %{ $storage_cfg{$_} } } } sort keys %storage_cfg ] };
    }
    if ($method eq 'POST' && $path eq '') {
        my $id = $params->{storage} // '';
        return { status => 400, message => "Parameter verification failed.\n", errors => { storage => 'property is missing and it is not optional' } }
            if $id eq '';
        return { status => 500, message => "storage ID '$id' already defined\n" } if $storage_cfg{$id};
        my $share = $params->{'smbgateway-share'} // '';
        my $res = PVE::APIStandin::call_api_response($ROOT, 'GET', "/nodes/pve1/smbgateway/shares/$share", {});
        return { status => 500, message => "create storage failed: $res->{message}" } if $res->{status} != 200;
        $storage_cfg{$id} = { %$params, path => $res->{data}->{path} };
        delete $storage_cfg{$id}->{storage};
        return { status => 200, data => undef };
    }
    if ($method eq 'GET' && $path =~ m{^/([^/]+)$} && $storage_cfg{$1}) {
        return { status => 200, data => { storage => $1, %{ $storage_cfg{$1} } } };
    }
    return { status => 501, message => "Method '$method /storage$path' not implemented" };
}

sub handle_api {
    my ($req, $format, $path) = @_;
    my $method = $req->method;
    my $params = parse_params($req);
    my $res;
    if ($path =~ m{^/nodes/([^/]+)/tasks/([^/]+)/(status|log)$}) {
        $res = task_api($method, $1, uri_unescape($2), $3, $params);
    } elsif ($path =~ m{^/storage(/.*)?$}) {
        $res = storage_api($method, $1 // '', $params);
    } else {
        $res = PVE::APIStandin::call_api_response($ROOT, $method, uri_unescape($path), $params, user => 'root@pam');
        if ($res->{proxy}) {
            $res = { status => 501, message => "stand-in: would proxy to $res->{proxynode}" };
        }
    }
    print STDERR "api: $method $path -> $res->{status}\n" if $ENV{SMBGW_UI_DEBUG};
    return format_response($format, $res);
}

sub handle_static {
    my ($path) = @_;
    $path = '/index.html' if $path eq '/';
    my $file;
    if ($path eq '/index.html') {
        $file = $index;
    } elsif ($path eq '/pve2/js/pvemanagerlib.js') {
        $file = "$FindBin::Bin/standins/pve.js";
    } elsif ($path eq '/pve2/js/pve-smbgateway.js') {
        $file = "$repo/www/pve-smbgateway.js";
    } else {
        for my $prefix (keys %static) {
            if (index($path, $prefix) == 0) {
                $file = $static{$prefix} . '/' . substr($path, length($prefix));
                last;
            }
        }
    }
    return HTTP::Response->new(404, 'Not Found') if !$file || $file =~ m{/\.\./} || !-f $file;
    open(my $fh, '<:raw', $file) or return HTTP::Response->new(403);
    local $/;
    my $content = <$fh>;
    my ($ext) = $file =~ m/\.(\w+)$/;
    my $resp = HTTP::Response->new(200);
    $ext = 'html' if $path eq '/index.html';
    $resp->header('Content-Type' => $mime{ lc($ext // '') } // 'application/octet-stream');
    $resp->header('Cache-Control' => 'max-age=3600') if $path =~ m{^/ext/};
    $resp->content($content);
    return $resp;
}

while (!$stop) {
    my $c = $d->accept or next;
    while (waitpid(-1, WNOHANG) > 0) { }    # tasks are reaped by the status reader; stray ones here
    $c->timeout(10);
    my $req = $c->get_request;
    if ($req) {
        my $path = URI->new($req->uri)->path;
        my $resp = eval {
            if ($path =~ m{^/api2/(json|extjs)(/.*)$}) {
                handle_api($req, $1, $2);
            } elsif ($path eq '/__test/log') {
                print STDERR "browser: ", $req->content, "\n";
                HTTP::Response->new(204);
            } else {
                handle_static($path);
            }
        };
        if (!$resp) {
            my $err = $@ || 'unknown error';
            print STDERR "server error on $path: $err";
            $resp = HTTP::Response->new(500, 'Internal Server Error');
            $resp->content($err);
        }
        $resp->header('Connection' => 'close');
        $c->send_response($resp);
        print STDERR "http: ", $req->method, " $path -> ", $resp->code, "\n" if $ENV{SMBGW_UI_DEBUG} && $path !~ m{^/api2/};
    } else {
        print STDERR "http: no request: ", ($c->reason // 'eof'), "\n" if $ENV{SMBGW_UI_DEBUG};
    }
    $c->close;
}
