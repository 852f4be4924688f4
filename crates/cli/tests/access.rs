//! Access and identity that mean what they say, against a real smbd: shares never share a
//! directory tree, host entries are the addresses smbd compares, a deleted user's id is never
//! handed out again and its open sessions end, forced accounts exist and get the share's access.

mod common;

use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::process::{Child, Command, Stdio};

use common::Sandbox;

const ALICE: (&str, &str) = ("alice", "Alice-pw1");
const BOB: (&str, &str) = ("bob", "Bob-pw2");
const FRANK: (&str, &str) = ("frank", "Frank-pw1");
const GRACE: (&str, &str) = ("grace", "Grace-pw1");

/// The CLI must refuse with exit 1 and a message containing `says`, and change nothing.
fn refused(sb: &Sandbox, args: &[&str], says: &str) {
    let before = sb.snapshot();
    let run = sb.run(args);
    assert_eq!(run.code, 1, "{args:?}: {}{}", run.stdout, run.stderr);
    assert!(run.stderr.contains(says), "{args:?}: {}", run.stderr);
    assert!(sb.snapshot() == before, "{args:?} changed files");
}

fn add_user_in(sb: &Sandbox, (name, password): (&str, &str), groups: &str) {
    let r = sb.run_with_stdin(
        &["user", "add", name, "--password-stdin", "--groups", groups],
        format!("{password}\n").as_bytes(),
    );
    assert_eq!(r.code, 0, "user add {name}: {}{}", r.stdout, r.stderr);
}

/// The uid the sandbox's account file gives `name`.
fn uid_of(sb: &Sandbox, name: &str) -> Option<u32> {
    let passwd = std::fs::read_to_string(sb.root.join("accounts/passwd")).unwrap();
    passwd
        .lines()
        .map(|l| l.split(':').collect::<Vec<_>>())
        .find(|f| f[0] == name)
        .map(|f| f[2].parse().unwrap())
}

/// The problems `status` names for `share` (status exits 2 while any share has some).
fn problems(sb: &Sandbox, share: &str) -> Vec<String> {
    let run = sb.run(&["status", "--output-format", "json"]);
    assert!([0, 2].contains(&run.code), "status: {}{}", run.stdout, run.stderr);
    let status: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let entry = status["shares"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == share)
        .unwrap_or_else(|| panic!("{share} not in {status}"));
    serde_json::from_value(entry["problems"].clone()).unwrap()
}

#[test]
fn same_and_nested_paths_are_refused() {
    let sb = Sandbox::new();
    sb.add_user(ALICE.0, ALICE.1);
    let data = sb.data("team");
    let data_s = data.to_str().unwrap();
    sb.ok(&["create", "team", "--path", data_s, "--users", "alice"]);
    let inner = data.join("sub");
    let outer = sb.data("");
    let outer_s = outer.to_str().unwrap().trim_end_matches('/');
    for (path, says) in [
        (data_s, "is also the directory of share 'team'"),
        (inner.to_str().unwrap(), "lies inside"),
        (outer_s, "contains"),
    ] {
        refused(&sb, &["create", "other", "--path", path], says);
        refused(&sb, &["create", "other", "--path", path, "--read-only"], says);
    }
    assert!(!inner.exists(), "a refused share created its directory");
    // moving an unrelated share into the tree is refused just the same
    let apart = sb.data("apart");
    sb.ok(&["create", "apart", "--path", apart.to_str().unwrap()]);
    refused(
        &sb,
        &["update", "apart", "--path", inner.to_str().unwrap()],
        "lies inside",
    );
    assert!(problems(&sb, "apart").is_empty(), "{:?}", problems(&sb, "apart"));

    // a config written before the check (or by hand) keeps working, and status names the conflict
    let cfg = sb.root.join("config/shares.cfg");
    let mut text = std::fs::read_to_string(&cfg).unwrap();
    text.push_str(&format!("\nshare: twin\n\tmode native\n\tpath {data_s}\n"));
    std::fs::write(&cfg, text).unwrap();
    let twin = problems(&sb, "twin");
    assert!(
        twin.iter().any(|p| p.contains("is also the directory of share 'team'")),
        "{twin:?}"
    );
    assert!(problems(&sb, "team").iter().any(|p| p.contains("share 'twin'")));
    // and a change that keeps the path (e.g. dropping a quota that flips) stays possible
    sb.ok(&["update", "team", "--comment", "moving soon"]);
}

#[test]
fn host_entries_are_the_addresses_smbd_compares() {
    let sb = Sandbox::new();
    sb.add_user(ALICE.0, ALICE.1);
    let path = sb.data("data");
    sb.ok(&["create", "data", "--path", path.to_str().unwrap(), "--users", "alice"]);
    sb.smbclient("data", Some(ALICE), "ls").unwrap();
    // a name never matches with hostname lookups = no: refused, not stored
    refused(
        &sb,
        &["update", "data", "--hosts-deny", "localhost"],
        "hostname lookups = no",
    );
    refused(&sb, &["update", "data", "--hosts-allow", "LOCAL"], "keyword");
    refused(
        &sb,
        &[
            "update",
            "data",
            "--hosts-allow",
            "127.0.0.0/8",
            "--hosts-deny",
            "127.0.0.1",
        ],
        "no effect",
    );
    // '/08' would be read by smbd as an octal prefix and match nothing; stored as '/8' it denies
    sb.ok(&["update", "data", "--hosts-deny", "127.0.0.0/08"]);
    let show: serde_json::Value = serde_json::from_str(&sb.ok(&["show", "data", "--output-format", "json"])).unwrap();
    assert_eq!(show["hosts-deny"], serde_json::json!(["127.0.0.0/8"]), "{show}");
    let include = std::fs::read_to_string(sb.root.join("samba/shares.d/data.conf")).unwrap();
    assert!(include.contains("hosts deny = 127.0.0.0/8\n"), "{include}");
    let err = sb.smbclient("data", Some(ALICE), "ls").unwrap_err();
    assert!(err.contains("NT_STATUS_ACCESS_DENIED"), "{err}");
    // a single host, written as a /32 network
    sb.ok(&["update", "data", "--hosts-deny", "127.0.0.1/32"]);
    let include = std::fs::read_to_string(sb.root.join("samba/shares.d/data.conf")).unwrap();
    assert!(include.contains("hosts deny = 127.0.0.1\n"), "{include}");
    let err = sb.smbclient("data", Some(ALICE), "ls").unwrap_err();
    assert!(err.contains("NT_STATUS_ACCESS_DENIED"), "{err}");
    // and without the entry the same client is let in again
    sb.ok(&["update", "data", "--delete", "hosts-deny"]);
    sb.smbclient("data", Some(ALICE), "ls").unwrap();

    // a config of an earlier version naming a host still loads, status says why it never
    // matches, and the share's next update must fix it
    let cfg = sb.root.join("config/shares.cfg");
    let mut text = std::fs::read_to_string(&cfg).unwrap();
    let old = sb.data("old");
    std::fs::create_dir_all(&old).unwrap();
    text.push_str(&format!(
        "\nshare: old\n\tmode native\n\tpath {}\n\thosts-deny localhost\n",
        old.display()
    ));
    std::fs::write(&cfg, text).unwrap();
    let found = problems(&sb, "old");
    assert!(found.iter().any(|p| p.contains("hostname lookups = no")), "{found:?}");
    refused(&sb, &["update", "old", "--comment", "x"], "hostname lookups = no");
    sb.ok(&["update", "old", "--hosts-deny", "127.0.0.1"]);
    assert!(problems(&sb, "old").is_empty(), "{:?}", problems(&sb, "old"));
}

/// An interactive smbclient session, fed commands through its stdin.
struct Session {
    child: Child,
    output: std::sync::mpsc::Receiver<String>,
}

impl Session {
    fn open(sb: &Sandbox, share: &str, (user, password): (&str, &str)) -> Session {
        let creds = sb.write_local(
            &format!("creds.session.{user}"),
            format!("username = {user}\npassword = {password}\n").as_bytes(),
        );
        let mut child = Command::new("smbclient")
            .arg(format!("//127.0.0.1/{share}"))
            .args(["-p", &sb.port.to_string(), "-A"])
            .arg(&creds)
            .current_dir(sb.dir.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // smbclient reports successes on stdout and failures on stderr: one stream of lines
        let output = common::output_lines(&mut child);
        Session { child, output }
    }

    /// `put` in the open session; returns smbclient's report of it, done or failed.
    fn put(&mut self, local: &std::path::Path, remote: &str) -> String {
        let stdin = self.child.stdin.as_mut().unwrap();
        writeln!(stdin, "put {} {remote}", local.display()).unwrap();
        stdin.flush().unwrap();
        // smbclient reports every put, done or failed, on one line naming the remote file
        loop {
            // a bound on a hung smbclient only, not a measurement
            let line = self
                .output
                .recv_timeout(std::time::Duration::from_secs(120))
                .expect("smbclient ended or hung without reporting the put");
            if line.contains(remote) {
                return line;
            }
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn deleted_users_lose_their_sessions_and_their_ids_stay_theirs() {
    let sb = Sandbox::new();
    add_user_in(&sb, FRANK, "team");
    let path = sb.data("data");
    sb.ok(&["create", "data", "--path", path.to_str().unwrap(), "--groups", "team"]);
    let frank_uid = uid_of(&sb, "frank").unwrap();

    // frank's session stays open while he is deleted
    let local = sb.write_local("report.txt", b"frank's numbers\n");
    let mut session = Session::open(&sb, "data", FRANK);
    let line = session.put(&local, "before.txt");
    assert!(line.starts_with("putting file"), "{line}");
    assert_eq!(std::fs::metadata(path.join("before.txt")).unwrap().uid(), frank_uid);
    sb.ok(&["user", "delete", "frank"]);
    let line = session.put(&local, "after.txt");
    assert!(
        line.contains("NT_STATUS_"),
        "the deleted user's session kept working: {line}"
    );
    assert!(!path.join("after.txt").exists(), "a deleted user wrote a file");
    drop(session);
    let err = sb.smbclient("data", Some(FRANK), "ls").unwrap_err();
    assert!(err.contains("NT_STATUS_LOGON_FAILURE"), "{err}");

    // grace is new: she gets an id of her own, not frank's, and frank's file stays his
    sb.add_user(GRACE.0, GRACE.1);
    let grace_uid = uid_of(&sb, "grace").unwrap();
    assert_ne!(grace_uid, frank_uid, "grace was given the uid of deleted frank");
    sb.ok(&["update", "data", "--users", "grace"]);
    sb.smbclient("data", Some(GRACE), "ls").unwrap();
    // the share's ACL lets its users at every file (see acl.rs); ownership stays frank's, and
    // a reused uid would have made grace the owner of his files
    let owner = std::fs::metadata(path.join("before.txt")).unwrap().uid();
    assert_eq!(owner, frank_uid);
    assert_ne!(owner, grace_uid, "grace owns the deleted frank's file");
    // nor does a group made later take frank's gid
    add_user_in(&sb, ("henry", "Henry-pw1"), "later");
    let group = std::fs::read_to_string(sb.root.join("accounts/group")).unwrap();
    let later_gid: u32 = group
        .lines()
        .find(|l| l.starts_with("later:"))
        .and_then(|l| l.split(':').nth(2))
        .unwrap()
        .parse()
        .unwrap();
    assert_ne!(later_gid, frank_uid, "{group}");
    // a new user named like an existing group would share its name with another id
    let r = sb.run_with_stdin(&["user", "add", "later", "--password-stdin"], b"Later-pw1\n");
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("a group named 'later' exists"), "{}", r.stderr);
    assert!(uid_of(&sb, "henry").unwrap() > grace_uid);
}

#[test]
fn forced_accounts_exist_and_belong_to_the_share() {
    let sb = Sandbox::new();
    sb.add_user(ALICE.0, ALICE.1);
    add_user_in(&sb, BOB, "team");
    let path = sb.data("data");
    let path_s = path.to_str().unwrap();
    let create = |extra: &[&str]| -> Vec<String> {
        ["create", "data", "--path", path_s]
            .iter()
            .chain(extra)
            .map(|s| s.to_string())
            .collect()
    };
    let refuse = |extra: &[&str], says: &str| {
        let args = create(extra);
        refused(&sb, &args.iter().map(String::as_str).collect::<Vec<_>>(), says);
    };
    refuse(
        &["--users", "alice", "--option", "force user=nosuchuser"],
        "not a Samba user",
    );
    refuse(&["--option", "force user=nosuchuser"], "not a Samba user");
    refuse(&["--option", "force user=nobody"], "system account (uid 65534)");
    refuse(
        &["--users", "alice", "--option", "force user=bob"],
        "not one of the share's users",
    );
    refuse(
        &["--users", "alice", "--option", "force group=nosuchgroup"],
        "does not exist",
    );
    refuse(&["--users", "alice", "--option", "force group=nogroup"], "system group");
    refuse(&["--groups", "root"], "system group");
    refuse(&["--groups", "nogroup"], "system group");
    assert!(!path.exists());

    // a forced user among the share's users: alice's files are bob's, in bob's group team
    sb.ok(&[
        "create",
        "data",
        "--path",
        path_s,
        "--users",
        "alice,bob",
        "--option",
        "force user=bob,force group=team",
    ]);
    let local = sb.write_local("in.txt", b"written by alice as bob\n");
    sb.smbclient("data", Some(ALICE), &format!("put {} f.txt", local.display()))
        .unwrap();
    let meta = std::fs::metadata(path.join("f.txt")).unwrap();
    assert_eq!(meta.uid(), uid_of(&sb, "bob").unwrap());
    let group = std::fs::read_to_string(sb.root.join("accounts/group")).unwrap();
    let team = group.lines().find(|l| l.starts_with("team:")).unwrap();
    assert_eq!(meta.gid().to_string(), team.split(':').nth(2).unwrap());
    // bob cannot be dropped from the share's users while the share forces him
    refused(
        &sb,
        &["update", "data", "--users", "alice"],
        "not one of the share's users",
    );
    sb.ok(&["update", "data", "--option", "force user=", "--users", "alice"]);
    // a share open to every Samba user may force any of them, who then cannot be deleted
    let open = sb.data("open");
    sb.ok(&[
        "create",
        "open",
        "--path",
        open.to_str().unwrap(),
        "--option",
        "force user=bob",
    ]);
    refused(
        &sb,
        &["user", "delete", "bob"],
        "forced user ('force user') of share(s) open",
    );
    sb.ok(&["update", "open", "--option", "force user="]);
    sb.ok(&["user", "delete", "bob"]);
}

#[test]
fn a_user_delete_that_cannot_end_the_sessions_says_the_user_is_gone() {
    let sb = Sandbox::new();
    sb.add_user(FRANK.0, FRANK.1);
    sb.ok(&["create", "data", "--path", sb.data("data").to_str().unwrap()]);
    // an smbstatus that fails, first on PATH for this one run
    let bin = sb.dir.path().join("broken-bin");
    std::fs::create_dir(&bin).unwrap();
    let fake = bin.join("smbstatus");
    std::fs::write(&fake, "#!/bin/sh\necho 'smbstatus: broken on purpose' >&2\nexit 1\n").unwrap();
    std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    let out = sb
        .command()
        .env("PATH", path)
        .args(["user", "delete", "frank"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("broken on purpose"), "{stderr}");
    // no claim of a clean rollback: frank is gone, and the message says so
    assert!(!stderr.contains("nothing was changed"), "{stderr}");
    assert!(stderr.contains("user 'frank' stays deleted"), "{stderr}");
    assert!(!sb.ok(&["user", "list"]).contains("frank"));
}
