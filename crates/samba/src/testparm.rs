//! Validation with Samba's own parser. The complete configuration is rendered into a staging
//! directory first and must pass `testparm` there before any live file is replaced, and
//! testparm's reading of it must still hold the gateway's shares (an admin's file can turn the
//! whole configuration over to the registry, and smbd would then serve none of them).

use std::path::Path;

use smbgw_core::{Error, Result, Share};
use smbgw_sys::{fs, Command};

use crate::render::{self, Rendered};
use crate::Samba;

/// Check one smb.conf (and its includes) with testparm. testparm exits 0 on unknown parameter
/// names, so its messages are checked too.
pub fn check_file(samba: &Samba, smb_conf: &Path) -> Result<String> {
    let out = Command::new("testparm")
        .envs(&samba.env())
        .args(["-s", "--suppress-prompt"])
        .arg(smb_conf)
        .output()?;
    let complaints: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| {
            let l = l.to_ascii_lowercase();
            l.contains("unknown parameter") || l.contains("ignoring") || l.contains("error") || l.contains("invalid")
        })
        .collect();
    if !out.success() || !complaints.is_empty() {
        // the templates are tested; what testparm rejects comes from the values given
        return Err(Error::input(format!(
            "the resulting Samba configuration is invalid (testparm on {}): {}",
            smb_conf.display(),
            if complaints.is_empty() {
                out.stderr.trim().to_string()
            } else {
                complaints.join(" / ")
            }
        )));
    }
    Ok(out.stdout)
}

/// Every VFS module a share uses must be installed, or smbd refuses the share at connect time
/// while testparm says nothing.
pub fn check_vfs_modules(rendered: &Rendered) -> Result<()> {
    let mut needed = std::collections::BTreeSet::new();
    for text in rendered.shares.values() {
        for line in text.lines() {
            if let Some(list) = line.trim().strip_prefix("vfs objects = ") {
                needed.extend(list.split_whitespace().map(String::from));
            }
        }
    }
    if needed.is_empty() {
        return Ok(());
    }
    let dir = modules_dir()?;
    let missing: Vec<String> = needed
        .into_iter()
        .filter(|m| !dir.join("vfs").join(format!("{m}.so")).exists())
        .collect();
    if !missing.is_empty() {
        return Err(Error::system(format!(
            "Samba VFS module(s) {} not installed in {}/vfs; install the package samba-vfs-modules",
            missing.join(", "),
            dir.display()
        )));
    }
    Ok(())
}

fn modules_dir() -> Result<std::path::PathBuf> {
    let out = Command::new("smbd").arg("-b").run()?;
    out.stdout
        .lines()
        .find_map(|l| l.trim().strip_prefix("MODULESDIR:").map(|d| d.trim().into()))
        .ok_or_else(|| Error::system("'smbd -b' does not name its MODULESDIR"))
}

/// Staging directories (`state/staging.PID`) whose process died before it removed them.
pub fn stale_staging_dirs(layout: &smbgw_core::Layout) -> Vec<std::path::PathBuf> {
    let Ok(entries) = std::fs::read_dir(&layout.state_dir) else {
        return Vec::new();
    };
    let mut stale: Vec<_> = entries
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .filter(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.strip_prefix("staging.")
                .and_then(|pid| pid.parse::<i32>().ok())
                .is_some_and(|pid| !fs::pid_alive(pid))
        })
        .map(|e| e.path())
        .collect();
    stale.sort();
    stale
}

/// The section name a share include defines (`[name]`, its first section).
fn section_name(include: &str) -> Option<&str> {
    include
        .lines()
        .find_map(|l| l.trim().strip_prefix('[').and_then(|l| l.strip_suffix(']')))
}

/// Every share include staged must be a section of testparm's reading of the whole
/// configuration: Samba drops every file share, silently, when any file it reads says `config
/// backend = registry` (smb.conf(5)); the gateway rewrites that line in the admin's smb.conf
/// only, so one in a file the admin's includes would leave smbd serving none of the gateway's
/// shares while the files look right. Refused as Samba's doing (exit 3), naming the shares.
fn check_served<'a>(includes: impl Iterator<Item = &'a str>, parsed: &str, unmanaged: Option<&Path>) -> Result<()> {
    let sections: std::collections::BTreeSet<String> = parsed
        .lines()
        .filter_map(|l| l.trim().strip_prefix('[').and_then(|l| l.strip_suffix(']')))
        .map(str::to_ascii_lowercase)
        .collect();
    let missing: Vec<&str> = includes
        .filter_map(section_name)
        .filter(|name| !sections.contains(&name.to_ascii_lowercase()))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(Error::external(format!(
        "Samba would not serve share(s) {} (testparm's reading of the whole configuration has no such section): {}; nothing was changed",
        missing.iter().map(|n| format!("'{n}'")).collect::<Vec<_>>().join(", "),
        match unmanaged {
            Some(path) => format!(
                "most likely a file the admin's configuration ({}) includes says 'config backend = registry', which turns the whole configuration over to the registry; replace that line with 'include = registry'",
                path.display()
            ),
            None => "most likely an included file says 'config backend = registry', which turns the whole configuration over to the registry".to_string(),
        }
    )))
}

/// Render the configuration for `shares`, validate it in a staging directory, and return the
/// files as they must go live. The staged copy holds the global section and the includes that
/// differ from the live ones: unchanged includes passed testparm when they went live, and
/// checking a thousand of them again would make every single change slow.
pub fn render_validated(samba: &Samba, shares: &[Share], globals: &render::Globals) -> Result<Rendered> {
    let layout = &samba.layout;
    samba.create_sandbox_dirs()?;
    fs::create_dir_all(&layout.state_dir, 0o700)?;
    let live = render::render(layout, shares, globals, &layout.smb_conf, &layout.share_conf_dir);
    let mut changed: std::collections::BTreeSet<_> = live
        .shares
        .iter()
        .filter(|(path, text)| fs::read_optional(path).ok().flatten().as_deref() != Some(text.as_bytes()))
        .filter_map(|(path, _)| path.file_name().map(|n| n.to_owned()))
        .collect();
    // one share at least is staged, so that a configuration serving none of them is seen
    if let Some(first) = live.shares.keys().next().and_then(|p| p.file_name()) {
        changed.insert(first.to_owned());
    }

    let staging = layout.state_dir.join(format!("staging.{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&staging);
    fs::create_dir_all(&staging.join("shares.d"), 0o700)?;
    let result = (|| {
        let staged = render::render(
            layout,
            shares,
            globals,
            &staging.join("smb.conf"),
            &staging.join("shares.d"),
        );
        let is_changed = |p: &Path| p.file_name().is_some_and(|n| changed.contains(n));
        // the global section as it goes live, including only the changed shares
        let global: String = staged
            .smb_conf
            .1
            .lines()
            .filter(|l| {
                // only the shares' includes are left out; the admin's (unmanaged) one is checked
                l.trim()
                    .strip_prefix("include = ")
                    .is_none_or(|p| is_changed(Path::new(p)) || !Path::new(p).starts_with(staging.join("shares.d")))
            })
            .map(|l| format!("{l}\n"))
            .collect();
        let files = std::iter::once((&staged.smb_conf.0, &global))
            .chain(staged.shares.iter().filter(|(p, _)| is_changed(p)))
            .chain(staged.dfree_helper.as_ref().map(|(p, t)| (p, t)))
            .chain(staged.unmanaged.as_ref().map(|(p, t)| (p, t)));
        for (path, text) in files {
            // throw-away copies: no fsync, no rename
            std::fs::write(path, text.as_bytes()).map_err(|e| Error::io("writing", path, e))?;
        }
        let parsed = check_file(samba, &staged.smb_conf.0)?;
        let staged_shares = staged
            .shares
            .iter()
            .filter(|(p, _)| is_changed(p))
            .map(|(_, t)| t.as_str());
        check_served(
            staged_shares,
            &parsed,
            live.unmanaged.as_ref().map(|(p, _)| p.as_path()),
        )
    })();
    let _ = std::fs::remove_dir_all(&staging);
    result?;
    check_vfs_modules(&live)?;
    Ok(live)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A staged share missing from testparm's reading is refused as Samba's (exit 3), named,
    /// with the registry takeover as the likely cause; present in any case, it passes.
    #[test]
    fn every_staged_share_must_be_served() {
        let includes = ["[Docs]\n   path = /srv/docs\n", "[gw]\n   path = /srv/gw\n"];
        let parsed = "[global]\n\tworkgroup = X\n\n[docs]\n\tpath = /srv/docs\n\n[gw]\n\tpath = /srv/gw\n";
        check_served(includes.into_iter(), parsed, None).unwrap();
        let registry_only = "[global]\n\tconfig backend = registry\n";
        let err = check_served(
            includes.into_iter(),
            registry_only,
            Some(Path::new("/etc/samba/smbgateway-unmanaged.conf")),
        )
        .unwrap_err();
        assert_eq!(err.kind.exit_code(), 3, "{}", err.message);
        assert!(err.message.contains("'Docs', 'gw'"), "{}", err.message);
        assert!(
            err.message.contains("smbgateway-unmanaged.conf") && err.message.contains("config backend = registry"),
            "{}",
            err.message
        );
    }
}
