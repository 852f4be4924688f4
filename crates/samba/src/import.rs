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
use std::sync::atomic::{AtomicU64, Ordering};

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

/// `text` (the unmanaged include as it is or will be) in a private copy, read the way smbd
/// reads it once carried: in a sandbox after the sandbox's own Samba directories, which the
/// generated smb.conf sets before its include (the registry, `include = registry`, is the one
/// in the state directory then; never the system's). Removed when dropped.
pub struct CarriedConf {
    pub path: PathBuf,
    copy: PathBuf,
}

impl CarriedConf {
    pub fn new(samba: &Samba, text: &str) -> Result<Self> {
        let dir = &samba.layout.state_dir;
        fs::create_dir_all(dir, 0o700)?;
        let stem = format!(
            "unmanaged-check.{}.{}",
            std::process::id(),
            COPIES.fetch_add(1, Ordering::Relaxed)
        );
        let copy = dir.join(format!("{stem}.admin.conf"));
        let path = dir.join(format!("{stem}.conf"));
        let wrapper = match &samba.layout.sandbox {
            Some(s) => {
                let samba_dir = s.root.join("samba");
                let d = |name: &str| samba_dir.join(name).display().to_string();
                format!(
                    "[global]\n\tstate directory = {}\n\tlock directory = {}\n\tprivate dir = {}\n\tcache directory = {}\n\tinclude = {}\n",
                    d("state"),
                    d("lock"),
                    d("private"),
                    d("cache"),
                    copy.display()
                )
            }
            None => format!("[global]\n\tinclude = {}\n", copy.display()),
        };
        let conf = Self { path, copy };
        std::fs::write(&conf.copy, text).map_err(|e| Error::io("writing", &conf.copy, e))?;
        std::fs::write(&conf.path, wrapper).map_err(|e| Error::io("writing", &conf.path, e))?;
        Ok(conf)
    }

    /// `net` on this configuration.
    pub fn net(&self, samba: &Samba) -> Command {
        Command::new("net").envs(&samba.env()).arg("-s").arg(&self.path)
    }
}

impl Drop for CarriedConf {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
        let _ = std::fs::remove_file(&self.copy);
    }
}

/// Tells the private copies of one process apart.
static COPIES: AtomicU64 = AtomicU64::new(0);

/// Run `testparm -s` on `text` (see `CarriedConf`) and return what Samba parsed.
pub fn parse_text(samba: &Samba, text: &str) -> Result<Vec<Section>> {
    let conf = CarriedConf::new(samba, text)?;
    let out = Command::new("testparm")
        .envs(&samba.env())
        .args(["-s", "--suppress-prompt"])
        .arg(&conf.path)
        .output()?;
    if !out.success() {
        return Err(Error::external(format!(
            "testparm cannot read the admin's Samba configuration ({}): {}",
            unmanaged_path(&samba.layout).display(),
            out.stderr.trim()
        )));
    }
    // testparm has read what the includes hold; the include lines themselves (ours among them)
    // are no parameters of a share
    let mut sections = parse_dump(&out.stdout);
    sections.iter_mut().for_each(|s| {
        s.params.remove("include");
    });
    Ok(sections)
}

/// The registry's shares as smbd will see them beside `text` (`net conf list`); none when the
/// registry is unreadable (it then serves nothing either).
pub fn registry_shares(samba: &Samba, text: &str) -> Vec<Section> {
    let Ok(conf) = CarriedConf::new(samba, text) else {
        return Vec::new();
    };
    match conf.net(samba).args(["conf", "list"]).output() {
        Ok(out) if out.success() => parse_dump(&out.stdout)
            .into_iter()
            .filter(|s| !s.name.eq_ignore_ascii_case("global"))
            .collect(),
        _ => Vec::new(),
    }
}

/// The admin's configuration held in `text`; `registry` adds the registry's shares.
pub fn read(samba: &Samba, text: &str, registry: bool) -> Result<LiveConfig> {
    let sections = parse_text(samba, text)?;
    let registry = if registry && registry_in_use(&sections) {
        registry_shares(samba, text)
    } else {
        Vec::new()
    };
    let in_registry: BTreeSet<String> = registry.iter().map(|s| s.name.to_ascii_lowercase()).collect();
    let mut live = LiveConfig {
        registry,
        ..Default::default()
    };
    for section in sections {
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
fn registry_in_use(sections: &[Section]) -> bool {
    sections
        .iter()
        .find(|s| s.name.eq_ignore_ascii_case("global"))
        .is_some_and(|g| {
            g.params
                .get("registry shares")
                .is_some_and(|v| v.eq_ignore_ascii_case("yes"))
                || g.params
                    .get("config backend")
                    .is_some_and(|v| v.eq_ignore_ascii_case("registry"))
        })
}

/// The admin's smb.conf as the unmanaged include carries it: as it is, except that
/// `config backend = registry` becomes `include = registry`. Anywhere in the files read, that
/// setting makes smbd drop every file and read only the registry (the gateway's shares too,
/// whatever follows); included, the registry's globals and shares stay in effect beside them.
pub fn carried_text(admin: &str) -> String {
    admin
        .split_inclusive('\n')
        .map(|line| {
            let bare: String = line.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_ascii_lowercase();
            if bare == "configbackend=registry" {
                let indent: String = line.chars().take_while(|c| c.is_whitespace()).collect();
                format!("{indent}# pve-smbgateway: '{}' read as an include, so the gateway's files stay in effect\n{indent}include = registry\n", line.trim())
            } else {
                line.to_string()
            }
        })
        .collect()
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

/// Samba's special sections, which the share model has no equivalent for.
const SPECIAL: &[&str] = &["homes", "printers", "print$"];

/// The VFS modules a share property stacks, as `import` maps them (see `smbgw_core::vfs`).
const MODULE_PROPERTIES: &[(&str, &str)] = &[
    ("streams_xattr", "streams"),
    ("fruit", "macos"),
    ("catia", "macos"),
    ("recycle", "recycle-bin"),
    ("shadow_copy2", "shadow-copies"),
    ("full_audit", "audit"),
];

/// The share's parameters as Samba applies them: the share defaults the admin's global section
/// sets (share parameters and parametric `module:option` ones), then the share's own. After
/// adoption the share is defined before the admin's include, so it would lose these.
pub fn effective(
    share: &Section,
    globals: &BTreeMap<String, String>,
    local: &BTreeSet<String>,
) -> BTreeMap<String, String> {
    let mut params: BTreeMap<String, String> = globals
        .iter()
        .filter(|(k, _)| local.contains(k.as_str()) || module_option(k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    params.extend(share.params.iter().map(|(k, v)| (k.clone(), v.clone())));
    params
}

/// A parametric `module:option` a share can set (a VFS module's), not a global one such as
/// `idmap config * : backend` or `rpc_server:spoolss`.
fn module_option(key: &str) -> bool {
    const GLOBAL_ONLY: &[&str] = &[
        "rpc_server",
        "rpc_daemon",
        "dcesrv",
        "smbd",
        "winbind",
        "idmap",
        "kdc",
        "passdb",
        "ldapsam",
    ];
    key.split_once(':')
        .is_some_and(|(module, _)| !module.contains(char::is_whitespace) && !GLOBAL_ONLY.contains(&module))
}

fn samba_bool(key: &str, value: &str) -> std::result::Result<bool, String> {
    match value.to_ascii_lowercase().as_str() {
        "yes" | "true" | "1" | "on" => Ok(true),
        "no" | "false" | "0" | "off" => Ok(false),
        _ => Err(format!("'{key} = {value}' is not a boolean")),
    }
}

/// A share's properties (the text form `Share::from_properties` validates) from its effective
/// Samba parameters, or why it has none: a parameter outside the share model and the allow
/// list (`smbgw_core::options`), a VFS module no property or option stacks, a variable in a
/// user list. What maps: path, comment, read only, browseable, guest ok, valid users (users,
/// `@`/`+` groups), hosts allow/deny, SMB encryption required, case sensitive, the VFS
/// modules of share properties, allow-listed options. Samba's defaults apply where the share
/// says nothing, so a share without `streams_xattr` is adopted with streams off.
pub fn map_share(
    name: &str,
    params: &BTreeMap<String, String>,
) -> std::result::Result<BTreeMap<String, String>, String> {
    if SPECIAL.iter().any(|s| s.eq_ignore_ascii_case(name)) {
        return Err(format!(
            "[{name}] is one of Samba's special sections; the share model has no equivalent"
        ));
    }
    let mut props = BTreeMap::new();
    let mut options = BTreeMap::new();
    let mut set = |k: &str, v: String| {
        props.insert(k.to_string(), v);
    };
    let flag = |b: bool| if b { "1" } else { "0" }.to_string();
    let Some(path) = params.get("path") else {
        return Err("it has no path".into());
    };
    set("path", path.clone());
    set("read-only", "1".into());
    set("streams", "0".into());
    set("acl-mode", "keep".into()); // the admin's owners, modes and ACLs stay the share's access
    for (key, value) in params {
        match key.as_str() {
            "path" => {}
            "comment" if !value.is_empty() => set("comment", value.clone()),
            "comment" => {}
            "read only" => set("read-only", flag(samba_bool(key, value)?)),
            "browseable" => set("browseable", flag(samba_bool(key, value)?)),
            "guest ok" => set("guest", flag(samba_bool(key, value)?)),
            "case sensitive" => set("case-sensitive", value.to_ascii_lowercase()),
            "server smb encrypt" | "smb encrypt" => match value.to_ascii_lowercase().as_str() {
                "required" | "mandatory" | "forced" => set("encrypt", "1".into()),
                "default" | "off" | "disabled" | "no" => {}
                _ => {
                    return Err(format!(
                        "'{key} = {value}': the share model knows only encryption required or not"
                    ))
                }
            },
            "valid users" => {
                let (mut users, mut groups) = (Vec::new(), Vec::new());
                for entry in value.split([' ', ',']).filter(|e| !e.is_empty()) {
                    if entry.contains('%') {
                        return Err(format!("'valid users = {value}' uses a Samba variable ({entry})"));
                    }
                    // '&' names an NIS netgroup, which the share model has no notion of
                    if entry.contains('&') {
                        return Err(format!("'valid users = {value}' names a netgroup ({entry})"));
                    }
                    match entry.strip_prefix(['@', '+']) {
                        Some(group) => groups.push(group.trim_start_matches(['@', '+']).to_string()),
                        None => users.push(entry.to_string()),
                    }
                }
                if !users.is_empty() {
                    set("users", users.join(","));
                }
                if !groups.is_empty() {
                    set("groups", groups.join(","));
                }
            }
            "hosts allow" | "hosts deny" => {
                let hosts: Vec<&str> = value.split([' ', ',', '\t']).filter(|e| !e.is_empty()).collect();
                set(&key.replace(' ', "-"), hosts.join(","));
            }
            "vfs objects" => {
                let mut rest = Vec::new();
                for module in value.split([' ', ',']).filter(|m| !m.is_empty()) {
                    match MODULE_PROPERTIES.iter().find(|(m, _)| *m == module) {
                        Some((_, property)) => set(property, "1".into()),
                        None if smbgw_core::vfs::ORDER.contains(&module)
                            && smbgw_core::vfs::owner(module).is_none() =>
                        {
                            rest.push(module)
                        }
                        None => {
                            return Err(format!(
                                "'vfs objects = {value}': module {module} is not one the gateway stacks"
                            ))
                        }
                    }
                }
                if !rest.is_empty() {
                    // the option names the whole stack (smbgw_core::options)
                    options.insert(
                        "vfs objects".to_string(),
                        value
                            .split([' ', ','])
                            .filter(|m| !m.is_empty())
                            .collect::<Vec<_>>()
                            .join(" "),
                    );
                }
            }
            _ => match smbgw_core::options::check(key, value) {
                Ok((k, v)) => {
                    options.insert(k, v);
                }
                Err(e) => {
                    return Err(if smbgw_core::options::canonical(key).is_err() {
                        format!("'{key} = {value}' is outside the share model and the allow list of options")
                    } else {
                        format!("'{key} = {value}': {}", e.message)
                    })
                }
            },
        }
    }
    if !options.is_empty() {
        set("options", smbgw_core::options::format(&options));
    }
    Ok(props)
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

    /// The admin's globals override the gateway's defaults, the gateway's owned ones win, and
    /// a registry backend is read as an include: checked with testparm.
    #[test]
    fn the_admins_configuration_beside_the_gateways() {
        let dir = tempfile::tempdir().unwrap();
        let layout = Layout::sandbox(dir.path(), "127.0.0.1".parse().unwrap(), 14999).unwrap();
        let admin = "[global]\n  workgroup = ADMINS\n  server min protocol = SMB3\n  smb ports = 445\n  Config Backend=registry\n[docs]\n  path = /srv/docs\n";
        let carried = carried_text(admin);
        assert_eq!(
            carried,
            "[global]\n  workgroup = ADMINS\n  server min protocol = SMB3\n  smb ports = 445\n  # pve-smbgateway: 'Config Backend=registry' read as an include, so the gateway's files stay in effect\n  include = registry\n[docs]\n  path = /srv/docs\n"
        );
        let globals = crate::render::Globals {
            unmanaged: Some(crate::render::Unmanaged { text: carried.clone() }),
            ..Default::default()
        };
        let conf = dir.path().join("smb.conf");
        let rendered = crate::render::render(&layout, &[], &globals, &conf, &dir.path().join("shares.d"));
        let (include, text) = rendered.unmanaged.clone().unwrap();
        assert_eq!(include, dir.path().join(UNMANAGED_FILE));
        assert_eq!(text, carried);
        let smb_conf = &rendered.smb_conf.1;
        let tail = &smb_conf[smb_conf.find("[global]\n\tinclude = ").expect("the include")..];
        assert!(tail.contains("\tsmb ports = 14999\n"), "{tail}");
        assert!(
            !tail.contains("workgroup"),
            "a standalone gateway leaves the workgroup to the admin: {tail}"
        );

        Samba::new(layout.clone()).create_sandbox_dirs().unwrap();
        std::fs::write(&conf, smb_conf).unwrap();
        std::fs::write(&include, &text).unwrap();
        let out = Command::new("testparm")
            .args(["-s", "--suppress-prompt"])
            .arg(&conf)
            .output()
            .unwrap();
        assert!(out.success(), "{}", out.stderr);
        let global = parse_dump(&out.stdout)
            .into_iter()
            .find(|s| s.name == "global")
            .unwrap();
        assert_eq!(global.params["workgroup"], "ADMINS");
        assert_eq!(
            global.params["server min protocol"], "SMB3",
            "the admin's choice wins over the default"
        );
        assert_eq!(
            global.params["smb ports"], "14999",
            "the sandbox's port is the gateway's"
        );
        assert!(
            !global.params.contains_key("config backend"),
            "file, the default: {:?}",
            global.params
        );
        assert_eq!(global.params["registry shares"], "Yes", "the registry is read");
        assert!(parse_dump(&out.stdout).iter().any(|s| s.name == "docs"));
    }

    fn params(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn shares_map_to_properties_with_samba_defaults() {
        let props = map_share(
            "docs",
            &params(&[
                ("path", "/srv/docs"),
                ("read only", "No"),
                ("valid users", "alice @staff +ops"),
                ("hosts allow", "10.0.0.0/8 192.168.1.0/24"),
                ("vfs objects", "recycle fruit streams_xattr"),
                ("create mask", "0660"),
            ]),
        )
        .unwrap();
        let want = params(&[
            ("path", "/srv/docs"),
            ("read-only", "0"),
            ("users", "alice"),
            ("groups", "staff,ops"),
            ("hosts-allow", "10.0.0.0/8,192.168.1.0/24"),
            ("recycle-bin", "1"),
            ("macos", "1"),
            ("streams", "1"),
            ("options", "create mask=0660"),
            ("acl-mode", "keep"),
        ]);
        assert_eq!(props, want);
        // Samba's defaults: read only, no streams module
        let plain = map_share("plain", &params(&[("path", "/srv/plain")])).unwrap();
        assert_eq!(
            plain,
            params(&[
                ("path", "/srv/plain"),
                ("read-only", "1"),
                ("streams", "0"),
                ("acl-mode", "keep")
            ])
        );
    }

    #[test]
    fn what_does_not_map_says_why() {
        let why = |pairs: &[(&str, &str)]| map_share("x", &params(pairs)).unwrap_err();
        assert!(
            why(&[("path", "/srv/x"), ("root preexec", "/bin/true")]).contains("'root preexec = /bin/true' is outside")
        );
        assert!(why(&[("path", "/srv/x"), ("vfs objects", "virusfilter")]).contains("virusfilter"));
        assert!(why(&[("path", "/srv/x"), ("valid users", "%S")]).contains("variable"));
        assert!(why(&[("path", "/srv/x"), ("valid users", "&admins")]).contains("netgroup"));
        assert!(why(&[("comment", "no path")]).contains("no path"));
        assert!(map_share("homes", &params(&[("path", "/home")]))
            .unwrap_err()
            .contains("special"));
        assert!(why(&[("path", "/srv/x"), ("create mask", "0999")]).contains("create mask"));
    }

    #[test]
    fn global_share_defaults_reach_each_share() {
        let globals = params(&[
            ("workgroup", "X"),
            ("read only", "No"),
            ("fruit:metadata", "stream"),
            ("idmap config * : backend", "tdb"),
        ]);
        let local: BTreeSet<String> = ["read only".to_string()].into();
        let share = Section {
            name: "a".into(),
            params: params(&[("path", "/srv/a")]),
        };
        assert_eq!(
            effective(&share, &globals, &local),
            params(&[("path", "/srv/a"), ("read only", "No"), ("fruit:metadata", "stream")])
        );
    }
}
