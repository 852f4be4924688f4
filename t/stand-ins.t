#!/usr/bin/perl
# The stand-ins of Proxmox's Perl modules under t/lib behave like the real ones where our storage
# plugin and API module depend on them: SectionConfig's property merging in init(), the storage
# plugin API version check of PVE::Storage, the storage.cfg format, and the stock plugin schemas.
# Run: prove -I t/lib t/stand-ins.t
use strict;
use warnings;

use File::Basename qw(dirname);
use File::Path qw(make_path);
use File::Temp qw(tempdir);
use JSON::PP;
use Test::More;

BEGIN { $ENV{PVE_STORAGE_CUSTOM_LIB} = ''; $ENV{PVE_STORAGE_STANDIN_RELEASE} = 9 } # hermetic: no plugins from /usr/share/perl5; master

BEGIN {
    use_ok('PVE::JSONSchema');
    use_ok('PVE::SectionConfig');
    use_ok('PVE::Storage::Plugin');
    use_ok('PVE::Storage');
}

my $data_dir = dirname(__FILE__) . '/data';
sub read_json {
    my ($file) = @_;
    open(my $fh, '<:raw', $file) or die "$file: $!";
    local $/;
    return JSON::PP->new->decode(scalar <$fh>);
}
my $stock = read_json("$data_dir/stock-storage-properties.json");
my $stock8 = read_json("$data_dir/stock-storage-properties.stable-8.json");

# A schema as it is in the JSON: code refs (completion callbacks) dropped.
sub plain {
    my ($v) = @_;
    return { map { $_ => plain($v->{$_}) } grep { ref($v->{$_}) ne 'CODE' } keys %$v } if ref($v) eq 'HASH';
    return [map { plain($_) } @$v] if ref($v) eq 'ARRAY';
    return JSON::PP::is_bool($v) ? ($v ? 1 : 0) : $v;
}

my $pdata = PVE::Storage::Plugin->private();

subtest 'versions and sources' => sub {
    is(PVE::Storage::APIVER, 15, 'APIVER of pve-storage 0c56bad8');
    is(PVE::Storage::APIAGE, 6, 'APIAGE of pve-storage 0c56bad8');
    is($stock->{APIVER}, PVE::Storage::APIVER, 'the stock data was taken from the same commit (APIVER)');
    is($stock->{APIAGE}, PVE::Storage::APIAGE, 'the stock data was taken from the same commit (APIAGE)');
    is($stock->{source}->{commit}, '0c56bad8b2a7d69e5ce2c243651fe830d6caa936', 'source commit recorded');
    is($stock8->{APIVER}, $PVE::Storage::STANDIN_API_LEVELS{'stable-8'}->{APIVER}, 'stable-8 APIVER');
    is($stock8->{APIAGE}, $PVE::Storage::STANDIN_API_LEVELS{'stable-8'}->{APIAGE}, 'stable-8 APIAGE');
};

subtest 'the stand-ins carry the real schemas' => sub {
    is_deeply(plain($pdata->{'base-property-list'}), $stock->{base_properties},
        'PVE::Storage::Plugin base properties equal the ones extracted from the real $defaultData');
    for my $name (sort keys %{ $stock->{standard_options} }) {
        is_deeply(plain(PVE::JSONSchema::get_standard_option($name, {})), $stock->{standard_options}->{$name},
            "standard option $name");
    }
    is_deeply(PVE::Storage::Plugin->lookup_types(), [sort map { $_->{type} } @{ $stock->{plugins} }],
        'every stock plugin is registered');
    for my $p (@{ $stock->{plugins} }) {
        is(PVE::Storage::Plugin->lookup($p->{type}), $p->{package}, "$p->{type} is $p->{package}");
        is_deeply(plain($pdata->{options}->{ $p->{type} }), $p->{options}, "$p->{type} options");
        for my $prop (keys %{ $p->{properties} }) {
            is_deeply(plain($pdata->{propertyList}->{$prop}), { %{ $p->{properties}->{$prop} }, optional => 1 },
                "$p->{type} property $prop merged with optional => 1");
        }
    }
    is_deeply($pdata->{propertyList}->{type}->{enum}, PVE::Storage::Plugin->lookup_types(), 'type enum');
    is_deeply([sort keys %{ $pdata->{propertyList} }], [sort keys %{ $stock->{property_defined_by} }],
        'the merged propertyList has exactly the names listed in property_defined_by');
    is_deeply($stock->{taken_types}, PVE::Storage::Plugin->lookup_types(), 'taken_types');
};

# ---- throw-away plugins ----------------------------------------------------------------------

package Local::GoodPlugin {
    use base qw(PVE::Storage::Plugin);
    sub api { return PVE::Storage::APIVER }
    sub type { return 'standingood' }
    sub plugindata { return { content => [{ iso => 1, backup => 1, none => 1 }, { backup => 1 }] } }
    sub properties {
        return { 'standingood-share' => { description => 'Share name.', type => 'string', maxLength => 64 } };
    }
    sub options {
        return {
            path => { fixed => 1 },               # DirPlugin's property, used not redefined
            server => { optional => 1 },          # NFSPlugin's
            'standingood-share' => { fixed => 1 },
            content => { optional => 1 },         # base properties
            nodes => { optional => 1 },
            disable => { optional => 1 },
        };
    }
}

package Local::SameAsDirPath { # redefines 'path' identically to DirPlugin: still a clash
    use base qw(PVE::Storage::Plugin);
    sub type { return 'standinsame' }
    sub properties {
        return { path => { description => "File system path.", type => 'string', format => 'pve-storage-path' } };
    }
    sub options { return { path => { fixed => 1 } } }
}

package Local::OwnServer { # redefines NFSPlugin's 'server' with another schema
    use base qw(PVE::Storage::Plugin);
    sub type { return 'standinserver' }
    sub properties { return { server => { type => 'string', description => 'SMB server.' } } }
    sub options { return { server => {} } }
}

package Local::OwnContent { # redefines a base property
    use base qw(PVE::Storage::Plugin);
    sub type { return 'standincontent' }
    sub properties { return { content => { type => 'string' } } }
    sub options { return { content => { optional => 1 } } }
}

package Local::UnknownOption {
    use base qw(PVE::Storage::Plugin);
    sub type { return 'standinunknown' }
    sub options { return { 'no-such-property' => { optional => 1 } } }
}

package Local::DirAgain {
    use base qw(PVE::Storage::Plugin);
    sub type { return 'dir' }
}

package main;

sub init_with {
    my ($class) = @_;
    return PVE::Storage::standin_with_registry_restored(sub {
        $class->register();
        PVE::Storage::Plugin->init();
        return { %{ PVE::Storage::Plugin->private()->{propertyList} } };
    });
}

subtest 'SectionConfig init: our plugin next to the stock ones' => sub {
    my $list = eval { init_with('Local::GoodPlugin') };
    is($@, '', 'a plugin defining only new names and using stock ones in options() is accepted');
    is_deeply($list->{'standingood-share'},
        { description => 'Share name.', type => 'string', maxLength => 64, optional => 1 },
        'its property is merged with optional => 1');
    ok(!grep({ $_ eq 'standingood' } @{ PVE::Storage::Plugin->lookup_types() }), 'registry restored');

    my $schema = PVE::Storage::standin_with_registry_restored(sub {
        Local::GoodPlugin->register();
        PVE::Storage::Plugin->init();
        return PVE::Storage::Plugin->createSchema();
    });
    ok($schema->{properties}->{'standingood-share'}, 'createSchema has the new property');
    ok(grep({ $_ eq 'standingood' } @{ $schema->{properties}->{type}->{enum} }), 'createSchema type enum has the type');
};

subtest 'SectionConfig init: clashes die like the real one' => sub {
    for my $case (
        ['Local::SameAsDirPath', 'path', 'an identical redefinition of a stock property'],
        ['Local::OwnServer', 'server', 'a different definition of a stock property'],
        ['Local::OwnContent', 'content', 'a redefinition of a base property'],
    ) {
        my ($class, $prop, $what) = @$case;
        eval { init_with($class) };
        like($@, qr/^duplicate property '\Q$prop\E' at \S+ line \d+\.$/, "$what dies");
    }
    eval { init_with('Local::UnknownOption') };
    like($@, qr/^undefined property 'no-such-property' at /, 'options() naming an unknown property dies');
    eval { init_with('Local::DirAgain') };
    like($@, qr/^duplicate plugin registration \(type = dir\) at /, 'a taken type cannot be registered');
    eval { PVE::Storage::Plugin->init() };
    is($@, '', 'init() is repeatable and the registry is clean again');
};

subtest 'new names are free in master and in stable-8' => sub {
    for my $data ($stock, $stock8) {
        my %taken = map { $_ => 1 } keys %{ $data->{base_properties} },
            map { keys %{ $_->{properties} } } @{ $data->{plugins} };
        ok(!$taken{'standingood-share'}, "standingood-share is free in $data->{label}");
        ok($taken{server} && $taken{path}, "server and path are taken in $data->{label}");
        ok(!grep({ $_->{type} eq 'standingood' } @{ $data->{plugins} }), "type free in $data->{label}");
    }
};

subtest 'storage.cfg format' => sub {
    PVE::Storage::standin_with_registry_restored(sub {
        Local::GoodPlugin->register();
        PVE::Storage::Plugin->init();
        my $raw = "dir: local\n\tpath /var/lib/vz\n\tcontent iso,backup\n\n"
            . "standingood: gw1\n\tpath /srv/gw1\n\tstandingood-share data\n\tcontent iso,backup\n\tdisable\n\n"
            . "standingood: Bad_ID!\n\tpath /x\n\n";
        my @warnings;
        my $cfg = do {
            local $SIG{__WARN__} = sub { push @warnings, $_[0] };
            PVE::Storage::Plugin->parse_config('storage.cfg', $raw);
        };
        is_deeply($cfg->{ids}->{gw1}, {
            type => 'standingood', path => '/srv/gw1', 'standingood-share' => 'data',
            content => { iso => 1, backup => 1 }, disable => 1,
        }, 'section parsed and decoded');
        is($cfg->{order}->{gw1}, 2, 'order kept');
        like(join('', @warnings), qr/^file storage.cfg line 11 \(skip section 'Bad_ID!'\): storage ID 'Bad_ID!' contains illegal characters$/m,
            'an invalid storage ID skips the section with the real warning');
        my $out = PVE::Storage::Plugin->write_config('storage.cfg', $cfg);
        like($out, qr/^standingood: gw1\n\tdisable\n\tpath \/srv\/gw1\n\tstandingood-share data\n\tcontent (?:iso,backup|backup,iso)\n\n/m,
            'written back: disable, then required options sorted, then optional ones');

        my $fixed = eval { Local::GoodPlugin->check_config('gw1', { path => '/y' }, 0, 0) };
        is($@, "can't change value of fixed parameter 'path'\n", 'fixed options cannot be updated');
        eval { Local::GoodPlugin->check_config('gw2', { path => '/y' }, 1, 0) };
        is($@, "missing value for required option 'standingood-share'\n", 'required options are required on create');
        eval { Local::GoodPlugin->check_config('gw2', { path => '/y', 'standingood-share' => 'x' x 65 }, 1, 0) };
        is($@, "value may only be 64 characters long\n", 'schema checked');
    });
};

# ---- custom plugin loading and the API version rule --------------------------------------------

my $lib = tempdir(CLEANUP => 1);
make_path("$lib/PVE/Storage/Custom");
sub plugin_file {
    my ($name, $body) = @_;
    open(my $fh, '>', "$lib/PVE/Storage/Custom/$name.pm") or die $!;
    print {$fh} "package PVE::Storage::Custom::$name;\nuse strict;\nuse warnings;\n$body\n1;\n";
    close($fh);
}
for my $api (8, 9, 11, 12, 15, 16) {
    plugin_file("StandinApi$api", "use base qw(PVE::Storage::Plugin);\nsub api { $api }\nsub type { 'standinapi$api' }");
}
plugin_file('StandinNoApi', "use base qw(PVE::Storage::Plugin);\nsub type { 'standinnoapi' }");
plugin_file('StandinNotDerived', "sub api { 15 }\nsub type { 'standinnotderived' }");

sub load_all {
    my (%opt) = @_;
    my @warnings;
    my @loaded = PVE::Storage::standin_with_registry_restored(sub {
        local $SIG{__WARN__} = sub { push @warnings, $_[0] };
        my @loaded = PVE::Storage::load_custom_plugins($lib, %opt);
        die "not registered\n" if grep { !PVE::Storage::Plugin->private()->{plugins}->{ $_->type() } } @loaded;
        return @loaded;
    });
    return ([sort @loaded], join('', sort @warnings));
}

subtest 'API version rule of master: APIVER-APIAGE <= api() <= APIVER' => sub {
    my ($loaded, $warnings) = load_all();
    is_deeply($loaded, [map { "PVE::Storage::Custom::StandinApi$_" } 11, 12, 15, 9],
        'api() 9 (=15-6), 11, 12 and 15 accepted; 8 and 16 rejected');
    for my $older (9, 11, 12) {
        like($warnings,
            qr/^Plugin "PVE::Storage::Custom::StandinApi$older" is implementing an older storage API, an upgrade is recommended$/m,
            "api() $older loads with the upgrade warning");
    }
    unlike($warnings, qr/StandinApi15" is implementing/, 'api() == APIVER loads silently');
    like($warnings, qr/^Error loading storage plugin "PVE::Storage::Custom::StandinApi8": API version too old, please update the plugin \(8 < 9\)$/m,
        'older than APIVER-APIAGE rejected');
    like($warnings, qr/^Error loading storage plugin "PVE::Storage::Custom::StandinApi16": implements an API version newer than current \(16 > 15\)$/m,
        'newer than APIVER rejected');
    like($warnings, qr/^Error loading storage plugin "PVE::Storage::Custom::StandinNoApi": does not provide an api\(\) method$/m,
        'no api() rejected');
    like($warnings, qr/^Error loading storage plugin "PVE::Storage::Custom::StandinNotDerived": not derived from PVE::Storage::Plugin$/m,
        'not a PVE::Storage::Plugin rejected');
    ok(!grep({ /^standinapi/ } @{ PVE::Storage::Plugin->lookup_types() }), 'registry restored');
};

subtest 'API version rule of stable-8 (PVE 8): 9 <= api() <= 11' => sub {
    my $level = $PVE::Storage::STANDIN_API_LEVELS{'stable-8'};
    my ($loaded, $warnings) = load_all(apiver => $level->{APIVER}, apiage => $level->{APIAGE});
    is_deeply($loaded, [map { "PVE::Storage::Custom::StandinApi$_" } 11, 9], 'only 9 and 11 load on PVE 8');
    like($warnings, qr/StandinApi12": implements an API version newer than current \(12 > 11\)$/m, '12 too new');
    like($warnings, qr/StandinApi9" is implementing an older storage API/m, '9 loads with the warning');
    unlike($warnings, qr/StandinApi11" is implementing/, '11 == APIVER of stable-8 loads silently');
};

subtest 'PVE_STORAGE_STANDIN_RELEASE=8: the stand-in of stable-8 (PVE 8)' => sub {
    local $ENV{PVE_STORAGE_STANDIN_RELEASE} = 8;
    my $lib = dirname(__FILE__) . '/lib';
    my $code = 'require PVE::Storage; my $b = PVE::Storage::Plugin->private()->{propertyList};'
	. ' print join(" ", PVE::Storage::APIVER(), PVE::Storage::APIAGE(),'
	. ' (grep { $_ eq "glusterfs" } @{ PVE::Storage::Plugin->lookup_types() }) ? "glusterfs" : "-",'
	. ' $b->{maxfiles} ? "maxfiles" : "-", $b->{"snapshot-as-volume-chain"} ? "chain" : "-",'
	. ' map { PVE::Storage::Plugin->can($_) ? $_ : "-" } qw(on_update_hook on_update_hook_full get_identity))';
    open(my $fh, '-|', $^X, "-I$lib", '-e', $code) or die "perl: $!";
    my $out = do { local $/; <$fh> };
    close($fh);
    is($out, "$stock8->{APIVER} $stock8->{APIAGE} glusterfs maxfiles - on_update_hook - -",
	'APIVER 11, APIAGE 2, stable-8 stock plugins and base properties, no methods of API 12+');
    local $ENV{PVE_STORAGE_STANDIN_RELEASE} = 10;
    open($fh, '-|', $^X, "-I$lib", '-e', 'close(STDERR); require PVE::Storage') or die "perl: $!";
    close($fh);
    isnt($?, 0, 'an unknown release is refused');
};

subtest 'a clashing custom plugin breaks PVE::Storage, not just itself' => sub {
    my $bad = tempdir(CLEANUP => 1);
    make_path("$bad/PVE/Storage/Custom");
    open(my $fh, '>', "$bad/PVE/Storage/Custom/StandinClash.pm") or die $!;
    print {$fh} "package PVE::Storage::Custom::StandinClash;\nuse strict;\nuse warnings;\n"
        . "use base qw(PVE::Storage::Plugin);\nsub api { 15 }\nsub type { 'standinclash' }\n"
        . "sub properties { return { username => { type => 'string' } } }\n"
        . "sub options { return { username => {} } }\n1;\n";
    close($fh);
    eval { PVE::Storage::standin_with_registry_restored(sub { PVE::Storage::load_custom_plugins($bad) }) };
    like($@, qr/^duplicate property 'username' at /, 'init() after loading dies outside the per-plugin eval');
};

subtest 'JSONSchema basics' => sub {
    my $errors = {};
    PVE::JSONSchema::check_prop('x' x 5, { type => 'string', maxLength => 4 }, 'p', $errors);
    is($errors->{p}, 'value may only be 4 characters long', 'maxLength');
    $errors = {};
    PVE::JSONSchema::check_prop('maybe', { type => 'string', enum => ['yes', 'no'] }, 'p', $errors);
    is($errors->{p}, "value 'maybe' does not have a value in the enumeration 'yes, no'", 'enum');
    $errors = {};
    PVE::JSONSchema::check_prop('x1', { type => 'string', format => 'pve-storage-id' }, 'p', $errors);
    is($errors->{p}, undef, 'format ok');
    PVE::JSONSchema::check_prop('1x', { type => 'string', format => 'pve-storage-id' }, 'p', $errors);
    is($errors->{p}, "invalid format - storage ID '1x' contains illegal characters\n", 'format error text');
    eval { PVE::JSONSchema::validate({ a => 'yes' }, { type => 'object', properties => { a => { type => 'boolean' } } }) };
    is(ref($@), 'PVE::Exception', 'validate raises a PVE::Exception');
    is($@->{code}, 400, 'with code 400');
    is_deeply($@->{errors}, { a => "type check ('boolean') failed - got 'yes'" }, 'and the errors');
    is_deeply(PVE::JSONSchema::parse_property_string('prune-backups', 'keep-last=3,keep-daily=7'),
        { 'keep-last' => 3, 'keep-daily' => 7 }, 'property string with a validator');
    is(PVE::JSONSchema::print_property_string({ 'keep-last' => 3, 'keep-all' => 0 }, 'prune-backups'),
        'keep-last=3', 'printed back through the validator (keep-all=0 dropped)');
};

done_testing();
