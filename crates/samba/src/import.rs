//! The admin's own Samba configuration, as Samba itself reads it. The gateway keeps an admin's
//! hand-written smb.conf in an include it carries but never rewrites (the "unmanaged" include,
//! see `crates/gateway/src/converge.rs`); `import` (`crates/gateway/src/import.rs`) adopts its
//! shares. Their parameters come from Samba's own parser, never from ours: `testparm -s` prints
//! every section with the parameters Samba parsed (canonical names, synonyms and inverted
//! synonyms such as `writeable` resolved, continuation lines joined, defaults left out), and
//! `net conf list` prints the registry's shares in the same form. The only text handling of
//! the admin's file itself is `remove_sections`: cutting adopted sections out of it, so the
//! rest (comments, layout, every other share) stays byte for byte.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use smbgw_core::{Error, Layout, Result};
use smbgw_sys::{fs, Command};

use crate::Samba;

/// File name of the unmanaged include, beside smb.conf (not among the generated share
/// includes, which `apply` prunes).
pub const UNMANAGED_FILE: &str = "smbgateway-unmanaged.conf";

/// Where the unmanaged include lives for an smb.conf at `smb_conf`.
pub fn unmanaged_path_for(smb_conf: &Path) -> PathBuf {
    smb_conf.with_file_name(UNMANAGED_FILE)
}

/// Where this node's unmanaged include lives.
pub fn unmanaged_path(layout: &Layout) -> PathBuf {
    unmanaged_path_for(&layout.smb_conf)
}

/// One section as Samba parsed it: lower-case canonical parameter names.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Section {
    pub name: String,
    pub params: BTreeMap<String, String>,
}

/// Sections of testparm's or `net conf list`'s canonical dump (`[name]`, then `\tkey = value`).
pub fn parse_dump(text: &str) -> Vec<Section> {
    let mut sections: Vec<Section> = Vec::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with(';') {
            continue;
        }
        if let Some(name) = trimmed.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
            sections.push(Section {
                name: name.to_string(),
                params: BTreeMap::new(),
            });
        } else if let (Some(section), Some((key, value))) = (sections.last_mut(), trimmed.split_once('=')) {
            section
                .params
                .insert(key.trim().to_ascii_lowercase(), value.trim().to_string());
        }
    }
    sections
}

/// The admin's configuration: its global section and its shares, file and registry.
#[derive(Clone, Debug, Default)]
pub struct LiveConfig {
    pub globals: BTreeMap<String, String>,
    /// Shares defined in the unmanaged include (or files it includes).
    pub shares: Vec<Section>,
    /// Shares defined in the registry (`net conf`).
    pub registry: Vec<Section>,
}

impl LiveConfig {
    /// Every share name, lower-case (Samba's share names are case-insensitive).
    pub fn names(&self) -> BTreeSet<String> {
        self.shares
            .iter()
            .chain(&self.registry)
            .map(|s| s.name.to_ascii_lowercase())
            .collect()
    }
}

/// Run `testparm -s` on `text` (the unmanaged include as it is or will be) and return what
/// Samba parsed. The text is checked in a private copy, so a pending version can be read too.
pub fn parse_text(samba: &Samba, text: &str) -> Result<Vec<Section>> {
    let dir = &samba.layout.state_dir;
    fs::create_dir_all(dir, 0o700)?;
    let copy = dir.join(format!("unmanaged-check.{}.conf", std::process::id()));
    std::fs::write(&copy, text).map_err(|e| Error::io("writing", &copy, e))?;
    let out = Command::new("testparm")
        .envs(&samba.env())
        .args(["-s", "--suppress-prompt"])
        .arg(&copy)
        .output();
    let _ = std::fs::remove_file(&copy);
    let out = out?;
    if !out.success() {
        return Err(Error::external(format!(
            "testparm cannot read the admin's Samba configuration ({}): {}",
            unmanaged_path(&samba.layout).display(),
            out.stderr.trim()
        )));
    }
    Ok(parse_dump(&out.stdout))
}

/// The registry's shares, as the live smb.conf sees them (`net conf list`); none when the
/// registry is not in use or unreadable (it then serves nothing either).
pub fn registry_shares(samba: &Samba) -> Vec<Section> {
    match samba.tool("net").args(["conf", "list"]).output() {
        Ok(out) if out.success() => parse_dump(&out.stdout)
            .into_iter()
            .filter(|s| !s.name.eq_ignore_ascii_case("global"))
            .collect(),
        _ => Vec::new(),
    }
}

/// The admin's configuration held in `text`; `registry` adds the registry's shares.
pub fn read(samba: &Samba, text: &str, registry: bool) -> Result<LiveConfig> {
    let registry = if registry && uses_registry(samba, text)? {
        registry_shares(samba)
    } else {
        Vec::new()
    };
    let in_registry: BTreeSet<String> = registry.iter().map(|s| s.name.to_ascii_lowercase()).collect();
    let mut live = LiveConfig {
        registry,
        ..Default::default()
    };
    for section in parse_text(samba, text)? {
        if section.name.eq_ignore_ascii_case("global") {
            live.globals = section.params;
        } else if !in_registry.contains(&section.name.to_ascii_lowercase()) {
            live.shares.push(section);
        }
    }
    Ok(live)
}

/// Whether the admin's configuration serves registry shares (`include = registry` or
/// `config backend = registry` both switch `registry shares` on).
pub fn uses_registry(samba: &Samba, text: &str) -> Result<bool> {
    Ok(parse_text(samba, text)?
        .iter()
        .find(|s| s.name.eq_ignore_ascii_case("global"))
        .is_some_and(|g| {
            g.params
                .get("registry shares")
                .is_some_and(|v| v.eq_ignore_ascii_case("yes"))
                || g.params
                    .get("config backend")
                    .is_some_and(|v| v.eq_ignore_ascii_case("registry"))
        }))
}

/// Whether `text` puts the whole configuration in the registry (`config backend = registry`):
/// smbd would then ignore every file, the gateway's too, so the gateway reads the registry
/// with `include = registry` instead.
pub fn registry_backend(samba: &Samba, text: &str) -> Result<bool> {
    Ok(parse_text(samba, text)?
        .iter()
        .find(|s| s.name.eq_ignore_ascii_case("global"))
        .is_some_and(|g| {
            g.params
                .get("config backend")
                .is_some_and(|v| v.eq_ignore_ascii_case("registry"))
        }))
}

/// The parameters Samba knows as share (local) parameters, from `testparm
/// --show-all-parameters`: the admin's global section sets their defaults for its shares.
pub fn local_parameters() -> Result<BTreeSet<String>> {
    let out = Command::new("testparm").arg("--show-all-parameters").run()?;
    let mut local = BTreeSet::new();
    let mut in_local = false;
    for line in out.stdout.lines() {
        if line.starts_with('[') {
            in_local = line.trim() == "[local]";
        } else if in_local {
            if let Some((name, _)) = line.split_once('=') {
                local.insert(name.trim().to_ascii_lowercase());
            }
        }
    }
    Ok(local)
}

/// `text` without the sections named in `names` (case-insensitive): from a section's header
/// line to the line before the next header. Samba's file syntax: a header is a line whose
/// first non-blank character is '[', and a line ending in '\' continues on the next. Returns
/// the new text and the names whose section is not in `text` (defined in a file it includes).
pub fn remove_sections(text: &str, names: &BTreeSet<String>) -> (String, BTreeSet<String>) {
    let mut out = String::with_capacity(text.len());
    let wanted: BTreeSet<String> = names.iter().map(|n| n.to_ascii_lowercase()).collect();
    let mut missing = wanted.clone();
    let mut skipping = false;
    let mut continued = false;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim();
        if !continued {
            if let Some(rest) = trimmed.strip_prefix('[') {
                let name = rest.split(']').next().unwrap_or("").trim().to_ascii_lowercase();
                missing.remove(&name);
                skipping = wanted.contains(&name);
            }
        }
        continued = trimmed.ends_with('\\');
        if !skipping {
            out.push_str(line);
        }
    }
    (out, missing)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dump_sections_and_parameters() {
        let dump = "# Global parameters\n[global]\n\tworkgroup = ADMINS\n\n\n[docs]\n\tcomment = a = b\n\tpath = /srv/docs\n\tread only = No\n";
        let sections = parse_dump(dump);
        assert_eq!(sections.len(), 2);
        assert_eq!(sections[0].params["workgroup"], "ADMINS");
        assert_eq!(sections[1].name, "docs");
        assert_eq!(sections[1].params["comment"], "a = b");
        assert_eq!(sections[1].params["read only"], "No");
    }

    #[test]
    fn sections_are_cut_out_and_the_rest_stays_byte_for_byte() {
        let text = "# mine\n[global]\n  workgroup = X\n\n[Docs]\n  path = /srv/docs\n  comment = a \\\n[not a header]\n; kept?\n[odd]\n  path = /srv/odd\n[docs]\n  read only = no\n";
        let names: BTreeSet<String> = ["docs".to_string(), "gone".to_string()].into();
        let (out, missing) = remove_sections(text, &names);
        assert_eq!(out, "# mine\n[global]\n  workgroup = X\n\n[odd]\n  path = /srv/odd\n");
        assert_eq!(missing, ["gone".to_string()].into());
    }
}
