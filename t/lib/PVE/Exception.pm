# Test stand-in for PVE::Exception (libpve-common-perl), written from scratch.
#
# Mirrors the interface of src/PVE/Exception.pm in https://github.com/proxmox/pve-common at commit
# f665029eac78022e81810ab2e44eace57ade13fb ("bump version to 9.2.1"): the exception object
# (msg, code, errors, usage, filename, line), its stringification ("<code> <msg>", " at FILE line N"
# when msg has no trailing newline, then one "key: error" line per error, then the usage text), and
# raise(), raise_param_exc(), raise_perm_exc(), is_param_exc().
#
# Left out: PROPAGATE bookkeeping, deep-copying of parameters (dclone), the HTTP::Status dependency
# (the two codes used are written as numbers: 400 and 403).
package PVE::Exception;

use strict;
use warnings;

use Exporter qw(import);

our @EXPORT_OK = qw(raise raise_param_exc raise_perm_exc);

use overload
    '""' => sub { local $@; return $_[0]->stringify() },
    'cmp' => sub { my ($x, $y, $swap) = @_; local $@; my $r = "$x" cmp "$y"; return $swap ? -$r : $r },
    fallback => 1;

use constant { HTTP_BAD_REQUEST => 400, HTTP_FORBIDDEN => 403 };

sub new {
    my ($class, $msg, %param) = @_;
    my $self = { %param, msg => $msg };
    return bless $self, ref($class) || $class;
}

my sub throw_from_caller {
    my ($exc, $level) = @_;
    my (undef, $file, $line) = caller($level);
    @$exc{qw(filename line)} = ($file, $line);
    die $exc;
}

sub raise {
    my ($msg, %param) = @_;
    throw_from_caller(PVE::Exception->new($msg, %param), 1);
}

sub raise_param_exc {
    my ($errors, $usage) = @_;
    my %param = (code => HTTP_BAD_REQUEST, errors => $errors);
    $param{usage} = $usage if $usage;
    throw_from_caller(PVE::Exception->new("Parameter verification failed.\n", %param), 1);
}

sub raise_perm_exc {
    my ($what) = @_;
    my $msg = 'Permission check failed' . ($what ? " ($what)" : '') . "\n";
    throw_from_caller(PVE::Exception->new($msg, code => HTTP_FORBIDDEN), 1);
}

sub is_param_exc {
    my ($self) = @_;
    return $self->{code} && $self->{code} eq HTTP_BAD_REQUEST;
}

sub stringify {
    my ($self) = @_;

    my $text = defined($self->{code}) && $self->{code} ? "$self->{code} $self->{msg}" : $self->{msg};
    if ($text !~ /\n\z/) {
        $text .= " at $self->{filename} line $self->{line}" if $self->{filename} && $self->{line};
        $text .= "\n";
    }
    my $errors = $self->{errors} // {};
    $text .= "$_: $errors->{$_}\n" for keys %$errors;
    if (defined(my $usage = $self->{usage})) {
        $text .= $usage;
        $text .= "\n" if $text !~ /\n\z/;
    }
    return $text;
}

1;
