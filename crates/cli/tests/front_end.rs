//! What the CLI tells its caller besides the result: warnings on stderr and in JSON, and a
//! quiet exit when the reader of its output goes away (`list | head -1`).

mod common;

use std::os::unix::fs::PermissionsExt;
use std::process::Stdio;

use common::Sandbox;

#[test]
fn a_share_its_users_cannot_reach_is_created_with_a_warning() {
    let sb = Sandbox::new();
    let private = sb.dir.path().join("private");
    std::fs::create_dir(&private).unwrap();
    std::fs::set_permissions(&private, std::fs::Permissions::from_mode(0o700)).unwrap();
    let path = private.join("team");

    let run = sb.run(&["create", "team", "--path", path.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let expected = format!("warning: {} is not searchable by other users", private.display());
    assert!(run.stderr.contains(&expected), "{}", run.stderr);
    assert!(!run.stdout.contains("warning"), "warnings go to stderr: {}", run.stdout);
    assert!(path.is_dir(), "the share was created");

    // update warns as well, and JSON carries the warnings apart from the notes
    let run = sb.run(&["update", "team", "--comment", "x", "--output-format", "json"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let change: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let warnings = change["warnings"].as_array().expect("a warnings list");
    assert!(
        warnings
            .iter()
            .any(|w| w.as_str().unwrap().contains("is not searchable by other users")),
        "{change}"
    );
    assert!(change.get("notes").is_none(), "{change}");
    assert!(run.stderr.contains(&expected), "{}", run.stderr);

    // once the directory is open, no warning and no warnings key
    std::fs::set_permissions(&private, std::fs::Permissions::from_mode(0o711)).unwrap();
    let run = sb.run(&["update", "team", "--comment", "y", "--output-format", "json"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let change: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert!(change.get("warnings").is_none(), "{change}");
    assert!(!run.stderr.contains("warning"), "{}", run.stderr);
}

/// Run the CLI with its stdout a pipe whose reading end is already closed: every write fails
/// with EPIPE, as when `head -1` has gone.
fn run_into_closed_pipe(sb: &Sandbox, args: &[&str]) -> common::Run {
    let (read, write) = nix::unistd::pipe().unwrap();
    drop(read);
    let out = sb
        .command()
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::from(write))
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    common::Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::new(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[test]
fn a_closed_pipe_ends_the_cli_quietly() {
    let sb = Sandbox::new();
    let path = sb.data("pipe");
    sb.ok(&[
        "create",
        "x",
        "--path",
        path.to_str().unwrap(),
        "--comment",
        "closed pipe",
    ]);
    for args in [
        &["show", "x"][..],
        &["status"],
        &["list"],
        &["list", "--output-format", "json"],
        &["completion", "bash"],
        &["man"],
    ] {
        let run = run_into_closed_pipe(&sb, args);
        assert_eq!(run.code, 0, "{args:?}: {}", run.stderr);
        assert_eq!(run.stderr, "", "{args:?} wrote to stderr");
    }
}
