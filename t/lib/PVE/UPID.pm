# Test stand-in for PVE::UPID (libpve-common-perl), written from scratch.
#
# Mirrors src/PVE/UPID.pm in https://github.com/proxmox/pve-common at commit
# f665029eac78022e81810ab2e44eace57ade13fb ("bump version to 9.2.1"; PVE::Tools::upid_encode,
# upid_decode, upid_open, upid_read_status, ... delegate to this module at that commit):
#   encode($d)          - "UPID:$node:$pid:$pstart:$starttime:$type:$id:$user:" with pid, pstart
#                         and starttime as upper-case hex, zero-padded to 8 digits (pstart may get
#                         longer), e.g. UPID:pve1:0001E240:0179B9A2:6543A1B2:smbgwcreate:data:root@pam:
#   decode($upid, $noerr) - { node, pid, pstart, starttime, type, id, user } (numbers decoded from
#                         hex); in list context also the task log's file name. Accepts only what the
#                         real regex accepts (node name syntax, 8 hex digits for pid and starttime,
#                         8-9 for pstart, type and user non-empty without ':', '/' or white space,
#                         id possibly empty) and dies "unable to parse worker upid '$upid'\n" (undef
#                         with $noerr) otherwise.
#   open_log($upid)     - creates the task log and returns a write handle to it.
#   read_status($upid)  - from the log's last line: 'OK' for "TASK OK", the error text for
#                         "TASK ERROR: <text>", "WARNINGS: <n>" for "TASK WARNINGS: <n>", else
#                         "unexpected status"; "unable to get last line from task log - <err>" if
#                         the log cannot be read; "unexpected status" if there is no log at all.
#   status_is_error($status), normalize_status_type($status) - ok/warning/error/unknown.
# Where the logs are: the real module keeps them in /var/log/pve/tasks/<X>/<UPID>, <X> being the
# last hex digit of the start time. This stand-in uses the same layout under $STANDIN_TASK_DIR,
# which is $ENV{PVE_STANDIN_TASK_DIR} if set, else a temporary directory made on first use and
# removed at exit. It never touches /var/log/pve.
# Left out: the real open_log's ownership (the log belongs to www-data) and mkdir of /var/log/pve at
# load time.
package PVE::UPID;

use strict;
use warnings;

use File::Path qw(make_path);
use File::Temp ();

our $STANDIN_TASK_DIR;

sub task_dir {
    $STANDIN_TASK_DIR //= $ENV{PVE_STANDIN_TASK_DIR} // File::Temp::tempdir('pve-tasks-XXXXXX', TMPDIR => 1, CLEANUP => 1);
    return $STANDIN_TASK_DIR;
}

sub encode {
    my ($d) = @_;
    return sprintf(
        "UPID:%s:%08X:%08X:%08X:%s:%s:%s:",
        @$d{qw(node pid pstart starttime type id user)},
    );
}

sub decode {
    my ($upid, $noerr) = @_;

    my $node_re = qr/[a-zA-Z0-9](?:[a-zA-Z0-9\-]*[a-zA-Z0-9])?/;
    if ($upid =~ m/^UPID:($node_re):([0-9A-Fa-f]{8}):([0-9A-Fa-f]{8,9}):([0-9A-Fa-f]{8}):([^:\s\/]+):([^:\s\/]*):([^:\s\/]+):$/) {
        my ($node, $pid, $pstart, $starttime, $type, $id, $user) = ($1, $2, $3, $4, $5, $6, $7);
        my $res = {
            node => $node,
            pid => hex($pid),
            pstart => do { no warnings 'portable'; hex($pstart) },
            starttime => hex($starttime),
            type => $type,
            id => $id,
            user => $user,
        };
        my $subdir = substr($starttime, 7, 1);
        my $filename = task_dir() . "/$subdir/$upid";
        return wantarray ? ($res, $filename) : $res;
    }

    return undef if $noerr;
    die "unable to parse worker upid '$upid'\n";
}

sub open_log {
    my ($upid) = @_;
    my (undef, $filename) = decode($upid);
    (my $dir = $filename) =~ s|/[^/]+$||;
    make_path($dir);
    open(my $fh, '>', $filename) or die "unable to create output file '$filename' - $!\n";
    return $fh;
}

sub read_status {
    my ($upid) = @_;
    my (undef, $filename) = decode($upid);

    my $line = eval {
        my $fh;
        if (!open($fh, '<', $filename)) {
            return undef if $!{ENOENT};
            die "file '$filename' exists but open for reading failed - $!\n";
        }
        my $last;
        while (defined(my $l = <$fh>)) {
            $last = $l;
        }
        chomp($last) if defined($last);
        $last;
    };
    return "unable to get last line from task log - $@" if $@;
    $line //= '';

    return 'OK' if $line =~ m/^TASK OK$/;
    return $1 if $line =~ m/^TASK ERROR: (.+)$/;
    return $1 if $line =~ m/^TASK (WARNINGS: \d+)$/;
    return "unexpected status";
}

sub status_is_error {
    my ($status) = @_;
    return !($status eq 'OK' || $status =~ m/^WARNINGS: \d+$/);
}

sub normalize_status_type {
    my ($status) = @_;
    return 'unknown' if !$status;
    return 'ok' if $status eq 'OK';
    return 'warning' if $status =~ m/^WARNINGS: \d+$/;
    return 'unknown' if $status eq 'unexpected status';
    return 'error';
}

1;
