# Test stand-in for PVE::RESTHandler (libpve-common-perl), written from scratch.
#
# Mirrors src/PVE/RESTHandler.pm in https://github.com/proxmox/pve-common at commit
# f665029eac78022e81810ab2e44eace57ade13fb ("bump version to 9.2.1"): the method registry and
# everything the API servers (pveproxy/pvedaemon via PVE::HTTPServer) and pvesh do with it.
#
#   __PACKAGE__->register_method({...})  - what the real one checks AT REGISTRATION (and nothing
#       more - the schema checks are validate_method_schemas' job, see below):
#       "register method <Class>/<path> -" (or "register subclass <Sub> at <Class>/<path> -") and
#         "no path" (no trailing newline: perl appends " at ... line N."),
#         "path compoment has zero length\n" (sic, e.g. 'a//b' or a leading '/'),
#         "found changed regex match name\n" / "found changed regex\n" (two templates at the same
#           level of one class must use the same {name} and regex),
#         "path match error - regex and fixed items\n" (a level is either templates or fixed names),
#         "duplicate method definition\n" (same path and HTTP method twice; SUBCLASS counts as one),
#         "duplicate method definition SUBCLASS and <M>\n",
#         "method name already defined\n";
#       sets method => 'GET' and allowtoken => 1 when absent (not for subclasses), and match_re /
#       match_name. Path components: "name" (fixed), "{name}" (matches \S+) or "{name:regex}".
#   $class->method_attributes()          - the class's method infos in registration order
#   $class->map_method_by_name($name)    - dies "no such method '<Class>::<name>'\n"
#   $class->map_path_to_methods($stack, $uri_param, $pathmatchref)
#   $class->find_handler($method, $path, $uri_param, $pathmatchref)
#       - like the real one: returns ($handler_class, $method_info) or undef, and fills the hash
#         $uri_param (if given) with the {name} parts of the path; empty path fragments are
#         skipped; subclasses are entered (fragmentDelimiter '' joins the rest of the path);
#         $$pathmatchref becomes the template path, e.g. '/nodes/{node}/smbgateway/shares/{name}'.
#         NOTE: the real signature gives the URI parameters back through the $uri_param argument,
#         not as a third return value.
#   $class->handle($info, $param, $result_verification)
#       - dies "500 Method lookup failed ('<name>')" if the info has no name or code; resolves
#         'type' with the resolve_type hook; normalizes legacy parameter formats (an array for a
#         string '-list' format is joined with ',', a scalar for an array becomes [scalar]);
#         PVE::JSONSchema::validate($param, parameters) - a PVE::Exception, code 400, message
#         "Parameter verification failed.\n", errors { <param> => <text> } -; untaints; runs
#         $info->{code}->($param); with $result_verification validates the result against
#         'returns' ("Result verification failed\n").
#   AUTOLOAD: $class->$name($param) calls handle() on the method registered under that name, as
#       API code does (e.g. PVE::API2::Foo->create_share({...})).
#   validate_method_schemas()            - every registered method through
#       PVE::JSONSchema::validate_method_info (what `pvesh verifyapi` and the CLI tools' verifyapi
#       run); this is where unknown keys, a named method without description/parameters/returns/
#       code, bad permissions hashes, non-boolean protected, ... are reported (400 "internal error -
#       unable to verify method info").
#   api_dump($class, $prefix, $raw_dump), api_dump_full, api_dump_cleanup_tree,
#   api_dump_remove_refs, api_clone_schema($schema, $no_typetext) - the API tree as the API viewer
#       gets it (dies "duplicate path '<path>'" for two methods on one path template).
#   $standard_output_options - the CLI output options hash.
# Deviations: Clone::clone is replaced by an own deep copy (code refs and regexps are shared, as
# Clone does for code refs); find_handler's syslog of lookup errors is dropped.
# Left out: the CLI side (getopt_usage, usage_str, dump_properties, cli_handler,
# add_standard_output_properties, extract_standard_output_properties, hash_to_array).
package PVE::RESTHandler;

use strict;
use warnings;

use Scalar::Util ();

use PVE::Exception qw(raise raise_param_exc);
use PVE::JSONSchema qw(get_object_property_schema);

my $method_registry = {};
my $method_by_name = {};
my $method_path_lookup = {};

our $AUTOLOAD;

our $standard_output_options = {
    'output-format' => PVE::JSONSchema::get_standard_option('pve-output-format'),
    noheader => {
        description => "Do not show column headers (for 'text' format).",
        type => 'boolean',
        optional => 1,
        default => 0,
    },
    noborder => {
        description => "Do not draw borders (for 'text' format).",
        type => 'boolean',
        optional => 1,
        default => 0,
    },
    quiet => {
        description => "Suppress printing results.",
        type => 'boolean',
        optional => 1,
    },
    'human-readable' => {
        description => "Call output rendering functions to produce human readable text.",
        type => 'boolean',
        optional => 1,
        default => 1,
    },
};

# Clone::clone stand-in: deep copy of hashes, arrays and scalar refs (keeping blessing);
# code refs, regexps and globs are shared.
my sub clone {
    use feature 'current_sub';
    my ($v) = @_;
    my $ref = ref($v) or return $v;
    my $class = Scalar::Util::blessed($v);
    my $type = Scalar::Util::reftype($v);
    return $v if $ref eq 'Regexp' || $type eq 'CODE' || $type eq 'GLOB';
    my $copy;
    if ($type eq 'HASH') {
        $copy = { map { $_ => __SUB__->($v->{$_}) } keys %$v };
    } elsif ($type eq 'ARRAY') {
        $copy = [map { __SUB__->($_) } @$v];
    } elsif ($type eq 'SCALAR' || $type eq 'REF') {
        my $inner = __SUB__->($$v);
        $copy = \$inner;
    } else {
        return $v;
    }
    return $class ? bless($copy, $class) : $copy;
}

sub api_clone_schema {
    my ($schema, $no_typetext) = @_;

    my $res = {};
    my $ref = ref($schema);
    die "not a HASH reference" if !($ref && $ref eq 'HASH');

    for my $array_key (qw(allOf oneOf)) {
        if (my $array = $schema->{$array_key}) {
            for my $k (keys %$schema) {
                next if $k eq $array_key;
                my $d = $schema->{$k};
                $res->{$k} = ref($d) ? clone($d) : $d;
            }
            $res->{$array_key} = [map { api_clone_schema($_, $no_typetext) } @$array];
            return $res;
        }
    }

    for my $k (keys %$schema) {
        my $d = $schema->{$k};
        if ($k ne 'properties') {
            $res->{$k} = ref($d) ? clone($d) : $d;
            next;
        }
        # indexed parameters (net0, net1, ...) are shown once, as net[n]
        for my $p (keys %$d) {
            my $pd = $d->{$p};
            my $name = $p;
            if ($p =~ m/^([a-z]+)(\d+)$/) {
                my ($base, $idx) = ($1, $2);
                if ($idx == 0 && defined($d->{"${base}1"})) {
                    $name = "${base}[n]";
                } elsif ($idx > 0 && defined($d->{"${base}0"})) {
                    next;
                }
            }
            my $tmp = ref($pd) ? clone($pd) : $pd;
            if (!$no_typetext && !(defined($tmp->{enum}) || defined($tmp->{pattern}))) {
                my $typetext = PVE::JSONSchema::schema_get_type_text($tmp);
                $tmp->{typetext} = $typetext if $tmp->{type} && $tmp->{type} ne $typetext;
            }
            $res->{$k}->{$name} = $tmp;
        }
    }
    return $res;
}

sub api_dump_full {
    my ($tree, $index, $class, $prefix, $raw_dump) = @_;

    $prefix = '' if !$prefix;

    for my $info (@{ $method_registry->{$class} // [] }) {
        my $path = "$prefix/$info->{path}";
        $path =~ s/\/+$//;

        if ($info->{subclass}) {
            api_dump_full($tree, $index, $info->{subclass}, $path, $raw_dump);
            next;
        }
        next if !$path;

        my $realpath = $path;
        $realpath =~ s/\{[^\}]+\}/\{\}/g;
        my $fullpath = "$info->{method} $realpath";
        die "duplicate path '$realpath'" if $index->{$fullpath};
        $index->{$fullpath} = $info;

        my $treedir = $tree;
        my $res;
        my $sp = '';
        for my $dir (split('/', $path)) {
            next if !$dir;
            $sp .= "/$dir";
            $res = (grep { $_->{text} eq $dir } @$treedir)[0];
            if ($res) {
                $res->{children} = [] if !$res->{children};
            } else {
                $res = { path => $sp, text => $dir, children => [] };
                push @$treedir, $res;
            }
            $treedir = $res->{children};
        }

        if ($res) {
            my $data = {};
            for my $k (keys %$info) {
                next if $k =~ /^(?:code|match_name|match_re|path|resolve_type)$/;
                my $d = $info->{$k};
                if ($raw_dump) {
                    $data->{$k} = $d;
                } elsif ($k eq 'parameters') {
                    $data->{$k} = api_clone_schema($d);
                } elsif ($k eq 'returns') {
                    $data->{$k} = api_clone_schema($d, 1);
                } else {
                    $data->{$k} = ref($d) ? clone($d) : $d;
                }
            }
            $res->{info}->{ $info->{method} } = $data;
        }
    }
}

sub api_dump_cleanup_tree {
    my ($tree) = @_;

    for my $rec (@$tree) {
        delete $rec->{children} if $rec->{children} && !scalar(@{ $rec->{children} });
        if ($rec->{children}) {
            $rec->{leaf} = 0;
            api_dump_cleanup_tree($rec->{children});
        } else {
            $rec->{leaf} = 1;
        }
    }
}

sub api_dump_remove_refs {
    my ($tree) = @_;

    my $class = ref($tree);
    return $tree if !$class;

    if ($class eq 'ARRAY') {
        return [map { api_dump_remove_refs($_) } @$tree];
    } elsif ($class eq 'HASH') {
        my $res = {};
        for my $k (keys %$tree) {
            if (my $itemclass = ref($tree->{$k})) {
                next if $itemclass eq 'CODE' && ($k eq 'completion' || $k eq 'proxyto_callback');
                $res->{$k} = api_dump_remove_refs($tree->{$k});
            } else {
                $res->{$k} = $tree->{$k};
            }
        }
        return $res;
    } elsif ($class eq 'Regexp') {
        return "$tree";
    }
    die "unknown class '$class'\n";
}

sub api_dump {
    my ($class, $prefix, $raw_dump) = @_;

    my $tree = [];
    my $index = {};
    api_dump_full($tree, $index, $class, $prefix, $raw_dump);
    api_dump_cleanup_tree($tree);
    return $tree;
}

sub validate_method_schemas {
    for my $class (keys %$method_registry) {
        PVE::JSONSchema::validate_method_info($_) for @{ $method_registry->{$class} };
    }
}

sub register_method {
    my ($self, $info) = @_;

    my $match_re = [];
    my $match_name = [];

    my ($errprefix, $method);
    if ($info->{subclass}) {
        $errprefix = "register subclass $info->{subclass} at ${self}/$info->{path} -";
        $method = 'SUBCLASS';
    } else {
        $errprefix = "register method ${self}/$info->{path} -";
        $info->{method} = 'GET' if !$info->{method};
        $method = $info->{method};
        $info->{allowtoken} = 1 if !defined($info->{allowtoken});
    }

    $method_path_lookup->{$self} = {} if !defined($method_path_lookup->{$self});
    my $path_lookup = $method_path_lookup->{$self};

    die "$errprefix no path" if !defined($info->{path});

    for my $comp (split(/\/+/, $info->{path})) {
        die "$errprefix path compoment has zero length\n" if $comp eq '';
        my ($name, $regex);
        if ($comp =~ m/^\{([\w-]+)(?::(.*))?\}$/) {
            $name = $1;
            $regex = $2 ? $2 : '\S+';
            push @$match_re, $regex;
            push @$match_name, $name;
        } else {
            $name = $comp;
            push @$match_re, $name;
            push @$match_name, undef;
        }

        if ($regex) {
            $path_lookup->{regex} = {} if !defined($path_lookup->{regex});

            my $old_name = $path_lookup->{regex}->{match_name};
            die "$errprefix found changed regex match name\n" if defined($old_name) && $old_name ne $name;
            my $old_re = $path_lookup->{regex}->{match_re};
            die "$errprefix found changed regex\n" if defined($old_re) && $old_re ne $regex;
            $path_lookup->{regex}->{match_name} = $name;
            $path_lookup->{regex}->{match_re} = $regex;

            die "$errprefix path match error - regex and fixed items\n" if defined($path_lookup->{folders});

            $path_lookup = $path_lookup->{regex};
        } else {
            $path_lookup->{folders}->{$name} = {} if !defined($path_lookup->{folders}->{$name});

            die "$errprefix path match error - regex and fixed items\n" if defined($path_lookup->{regex});

            $path_lookup = $path_lookup->{folders}->{$name};
        }
    }

    die "$errprefix duplicate method definition\n" if defined($path_lookup->{$method});

    if ($method eq 'SUBCLASS') {
        for my $m (qw(GET PUT POST DELETE)) {
            die "$errprefix duplicate method definition SUBCLASS and $m\n" if $path_lookup->{$m};
        }
    }
    $path_lookup->{$method} = $info;

    $info->{match_re} = $match_re;
    $info->{match_name} = $match_name;

    $method_by_name->{$self} = {} if !defined($method_by_name->{$self});

    if ($info->{name}) {
        die "$errprefix method name already defined\n" if defined($method_by_name->{$self}->{ $info->{name} });
        $method_by_name->{$self}->{ $info->{name} } = $info;
    }

    push @{ $method_registry->{$self} }, $info;
}

sub DESTROY { } # no AUTOLOAD for it

sub AUTOLOAD {
    my ($this) = @_;

    my $sub = $AUTOLOAD;
    (my $method = $sub) =~ s/.*:://;

    my $info = $this->map_method_by_name($method);

    {
        no strict 'refs'; ## no critic (ProhibitNoStrict)
        *{$sub} = sub {
            my $self = shift;
            return $self->handle($info, @_);
        };
    }
    goto &$AUTOLOAD;
}

sub method_attributes {
    my ($self) = @_;
    return $method_registry->{$self};
}

sub map_method_by_name {
    my ($self, $name) = @_;

    my $info = $method_by_name->{$self}->{$name};
    die "no such method '${self}::$name'\n" if !$info;
    return $info;
}

sub map_path_to_methods {
    my ($class, $stack, $uri_param, $pathmatchref) = @_;

    my $path_lookup = $method_path_lookup->{$class};

    $$pathmatchref = '' if defined($pathmatchref) && !$$pathmatchref;

    while (defined(my $comp = shift @$stack)) {
        return undef if !$path_lookup;
        if ($path_lookup->{regex}) {
            my $name = $path_lookup->{regex}->{match_name};
            my $regex = $path_lookup->{regex}->{match_re};

            return undef if $comp !~ m/^($regex)$/;
            $uri_param->{$name} = $1;
            $path_lookup = $path_lookup->{regex};
            $$pathmatchref .= '/{' . $name . '}' if defined($pathmatchref);
        } elsif ($path_lookup->{folders}) {
            $path_lookup = $path_lookup->{folders}->{$comp};
            $$pathmatchref .= '/' . $comp if defined($pathmatchref);
        } else {
            return undef; # a leaf: nothing below it
        }

        return undef if !$path_lookup;

        if (my $info = $path_lookup->{SUBCLASS}) {
            $class = $info->{subclass};

            my $fd = $info->{fragmentDelimiter};
            if (defined($fd)) {
                die "unsupported fragmentDelimiter '$fd'" if $fd ne '';
                $stack = [join('/', @$stack)] if scalar(@$stack) > 1;
            }
            $path_lookup = $method_path_lookup->{$class};
        }
    }

    return undef if !$path_lookup;
    return ($class, $path_lookup);
}

sub find_handler {
    my ($class, $method, $path, $uri_param, $pathmatchref) = @_;

    my $stack = [grep { length($_) > 0 } split('\/+', $path)];

    my ($handler_class, $path_info);
    eval { ($handler_class, $path_info) = $class->map_path_to_methods($stack, $uri_param, $pathmatchref) };
    # (the real one writes an error here to syslog)

    return undef if !($handler_class && $path_info);

    my $method_info = $path_info->{$method};
    return undef if !$method_info;

    return ($handler_class, $method_info);
}

my sub untaint_recursive {
    use feature 'current_sub';
    my ($param) = @_;

    my $ref = ref($param);
    if ($ref eq 'HASH') {
        $param->{$_} = __SUB__->($param->{$_}) for keys %$param;
    } elsif ($ref eq 'ARRAY') {
        $param->[$_] = __SUB__->($param->[$_]) for 0 .. $#$param;
    } elsif (defined($param)) {
        ($param) = $param =~ /^(.*)$/s;
    }
    return $param;
}

# arrays given for '-list' formatted strings are joined, scalars given for arrays wrapped (legacy
# www-form-urlencoded behaviour; top level only)
my sub normalize_legacy_param_formats {
    my ($param, $schema) = @_;

    return $param if !PVE::JSONSchema::is_object_like_schema($schema);
    return $param if (ref($param) // '') ne 'HASH';

    for my $key (keys %$param) {
        my $prop_schema = get_object_property_schema($schema, $key, $param) or next;
        if (my $value = $param->{$key}) {
            my $type = $prop_schema->{type} // '';
            my $format = $prop_schema->{format} // '';
            my $ref = ref($value);
            if ($ref && $ref eq 'ARRAY' && $type eq 'string' && $format =~ m/-list$/) {
                $param->{$key} = join(',', @$value);
            } elsif (!$ref && $type eq 'array') {
                $param->{$key} = [$value];
            }
        }
    }
    return $param;
}

sub handle {
    my ($self, $info, $param, $result_verification) = @_;

    my $func = $info->{code};

    if (!($info->{name} && $func)) {
        raise("Method lookup failed ('" . ($info->{name} // '') . "')\n", code => 500);
    }

    if (my $schema = $info->{parameters}) {
        my $resolve_type_hook = $info->{resolve_type};
        if ($resolve_type_hook && ref($param) eq 'HASH' && !defined($param->{type})) {
            my $resolved_type = $resolve_type_hook->(clone($param));
            $param->{type} = $resolved_type if defined($resolved_type);
        }

        $param = normalize_legacy_param_formats($param, $schema);
        PVE::JSONSchema::validate($param, $schema);
        $param = untaint_recursive($param);
    }

    my $result = $func->($param);

    if ($result_verification && (my $schema = $info->{returns})) {
        PVE::JSONSchema::validate($result, $schema, "Result verification failed\n");
    }
    return $result;
}

1;
