#!/usr/bin/perl
# POST /nodes/{node}/smbgateway/import called the way pvedaemon does (stand-ins of PVE's REST
# layer in t/lib), against a real sandbox whose smb.conf is an admin's own: the dry run is a
# task whose log lists what would be adopted and what stays unmanaged (with the reason) and
# changes no file; a share name the gateway already has is a 400 on 'share' naming it, before
# any task; an unknown share is a 400 too; only Sys.Modify may import. The import itself
# (smbd serving the adopted shares) is tested with the CLI in crates/cli/tests/import.rs: the
# API method is the same core function.
use strict;
use warnings;

use File::Path qw(make_path);
use Test::More;

use SMBGWTest;

BEGIN { $ENV{PVE_STORAGE_CUSTOM_LIB} = '' }

plan skip_all => 'needs root (the gateway runs as root)' if $> != 0;

my $dir = SMBGWTest::sandbox('import');

my $api = SMBGWTest::node_api('/nodes/pve1/smbgateway');
sub api { return $api->(@_) }

sub slurp {
    my ($path) = @_;
    open(my $fh, '<', $path) or return undef;
    local $/;
    return <$fh>;
}

sub spew {
    my ($path, $text) = @_;
    open(my $fh, '>', $path) or die "$path: $!\n";
    print $fh $text;
    close($fh) or die "$path: $!\n";
}

# the admin's smb.conf: its Samba state in the sandbox's directories, two shares
my $samba = "$dir/root/samba";
make_path(map { "$samba/$_" } qw(private state lock cache pid ncalrpc));
make_path(map { "$dir/data/$_" } qw(docs odd));
my $admin = <<"EOF";
[global]
   workgroup = ADMINS
   private dir = $samba/private
   state directory = $samba/state
   lock directory = $samba/lock
   cache directory = $samba/cache
   pid directory = $samba/pid
   ncalrpc dir = $samba/ncalrpc
[docs]
   path = $dir/data/docs
   read only = no
[odd]
   path = $dir/data/odd
   preexec = /bin/true
EOF
spew("$samba/smb.conf", $admin);
my @files = ("$samba/smb.conf", "$samba/smbgateway-unmanaged.conf", "$dir/root/config/shares.cfg");
my %before = map { $_ => slurp($_) } @files;
sub unchanged {
    my ($what) = @_;
    is_deeply({ map { $_ => slurp($_) } @files }, \%before, "$what changed no file");
}

# only Sys.Modify imports
my ($upid, $err) = api('POST', '/import', { 'dry-run' => 1 }, 'auditor@pve');
is(ref($err) && $err->{code}, 403, 'an auditor may not import');

# the dry run: a task listing the mapping
($upid, $err) = api('POST', '/import', { 'dry-run' => 1 }, 'admin@pve');
is($err, '', 'the dry run starts') or diag($err);
my $task = PVE::APIStandin::wait_task($upid);
is($task->{status}, 'OK', 'the dry-run task succeeded') or diag($task->{log});
like($task->{log}, qr/^would adopt: docs \(file\)$/m, 'docs would be adopted');
like($task->{log}, qr/^unmanaged: odd \(file\): .*preexec = \/bin\/true/m, 'odd stays, with the reason');
unchanged('the dry run');

# an unknown share: a 400 on 'share', no task
($upid, $err) = api('POST', '/import', { share => 'nosuch' }, 'admin@pve');
ok(!defined($upid), 'no task for an unknown share');
like(ref($err) && $err->{errors}->{share}, qr/'nosuch' is not in the admin's own Samba configuration/, 'named on share')
    or diag(explain($err));
unchanged('the refused import');

# a name the gateway already has: a 400 naming it, nothing imported
make_path("$dir/root/config");
spew("$dir/root/config/shares.cfg", "share: DOCS\n\tmode native\n\tpath $dir/data/gwdocs\n");
$before{"$dir/root/config/shares.cfg"} = slurp("$dir/root/config/shares.cfg");
($upid, $err) = api('POST', '/import', {}, 'admin@pve');
ok(!defined($upid), 'no task for a collision');
is(ref($err) && $err->{code}, 400, 'a collision is a 400');
like(ref($err) && $err->{errors}->{share}, qr/already has shares named 'docs'.*nothing was imported/, 'on share, naming it')
    or diag(explain($err));
unchanged('the collision');

done_testing();
