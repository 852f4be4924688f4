//! An admin's own Samba configuration against a real smbd: its shares (file and registry) keep
//! being served next to the gateway's after the gateway takes smb.conf over, and `import`
//! adopts the ones that map to the share model (gateway/src/import.rs), leaving the rest in
//! the unmanaged include, refusing name collisions and undoing a failure part-way.

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;

use common::{Btrfs, Sandbox};

const ALICE: (&str, &str) = ("alice", "Alice-pw1");

/// The admin's smb.conf: two file shares (one with a parameter outside the allow list) and the
/// registry. Its directories are the sandbox's, as a real admin's name the system's, so no tool
/// run before the takeover touches the machine's Samba state.
fn admin_conf(sb: &Sandbox) -> String {
    let samba = sb.root.join("samba");
    let dir = |d: &str| samba.join(d).display().to_string();
    format!(
        "# The admin's own smb.conf, written by hand\n[global]\n   workgroup = ADMINS\n   server string = the admin's file server\n   private dir = {}\n   state directory = {}\n   lock directory = {}\n   cache directory = {}\n   pid directory = {}\n   ncalrpc dir = {}\n   smb ports = 445\n   include = registry\n\n[docs]\n   path = {}\n   comment = Documents \\\n     of the office\n   writeable = yes\n   valid users = alice\n\n# left alone by import: a parameter the gateway does not allow\n[odd]\n   path = {}\n   read only = no\n   preexec = /bin/true\n\n# left alone by import: its path is a symbolic link\n[linked]\n   path = {}\n",
        dir("private"),
        dir("state"),
        dir("lock"),
        dir("cache"),
        dir("pid"),
        dir("ncalrpc"),
        sb.data("docs").display(),
        sb.data("odd").display(),
        sb.data("linked").display(),
    )
}

fn net(sb: &Sandbox, args: &[&str]) -> std::process::Output {
    std::process::Command::new("net")
        .arg("-s")
        .arg(sb.root.join("samba/smb.conf"))
        .args(args)
        .output()
        .unwrap()
}

/// A sandbox whose smb.conf is the admin's own, with a registry share, then taken over by
/// `apply`; alice is a Samba user and the gateway serves its own share 'gw'.
fn taken_over() -> (Sandbox, String) {
    let sb = Sandbox::new();
    for d in ["docs", "odd", "reg", "gw"] {
        std::fs::create_dir_all(sb.data(d)).unwrap();
        // smbd works as alice in these directories
        std::fs::set_permissions(sb.data(d), std::os::unix::fs::PermissionsExt::from_mode(0o777)).unwrap();
    }
    for d in ["private", "state", "lock", "cache", "pid", "ncalrpc"] {
        std::fs::create_dir_all(sb.root.join("samba").join(d)).unwrap();
    }
    std::os::unix::fs::symlink(sb.data("odd"), sb.data("linked")).unwrap();
    let admin = admin_conf(&sb);
    std::fs::write(sb.root.join("samba/smb.conf"), &admin).unwrap();
    let out = net(
        &sb,
        &[
            "conf",
            "addshare",
            "reg",
            sb.data("reg").to_str().unwrap(),
            "writeable=y",
            "guest_ok=n",
            "registry share",
        ],
    );
    assert!(
        out.status.success(),
        "net conf addshare: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    let run = sb.run(&["apply"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("unmanaged include"), "{}", run.stdout);
    // the one global the gateway owns and the admin set otherwise is named
    assert!(
        run.stderr.contains(&format!(
            "'smb ports = 445' is overridden by the gateway's 'smb ports = {}'",
            sb.port
        )),
        "{}",
        run.stderr
    );
    sb.add_user(ALICE.0, ALICE.1);
    sb.ok(&[
        "create",
        "gw",
        "--path",
        sb.data("gw").to_str().unwrap(),
        "--users",
        "alice",
    ]);
    (sb, admin)
}

/// Write a file into `share` and read it back over SMB.
fn round_trip(sb: &Sandbox, share: &str, name: &str) {
    let payload = format!("{share}: {name}\n");
    let local = sb.write_local(&format!("{share}-{name}"), payload.as_bytes());
    sb.smbclient(share, Some(ALICE), &format!("put {} {name}", local.display()))
        .unwrap_or_else(|e| panic!("put into {share}: {e}"));
    read_back(sb, share, name, &payload);
}

fn read_back(sb: &Sandbox, share: &str, name: &str, payload: &str) {
    let back = format!("back-{share}-{name}");
    sb.smbclient(share, Some(ALICE), &format!("get {name} {back}"))
        .unwrap_or_else(|e| panic!("get from {share}: {e}"));
    assert_eq!(std::fs::read_to_string(sb.dir.path().join(&back)).unwrap(), payload);
}

fn unmanaged(sb: &Sandbox) -> PathBuf {
    sb.root.join("samba/smbgateway-unmanaged.conf")
}

/// Every file import may change, with its bytes (the state directory's too: its caches), and
/// the registry's shares.
fn state(sb: &Sandbox) -> (BTreeMap<PathBuf, Vec<u8>>, String) {
    let mut files = sb.snapshot();
    common::collect(&sb.root.join("state"), &mut files);
    for extra in [unmanaged(sb), sb.root.join("samba/smb.conf.pve-smbgateway-orig")] {
        if let Ok(data) = std::fs::read(&extra) {
            files.insert(extra, data);
        }
    }
    let registry = net(sb, &["conf", "list"]);
    assert!(registry.status.success());
    (files, String::from_utf8_lossy(&registry.stdout).into_owned())
}

/// Equal states, or which file (or the registry) differs.
fn assert_same(
    before: &(BTreeMap<PathBuf, Vec<u8>>, String),
    after: &(BTreeMap<PathBuf, Vec<u8>>, String),
    what: &str,
) {
    let paths: std::collections::BTreeSet<&PathBuf> = before.0.keys().chain(after.0.keys()).collect();
    let changed: Vec<&&PathBuf> = paths.iter().filter(|p| before.0.get(**p) != after.0.get(**p)).collect();
    assert!(changed.is_empty(), "{what}: {changed:?} changed");
    assert_eq!(before.1, after.1, "{what}: the registry changed");
}

fn names(list: &serde_json::Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn admin_shares_stay_served_and_import_adopts_the_mappable_ones() {
    let (sb, admin) = taken_over();
    // the admin's file is kept exactly (purge puts it back) and carried unchanged
    assert_eq!(
        std::fs::read_to_string(sb.root.join("samba/smb.conf.pve-smbgateway-orig")).unwrap(),
        admin
    );
    assert_eq!(std::fs::read_to_string(unmanaged(&sb)).unwrap(), admin);
    let testparm = std::process::Command::new("testparm")
        .args(["-s", "--suppress-prompt"])
        .arg(sb.root.join("samba/smb.conf"))
        .output()
        .unwrap();
    assert!(
        testparm.status.success(),
        "{}",
        String::from_utf8_lossy(&testparm.stderr)
    );
    let parsed = String::from_utf8_lossy(&testparm.stdout);
    // the admin's global stays, the gateway's port wins
    assert!(parsed.contains("workgroup = ADMINS"), "{parsed}");
    assert!(parsed.contains(&format!("smb ports = {}", sb.port)), "{parsed}");
    for share in ["docs", "odd", "reg", "gw"] {
        round_trip(&sb, share, "before.txt");
    }

    // a gateway share cannot take an admin share's name
    let run = sb.run(&[
        "create",
        "docs",
        "--path",
        sb.data("docs2").to_str().unwrap(),
        "--output-format",
        "json",
    ]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    let err: serde_json::Value = serde_json::from_str(run.stderr.trim()).unwrap();
    assert_eq!(err["field"], "name", "{err}");

    // the dry run shows the mapping and changes nothing
    let before = state(&sb);
    let out = sb.ok(&["import", "--dry-run", "--output-format", "json"]);
    let plan: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(names(&plan["adopted"]), ["docs", "reg"], "{plan}");
    assert_eq!(names(&plan["kept"]), ["odd", "linked"], "{plan}");
    assert!(
        plan["kept"][0]["reason"].as_str().unwrap().contains("preexec"),
        "{plan}"
    );
    assert!(
        plan["kept"][1]["reason"].as_str().unwrap().contains("symbolic link"),
        "{plan}"
    );
    let docs = &plan["adopted"][0]["properties"];
    assert_eq!(docs["comment"], "Documents of the office", "{plan}");
    assert_eq!(docs["read-only"], "0", "{plan}");
    assert_eq!(docs["users"], "alice", "{plan}");
    assert_eq!(plan["adopted"][1]["source"], "registry", "{plan}");
    assert_same(&before, &state(&sb), "--dry-run");

    let out = sb.ok(&["import"]);
    assert!(out.contains("adopted: docs"), "{out}");
    let listed: serde_json::Value = serde_json::from_str(&sb.ok(&["list", "--output-format", "json"])).unwrap();
    assert_eq!(names(&listed), ["docs", "gw", "reg"], "{listed}");
    let include = std::fs::read_to_string(unmanaged(&sb)).unwrap();
    assert!(!include.contains("[docs]") && include.contains("[odd]"), "{include}");
    assert!(
        include.starts_with("# The admin's own smb.conf, written by hand\n"),
        "{include}"
    );
    let registry = net(&sb, &["conf", "listshares"]);
    assert!(
        !String::from_utf8_lossy(&registry.stdout).contains("reg"),
        "reg left the registry"
    );
    // every share still serves what it held, and takes new files
    for share in ["docs", "odd", "reg", "gw"] {
        read_back(&sb, share, "before.txt", &format!("{share}: before.txt\n"));
        round_trip(&sb, share, "after.txt");
    }
    // the admin's share stays as Samba read it from the include; a second import has nothing to adopt
    let again: serde_json::Value = serde_json::from_str(&sb.ok(&["import", "--output-format", "json"])).unwrap();
    assert_eq!(names(&again["adopted"]), Vec::<String>::new(), "{again}");
    assert_eq!(again["changed"], false, "{again}");
}

#[test]
fn collisions_are_all_listed_and_nothing_is_imported() {
    let (sb, _) = taken_over();
    sb.ok(&[
        "create",
        "data",
        "--path",
        sb.data("gwdata").to_str().unwrap(),
        "--users",
        "alice",
    ]);
    // the admin adds shares named like the gateway's to the include it owns
    let mut include = std::fs::read_to_string(unmanaged(&sb)).unwrap();
    include.push_str(&format!(
        "\n[GW]\n   path = {}\n   read only = no\n[data]\n   path = {}\n   read only = no\n",
        sb.data("docs").display(),
        sb.data("docs").display()
    ));
    std::fs::write(unmanaged(&sb), include).unwrap();
    let run = sb.run(&["apply"]);
    assert!(
        run.stderr.contains("share 'gw' is not served"),
        "{}{}",
        run.stdout,
        run.stderr
    );
    round_trip(&sb, "gw", "admins.txt");
    assert!(
        sb.data("docs").join("admins.txt").exists(),
        "'gw' is the admin's share now"
    );
    // status agrees with apply: smb.conf is as apply writes it, and 'gw' is named as not served
    let run = sb.run(&["status", "--output-format", "json"]);
    let status: serde_json::Value =
        serde_json::from_str(&run.stdout).unwrap_or_else(|_| panic!("{}{}", run.stdout, run.stderr));
    let problems = |name: &str| -> Vec<String> {
        status["shares"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == name)
            .unwrap_or_else(|| panic!("{name} in {status}"))["problems"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p.as_str().unwrap().to_string())
            .collect()
    };
    for name in ["gw", "data"] {
        let problems = problems(name);
        assert!(
            problems
                .iter()
                .any(|p| p.contains("not served: the admin's own Samba configuration")),
            "{name}: {problems:?}"
        );
        assert!(!problems.iter().any(|p| p.contains("differs")), "{name}: {problems:?}");
    }

    let before = state(&sb);
    let run = sb.run(&["import", "--output-format", "json"]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    let err: serde_json::Value = serde_json::from_str(run.stderr.trim()).unwrap();
    assert_eq!(err["field"], "share", "{err}");
    let message = err["message"].as_str().unwrap();
    assert!(message.contains("'GW'") && message.contains("'data'"), "{message}");
    assert_same(&before, &state(&sb), "a refused import");
    // the others can still be taken one by one
    let out = sb.ok(&["import", "--share", "docs", "--dry-run"]);
    assert!(out.contains("would adopt: docs"), "{out}");
}

#[test]
fn a_failure_part_way_undoes_the_whole_import() {
    let (sb, _) = taken_over();
    round_trip(&sb, "reg", "kept.txt");
    let before = state(&sb);
    // the share include directory turns immutable: the share config and the registry change
    // first, then writing the adopted shares' includes fails
    let includes = sb.root.join("samba/shares.d");
    let chattr = |flag: &str| {
        let ok = std::process::Command::new("chattr")
            .arg(flag)
            .arg(&includes)
            .status()
            .unwrap();
        assert!(ok.success(), "chattr {flag} needs a filesystem with immutable flags");
    };
    chattr("+i");
    let run = sb.run(&["import"]);
    chattr("-i");
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("rolled back"), "{}", run.stderr);
    assert_same(&before, &state(&sb), "the rolled back import");
    read_back(&sb, "reg", "kept.txt", "reg: kept.txt\n");
    round_trip(&sb, "docs", "still.txt");
}

#[test]
fn a_btrfs_quota_the_admin_set_is_adopted() {
    let sb = Sandbox::new();
    let fs = Btrfs::new(sb.dir.path(), "512M");
    let path = fs.mount.join("projects");
    common::run("btrfs", &["-q", "subvolume", "create", path.to_str().unwrap()]);
    common::run("btrfs", &["quota", "enable", fs.mount.to_str().unwrap()]);
    common::run("btrfs", &["qgroup", "limit", "64M", path.to_str().unwrap()]);
    std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o777)).unwrap();
    let samba = sb.root.join("samba");
    for d in ["private", "state", "lock", "cache", "pid", "ncalrpc"] {
        std::fs::create_dir_all(samba.join(d)).unwrap();
    }
    std::fs::write(
        samba.join("smb.conf"),
        format!(
            "[global]\n   private dir = {0}/private\n   state directory = {0}/state\n   lock directory = {0}/lock\n   cache directory = {0}/cache\n   pid directory = {0}/pid\n   ncalrpc dir = {0}/ncalrpc\n[projects]\n   path = {1}\n   read only = no\n",
            samba.display(),
            path.display()
        ),
    )
    .unwrap();
    sb.ok(&["apply"]);
    sb.add_user(ALICE.0, ALICE.1);
    round_trip(&sb, "projects", "before.txt");

    let out: serde_json::Value = serde_json::from_str(&sb.ok(&["import", "--output-format", "json"])).unwrap();
    let props = &out["adopted"][0]["properties"];
    assert_eq!(props["quota"], "64M", "{out}");
    assert_eq!(props["quota-backend"], "btrfs", "{out}");
    let status: serde_json::Value =
        serde_json::from_str(&sb.ok(&["quota-status", "projects", "--output-format", "json"])).unwrap();
    assert_eq!(status["limit"], 64u64 << 20, "{status}");
    assert_eq!(
        fs.qgroup(&path).1,
        Some(64 << 20),
        "the limit stays as the admin set it"
    );
    read_back(&sb, "projects", "before.txt", "projects: before.txt\n");
    // SMB clients see the quota as the disk size
    let du = sb.smbclient("projects", Some(ALICE), "du").unwrap();
    assert!(du.contains(&format!("{} blocks of size 1024", 64 * 1024)), "{du}");
}

#[test]
fn a_registry_only_configuration_stays_served_beside_the_gateway() {
    let sb = Sandbox::new();
    let samba = sb.root.join("samba");
    for d in ["private", "state", "lock", "cache", "pid", "ncalrpc"] {
        std::fs::create_dir_all(samba.join(d)).unwrap();
    }
    for d in ["reg", "gw"] {
        std::fs::create_dir_all(sb.data(d)).unwrap();
        std::fs::set_permissions(sb.data(d), std::os::unix::fs::PermissionsExt::from_mode(0o777)).unwrap();
    }
    // Samba's registry-only setup: smb.conf names the backend, everything else is in the
    // registry. The registry share is made through a file naming the sandbox's directories
    // without the backend: with it, Samba starts over from its built-in directories (the
    // system's registry), as testparm says ("changing to config backend registry").
    let dirs = format!(
        "[global]\n   state directory = {0}/state\n   lock directory = {0}/lock\n   private dir = {0}/private\n",
        samba.display()
    );
    let helper = sb.write_local("registry-helper.conf", dirs.as_bytes());
    let out = std::process::Command::new("net")
        .arg("-s")
        .arg(&helper)
        .args([
            "conf",
            "addshare",
            "reg",
            sb.data("reg").to_str().unwrap(),
            "writeable=y",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "net conf addshare: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::write(samba.join("smb.conf"), format!("{dirs}   config backend = registry\n")).unwrap();
    let run = sb.run(&["apply"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let include = std::fs::read_to_string(unmanaged(&sb)).unwrap();
    assert!(include.contains("\n   include = registry\n"), "{include}");
    sb.add_user(ALICE.0, ALICE.1);
    sb.ok(&[
        "create",
        "gw",
        "--path",
        sb.data("gw").to_str().unwrap(),
        "--users",
        "alice",
    ]);
    round_trip(&sb, "reg", "a.txt");
    round_trip(&sb, "gw", "a.txt");
    assert!(
        sb.data("reg").join("a.txt").exists(),
        "the registry share's own directory"
    );
}

/// An adopted share keeps the admin's permissions (acl-mode keep): a root-only file stays
/// unreadable to the share's user after import, after an ordinary update and after apply; only
/// switching to posix, shown in its plan, grants the share's users on the tree.
#[test]
fn an_adopted_share_keeps_the_admins_permissions() {
    let (sb, _) = taken_over();
    let secret = sb.data("docs").join("secret.txt");
    std::fs::write(&secret, b"root only\n").unwrap();
    std::fs::set_permissions(&secret, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let acl = || common::run("getfacl", &["--numeric", "--absolute-names", secret.to_str().unwrap()]);
    let before = acl();
    let unreadable = |when: &str| {
        let got = sb.smbclient("docs", Some(ALICE), "get secret.txt stolen.txt");
        assert!(got.is_err(), "{when}: alice read a root-only file: {got:?}");
        assert_eq!(acl(), before, "{when}");
    };
    unreadable("before the import");

    let out: serde_json::Value = serde_json::from_str(&sb.ok(&["import", "--output-format", "json"])).unwrap();
    assert_eq!(out["adopted"][0]["properties"]["acl-mode"], "keep", "{out}");
    unreadable("after the import");
    let plan = sb.ok(&["update", "docs", "--comment", "x", "--dry-run"]);
    assert!(!plan.contains("grant"), "{plan}");
    sb.ok(&["update", "docs", "--comment", "x"]);
    unreadable("after an update");
    sb.ok(&["update", "docs", "--users", "alice", "--read-only", "0"]);
    sb.ok(&["apply"]);
    unreadable("after apply");
    round_trip(&sb, "docs", "still-writable.txt");

    // the admin hands the tree over, knowingly
    let plan = sb.ok(&["update", "docs", "--acl-mode", "posix", "--dry-run"]);
    assert!(plan.contains("grant") && plan.contains("did not set before"), "{plan}");
    sb.ok(&["update", "docs", "--acl-mode", "posix"]);
    read_back(&sb, "docs", "secret.txt", "root only\n");
}

/// `config backend = registry` in a file the admin's configuration includes would make smbd
/// drop every file share, the gateway's too: apply and create refuse it (exit 3, naming the
/// shares and the cause) and write nothing, instead of reporting success.
#[test]
fn a_registry_backend_in_an_admin_include_is_refused() {
    let (sb, _) = taken_over();
    round_trip(&sb, "gw", "before.txt");
    let extra = sb.write_local("admin-extra.conf", b"[global]\n   config backend = registry\n");
    let mut include = std::fs::read_to_string(unmanaged(&sb)).unwrap();
    include.push_str(&format!("\n[global]\n   include = {}\n", extra.display()));
    std::fs::write(unmanaged(&sb), include).unwrap();
    let before = state(&sb);

    let run = sb.run(&["apply"]);
    assert_eq!(run.code, 3, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains("'gw'") && run.stderr.contains("config backend = registry"),
        "{}",
        run.stderr
    );
    let run = sb.run(&["create", "gw2", "--path", sb.data("gw2").to_str().unwrap()]);
    assert_eq!(run.code, 3, "{}{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("'gw2'"), "{}", run.stderr);
    assert_same(&before, &state(&sb), "a refused apply and create");
}
