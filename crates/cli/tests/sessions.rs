//! `sessions` against a real smbd with real clients: smbclient sessions that hold a file open
//! are listed with their user, share and open file; `--disconnect` ends exactly the session
//! asked for (its client's next command fails, another client carries on); bad input changes
//! nothing.

mod common;

use std::io::Write;
use std::process::{Child, Command, Stdio};

use common::Sandbox;
use serde_json::Value;

const ALICE: (&str, &str) = ("alice", "Alice-pw1");
const BOB: (&str, &str) = ("bob", "Bob-pw2");

/// An interactive smbclient, fed commands through its stdin: its connection (one session)
/// stays open between commands, as a user's desktop client does.
struct Client {
    child: Child,
    output: std::sync::mpsc::Receiver<String>,
}

impl Client {
    fn connect(sb: &Sandbox, share: &str, (user, password): (&str, &str)) -> Client {
        let creds = sb.write_local(
            &format!("creds.client.{user}"),
            format!("username = {user}\npassword = {password}\n").as_bytes(),
        );
        // smbclient's stdout is block-buffered into a pipe: line-buffered, each report
        // arrives as it is printed
        let mut child = Command::new("stdbuf")
            .args(["-oL", "smbclient"])
            .arg(format!("//127.0.0.1/{share}"))
            .args(["-p", &sb.port.to_string(), "-m", "SMB3", "-A"])
            .arg(&creds)
            .current_dir(sb.dir.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // smbclient reports successes on stdout and failures on stderr: one stream of lines
        let output = common::output_lines(&mut child);
        Client { child, output }
    }

    /// Run `command`; returns the lines smbclient printed up to the one `done` accepts (or
    /// up to a failure, which names an NT_STATUS).
    fn run(&mut self, command: &str, done: impl Fn(&str) -> bool) -> String {
        let stdin = self.child.stdin.as_mut().unwrap();
        writeln!(stdin, "{command}").unwrap();
        stdin.flush().unwrap();
        let mut lines = Vec::new();
        loop {
            // a bound on a hung smbclient only, not a measurement
            let line = self
                .output
                .recv_timeout(std::time::Duration::from_secs(60))
                .unwrap_or_else(|_| panic!("smbclient ended or hung after '{command}': {lines:?}"));
            let end = done(&line) || line.contains("NT_STATUS_");
            lines.push(line);
            if end {
                return lines.join("\n");
            }
        }
    }

    /// Open `file` for reading and writing and keep it open; returns smbclient's report.
    fn open(&mut self, file: &str) -> String {
        self.run(&format!("open {file}"), |l| l.contains("fnum"))
    }

    fn ls(&mut self) -> String {
        self.run("ls", |l| l.contains("blocks of size"))
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn sessions(sb: &Sandbox, args: &[&str]) -> Value {
    let mut all = vec!["sessions", "--output-format", "json"];
    all.extend(args);
    serde_json::from_str(&sb.ok(&all)).unwrap()
}

/// The session of `user` in a `sessions` report.
fn session_of<'a>(report: &'a Value, user: &str) -> Option<&'a Value> {
    report["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["user"] == user)
}

fn share_of<'a>(report: &'a Value, name: &str) -> &'a Value {
    let shares = report["shares"].as_array().unwrap();
    shares
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("{name} not in {report}"))
}

/// A refusal: exit 1, the error names `field`, and smbd's sessions are as before.
fn refused(sb: &Sandbox, args: &[&str], field: &str) {
    let before = sessions(sb, &[])["sessions"].clone();
    let mut all = args.to_vec();
    all.extend(["--output-format", "json"]);
    let run = sb.run(&all);
    assert_eq!(run.code, 1, "{args:?}: {}{}", run.stdout, run.stderr);
    let err: Value = serde_json::from_str(run.stderr.trim()).unwrap();
    assert_eq!(err["field"], field, "{args:?}: {err}");
    assert_eq!(sessions(sb, &[])["sessions"], before, "{args:?} changed the sessions");
}

#[test]
fn sessions_show_who_holds_what_and_disconnect_ends_exactly_one() {
    let sb = Sandbox::new();
    sb.add_user(ALICE.0, ALICE.1);
    sb.add_user(BOB.0, BOB.1);
    let team = sb.data("team");
    let other = sb.data("other");
    sb.ok(&[
        "create",
        "team",
        "--path",
        team.to_str().unwrap(),
        "--users",
        "alice,bob",
    ]);
    sb.ok(&["create", "other", "--path", other.to_str().unwrap(), "--users", "bob"]);
    std::fs::write(team.join("plan.txt"), b"the plan\n").unwrap();

    // nobody connected yet
    let idle = sessions(&sb, &[]);
    assert_eq!(idle["sessions"], serde_json::json!([]), "{idle}");
    assert_eq!(share_of(&idle, "team")["open_files"], serde_json::json!([]));

    // alice holds a file open on team; bob is connected to other
    let mut alice = Client::connect(&sb, "team", ALICE);
    let opened = alice.open("plan.txt");
    assert!(opened.contains("for read/write fnum"), "{opened}");
    let mut bob = Client::connect(&sb, "other", BOB);
    assert!(bob.ls().contains("blocks of size"));

    let report = sessions(&sb, &[]);
    let a = session_of(&report, "alice").unwrap_or_else(|| panic!("alice not listed: {report}"));
    assert_eq!(a["shares"], serde_json::json!(["team"]), "{report}");
    assert_eq!(a["open_files"], 1, "{report}");
    assert_eq!(a["client"], "127.0.0.1");
    assert!(a["protocol"].as_str().unwrap().starts_with("SMB3"), "{a}");
    let a_id = a["id"].as_str().unwrap().to_string();
    let b = session_of(&report, "bob").unwrap_or_else(|| panic!("bob not listed: {report}"));
    assert_eq!(b["shares"], serde_json::json!(["other"]));
    assert_ne!(a["pid"], b["pid"], "each client connection has its own smbd process");
    let t = share_of(&report, "team");
    assert_eq!(t["connections"][0]["user"], "alice", "{t}");
    assert_eq!(t["open_files"].as_array().unwrap().len(), 1, "{t}");
    assert_eq!(t["open_files"][0]["file"], "plan.txt");
    assert_eq!(t["open_files"][0]["session"], a_id.as_str());
    assert_eq!(t["open_files"][0]["access"], "RW");
    assert_eq!(share_of(&report, "other")["open_files"], serde_json::json!([]));

    // one share: only the sessions using it
    let only = sessions(&sb, &["other"]);
    let users: Vec<&Value> = only["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| &s["user"])
        .collect();
    assert_eq!(users, ["bob"], "{only}");
    assert_eq!(only["shares"].as_array().unwrap().len(), 1);

    // the text output names the user, the share and the file
    let text = sb.ok(&["sessions", "team"]);
    assert!(
        text.contains("alice") && text.contains("plan.txt") && !text.contains("bob"),
        "{text}"
    );

    // bad input: an unmanaged share, a malformed or unknown session id
    refused(&sb, &["sessions", "IPC$"], "name");
    refused(&sb, &["sessions", "nosuchshare"], "name");
    refused(&sb, &["sessions", "--disconnect", "12x"], "session");
    refused(&sb, &["sessions", "--disconnect", "0"], "session");
    refused(&sb, &["sessions", "--disconnect", "4294967296"], "session");
    refused(&sb, &["sessions", "team", "--disconnect", &a_id], "name");
    let unknown = if a_id == "4242" { "4243" } else { "4242" };
    refused(&sb, &["sessions", "--disconnect", unknown], "session");
    // a dry run plans and changes nothing
    let plan = sb.ok(&["sessions", "--disconnect", &a_id, "--dry-run"]);
    assert!(plan.contains(&format!("end SMB session {a_id} of 'alice'")), "{plan}");
    assert!(session_of(&sessions(&sb, &[]), "alice").is_some());
    assert!(
        alice.ls().contains("plan.txt"),
        "alice's session no longer works after a dry run"
    );

    // the disconnect: alice's session ends, her client's next command fails; bob carries on
    let done = sb.ok(&["sessions", "--disconnect", &a_id]);
    assert!(done.contains(&format!("done: end SMB session {a_id}")), "{done}");
    let after = sessions(&sb, &[]);
    assert!(session_of(&after, "alice").is_none(), "alice still listed: {after}");
    assert_eq!(share_of(&after, "team")["open_files"], serde_json::json!([]), "{after}");
    assert_eq!(
        share_of(&after, "team")["connections"],
        serde_json::json!([]),
        "{after}"
    );
    let failed = alice.ls();
    assert!(failed.contains("NT_STATUS_"), "alice's client still works: {failed}");
    assert!(session_of(&after, "bob").is_some(), "bob's session ended too: {after}");
    assert!(bob.ls().contains("blocks of size"), "bob's client was cut off");
    // the same id again: it is gone
    refused(&sb, &["sessions", "--disconnect", &a_id], "session");
}
