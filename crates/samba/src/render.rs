//! smb.conf rendering. The text comes from `samba-templates/` (compiled in, so what was reviewed
//! is what runs); values come only from validated shares and the node layout.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use smbgw_core::{Layout, Share};

const GLOBAL: &str = include_str!("../../../samba-templates/global.conf");
const SANDBOX: &str = include_str!("../../../samba-templates/sandbox.conf");
const HOST: &str = include_str!("../../../samba-templates/host.conf");
const SHARE: &str = include_str!("../../../samba-templates/share.conf");
const MACOS: &str = include_str!("../../../samba-templates/features/macos.conf");
const RECYCLE: &str = include_str!("../../../samba-templates/features/recycle.conf");
const AUDIT: &str = include_str!("../../../samba-templates/features/audit.conf");
const SHADOW: &str = include_str!("../../../samba-templates/features/shadow-copies.conf");

/// The generated files: smb.conf and one include per share, keyed by path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rendered {
    pub smb_conf: (PathBuf, String),
    pub shares: BTreeMap<PathBuf, String>,
}

fn fill(template: &str, values: &[(&str, &str)]) -> String {
    let mut out = template.to_string();
    for (key, value) in values {
        out = out.replace(&format!("{{{{{key}}}}}"), value);
    }
    debug_assert!(!out.contains("{{"), "unfilled placeholder in template: {out}");
    out
}

/// File name of a share's include: lower-case (names are case-insensitive), with everything but
/// `[a-z0-9_-]` hex-escaped as `+xx`, so no share name can form a path. '+' cannot occur in share
/// names, so escapes never collide; '%' would be taken for a Samba variable in the include line.
pub fn share_file_name(name: &str) -> String {
    let mut out = String::new();
    for b in name.to_ascii_lowercase().bytes() {
        match b {
            b'a'..=b'z' | b'0'..=b'9' | b'_' | b'-' => out.push(b as char),
            _ => out.push_str(&format!("+{b:02x}")),
        }
    }
    format!("{out}.conf")
}

/// Render the whole Samba configuration, with includes pointing into `include_dir`.
pub fn render(layout: &Layout, shares: &[Share], smb_conf: &Path, include_dir: &Path) -> Rendered {
    let any_guest = shares.iter().any(|s| s.guest);
    let node = match &layout.sandbox {
        Some(s) => fill(
            SANDBOX,
            &[
                ("root", &s.root.display().to_string()),
                ("bind", &s.bind.to_string()),
                ("port", &s.port.to_string()),
                ("samba", &s.root.join("samba").display().to_string()),
                ("log", &layout.log_dir.display().to_string()),
            ],
        ),
        None => HOST.to_string(),
    };
    let mut includes = String::new();
    let mut files = BTreeMap::new();
    for share in shares {
        let path = include_dir.join(share_file_name(&share.name));
        includes.push_str(&format!("\tinclude = {}\n", path.display()));
        files.insert(path, render_share(share));
    }
    let global = fill(
        GLOBAL,
        &[
            (
                "config",
                &layout
                    .config_dir
                    .join(smbgw_core::store::SHARES_FILE)
                    .display()
                    .to_string(),
            ),
            // anonymous access stays closed unless a share asks for guests
            ("restrict_anonymous", if any_guest { "0" } else { "2" }),
            ("map_to_guest", if any_guest { "Bad User" } else { "Never" }),
            ("node", node.trim_end()),
            ("includes", includes.trim_end()),
        ],
    );
    Rendered {
        smb_conf: (smb_conf.to_owned(), global),
        shares: files,
    }
}

fn yes_no(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}

pub fn render_share(share: &Share) -> String {
    let mut params: Vec<(String, String)> = Vec::new();
    let mut set = |k: &str, v: &str| params.push((k.to_string(), v.to_string()));
    if let Some(comment) = &share.comment {
        set("comment", comment);
    }
    set("read only", yes_no(share.read_only));
    set("browseable", yes_no(share.browseable));
    set("guest ok", yes_no(share.guest));
    let valid: Vec<String> = share
        .users
        .iter()
        .cloned()
        .chain(share.groups.iter().map(|g| format!("@{g}")))
        .collect();
    if !valid.is_empty() {
        set("valid users", &valid.join(" "));
    }
    if !share.hosts_allow.is_empty() {
        set("hosts allow", &share.hosts_allow.join(" "));
    }
    if !share.hosts_deny.is_empty() {
        set("hosts deny", &share.hosts_deny.join(" "));
    }
    if share.encrypt {
        set("server smb encrypt", "required");
    }
    set("case sensitive", &share.case_sensitive);

    let mut vfs = Vec::new();
    let mut features = String::new();
    if share.audit {
        vfs.push("full_audit");
        features.push_str(AUDIT);
    }
    if share.macos {
        vfs.extend(["catia", "fruit", "streams_xattr"]);
        features.push_str(MACOS);
    }
    if share.shadow_copies {
        vfs.push("shadow_copy2");
        features.push_str(SHADOW);
    }
    if share.recycle_bin {
        vfs.push("recycle");
        features.push_str(RECYCLE);
    }
    if !vfs.is_empty() {
        set("vfs objects", &vfs.join(" "));
    }
    for (k, v) in &share.options {
        set(k, v);
    }

    let mut lines: String = params.iter().map(|(k, v)| format!("\t{k} = {v}\n")).collect();
    lines.push_str(&features);
    fill(
        SHARE,
        &[
            ("name", &share.name),
            ("path", &share.path),
            ("parameters", lines.trim_end()),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use smbgw_core::share::Properties;

    pub fn share(name: &str, pairs: &[(&str, &str)]) -> Share {
        let mut props: Properties = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        props.entry("path".into()).or_insert(format!("/srv/{name}"));
        Share::from_properties(name, &props).unwrap()
    }

    #[test]
    fn file_names_cannot_escape() {
        assert_eq!(share_file_name("Data"), "data.conf");
        assert_eq!(share_file_name("Team Data$"), "team+20data+24.conf");
        assert_eq!(share_file_name(".."), "+2e+2e.conf");
    }

    #[test]
    fn share_rendering() {
        let text = render_share(&share(
            "data",
            &[
                ("users", "alice"),
                ("groups", "staff"),
                ("recycle-bin", "1"),
                ("macos", "1"),
                ("encrypt", "1"),
            ],
        ));
        assert!(text.contains("[data]\n\tpath = /srv/data\n"), "{text}");
        assert!(text.contains("\tvalid users = alice @staff\n"), "{text}");
        assert!(
            text.contains("\tvfs objects = catia fruit streams_xattr recycle\n"),
            "{text}"
        );
        assert!(text.contains("\tserver smb encrypt = required\n"), "{text}");
    }
}
