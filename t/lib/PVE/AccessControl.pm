# Test stand-in for part of PVE::AccessControl (pve-access-control), written from scratch.
#
# Mirrors src/PVE/AccessControl.pm (and the user/realm name checks of src/PVE/Auth/Plugin.pm, to
# which AccessControl's verify_username/pve_verify_realm delegate) in
# https://github.com/proxmox/pve-access-control at commit 5ccd07d9302562b73374d331b63d25b04b86766c
# ("bump version to 9.1.1"), the part the RPCEnvironment stand-in's permission checks use:
#   - names: verify_username (3..64 chars, "<user>@<realm>", user without white space, ':' or '/',
#     realm [A-Za-z][A-Za-z0-9.\-_]+; dies "user name '...' is too short\n", "... is too long (N >
#     64)\n", "value '...' does not look like a valid user name\n"), pve_verify_realm,
#     split_tokenid/join_tokenid/pve_verify_tokenid ("<user>@<realm>!<token>", token like a realm),
#     verify_groupname, verify_rolename, verify_privname (dies "invalid privilege '<priv>'\n"),
#     normalize_path, check_path; $token_subid_regex, $token_full_regex, $userid_or_token_regex;
#   - the privileges and built-in roles exactly as the real create_roles() makes them:
#     Administrator (every privilege), NoAccess, PVEAdmin, PVEAuditor, PVETemplateUser and the
#     PVE<Cat>Admin / PVE<Cat>User roles of the categories VM Sys Datastore SDN User Pool Mapping.
#     NOTE the "root" privileges Sys.PowerMgmt, Sys.Modify, Sys.Incoming, Sys.AccessNetwork and
#     Realm.Allocate are in NO built-in role but Administrator (not in PVEAdmin, not in
#     PVESysAdmin): a method needing Sys.Modify is for Administrator (or a custom role) only;
#   - roles($cfg, $user, $path): the roles of a user/token/group member on an ACL path, with the real
#     propagation rules (the deepest ACL entry on the path that applies replaces the ones above it;
#     token entries before user entries before group entries; an entry not at the end of the path
#     applies only if it propagates; NoAccess wins; a non-privsep token gets its user's roles);
#     iterate_acl_tree, find_acl_tree_node, role_is_special, userconfig_force_defaults,
#     check_user_exist ("no such user ('<user>')\n"), check_user_enabled ("user '<user>' is
#     disabled\n", "user '<user>' access expired\n"), check_token_exist ("no such token '<token>' for
#     user '<user>'\n");
#   - formats pve-realm, pve-userid, pve-tokenid, pve-groupid, pve-roleid, pve-priv and standard
#     options realm, userid, tokenid.
# The user configuration ($cfg) has the real parse_user_config() shape: { users => { <userid> =>
# { enable, expire, tokens => { <token> => { privsep, expire } } } }, groups => { <g> => { users =>
# { <userid> => 1 } } }, roles => { <role> => { <priv> => 1 } }, acl_root => { users|groups|tokens
# => { <who> => { <role> => <propagate> } }, children => { <path component> => { ... } } } }.
#
# For tests (not in the real module) - the user.cfg replacement:
#   standin_user_config(\%acl, users => {...}, tokens => {...}, groups => {...}, roles => {...})
#   builds such a $cfg from a table:
#     %acl: { <who> => { <path> => [<privilege or role name>, ...] } }
#       <who> is a user ('auditor@pve'), an API token ('auditor@pve!ci') or a group ('@admins');
#       instead of [...] a path may map to { privs => [...], propagate => 0 } (default propagate 1,
#       like the GUI's default). Items naming a role (built-in or from roles => ...) grant that
#       role; the privilege names of one entry make up an anonymous role. Unknown names die
#       "invalid privilege '<name>'\n".
#     users  => { 'x@pve' => { enable => 0, expire => <epoch> } } - users (and their settings); every
#       user named in %acl, as owner of a token or in a group exists too (enabled). root@pam always
#       exists.
#     tokens => { 'x@pve!ci' => { privsep => 0, expire => <epoch> } } - tokens; every token named in
#       %acl exists too, with privsep => 1 (the default of the GUI/API when creating a token).
#     groups => { admins => ['a@pve', 'b@pve'] }, roles => { SMBAdmin => ['Sys.Audit', 'Sys.Modify'] }.
# Left out: parse_user_config/write_user_config (user.cfg text), pools (and pool ACL paths' roles),
# realms/domains.cfg, tickets, passwords, TFA, CSRF tokens, LDAP sync, lookup_username's case
# handling, add_role_privs, create_priv_properties, remove_*_access.
package PVE::AccessControl;

use strict;
use warnings;

use PVE::JSONSchema;

# from PVE::Auth::Plugin at the same commit
my $realm_regex = qr/[A-Za-z][A-Za-z0-9\.\-_]+/;
my $user_regex = qr![^\s:/]+!;
my $groupname_regex = qr/[A-Za-z0-9\.\-_]+/;

our $token_subid_regex = $realm_regex;
# username@realm, username, realm, tokenid
our $token_full_regex = qr/((${user_regex})\@(${realm_regex}))!(${token_subid_regex})/;
our $userid_or_token_regex = qr/^$user_regex\@$realm_regex(?:!$token_subid_regex)?$/;

sub pve_verify_realm {
    my ($realm, $noerr) = @_;
    if ($realm !~ m/^${realm_regex}$/) {
        return undef if $noerr;
        die "value does not look like a valid realm\n";
    }
    return $realm;
}

sub verify_username {
    my ($username, $noerr) = @_;

    $username = '' if !$username;
    my $len = length($username);
    if ($len < 3) {
        die "user name '$username' is too short\n" if !$noerr;
        return undef;
    }
    if ($len > 64) {
        die "user name '$username' is too long ($len > 64)\n" if !$noerr;
        return undef;
    }
    if ($username =~ m!^(${user_regex})\@(${realm_regex})$!) {
        return wantarray ? ($username, $1, $2) : $username;
    }
    die "value '$username' does not look like a valid user name\n" if !$noerr;
    return undef;
}

sub split_tokenid {
    my ($tokenid, $noerr) = @_;

    return ($1, $4) if $tokenid =~ /^${token_full_regex}$/;
    die "'$tokenid' is not a valid token ID - not able to split into user and token parts\n" if !$noerr;
    return undef;
}

sub pve_verify_tokenid {
    my ($tokenid, $noerr) = @_;

    if ($tokenid =~ /^${token_full_regex}$/) {
        return wantarray ? ($tokenid, $2, $3, $4) : $tokenid;
    }
    die "value '$tokenid' does not look like a valid token ID\n" if !$noerr;
    return undef;
}

sub join_tokenid {
    my ($username, $tokensubid) = @_;
    return pve_verify_tokenid("${username}!${tokensubid}");
}

sub verify_groupname {
    my ($groupname, $noerr) = @_;
    if ($groupname !~ m/^$groupname_regex$/) {
        die "group name '$groupname' contains invalid characters\n" if !$noerr;
        return undef;
    }
    return $groupname;
}

sub verify_rolename {
    my ($rolename, $noerr) = @_;
    if ($rolename !~ m/^[A-Za-z0-9\.\-_]+$/) {
        die "role name '$rolename' contains invalid characters\n" if !$noerr;
        return undef;
    }
    return $rolename;
}

PVE::JSONSchema::register_format('pve-realm', \&pve_verify_realm);
PVE::JSONSchema::register_format('pve-userid', \&verify_username);
PVE::JSONSchema::register_format('pve-tokenid', \&pve_verify_tokenid);
PVE::JSONSchema::register_format('pve-groupid', \&verify_groupname);
PVE::JSONSchema::register_format('pve-roleid', \&verify_rolename);

PVE::JSONSchema::register_standard_option('realm', {
    description => "Authentication domain ID",
    type => 'string',
    format => 'pve-realm',
    maxLength => 32,
});
PVE::JSONSchema::register_standard_option('userid', {
    description => "Full User ID, in the `name\@realm` format.",
    type => 'string',
    format => 'pve-userid',
    maxLength => 64,
});
PVE::JSONSchema::register_standard_option('tokenid', {
    description => "API token identifier.",
    type => "string",
    format => "pve-tokenid",
});

# ---- privileges and built-in roles -----------------------------------------------------------

# per category: privileges only root/Administrator has, admin, user and audit privileges
my $privgroups = {
    VM => {
        root => [],
        admin => [qw(
            VM.Config.Disk VM.Config.CPU VM.Config.Memory VM.Config.Network VM.Config.HWType
            VM.Config.Options VM.Allocate VM.Clone VM.GuestAgent.Unrestricted VM.Migrate
            VM.Replicate VM.Snapshot VM.Snapshot.Rollback
        )],
        user => [qw(
            VM.Config.CDROM VM.Config.Cloudinit VM.Console VM.Backup VM.GuestAgent.FileRead
            VM.GuestAgent.FileSystemMgmt VM.GuestAgent.FileWrite VM.PowerMgmt
        )],
        audit => [qw(VM.Audit VM.GuestAgent.Audit)],
    },
    Sys => {
        root => [qw(Sys.PowerMgmt Sys.Modify Sys.Incoming Sys.AccessNetwork)],
        admin => [qw(Sys.Console Sys.Syslog)],
        user => [],
        audit => [qw(Sys.Audit)],
    },
    Datastore => {
        root => [],
        admin => [qw(Datastore.Allocate Datastore.AllocateTemplate)],
        user => [qw(Datastore.AllocateSpace)],
        audit => [qw(Datastore.Audit)],
    },
    SDN => {
        root => [],
        admin => [qw(SDN.Allocate SDN.Audit)],
        user => [qw(SDN.Use)],
        audit => [qw(SDN.Audit)],
    },
    User => {
        root => [qw(Realm.Allocate)],
        admin => [qw(User.Modify Group.Allocate Realm.AllocateUser)],
        user => [],
        audit => [],
    },
    Pool => {
        root => [],
        admin => [qw(Pool.Allocate)],
        user => [qw(Pool.Audit)],
        audit => [qw(Pool.Audit)],
    },
    Mapping => {
        root => [],
        admin => [qw(Mapping.Modify)],
        user => [qw(Mapping.Use)],
        audit => [qw(Mapping.Audit)],
    },
};

my $valid_privs = { 'Permissions.Modify' => 1 }; # the one privilege in no category

my $special_roles = {
    NoAccess => {},
    Administrator => $valid_privs,
};

for my $cat (keys %$privgroups) {
    my $cd = $privgroups->{$cat};
    $valid_privs->{$_} = 1 for map { @{ $cd->{$_} } } qw(root admin user audit);
    for my $priv (map { @{ $cd->{$_} } } qw(admin user audit)) {
        $special_roles->{"PVE${cat}Admin"}->{$priv} = 1;
        $special_roles->{PVEAdmin}->{$priv} = 1;
    }
    if (@{ $cd->{user} }) {
        $special_roles->{"PVE${cat}User"}->{$_} = 1 for @{ $cd->{user} }, @{ $cd->{audit} };
    }
    $special_roles->{PVEAuditor}->{$_} = 1 for @{ $cd->{audit} };
}
delete $special_roles->{PVEAdmin}->{'Mapping.Modify'};
$special_roles->{PVETemplateUser} = { 'VM.Clone' => 1, 'VM.Audit' => 1 };

sub verify_privname {
    my ($priv, $noerr) = @_;
    if (!$valid_privs->{$priv}) {
        die "invalid privilege '$priv'\n" if !$noerr;
        return undef;
    }
    return $priv;
}

PVE::JSONSchema::register_format('pve-priv', \&verify_privname);

sub role_is_special {
    my ($role) = @_;
    return exists $special_roles->{$role} ? 1 : 0;
}

sub normalize_path {
    my $path = shift;

    return undef if !$path;
    $path =~ s|/+|/|g;
    $path =~ s|/$||;
    $path = '/' if !$path;
    $path = "/$path" if $path !~ m|^/|;
    return undef if $path !~ m|^[[:alnum:]\.\-\_\/]+$|;
    return $path;
}

sub check_path {
    my ($path) = @_;
    my $name = qr/[[:alnum:]\.\-\_]+/;
    return $path =~ m!^(?:
        /
        |/access|/access/groups|/access/groups/$name|/access/realm|/access/realm/$name
        |/nodes|/nodes/$name
        |/pool|/pool/[A-Za-z0-9\.\-_]+(?:/[A-Za-z0-9\.\-_]+){0,2}
        |/sdn
        |/sdn/controllers|/sdn/controllers/[[:alnum:]\_\-]+
        |/sdn/dns|/sdn/dns/[[:alnum:]]+
        |/sdn/fabrics|/sdn/fabrics/[[:alnum:]]+
        |/sdn/ipams|/sdn/ipams/[[:alnum:]]+
        |/sdn/prefix-lists|/sdn/prefix-lists/[[:alnum:]]+
        |/sdn/route-maps|/sdn/route-maps/[[:alnum:]]+
        |/sdn/zones|/sdn/zones/$name|/sdn/zones/$name/$name|/sdn/zones/$name/$name/[1-9][0-9]{0,3}
        |/storage|/storage/$name
        |/vms|/vms/[1-9][0-9]{2,}
        |/mapping|/mapping/$name|/mapping/$name/$name
    )$!x ? 1 : '';
}

# ---- the user configuration ------------------------------------------------------------------

sub userconfig_force_defaults {
    my ($cfg) = @_;

    $cfg->{roles}->{$_} = $special_roles->{$_} for keys %$special_roles;
    $cfg->{users}->{'root@pam'}->{enable} = 1 if !$cfg->{users}->{'root@pam'};
    $cfg->{acl_root} = {} if !$cfg->{acl_root};
}

sub check_user_exist {
    my ($usercfg, $username, $noerr) = @_;

    $username = verify_username($username, $noerr);
    return undef if !$username;
    return $usercfg->{users}->{$username} if $usercfg && $usercfg->{users}->{$username};
    die "no such user ('$username')\n" if !$noerr;
    return undef;
}

sub check_user_enabled {
    my ($usercfg, $username, $noerr) = @_;

    my $data = check_user_exist($usercfg, $username, $noerr);
    return undef if !$data;
    if (!$data->{enable}) {
        die "user '$username' is disabled\n" if !$noerr;
        return undef;
    }
    my $expire = $usercfg->{users}->{$username}->{expire};
    if ($expire && $expire < time()) {
        die "user '$username' access expired\n" if !$noerr;
        return undef;
    }
    return 1;
}

sub check_token_exist {
    my ($usercfg, $username, $tokenid, $noerr) = @_;

    my $user = check_user_exist($usercfg, $username, $noerr);
    return undef if !$user;
    return $user->{tokens}->{$tokenid} if defined($user->{tokens}) && $user->{tokens}->{$tokenid};
    die "no such token '$tokenid' for user '$username'\n" if !$noerr;
    return undef;
}

sub iterate_acl_tree {
    my ($path, $node, $code) = @_;

    $code->($path, $node);
    $path = '' if $path eq '/';
    my $children = $node->{children};
    iterate_acl_tree("$path/$_", $children->{$_}, $code) for sort keys %$children;
}

sub find_acl_tree_node {
    my ($root, $path) = @_;

    my $node = $root;
    for my $p (split("/", $path)) {
        next if !$p;
        $node->{children} = {} if !$node->{children};
        $node->{children}->{$p} = {} if !$node->{children}->{$p};
        $node = $node->{children}->{$p};
    }
    return $node;
}

sub roles {
    my ($cfg, $user, $path) = @_;

    # NOTE: the real one returns the plain string 'Administrator' (not a hash) for root@pam;
    # callers go through RPCEnvironment::permissions(), which handles root@pam before.
    return 'Administrator' if $user eq 'root@pam';

    if (!defined($path)) {
        warn "internal error: ACL check called for undefined ACL path!\n";
        return {};
    }

    if (pve_verify_tokenid($user, 1)) {
        my ($username, $token) = split_tokenid($user);
        my $token_info = $cfg->{users}->{$username}->{tokens}->{$token};
        return () if !$token_info;
        return roles($cfg, $username, $path) if !$token_info->{privsep};
    }

    my $roles = {};
    my @split = $path eq '/' ? ('') : split("/", $path);
    my $acl = $cfg->{acl_root};

    # the deepest applicable entry wins: each one found replaces the roles collected so far
    my $entry_roles = sub {
        my ($ri, $final) = @_;
        my $new;
        for my $role (keys %$ri) {
            my $propagate = $ri->{$role};
            $new->{$role} = $propagate if $final || $propagate;
        }
        return $new;
    };
    while (@split) {
        my $p = shift @split;
        my $final = !@split;
        $acl = $acl->{children}->{$p} if $p ne '';

        if (my $ri = $acl->{tokens}->{$user}) {
            if (my $new = $entry_roles->($ri, $final)) {
                $roles = $new;
                next;
            }
        }
        if (my $ri = $acl->{users}->{$user}) {
            if (my $new = $entry_roles->($ri, $final)) {
                $roles = $new;
                next; # user entries override group entries
            }
        }
        my $new;
        for my $g (keys %{ $acl->{groups} }) {
            next if !$cfg->{groups}->{$g}->{users}->{$user};
            my $group_roles = $entry_roles->($acl->{groups}->{$g}, $final) or next;
            $new = { %{ $new // {} }, %$group_roles };
        }
        $roles = $new if $new;
    }

    return { NoAccess => $roles->{NoAccess} } if defined($roles->{NoAccess});
    return $roles;
}

# ---- test-only: the user.cfg replacement -----------------------------------------------------

sub standin_user_config {
    my ($acl, %opts) = @_;

    for my $opt (keys %opts) {
        die "standin_user_config: unknown option '$opt'\n" if $opt !~ /^(?:users|tokens|groups|roles)$/;
    }

    my $cfg = { users => {}, groups => {}, roles => {}, acl_root => {} };
    userconfig_force_defaults($cfg);

    my $add_user = sub {
        my ($userid) = @_;
        verify_username($userid);
        $cfg->{users}->{$userid} //= { enable => 1 };
        return $cfg->{users}->{$userid};
    };
    my $add_token = sub {
        my ($tokenid) = @_;
        my ($userid, $token) = split_tokenid($tokenid);
        my $user = $add_user->($userid);
        $user->{tokens}->{$token} //= { privsep => 1 };
        return $user->{tokens}->{$token};
    };

    for my $userid (sort keys %{ $opts{users} // {} }) {
        my $user = $add_user->($userid);
        %$user = (%$user, %{ $opts{users}->{$userid} });
    }
    for my $tokenid (sort keys %{ $opts{tokens} // {} }) {
        my $token = $add_token->($tokenid);
        %$token = (%$token, %{ $opts{tokens}->{$tokenid} });
    }
    for my $group (sort keys %{ $opts{groups} // {} }) {
        verify_groupname($group);
        $cfg->{groups}->{$group}->{users} //= {};
        for my $member (@{ $opts{groups}->{$group} }) {
            $add_user->($member);
            $cfg->{groups}->{$group}->{users}->{$member} = 1;
        }
    }
    for my $role (sort keys %{ $opts{roles} // {} }) {
        verify_rolename($role);
        die "role '$role' is a built-in role\n" if role_is_special($role);
        $cfg->{roles}->{$role} = { map { verify_privname($_) => 1 } @{ $opts{roles}->{$role} } };
    }

    my $anon = 0;
    for my $who (sort keys %$acl) {
        my ($kind, $name) = ('users', $who);
        if ($who =~ /^\@(.+)$/) {
            ($kind, $name) = ('groups', $1);
            die "group '$name' does not exist\n" if !$cfg->{groups}->{$name};
        } elsif (pve_verify_tokenid($who, 1)) {
            $kind = 'tokens';
            $add_token->($who);
        } else {
            $add_user->($who);
        }
        for my $path (sort keys %{ $acl->{$who} }) {
            my $entry = $acl->{$who}->{$path};
            my ($items, $propagate) = ref($entry) eq 'HASH'
                ? ($entry->{privs}, $entry->{propagate} // 1) : ($entry, 1);
            my $normpath = normalize_path($path);
            die "invalid ACL path '$path'\n" if !defined($normpath) || !check_path($normpath);
            my (@roles, %privs);
            for my $item (@$items) {
                if ($cfg->{roles}->{$item}) {
                    push @roles, $item;
                } else {
                    $privs{ verify_privname($item) } = 1;
                }
            }
            if (%privs) {
                my $role = 'StandinRole' . ++$anon;
                $cfg->{roles}->{$role} = \%privs;
                push @roles, $role;
            }
            my $node = find_acl_tree_node($cfg->{acl_root}, $normpath);
            $node->{$kind}->{$name}->{$_} = $propagate ? 1 : 0 for @roles;
        }
    }
    return $cfg;
}

1;
