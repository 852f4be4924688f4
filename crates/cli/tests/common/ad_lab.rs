//! A real Active Directory on this machine: a Samba AD DC and a member host, each in its own
//! network, mount and UTS namespace, joined by a veth pair (nothing reaches the root netns).
//! The member's resolver points at the DC, as on a real domain member. Based on
//! ../shared/recipes/platform/06-ad-dc-join-netns.sh, including its traps: the host smb.conf is
//! hidden from `provision`, its `dns forwarder` line is dropped, and each host has its own
//! /run/samba.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const REALM: &str = "EXAMPLE.TEST";
pub const DOMAIN: &str = "example.test";
pub const WORKGROUP: &str = "EXAMPLE";
pub const ADMIN_PASSWORD: &str = "Passw0rd!Adm1n";
const PATH: &str = "PATH=/usr/sbin:/usr/bin:/sbin:/bin";

/// A "host": a process holding a network, mount and UTS namespace; commands enter all three.
pub struct Host {
    pub addr: String,
    holder: Child,
}

impl Host {
    fn start(netns: &str, hostname: &str, addr: &str, binds: &[(PathBuf, &str)]) -> Host {
        let mut script = format!("hostname {hostname}\n");
        for (source, target) in binds {
            script.push_str(&format!("mount --bind '{}' {target}\n", source.display()));
        }
        script.push_str("mount -t tmpfs -o mode=755 tmpfs /run/samba\nexec sleep infinity\n");
        let holder = Command::new("ip")
            .args([
                "netns",
                "exec",
                netns,
                "unshare",
                "-m",
                "-u",
                "--propagation",
                "private",
                "sh",
                "-ec",
                &script,
            ])
            .spawn()
            .unwrap();
        let host = Host {
            addr: addr.into(),
            holder,
        };
        // ready once the holder has exec'd sleep (all mounts done)
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::fs::read_to_string(format!("/proc/{}/comm", host.holder.id()))
            .unwrap_or_default()
            .trim()
            != "sleep"
        {
            assert!(Instant::now() < deadline, "test host {netns} did not come up");
            std::thread::sleep(Duration::from_millis(20));
        }
        host
    }

    /// The argv prefix that runs a program on this host.
    pub fn prefix(&self) -> Vec<String> {
        let pid = self.holder.id().to_string();
        ["nsenter", "-t", &pid, "-m", "-u", "-n", "env", PATH]
            .iter()
            .map(|s| s.to_string())
            .collect()
    }

    pub fn command(&self, program: &str) -> Command {
        let prefix = self.prefix();
        let mut cmd = Command::new(&prefix[0]);
        cmd.args(&prefix[1..]).arg(program);
        cmd
    }

    pub fn run(&self, program: &str, args: &[&str]) -> (bool, String) {
        let out = self.command(program).args(args).output().unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.success(), text)
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        let _ = self.holder.kill();
        let _ = self.holder.wait();
    }
}

pub struct AdLab {
    pub dir: tempfile::TempDir,
    pub dc: Host,
    pub member: Host,
    dc_samba: Option<Child>,
    dc_conf: PathBuf,
    netns: [String; 2],
}

impl AdLab {
    /// Provision a domain, start its DC, create `alice` (in `shareusers`) and `carol`.
    pub fn start() -> AdLab {
        let id = std::process::id();
        let net = format!("10.99.{}", 50 + id % 100);
        let netns = [format!("smbgw-ad-dc-{id}"), format!("smbgw-ad-mem-{id}")];
        let dir = tempfile::Builder::new().prefix("smbgw-ad.").tempdir().unwrap();
        std::fs::set_permissions(dir.path(), std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        let d = dir.path();
        for ns in &netns {
            sh(&format!("ip netns add {ns}"));
        }
        sh(&format!(
            "ip link add eth0 netns {} type veth peer name eth0 netns {}",
            netns[0], netns[1]
        ));
        for (i, ns) in netns.iter().enumerate() {
            sh(&format!(
                "ip -n {ns} addr add {net}.{}/24 dev eth0 && ip -n {ns} link set lo up && ip -n {ns} link set eth0 up",
                i + 1
            ));
        }
        let write = |name: &str, text: String| {
            let p = d.join(name);
            std::fs::write(&p, text).unwrap();
            p
        };
        let resolv = write("resolv.conf", format!("nameserver {net}.1\nsearch {DOMAIN}\n"));
        let dc_hosts = write(
            "dc-hosts",
            format!("127.0.0.1 localhost\n{net}.1 dc1.{DOMAIN} dc1\n{net}.2 mem1.{DOMAIN} mem1\n"),
        );
        let mem_hosts = write(
            "mem-hosts",
            format!("127.0.0.1 localhost\n{net}.2 mem1.{DOMAIN} mem1\n{net}.1 dc1.{DOMAIN} dc1\n"),
        );
        let empty = write("smb.conf.empty", String::new());
        let nsswitch = std::fs::read_to_string("/etc/nsswitch.conf").unwrap();
        let nsswitch = write(
            "nsswitch.conf",
            nsswitch
                .lines()
                .map(|l| match l.split(':').next() {
                    Some("passwd") => "passwd: files winbind".to_string(),
                    Some("group") => "group: files winbind".to_string(),
                    _ => l.to_string(),
                })
                .collect::<Vec<_>>()
                .join("\n"),
        );
        let dc = Host::start(
            &netns[0],
            "dc1",
            &format!("{net}.1"),
            &[
                (resolv.clone(), "/etc/resolv.conf"),
                (dc_hosts, "/etc/hosts"),
                (empty.clone(), "/etc/samba/smb.conf"),
            ],
        );
        let member = Host::start(
            &netns[1],
            "mem1",
            &format!("{net}.2"),
            &[
                (resolv, "/etc/resolv.conf"),
                (mem_hosts, "/etc/hosts"),
                (empty, "/etc/samba/smb.conf"),
                (nsswitch, "/etc/nsswitch.conf"),
            ],
        );
        let mut lab = AdLab {
            dc_conf: d.join("dc/etc/smb.conf"),
            dir,
            dc,
            member,
            dc_samba: None,
            netns,
        };
        lab.provision(&net);
        lab.start_dc();
        for (user, password) in [("alice", "Al1ce!Passw0rd"), ("carol", "Car0l!Passw0rd")] {
            lab.samba_tool(&["user", "create", user, password]);
        }
        lab.samba_tool(&["group", "add", "shareusers"]);
        lab.samba_tool(&["group", "addmembers", "shareusers", "alice"]);
        lab
    }

    fn dc_dir(&self) -> PathBuf {
        self.dir.path().join("dc")
    }

    fn provision(&self, net: &str) {
        let target = self.dc_dir();
        let opt = |k: &str, v: &str| format!("--option={k}={v}");
        let (ok, out) = self.dc.run(
            "samba-tool",
            &[
                "domain",
                "provision",
                &format!("--realm={REALM}"),
                &format!("--domain={WORKGROUP}"),
                "--server-role=dc",
                "--dns-backend=SAMBA_INTERNAL",
                &format!("--adminpass={ADMIN_PASSWORD}"),
                &format!("--targetdir={}", target.display()),
                "--host-name=dc1",
                &format!("--host-ip={net}.1"),
                "--use-rfc2307",
                &opt("interfaces", "lo eth0"),
                &opt("bind interfaces only", "yes"),
                &opt("log file", &format!("{}/log/log.%m", target.display())),
                &opt("pid directory", &format!("{}/pid", target.display())),
                &opt("ncalrpc dir", &format!("{}/ncalrpc", target.display())),
                &opt("load printers", "no"),
                &opt("printing", "bsd"),
                &opt("printcap name", "/dev/null"),
                &opt("disable spoolss", "yes"),
            ],
        );
        assert!(ok, "provision failed: {out}");
        // provisioning took the password in argv; nothing of it may outlive it (the tests watch
        // argv for the password during the join)
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let left = carriers(ADMIN_PASSWORD.as_bytes());
            if left.is_empty() {
                break;
            }
            if Instant::now() > deadline {
                for (pid, cmd) in &left {
                    eprintln!("note: killing {cmd} (pid {pid}), left over from provisioning");
                    let _ = nix::sys::signal::kill(
                        nix::unistd::Pid::from_raw(*pid as i32),
                        nix::sys::signal::Signal::SIGKILL,
                    );
                }
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        for sub in ["log", "pid", "ncalrpc", "cache"] {
            std::fs::create_dir_all(target.join(sub)).unwrap();
        }
        // provision made the DC forward to the nameserver in resolv.conf: itself
        let conf = std::fs::read_to_string(&self.dc_conf).unwrap();
        let conf: String = conf
            .lines()
            .filter(|l| !l.contains("dns forwarder"))
            .map(|l| format!("{l}\n"))
            .collect();
        std::fs::write(&self.dc_conf, conf).unwrap();
    }

    /// Start the DC and wait until it serves SMB and LDAP (the first start generates TLS keys).
    pub fn start_dc(&mut self) {
        let log = std::fs::File::create(self.dc_dir().join("log/samba.stdout")).unwrap();
        let child = self
            .dc
            .command("samba")
            .args(["-F", "--no-process-group", "--debug-stdout", "-d1", "-s"])
            .arg(&self.dc_conf)
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        self.dc_samba = Some(child);
        // credentials in a file, not in argv (the tests watch argv for the password)
        let creds = self.dir.path().join("admin.creds");
        std::fs::write(&creds, format!("username=Administrator\npassword={ADMIN_PASSWORD}\n")).unwrap();
        std::fs::set_permissions(&creds, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            let (ok, _) = self.dc.run(
                "smbclient",
                &[
                    "-s",
                    &self.dc_conf.display().to_string(),
                    &format!("//dc1.{DOMAIN}/netlogon"),
                    "-A",
                    &creds.display().to_string(),
                    "-c",
                    "ls",
                ],
            );
            let (ldap, _) = self.dc.run(
                "ldbsearch",
                &["-H", &format!("ldap://dc1.{DOMAIN}"), "-s", "base", "-b", ""],
            );
            if ok && ldap {
                return;
            }
            assert!(Instant::now() < deadline, "the DC did not come up within 90 s");
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// Stop the DC (the domain becomes unreachable for the member).
    pub fn stop_dc(&mut self) {
        if let Some(mut child) = self.dc_samba.take() {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(child.id() as i32),
                nix::sys::signal::Signal::SIGTERM,
            );
            let deadline = Instant::now() + Duration::from_secs(15);
            while child.try_wait().unwrap().is_none() {
                if Instant::now() > deadline {
                    let _ = child.kill();
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        // samba's own children (and their ports) must be gone before a restart
        crate::common::kill_matching(&self.dc_conf.display().to_string());
    }

    /// samba-tool against the DC's database; its output.
    pub fn samba_tool(&self, args: &[&str]) -> String {
        let mut all: Vec<&str> = args.to_vec();
        let conf = self.dc_conf.display().to_string();
        all.extend(["-s", &conf]);
        let (ok, out) = self.dc.run("samba-tool", &all);
        assert!(ok, "samba-tool {args:?}: {out}");
        out
    }

    /// smbclient from the DC host to the member's share; Ok(output) only without an NT_STATUS error.
    pub fn smbclient(
        &self,
        share: &str,
        user: &str,
        password: &str,
        kerberos: bool,
        commands: &str,
    ) -> Result<String, String> {
        let creds = self.dir.path().join("client.creds");
        let (domain, name) = user.split_once('\\').unwrap_or(("", user));
        // Kerberos wants the realm form of the name (alice@EXAMPLE.TEST)
        let mut text = match kerberos {
            true => format!("username={name}@{REALM}\npassword={password}\n"),
            false => format!("username={name}\npassword={password}\n"),
        };
        if !domain.is_empty() && !kerberos {
            text.push_str(&format!("domain={domain}\n"));
        }
        std::fs::write(&creds, text).unwrap();
        std::fs::set_permissions(&creds, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
        let out = self
            .dc
            .command("smbclient")
            .args(["-s", &self.dc_conf.display().to_string()])
            .arg(format!("//mem1.{DOMAIN}/{share}"))
            .arg("-A")
            .arg(&creds)
            .arg(if kerberos {
                "--use-kerberos=required"
            } else {
                "--use-kerberos=disabled"
            })
            .args(["-c", commands])
            .env("KRB5_CONFIG", self.dc_dir().join("private/krb5.conf"))
            .stdin(Stdio::null())
            .output()
            .unwrap();
        crate::common::smbclient_result(out)
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

fn sh(script: &str) {
    let status = Command::new("sh").args(["-ec", script]).status().unwrap();
    assert!(status.success(), "{script}");
}

impl Drop for AdLab {
    fn drop(&mut self) {
        self.stop_dc();
        crate::common::kill_matching(&self.dir.path().display().to_string());
        for ns in &self.netns {
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
    }
}

/// The processes whose argv or environment holds `secret`: (pid, command name).
pub fn carriers(secret: &[u8]) -> Vec<(u32, String)> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let holds = ["cmdline", "environ"].iter().any(|file| {
            let data = std::fs::read(entry.path().join(file)).unwrap_or_default();
            data.windows(secret.len()).any(|w| w == secret)
        });
        if holds {
            // the command line with the secret masked, to tell which process it was
            let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
            let text = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            let masked = text.replace(&*String::from_utf8_lossy(secret), "***");
            found.push((pid, masked.trim().to_string()));
        }
    }
    found
}
