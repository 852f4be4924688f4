//! The text format of the gateway's cluster-wide config files (`shares.cfg`, `ha.cfg`): PVE's
//! section config, as `PVE::SectionConfig` reads and writes `storage.cfg`. One header line
//! `TYPE: NAME`, then one indented `key value` line per property; a blank line between sections.
//!
//! ```text
//! share: data
//!     path /srv/data
//! ```
//! Each file's reader gives the sections their meaning; this module only splits and joins the
//! text, and names the line of anything it cannot read (entries are never dropped silently).
//! Every read also yields the digest of the bytes as read (`digest.rs`), for `update`/`delete`.

use std::collections::BTreeMap;
use std::path::Path;

use crate::digest::ConfigDigest;
use crate::{Error, Result};

/// One section as written: its type, its name, its properties and where its header stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Section {
    pub kind: String,
    pub name: String,
    /// Line number of the header, for messages about the whole section.
    pub line: usize,
    pub props: BTreeMap<String, String>,
}

/// The error for a file we cannot understand: which file, which line, that nothing changed.
pub fn corrupt(origin: &Path, line: usize, what: impl std::fmt::Display) -> Error {
    Error::system(format!(
        "config file '{}' is corrupt at line {line}: {what}; fix or restore the file (nothing was changed)",
        origin.display()
    ))
}

/// Split `text` into its sections, in file order. `kinds` are the section types the file may
/// hold; `example` names a valid header for the message about a line that is none.
pub fn parse(text: &str, origin: &Path, kinds: &[&str], example: &str) -> Result<Vec<Section>> {
    let mut sections: Vec<Section> = Vec::new();
    for (idx, raw) in text.lines().enumerate() {
        let line = idx + 1;
        if raw.trim().is_empty() || raw.trim_start().starts_with('#') {
            continue;
        }
        if raw.starts_with([' ', '\t']) {
            let Some(section) = sections.last_mut() else {
                return Err(corrupt(origin, line, "property outside of a section"));
            };
            let body = raw.trim();
            let (key, value) = body
                .split_once([' ', '\t'])
                .map(|(k, v)| (k, v.trim()))
                .unwrap_or((body, ""));
            if section.props.insert(key.to_string(), value.to_string()).is_some() {
                return Err(corrupt(origin, line, format!("property '{key}' appears twice")));
            }
        } else {
            let Some((kind, name)) = raw.split_once(':') else {
                return Err(corrupt(
                    origin,
                    line,
                    format!("expected a section header '{example}', found {raw:?}"),
                ));
            };
            if !kinds.contains(&kind) {
                return Err(corrupt(origin, line, format!("unknown section type '{kind}'")));
            }
            sections.push(Section {
                kind: kind.to_string(),
                name: name.trim().to_string(),
                line,
                props: BTreeMap::new(),
            });
        }
    }
    Ok(sections)
}

/// Join sections into the file's text: `(type, name, properties in the order to write)`.
pub fn render<'a, P>(sections: impl IntoIterator<Item = (&'a str, &'a str, P)>) -> String
where
    P: IntoIterator<Item = (&'a str, String)>,
{
    let mut out = String::new();
    for (kind, name, props) in sections {
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(&format!("{kind}: {name}\n"));
        for (key, value) in props {
            out.push_str(&format!("\t{key} {value}\n"));
        }
    }
    out
}

/// The text of a config file's bytes, with their digest (`None` bytes: no file, digest of
/// nothing, as PVE's cfs gives for a missing file).
pub fn text(bytes: Option<Vec<u8>>, origin: &Path) -> Result<(String, ConfigDigest)> {
    let bytes = bytes.unwrap_or_default();
    let digest = ConfigDigest::of(&bytes);
    let text = String::from_utf8(bytes).map_err(|_| {
        Error::system(format!(
            "config file '{}' is not valid UTF-8; fix or restore it",
            origin.display()
        ))
    })?;
    Ok((text, digest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_in_file_order_with_their_lines() {
        let text = "# comment\nnode: b\n\taddress 10.0.0.2\n\nnode: a\n    address 10.0.0.1\n";
        let sections = parse(text, Path::new("x"), &["node"], "node: NAME").unwrap();
        let names: Vec<_> = sections.iter().map(|s| (s.name.as_str(), s.line)).collect();
        assert_eq!(names, [("b", 2), ("a", 5)]);
        assert_eq!(sections[1].props["address"], "10.0.0.1");
        let again = render(sections.iter().map(|s| {
            (
                s.kind.as_str(),
                s.name.as_str(),
                s.props.iter().map(|(k, v)| (k.as_str(), v.clone())),
            )
        }));
        assert_eq!(again, "node: b\n\taddress 10.0.0.2\n\nnode: a\n\taddress 10.0.0.1\n");
    }
}
