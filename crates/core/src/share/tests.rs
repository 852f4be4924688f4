//! Unit tests of the share model in crates/core/src/share: building from properties, the
//! field each refused value names, round trips to text and JSON, updates, host rules (also of
//! stored configs from earlier versions), directory conflicts, VM shares and fallback users.
//! In their own file so the model stays short to read.

use super::*;

fn props(pairs: &[(&str, &str)]) -> Properties {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

#[test]
fn fallback_local_users_only_while_the_domain_is_down() {
    let p = props(&[
        ("path", "/srv/t"),
        ("users", "EXAMPLE\\carol,bob"),
        ("groups", "EXAMPLE\\Domain Users,staff"),
        ("fallback-local", "1"),
    ]);
    let share = Share::from_properties("t", &p).unwrap();
    assert_eq!(
        share.valid_users(true),
        ["\"EXAMPLE\\carol\"", "@\"EXAMPLE\\Domain Users\""]
    );
    assert_eq!(
        share.valid_users(false),
        ["\"EXAMPLE\\carol\"", "bob", "@\"EXAMPLE\\Domain Users\"", "@staff"]
    );
    // without the flag local accounts always count
    let mut p2 = p.clone();
    p2.remove("fallback-local");
    assert_eq!(Share::from_properties("t", &p2).unwrap().valid_users(true).len(), 4);
    // a fallback needs something to fall back from
    let only_local = props(&[("path", "/srv/t"), ("users", "bob"), ("fallback-local", "1")]);
    let err = Share::from_properties("t", &only_local).unwrap_err();
    assert!(
        err.message.contains("at least one domain user or group"),
        "{}",
        err.message
    );
}

/// Every refused value names the parameter it belongs to, as the API and the UI spell it.
#[test]
fn errors_name_their_field() {
    let field = |pairs: &[(&str, &str)]| {
        let err = Share::from_properties("x", &props(pairs)).unwrap_err();
        assert_eq!(err.kind, crate::ErrorKind::Input, "{}", err.message);
        err.field.unwrap_or_else(|| panic!("no field: {}", err.message))
    };
    for (pairs, expected) in [
        (&[("path", "/srv/x"), ("quota", "512K")][..], "quota"),
        (&[("path", "/srv/x"), ("quota", "lots")], "quota"),
        (&[("mode", "lxc"), ("path", "/srv/x"), ("ct-id", "abc")], "ct-id"),
        (&[("mode", "lxc"), ("path", "/srv/x"), ("ct-memory", "1")], "ct-memory"),
        (&[("path", "/srv/x"), ("users", "Bad User")], "users"),
        (&[("path", "/srv/x"), ("users", "a,a")], "users"),
        (&[("path", "/srv/x"), ("guest", "1"), ("users", "a")], "guest"),
        (&[("path", "srv/x")], "path"),
        (&[("path", "/etc/x")], "path"),
        (&[], "path"),
        (&[("path", "/srv/x"), ("hosts-allow", "10.0.0.0/33")], "hosts-allow"),
        (&[("path", "/srv/x"), ("read-only", "maybe")], "read-only"),
        (&[("path", "/srv/x"), ("wide-links", "1")], "wide-links"),
        (&[("path", "/srv/x"), ("ct-id", "100")], "ct-id"),
        (&[("path", "/srv/x"), ("user-quotas", "alice")], "user-quotas"),
    ] {
        assert_eq!(field(pairs), expected, "{pairs:?}");
    }
    let err = Share::from_properties("bad/name", &props(&[("path", "/srv/x")])).unwrap_err();
    assert_eq!(err.field.as_deref(), Some("name"));
    let share = Share::from_properties("x", &props(&[("path", "/srv/x")])).unwrap();
    let err = share.updated(&Properties::new(), &["path".to_string()]).unwrap_err();
    assert_eq!(err.field.as_deref(), Some("delete"));
}

#[test]
fn round_trip() {
    let p = props(&[
        ("path", "/srv/data"),
        ("users", "alice,bob"),
        ("quota", "10G"),
        ("recycle-bin", "yes"),
        ("options", "create mask=0660"),
        ("comment", "Team"),
    ]);
    let share = Share::from_properties("data", &p).unwrap();
    assert_eq!(share.quota, Some(10 << 30));
    assert!(share.recycle_bin);
    let back: Properties = share
        .to_properties()
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    assert_eq!(Share::from_properties("data", &back).unwrap(), share);
    assert_eq!(back.get("recycle-bin").map(String::as_str), Some("1"));
    assert!(!back.contains_key("browseable"), "defaults are not stored");
}

#[test]
fn unknown_and_inconsistent() {
    assert!(Share::from_properties("x", &props(&[("path", "/srv/x"), ("wide-links", "1")])).is_err());
    assert!(Share::from_properties("x", &props(&[])).is_err());
    assert!(Share::from_properties("x", &props(&[("path", "/srv/x"), ("guest", "1"), ("users", "a")])).is_err());
    assert!(Share::from_properties("x", &props(&[("path", "/srv/x"), ("quota", "512K")])).is_err());
    assert!(Share::from_properties("x", &props(&[("path", "/srv/x"), ("users", "a,a")])).is_err());
    for bad in [
        "alice",
        "alice=",
        "alice=10",
        "Alice=1G",
        "@=1G",
        "alice=1G,alice=2G",
        "alice=1G\nx=1G",
    ] {
        let p = props(&[("path", "/srv/x"), ("user-quotas", bad)]);
        assert!(Share::from_properties("x", &p).is_err(), "{bad:?} accepted");
    }
    let p = props(&[("path", "/srv/x"), ("user-quotas", "alice=1G,@staff=10G")]);
    let share = Share::from_properties("x", &p).unwrap();
    let expected: BTreeMap<String, u64> = [("alice".to_string(), 1 << 30), ("@staff".to_string(), 10 << 30)].into();
    assert_eq!(share.user_quotas, expected);
}

#[test]
fn same_and_nested_paths_conflict() {
    let at = |name: &str, path: &str| Share::from_properties(name, &props(&[("path", path)])).unwrap();
    let data = at("data", "/srv/data");
    for (path, says) in [
        ("/srv/data", "is also the directory of share 'data'"),
        ("/srv/data/sub", "lies inside /srv/data"),
        ("/srv/data/a/b", "lies inside /srv/data"),
        ("/srv", "contains /srv/data"),
    ] {
        let err = check_paths_apart(&at("new", path), [&data]).unwrap_err();
        assert!(err.message.contains(says), "{path}: {}", err.message);
        assert!(err.message.contains("Give a directory outside"), "{}", err.message);
        assert_eq!(err.kind, crate::ErrorKind::Input);
    }
    for path in ["/srv/data2", "/srv/dat", "/srv/other/data", "/mnt/srv/data"] {
        check_paths_apart(&at("new", path), [&data]).unwrap_or_else(|e| panic!("{path}: {e}"));
    }
    // a share does not conflict with itself (update), whatever the case of its name
    check_paths_apart(&at("DATA", "/srv/data"), [&data]).unwrap();
    // a VM share's data is on the VM's disk
    let vm = props(&[("mode", "vm"), ("quota", "10G")]);
    let vm = Share::from_properties("v", &vm).unwrap();
    assert!(path_conflict(&at("new", guest::SHARE_MOUNT), &vm).is_none());
    assert!(path_conflict(&vm, &at("new", "/srv")).is_none());
}

#[test]
fn hosts_allowed_and_denied() {
    let share = |allow: &str, deny: &str| {
        Share::from_properties(
            "x",
            &props(&[("path", "/srv/x"), ("hosts-allow", allow), ("hosts-deny", deny)]),
        )
    };
    // stored normalised, so Samba reads what the admin meant
    let s = share("10.0.0.0/08,FD00::/064", "0.0.0.0/0.0.0.0,::/0000").unwrap_err();
    assert!(s.message.contains("prefix length"), "{}", s.message);
    let s = share("10.0.0.0/08,FD00::/064", "0.0.0.0/0.0.0.0,::/000").unwrap();
    assert_eq!(s.hosts_allow, ["10.0.0.0/8", "fd00::/64"]);
    assert_eq!(s.hosts_deny, ["0.0.0.0/0", "::/0"]);
    // either list alone has its plain meaning
    let only = |key: &str, value: &str| Share::from_properties("x", &props(&[("path", "/srv/x"), (key, value)]));
    assert_eq!(only("hosts-allow", "10.1.").unwrap().hosts_allow, ["10.1.0.0/16"]);
    assert_eq!(only("hosts-deny", "192.0.2.66").unwrap().hosts_deny, ["192.0.2.66"]);
    // a denied network holding allowed hosts: the allowed ones are the exceptions
    share("10.0.0.5", "10.0.0.0/8").unwrap();
    share("10.0.0.0/8", "0.0.0.0/0,::/0").unwrap();
    for (allow, deny, says) in [
        ("10.0.0.1", "10.0.0.1", "both allowed and denied"),
        ("10.0.0.1", "10.0.0.1/32", "both allowed and denied"),
        ("10.0.0.0/08", "10.0.0.0/8", "both allowed and denied"),
        ("fd00::1", "FD00:0::1", "both allowed and denied"),
        ("10.0.0.0/8", "10.1.2.3", "no effect"),
        ("10.", "10.1.", "no effect"),
        ("0.0.0.0/0", "192.168.1.7", "no effect"),
        // an unrelated deny list opens the share to every host it does not name
        ("10.0.0.0/8", "192.0.2.66", "every other host"),
        ("10.0.0.0/8,fd00::/64", "0.0.0.0/0", "outside every --hosts-deny entry"),
    ] {
        let err = share(allow, deny).unwrap_err();
        assert!(err.message.contains(says), "{allow} / {deny}: {}", err.message);
    }
}

#[test]
fn stored_host_entries_of_earlier_versions_still_load() {
    let p = props(&[
        ("path", "/srv/x"),
        ("hosts-allow", "10.0.0.0/8,nas.example.com"),
        ("hosts-deny", "10.0.0.66"),
    ]);
    assert!(Share::from_properties("x", &p).is_err());
    let share = Share::from_stored("x", &p).unwrap();
    assert_eq!(share.hosts_allow, ["10.0.0.0/8", "nas.example.com"]);
    let problems = share.host_problems();
    assert!(
        problems.len() == 1 && problems[0].contains("hostname lookups = no"),
        "{problems:?}"
    );
    // once the names are gone the combination is named
    let share = share
        .updated(&props(&[("hosts-allow", "10.0.0.0/8")]), &[])
        .unwrap_err();
    assert!(share.message.contains("no effect"), "{}", share.message);
    let ok = Share::from_stored("x", &props(&[("path", "/srv/x"), ("hosts-deny", "10.0.0.0/08")])).unwrap();
    assert_eq!(ok.hosts_deny, ["10.0.0.0/8"]);
    assert!(ok.host_problems().is_empty());
    // what was never accepted is not accepted now either
    let bad = props(&[("path", "/srv/x"), ("hosts-deny", "a b")]);
    assert!(Share::from_stored("x", &bad).is_err());
}

#[test]
fn update_and_delete() {
    let share = Share::from_properties("x", &props(&[("path", "/srv/x"), ("quota", "1G")])).unwrap();
    let up = share
        .updated(&props(&[("read-only", "1")]), &["quota".to_string()])
        .unwrap();
    assert!(up.read_only);
    assert_eq!(up.quota, None);
    assert!(share.updated(&props(&[("mode", "vm")]), &[]).is_err());
    assert!(share.updated(&props(&[]), &["path".to_string()]).is_err());
}

#[test]
fn json_keeps_the_keys_front_ends_read() {
    let lxc = props(&[("mode", "lxc"), ("path", "/srv/l"), ("ct-id", "950"), ("quota", "1G")]);
    let text = serde_json::to_string(&Share::from_properties("l", &lxc).unwrap()).unwrap();
    assert!(
        text.starts_with(r#"{"name":"l","mode":"lxc","path":"/srv/l","#),
        "{text}"
    );
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(json["mode"], "lxc");
    assert_eq!(json["container"]["id"], 950);
    assert_eq!(json["container"]["memory"], 512);
    assert_eq!(json["quota-backend"], "auto");
    assert!(json.get("vm").is_none() && json.get("zfs-dataset").is_none());
    let vm = props(&[("mode", "vm"), ("quota", "10G"), ("vm-id", "960")]);
    let json = serde_json::to_value(Share::from_properties("v", &vm).unwrap()).unwrap();
    assert_eq!(
        (json["mode"].as_str(), json["vm"]["template"].as_u64()),
        (Some("vm"), Some(9000))
    );
    assert!(json.get("container").is_none());
    let native = serde_json::to_value(Share::from_properties("n", &props(&[("path", "/srv/n")])).unwrap()).unwrap();
    assert_eq!(native["mode"], "native");
    assert!(native.get("container").is_none() && native.get("vm").is_none());
}

#[test]
fn vm_share() {
    let p = props(&[
        ("mode", "vm"),
        ("quota", "10G"),
        ("vm-id", "960"),
        ("ip", "10.0.0.5/24"),
    ]);
    let share = Share::from_properties("v", &p).unwrap();
    let vm = share.mode.vm().cloned().unwrap();
    assert_eq!((vm.id, vm.template, vm.memory, vm.cores), (Some(960), 9000, 1024, 1));
    assert_eq!(share.path, guest::SHARE_MOUNT);
    assert!(share.mode.container().is_none());
    // round trip through the stored form
    let back: Properties = share
        .to_properties()
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    assert_eq!(Share::from_properties("v", &back).unwrap(), share);
    assert_eq!(back.get("vm-id").map(String::as_str), Some("960"));
    // foreign properties, a node path, no quota, node storage features
    for (key, value) in [
        ("ct-memory", "512"),
        ("path", "/srv/v"),
        ("quota-backend", "zfs"),
        ("shadow-copies", "1"),
        ("users", "EXAMPLE\\carol"),
        ("vm-cores", "0"),
        ("vm-template", "99"),
    ] {
        let mut bad = p.clone();
        bad.insert(key.into(), value.into());
        assert!(Share::from_properties("v", &bad).is_err(), "{key}={value} accepted");
    }
    let mut no_quota = p.clone();
    no_quota.remove("quota");
    assert!(Share::from_properties("v", &no_quota).is_err());
    // vm-* and the network only with their modes
    let native = props(&[("path", "/srv/x"), ("vm-memory", "1024")]);
    let err = Share::from_properties("x", &native).unwrap_err();
    assert!(err.message.contains("--mode vm"), "{}", err.message);
    let native = props(&[("path", "/srv/x"), ("bridge", "vmbr1")]);
    assert!(Share::from_properties("x", &native).is_err());
    let lxc = props(&[("mode", "lxc"), ("path", "/srv/x"), ("vm-cores", "2")]);
    assert!(Share::from_properties("x", &lxc).is_err());
    // memory and cores may grow; where the VM comes from may not change
    let bigger = share
        .updated(&props(&[("vm-memory", "2048"), ("vm-cores", "2")]), &[])
        .unwrap();
    assert_eq!(bigger.mode.vm().map(|v| (v.memory, v.cores)), Some((2048, 2)));
    assert!(share.updated(&props(&[("vm-template", "9001")]), &[]).is_err());
}

#[test]
fn the_storage_is_kept_fixed_and_serialised() {
    let p = props(&[
        ("path", "/srv/fast/smbgateway/t"),
        ("storage", "fast"),
        ("quota-backend", "btrfs"),
    ]);
    let share = Share::from_properties("t", &p).unwrap();
    assert_eq!(share.storage.as_deref(), Some("fast"));
    let text = share.to_properties();
    assert!(text.contains(&("storage", "fast".to_string())), "{text:?}");
    let json = serde_json::to_value(&share).unwrap();
    assert_eq!(json["storage"], "fast");
    assert!(
        serde_json::to_value(Share::from_properties("u", &props(&[("path", "/srv/u")])).unwrap())
            .unwrap()
            .get("storage")
            .is_none()
    );
    let err = share.updated(&props(&[("storage", "other")]), &[]).unwrap_err();
    assert_eq!(err.field.as_deref(), Some("storage"));
    let err = share.updated(&Properties::new(), &["storage".to_string()]).unwrap_err();
    assert_eq!(err.field.as_deref(), Some("delete"));
    // a bad id or a VM share's storage is the storage's error
    let err = Share::from_properties("t", &props(&[("path", "/srv/t"), ("storage", "no/id")])).unwrap_err();
    assert_eq!(err.field.as_deref(), Some("storage"));
    let vm = props(&[("mode", "vm"), ("quota", "1G"), ("storage", "fast")]);
    let err = Share::from_properties("t", &vm).unwrap_err();
    assert_eq!(err.field.as_deref(), Some("storage"));
    assert!(err.message.contains("--vm-storage"), "{}", err.message);
}

#[test]
fn streams_on_by_default_and_options_cannot_undo_them() {
    let base = props(&[("path", "/srv/t")]);
    let share = Share::from_properties("t", &base).unwrap();
    assert!(share.streams);
    // the default is not stored, so configs written before the property get streams too
    assert!(!share.to_properties().iter().any(|(k, _)| *k == "streams"));
    let off = share.updated(&props(&[("streams", "0")]), &[]).unwrap();
    assert!(!off.streams);
    assert!(off.to_properties().contains(&("streams", "0".to_string())));

    let refused = |pairs: &[(&str, &str)]| {
        let mut p = base.clone();
        p.extend(props(pairs));
        let err = Share::from_properties("t", &p).unwrap_err();
        (err.field.unwrap_or_default(), err.message)
    };
    let (field, message) = refused(&[("options", "vfs objects=io_uring")]);
    assert_eq!(field, "options");
    assert!(message.contains("drops streams_xattr"), "{message}");
    let (field, message) = refused(&[("options", "vfs objects=io_uring streams_xattr")]);
    assert_eq!(field, "options");
    assert!(message.contains("order"), "{message}");
    let (field, message) = refused(&[("streams", "0"), ("options", "streams_xattr:store_stream_type=no")]);
    assert_eq!(field, "options");
    assert!(message.contains("--streams 0"), "{message}");
    let (field, _) = refused(&[("options", "streams_xattr:prefix=trusted.DosStream.")]);
    assert_eq!(field, "options");
    let (field, _) = refused(&[("streams", "0"), ("macos", "1")]);
    assert_eq!(field, "streams");
    // a property's module is set with the property, not by naming it
    let (field, message) = refused(&[("options", "vfs objects=streams_xattr recycle")]);
    assert_eq!(field, "options");
    assert!(message.contains("--recycle-bin 1"), "{message}");

    // what an admin may add: the modules no property owns, in their place
    let mut p = base.clone();
    p.insert("options".into(), "vfs objects=streams_xattr acl_xattr io_uring".into());
    let stacked = Share::from_properties("t", &p).unwrap();
    // turning streams off while the option names streams_xattr is refused too
    let err = stacked.updated(&props(&[("streams", "0")]), &[]).unwrap_err();
    assert_eq!(err.field.as_deref(), Some("options"));
    let err = stacked
        .updated(&props(&[("options", "vfs objects=io_uring")]), &[])
        .unwrap_err();
    assert!(err.message.contains("drops streams_xattr"), "{}", err.message);
}

#[test]
fn time_machine_needs_fruit_and_stays_within_the_quota() {
    let base = [("path", "/srv/tm"), ("macos", "1"), ("time-machine", "1")];
    let with = |extra: &[(&str, &str)]| {
        let mut p = props(&base);
        p.extend(props(extra));
        Share::from_properties("tm", &p)
    };
    // the max size may equal the quota, is stored in the size syntax it came in, and rounds to KiB
    let share = with(&[("quota", "1G"), ("time-machine-max-size", "1G")]).unwrap();
    assert_eq!(share.time_machine_max_size, Some(1 << 30));
    let text = share.to_properties();
    assert!(text.contains(&("time-machine-max-size", "1G".to_string())), "{text:?}");
    assert!(text.contains(&("time-machine", "1".to_string())), "{text:?}");
    let share = with(&[("time-machine-max-size", "1.5M")]).unwrap();
    assert_eq!(share.time_machine_max_size, Some(1536 << 10));
    // off, the default, is not stored
    let plain = Share::from_properties("p", &props(&[("path", "/srv/p")])).unwrap();
    assert!(!plain.to_properties().iter().any(|(k, _)| k.starts_with("time-machine")));

    let refused = |extra: &[(&str, &str)], over: &[(&str, &str)]| {
        let mut p = props(&base);
        p.extend(props(over));
        p.extend(props(extra));
        p.retain(|_, v| v != "-");
        let err = Share::from_properties("tm", &p).unwrap_err();
        (err.field.unwrap_or_default(), err.message)
    };
    for (extra, field, reason) in [
        (&[("macos", "-")][..], "time-machine", "needs --macos 1"),
        (
            &[("streams", "0")][..],
            "streams",
            "cannot be combined with --streams 0",
        ),
        (
            &[("time-machine", "-"), ("time-machine-max-size", "1G")][..],
            "time-machine-max-size",
            "needs --time-machine 1",
        ),
        (
            &[("time-machine-max-size", "1T!")][..],
            "time-machine-max-size",
            "invalid size",
        ),
        (
            &[("time-machine-max-size", "512K")][..],
            "time-machine-max-size",
            "below the minimum",
        ),
        (
            &[("quota", "1G"), ("time-machine-max-size", "1025M")][..],
            "time-machine-max-size",
            "above the share's --quota 1G",
        ),
    ] {
        let (f, message) = refused(extra, &[]);
        assert_eq!(f, field, "{extra:?}: {message}");
        assert!(message.contains(reason), "{extra:?}: {message}");
    }
}

#[test]
fn each_vfs_module_is_stacked_by_the_boolean_property_vfs_names() {
    let share = Share::from_properties("t", &props(&[("path", "/srv/t")])).unwrap();
    for module in crate::vfs::ORDER {
        let Some(property) = crate::vfs::owner(module) else {
            assert_eq!(share.stacks(module), None, "{module}");
            continue;
        };
        for value in ["0", "1"] {
            let mut pairs = vec![("path", "/srv/t"), (property, value)];
            // fruit needs streams; the test turns each property alone
            if property == "macos" {
                pairs.push(("streams", "1"));
            }
            let set = Share::from_properties("t", &props(&pairs)).unwrap();
            assert_eq!(
                set.stacks(module),
                Some(value == "1"),
                "{module} with {property}={value}"
            );
        }
    }
}

#[test]
fn snapshot_schedule_and_retention_are_stored_normalized_and_refused_on_their_field() {
    let share = Share::from_properties(
        "snap",
        &props(&[
            ("path", "/srv/snap"),
            ("snapshot-schedule", " mon..fri  08..18:00 "),
            ("snapshot-keep", "keep-daily=7, keep-last=3"),
        ]),
    )
    .unwrap();
    let schedule = share.snapshot_schedule.as_ref().unwrap();
    assert_eq!(schedule.to_string(), "mon..fri 08..18:00");
    assert_eq!(share.snapshot_keep.as_ref().unwrap().daily, Some(7));
    // stored and shown in their normalized text; unset, they are not stored
    let text = share.to_properties();
    assert!(
        text.contains(&("snapshot-schedule", "mon..fri 08..18:00".to_string())),
        "{text:?}"
    );
    assert!(
        text.contains(&("snapshot-keep", "keep-last=3,keep-daily=7".to_string())),
        "{text:?}"
    );
    let json = serde_json::to_value(&share).unwrap();
    assert_eq!(json["snapshot-schedule"], "mon..fri 08..18:00");
    assert_eq!(json["snapshot-keep"], "keep-last=3,keep-daily=7");
    let plain = Share::from_properties("p", &props(&[("path", "/srv/p")])).unwrap();
    assert!(plain.snapshot_schedule.is_none() && plain.snapshot_keep.is_none());
    assert!(!plain.to_properties().iter().any(|(k, _)| k.starts_with("snapshot")));
    assert!(serde_json::to_value(&plain).unwrap().get("snapshot-schedule").is_none());
    // a schedule alone keeps every snapshot; deleting the schedule while a retention stays is refused
    let hourly = plain.updated(&props(&[("snapshot-schedule", "hourly")]), &[]).unwrap();
    assert_eq!(hourly.snapshot_schedule.unwrap().to_string(), "hourly");
    let err = share
        .updated(&Properties::new(), &["snapshot-schedule".to_string()])
        .unwrap_err();
    assert_eq!(err.field.as_deref(), Some("snapshot-keep"), "{}", err.message);
    let both_gone = share
        .updated(
            &Properties::new(),
            &["snapshot-schedule".into(), "snapshot-keep".into()],
        )
        .unwrap();
    assert!(both_gone.snapshot_schedule.is_none() && both_gone.snapshot_keep.is_none());

    for (pairs, field, reason) in [
        (
            &[("snapshot-schedule", "25:00")][..],
            "snapshot-schedule",
            "hour 25 is out of range",
        ),
        (
            &[("snapshot-schedule", "mon..funday")][..],
            "snapshot-schedule",
            "\"funday\" is not a weekday",
        ),
        (
            &[("snapshot-schedule", "*:0/0")][..],
            "snapshot-schedule",
            "a repetition of 0",
        ),
        (
            &[
                ("snapshot-schedule", "hourly"),
                ("snapshot-keep", "keep-last=0,keep-daily=0"),
            ][..],
            "snapshot-keep",
            "every snapshot would be deleted",
        ),
        (
            &[("snapshot-schedule", "hourly"), ("snapshot-keep", "keep-minutely=5")][..],
            "snapshot-keep",
            "unknown option \"keep-minutely\"",
        ),
        (
            &[("snapshot-schedule", "hourly"), ("snapshot-keep", "keep-last=-3")][..],
            "snapshot-keep",
            "is not a whole number",
        ),
        (
            &[("snapshot-keep", "keep-last=3")][..],
            "snapshot-keep",
            "needs --snapshot-schedule",
        ),
    ] {
        let mut p = props(&[("path", "/srv/snap")]);
        p.extend(props(pairs));
        let err = Share::from_properties("snap", &p).unwrap_err();
        assert_eq!(err.field.as_deref(), Some(field), "{pairs:?}: {}", err.message);
        assert!(err.message.contains(reason), "{pairs:?}: {}", err.message);
    }
    // the node cannot snapshot a VM's data disk
    let vm = props(&[("mode", "vm"), ("quota", "10G"), ("snapshot-schedule", "daily")]);
    let err = Share::from_properties("v", &vm).unwrap_err();
    assert_eq!(err.field.as_deref(), Some("snapshot-schedule"), "{}", err.message);
    assert!(err.message.contains("--mode vm"), "{}", err.message);
    // the API checks the same formats through the core
    crate::schema::check_format("smbgw-calendar-event", "sat,sun 12:00").unwrap();
    crate::schema::check_format("smbgw-prune-keep", "keep-last=3,keep-daily=7").unwrap();
    assert!(crate::schema::check_format("smbgw-calendar-event", "25:00").is_err());
    assert!(crate::schema::check_format("smbgw-prune-keep", "keep-last=0").is_err());
}

#[test]
fn acl_mode_windows_on_native_shares_only() {
    // posix is the default and is not stored; windows is, and shows in the JSON form
    let plain = Share::from_properties("p", &props(&[("path", "/srv/p")])).unwrap();
    assert_eq!(plain.acl_mode, AclMode::Posix);
    assert!(!plain.to_properties().iter().any(|(k, _)| *k == "acl-mode"));
    let win = Share::from_properties("w", &props(&[("path", "/srv/w"), ("acl-mode", "Windows")])).unwrap();
    assert_eq!(win.acl_mode, AclMode::Windows);
    assert!(win.to_properties().contains(&("acl-mode", "windows".to_string())));
    let json = serde_json::to_value(&win).unwrap();
    assert_eq!(json["acl-mode"], "windows", "{json}");
    // back to posix by update or by deleting the property
    assert_eq!(
        win.updated(&props(&[("acl-mode", "posix")]), &[]).unwrap().acl_mode,
        AclMode::Posix
    );
    assert_eq!(
        win.updated(&props(&[]), &["acl-mode".into()]).unwrap().acl_mode,
        AclMode::Posix
    );

    let refused = |pairs: &[(&str, &str)]| {
        let err = Share::from_properties("w", &props(pairs)).unwrap_err();
        (err.field.unwrap_or_default(), err.message)
    };
    for (pairs, field, reason) in [
        (
            &[("path", "/srv/w"), ("acl-mode", "nt")][..],
            "acl-mode",
            "expected one of posix, windows",
        ),
        (
            &[("path", "/srv/w"), ("acl-mode", "windows"), ("mode", "lxc")][..],
            "acl-mode",
            "unprivileged container",
        ),
        (
            &[("acl-mode", "windows"), ("mode", "vm"), ("quota", "1G")][..],
            "acl-mode",
            "not available in --mode vm",
        ),
        (
            &[
                ("path", "/srv/w"),
                ("acl-mode", "windows"),
                ("options", "nt acl support=no"),
            ][..],
            "options",
            "needs 'nt acl support = yes'",
        ),
        (
            &[
                ("path", "/srv/w"),
                ("acl-mode", "windows"),
                ("options", "map acl inherit=no"),
            ][..],
            "options",
            "needs 'map acl inherit = yes'",
        ),
    ] {
        let (f, message) = refused(pairs);
        assert_eq!(f, field, "{pairs:?}: {message}");
        assert!(message.contains(reason), "{pairs:?}: {message}");
    }
}

#[test]
fn listing_options_round_trip_and_are_not_given_twice() {
    let share = Share::from_properties(
        "d",
        &props(&[
            ("path", "/srv/d"),
            ("access-based-enum", "1"),
            ("hide-unreadable", "yes"),
        ]),
    )
    .unwrap();
    assert!(share.access_based_enum && share.hide_unreadable);
    let text = share.to_properties();
    assert!(text.contains(&("access-based-enum", "1".to_string())), "{text:?}");
    assert!(text.contains(&("hide-unreadable", "1".to_string())), "{text:?}");
    let json = serde_json::to_value(&share).unwrap();
    assert_eq!(json["access-based-enum"], true);
    assert_eq!(json["hide-unreadable"], true);
    // off, the default, is not stored
    let plain = Share::from_properties("p", &props(&[("path", "/srv/p")])).unwrap();
    assert!(!plain
        .to_properties()
        .iter()
        .any(|(k, _)| *k == "access-based-enum" || *k == "hide-unreadable"));
    // the option alone still works as before; with the property it is refused on 'options'
    Share::from_properties("o", &props(&[("path", "/srv/o"), ("options", "hide unreadable=yes")])).unwrap();
    for (property, option) in [
        ("access-based-enum", "access based share enum=yes"),
        ("hide-unreadable", "hide unreadable=no"),
    ] {
        let err = Share::from_properties("o", &props(&[("path", "/srv/o"), (property, "1"), ("options", option)]))
            .unwrap_err();
        assert_eq!(err.field.as_deref(), Some("options"), "{}", err.message);
        assert!(err.message.contains("set the same Samba parameter"), "{}", err.message);
    }
}

#[test]
fn a_home_share_needs_local_users_on_the_node_and_its_quota_needs_homes() {
    let base = [("path", "/srv/homes"), ("homes", "1"), ("users", "alice,bob")];
    let with = |extra: &[(&str, &str)]| {
        let mut p = props(&base);
        p.extend(props(extra));
        p.retain(|_, v| v != "-");
        Share::from_properties("home", &p)
    };
    let share = with(&[("home-quota", "1.5G"), ("groups", "staff")]).unwrap();
    assert!(share.homes);
    assert_eq!(share.home_quota, Some(1536 << 20));
    let text = share.to_properties();
    assert!(text.contains(&("homes", "1".to_string())), "{text:?}");
    assert!(text.contains(&("home-quota", "1536M".to_string())), "{text:?}");
    let json = serde_json::to_value(&share).unwrap();
    assert_eq!(json["homes"], true);
    assert_eq!(json["home-quota"], 1536u64 << 20);
    // homes is fixed: it cannot be switched on or off later
    let err = share.updated(&props(&[("homes", "0")]), &[]).unwrap_err();
    assert_eq!(err.field.as_deref(), Some("homes"), "{}", err.message);
    // the per-home limit may change
    let raised = share.updated(&props(&[("home-quota", "2G")]), &[]).unwrap();
    assert_eq!(raised.home_quota, Some(2 << 30));

    for (extra, field, reason) in [
        (&[("users", "-")][..], "homes", "needs --users or --groups"),
        (&[("users", "EXAMPLE\\carol")][..], "users", "domain account"),
        (&[("groups", "EXAMPLE\\staff")][..], "groups", "domain account"),
        (&[("mode", "lxc")][..], "homes", "--mode native"),
        (
            &[("options", "force user=alice")][..],
            "options",
            "one account own every home",
        ),
        (&[("home-quota", "512K")][..], "home-quota", "below the minimum"),
        (&[("home-quota", "1G!")][..], "home-quota", "invalid size"),
        (
            &[("homes", "-"), ("home-quota", "1G")][..],
            "home-quota",
            "needs --homes 1",
        ),
    ] {
        let err = with(extra).unwrap_err();
        assert_eq!(err.field.as_deref(), Some(field), "{extra:?}: {}", err.message);
        assert!(err.message.contains(reason), "{extra:?}: {}", err.message);
    }
}

#[test]
fn only_a_home_share_may_be_called_homes() {
    let err = Share::from_properties("Homes", &props(&[("path", "/srv/h"), ("users", "alice")])).unwrap_err();
    assert_eq!(err.field.as_deref(), Some("name"), "{}", err.message);
    assert!(
        err.message.contains("only a home share may be called so"),
        "{}",
        err.message
    );
    Share::from_properties(
        "homes",
        &props(&[("path", "/srv/h"), ("users", "alice"), ("homes", "1")]),
    )
    .unwrap();
}

#[test]
fn backup_settings_are_stored_normalized_and_refused_on_their_field() {
    let share = Share::from_properties(
        "b",
        &props(&[
            ("path", "/srv/b"),
            ("backup-storage", "pbs1"),
            ("backup-schedule", " sat  02:00 "),
            ("backup-keep", "keep-weekly=4, keep-last=2"),
        ]),
    )
    .unwrap();
    assert_eq!(share.backup_storage.as_deref(), Some("pbs1"));
    let text = share.to_properties();
    assert!(text.contains(&("backup-schedule", "sat 02:00".to_string())), "{text:?}");
    assert!(
        text.contains(&("backup-keep", "keep-last=2,keep-weekly=4".to_string())),
        "{text:?}"
    );
    let json = serde_json::to_value(&share).unwrap();
    assert_eq!(json["backup-storage"], "pbs1", "{json}");
    let plain = Share::from_properties("p", &props(&[("path", "/srv/p")])).unwrap();
    assert!(serde_json::to_value(&plain).unwrap().get("backup-storage").is_none());
    for (pairs, field, reason) in [
        (
            &[("backup-schedule", "daily")][..],
            "backup-schedule",
            "needs --backup-storage",
        ),
        (
            &[("backup-storage", "pbs1"), ("backup-keep", "keep-last=2")][..],
            "backup-keep",
            "needs --backup-schedule",
        ),
        (
            &[("backup-storage", "bad/id")][..],
            "backup-storage",
            "not a PVE storage id",
        ),
        (
            &[("backup-storage", "pbs1"), ("backup-schedule", "25:00")][..],
            "backup-schedule",
            "out of range",
        ),
        (
            &[
                ("backup-storage", "pbs1"),
                ("backup-schedule", "daily"),
                ("backup-keep", "keep-last=0"),
            ][..],
            "backup-keep",
            "",
        ),
    ] {
        let mut p = props(&[("path", "/srv/b")]);
        p.extend(props(pairs));
        let err = Share::from_properties("b", &p).unwrap_err();
        assert_eq!(err.field.as_deref(), Some(field), "{pairs:?}: {}", err.message);
        assert!(err.message.contains(reason), "{pairs:?}: {}", err.message);
    }
    // a VM's data is on its own disk, out of the node's reach
    let vm = props(&[("mode", "vm"), ("quota", "10G"), ("backup-storage", "pbs1")]);
    let err = Share::from_properties("v", &vm).unwrap_err();
    assert_eq!(err.field.as_deref(), Some("backup-storage"), "{}", err.message);
    assert!(err.message.contains("--mode vm"), "{}", err.message);
}
