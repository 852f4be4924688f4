//! The share configuration: one text file in PVE section-config style, on PVE in the cluster
//! filesystem (`/etc/pve/smbgateway/shares.cfg`), replicated to every node.
//!
//! ```text
//! share: data
//!     mode native
//!     path /srv/data
//!     users alice,bob
//! ```
//! A file we cannot fully understand is an error that names the line: entries are never
//! dropped silently.

use std::path::{Path, PathBuf};
use std::time::Duration;

use smbgw_sys::{fs, lock};

use crate::share::{Properties, Share};
use crate::{bail_input, Error, Result};

pub const SHARES_FILE: &str = "shares.cfg";
const SECTION_TYPE: &str = "share";
/// Where pmxcfs, the Proxmox cluster filesystem, is mounted.
const PMXCFS: &str = "/etc/pve";
const LOCK_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SharesConfig {
    /// Sorted by lower-cased name: deterministic files, readable diffs.
    shares: Vec<Share>,
}

impl SharesConfig {
    pub fn parse(text: &str, origin: &Path) -> Result<Self> {
        let corrupt = |line: usize, what: String| {
            Error::system(format!(
                "config file '{}' is corrupt at line {line}: {what}; fix or restore the file (nothing was changed)",
                origin.display()
            ))
        };
        let mut cfg = SharesConfig::default();
        let mut current: Option<(usize, String, Properties)> = None;
        let finish = |cfg: &mut SharesConfig, section: Option<(usize, String, Properties)>| -> Result<()> {
            if let Some((line, name, props)) = section {
                let share = Share::from_stored(&name, &props).map_err(|e| corrupt(line, e.message))?;
                cfg.insert(share).map_err(|e| corrupt(line, e.message))?;
            }
            Ok(())
        };
        for (idx, raw) in text.lines().enumerate() {
            let line = idx + 1;
            if raw.trim().is_empty() || raw.trim_start().starts_with('#') {
                continue;
            }
            if raw.starts_with([' ', '\t']) {
                let Some((_, _, props)) = current.as_mut() else {
                    return Err(corrupt(line, "property outside of a section".into()));
                };
                let body = raw.trim();
                let (key, value) = body
                    .split_once([' ', '\t'])
                    .map(|(k, v)| (k, v.trim()))
                    .unwrap_or((body, ""));
                if props.insert(key.to_string(), value.to_string()).is_some() {
                    return Err(corrupt(line, format!("property '{key}' appears twice")));
                }
            } else {
                let Some((kind, name)) = raw.split_once(':') else {
                    return Err(corrupt(
                        line,
                        format!("expected a section header 'share: NAME', found {raw:?}"),
                    ));
                };
                if kind != SECTION_TYPE {
                    return Err(corrupt(line, format!("unknown section type '{kind}'")));
                }
                finish(&mut cfg, current.take())?;
                current = Some((line, name.trim().to_string(), Properties::new()));
            }
        }
        finish(&mut cfg, current.take())?;
        Ok(cfg)
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        for share in &self.shares {
            if !out.is_empty() {
                out.push('\n');
            }
            out.push_str(&format!("{SECTION_TYPE}: {}\n", share.name));
            for (key, value) in share.to_properties() {
                out.push_str(&format!("\t{key} {value}\n"));
            }
        }
        out
    }

    pub fn shares(&self) -> &[Share] {
        &self.shares
    }

    /// Look a share up; Samba share names are case-insensitive, so is this.
    pub fn get(&self, name: &str) -> Option<&Share> {
        self.shares.iter().find(|s| s.name.eq_ignore_ascii_case(name))
    }

    pub fn insert(&mut self, share: Share) -> Result<()> {
        if let Some(existing) = self.get(&share.name) {
            bail_input!(
                "share '{}' already exists (as '{}'); share names are unique regardless of case",
                share.name,
                existing.name
            );
        }
        let key = share.name.to_ascii_lowercase();
        let pos = self.shares.partition_point(|s| s.name.to_ascii_lowercase() < key);
        self.shares.insert(pos, share);
        Ok(())
    }

    /// Replace the share of the same name.
    pub fn replace(&mut self, share: Share) -> Result<()> {
        let slot = self
            .shares
            .iter_mut()
            .find(|s| s.name.eq_ignore_ascii_case(&share.name));
        match slot {
            Some(s) => {
                *s = share;
                Ok(())
            }
            None => bail_input!("share '{}' does not exist", share.name),
        }
    }

    pub fn remove(&mut self, name: &str) -> Result<Share> {
        match self.shares.iter().position(|s| s.name.eq_ignore_ascii_case(name)) {
            Some(pos) => Ok(self.shares.remove(pos)),
            None => bail_input!("share '{name}' does not exist"),
        }
    }
}

/// The config directory with its lock.
pub struct Store {
    dir: PathBuf,
}

impl Store {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    pub fn path(&self) -> PathBuf {
        self.dir.join(SHARES_FILE)
    }

    /// Serialise writers. Held for the whole validate-plan-apply cycle of one operation. In the
    /// cluster filesystem the lock is cluster-wide (PVE's own `cfs_lock` scheme), elsewhere a flock.
    pub fn lock(&self) -> Result<lock::Guard> {
        if let Ok(rel) = self.dir.strip_prefix(PMXCFS) {
            let id = format!("smbgateway-{}", rel.to_string_lossy().replace(['/', '.'], "_"));
            return Ok(lock::Guard::Cluster(lock::ClusterLock::acquire(
                &Path::new(PMXCFS).join("priv/lock"),
                &id,
                LOCK_TIMEOUT,
            )?));
        }
        fs::create_dir_all(&self.dir, 0o755)?;
        Ok(lock::Guard::Local(lock::lock_file(
            &self.dir.join(".shares.lock"),
            LOCK_TIMEOUT,
        )?))
    }

    /// The file's bytes as they are now (`None`: no file yet).
    pub fn raw(&self) -> Result<Option<Vec<u8>>> {
        fs::read_optional(&self.path())
    }

    pub fn load(&self) -> Result<SharesConfig> {
        let path = self.path();
        match self.raw()? {
            None => Ok(SharesConfig::default()),
            Some(bytes) => {
                let text = String::from_utf8(bytes).map_err(|_| {
                    Error::system(format!(
                        "config file '{}' is not valid UTF-8; fix or restore it",
                        path.display()
                    ))
                })?;
                SharesConfig::parse(&text, &path)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn share(name: &str) -> Share {
        let props: Properties = [("path".to_string(), format!("/srv/{name}"))].into();
        Share::from_properties(name, &props).unwrap()
    }

    #[test]
    fn round_trip_sorted() {
        let mut cfg = SharesConfig::default();
        cfg.insert(share("zeta")).unwrap();
        cfg.insert(share("Alpha")).unwrap();
        let text = cfg.render();
        assert!(
            text.starts_with("share: Alpha\n\tmode native\n\tpath /srv/Alpha\n\nshare: zeta\n"),
            "{text}"
        );
        assert_eq!(SharesConfig::parse(&text, Path::new("x")).unwrap(), cfg);
    }

    #[test]
    fn duplicate_names_case_insensitive() {
        let mut cfg = SharesConfig::default();
        cfg.insert(share("data")).unwrap();
        assert!(cfg.insert(share("DATA")).is_err());
    }

    #[test]
    fn corrupt_files_name_the_line() {
        for (text, line) in [
            ("share: a\n\tpath /srv/a\n\tbogus 1\n", 1),
            ("share: a\n\tpath /srv/a\n\tpath /srv/b\n", 3),
            ("\tpath /srv/a\n", 1),
            ("share: a\n\tpath /srv/a\nshare: A\n\tpath /srv/b\n", 3),
            ("share: a\n\tpath /srv/a\nvolume: b\n", 3),
            ("share: a\n\tpath relative\n", 1),
            ("garbage\n", 1),
        ] {
            let err = SharesConfig::parse(text, Path::new("/cfg")).unwrap_err();
            assert!(
                err.message.contains(&format!("line {line}:")),
                "{text:?}: {}",
                err.message
            );
            assert_eq!(err.kind, crate::ErrorKind::System);
        }
    }

    #[test]
    fn concurrent_writers_lose_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let handles: Vec<_> = (0..8)
            .map(|i| {
                let dir = dir.path().to_path_buf();
                std::thread::spawn(move || {
                    for j in 0..10 {
                        let store = Store::new(&dir);
                        let _guard = store.lock().unwrap();
                        let mut cfg = store.load().unwrap();
                        cfg.insert(share(&format!("s{i}x{j}"))).unwrap();
                        fs::atomic_write(&store.path(), cfg.render().as_bytes(), 0o640).unwrap();
                    }
                })
            })
            .collect();
        handles.into_iter().for_each(|h| h.join().unwrap());
        assert_eq!(Store::new(dir.path()).load().unwrap().shares().len(), 80);
    }
}
