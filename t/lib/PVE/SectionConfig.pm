# Test stand-in for PVE::SectionConfig (libpve-common-perl), written from scratch.
#
# Mirrors src/PVE/SectionConfig.pm in https://github.com/proxmox/pve-common at commit
# f665029eac78022e81810ab2e44eace57ade13fb ("bump version to 9.2.1", 2026-08-04), whose last
# SectionConfig change is 747fa15 "SectionConfig: make init() repeatable".
#
# Mirrored (names, signatures, return shapes, die/warn texts):
#   private (dies "overwrite me"), register (dies "duplicate plugin registration (type = T)"), type,
#   properties, options, plugindata, has_isolated_properties, init, lookup, lookup_types,
#   get_property_schema, decode_value, encode_value, check_value, parse_section_header,
#   format_section_header, parse_config, check_config, write_config, createSchema, updateSchema,
#   assert_if_modified, delete_from_config.
#
# init() - the rules a plugin author must know:
#   * unified mode (the default, and what PVE::Storage uses): every property name may be defined by
#     exactly ONE plugin's properties(), and not at all if the base plugin's $defaultData->{propertyList}
#     already has it. A second definition dies "duplicate property 'NAME'" - even when the two
#     definitions are identical. The message has no trailing newline, so Perl appends
#     " at .../PVE/SectionConfig.pm line N.\n". Every property a plugin defines is copied into the
#     global propertyList with optional => 1 forced.
#   * options() may name only properties that exist in the merged propertyList (own, another
#     plugin's, or the base's); otherwise it dies "undefined property 'NAME'" (no newline either).
#     options() decide required (no 'optional'), 'optional' and 'fixed' (not changeable by update).
#   * finally propertyList->{type} becomes { type => 'string', enum => [sorted plugin types], ... }.
#   * init() is repeatable: it restarts from a pristine copy of the base propertyList each time
#     (at this commit; older releases, e.g. stable-bookworm, die "duplicate property" on a second init).
#   * isolated mode ('propertyIsolation' in private(), deprecated init(property_isolation => 1), or a
#     plugin's plugindata() 'isolate-properties' with optional 'expose-properties') is mirrored too.
# Where the real code iterates "keys %hash" (random order) this stand-in sorts, so when several
# properties clash the one named in the error is deterministic here but may differ in real runs.
#
# Left out: nothing of the public interface; the POD. Schema validation goes through the
# PVE::JSONSchema stand-in, which does not mirror oneOf/allOf checks (only isolated mode makes them).
package PVE::SectionConfig;

use strict;
use warnings;

use Carp qw(croak);
use Digest::SHA ();

use PVE::Exception qw(raise_param_exc);
use PVE::JSONSchema qw(get_standard_option);
use PVE::Tools;

my $defaultData = {
    options => {},
    plugins => {},
    plugindata => {},
    propertyList => {},
};

sub private {
    die "overwrite me";
    return $defaultData;
}

sub register {
    my ($class) = @_;

    my $type = $class->type();
    my $pdata = $class->private();
    die "duplicate plugin registration (type = $type)" if defined($pdata->{plugins}->{$type});

    $pdata->{plugindata}->{$type} = $class->plugindata();
    $pdata->{plugins}->{$type} = $class;
}

sub type {
    die "overwrite me";
}

sub properties {
    return {};
}

sub options {
    return {};
}

sub plugindata {
    return {};
}

sub has_isolated_properties {
    my ($class) = @_;
    my $isolated = $class->private()->{isolatedPropertyList};
    return defined($isolated) && scalar(keys %$isolated) > 0;
}

# ---- init ------------------------------------------------------------------------------------

my sub copy_hash { return { %{ $_[0] } } }

my sub init_unified {
    my ($pdata) = @_;
    my $plugins = $pdata->{plugins};
    my $list = $pdata->{propertyList};

    for my $type (sort keys %$plugins) {
        my $props = $plugins->{$type}->properties();
        for my $name (sort keys %$props) {
            die "duplicate property '$name'" if defined($list->{$name});
            $list->{$name} = copy_hash($props->{$name});
            $list->{$name}->{optional} = 1;
        }
    }
    for my $type (sort keys %$plugins) {
        my $opts = $plugins->{$type}->options();
        for my $name (sort keys %$opts) {
            die "undefined property '$name'" if !$list->{$name};
        }
        $pdata->{options}->{$type} = copy_hash($opts);
    }
    $list->{type}->{type} = 'string';
    $list->{type}->{enum} = [sort keys %$plugins];
}

my sub init_isolated {
    my ($pdata, $global_isolation) = @_;
    my $plugins = $pdata->{plugins};
    my $list = $pdata->{propertyList};
    my $base_list = $pdata->{'base-property-list'};
    my $isolated = $pdata->{isolatedPropertyList};

    my (%origin, %exists);
    for my $type (sort keys %$plugins) {
        my $props = $plugins->{$type}->properties();
        my $pd = $pdata->{plugindata}->{$type};
        my $own_isolation = $pd->{'isolate-properties'};
        my $expose = $pd->{'expose-properties'};
        my $exposed = sub {
            my ($name) = @_;
            return 1 if !$own_isolation;
            return !!$expose if !ref($expose);
            die "'expose-properties' should be a boolean or a hash\n" if ref($expose) ne 'HASH';
            return $expose->{$name};
        };
        my $mine = ($global_isolation || $own_isolation) ? ($isolated->{$type} = {}) : undef;

        for my $name (sort keys %$props) {
            $exists{$name} = 1;
            $mine->{$name} = copy_hash($props->{$name}) if $mine;
            if (!$global_isolation && $exposed->($name)) {
                if ($list->{$name}) {
                    my $from = $origin{$name} // '<base>';
                    die "duplicate property '$name' - already defined in '$from'\n";
                }
                $list->{$name} = copy_hash($props->{$name});
                $origin{$name} = $type;
            } else {
                $origin{$name} //= $type;
            }
        }
    }

    my %used = (type => 1);
    for my $type (sort keys %$plugins) {
        my $opts = $plugins->{$type}->options();
        my $own_isolation = $pdata->{plugindata}->{$type}->{'isolate-properties'};
        my $fallback = $own_isolation ? $base_list : $list;

        for my $name (sort keys %$opts) {
            $used{$name} = 1;
            my $prop = ($global_isolation || $own_isolation) ? $isolated->{$type}->{$name} : undef;
            $prop //= $fallback->{$name};
            next if $prop;
            die "undefined property '$name'" if !$exists{$name};
            my $from = $origin{$name};
            die "cannot use property '$name' of foreign plugin ('$from') in isolation mode\n"
                if $global_isolation;
            die "isolated plugin cannot use property '$name' from foreign plugin '$from'\n"
                if $own_isolation;
            die "cannot use property '$name' from isolated plugin '$from'\n";
        }
        if (my $mine = $isolated->{$type}) {
            for my $name (keys %$mine) {
                next if $opts->{$name};
                $used{$name} = 1;
                $opts->{$name} = $mine->{$name}->{optional} ? { optional => 1 } : {};
            }
        }
        $pdata->{options}->{$type} = $opts;
    }

    my %common;
    for my $name (keys %$base_list) {
        next if $used{$name} || $base_list->{$name}->{optional};
        $common{$name} = copy_hash($base_list->{$name});
    }
    $pdata->{'common-properties'} = \%common if %common;

    $list->{type}->{type} = 'string';
    $list->{type}->{enum} = [sort keys %$plugins];
}

sub init {
    my ($class, %param) = @_;

    my $pdata = $class->private();
    my $isolation = $pdata->{propertyIsolation};
    if ($param{property_isolation}) {
        die "must not use both 'propertyIsolation' in 'private()' and 'property_isolation' in 'init()'\n"
            if defined($isolation) && !$isolation;
        $isolation = 1;
    }

    $pdata->{$_} ||= {} for qw(options plugins plugindata propertyList isolatedPropertyList);

    # restart from the base plugin's own properties every time (init() is repeatable)
    my $base = ($pdata->{'base-property-list'} //= copy_hash($pdata->{propertyList}));
    $pdata->{propertyList} = { map { $_ => copy_hash($base->{$_}) } keys %$base };
    $pdata->{isolatedPropertyList} = {};
    $pdata->{options} = {};
    delete $pdata->{'common-properties'};

    my $any_isolation = $isolation
        || grep { $pdata->{plugindata}->{$_}->{'isolate-properties'} } keys %{ $pdata->{plugins} };

    if ($any_isolation) {
        init_isolated($pdata, $isolation);
    } else {
        init_unified($pdata);
    }
}

sub lookup {
    my ($class, $type) = @_;
    croak "cannot lookup undefined type!" if !defined($type);
    my $plugin = $class->private()->{plugins}->{$type};
    die "unknown section type '$type'\n" if !$plugin;
    return $plugin;
}

sub lookup_types {
    my ($class) = @_;
    return [sort keys %{ $class->private()->{plugins} }];
}

# ---- schemas ---------------------------------------------------------------------------------

my sub isolated_schema {
    my ($class, $pdata, $is_update) = @_;
    my $plugins = $pdata->{plugins};

    my $type_schema = copy_hash($pdata->{propertyList}->{type} // {});
    $type_schema->{type} = 'string';
    $type_schema->{description} //= 'Section Type';
    delete $type_schema->{optional};

    my (@types, @variants);
    for my $type (sort keys %$plugins) {
        my $opts = $pdata->{options}->{$type} || {};
        my %props;
        for my $name (keys %$opts) {
            next if $is_update && $opts->{$name}->{fixed};
            my $schema = copy_hash($class->get_property_schema($type, $name));
            $schema->{optional} = 1 if $is_update || $opts->{$name}->{optional};
            $props{$name} = $schema;
        }
        push @types, $type;
        push @variants, { 'instance-type' => $type, additionalProperties => 0, properties => \%props };
    }
    $type_schema->{enum} = \@types;
    return { 'type-property' => 'type', 'type-property-schema' => $type_schema, oneOf => \@variants };
}

my sub common_schema {
    my ($pdata) = @_;
    my $common = $pdata->{'common-properties'} or return;
    return { additionalProperties => 0, properties => { map { $_ => copy_hash($common->{$_}) } keys %$common } };
}

my sub all_of {
    my ($main, @extra) = @_;
    @extra = grep { $_ && %$_ } @extra;
    return @extra ? { allOf => [@extra, $main] } : $main;
}

sub createSchema {
    my ($class, $skip_type, $base) = @_;

    my $pdata = $class->private();
    my $list = $pdata->{propertyList};
    my $plugins = $pdata->{plugins};
    my $props = $base || {};

    if ($class->has_isolated_properties()) {
        my $schema = isolated_schema($class, $pdata, 0);
        if ($skip_type) {
            die "cannot use 'skip_type' for configs with more than 1 section type\n"
                if @{ $schema->{oneOf} } != 1;
            $schema = copy_hash($schema->{oneOf}->[0]);
            delete $schema->{'instance-type'};
        }
        return all_of($schema, (%$props ? { additionalProperties => 0, properties => $props } : undef),
            common_schema($pdata));
    }

    for my $name (keys %$list) {
        next if $skip_type && $name eq 'type';
        my $prop = $list->{$name};
        if (!$prop->{optional}) {
            $props->{$name} = $prop;
            next;
        }
        # required only if every plugin (and the class itself, if it says so) requires it
        my $required = 1;
        my $own = $class->options();
        $required = 0 if defined($own->{$name}) && $own->{$name}->{optional};
        for my $type (keys %$plugins) {
            my $opts = $pdata->{options}->{$type} || {};
            $required = 0 if !defined($opts->{$name}) || $opts->{$name}->{optional};
        }
        $props->{$name} = $required ? { %$prop, optional => 0 } : $prop;
    }
    return { type => 'object', additionalProperties => 0, properties => $props };
}

sub updateSchema {
    my ($class, $single_class, $base) = @_;

    my $pdata = $class->private();
    my $list = $pdata->{propertyList};
    my $plugins = $pdata->{plugins};
    my $props = $base || {};
    my $only_type = $single_class ? $class->type() : undef;

    my $update_props = {
        digest => get_standard_option('pve-config-digest'),
        delete => {
            type => 'string',
            format => 'pve-configid-list',
            description => "A list of settings you want to delete.",
            maxLength => 4096,
            optional => 1,
        },
    };

    if ($class->has_isolated_properties()) {
        my $schema = isolated_schema($class, $pdata, 1);
        if (defined($only_type)) {
            my ($variant) = grep { $_->{'instance-type'} eq $only_type } @{ $schema->{oneOf} };
            die "failed to get type-specific schema for '$only_type'\n" if !$variant;
            $schema = copy_hash($variant);
            delete $schema->{'instance-type'};
        }
        return all_of($schema, { additionalProperties => 0, properties => $update_props },
            (%$props ? { additionalProperties => 0, properties => $props } : undef), common_schema($pdata));
    }

    for my $name (keys %$list) {
        next if $name eq 'type';
        my $own = $class->options();
        next if defined($only_type) && !defined($own->{$name});
        if (!$list->{$name}->{optional}) {
            $props->{$name} = $list->{$name};
            next;
        }
        my $modifiable = defined($own->{$name}) && !$own->{$name}->{fixed};
        for my $type (keys %$plugins) {
            my $opts = $pdata->{options}->{$type} || {};
            $modifiable = 1 if defined($opts->{$name}) && !$opts->{$name}->{fixed};
        }
        $props->{$name} = $list->{$name} if $modifiable;
    }
    $props->{$_} = $update_props->{$_} for keys %$update_props;
    return { type => 'object', additionalProperties => 0, properties => $props };
}

# ---- values ----------------------------------------------------------------------------------

sub decode_value {
    my ($class, $type, $key, $value) = @_;
    return $value;
}

sub encode_value {
    my ($class, $type, $key, $value) = @_;
    return $value;
}

sub get_property_schema {
    my ($class, $type, $key) = @_;
    my $pdata = $class->private();
    my $schema;
    $schema = $pdata->{isolatedPropertyList}->{$type}->{$key} if $class->has_isolated_properties();
    return $schema // $pdata->{propertyList}->{$key};
}

sub check_value {
    my ($class, $type, $key, $value, $storeid, $skipSchemaCheck) = @_;

    return $value if $key eq 'type' && $type eq $value;

    my $opts = $class->private()->{options}->{$type};
    die "unknown section type '$type'\n" if !$opts;
    die "unexpected property '$key'\n" if !defined($opts->{$key});

    my $schema = $class->get_property_schema($type, $key);
    die "unknown property type\n" if !$schema;
    my $ptype = $schema->{type};

    $value = 1 if $ptype eq 'boolean' && !defined($value);
    die "got undefined value\n" if !defined($value);
    die "property contains a line feed\n" if $value =~ /[\n\r]/;

    if (!$skipSchemaCheck) {
        my $check = $schema;
        if ($ptype eq 'array') {
            $check = $schema->{items} // die "no item schema for array";
        }
        my $errors = {};
        PVE::JSONSchema::check_prop($value, $check, '', $errors);
        if (%$errors) {
            die "$errors->{$key}\n" if $errors->{$key};
            die "$errors->{_root}\n" if $errors->{_root};
            die "unknown error\n";
        }
    }

    return $value + 0 if $ptype eq 'boolean' || $ptype eq 'integer' || $ptype eq 'number';
    return $value;
}

# ---- file format -----------------------------------------------------------------------------

sub parse_section_header {
    my ($class, $line) = @_;
    my ($type, $id) = $line =~ /^(\S+):\s*(\S+)\s*$/ or return undef;
    return ($type, $id, undef, {});
}

sub format_section_header {
    my ($class, $type, $sectionId, $scfg, $done_hash) = @_;
    return "$type: $sectionId\n";
}

sub parse_config {
    my ($class, $filename, $raw, $allow_unknown) = @_;

    my $pdata = $class->private();
    $raw //= '';
    my $digest = Digest::SHA::sha1_hex($raw);

    my (%ids, %order, @errors);
    my $pri = 1;
    my @lines = split(/\n/, $raw);
    my $lineno = 0;
    my $next_line = sub { # skips comment lines; empty string / undef end a section
        while (defined(my $line = shift @lines)) {
            $lineno++;
            return $line if $line !~ /^\s*#/;
        }
        return;
    };

    while (@lines) {
        my $line = $next_line->();
        next if !$line;
        my $where = "file $filename line $lineno";

        my ($type, $id, $errmsg, $config) = $class->parse_section_header($line);
        if (!$config) {
            warn "$where - ignore config line: $line\n";
            next;
        }

        my ($skip, $unknown, $plugin) = (0, 0, undef);
        if ($errmsg) {
            $skip = 1;
            chomp $errmsg;
            warn "$where (skip section '$id'): $errmsg\n";
        } elsif (!$type) {
            $skip = 1;
            warn "$where (skip section '$id'): missing type - internal error\n";
        } elsif (!($plugin = $pdata->{plugins}->{$type})) {
            if ($allow_unknown) {
                $unknown = 1;
            } else {
                $skip = 1;
                warn "$where (skip section '$id'): unsupported type '$type'\n";
            }
        }

        while ($line = $next_line->()) {
            next if $skip;
            $where = "file $filename line $lineno";
            my ($key, $value) = $line =~ /^\s+(\S+)(?:\s+(.*\S))?\s*$/;
            if (!defined($key)) {
                warn "$where (section '$id') - ignore config line: $line\n";
                next;
            }
            eval {
                if ($unknown) {
                    if (!defined($config->{$key})) {
                        $config->{$key} = $value;
                    } else {
                        $config->{$key} = [$config->{$key}] if !ref($config->{$key});
                        push @{ $config->{$key} }, $value;
                    }
                    return;
                }
                my $schema = $class->get_property_schema($type, $key) or die "unknown property type\n";
                if ($schema->{type} eq 'array') {
                    push @{ $config->{$key} //= [] }, $plugin->check_value($type, $key, $value, $id);
                } else {
                    die "duplicate attribute\n" if defined($config->{$key});
                    $config->{$key} = $plugin->check_value($type, $key, $value, $id);
                }
            };
            if (my $err = $@) {
                warn "$where (section '$id') - unable to parse value of '$key': $err";
                push @errors, { context => $where, section => $id, key => $key, err => $err };
            }
        }

        if ($unknown) {
            $config->{type} = $type;
            $ids{$id} = $config;
            $order{$id} = $pri++;
        } elsif (!$skip && $type && $plugin && $config) {
            $config->{type} = $type;
            $config = eval { $plugin->check_config($id, $config, 1, 1) };
            warn "$where (skip section '$id'): $@" if $@;
            $ids{$id} = $config;
            $order{$id} = $pri++;
        }
    }

    my $cfg = { ids => \%ids, order => \%order, digest => $digest };
    $cfg->{errors} = \@errors if @errors;
    return $cfg;
}

sub check_config {
    my ($class, $sectionId, $config, $create, $skipSchemaCheck) = @_;

    my $type = $class->type();
    my $opts = $class->private()->{options}->{$type};
    my $settings = { type => $type };

    for my $key (keys %$config) {
        my $value = $config->{$key};
        die "can't change value of fixed parameter '$key'\n"
            if !$create && defined($opts->{$key}) && $opts->{$key}->{fixed};
        die "got undefined value for option '$key'\n" if !defined($value);
        my $checked = $class->check_value($type, $key, $value, $sectionId, $skipSchemaCheck);
        $settings->{$key} = $class->decode_value($type, $key, $checked);
    }

    if ($create) {
        for my $key (keys %$opts) {
            next if $opts->{$key}->{optional};
            die "missing value for required option '$key'\n" if !defined($config->{$key});
        }
    }
    return $settings;
}

my sub config_line {
    my ($schema, $key, $value) = @_;

    die "property '$key' contains a line feed\n" if $key =~ /[\n\r]/ || $value =~ /[\n\r]/;
    my $ptype = $schema->{type};
    if ($ptype eq 'boolean') {
        return defined($value) ? "\t$key " . ($value ? 1 : 0) . "\n" : undef;
    } elsif ($ptype eq 'array') {
        die "property '$key' is not an array" if ref($value) ne 'ARRAY';
        return join('', map { "\t$key $_\n" } @$value);
    }
    return "$value" ne '' ? "\t$key $value\n" : undef;
}

sub write_config {
    my ($class, $filename, $cfg, $allow_unknown) = @_;

    my $pdata = $class->private();
    my ($ids, $order) = @$cfg{qw(ids order)};

    my $max = 0;
    for my $id (keys %$ids) {
        my $pri = $order->{$id};
        $max = $pri if $pri && $pri > $max;
    }
    $order->{$_} //= ++$max for sort keys %$ids;

    my $out = '';
    for my $id (sort { $order->{$a} <=> $order->{$b} } keys %$ids) {
        my $scfg = $ids->{$id};
        my $type = $scfg->{type};
        my $opts = $pdata->{options}->{$type};
        die "unknown section type '$type'\n" if !$opts && !$allow_unknown;

        my $done = {};
        my $data = $class->format_section_header($type, $id, $scfg, $done);

        if (!$opts) { # unknown type, written back as it was read
            $done->{type} = 1;
            for my $key ((exists($scfg->{comment}) ? ('comment') : ()), sort keys %$scfg) {
                next if $done->{$key}++;
                my $value = $scfg->{$key};
                $data .= join('', map { "\t$key $_\n" } (ref($value) eq 'ARRAY' ? @$value : ($value)));
            }
            $out .= "$data\n";
            next;
        }

        my $emit = sub {
            my ($key) = @_;
            my $value = $class->encode_value($type, $key, $scfg->{$key});
            $data .= config_line($class->get_property_schema($type, $key), $key, $value) // '';
        };
        $emit->('comment') if $scfg->{comment} && !$done->{comment};
        $data .= "\tdisable\n" if $scfg->{disable} && !$done->{disable};
        $done->{comment} = $done->{disable} = 1;

        my @keys = sort keys %$opts;
        for my $key (@keys) { # required options first
            next if defined($done->{$key}) || $opts->{$key}->{optional};
            $done->{$key} = 1;
            die "section '$id' - missing value for required option '$key'\n" if !defined($scfg->{$key});
            $emit->($key);
        }
        for my $key (@keys) {
            next if defined($done->{$key}) || !defined($scfg->{$key});
            $emit->($key);
        }
        $out .= "$data\n";
    }
    return $out;
}

sub assert_if_modified {
    my ($cfg, $digest) = @_;
    PVE::Tools::assert_if_modified($cfg->{digest}, $digest);
}

sub delete_from_config {
    my ($config, $option_schema, $new_options, $to_delete) = @_;

    for my $key (@$to_delete) {
        my $d = $option_schema->{$key} || die "no such option '$key'\n";
        die "unable to delete required option '$key'\n" if !$d->{optional};
        die "unable to delete fixed option '$key'\n" if $d->{fixed};
        die "cannot set and delete property '$key' at the same time!\n" if defined($new_options->{$key});
        delete $config->{$key};
    }
    return $config;
}

1;
