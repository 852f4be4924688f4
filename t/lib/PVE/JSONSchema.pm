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
#     pve-iface, disk-size, bwlimit with their verify/parse functions and die messages;
#   - parse_property_string(), print_property_string() (without key aliases), parse_boolean(),
#     parse_size(), format_size(), json_bool();
#   - check_type(), check_object(), check_prop(), validate(): type (string, boolean, integer, number,
#     object, array, null, any, unions), optional, enum, pattern (anchored), format, minLength,
#     maxLength, minimum, maximum, properties, additionalProperties, items, requires - with the real
#     error texts; validate() raises a PVE::Exception with code 400 and 'errors' like the real one.
#   - for the REST layer (PVE::RESTHandler): validate_schema() (against the real meta schema: same
#     keys, types, enums, defaults and self-references; our own description texts; dies
#     "400 internal error - unable to verify schema" with field-keyed errors), validate_method_info()
#     (the real method schema: allowed keys, 'name' requiring description/code/method/parameters/
#     path/returns, 'subclass' allowing only subclass/path/match_name/match_re/fragmentDelimiter,
#     permissions { description, user => all|world, check => [...] }; then validate_schema on
#     parameters and returns; message "internal error - unable to verify method info"), the load-time
#     self test of both meta schemas, method_get_child_link(), is_object_like_schema(),
#     schema_get_type_text() and generate_typetext() (keyAlias included).
# Left out: oneOf/allOf/instance-type schemas (check_prop dies "... not mirrored" on them), alias
# handling, the recursive-cycle check in validate(), CLI helpers (get_options, parse_config,
# dump_config, renderers), and the many formats no storage plugin, section config or API module of
# ours needs (email, CIDR, mac-addr, pve-tag, ...).
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

sub pve_verify_iface {
    my ($id, $noerr) = @_;
    return verdict(!!($id =~ m/^[a-z][a-z0-9_]{1,20}([:\.]\d+)?$/i), $id, $noerr, "invalid network interface name '$id'\n");
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
register_format('pve-iface', \&pve_verify_iface);
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

# ---- schemas of schemas and of API methods ----------------------------------------------------

# The JSON schema a (parameter/return) schema must match. Same keys, types, optional flags, enums and
# defaults as the real $default_schema_noref; the description texts are our own.
my $schema_valid_types = [qw(string object coderef array boolean number integer null any)];
my $default_schema_noref = {
    description => "The schema of a JSON schema.",
    type => ["object"],
    additionalProperties => 0,
    properties => {
        type => {
            type => ["string", "array"],
            description => "A type name or a union of type names.",
            optional => 1,
            default => "any",
            items => { type => "string", enum => $schema_valid_types },
            enum => $schema_valid_types,
        },
        oneOf => {
            type => 'array',
            description => "Alternative schemas.",
            optional => 1,
            items => { type => 'object', description => "One alternative." },
        },
        allOf => {
            type => 'array',
            description => "Schemas that must all match.",
            optional => 1,
            items => { type => 'object', description => "One sub-schema." },
        },
        'instance-types' => {
            type => 'array',
            description => "The oneOf types a property belongs to.",
            optional => 1,
            items => { type => 'string' },
        },
        'instance-type' => {
            type => 'string',
            description => "The oneOf type this alternative is for.",
            optional => 1,
        },
        'type-property' => {
            type => 'string',
            description => "The property naming the oneOf type.",
            optional => 1,
        },
        'type-property-schema' => {
            type => 'object',
            description => "The (string) schema of the type property.",
            optional => 1,
        },
        optional => {
            type => "boolean",
            description => "The property may be absent.",
            optional => 1,
            default => 0,
        },
        properties => {
            type => "object",
            description => "The properties of an object.",
            optional => 1,
            default => {},
        },
        items => {
            type => "object",
            description => "The schema of an array's items.",
            optional => 1,
            default => {},
        },
        additionalProperties => {
            type => ["boolean", "object"],
            description => "Whether (or with which schema) undeclared properties are allowed.",
            optional => 1,
            default => {},
        },
        minimum => { type => "number", optional => 1, description => "Smallest number allowed." },
        maximum => { type => "number", optional => 1, description => "Largest number allowed." },
        minLength => {
            type => "integer",
            description => "Shortest string allowed.",
            optional => 1,
            minimum => 0,
            default => 0,
        },
        maxLength => { type => "integer", description => "Longest string allowed.", optional => 1 },
        typetext => { type => "string", optional => 1, description => "The type for documentation." },
        pattern => {
            type => "string",
            format => "regex",
            description => "A regular expression the whole string must match.",
            optional => 1,
            default => ".*",
        },
        enum => { type => "array", optional => 1, description => "The values allowed." },
        description => { type => "string", optional => 1, description => "What the value is." },
        verbose_description => { type => "string", optional => 1, description => "A longer description." },
        format_description => { type => "string", optional => 1, description => "A one-word description." },
        title => { type => "string", optional => 1, description => "A title." },
        renderer => { type => "string", optional => 1, description => "How the CLI renders the value." },
        requires => {
            type => ["string", "object"],
            optional => 1,
            description => "A property or a schema required when this property is present.",
        },
        format => { type => ["string", "object"], optional => 1, description => "A named or inline format." },
        default_key => {
            type => "boolean",
            optional => 1,
            description => "The key of a property string that may be given without 'key='.",
        },
        alias => { type => 'string', optional => 1, description => "The property this one is an alias of." },
        keyAlias => {
            type => 'string',
            optional => 1,
            description => "Store the key as the value of another property (with alias only).",
            requires => 'alias',
        },
        default => { type => "any", optional => 1, description => "The default value." },
        completion => { type => 'coderef', description => "Shell completion function.", optional => 1 },
        links => {
            type => "array",
            description => "Link relations of the instance.",
            optional => 1,
            items => {
                type => "object",
                properties => {
                    href => { type => "string", description => "The link target, a URI template." },
                    rel => { type => "string", description => "The relation name.", optional => 1, default => "full" },
                    method => { type => "string", description => "The HTTP method.", optional => 1, default => "GET" },
                },
            },
        },
        print_width => { type => "integer", description => "Maximum CLI column width.", optional => 1 },
    },
};

# the real one is a Storable::dclone with the same recursive links
my sub deep_copy {
    use feature 'current_sub';
    my ($v) = @_;
    return { map { $_ => __SUB__->($v->{$_}) } keys %$v } if ref($v) eq 'HASH';
    return [map { __SUB__->($_) } @$v] if ref($v) eq 'ARRAY';
    return $v;
}
my $default_schema = deep_copy($default_schema_noref);
$default_schema->{properties}->{properties}->{additionalProperties} = $default_schema;
$default_schema->{properties}->{additionalProperties}->{properties} = $default_schema->{properties};
$default_schema->{properties}->{oneOf}->{items}->{properties} = $default_schema->{properties};
$default_schema->{properties}->{allOf}->{items}->{properties} = $default_schema->{properties};
$default_schema->{properties}->{items}->{properties} = $default_schema->{properties};
$default_schema->{properties}->{items}->{additionalProperties} = 0;
$default_schema->{properties}->{requires}->{properties} = $default_schema->{properties};
$default_schema->{properties}->{requires}->{additionalProperties} = 0;
$default_schema->{properties}->{'type-property-schema'}->{properties} = $default_schema->{properties};
$default_schema->{properties}->{'type-property-schema'}->{additionalProperties} = 0;

# The schema an API method definition (register_method's hash, after registration) must match:
# the real $method_schema's keys, types, enums, optional flags and 'requires'.
my $method_schema = {
    type => "object",
    additionalProperties => 0,
    properties => {
        description => { description => "What the method does.", optional => 1 },
        name => {
            type => 'string',
            description => "The method's name (a named method needs all of the keys below).",
            optional => 1,
            requires => {
                additionalProperties => 1,
                properties => {
                    name => {},
                    description => {},
                    code => {},
                    method => {},
                    parameters => {},
                    path => {},
                    returns => {},
                },
            },
        },
        method => {
            type => 'string',
            description => "The HTTP method.",
            enum => ['GET', 'POST', 'PUT', 'DELETE'],
            optional => 1,
        },
        protected => { type => 'boolean', description => "Only pvedaemon (root) may run it.", optional => 1 },
        expose_credentials => {
            type => 'boolean',
            description => "The RPC environment gets the caller's credentials.",
            optional => 1,
        },
        allowtoken => {
            type => 'boolean',
            description => "API tokens may call it.",
            optional => 1,
            default => 1,
        },
        download => { type => 'boolean', description => "Deprecated: download_allowed.", optional => 1 },
        download_allowed => { type => 'boolean', description => "It may return a file download.", optional => 1 },
        proxyto => {
            type => 'string',
            description => "The parameter naming the node to proxy the call to.",
            optional => 1,
        },
        proxyto_callback => { type => 'coderef', description => "Resolves the proxyto node.", optional => 1 },
        resolve_type => {
            type => 'coderef',
            description => "Determines the 'type' of a oneOf parameter schema from the parameters.",
            optional => 1,
        },
        permissions => {
            type => 'object',
            description => "Who may call it (default: root\@pam only).",
            optional => 1,
            additionalProperties => 0,
            properties => {
                description => { description => "The permissions in words.", optional => 1 },
                user => {
                    description => "'all' authenticated users, or 'world' (no credentials needed).",
                    type => 'string',
                    enum => ['all', 'world'],
                    optional => 1,
                },
                check => { description => "A permission check (prefix notation).", type => 'array', optional => 1 },
            },
        },
        match_name => { description => "Set by register_method.", optional => 1 },
        match_re => { description => "Set by register_method.", optional => 1 },
        path => { type => 'string', description => "The URI template." },
        fragmentDelimiter => {
            type => 'string',
            description => "'' makes a subclass match the whole rest of the URI.",
            optional => 1,
        },
        parameters => { type => 'object', description => "The parameters' JSON schema.", optional => 1 },
        returns => { type => 'object', description => "The return value's JSON schema.", optional => 1 },
        code => { type => 'coderef', description => "The implementation.", optional => 1 },
        subclass => {
            type => 'string',
            description => "The class handling this path.",
            optional => 1,
            requires => {
                additionalProperties => 0,
                properties => {
                    subclass => {},
                    path => {},
                    match_name => {},
                    match_re => {},
                    fragmentDelimiter => { optional => 1 },
                },
            },
        },
    },
};

sub validate_schema {
    my ($schema) = @_;
    validate($schema, $default_schema, "internal error - unable to verify schema\n");
}

sub validate_method_info {
    my ($info) = @_;

    validate($info, $method_schema, "internal error - unable to verify method info\n");
    validate_schema($info->{parameters}) if $info->{parameters};
    validate_schema($info->{returns}) if $info->{returns};
}

# the real module checks both meta schemas when it is loaded
validate_schema($default_schema_noref);
validate_schema($method_schema);

sub method_get_child_link {
    my ($info) = @_;

    return undef if !$info;
    my $schema = $info->{returns};
    return undef if !$schema || !$schema->{type} || $schema->{type} ne 'array';
    my $links = $schema->{links} or return undef;
    for my $link (@$links) {
        return $link if $link->{href} && $link->{rel} && $link->{rel} eq 'child';
    }
    return undef;
}

sub is_object_like_schema {
    my ($schema) = @_;
    return $schema
        && (defined($schema->{properties}) || defined($schema->{allOf}) || defined($schema->{oneOf}));
}

# ---- type texts (documentation, api_clone_schema) --------------------------------------------

my sub schema_default_key {
    my ($format) = @_;

    my $default_key;
    my $key_alias_props = {};
    for my $key (keys %$format) {
        my $phash = $format->{$key};
        if ($phash->{default_key}) {
            die "multiple default keys in schema ($default_key, $key)\n" if defined($default_key);
            die "default key '$key' is an alias - this is not allowed\n" if defined($phash->{alias});
            die "default key '$key' with keyAlias attribute is not allowed\n" if $phash->{keyAlias};
            $default_key = $key;
        }
        my $key_alias = $phash->{keyAlias};
        die "found keyAlias without 'alias definition for '$key'\n" if $key_alias && !$phash->{alias};
        if ($phash->{alias} && $key_alias) {
            die "inconsistent keyAlias '$key_alias' definition"
                if defined($key_alias_props->{$key_alias}) && $key_alias_props->{$key_alias} ne $phash->{alias};
            $key_alias_props->{$key_alias} = $phash->{alias};
        }
    }
    return ($default_key, $key_alias_props);
}

sub generate_typetext {
    my ($format, $list_enums) = @_;

    my ($default_key, $key_alias_props) = schema_default_key($format);

    # like the real one: every option after the first is preceded by " ", and its separating
    # comma goes inside the brackets of an optional one: "a=<x> [,b=<y>] ,c=<z>"
    my $res = '';
    my $add = sub {
        my ($text, $optional) = @_;
        if (length($res)) {
            $text = ",$text";
            $res .= ' ';
        }
        $res .= $optional ? "[$text]" : $text;
    };
    my %done;
    my $add_key = sub {
        my ($key) = @_;
        return if $done{$key}++;
        my $phash = $format->{$key} or return;
        return if $phash->{alias};

        my $typetext;
        if (my $desc = $phash->{format_description}) {
            $typetext = "<$desc>";
        } elsif (my $text = $phash->{typetext}) {
            $typetext = $text;
        } elsif (my $enum = $phash->{enum}) {
            $typetext = ($list_enums || @$enum <= 3) ? '<' . join('|', @$enum) . '>' : '<enum>';
        } elsif ($phash->{type} eq 'boolean') {
            $typetext = '<1|0>';
        } elsif ($phash->{type} eq 'integer' || $phash->{type} eq 'number') {
            $typetext = "<$phash->{type}>";
        } else {
            die "internal error: neither format_description nor typetext found for option '$key'";
        }
        my $is_default = defined($default_key) && $default_key eq $key;
        $add->($is_default ? "[$key=]$typetext" : "$key=$typetext", $phash->{optional});
    };

    $add_key->($default_key) if defined($default_key);
    for my $key (sort keys %$format) {
        $add_key->($key) if $format->{$key} && !$format->{$key}->{optional};
    }
    $add_key->($_) for sort keys %$format;
    $add->("<$_>=<$key_alias_props->{$_}>", 1) for sort keys %$key_alias_props;

    return $res;
}

sub schema_get_type_text {
    my ($phash, $style) = @_;

    my $type = $phash->{type} || 'string';

    return $phash->{typetext} if $phash->{typetext};
    return "<$phash->{format_description}>" if $phash->{format_description};
    return "<" . join(' | ', sort @{ $phash->{enum} }) . ">" if $phash->{enum};
    return $phash->{pattern} if $phash->{pattern};
    return "<alias to '$phash->{alias}'>" if $phash->{alias};
    if ($type eq 'integer' || $type eq 'number') {
        my ($min, $max) = ($phash->{minimum}, $phash->{maximum});
        return "<$type> (" . ($min + 0) . " - " . ($max + 0) . ")" if defined($min) && defined($max);
        return "<$type> (" . ($min + 0) . " - N)" if defined($min);
        return "<$type> (-N - " . ($max + 0) . ")" if defined($max);
    } elsif ($type eq 'string') {
        if (my $format = $phash->{format}) {
            $format = get_format($format) if ref($format) ne 'HASH';
            if (ref($format) eq 'HASH') {
                return generate_typetext($format, ($style && $style eq 'config-sub') ? 1 : 0);
            }
        }
    }
    return "<$type>";
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
