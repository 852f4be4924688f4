# Test stand-in for PVE::RESTEnvironment (libpve-common-perl), written from scratch.
#
# Mirrors src/PVE/RESTEnvironment.pm in https://github.com/proxmox/pve-common at commit
# f665029eac78022e81810ab2e44eace57ade13fb ("bump version to 9.2.1"), the per-process singleton
# that carries the request's user etc. and starts tasks. PVE::RPCEnvironment (the class the PVE
# daemons actually use, see there) is a subclass.
#
#   $class->init($type, atfork => sub {...})  - type cli (command line), pub (pveproxy), priv
#       (pvedaemon) or ha; dies "already initialized" (second call), "unknown environment type",
#       "unknown option '<p>'". Returns the singleton.
#   $class->setup_default_cli_env($username)  - init('cli'), init_request, set_language($ENV{LANG}),
#       set_user($username // 'root@pam'); dies "please run as root\n" for root@pam when $> != 0.
#   $class->get()                             - the singleton; dies "REST environment not
#       initialized" before init().
#   set_user/get_user($noerr) (dies "user name not set\n"), set_language/get_language,
#   set_client_ip/get_client_ip, set_result_attrib/get_result_attrib, set_credentials/
#   get_credentials ("credentials not set\n"), set_u2f_challenge/get_u2f_challenge,
#   set_request_host/get_request_host, init_request (clears the result attributes), is_worker.
#   warn($message) / log_warn($message) (exported) - prints "WARN: <message>" to STDERR and counts
#       the warning: a task whose worker warned ends "TASK WARNINGS: <n>".
#   check_worker($upid, $killit)              - whether the task's process still runs (same pid
#       and start time, not a zombie); with $killit terminates its process group (TERM, then
#       KILL after 5 s).
#   check_api2_permissions($perm, $username, $param) - the base class's version (root@pam, 'all',
#       'world' only); PVE::RPCEnvironment overrides it with the real ACL checks.
#   $env->fork_worker($dtype, $id, $user, $function, $background) - starts a task like the real one:
#       * forks; the child (process group leader, setsid) gets STDIN from /dev/null and STDOUT and
#         STDERR to the task log (async) and runs $function->($upid) in an eval; it ends the log
#         with "TASK OK", "TASK WARNINGS: <n>" or "TASK ERROR: <error, newlines made blanks>" and
#         exits 0 / 0 / 255 (POSIX::_exit: no END blocks, no destructors run in the child);
#       * parent and child handshake over pipes as in the real code, so when fork_worker returns
#         the task log exists; it returns the UPID (list context: ($upid, $exitstatus));
#       * $dtype defaults to 'unknown', $id to '', $user to get_user(1) // 'root@pam';
#       * UPID "UPID:<node>:<pid>:<pstart>:<starttime>:<dtype>:<id>:<user>:" (PVE::UPID::encode:
#         upper-case hex, 8 digits; pstart is the worker's start time in clock ticks from
#         /proc/<pid>/stat, starttime the epoch seconds) - e.g.
#         UPID:pve1:00012AF3:0016F2A1:6700A1B2:smbgwcreate:data:root@pam:
#       * type 'cli' without $background runs synchronously like the real one: the worker's output
#         goes through a pipe to the parent, which copies it to STDOUT and the task log, prints a
#         TASK ERROR's text to STDERR, and returns after the worker ended;
#       * logs "starting task <UPID>" and, when the worker is reaped, "end task <UPID> <status>"
#         through log_cluster_msg (PVE::RPCEnvironment: PVE::Cluster::log_msg, i.e. the
#         PVE::Cluster stand-in's @STANDIN_CLUSTER_LOG).
#     Task logs are files of the PVE::UPID stand-in (a temporary directory, or
#     $ENV{PVE_STANDIN_TASK_DIR}); PVE::UPID::read_status($upid) gives 'OK' / the error text.
#
# Deviations and test-only additions:
#   * the node name (in UPIDs) comes from PVE::INotify::nodename() - settable there - instead of
#     POSIX::uname() (the real init reads uname itself; both strip the domain part);
#   * init() installs no SIGCHLD handler: background workers are reaped by
#     standin_wait_worker($upid, $timeout) (below) instead of asynchronously, so a test can get the
#     exit status;
#   * active_workers (the /var/log/pve/tasks/active list) and broadcast_tasklist are left out;
#     fork_worker does not call them; no syslog.
#   * the real child hands a sync (cli) worker's terminal to it (tcsetpgrp) when STDIN is a tty;
#     left out.
#   standin_wait_worker($upid, $timeout) - waits (default 60 s) for a background task of this
#       process to end, reaps it and returns its exit status ($?), like the real SIGCHLD reaper
#       logging "end task ..."; on timeout kills the task's process group and dies
#       "stand-in: task <UPID> did not end within <n> s\n". For a task already reaped (or a sync
#       one) it returns the recorded status; for an unknown one undef.
#   standin_reset()                       - forgets the singleton (a test can init() another type).
package PVE::RESTEnvironment;

use strict;
use warnings;

use Exporter qw(import);
use IO::Handle;
use IO::Select;
use POSIX qw(:sys_wait_h);
use Time::HiRes ();

use PVE::Exception qw(raise raise_perm_exc);
use PVE::INotify;
use PVE::UPID;

our @EXPORT_OK = qw(log_warn);

my $rest_env;

my $WORKER_PIDS = {}; # pid => { user, upid } of background workers not yet reaped
my %TASK_EXIT; # upid => $? of reaped workers
my $WORKER_FLAG = 0;

# /proc/<pid>/stat: state (field 3) and starttime (field 22, clock ticks since boot)
my sub read_proc_pid_stat {
    my ($pid) = @_;
    open(my $fh, '<', "/proc/$pid/stat") or return undef;
    my $line = <$fh> // return undef;
    my ($rest) = $line =~ /^\Q$pid\E \(.*\) (.*)$/s or return undef;
    my @fields = split(/ /, $rest);
    return { status => $fields[0], starttime => $fields[19] };
}

my sub check_process_running {
    my ($pid, $pstart) = @_;
    my $info = read_proc_pid_stat($pid);
    return $info && (!$pstart || $info->{starttime} eq $pstart) && $info->{status} ne 'Z' ? $info : undef;
}

my sub read_proc_starttime {
    my ($pid) = @_;
    my $info = read_proc_pid_stat($pid);
    return $info ? $info->{starttime} : 0;
}

my sub log_task_result {
    my ($upid, $user, $status) = @_;

    return if !$rest_env;

    my $msg = 'successful';
    my $pri = 'info';
    if ($status != 0) {
        my $ec = $status >> 8;
        my $ic = $status & 255;
        $msg = $ec ? "failed ($ec)" : "interrupted ($ic)";
        $pri = 'err';
    }
    # the real one takes the status from the active task list, i.e. the task log's last line
    my $task_status = PVE::UPID::read_status($upid);
    $msg = $task_status if $task_status;

    $rest_env->log_cluster_msg($pri, $user, "end task $upid $msg");
}

my sub register_worker {
    my ($pid, $user, $upid) = @_;
    return if !$pid;
    $WORKER_PIDS->{$pid} = { user => $user, upid => $upid };
}

sub init {
    my ($class, $type, %params) = @_;

    $class = ref($class) || $class;

    die "already initialized" if $rest_env;
    die "unknown environment type" if !$type || $type !~ m/^(cli|pub|priv|ha)$/;

    my $self = { type => $type, warning_count => 0 };
    bless $self, $class;

    for my $p (keys %params) {
        die "unknown option '$p'" if $p ne 'atfork';
        $self->{$p} = $params{$p};
    }

    $rest_env = $self;
    $self->{nodename} = PVE::INotify::nodename();

    return $self;
}

sub standin_reset {
    $rest_env = undef;
}

sub setup_default_cli_env {
    my ($class, $username) = @_;

    $class = ref($class) || $class;
    $username //= 'root@pam';

    my $rpcenv = $class->init('cli');
    $rpcenv->init_request();
    $rpcenv->set_language($ENV{LANG});
    $rpcenv->set_user($username);

    die "please run as root\n" if $username eq 'root@pam' && $> != 0;
}

sub get {
    die "REST environment not initialized" if !$rest_env;
    return $rest_env;
}

sub set_client_ip { my ($self, $ip) = @_; $self->{client_ip} = $ip }
sub get_client_ip { my ($self) = @_; return $self->{client_ip} }

sub set_result_attrib { my ($self, $key, $value) = @_; $self->{result_attributes}->{$key} = $value }
sub get_result_attrib { my ($self, $key) = @_; return $self->{result_attributes}->{$key} }

sub set_language { my ($self, $lang) = @_; $self->{language} = $lang }
sub get_language { my ($self) = @_; return $self->{language} }

sub set_user { my ($self, $user) = @_; $self->{user} = $user }

sub get_user {
    my ($self, $noerr) = @_;
    return $self->{user} if defined($self->{user}) || $noerr;
    die "user name not set\n";
}

sub set_credentials { my ($self, $credentials) = @_; $self->{credentials} = $credentials }

sub get_credentials {
    my ($self, $noerr) = @_;
    return $self->{credentials} if defined($self->{credentials}) || $noerr;
    die "credentials not set\n";
}

sub set_u2f_challenge { my ($self, $challenge) = @_; $self->{u2f_challenge} = $challenge }

sub get_u2f_challenge {
    my ($self, $noerr) = @_;
    return $self->{u2f_challenge} if defined($self->{u2f_challenge}) || $noerr;
    die "no active u2f challenge\n";
}

sub set_request_host { my ($self, $host) = @_; $self->{request_host} = $host }

sub get_request_host {
    my ($self, $noerr) = @_;
    return $self->{request_host} if defined($self->{request_host}) || $noerr;
    die "no hostname available in current environment\n";
}

sub is_worker {
    my ($class) = @_;
    return $WORKER_FLAG;
}

my sub kill_process_group {
    my ($pid, $pstart) = @_;

    kill(15, -$pid); # TERM to the whole process group
    for (my $i = 0; $i < 5; $i++) {
        return if !check_process_running($pid, $pstart);
        sleep(1);
    }
    kill(9, -$pid);
}

sub check_worker {
    my ($self, $upid, $killit) = @_;

    my $task = PVE::UPID::decode($upid);
    my $running = check_process_running($task->{pid}, $task->{pstart});
    return 0 if !$running;
    if ($killit) {
        kill_process_group($task->{pid});
        return 0;
    }
    return 1;
}

# copies a sync worker's output to STDOUT and the task log, then handles its control message
my sub tee_worker {
    my ($childfd, $ctrlfd, $taskfh, $cpid) = @_;

    eval {
        my $int_count = 0;
        local $SIG{INT} = local $SIG{QUIT} = local $SIG{TERM} = sub {
            kill($int_count < 3 ? 15 : 9, -$cpid);
            $int_count++;
        };
        local $SIG{PIPE} = sub { die "broken pipe\n" };

        my $select = IO::Select->new();
        my $fh = IO::Handle->new_from_fd($childfd, 'r');
        $select->add($fh);

        my $readbuf = '';
        while ($select->count) {
            my @handles = $select->can_read(1);
            if (@handles) {
                my $count = sysread($handles[0], $readbuf, 4096);
                die "sync pipe read error: $!\n" if !defined($count);
                last if $count == 0;
                print $readbuf;
                STDOUT->flush();
                print $taskfh $readbuf;
                $taskfh->flush();
            } else {
                # some commands daemonize without closing stdout
                last if !check_process_running($cpid);
            }
        }

        POSIX::read($ctrlfd, $readbuf, 4096);
        if ($readbuf =~ m/^TASK OK\n?$/) {
            print $taskfh $readbuf;
        } elsif ($readbuf =~ m/^TASK ERROR: (.*)\n?$/) {
            print STDERR "$1\n";
            print $taskfh "\n$readbuf";
        } elsif ($readbuf =~ m/^TASK WARNINGS: (\d+)\n?$/) {
            print STDERR "Task finished with $1 warning(s)!\n";
            print $taskfh "\n$readbuf";
        } else {
            die "got unexpected control message: $readbuf\n";
        }
        $taskfh->flush();
    };
    my $err = $@;

    POSIX::close($childfd);
    POSIX::close($ctrlfd);

    if ($err) {
        $err =~ s/\n/ /mg;
        print STDERR "$err\n";
        print $taskfh "TASK ERROR: $err\n";
    }
}

sub fork_worker {
    my ($self, $dtype, $id, $user, $function, $background) = @_;

    $dtype = 'unknown' if !defined($dtype);
    $id = '' if !defined($id);
    $user = $self->get_user(1) // 'root@pam' if !defined($user);

    my $sync = ($self->{type} eq 'cli' && !$background) ? 1 : 0;

    local $SIG{INT} = local $SIG{QUIT} = local $SIG{PIPE} = local $SIG{TERM} = 'IGNORE';

    my $starttime = time();

    my @psync = POSIX::pipe();
    my @csync = POSIX::pipe();
    my @ctrlfd = $sync ? POSIX::pipe() : ();

    my $node = $self->{nodename};

    PVE::UPID::task_dir(); # stand-in: settle the task log directory before forking

    my $cpid = fork();
    die "unable to fork worker - $!" if !defined($cpid);

    my $workerpuid = $cpid ? $cpid : $$;
    my $pstart = read_proc_starttime($workerpuid) || die "unable to read process start time";

    my $upid = PVE::UPID::encode({
        node => $node,
        pid => $workerpuid,
        pstart => $pstart,
        starttime => $starttime,
        type => $dtype,
        id => $id,
        user => $user,
    });

    my $outfh;

    if (!$cpid) { # the worker
        $0 = "task $upid";
        $WORKER_FLAG = 1;

        $SIG{INT} = $SIG{QUIT} = $SIG{TERM} = sub { die "received interrupt\n" };
        $SIG{CHLD} = $SIG{PIPE} = 'DEFAULT';
        $SIG{TTOU} = 'IGNORE';

        POSIX::setsid();

        POSIX::close($psync[0]);
        POSIX::close($ctrlfd[0]) if $sync;
        POSIX::close($csync[1]);

        $outfh = $sync ? $psync[1] : undef;
        my $resfh = $sync ? $ctrlfd[1] : undef;

        eval {
            if (my $atfork = $self->{atfork}) {
                $atfork->();
            }
            if (!$sync) {
                close(STDIN);
                open(STDIN, '<', '/dev/null') or die "unable to redirect STDIN - $!";
                $outfh = PVE::UPID::open_log($upid);
                $resfh = fileno($outfh);
            }
            close(STDOUT);
            open(STDOUT, '>&', $outfh) or die "unable to redirect STDOUT - $!";
            STDOUT->autoflush(1);
            close(STDERR);
            open(STDERR, '>&', \*STDOUT) or die "unable to redirect STDERR - $!";
            STDERR->autoflush(1);
        };
        if (my $err = $@) {
            my $msg = "ERROR: $err";
            POSIX::write($psync[1], $msg, length($msg));
            POSIX::close($psync[1]);
            POSIX::_exit(1);
        }

        # tell the parent we are ready
        POSIX::write($psync[1], $upid, length($upid));
        POSIX::close($psync[1]) if !$sync;

        eval {
            my $readbuf = '';
            POSIX::read($csync[0], $readbuf, 4096); # wait for the parent
            die "parent setup error\n" if $readbuf ne 'OK';

            print "task started by HA resource agent\n" if $self->{type} eq 'ha';
            $function->($upid);
        };
        my ($msg, $exitcode);
        my $err = $@;
        if ($err) {
            $err = "$err"; # an exception object becomes its text
            chomp $err;
            $err =~ s/\n/ /mg;
            $msg = "TASK ERROR: $err\n";
            $exitcode = -1;
        } elsif (my $warnings = $self->{warning_count}) {
            $msg = "TASK WARNINGS: $warnings\n";
            $exitcode = 0;
        } else {
            $msg = "TASK OK\n";
            $exitcode = 0;
        }
        utf8::encode($msg) if utf8::is_utf8($msg);
        POSIX::write($resfh, $msg, length($msg));
        POSIX::close($resfh) if $sync;
        POSIX::_exit($exitcode);
    }

    # parent
    POSIX::close($psync[1]);
    POSIX::close($ctrlfd[1]) if $sync;
    POSIX::close($csync[0]);

    my $readbuf = '';
    POSIX::read($psync[0], $readbuf, 4096); # wait until the worker started

    if (!$sync) {
        POSIX::close($psync[0]);
        register_worker($cpid, $user, $upid);
    } else {
        chomp $readbuf;
    }

    eval {
        die "got no worker upid - start worker failed\n" if !$readbuf;
        die "starting worker failed: $1\n" if $readbuf =~ m/^ERROR:\s*(.+)$/m;
        die "got strange worker upid ('$readbuf' != '$upid') - start worker failed\n" if $readbuf ne $upid;
        $outfh = PVE::UPID::open_log($upid) if $sync;
    };
    my $err = $@;

    if (!$err) {
        POSIX::write($csync[1], 'OK', 2);
        POSIX::close($csync[1]);
    } else {
        POSIX::close($csync[1]);
        kill(-9, $cpid);
        waitpid($cpid, 0);
        delete $WORKER_PIDS->{$cpid};
        die $err;
    }

    $self->log_cluster_msg('info', $user, "starting task $upid");

    my $res = 0;
    if ($sync) {
        tee_worker($psync[0], $ctrlfd[0], $outfh, $cpid);
        kill_process_group($cpid, $pstart);
        close($outfh);
        waitpid($cpid, 0);
        $res = $?;
        $TASK_EXIT{$upid} = $res;
        log_task_result($upid, $user, $res);
    }

    return wantarray ? ($upid, $res) : $upid;
}

sub standin_wait_worker {
    my ($upid, $timeout) = @_;

    $timeout //= 60;
    return $TASK_EXIT{$upid} if exists $TASK_EXIT{$upid};

    my $task = PVE::UPID::decode($upid);
    my $pid = $task->{pid};
    my $info = $WORKER_PIDS->{$pid};
    return undef if !$info || $info->{upid} ne $upid;

    my $deadline = Time::HiRes::time() + $timeout;
    while (1) {
        my $res = waitpid($pid, WNOHANG);
        if ($res == $pid || $res == -1) {
            my $status = $res == $pid ? $? : -1;
            delete $WORKER_PIDS->{$pid};
            $TASK_EXIT{$upid} = $status;
            log_task_result($upid, $info->{user}, $status);
            return $status;
        }
        if (Time::HiRes::time() > $deadline) {
            kill(9, -$pid);
            waitpid($pid, 0);
            delete $WORKER_PIDS->{$pid};
            $TASK_EXIT{$upid} = $?;
            die "stand-in: task $upid did not end within $timeout s\n";
        }
        Time::HiRes::sleep(0.02);
    }
}

sub log_warn {
    my ($message) = @_;

    if ($rest_env) {
        $rest_env->warn($message);
    } else {
        chomp($message);
        print STDERR "WARN: $message\n";
    }
}

sub warn {
    my ($self, $message) = @_;

    chomp($message);
    print STDERR "WARN: $message\n";
    $self->{warning_count}++;
}

# abstract in the real base class (syslog only); PVE::RPCEnvironment logs to the cluster log
sub log_cluster_msg {
    my ($self, $pri, $user, $msg) = @_;
    return;
}

sub broadcast_tasklist {
    my ($self, $tlist) = @_;
    return;
}

sub check_api2_permissions {
    my ($self, $perm, $username, $param) = @_;

    return 1 if !$username && $perm->{user} eq 'world';

    raise_perm_exc("user != null") if !$username;

    return 1 if $username eq 'root@pam';

    raise_perm_exc('user != root@pam') if !$perm;

    return 1 if $perm->{user} && $perm->{user} eq 'all';

    raise_perm_exc();
}

sub init_request {
    my ($self, %params) = @_;
    $self->{result_attributes} = {};
}

1;
