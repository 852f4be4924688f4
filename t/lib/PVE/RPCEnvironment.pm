# Test stand-in for PVE::RPCEnvironment (pve-access-control), written from scratch.
#
# Mirrors src/PVE/RPCEnvironment.pm in https://github.com/proxmox/pve-access-control at commit
# 5ccd07d9302562b73374d331b63d25b04b86766c ("bump version to 9.1.1"): the subclass of
# PVE::RESTEnvironment (see there for init, get, set_user/get_user, fork_worker, ...) that pveproxy,
# pvedaemon and the CLI tools use, with the ACL checks.
#
#   permissions($user, $path)   - { <privilege> => <propagate flag> } of a user or API token on an
#       ACL path. root@pam has every privilege everywhere. Otherwise the roles from
#       PVE::AccessControl::roles() (deepest applicable ACL entry wins; entries above the path only
#       if they propagate; token entries, then user entries, then group entries; NoAccess wins) and
#       their privileges. API tokens ('user@realm!token'): an unknown token has nothing; a token
#       without privilege separation (privsep 0) has exactly its user's privileges; a privsep token
#       has the INTERSECTION of its own ACL privileges and its user's on that path. Unknown user
#       names (syntax) have nothing. Cached per request.
#   check($user, $path, \@privs, $noerr)     - all of @privs; else 403 "Permission check failed
#       (<path>, <priv>)" (the first privilege missing), or undef with $noerr. Unknown privilege
#       names die "invalid privilege '<priv>'\n".
#   check_any($user, $path, \@privs, $noerr) - one of them; else 403 "Permission check failed
#       (<path>, <p1>|<p2>...)".
#   check_full($user, $path, \@privs, $any, $noerr), check_perm_modify($user, $path, $noerr)
#       (Permissions.Modify, or also Datastore.Allocate on /storage/..., VM.Allocate on /vms/...,
#       Pool.Allocate on /pool/...; without path: Permissions.Modify on /access), check_vm_perm,
#       check_user_enabled, check_user_exist, check_pool_exist, is_group_member, filter_groups,
#       group_member_join, get_effective_permissions, compute_api_permission.
#   check_api2_permissions($perm, $username, $param) - what PVE::HTTPServer::rest_handler (pve-manager,
#       for pveproxy and pvedaemon) calls with a method's 'permissions' hash and the call's
#       parameters (URI parameters merged with the others) before running it:
#         no user and user => 'world'  -> allowed;  no user -> 403 "(user != null)";
#         root@pam -> allowed (whatever the hash says);  no permissions hash -> 403
#         "(user != root@pam)";  user => 'all' -> allowed;  check => [...] -> exec_api2_perm_check;
#         anything else -> 403 "Permission check failed".
#   exec_api2_perm_check($check, $username, $param, $noerr) - the check's prefix notation:
#       ['perm', '/nodes/{node}', ['Sys.Audit', ...], any => 1, require_param => 'x']
#         ({name} replaced from $param, '-' if missing; path normalized; all privileges, or any);
#       ['and', [check], [check], ...] (every one, failures die); ['or', [check], ...] (the first
#         that passes; else 403 "Permission check failed" without details);
#       ['userid-group', \@privs, groups_param => 'create'|1], ['userid-param', 'self' |
#         'Realm.AllocateUser'], ['perm-modify', '/path/{x}'] - as the real ones.
#       Unknown tests die "unknown permission test".
#   log_cluster_msg -> PVE::Cluster::log_msg (stand-in: @PVE::Cluster::STANDIN_CLUSTER_LOG);
#   broadcast_tasklist -> PVE::Cluster::broadcast_tasklist (nothing here);
#   init($type, %params) (also sets up the ACL state), init_request() (reloads the user
#   configuration - here: the table set by standin_set_acl - and clears the ACL cache), get(),
#   is_worker() (both callable as functions, PVE::RPCEnvironment::get(), like the real ones).
#
# Test-only (not in the real module): where the real one reads /etc/pve/user.cfg, this one uses a
# table (see PVE::AccessControl::standin_user_config for its format):
#   PVE::RPCEnvironment::standin_set_acl(
#       {
#           'auditor@pve'   => { '/' => ['PVEAuditor'] },                    # role, propagating
#           'admin@pve'     => { '/nodes/pve1' => ['Sys.Audit', 'Sys.Modify'] },
#           'admin@pve!ci'  => { '/' => ['Sys.Audit'] },                      # privsep token
#           'narrow@pve'    => { '/nodes' => { privs => ['Sys.Audit'], propagate => 0 } },
#           '@ops'          => { '/nodes' => ['Sys.Audit'] },                 # group ACL
#       },
#       tokens => { 'admin@pve!full' => { privsep => 0 } },
#       users  => { 'off@pve' => { enable => 0 } },
#       groups => { ops => ['op1@pve'] },
#       roles  => { SMBAdmin => ['Sys.Audit', 'Sys.Modify'] },
#   );
#   Replaces the whole table (root@pam always exists and may do everything); takes effect at once
#   (the current environment's configuration and cache are reloaded) and at every init_request.
#   PVE::RPCEnvironment::standin_user_cfg() returns the current configuration hash.
# Left out: pools (no pool ACLs, check_pool_exist always fails), init_request(userconfig => FILE)
# (user.cfg parsing; dies), check_sdn_bridge, reauth_user_for_user_modification (realms,
# passwords).
package PVE::RPCEnvironment;

use strict;
use warnings;

use PVE::AccessControl;
use PVE::Cluster;
use PVE::Exception qw(raise raise_param_exc raise_perm_exc);
use PVE::INotify;
use PVE::RESTEnvironment;
use PVE::Tools;

use base qw(PVE::RESTEnvironment);

my $standin_cfg_args = [{}];

sub standin_user_cfg {
    return PVE::AccessControl::standin_user_config(@$standin_cfg_args);
}

sub standin_set_acl {
    my ($acl, %opts) = @_;

    my $args = [$acl // {}, %opts];
    PVE::AccessControl::standin_user_config(@$args); # dies on bad tables now, not in init_request
    $standin_cfg_args = $args;

    my $env = eval { PVE::RESTEnvironment->get() };
    if ($env && $env->isa(__PACKAGE__)) {
        $env->{user_cfg} = standin_user_cfg();
        $env->{aclcache} = {};
    }
}

my sub compile_acl_path {
    my ($self, $user, $path) = @_;

    my $cfg = $self->{user_cfg};

    return undef if !$cfg->{roles};

    die "internal error" if $user eq 'root@pam';

    my $cache = $self->{aclcache};
    $cache->{$user} = {} if !$cache->{$user};
    my $data = $cache->{$user};

    # permissions() primes the cache for a token's user
    my ($username, undef) = PVE::AccessControl::split_tokenid($user, 1);
    die "internal error" if $username && $username ne 'root@pam' && !defined($cache->{$username});

    # (pool ACLs are not mirrored)

    my $roles = PVE::AccessControl::roles($cfg, $user, $path);
    $data->{roles}->{$path} = $roles;

    my $privs = {};
    for my $role (keys %$roles) {
        if (my $privset = $cfg->{roles}->{$role}) {
            $privs->{$_} ||= $roles->{$role} for keys %$privset;
        }
    }

    # a privsep token: intersection with its user's privileges
    if ($username && $username ne 'root@pam') {
        my $user_privs = $cache->{$username}->{privs}->{$path};
        my @both = grep { defined($user_privs->{$_}) } keys %$privs;
        $privs = { map { $_ => $user_privs->{$_} && $privs->{$_} } @both };
    }

    for my $priv (keys %$privs) {
        delete $privs->{$priv} if !defined($privs->{$priv});
    }

    $data->{privs}->{$path} = $privs;
    return $privs;
}

sub permissions {
    my ($self, $user, $path) = @_;

    if ($user eq 'root@pam') {
        my $cfg = $self->{user_cfg};
        return { map { $_ => 1 } keys %{ $cfg->{roles}->{'Administrator'} } };
    }

    if (!defined($path)) {
        warn "internal error: ACL check called for undefined ACL path!\n";
        return {};
    }

    if (PVE::AccessControl::pve_verify_tokenid($user, 1)) {
        my ($username, $token) = PVE::AccessControl::split_tokenid($user);
        my $cfg = $self->{user_cfg};
        my $token_info = $cfg->{users}->{$username}->{tokens}->{$token};

        return {} if !$token_info;

        my $user_perms = $self->permissions($username, $path); # primes the user's cache

        return $user_perms if !$token_info->{privsep};
    } else {
        $user = PVE::AccessControl::verify_username($user, 1);
        return {} if !$user;
    }

    my $cache = $self->{aclcache};
    $cache->{$user} = {} if !$cache->{$user};

    my $perm = $cache->{$user}->{privs}->{$path};
    return $perm if $perm;

    return compile_acl_path($self, $user, $path);
}

sub compute_api_permission {
    my ($self, $authuser) = @_;

    my $usercfg = $self->{user_cfg};

    my $res = {};
    my $priv_re_map = {
        vms => qr/VM\.|Permissions\.Modify/,
        access => qr/(User|Group)\.|Permissions\.Modify/,
        storage => qr/Datastore\.|Permissions\.Modify/,
        nodes => qr/Sys\.|Permissions\.Modify/,
        sdn => qr/SDN\.|Permissions\.Modify/,
        dc => qr/Sys\.Audit|Sys\.Modify|SDN\./,
        mapping => qr/Mapping\.|Permissions.Modify/,
    };
    $res->{$_} = {} for keys %$priv_re_map;

    my $required_paths = ['/', '/nodes', '/access/groups', '/vms', '/storage', '/sdn', '/mapping'];
    my $defined_paths = [];
    PVE::AccessControl::iterate_acl_tree("/", $usercfg->{acl_root}, sub { push @$defined_paths, $_[0] });

    my $checked_paths = {};
    for my $path (@$required_paths, @$defined_paths) {
        next if $checked_paths->{$path}++;

        my $path_perm = $self->permissions($authuser, $path);

        my $toplevel = ($path =~ /^\/(\w+)/) ? $1 : 'dc';
        if ($toplevel eq 'pool') {
            for my $priv (keys %$path_perm) {
                next if !defined($path_perm->{$priv});
                if ($priv =~ m/^VM\./) {
                    $res->{vms}->{$priv} = 1;
                } elsif ($priv =~ m/^Datastore\./) {
                    $res->{storage}->{$priv} = 1;
                } elsif ($priv eq 'Permissions.Modify') {
                    $res->{storage}->{$priv} = 1;
                    $res->{vms}->{$priv} = 1;
                }
            }
        } else {
            my $priv_regex = $priv_re_map->{$toplevel} // next;
            for my $priv (keys %$path_perm) {
                next if !defined($path_perm->{$priv});
                next if $priv !~ m/^($priv_regex)/;
                $res->{$toplevel}->{$priv} = 1;
            }
        }
    }
    return $res;
}

sub get_effective_permissions {
    my ($self, $user) = @_;

    my $paths = { map { $_ => 1 } qw(/ /access /access/groups /nodes /pool /sdn /storage /vms) };

    my $cfg = $self->{user_cfg};
    PVE::AccessControl::iterate_acl_tree("/", $cfg->{acl_root}, sub { $paths->{ $_[0] } = 1 });
    # (paths of pool members: no pools here)

    my $perms = {};
    for my $path (keys %$paths) {
        my $path_perms = $self->permissions($user, $path);
        for my $priv (keys %$path_perms) {
            delete $path_perms->{$priv} if !defined($path_perms->{$priv});
        }
        $perms->{$path} = $path_perms if %$path_perms;
    }
    return $perms;
}

sub check {
    my ($self, $user, $path, $privs, $noerr) = @_;

    my $perm = $self->permissions($user, $path);

    for my $priv (@$privs) {
        PVE::AccessControl::verify_privname($priv);
        if (!defined($perm->{$priv})) {
            return undef if $noerr;
            raise_perm_exc("$path, $priv");
        }
    }
    return 1;
}

sub check_any {
    my ($self, $user, $path, $privs, $noerr) = @_;

    my $perm = $self->permissions($user, $path);

    my $found = 0;
    for my $priv (@$privs) {
        PVE::AccessControl::verify_privname($priv);
        if (defined($perm->{$priv})) {
            $found = 1;
            last;
        }
    }
    return 1 if $found;
    return undef if $noerr;
    raise_perm_exc("$path, " . join("|", @$privs));
}

sub check_full {
    my ($self, $username, $path, $privs, $any, $noerr) = @_;
    return $any
        ? $self->check_any($username, $path, $privs, $noerr)
        : $self->check($username, $path, $privs, $noerr);
}

sub check_user_enabled {
    my ($self, $user, $noerr) = @_;
    return PVE::AccessControl::check_user_enabled($self->{user_cfg}, $user, $noerr);
}

sub check_user_exist {
    my ($self, $user, $noerr) = @_;
    return PVE::AccessControl::check_user_exist($self->{user_cfg}, $user, $noerr);
}

sub check_pool_exist {
    my ($self, $pool, $noerr) = @_;

    my $cfg = $self->{user_cfg};
    return 1 if $cfg->{pools}->{$pool};
    return undef if $noerr;
    raise_perm_exc("pool '$pool' does not exist");
}

sub check_vm_perm {
    my ($self, $user, $vmid, $pool, $privs, $any, $noerr) = @_;

    if ($pool) {
        return if $self->check_full($user, "/pool/$pool", $privs, $any, 1);
    }
    return $self->check_full($user, "/vms/$vmid", $privs, $any, $noerr);
}

sub is_group_member {
    my ($self, $group, $user) = @_;

    my $cfg = $self->{user_cfg};
    return 0 if !$cfg->{groups}->{$group};
    return defined($cfg->{groups}->{$group}->{users}->{$user});
}

sub filter_groups {
    my ($self, $user, $privs, $any) = @_;

    my $cfg = $self->{user_cfg};
    my $groups = {};
    for my $group (keys %{ $cfg->{groups} }) {
        my $path = "/access/groups/$group";
        $groups->{$group} = $cfg->{groups}->{$group} if $self->check_full($user, $path, $privs, $any, 1);
    }
    return $groups;
}

sub group_member_join {
    my ($self, $grouplist) = @_;

    my $users = {};
    my $cfg = $self->{user_cfg};
    for my $group (@$grouplist) {
        my $data = $cfg->{groups}->{$group} or next;
        $users->{$_} = 1 for keys %{ $data->{users} };
    }
    return $users;
}

sub check_perm_modify {
    my ($self, $username, $path, $noerr) = @_;

    return $self->check($username, '/access', ['Permissions.Modify'], $noerr) if !$path;

    my $testperms = ['Permissions.Modify'];
    if ($path =~ m|^/storage/.+$|) {
        push @$testperms, 'Datastore.Allocate';
    } elsif ($path =~ m|^/vms/.+$|) {
        push @$testperms, 'VM.Allocate';
    } elsif ($path =~ m|^/pool/.+$|) {
        push @$testperms, 'Pool.Allocate';
    }
    return $self->check_any($username, $path, $testperms, $noerr);
}

sub exec_api2_perm_check {
    my ($self, $check, $username, $param, $noerr) = @_;

    my $ind = 0;
    my $test = $check->[$ind++];
    die "no permission test specified" if !$test;

    if ($test eq 'and') {
        while (my $subcheck = $check->[$ind++]) {
            $self->exec_api2_perm_check($subcheck, $username, $param);
        }
        return 1;
    } elsif ($test eq 'or') {
        while (my $subcheck = $check->[$ind++]) {
            return 1 if $self->exec_api2_perm_check($subcheck, $username, $param, 1);
        }
        return 0 if $noerr;
        raise_perm_exc();
    } elsif ($test eq 'perm') {
        my ($t, $tmplpath, $privs, %options) = @$check;
        my $any = $options{any};
        die "missing parameters" if !($tmplpath && $privs);
        my $require_param = $options{require_param};
        if ($require_param && !defined($param->{$require_param})) {
            return 0 if $noerr;
            raise_perm_exc();
        }
        my $path = PVE::Tools::template_replace($tmplpath, $param);
        my $normpath = PVE::AccessControl::normalize_path($path);
        warn "Failed to normalize '$path'\n" if !defined($normpath) && defined($path);

        return $self->check_full($username, $normpath, $privs, $any, $noerr);
    } elsif ($test eq 'userid-group') {
        my $userid = $param->{userid};
        my ($t, $privs, %options) = @$check;

        my $check_existing_user = !$options{groups_param} || $options{groups_param} ne 'create';
        return 0 if $check_existing_user && !$self->check_user_exist($userid, $noerr);

        if (!$self->check_any($username, "/access/groups", $privs, 1)) {
            my $groups = $self->filter_groups($username, $privs, 1);
            if ($options{groups_param}) {
                my @group_param = PVE::Tools::split_list($param->{groups});
                raise_perm_exc("/access/groups, " . join("|", @$privs)) if !scalar(@group_param);
                for my $pg (@group_param) {
                    raise_perm_exc("/access/groups/$pg, " . join("|", @$privs)) if !$groups->{$pg};
                }
            }
            if ($check_existing_user) {
                my $allowed_users = $self->group_member_join([keys %$groups]);
                if (!$allowed_users->{$userid}) {
                    return 0 if $noerr;
                    raise_perm_exc();
                }
            }
        }
        return 1;
    } elsif ($test eq 'userid-param') {
        my ($userid, undef, $realm) = PVE::AccessControl::verify_username($param->{userid});
        my ($t, $subtest) = @$check;
        die "missing parameters" if !$subtest;
        if ($subtest eq 'self') {
            return 0 if !$self->check_user_exist($userid, $noerr);
            return 1 if $username eq $userid;
            return 0 if $noerr;
            raise_perm_exc();
        } elsif ($subtest eq 'Realm.AllocateUser') {
            return $self->check($username, "/access/realm/$realm", ['Realm.AllocateUser'], $noerr);
        } else {
            die "unknown userid-param test";
        }
    } elsif ($test eq 'perm-modify') {
        my ($t, $tmplpath) = @$check;
        my $path = PVE::Tools::template_replace($tmplpath, $param);
        $path = PVE::AccessControl::normalize_path($path);
        return 0 if !defined($path);
        return $self->check_perm_modify($username, $path, $noerr);
    } else {
        die "unknown permission test";
    }
}

sub check_api2_permissions {
    my ($self, $perm, $username, $param) = @_;

    return 1 if !$username && $perm->{user} && $perm->{user} eq 'world';

    raise_perm_exc("user != null") if !$username;

    return 1 if $username eq 'root@pam';

    raise_perm_exc('user != root@pam') if !$perm;

    return 1 if $perm->{user} && $perm->{user} eq 'all';

    return $self->exec_api2_perm_check($perm->{check}, $username, $param) if $perm->{check};

    raise_perm_exc();
}

sub log_cluster_msg {
    my ($self, $pri, $user, $msg) = @_;
    PVE::Cluster::log_msg($pri, $user, $msg);
}

sub broadcast_tasklist {
    my ($self, $tlist) = @_;
    PVE::Cluster::broadcast_tasklist($tlist);
}

sub init {
    my ($class, $type, %params) = @_;

    $class = ref($class) || $class;

    my $self = $class->SUPER::init($type, %params);

    $self->{user_cfg} = {};
    $self->{aclcache} = {};
    $self->{aclversion} = undef;

    return $self;
}

sub init_request {
    my ($self, %params) = @_;

    PVE::Cluster::cfs_update();

    $self->{result_attributes} = {};

    for my $p (keys %params) {
        die "PVE::RPCEnvironment stand-in: init_request(userconfig => ...) is not mirrored,"
            . " use standin_set_acl\n" if $p eq 'userconfig';
        die "unknown parameter '$p'";
    }

    eval {
        $self->{aclcache} = {};
        $self->{user_cfg} = standin_user_cfg();
    };
    if (my $err = $@) {
        $self->{user_cfg} = {};
        die "Unable to load access control list: $err";
    }
}

sub get {
    return PVE::RESTEnvironment->get();
}

sub is_worker {
    return PVE::RESTEnvironment->is_worker();
}

1;
