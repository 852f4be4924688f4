//! Windows ACL shares (`--acl-mode windows`) for real. Against the Samba AD DC of
//! common/ad_lab.rs (one scenario, as a domain takes a while to make): the join grants the
//! domain's administrators SeDiskOperatorPrivilege; a Windows ACL share starts owned by root
//! and Domain Admins; `smbcacls` as Administrator adds an ACE for a domain group, reads it back,
//! and a file created over SMB inherits it; a member of the group writes and another domain
//! user is refused; `update` and `apply` leave the ACL as the client set it; back to posix the
//! NT ACL stays on disk and Samba ignores it. Without a domain: the refusals (a filesystem
//! without xattrs or POSIX ACLs: a real ramfs; an lxc share, whose container root may not write
//! `security.` xattrs, checked in a real user namespace) change nothing.

#[path = "common/ad_lab.rs"]
mod ad_lab;
mod common;

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use ad_lab::{AdLab, ADMIN_PASSWORD, DOMAIN};
use common::Sandbox;

const ALICE: (&str, &str) = ("EXAMPLE\\alice", "Al1ce!Passw0rd");
const CAROL: (&str, &str) = ("EXAMPLE\\carol", "Car0l!Passw0rd");
/// Domain Admins (RID 512) as idmap rid maps it (the domain range starts at 3,000,000).
const DOMAIN_ADMINS_GID: u32 = 3_000_512;
const GROUP_ACE: &str = "ACL:EXAMPLE\\shareusers:ALLOWED/OI|CI/FULL";

fn member_sandbox(lab: &AdLab) -> Sandbox {
    let mut sb = Sandbox::new();
    sb.wrapper = lab.member.prefix();
    sb.port = 445;
    sb.env.push(("PVE_SMBGW_BIND".into(), lab.member.addr.clone()));
    sb
}

/// `smbcacls` from the DC host as Administrator: the ACL of `file` in the member's share, after
/// `change` (e.g. `-a ACE`) when given. Credentials in a file, not argv.
fn smbcacls(lab: &AdLab, share: &str, file: &str, change: &[&str]) -> String {
    let creds = lab.path("cacls.creds");
    std::fs::write(
        &creds,
        format!("username=Administrator\npassword={ADMIN_PASSWORD}\ndomain=EXAMPLE\n"),
    )
    .unwrap();
    let mut cmd = lab.dc.command("smbcacls");
    cmd.args(["-s", &lab.path("dc/etc/smb.conf").display().to_string()])
        .arg(format!("//mem1.{DOMAIN}/{share}"))
        .arg(file)
        .arg("-A")
        .arg(&creds)
        .arg("--use-kerberos=disabled");
    cmd.args(change);
    let out = cmd.output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "smbcacls {file} {change:?}: {text}");
    if !change.is_empty() {
        return smbcacls(lab, share, file, &[]);
    }
    text
}

/// The NT ACL vfs_acl_xattr stored for `path`, as raw bytes (`None`: there is none).
fn ntacl(path: &Path) -> Option<Vec<u8>> {
    let out = Command::new("getfattr")
        .args(["--only-values", "-n", "security.NTACL"])
        .arg(path)
        .output()
        .unwrap();
    out.status.success().then_some(out.stdout)
}

#[test]
fn windows_acls_set_by_a_client_are_inherited_enforced_and_kept() {
    let lab = AdLab::start();
    let sb = member_sandbox(&lab);
    std::fs::create_dir_all(sb.data("")).unwrap();
    let r = sb.run_with_stdin(
        &["ad-join", "--domain", DOMAIN, "--password-stdin"],
        format!("{ADMIN_PASSWORD}\n").as_bytes(),
    );
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);

    // the join granted the domain's administrators the privilege Windows' editors ask for,
    // as the member itself answers over RPC
    let creds = lab.path("rights.creds");
    std::fs::write(
        &creds,
        format!("username=Administrator\npassword={ADMIN_PASSWORD}\ndomain=EXAMPLE\n"),
    )
    .unwrap();
    let (ok, rights) = lab.dc.run(
        "net",
        &[
            "rpc",
            "rights",
            "list",
            "accounts",
            "-S",
            &format!("mem1.{DOMAIN}"),
            "-A",
            &creds.display().to_string(),
            "-s",
            &lab.path("dc/etc/smb.conf").display().to_string(),
        ],
    );
    assert!(ok, "{rights}");
    // the member names the group in lower case
    let rights = rights.to_ascii_lowercase();
    let admins = &rights[rights
        .find("example\\domain admins")
        .unwrap_or_else(|| panic!("{rights}"))..];
    let admins = &admins[..admins.find("\n\n").unwrap_or(admins.len())];
    assert!(admins.contains("sediskoperatorprivilege"), "{rights}");

    // a Windows ACL share: every domain user may connect, the ACL decides the rest
    let office = sb.data("office");
    sb.ok(&[
        "create",
        "office",
        "--path",
        &office.display().to_string(),
        "--acl-mode",
        "windows",
    ]);
    let conf = std::fs::read_to_string(sb.root.join("samba/shares.d/office.conf")).unwrap();
    assert!(conf.contains("\tvfs objects = streams_xattr acl_xattr\n"), "{conf}");
    assert!(conf.contains("\tmap acl inherit = yes\n"), "{conf}");
    // the initial owner and administrators entry: root, Domain Admins, nobody else
    let meta = std::fs::metadata(&office).unwrap();
    assert_eq!(
        (meta.uid(), meta.gid(), meta.mode() & 0o7777),
        (0, DOMAIN_ADMINS_GID, 0o770)
    );
    let hello = lab.path("hello.txt");
    std::fs::write(&hello, b"from the domain\n").unwrap();
    let put = format!("put {} new.txt", hello.display());
    let denied = lab.smbclient("office", ALICE.0, ALICE.1, false, &put).unwrap_err();
    assert!(denied.contains("NT_STATUS_ACCESS_DENIED"), "before the ACE: {denied}");

    // Administrator adds an ACE for a domain group from the client side, and reads it back
    smbcacls(&lab, "office", "", &["-a", GROUP_ACE]);
    // and takes the ownership of the root, which the gateway gave to root
    let root_acl = smbcacls(&lab, "office", "", &["-C", "EXAMPLE\\Administrator"]);
    assert!(root_acl.contains(GROUP_ACE), "{root_acl}");
    assert!(
        root_acl.to_ascii_lowercase().contains("owner:example\\administrator\n"),
        "{root_acl}"
    );
    assert!(ntacl(&office).is_some(), "no security.NTACL on the share root");

    // a member of the group creates a file; it inherits the ACE
    lab.smbclient("office", ALICE.0, ALICE.1, false, &put)
        .expect("alice is in shareusers");
    assert_eq!(std::fs::read(office.join("new.txt")).unwrap(), b"from the domain\n");
    let file_acl = smbcacls(&lab, "office", "new.txt", &[]);
    // inherited through the NT ACL Samba stored for the new file (smbcacls sets no
    // auto-inheritance bit on the parent, as Explorer does, so the ACE carries no I flag)
    assert!(grants_full(&file_acl, "EXAMPLE\\shareusers"), "{file_acl}");
    assert!(
        ntacl(&office.join("new.txt")).is_some(),
        "no security.NTACL on the new file"
    );
    // a domain user outside the group is refused by the ACL (she may connect)
    let listing = lab.smbclient("office", CAROL.0, CAROL.1, false, "ls").unwrap_err();
    assert!(
        listing.contains("NT_STATUS_ACCESS_DENIED listing"),
        "carol connects, and the ACL refuses her the listing: {listing}"
    );
    let denied = lab
        .smbclient(
            "office",
            CAROL.0,
            CAROL.1,
            false,
            &format!("put {} carol.txt", hello.display()),
        )
        .unwrap_err();
    assert!(denied.contains("NT_STATUS_ACCESS_DENIED"), "{denied}");
    assert!(!office.join("carol.txt").exists());

    // the gateway never rewrites them: an update and an apply leave the ACL as the client set it
    let stored = (ntacl(&office), ntacl(&office.join("new.txt")));
    sb.ok(&["update", "office", "--comment", "Office files"]);
    sb.ok(&["apply"]);
    assert_eq!(smbcacls(&lab, "office", "", &[]), root_acl);
    assert_eq!(smbcacls(&lab, "office", "new.txt", &[]), file_acl);
    assert_eq!((ntacl(&office), ntacl(&office.join("new.txt"))), stored);

    // back to posix: the NT ACLs stay on disk, Samba no longer reads them (acl_xattr is gone,
    // so the ACL shown is the one mapped from the POSIX ACL); back to windows they are read again
    sb.ok(&["update", "office", "--acl-mode", "posix"]);
    let conf = std::fs::read_to_string(sb.root.join("samba/shares.d/office.conf")).unwrap();
    assert!(
        !conf.contains("acl_xattr") && !conf.contains("map acl inherit"),
        "{conf}"
    );
    assert_eq!((ntacl(&office), ntacl(&office.join("new.txt"))), stored);
    let posix_acl = smbcacls(&lab, "office", "new.txt", &[]);
    assert_ne!(posix_acl, file_acl, "Samba still reads the NT ACL in posix mode");
    // full control (change permissions, take ownership) is only in the NT ACL: read from the
    // POSIX ACL, the group has rwx, which Samba shows as 0x001e01ff
    assert!(!grants_full(&posix_acl, "EXAMPLE\\shareusers"), "{posix_acl}");
    assert!(
        posix_acl.contains("ACL:EXAMPLE\\shareusers:ALLOWED/0x0/0x001e01ff"),
        "{posix_acl}"
    );
    sb.ok(&["update", "office", "--acl-mode", "windows"]);
    assert_eq!(smbcacls(&lab, "office", "new.txt", &[]), file_acl);
    assert_eq!(
        smbcacls(&lab, "office", "", &[]),
        root_acl,
        "the switch back re-did the root"
    );

    // a change made on the node wins: the NT ACL records a hash of the POSIX ACL and mode it was
    // mapped to, and Samba shows the POSIX mapping again once they no longer match
    let new = office.join("new.txt");
    let mode = std::fs::metadata(&new).unwrap().mode();
    std::fs::set_permissions(
        &new,
        std::os::unix::fs::PermissionsExt::from_mode((mode & 0o7777) ^ 0o004),
    )
    .unwrap();
    let changed = smbcacls(&lab, "office", "new.txt", &[]);
    assert_ne!(changed, file_acl);
    // other r-x became --x: Everyone may now only traverse/execute, as the mode says
    assert!(changed.contains("ACL:Everyone:ALLOWED/0x0/X\n"), "{changed}");
}

/// A ramfs mounted below `dir`: a real filesystem with neither `security.` xattrs nor POSIX
/// ACLs (this kernel has no vfat, and ext4 no longer takes `noacl`).
struct Ramfs {
    mount: PathBuf,
}

impl Ramfs {
    fn new(dir: &Path) -> Ramfs {
        let mount = dir.join("ramfs");
        std::fs::create_dir_all(&mount).unwrap();
        common::run(
            "mount",
            &["-t", "ramfs", "-o", "mode=755", "ramfs", &mount.display().to_string()],
        );
        Ramfs { mount }
    }
}

impl Drop for Ramfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.mount).status();
    }
}

#[test]
fn windows_mode_is_refused_where_it_cannot_work_and_nothing_is_written() {
    let sb = Sandbox::new();
    sb.add_user("alice", "Alice-pw1");
    let ramfs = Ramfs::new(sb.dir.path());
    let on_ramfs = ramfs.mount.join("office");
    let before = sb.snapshot();
    let refused = |args: &[&str], reason: &str| {
        let mut all = args.to_vec();
        all.extend(["--output-format", "json"]);
        let r = sb.run(&all);
        assert_eq!(r.code, 1, "{args:?}: {}{}", r.stdout, r.stderr);
        let err: serde_json::Value = serde_json::from_str(r.stderr.trim()).unwrap();
        assert_eq!(err["field"], "acl-mode", "{args:?}: {err}");
        let message = err["message"].as_str().unwrap();
        assert!(message.contains(reason), "{args:?}: {message}");
    };
    let ramfs_path = on_ramfs.display().to_string();
    refused(
        &["create", "office", "--path", &ramfs_path, "--acl-mode", "windows"],
        "needs security.* extended attributes",
    );
    assert!(message_names_ramfs(&sb, &ramfs_path));
    assert!(!on_ramfs.exists(), "the refused share's directory was created");
    assert_eq!(sb.snapshot(), before, "a refused create changed files");

    // a posix share on ramfs (no users, so no ACL to write) cannot become a Windows ACL share
    sb.ok(&["create", "office", "--path", &ramfs_path]);
    let before = sb.snapshot();
    refused(
        &["update", "office", "--acl-mode", "windows"],
        "needs security.* extended attributes",
    );
    assert_eq!(sb.snapshot(), before, "a refused update changed files");

    // lxc: root of an unprivileged container may not write security.* xattrs on the node's
    // filesystem, as a user namespace shows for real (root may, outside it)
    let probe = sb.dir.path().join("probe");
    std::fs::write(&probe, b"x").unwrap();
    let set = |prefix: &[&str]| {
        let mut cmd = Command::new(prefix[0]);
        cmd.args(&prefix[1..])
            .args(["setfattr", "-n", "security.NTACL", "-v", "0x01"])
            .arg(&probe);
        let out = cmd.output().unwrap();
        (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned())
    };
    let (ok, err) = set(&["unshare", "--user", "--map-root-user"]);
    assert!(!ok && err.contains("Operation not permitted"), "{err}");
    assert!(set(&["env"]).0, "root on the node writes security.NTACL");
    let lxc = sb.data("lxc").display().to_string();
    refused(
        &["create", "ct", "--mode", "lxc", "--path", &lxc, "--acl-mode", "windows"],
        "unprivileged container",
    );
    refused(
        &["create", "vm", "--mode", "vm", "--quota", "1G", "--acl-mode", "windows"],
        "not available in --mode vm",
    );
    assert_eq!(sb.snapshot(), before, "a refused create changed files");

    // on a filesystem with both, without a domain: root alone owns the new share's root, the
    // share's users get no POSIX entry (Windows clients own the ACL), and apply keeps it so
    let office = sb.data("winacl");
    sb.ok(&[
        "create",
        "winacl",
        "--path",
        &office.display().to_string(),
        "--users",
        "alice",
        "--acl-mode",
        "windows",
    ]);
    let meta = std::fs::metadata(&office).unwrap();
    assert_eq!((meta.uid(), meta.gid(), meta.mode() & 0o7777), (0, 0, 0o770));
    let acl = common::run(
        "getfacl",
        &["--numeric", "--omit-header", &office.display().to_string()],
    );
    assert!(
        !acl.lines().any(|l| l.starts_with("user:") && !l.starts_with("user::")),
        "{acl}"
    );
    // what a client (here root, by hand) gives the share is not taken back by apply
    std::os::unix::fs::chown(&office, Some(sandbox_uid(&sb, "alice")), None).unwrap();
    sb.ok(&["apply"]);
    sb.ok(&["update", "winacl", "--comment", "x"]);
    sb.smbclient("winacl", Some(("alice", "Alice-pw1")), "mkdir sub")
        .expect("alice owns the share root now");
    assert!(office.join("sub").is_dir());
}

/// The refusal names the filesystem type it found.
fn message_names_ramfs(sb: &Sandbox, path: &str) -> bool {
    let r = sb.run(&["create", "office2", "--path", path, "--acl-mode", "windows"]);
    r.code == 1 && r.stderr.contains("(ramfs)")
}

/// A user's uid in the sandbox's own account files.
fn sandbox_uid(sb: &Sandbox, name: &str) -> u32 {
    let passwd = std::fs::read_to_string(sb.root.join("accounts/passwd")).unwrap();
    passwd
        .lines()
        .map(|l| l.split(':').collect::<Vec<_>>())
        .find(|f| f[0] == name)
        .and_then(|f| f[2].parse().ok())
        .unwrap_or_else(|| panic!("{name} not in\n{passwd}"))
}

/// Whether an smbcacls listing has an ACE allowing `who` full control (any flags).
fn grants_full(acl: &str, who: &str) -> bool {
    acl.lines().any(|l| {
        l.strip_prefix(&format!("ACL:{who}:ALLOWED/"))
            .is_some_and(|rest| rest.ends_with("/FULL"))
    })
}
