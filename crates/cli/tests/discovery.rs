//! Discovery for real: the gateway starts Debian's wsdd with the sandbox's smbd, bound to the
//! interface of the node's discovery setting, and a WS-Discovery Probe sent from a client
//! network namespace gets a ProbeMatch from the server's address; the metadata behind it names
//! the host. The Avahi service file the gateway writes advertises `_smb._tcp` and one
//! `_adisk._tcp` record per Time Machine share. An interface the node does not have is refused
//! on its field before anything is written.

mod common;
#[allow(dead_code)]
#[path = "common/wsd.rs"]
mod wsd;

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command};
use std::time::Duration;

use common::{run, Sandbox};

/// Two network namespaces joined by a veth pair: the server (`NET.1`) and a client (`NET.2`).
struct NetPair {
    server: String,
    client: String,
    server_if: String,
    net: String,
}

impl NetPair {
    /// `tag` keeps the pairs of tests running at once apart.
    fn new(tag: u8) -> NetPair {
        let id = std::process::id() % 10_000;
        let p = NetPair {
            server: format!("smbgwdisc-s{id}{tag}"),
            client: format!("smbgwdisc-c{id}{tag}"),
            server_if: format!("disc{id}{tag}s"),
            net: format!("10.{}.{}", 90 + tag, id % 250),
        };
        let client_if = format!("disc{id}{tag}c");
        run("ip", &["netns", "add", &p.server]);
        run("ip", &["netns", "add", &p.client]);
        run(
            "ip",
            &[
                "link",
                "add",
                &p.server_if,
                "netns",
                &p.server,
                "type",
                "veth",
                "peer",
                "name",
                &client_if,
                "netns",
                &p.client,
            ],
        );
        for (ns, dev, host) in [(&p.server, &p.server_if, 1), (&p.client, &client_if, 2)] {
            let addr = format!("{}.{host}/24", p.net);
            run("ip", &["-n", ns, "addr", "add", &addr, "dev", dev]);
            run("ip", &["-n", ns, "link", "set", dev, "up"]);
            run("ip", &["-n", ns, "link", "set", "lo", "up"]);
            run("ip", &["-n", ns, "route", "add", "224.0.0.0/4", "dev", dev]);
        }
        p
    }

    fn wrapper(ns: &str) -> Vec<String> {
        vec!["nsenter".into(), format!("--net=/run/netns/{ns}")]
    }

    /// Run `f` on a thread inside the client namespace.
    fn in_client<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> T {
        wsd::in_netns(&self.client, f)
    }
}

impl Drop for NetPair {
    fn drop(&mut self) {
        for ns in [&self.server, &self.client] {
            let _ = std::process::Command::new("ip").args(["netns", "del", ns]).status();
        }
    }
}

#[test]
fn wsdd_answers_a_probe_from_the_client_namespace_with_the_host() {
    let net = NetPair::new(7);
    let mut sb = Sandbox::new();
    sb.wrapper = NetPair::wrapper(&net.server);
    // an interface of the server namespace: the CLI checks it there
    sb.ok(&["discovery", "--interfaces", &net.server_if]);
    sb.ok(&["create", "docs", "--path", sb.data("docs").to_str().unwrap()]);
    let pid: i32 = std::fs::read_to_string(sb.root.join("run/wsdd.pid"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let cmdline = std::fs::read_to_string(format!("/proc/{pid}/cmdline"))
        .unwrap()
        .replace('\0', " ");
    assert!(cmdline.contains(&format!("--interface {}", net.server_if)), "{cmdline}");

    let answer = net.in_client(|| wsd::wsd(wsd::PROBE, &["ProbeMatches"]).map(|(text, _)| text));
    let log = || std::fs::read_to_string(sb.root.join("log/wsdd.log")).unwrap_or_default();
    let answer = answer.unwrap_or_else(|| panic!("no ProbeMatch; wsdd log: {}", log()));
    assert!(answer.contains("pub:Computer"), "{answer}");
    let endpoint = wsd::element(&answer, "Address").expect("endpoint").to_string();
    let message = wsd::resolve(&endpoint);
    let resolved = net
        .in_client(move || wsd::wsd(&message, &["ResolveMatches"]).map(|(text, _)| text))
        .unwrap_or_else(|| panic!("no ResolveMatch; wsdd log: {}", log()));
    let xaddr = wsd::element(&resolved, "XAddrs")
        .unwrap_or_else(|| panic!("no XAddrs in {resolved}"))
        .to_string();
    // the address on the configured interface
    assert!(xaddr.starts_with(&format!("http://{}.1:", net.net)), "{resolved}");
    let meta = net.in_client(move || wsd::metadata(&xaddr, &endpoint));
    let host = nix::unistd::gethostname().unwrap().to_string_lossy().to_lowercase();
    let computer = wsd::element(&meta, "Computer").unwrap_or_else(|| panic!("no Computer in {meta}; log: {}", log()));
    assert_eq!(computer.to_lowercase(), format!("{host}/workgroup:workgroup"), "{meta}");

    // stop ends the wsdd it started
    sb.ok(&["stop"]);
    let mut gone = false;
    for _ in 0..100 {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        // reaped, or a zombie waiting for its (exited) parent's reaper
        if stat.is_empty() || stat.contains(") Z ") {
            gone = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(gone, "stop leaves wsdd running");
}

#[test]
fn an_interface_the_node_lacks_is_refused_and_nothing_is_written() {
    let sb = Sandbox::new();
    // on, no interface named: a sandbox starts no wsdd
    sb.ok(&["discovery", "--discovery", "on"]);
    sb.ok(&["create", "first", "--path", sb.data("first").to_str().unwrap()]);
    let setting = std::fs::read(sb.root.join("state/discovery.cfg")).unwrap();
    let before = sb.snapshot();
    let r = sb.run(&[
        "discovery",
        "--interfaces",
        "lo,smbgwdisc-none",
        "--output-format",
        "json",
    ]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    let err: serde_json::Value = serde_json::from_str(r.stderr.trim()).unwrap();
    assert_eq!(err["field"].as_str(), Some("interfaces"), "{err}");
    assert_eq!(std::fs::read(sb.root.join("state/discovery.cfg")).unwrap(), setting);
    assert_eq!(sb.snapshot(), before, "a refused setting wrote files");

    // a stored interface that has since gone away refuses the next change the same way
    std::fs::write(sb.root.join("state/discovery.cfg"), "interfaces=smbgwdisc-none\n").unwrap();
    let service = std::fs::read(sb.root.join("avahi/services/pve-smbgateway.service")).unwrap();
    let path = sb.data("docs");
    let r = sb.run(&[
        "create",
        "docs",
        "--path",
        path.to_str().unwrap(),
        "--output-format",
        "json",
    ]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    let err: serde_json::Value = serde_json::from_str(r.stderr.trim()).unwrap();
    assert_eq!(err["field"].as_str(), Some("interfaces"), "{err}");
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .contains("interface 'smbgwdisc-none' does not exist"),
        "{err}"
    );
    assert_eq!(sb.snapshot(), before, "a refused change wrote files");
    assert_eq!(
        std::fs::read(sb.root.join("avahi/services/pve-smbgateway.service")).unwrap(),
        service
    );
    assert!(!sb.data("docs").exists());
}

#[test]
fn the_avahi_service_advertises_smb_and_each_time_machine_share() {
    let sb = Sandbox::new();
    // on, no interface named: a sandbox starts no wsdd
    sb.ok(&["discovery", "--discovery", "on"]);
    sb.ok(&["create", "docs", "--path", sb.data("docs").to_str().unwrap()]);
    let service = sb.root.join("avahi/services/pve-smbgateway.service");
    let text = std::fs::read_to_string(&service).unwrap();
    assert!(
        text.contains(&format!("<type>_smb._tcp</type>\n    <port>{}</port>", sb.port)),
        "{text}"
    );
    assert!(!text.contains("_adisk"), "{text}");
    assert!(
        !sb.root.join("run/wsdd.pid").exists(),
        "wsdd started without an interface"
    );
    sb.ok(&[
        "create",
        "tm",
        "--path",
        sb.data("tm").to_str().unwrap(),
        "--macos",
        "1",
        "--time-machine",
        "1",
    ]);
    let text = std::fs::read_to_string(&service).unwrap();
    assert!(
        text.contains("<txt-record>dk0=adVN=tm,adVF=0x82</txt-record>"),
        "{text}"
    );
    // apply heals a damaged file
    std::fs::write(&service, "garbage").unwrap();
    sb.ok(&["apply"]);
    assert_eq!(std::fs::read_to_string(&service).unwrap(), text);

    // discovery off withdraws the advertisement at once, and apply does not bring it back
    sb.ok(&["discovery", "--discovery", "off"]);
    assert!(!service.exists(), "discovery=off kept the Avahi service");
    sb.ok(&["apply"]);
    assert!(!service.exists(), "apply brought the Avahi service back while off");
    sb.ok(&["discovery", "--discovery", "on"]);
    assert_eq!(std::fs::read_to_string(&service).unwrap(), text);
}

/// Daemons started for a test, killed when it ends however it ends.
struct Daemons(Vec<Child>);

impl Drop for Daemons {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// A D-Bus system bus (Debian's system.conf, on a socket of our own)
/// and avahi-daemon on it in namespace `ns`, publishing the services in `services` (bound over
/// /etc/avahi/services, and a private /run/avahi-daemon for its pid file, in a mount namespace of
/// its own), as host `host`.
fn avahi(ns: &str, dir: &Path, host: &str, services: &Path, daemons: &mut Daemons) -> String {
    let bus = dir.join(format!("bus-{host}"));
    let address = format!("unix:path={}", bus.display());
    let log = |name: &str| std::fs::File::create(dir.join(format!("{name}-{host}.log"))).unwrap();
    daemons.0.push(
        Command::new("ip")
            .args([
                "netns",
                "exec",
                ns,
                "dbus-daemon",
                "--config-file=/usr/share/dbus-1/system.conf",
                "--nofork",
                "--nopidfile",
            ])
            .arg(format!("--address={address}"))
            .stdout(log("dbus"))
            .stderr(log("dbus-err"))
            .process_group(0)
            .spawn()
            .unwrap(),
    );
    for _ in 0..100 {
        if bus.exists() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let conf = dir.join(format!("avahi-{host}.conf"));
    std::fs::write(
        &conf,
        format!("[server]\nhost-name={host}\nuse-ipv4=yes\nuse-ipv6=no\n[publish]\npublish-hinfo=no\npublish-workstation=no\n"),
    )
    .unwrap();
    std::fs::create_dir_all("/run/avahi-daemon").unwrap();
    let script = format!(
        "mount -t tmpfs none /run/avahi-daemon && mount --bind {} /etc/avahi/services && exec avahi-daemon --no-drop-root --no-chroot --no-rlimits -f {}",
        services.display(),
        conf.display()
    );
    daemons.0.push(
        Command::new("ip")
            .args(["netns", "exec", ns, "unshare", "-m", "sh", "-c", &script])
            .env("DBUS_SYSTEM_BUS_ADDRESS", &address)
            .stdout(log("avahi"))
            .stderr(log("avahi-err"))
            .process_group(0)
            .spawn()
            .unwrap(),
    );
    address
}

/// `avahi-browse -rpt TYPE` in namespace `ns` until `host` shows up resolved (at most ~10 s).
fn browse(ns: &str, address: &str, service: &str, host: &str) -> String {
    let mut out = String::new();
    for _ in 0..10 {
        let o = Command::new("ip")
            .args(["netns", "exec", ns, "avahi-browse", "-rpt", service])
            .env("DBUS_SYSTEM_BUS_ADDRESS", address)
            .output()
            .unwrap();
        out = format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        if out
            .lines()
            .any(|l| l.starts_with("=;") && l.contains(&format!(";{host};")))
        {
            break;
        }
        std::thread::sleep(Duration::from_secs(1));
    }
    out
}

#[test]
fn finder_sees_smb_and_time_machine_through_avahi_from_the_client_namespace() {
    let net = NetPair::new(6);
    let mut sb = Sandbox::new();
    sb.wrapper = NetPair::wrapper(&net.server);
    sb.ok(&[
        "create",
        "tm",
        "--path",
        sb.data("tm").to_str().unwrap(),
        "--macos",
        "1",
        "--time-machine",
        "1",
    ]);
    // with no interface named for it a sandbox never answers on the machine's own interfaces
    assert!(
        !sb.root.join("run/wsdd.pid").exists(),
        "a sandbox started wsdd on every interface"
    );
    let services = sb.root.join("avahi/services");
    let empty = sb.dir.path().join("no-services");
    std::fs::create_dir_all(&empty).unwrap();
    let dir = sb.dir.path().join("avahi-run");
    std::fs::create_dir_all(&dir).unwrap();
    let mut daemons = Daemons(Vec::new());
    avahi(&net.server, &dir, "smbgwdisc-srv", &services, &mut daemons);
    let client = avahi(&net.client, &dir, "smbgwdisc-cli", &empty, &mut daemons);

    let logs = || std::fs::read_to_string(dir.join("avahi-err-smbgwdisc-srv.log")).unwrap_or_default();
    let smb = browse(&net.client, &client, "_smb._tcp", "smbgwdisc-srv");
    let line = smb
        .lines()
        .find(|l| l.starts_with("=;") && l.contains(";smbgwdisc-srv;"))
        .unwrap_or_else(|| panic!("no _smb._tcp from the server: {smb}\n{}", logs()));
    assert!(line.contains(&format!(";{}.1;{};", net.net, sb.port)), "{line}");
    let adisk = browse(&net.client, &client, "_adisk._tcp", "smbgwdisc-srv");
    let line = adisk
        .lines()
        .find(|l| l.starts_with("=;") && l.contains(";smbgwdisc-srv;"))
        .unwrap_or_else(|| panic!("no _adisk._tcp from the server: {adisk}\n{}", logs()));
    assert!(line.contains("\"dk0=adVN=tm,adVF=0x82\""), "{line}");
    drop(daemons);
}
