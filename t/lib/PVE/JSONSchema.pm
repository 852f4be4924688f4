# Test stand-in for PVE::JSONSchema (libpve-common-perl), written from scratch.
#
# Mirrors the interface of src/PVE/JSONSchema.pm in https://github.com/proxmox/pve-common at commit
# f665029eac78022e81810ab2e44eace57ade13fb ("bump version to 9.2.1"):
#   - standard options: register_standard_option() (dies "standard option '<name>' already
#     registered\n"), get_standard_option($name, $base) (fills the keys $base lacks - and, like the
#     real one, modifies and returns $base itself; dies "no such standard option '<name>'\n"), and the
#     registered options pve-vmid, pve-node, pve-node-list, pve-storage-id, pve-config-digest,
#     pve-snapshot-name, pve-output-format, skiplock, extra-args, fingerprint-sha256, bwlimit, with
#     the real schemas;
#   - formats: register_format() (dies "JSON schema format '<name>' already registered\n"),
#     get_format(), check_format() including the "-list" and "-opt" suffixes, and the formats string,
#     urlencoded, pve-configid, pve-storage-id, pve-vmid, pve-node, ipv4, ipv6, ip, dns-name,
#     disk-size, bwlimit with their verify/parse functions and die messages;
#   - parse_property_string(), print_property_string() (without key aliases), parse_boolean(),
#     parse_size(), format_size(), json_bool();
#   - check_type(), check_object(), check_prop(), validate(): type (string, boolean, integer, number,
#     object, array, null, any, unions), optional, enum, pattern (anchored), format, minLength,
#     maxLength, minimum, maximum, properties, additionalProperties, items, requires - with the real
#     error texts; validate() raises a PVE::Exception with code 400 and 'errors' like the real one.
# Left out: oneOf/allOf/instance-type schemas (check_prop dies "... not mirrored" on them), alias
# handling, the recursive-cycle check in validate(), method/CLI helpers (get_options, parse_config,
# dump_config, method_get_child_link, validate_schema, generate_typetext, renderers), and the many
# formats no storage plugin or section config needs (email, CIDR, mac-addr, pve-tag, ...).
package PVE::JSONSchema;

use strict;
use warnings;

use Exporter qw(import);
use JSON::PP ();
use Socket qw(inet_pton AF_INET AF_INET6);

use PVE::Exception qw(raise);

our @EXPORT_OK = qw(
    register_standard_option
    get_standard_option
    parse_property_string
    print_property_string
    json_bool
    get_object_property_schema
);

our $CONFIGID_RE = qr/[a-z][a-z0-9_-]+/i;

# ---- standard options ------------------------------------------------------------------------

my %standard_option;

sub register_standard_option {
    my ($name, $schema) = @_;
    die "standard option '$name' already registered\n" if $standard_option{$name};
    $standard_option{$name} = $schema;
}

sub get_standard_option {
    my ($name, $base) = @_;
    my $std = $standard_option{$name} or die "no such standard option '$name'\n";
    my $res = $base || {};
    for my $key (keys %$std) {
        $res->{$key} = $std->{$key} if !defined($res->{$key});
    }
    return $res;
}

# ---- formats ---------------------------------------------------------------------------------

my %format_of;
my %validator_of;

sub register_format {
    my ($name, $format, $validator) = @_;
    die "JSON schema format '$name' already registered\n" if $format_of{$name};
    if ($validator) {
        die "A \$validator function can only be specified for hash-based formats\n"
            if ref($format) ne 'HASH';
        $validator_of{$name} = $validator;
    }
    $format_of{$name} = $format;
}

sub get_format {
    my ($name) = @_;
    return $format_of{$name};
}

sub parse_id {
    my ($id, $type, $noerr) = @_;
    if (length($id) < 2) {
        return undef if $noerr;
        die "$type ID '$id' cannot be shorter than 2 characters\n";
    }
    if ($id !~ /^[a-z][a-z0-9\-_.]*[a-z0-9]$/i) {
        return undef if $noerr;
        die "$type ID '$id' contains illegal characters\n";
    }
    return $id;
}

sub parse_storage_id {
    my ($storeid, $noerr) = @_;
    return parse_id($storeid, 'storage', $noerr);
}

# A small helper: return $value if $ok, else undef (noerr) or die $msg.
my sub verdict {
    my ($ok, $value, $noerr, $msg) = @_;
    return $value if $ok;
    return undef if $noerr;
    die $msg;
}

sub pve_verify_urlencoded {
    my ($text, $noerr) = @_;
    return verdict(!!($text =~ /^[-%a-zA-Z0-9_.!~*'()]*$/), $text, $noerr, "invalid urlencoded string: $text\n");
}

sub pve_verify_configid {
    my ($id, $noerr) = @_;
    return verdict(!!($id =~ /^$CONFIGID_RE$/), $id, $noerr, "invalid configuration ID '$id'\n");
}

sub pve_verify_vmid {
    my ($vmid, $noerr) = @_;
    return verdict(!!($vmid =~ /^[1-9][0-9]{2,8}$/), $vmid, $noerr, "value does not look like a valid VM ID\n");
}

sub pve_verify_node_name {
    my ($node, $noerr) = @_;
    my $ok = $node =~ /^[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?$/;
    return verdict(!!($ok), $node, $noerr, "value does not look like a valid node name\n");
}

my sub is_ipv4 { my ($ip) = @_; return $ip =~ /^\d{1,3}(?:\.\d{1,3}){3}$/ && defined(inet_pton(AF_INET, $ip)) }
my sub is_ipv6 { my ($ip) = @_; return $ip =~ /^[0-9a-fA-F:.]+$/ && defined(inet_pton(AF_INET6, $ip)) }

sub pve_verify_ipv4 {
    my ($ip, $noerr) = @_;
    return verdict(!!(is_ipv4($ip)), $ip, $noerr, "value does not look like a valid IPv4 address\n");
}

sub pve_verify_ipv6 {
    my ($ip, $noerr) = @_;
    return verdict(!!(is_ipv6($ip)), $ip, $noerr, "value does not look like a valid IPv6 address\n");
}

sub pve_verify_ip {
    my ($ip, $noerr) = @_;
    return verdict(!!(is_ipv4($ip) || is_ipv6($ip)), $ip, $noerr, "value does not look like a valid IP address\n");
}

sub pve_verify_dns_name {
    my ($name, $noerr) = @_;
    my $label = qr/[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?/;
    return verdict(!!($name =~ /^(?:$label\.)*$label$/), $name, $noerr, "value does not look like a valid DNS name\n");
}

sub parse_size {
    my ($value) = @_;
    my ($number, $unit) = $value =~ /^(\d+(?:\.\d+)?)([KMGT](?:iB)?)?$/ or return undef;
    my %power = (K => 1, M => 2, G => 3, T => 4);
    $number *= 1024**$power{ substr($unit, 0, 1) } if $unit;
    return int($number);
}

sub format_size {
    my ($size) = @_;
    $size = int($size);
    for my $unit ('', 'K', 'M', 'G') {
        return $unit eq '' ? $size : "$size$unit" if $size % 1024;
        $size /= 1024;
    }
    return "${size}T";
}

sub pve_verify_disk_size {
    my ($size, $noerr) = @_;
    return verdict(!!(defined(parse_size($size))), $size, $noerr, "value does not look like a valid disk size: $size\n");
}

register_format('string', sub { });
register_format('urlencoded', \&pve_verify_urlencoded);
register_format('pve-configid', \&pve_verify_configid);
register_format('pve-storage-id', \&parse_storage_id);
register_format('pve-vmid', \&pve_verify_vmid);
register_format('pve-node', \&pve_verify_node_name);
register_format('ipv4', \&pve_verify_ipv4);
register_format('ipv6', \&pve_verify_ipv6);
register_format('ip', \&pve_verify_ip);
register_format('dns-name', \&pve_verify_dns_name);
register_format('disk-size', \&pve_verify_disk_size);

my %bwlimit_entry = (optional => 1, type => 'number', minimum => '0', format_description => 'LIMIT');
my $bwlimit_format = {
    default => { %bwlimit_entry, description => 'default bandwidth limit in KiB/s' },
    restore => { %bwlimit_entry, description => 'bandwidth limit in KiB/s for restoring guests from backups' },
    migration => {
        %bwlimit_entry,
        description => 'bandwidth limit in KiB/s for migrating guests (including moving local disks)',
    },
    clone => { %bwlimit_entry, description => 'bandwidth limit in KiB/s for cloning disks' },
    move => { %bwlimit_entry, description => 'bandwidth limit in KiB/s for moving disks' },
};
register_format('bwlimit', $bwlimit_format);

register_standard_option('pve-vmid', {
    description => "The (unique) ID of the VM.",
    type => 'integer',
    format => 'pve-vmid',
    minimum => 100,
    maximum => 999_999_999,
});
register_standard_option('pve-node', {
    description => "The cluster node name.",
    type => 'string',
    format => 'pve-node',
});
register_standard_option('pve-node-list', {
    description => "List of cluster node names.",
    type => 'string',
    format => 'pve-node-list',
});
register_standard_option('pve-storage-id', {
    description => "The storage identifier.",
    type => 'string',
    format => 'pve-storage-id',
    format_description => 'storage ID',
});
register_standard_option('pve-config-digest', {
    description => 'Prevent changes if current configuration file has a different digest. '
        . 'This can be used to prevent concurrent modifications.',
    type => 'string',
    optional => 1,
    maxLength => 64,
});
register_standard_option('skiplock', {
    description => "Ignore locks - only root is allowed to use this option.",
    type => 'boolean',
    optional => 1,
});
register_standard_option('extra-args', {
    description => "Extra arguments as array",
    type => 'array',
    items => { type => 'string' },
    optional => 1,
});
register_standard_option('fingerprint-sha256', {
    description => "Certificate SHA 256 fingerprint.",
    type => 'string',
    pattern => '([A-Fa-f0-9]{2}:){31}[A-Fa-f0-9]{2}',
});
register_standard_option('pve-output-format', {
    type => 'string',
    description => 'Output format.',
    enum => ['text', 'json', 'json-pretty', 'yaml'],
    optional => 1,
    default => 'text',
});
register_standard_option('pve-snapshot-name', {
    description => "The name of the snapshot.",
    type => 'string',
    format => 'pve-configid',
    maxLength => 40,
});
register_standard_option('bwlimit', {
    description => "Set I/O bandwidth limit for various operations (in KiB/s).",
    optional => 1,
    type => 'string',
    format => $bwlimit_format,
});

sub check_format {
    my ($format, $value, $path) = @_;

    return parse_property_string($format, $value, $path) if ref($format) eq 'HASH';
    return $format->($value) if ref($format) eq 'CODE';
    return if $format eq 'regex';

    my ($name, $suffix) = $format =~ /^(.*?)(?:-(list|opt))?$/;
    $suffix //= '';
    my $registered = get_format($name) or die "undefined format '$format'\n";
    die "'-$suffix' format must have code ref, not hash\n" if $suffix && ref($registered) ne 'CODE';

    if ($suffix eq 'list') {
        return [map { $registered->($_) } PVE::Tools::split_list($value)];
    } elsif ($suffix eq 'opt') {
        return $value ? $registered->($value) : undef;
    }
    return parse_property_string($format, $value, $path) if ref($registered) eq 'HASH';
    return $registered->($value);
}

sub parse_boolean {
    my ($text) = @_;
    return 1 if $text =~ /^(?:1|on|yes|true)$/i;
    return 0 if $text =~ /^(?:0|off|no|false)$/i;
    return undef;
}

my sub default_key_of {
    my ($format) = @_;
    my @keys = grep { $format->{$_}->{default_key} } sort keys %$format;
    die "multiple default keys in schema ($keys[0], $keys[1])\n" if @keys > 1;
    return $keys[0];
}

sub parse_property_string {
    my ($format, $data, $path, $additional_properties, $options) = @_;

    $additional_properties //= 0;
    my $validator;
    if (!ref($format)) {
        my $registered = get_format($format) or die "unknown format: $format\n";
        die "parse_property_string only accepts hash based named formats\n" if ref($registered) ne 'HASH';
        $validator = $validator_of{$format};
        $format = $registered;
    } elsif (ref($format) ne 'HASH') {
        die "unexpected format value of type " . ref($format) . "\n";
    }
    my %skip = map { $_ => 1 } @{ $options->{skip} // [] };

    my $res = {};
    my $default_key;
    for my $part (split(/,/, $data)) {
        next if $part =~ /^\s*$/;
        if (my ($k, $v) = $part =~ /^([^=]+)=(.+)$/) {
            next if $skip{$k};
            die "duplicate key in comma-separated list property: $k\n" if defined($res->{$k});
            # an unknown key is not refused here (as in the real code, whose own check for it never
            # fires): check_object() below reports it unless additional properties are allowed
            my $schema = $format->{$k} // {};
            die "PVE::JSONSchema stand-in: key aliases are not mirrored\n" if $schema->{alias};
            $v = parse_boolean($v) // $v if ($schema->{type} // '') eq 'boolean';
            $res->{$k} = $v;
        } elsif ($part !~ /=/) {
            die "duplicate key in comma-separated list property: $default_key\n" if $default_key;
            $default_key = default_key_of($format)
                or die "value without key, but schema does not define a default key\n";
            die "duplicate key in comma-separated list property: $default_key\n" if $res->{$default_key};
            $part = parse_boolean($part) // $part if ($format->{$default_key}->{type} // '') eq 'boolean';
            $res->{$default_key} = $part;
        } else {
            die "missing key in comma-separated list property\n";
        }
    }

    my $errors = {};
    check_object($path, $format, $res, $additional_properties, $errors);
    raise("format error\n", errors => $errors) if %$errors;

    return $validator ? $validator->($res) : $res;
}

sub print_property_string {
    my ($data, $format, $skip, $path) = @_;

    my $validator;
    if (ref($format) ne 'HASH') {
        my $name = $format;
        $format = get_format($name) or die "not a valid format: $name\n";
        $validator = $validator_of{$name};
    }
    my $errors = {};
    check_object($path, $format, $data, undef, $errors);
    raise("format error", errors => $errors) if %$errors;
    $data = $validator->($data) if $validator;

    my $default_key = default_key_of($format);
    my %done = map { $_ => 1 } @{ $skip // [] };
    my @parts;
    my $add = sub {
        my ($key, $as_default) = @_;
        return if $done{$key}++;
        my $value = $data->{$key};
        return if !defined($value);
        my $schema = $format->{$key} or die "invalid key '$key'\n";
        die "PVE::JSONSchema stand-in: key aliases are not mirrored\n" if $schema->{alias};
        if (($schema->{format} // '') eq 'disk-size') {
            $value = format_size($value);
        } elsif ($value =~ /,/) {
            die "illegal value with commas for $key\n";
        }
        push @parts, $as_default ? $value : "$key=$value";
    };
    $add->($default_key, 1) if defined($default_key);
    for my $key (sort keys %$data) {
        $add->($key) if $format->{$key} && !$format->{$key}->{optional};
    }
    $add->($_) for sort keys %$data;
    return join(',', @parts);
}

# ---- validation ------------------------------------------------------------------------------

sub add_error {
    my ($errors, $path, $msg) = @_;
    $path = '_root' if !$path;
    $errors->{$path} = $errors->{$path} ? join('\n', $errors->{$path}, $msg) : $msg;
}

sub is_number {
    my ($value) = @_;
    return $value =~ /^[+-]?(?:\d+\.\d+|\d+\.|\.\d+|\d+)(?:[eE][+-]?\d+)?$/;
}

sub is_integer {
    my ($value) = @_;
    return $value =~ /^[+-]?\d+$/;
}

sub check_type {
    my ($path, $type, $value, $errors) = @_;

    return 1 if !$type;
    if (!defined($value)) {
        return 1 if $type eq 'null';
        die "internal error";
    }

    if (ref($type) eq 'ARRAY') {
        for my $alternative (@$type) {
            my $scratch = {};
            check_type($path, $alternative, $value, $scratch);
            return 1 if !%$scratch;
        }
        add_error($errors, $path, "type check ('" . join('|', @$type) . "') failed");
        return undef;
    } elsif (ref($type) eq 'HASH') {
        my $scratch = {};
        check_prop($value, $type, $path, $scratch);
        return 1 if !%$scratch;
        add_error($errors, $path, "type check failed");
        return undef;
    } elsif (ref($type)) {
        die "internal error - got reference type '" . ref($type) . "'";
    }

    return 1 if $type eq 'any';
    my $ref = ref($value);
    my %needs_ref = (array => 'ARRAY', object => 'HASH', coderef => 'CODE');
    if (my $want = $needs_ref{$type}) {
        return 1 if $ref eq $want;
        add_error($errors, $path, "type check ('$type') failed");
        return undef;
    }
    if ($type eq 'null') {
        add_error($errors, $path, "type check ('$type') failed - value is not null");
        return undef;
    }
    return 1 if $type eq 'string' && $ref eq 'Regexp';
    if ($ref) {
        return 1 if $type eq 'boolean' && JSON::PP::is_bool($value);
        add_error($errors, $path, "type check ('$type') failed - got $ref");
        return undef;
    }
    my $ok = $type eq 'boolean' ? ($value eq '1' || $value eq '0')
        : $type eq 'integer' ? is_integer($value)
        : $type eq 'number' ? is_number($value)
        : 1; # string and unknown types are not checked
    return 1 if $ok;
    add_error($errors, $path, "type check ('$type') failed - got '$value'");
    return undef;
}

sub check_object {
    my ($path, $schema, $value, $additional_properties, $errors) = @_;

    if (ref($schema) ne 'HASH') {
        add_error($errors, $path, "Invalid schema definition.");
        return;
    }
    if (ref($value) ne 'HASH') {
        add_error($errors, $path, "an object is required");
        return;
    }
    my $sub = sub { return $path ? "$path.$_[0]" : $_[0] };

    check_prop($value->{$_}, $schema->{$_}, $sub->($_), $errors) for keys %$schema;

    for my $key (keys %$value) {
        if (my $subschema = $schema->{$key}) {
            if (defined(my $requires = $subschema->{requires})) {
                if (ref($requires)) {
                    check_prop($value, $requires, $path, $errors);
                } elsif (!defined($value->{$requires})) {
                    add_error($errors, $sub->($requires), "missing property required by '" . $sub->($key) . "'");
                }
            }
            next;
        }
        if (defined($additional_properties) && !$additional_properties) {
            add_error($errors, $sub->($key),
                "property is not defined in schema and the schema does not allow additional properties");
            next;
        }
        check_prop($value->{$key}, $additional_properties, $sub->($key), $errors) if ref($additional_properties);
    }
}

sub check_prop {
    my ($value, $schema, $path, $errors) = @_;

    die "internal error - no schema" if !$schema;
    die "internal error" if !$errors;
    if (ref($schema) ne 'HASH') {
        add_error($errors, $path, "Invalid schema definition.");
        return;
    }
    die "PVE::JSONSchema stand-in: oneOf/allOf/instance-type schemas are not mirrored\n"
        if $schema->{oneOf} || $schema->{allOf} || $schema->{'instance-types'};
    return if $schema->{alias};

    if (!defined($value)) {
        return if ($schema->{type} // '') eq 'null';
        add_error($errors, $path, "property is missing and it is not optional")
            if !$schema->{optional} && !$schema->{group};
        return;
    }

    return if !check_type($path, $schema->{type}, $value, $errors);

    if (my $ref = ref($value)) {
        if ($ref eq 'ARRAY') {
            my $items = $schema->{items} or return;
            die "not implemented" if ref($items) eq 'ARRAY';
            check_prop($value->[$_], $items, "${path}[$_]", $errors) for 0 .. $#$value;
        } elsif ($schema->{properties} || $schema->{additionalProperties}) {
            check_object($path, $schema->{properties} // {}, $value, $schema->{additionalProperties}, $errors);
        }
        return;
    }

    if (my $format = $schema->{format}) {
        eval { check_format($format, $value, $path) };
        if (my $err = $@) {
            add_error($errors, $path, "invalid format - $err");
            return;
        }
    }
    if (my $pattern = $schema->{pattern}) {
        if ($value !~ /^$pattern$/) {
            add_error($errors, $path, "value does not match the regex pattern");
            return;
        }
    }
    if (defined(my $max = $schema->{maxLength})) {
        if (length($value) > $max) {
            add_error($errors, $path, "value may only be $max characters long");
            return;
        }
    }
    if (defined(my $min = $schema->{minLength})) {
        if (length($value) < $min) {
            add_error($errors, $path, "value must be at least $min characters long");
            return;
        }
    }
    if (is_number($value)) {
        if (defined(my $max = $schema->{maximum}) && $value > $schema->{maximum}) {
            add_error($errors, $path, "value must have a maximum value of $max");
            return;
        }
        if (defined(my $min = $schema->{minimum}) && $value < $schema->{minimum}) {
            add_error($errors, $path, "value must have a minimum value of $min");
            return;
        }
    }
    if (my $enum = $schema->{enum}) {
        if (!grep { $_ eq $value } @$enum) {
            add_error($errors, $path,
                "value '$value' does not have a value in the enumeration '" . join(", ", @$enum) . "'");
        }
    }
}

sub validate {
    my ($instance, $schema, $errmsg) = @_;

    my $errors = {};
    $errmsg = "Parameter verification failed.\n" if !$errmsg;
    check_prop($instance, $schema, '', $errors) if $schema;
    raise($errmsg, code => 400, errors => $errors) if %$errors;
    return 1;
}

sub json_bool {
    my ($value) = @_;
    return $value ? JSON::PP::true : JSON::PP::false;
}

sub get_object_property_schema {
    my ($schema, $key, $object_data) = @_;
    if (my $props = $schema->{properties}) {
        return defined($props->{$key}) ? $props->{$key} : ();
    }
    if (my $all_of = $schema->{allOf}) {
        for my $subschema (@$all_of) {
            my @found = get_object_property_schema($subschema, $key, $object_data) or next;
            return wantarray ? @found : $found[0];
        }
        return;
    }
    die "PVE::JSONSchema stand-in: get_object_property_schema on oneOf schemas is not mirrored\n"
        if $schema->{oneOf};
    return;
}

require PVE::Tools; # split_list, for the "-list" formats

1;
