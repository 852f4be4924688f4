//! Active Directory for real: a Samba AD DC and the gateway as a domain member, each in its own
//! network namespace (common/ad_lab.rs). One scenario, because a domain takes seconds to make:
//! preflight, a refused join that changes nothing, the join, domain users and groups on shares,
//! fallback to local users while the DC is down, and leaving.

#[path = "common/ad_lab.rs"]
mod ad_lab;
mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ad_lab::{carriers, AdLab, ADMIN_PASSWORD, DOMAIN, WORKGROUP};
use common::Sandbox;

const BOB: (&str, &str) = ("bob", "B0b!Local-pw");
const ALICE: (&str, &str) = ("EXAMPLE\\alice", "Al1ce!Passw0rd");
const CAROL: (&str, &str) = ("EXAMPLE\\carol", "Car0l!Passw0rd");

/// Watches every process's argv and environment while it lives; true if `secret` showed up.
struct SecretWatch {
    stop: Arc<AtomicBool>,
    seen: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl SecretWatch {
    /// Processes that already carry `secret` when the watch starts are the test's own (the DC's
    /// provisioning); they are named and then left out.
    fn start(secret: &str) -> SecretWatch {
        let (stop, seen) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicBool::new(false)));
        let secret = secret.as_bytes().to_vec();
        let before = carriers(&secret);
        for (pid, comm) in &before {
            eprintln!("note: {comm} (pid {pid}) carried the secret before the watch started");
        }
        let (s, f) = (stop.clone(), seen.clone());
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                for (pid, comm) in carriers(&secret) {
                    if !before.iter().any(|(p, _)| *p == pid) {
                        eprintln!("secret seen in the argv or environment of {comm} (pid {pid})");
                        f.store(true, Ordering::Relaxed);
                    }
                }
            }
        });
        SecretWatch {
            stop,
            seen,
            thread: Some(thread),
        }
    }

    fn finish(mut self) -> bool {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.take().unwrap().join().unwrap();
        self.seen.load(Ordering::Relaxed)
    }
}

fn member_sandbox(lab: &AdLab) -> Sandbox {
    let mut sb = Sandbox::new();
    sb.wrapper = lab.member.prefix();
    sb.port = 445;
    sb.env.push(("PVE_SMBGW_BIND".into(), lab.member.addr.clone()));
    sb
}

/// `ad-status --check` until the domain is seen `online` (winbind reconnects on its own time).
fn wait_domain_state(sb: &Sandbox, online: bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let r = sb.run(&["ad-status", "--check", "--output-format", "json"]);
        let status: serde_json::Value = serde_json::from_str(&r.stdout).unwrap_or_default();
        if status["online"] == online {
            return r.stdout;
        }
        assert!(
            Instant::now() < deadline,
            "domain never became online={online}: {}{}",
            r.stdout,
            r.stderr
        );
        std::thread::sleep(Duration::from_secs(2));
    }
}

#[test]
fn active_directory_member() {
    let host_keytab = std::path::Path::new("/etc/krb5.keytab").exists();
    let mut lab = AdLab::start();
    let sb = member_sandbox(&lab);
    sb.add_user(BOB.0, BOB.1);
    let data = |name: &str| sb.data(name).display().to_string();
    std::fs::create_dir_all(sb.data("")).unwrap();
    sb.ok(&["create", "local", "--path", &data("local"), "--users", "bob"]);
    let standalone_conf = std::fs::read_to_string(sb.root.join("samba/smb.conf")).unwrap();

    // -- preflight: a good domain passes, broken preconditions are each named with a fix
    let r = sb.run(&["ad-test", "--domain", DOMAIN]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout
            .contains("[ ok ] DNS SRV record: _ldap._tcp.dc._msdcs.example.test: dc1.example.test"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("[ ok ] clock"), "{}", r.stdout);
    let r = sb.run(&["ad-test", "--domain", "wrong.test"]);
    assert_eq!(r.code, 3, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout
            .contains("[FAIL] DNS SRV record: no SRV record _ldap._tcp.dc._msdcs.wrong.test"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("fix: check the domain name"), "{}", r.stdout);
    let unreachable = format!("{}.77", lab.member.addr.rsplit_once('.').unwrap().0);
    let r = sb.run(&["ad-test", "--domain", DOMAIN, "--dc", &unreachable]);
    assert_eq!(r.code, 3, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("[FAIL] LDAP port"), "{}", r.stdout);
    let r = sb.run_with_stdin(
        &[
            "ad-test",
            "--domain",
            DOMAIN,
            "--user",
            "Administrator",
            "--password-stdin",
        ],
        b"wrong\n",
    );
    assert_eq!(r.code, 3, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("[FAIL] credentials"), "{}", r.stdout);

    // -- a wrong password: a clear error, nothing changed, no password in any argv
    let before = sb.snapshot();
    let watch = SecretWatch::start("Wr0ng!Secret");
    let r = sb.run_with_stdin(&["ad-join", "--domain", DOMAIN, "--password-stdin"], b"Wr0ng!Secret\n");
    assert!(
        !watch.finish(),
        "the password showed up in a process's argv or environment"
    );
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains("refused the credentials of 'Administrator'"),
        "{}",
        r.stderr
    );
    assert_eq!(sb.snapshot(), before, "a refused join changed files");
    assert!(!sb.root.join("state/ad.json").exists());
    assert!(!sb.root.join("samba/krb5.conf").exists());

    // -- the join, into an OU of its own
    lab.samba_tool(&["ou", "create", "OU=Servers,DC=example,DC=test"]);
    let watch = SecretWatch::start(ADMIN_PASSWORD);
    let started = Instant::now();
    let r = sb.run_with_stdin(
        &["ad-join", "--domain", DOMAIN, "--ou", "Servers", "--password-stdin"],
        format!("{ADMIN_PASSWORD}\n").as_bytes(),
    );
    let join_time = started.elapsed();
    assert!(
        !watch.finish(),
        "the admin password showed up in a process's argv or environment"
    );
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    eprintln!("ad-join took {:.2} s", join_time.as_secs_f64());
    let status: serde_json::Value =
        serde_json::from_str(&sb.ok(&["ad-status", "--check", "--output-format", "json"])).unwrap();
    assert_eq!(status["joined"], true, "{status}");
    assert_eq!(status["online"], true, "{status}");
    assert_eq!(status["workgroup"], WORKGROUP, "{status}");
    assert_eq!(status["netbios-name"], "MEM1", "{status}");
    assert_eq!(status["winbind-running"], true, "{status}");
    assert_eq!(status["keytab-present"], true, "{status}");
    let computer = lab.samba_tool(&["computer", "show", "MEM1"]);
    assert!(
        computer.contains("CN=MEM1,OU=Servers,DC=example,DC=test"),
        "the computer account is not in the OU: {computer}"
    );
    let r = sb.run_with_stdin(
        &["ad-join", "--domain", DOMAIN, "--password-stdin"],
        format!("{ADMIN_PASSWORD}\n").as_bytes(),
    );
    assert_eq!(r.code, 1, "a second join must be refused: {}{}", r.stdout, r.stderr);
    let bench = std::env::var_os("SMBGW_AD_BENCH").map(|out| Bench::measure_member(&sb, &lab, out.into(), join_time));

    // -- domain accounts on shares: they must exist, with the right kind
    let r = sb.run(&["create", "x", "--path", &data("x"), "--users", "EXAMPLE\\nosuch"]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("does not exist in example.test"), "{}", r.stderr);
    let r = sb.run(&["create", "x", "--path", &data("x"), "--users", "EXAMPLE\\shareusers"]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("is a group"), "{}", r.stderr);
    let r = sb.run(&["create", "x", "--path", &data("x"), "--users", "OTHER\\alice"]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);

    // a domain group grants access: alice (a member) writes with Kerberos, reads back with NTLM
    sb.ok(&[
        "create",
        "grp",
        "--path",
        &data("grp"),
        "--groups",
        "EXAMPLE\\shareusers",
    ]);
    let hello = lab.path("hello.txt");
    std::fs::write(&hello, b"hello from the domain\n").unwrap();
    let put = format!("put {} hello.txt", hello.display());
    lab.smbclient("grp", ALICE.0, ALICE.1, true, &put)
        .expect("alice writes with Kerberos");
    let back = lab.path("hello.back");
    lab.smbclient(
        "grp",
        ALICE.0,
        ALICE.1,
        false,
        &format!("get hello.txt {}", back.display()),
    )
    .expect("alice reads with NTLM");
    assert_eq!(std::fs::read(&back).unwrap(), b"hello from the domain\n");
    let owner = std::os::unix::fs::MetadataExt::uid(&std::fs::metadata(sb.data("grp").join("hello.txt")).unwrap());
    assert!(
        (3_000_000..6_000_000).contains(&owner),
        "file owned by uid {owner}, not a domain id"
    );
    let denied = lab.smbclient("grp", CAROL.0, CAROL.1, false, "ls").unwrap_err();
    assert!(
        denied.contains("NT_STATUS_ACCESS_DENIED"),
        "carol is not in shareusers: {denied}"
    );

    // -- fallback: local bob only while the domain is unreachable
    sb.ok(&[
        "create",
        "team",
        "--path",
        &data("team"),
        "--users",
        "EXAMPLE\\carol,bob",
        "--fallback-local",
        "1",
    ]);
    let bob = (format!("MEM1\\{}", BOB.0), BOB.1);
    lab.smbclient("team", CAROL.0, CAROL.1, false, "ls")
        .expect("carol is a user of team");
    let refused = lab.smbclient("team", &bob.0, bob.1, false, "ls").unwrap_err();
    assert!(
        refused.contains("NT_STATUS_ACCESS_DENIED"),
        "bob is only a fallback: {refused}"
    );
    lab.smbclient("local", &bob.0, bob.1, false, "ls")
        .expect("bob keeps his own share");

    lab.stop_dc();
    let status = wait_domain_state(&sb, false);
    assert!(status.contains("unreachable"), "{status}");
    let alerts = std::fs::read_to_string(sb.root.join("log/alerts.log")).unwrap();
    assert!(alerts.contains("domain example.test is unreachable"), "{alerts}");
    let text = sb.ok(&["ad-status"]);
    assert!(text.contains("OFFLINE"), "{text}");
    lab.smbclient("team", &bob.0, bob.1, false, &put)
        .expect("bob is let in while the domain is down");
    assert!(sb.data("team").join("hello.txt").exists());

    lab.start_dc();
    wait_domain_state(&sb, true);
    let alerts = std::fs::read_to_string(sb.root.join("log/alerts.log")).unwrap();
    assert!(alerts.contains("domain example.test is reachable again"), "{alerts}");
    let refused = lab.smbclient("team", &bob.0, bob.1, false, "ls").unwrap_err();
    assert!(
        refused.contains("NT_STATUS_ACCESS_DENIED"),
        "bob is a fallback again: {refused}"
    );

    // -- leaving: refused while shares name domain accounts, then back to the standalone config
    let r = sb.run_with_stdin(
        &["ad-leave", "--password-stdin"],
        format!("{ADMIN_PASSWORD}\n").as_bytes(),
    );
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("grp, team"), "{}", r.stderr);
    sb.ok(&["delete", "grp"]);
    sb.ok(&["delete", "team"]);
    let r = sb.run_with_stdin(
        &["ad-leave", "--password-stdin"],
        format!("{ADMIN_PASSWORD}\n").as_bytes(),
    );
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert_eq!(
        std::fs::read_to_string(sb.root.join("samba/smb.conf")).unwrap(),
        standalone_conf
    );
    assert!(!sb.root.join("state/ad.json").exists());
    assert!(!sb.root.join("samba/krb5.conf").exists());
    let status: serde_json::Value = serde_json::from_str(&sb.ok(&["ad-status", "--output-format", "json"])).unwrap();
    assert_eq!(status["joined"], false);
    assert_eq!(status["winbind-running"], false);
    // the computer account is gone from the domain
    let (_, out) = lab.dc.run(
        "samba-tool",
        &[
            "computer",
            "list",
            "-s",
            &lab.path("dc/etc/smb.conf").display().to_string(),
        ],
    );
    assert!(!out.to_ascii_uppercase().contains("MEM1$"), "{out}");
    lab.smbclient("local", &bob.0, bob.1, false, "ls")
        .expect("bob still works after leaving");
    if let Some(bench) = bench {
        bench.join_by_hand(&sb, &lab);
    }

    assert_eq!(
        std::path::Path::new("/etc/krb5.keytab").exists(),
        host_keytab,
        "the sandbox wrote the host's keytab"
    );
}

/// `make bench` (SMBGW_AD_BENCH=FILE): the join and `ad-status` beside the same work done by
/// hand with Samba's tools, in this lab. Lines of `label|ours ms ...|baseline ms ...`.
struct Bench {
    out: std::path::PathBuf,
    join_ms: f64,
    member_conf: String,
    krb5_conf: String,
}

fn ms(f: impl FnOnce()) -> f64 {
    let t = Instant::now();
    f();
    t.elapsed().as_secs_f64() * 1000.0
}

impl Bench {
    fn measure_member(sb: &Sandbox, lab: &AdLab, out: std::path::PathBuf, join: Duration) -> Bench {
        let runs = 7;
        let join_samba = |args: &[&str]| {
            let mut cmd = lab.member.command(args[0]);
            cmd.args(&args[1..]).envs(sandbox_env(sb));
            assert!(cmd.output().unwrap().status.success(), "{args:?}");
        };
        let (mut status, mut status_base, mut check, mut check_base) = (vec![], vec![], vec![], vec![]);
        let ad_json = sb.root.join("state/ad.json");
        for _ in 0..runs {
            status.push(ms(|| {
                sb.ok(&["ad-status"]);
            }));
            status_base.push(ms(|| {
                let _ = std::fs::read(&ad_json).unwrap();
                let _ = lab.member.command("pidof").arg("winbindd").output().unwrap();
            }));
            check.push(ms(|| {
                sb.ok(&["ad-status", "--check"]);
            }));
            check_base.push(ms(|| {
                join_samba(&["wbinfo", "--ping-dc"]);
                join_samba(&[
                    "net",
                    "ads",
                    "testjoin",
                    "-s",
                    &sb.root.join("samba/smb.conf").display().to_string(),
                ]);
            }));
        }
        let list = |v: &[f64]| v.iter().map(|x| format!("{x:.1}")).collect::<Vec<_>>().join(" ");
        let text = format!(
            "ad-status (recorded state)|{}|{}\nad-status --check (DC asked now)|{}|{}\n",
            list(&status),
            list(&status_base),
            list(&check),
            list(&check_base)
        );
        std::fs::write(&out, text).unwrap();
        Bench {
            out,
            join_ms: join.as_secs_f64() * 1000.0,
            member_conf: std::fs::read_to_string(sb.root.join("samba/smb.conf")).unwrap(),
            krb5_conf: std::fs::read_to_string(sb.root.join("samba/krb5.conf")).unwrap(),
        }
    }

    /// The join by hand, after our leave: the same smb.conf and krb5.conf, `net ads join`,
    /// winbindd, `wbinfo -t` until it answers; then undone again.
    fn join_by_hand(self, sb: &Sandbox, lab: &AdLab) {
        let conf = lab.path("hand-smb.conf");
        std::fs::write(&conf, &self.member_conf).unwrap();
        std::fs::write(sb.root.join("samba/krb5.conf"), &self.krb5_conf).unwrap();
        let conf = conf.display().to_string();
        let run = |args: &[&str], stdin: Option<&str>| {
            let mut cmd = lab.member.command(args[0]);
            cmd.args(&args[1..])
                .envs(sandbox_env(sb))
                .stdout(std::process::Stdio::null());
            if stdin.is_some() {
                cmd.env("PASSWD_FD", "0").stdin(std::process::Stdio::piped());
            }
            let mut child = cmd.spawn().unwrap();
            if let Some(text) = stdin {
                use std::io::Write;
                child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
            }
            child.wait().unwrap().success()
        };
        let password = format!("{ADMIN_PASSWORD}\n");
        let hand = ms(|| {
            assert!(run(
                &["net", "ads", "join", "-s", &conf, "-U", "Administrator"],
                Some(&password)
            ));
            assert!(run(&["winbindd", "-D", "-s", &conf], None));
            let deadline = Instant::now() + Duration::from_secs(60);
            while !run(&["wbinfo", "-t"], None) {
                assert!(Instant::now() < deadline, "winbind never trusted the domain");
                std::thread::sleep(Duration::from_millis(100));
            }
        });
        sb.run(&["stop"]);
        run(
            &["net", "ads", "leave", "-s", &conf, "-U", "Administrator"],
            Some(&password),
        );
        let _ = std::fs::remove_file(sb.root.join("samba/krb5.conf"));
        let mut text = std::fs::read_to_string(&self.out).unwrap();
        text.push_str(&format!(
            "ad-join until winbind trusts the domain|{:.1}|{hand:.1}\n",
            self.join_ms
        ));
        std::fs::write(&self.out, text).unwrap();
    }
}

/// The environment the gateway gives Samba's tools in this sandbox (crates/samba/src/lib.rs).
fn sandbox_env(sb: &Sandbox) -> Vec<(String, String)> {
    let samba = sb.root.join("samba");
    let p = |x: std::path::PathBuf| x.display().to_string();
    vec![
        (
            "LD_PRELOAD".into(),
            "/usr/lib/x86_64-linux-gnu/libnss_wrapper.so".into(),
        ),
        ("NSS_WRAPPER_PASSWD".into(), p(sb.root.join("accounts/passwd"))),
        ("NSS_WRAPPER_GROUP".into(), p(sb.root.join("accounts/group"))),
        (
            "NSS_WRAPPER_MODULE_SO_PATH".into(),
            "/lib/x86_64-linux-gnu/libnss_winbind.so.2".into(),
        ),
        ("NSS_WRAPPER_MODULE_FN_PREFIX".into(), "winbind".into()),
        ("KRB5_CONFIG".into(), p(samba.join("krb5.conf"))),
        (
            "KRB5_KTNAME".into(),
            format!("FILE:{}", p(samba.join("private/krb5.keytab"))),
        ),
        ("SELFTEST_WINBINDD_SOCKET_DIR".into(), p(samba.join("winbindd"))),
    ]
}
