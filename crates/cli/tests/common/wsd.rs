//! A discovery client for the tests, as Windows Explorer and macOS Finder ask: WS-Discovery
//! Probe and Resolve over multicast, the WS-Transfer Get of a device's metadata (the name
//! Explorer shows), and an mDNS PTR query (a legacy unicast one: the responder answers to the
//! asking port). Each runs in the calling thread's network namespace (see `in_netns`).

use std::io::{Read, Write};
use std::net::{IpAddr, TcpStream, UdpSocket};
use std::os::fd::AsFd;
use std::time::Duration;

pub const PROBE: &str = r#"<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope" xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:wsd="http://schemas.xmlsoap.org/ws/2005/04/discovery" xmlns:wsdp="http://schemas.xmlsoap.org/ws/2006/02/devprof"><soap:Header><wsa:To>urn:schemas-xmlsoap-org:ws:2005:04:discovery</wsa:To><wsa:Action>http://schemas.xmlsoap.org/ws/2005/04/discovery/Probe</wsa:Action><wsa:MessageID>urn:uuid:0b0e3e8a-59b1-4f4e-9b0e-5c1d2a7e0101</wsa:MessageID></soap:Header><soap:Body><wsd:Probe><wsd:Types>wsdp:Device</wsd:Types></wsd:Probe></soap:Body></soap:Envelope>"#;

/// Run `f` on a thread inside network namespace `ns` (setns changes only that thread).
pub fn in_netns<T: Send + 'static>(ns: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let path = format!("/run/netns/{ns}");
    std::thread::spawn(move || {
        let ns = std::fs::File::open(path).unwrap();
        nix::sched::setns(ns.as_fd(), nix::sched::CloneFlags::CLONE_NEWNET).unwrap();
        f()
    })
    .join()
    .unwrap()
}

/// Send `message` to `group` until an answer containing every one of `want` comes (at most 40
/// tries, half a second each); other answers (other responders) are skipped. The answer and
/// the address it came from.
pub fn multicast(group: &str, message: &[u8], want: &[&str]) -> Option<(String, IpAddr)> {
    let sock = UdpSocket::bind("0.0.0.0:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_millis(500))).unwrap();
    let mut buf = vec![0u8; 65536];
    for _ in 0..40 {
        sock.send_to(message, group).unwrap();
        while let Ok((n, from)) = sock.recv_from(&mut buf) {
            let text = String::from_utf8_lossy(&buf[..n]).into_owned();
            if want.iter().all(|w| text.contains(w)) {
                return Some((text, from.ip()));
            }
        }
    }
    None
}

/// A WS-Discovery message to the WS-Discovery group.
pub fn wsd(message: &str, want: &[&str]) -> Option<(String, IpAddr)> {
    multicast("239.255.255.250:3702", message.as_bytes(), want)
}

/// A Resolve of `endpoint`: the answer carries the device's transport addresses (XAddrs).
pub fn resolve(endpoint: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope" xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:wsd="http://schemas.xmlsoap.org/ws/2005/04/discovery"><soap:Header><wsa:To>urn:schemas-xmlsoap-org:ws:2005:04:discovery</wsa:To><wsa:Action>http://schemas.xmlsoap.org/ws/2005/04/discovery/Resolve</wsa:Action><wsa:MessageID>urn:uuid:0b0e3e8a-59b1-4f4e-9b0e-5c1d2a7e0103</wsa:MessageID></soap:Header><soap:Body><wsd:Resolve><wsa:EndpointReference><wsa:Address>{endpoint}</wsa:Address></wsa:EndpointReference></wsd:Resolve></soap:Body></soap:Envelope>"#
    )
}

/// The text between `<TAG>` (any namespace prefix) and its end tag.
pub fn element<'a>(text: &'a str, tag: &str) -> Option<&'a str> {
    let start = text.find(&format!(":{tag}>"))? + tag.len() + 2;
    let end = text[start..].find("</")?;
    Some(&text[start..start + end])
}

/// WS-Transfer Get of the device's metadata at `xaddr` (http://IP:PORT/UUID): what Explorer
/// shows as the computer's name.
pub fn metadata(xaddr: &str, endpoint: &str) -> String {
    let rest = xaddr.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_once('/').unwrap();
    let body = format!(
        r#"<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope" xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/08/addressing"><soap:Header><wsa:To>{endpoint}</wsa:To><wsa:Action>http://schemas.xmlsoap.org/ws/2004/09/transfer/Get</wsa:Action><wsa:MessageID>urn:uuid:0b0e3e8a-59b1-4f4e-9b0e-5c1d2a7e0102</wsa:MessageID><wsa:ReplyTo><wsa:Address>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</wsa:Address></wsa:ReplyTo></soap:Header><soap:Body/></soap:Envelope>"#
    );
    let mut s = TcpStream::connect(host).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "POST /{path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/soap+xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}

/// An mDNS query for the PTR records of `service` (`_smb._tcp`): the answer names each
/// instance (`HOST._smb._tcp.local`); `want` is looked for in its bytes (DNS labels are
/// length-prefixed, so plain text without dots matches).
pub fn mdns_ptr(service: &str, want: &str) -> Option<(String, IpAddr)> {
    let mut query = vec![0x12, 0x34, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0];
    for label in service.split('.').chain(["local"]) {
        query.push(label.len() as u8);
        query.extend_from_slice(label.as_bytes());
    }
    query.extend_from_slice(&[0, 0, 12, 0, 1]);
    multicast("224.0.0.251:5353", &query, &[want])
}
