//! Alerts through the Proxmox VE notification system (PVE 8.1+): `PVE::Notify::notify($severity,
//! $template, $data, $fields)` from libpve-cluster-perl renders our templates
//! (`/usr/share/pve-manager/templates/default/pve-smbgateway-{subject,body}.*.hbs`, shipped by
//! the package) and hands the result to the targets the admin's matchers choose. `fields` are
//! what matchers match on: `type=pve-smbgateway`, `hostname`, `share`, `check`.
//!
//! The Perl program below is fixed text; every value travels as JSON on its standard input,
//! never in its source or argv.

use std::path::Path;
use std::time::Duration;

use serde_json::{json, Value};
use smbgw_sys::{Command, Error, Result};

use crate::config;

const PVE_NOTIFY_MODULE: &str = "/usr/share/perl5/PVE/Notify.pm";
pub const TEMPLATE: &str = "pve-smbgateway";
/// Reading the notification config goes through pmxcfs; a hung cluster filesystem must not
/// keep alerts waiting forever.
const TIMEOUT: Duration = Duration::from_secs(30);

const SEND: &str = r#"
use strict;
use warnings;
use JSON::PP;
use PVE::Notify;

my $n = JSON::PP->new->utf8->decode(do { local $/; <STDIN> });
my $data = $n->{data};
# hostname, fqdn, cluster name: what PVE's own templates get (PVE 8.2+)
if (defined(&PVE::Notify::common_template_data)) {
    $data = { %{ PVE::Notify::common_template_data() }, %$data };
}
PVE::Notify::notify($n->{severity}, $n->{template}, $data, $n->{fields});
"#;

/// One notification: the subject line and the body text, plus the fields matchers see.
#[derive(Debug)]
pub struct Notification {
    /// info, notice, warning or error.
    pub severity: &'static str,
    pub title: String,
    pub message: String,
    /// Further lines of the body ("Share: data").
    pub details: Vec<(String, String)>,
    pub fields: Vec<(&'static str, String)>,
}

pub enum Delivered {
    Pve,
    /// Only logged: the PVE notification system is not installed (or `notify: log`).
    LogOnly,
}

pub fn send(n: &Notification, mode: config::Notify) -> Result<Delivered> {
    let use_pve = match mode {
        config::Notify::Log => false,
        config::Notify::Pve => true,
        config::Notify::Auto => Path::new(PVE_NOTIFY_MODULE).exists(),
    };
    if !use_pve {
        return Ok(Delivered::LogOnly);
    }
    let input = serde_json::to_vec(&payload(n)).map_err(|e| Error::system(format!("notification as JSON: {e}")))?;
    Command::new("perl")
        .args(["-e", SEND])
        .stdin(input)
        .timeout(TIMEOUT)
        .run()
        .map_err(|e| e.context("PVE::Notify"))?;
    Ok(Delivered::Pve)
}

/// What goes to the Perl side on stdin.
fn payload(n: &Notification) -> Value {
    let hostname = nodename();
    let details: String = n
        .details
        .iter()
        .map(|(key, value)| format!("{:<12}{value}\n", format!("{key}:")))
        .collect();
    let mut fields = serde_json::Map::new();
    fields.insert("type".into(), TEMPLATE.into());
    fields.insert("hostname".into(), hostname.clone().into());
    for (key, value) in &n.fields {
        fields.insert((*key).into(), value.clone().into());
    }
    json!({
        "severity": n.severity,
        "template": TEMPLATE,
        "data": {
            "hostname": hostname,
            "title": n.title,
            "message": n.message,
            "details": details,
        },
        "fields": fields,
    })
}

/// The node name as PVE uses it: the short host name.
pub fn nodename() -> String {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    name.trim().split('.').next().unwrap_or_default().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_carries_fields_and_data() {
        let n = Notification {
            severity: "warning",
            title: "t \"quoted\"".into(),
            message: "m".into(),
            details: vec![("Share".into(), "data".into())],
            fields: vec![("share", "data".into())],
        };
        let p = payload(&n);
        assert_eq!(p["severity"], "warning");
        assert_eq!(p["template"], "pve-smbgateway");
        assert_eq!(p["fields"]["type"], "pve-smbgateway");
        assert_eq!(p["fields"]["share"], "data");
        assert_eq!(p["data"]["title"], "t \"quoted\"");
        assert_eq!(p["data"]["details"], "Share:      data\n");
    }

    #[test]
    fn log_mode_never_runs_perl() {
        let n = Notification {
            severity: "info",
            title: String::new(),
            message: String::new(),
            details: vec![],
            fields: vec![],
        };
        assert!(matches!(send(&n, config::Notify::Log), Ok(Delivered::LogOnly)));
    }
}
