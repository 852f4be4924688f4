//! An emptied share config is not "no shares". When shares.cfg is missing or holds no share
//! while this node still serves shares (generated includes exist), or while the last version
//! the gateway wrote held some, the file was most likely truncated or lost: converging it would
//! unpublish every share, and the next create would write a file holding only itself. Such a
//! store is refused until the admin restores a saved version (`config-restore`) or confirms the
//! empty config (`apply --force`). Also `config-history` and `config-restore` themselves.

use std::path::Path;

use serde::Serialize;
use smbgw_core::store::{SharesConfig, Version, BACKUP_FILE};
use smbgw_core::{bail_input, Error, Plan, Result};

use crate::{Change, Gateway};

/// The evidence that an empty store is not meant to be empty.
pub(crate) struct Emptied {
    /// Shares this node publishes now (its generated includes).
    pub published: Vec<String>,
    /// Shares of the last version the gateway wrote.
    pub last_written: Vec<String>,
}

/// One saved version of the share config, for `config-history`.
#[derive(Debug, Serialize)]
pub struct ConfigVersion {
    pub id: String,
    pub path: String,
    /// Its shares; `None` when the saved file cannot be read.
    pub shares: Option<Vec<String>>,
    /// Whether shares.cfg holds exactly this now.
    pub current: bool,
}

impl Gateway {
    /// `Some` when `cfg`, just loaded from the store, is empty but should not be.
    pub(crate) fn emptied(&self, cfg: &SharesConfig) -> Result<Option<Emptied>> {
        if !cfg.is_empty() {
            return Ok(None);
        }
        let last_written: Vec<String> = match self.store.last_written()? {
            // the gateway itself emptied it (the last share deleted, perhaps on another node of
            // the cluster, or an empty config confirmed): this node's includes are merely stale
            Some(last) if last.is_empty() => return Ok(None),
            Some(last) => last.names().into_iter().map(String::from).collect(),
            None => Vec::new(),
        };
        let published = published_shares(&self.layout.share_conf_dir);
        if published.is_empty() && last_written.is_empty() {
            return Ok(None);
        }
        Ok(Some(Emptied {
            published,
            last_written,
        }))
    }

    /// The refusal for an emptied store; `consequence` says what the refused operation would
    /// have done.
    pub(crate) fn emptied_error(&self, emptied: &Emptied, consequence: &str) -> Error {
        let path = self.store.path();
        let state = if path.exists() {
            "holds no share"
        } else {
            "does not exist"
        };
        let mut evidence = Vec::new();
        if !emptied.published.is_empty() {
            evidence.push(format!("this node still serves {}", emptied.published.join(", ")));
        }
        if !emptied.last_written.is_empty() {
            evidence.push(format!(
                "the last version the gateway wrote holds {}",
                emptied.last_written.join(", ")
            ));
        }
        Error::system(format!(
            "the share config {} {state}, but {}: {consequence}. Nothing was changed. If the file was lost, \
             restore the last saved version with 'pve-smbgateway config-restore' (versions in {}, the content \
             replaced by the last change in {}); if the shares are meant to go, confirm the empty config with \
             'pve-smbgateway apply --force' (it unpublishes them)",
            path.display(),
            evidence.join(" and "),
            self.store.history_dir().display(),
            self.store.path().with_file_name(BACKUP_FILE).display(),
        ))
    }

    /// Refuse to build on an emptied store (create, update).
    pub(crate) fn refuse_emptied(&self, cfg: &SharesConfig, consequence: &str) -> Result<()> {
        match self.emptied(cfg)? {
            Some(emptied) => Err(self.emptied_error(&emptied, consequence)),
            None => Ok(()),
        }
    }

    /// `config-history`: the saved versions of the share config, oldest first.
    pub fn config_history(&self) -> Result<Vec<ConfigVersion>> {
        let current = self.store.raw()?;
        let versions = self.store.history()?;
        Ok(versions
            .into_iter()
            .map(|v| {
                let bytes = smbgw_sys::fs::read_optional(&v.path).ok().flatten();
                ConfigVersion {
                    shares: v.load().ok().map(|c| c.names().into_iter().map(String::from).collect()),
                    current: bytes.is_some() && bytes == current,
                    path: v.path.display().to_string(),
                    id: v.id,
                }
            })
            .collect())
    }

    /// `config-restore [VERSION]`: make a saved version the share config again (by default
    /// the newest one that holds any share). The node converges on the next `apply`.
    pub fn config_restore(&self, id: Option<&str>, dry_run: bool) -> Result<Change> {
        let _lock = self.store.lock()?;
        let versions = self.store.history()?;
        let ids = || versions.iter().map(|v| v.id.as_str()).collect::<Vec<_>>().join(", ");
        let (version, cfg): (&Version, SharesConfig) = match id {
            Some(id) => {
                let Some(v) = versions.iter().find(|v| v.id == id) else {
                    if versions.is_empty() {
                        bail_input!("no saved version '{id}': the share config has no saved versions yet");
                    }
                    bail_input!("no saved version '{id}'; saved versions: {}", ids());
                };
                (v, v.load()?)
            }
            None => {
                let newest = versions
                    .iter()
                    .rev()
                    .find_map(|v| v.load().ok().filter(|c| !c.is_empty()).map(|c| (v, c)));
                match newest {
                    Some(found) => found,
                    None => bail_input!(
                        "no saved version of the share config holds any share (saved versions: {}); nothing to restore",
                        if versions.is_empty() { "none".into() } else { ids() }
                    ),
                }
            }
        };
        let mut plan = Plan::new();
        if let Some(step) = self.store.write_step(&cfg)? {
            plan.push(step);
        }
        let notes = vec![format!(
            "version {} holds {}; run 'pve-smbgateway apply' to serve it on this node",
            version.id,
            match cfg.is_empty() {
                true => "no share".to_string(),
                false => cfg.names().join(", "),
            }
        )];
        self.execute(plan, dry_run, None, notes)
    }
}

/// The share names of the generated includes in `dir` (their `[NAME]` line).
fn published_shares(dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "conf"))
        .filter_map(|e| {
            let text = std::fs::read_to_string(e.path()).ok()?;
            let line = text.lines().find(|l| l.trim_start().starts_with('['))?;
            let name = line.trim().strip_prefix('[')?.strip_suffix(']')?;
            Some(name.to_string())
        })
        .collect();
    names.sort();
    names
}

#[cfg(test)]
mod tests {
    use super::*;
    use smbgw_core::share::Properties;
    use smbgw_core::{Layout, Share, Step};

    fn gateway(dir: &Path) -> Gateway {
        Gateway::new(Layout::sandbox(dir, [127, 0, 0, 1].into(), 445).unwrap())
    }

    fn write(gw: &Gateway, names: &[&str]) {
        let mut cfg = SharesConfig::default();
        for name in names {
            let props: Properties = [("path".to_string(), format!("/srv/{name}"))].into();
            cfg.insert(Share::from_properties(name, &props).unwrap()).unwrap();
        }
        let mut step = gw.store.write_step(&cfg).unwrap().expect("a change");
        step.apply().unwrap();
    }

    #[test]
    fn empty_is_expected_only_when_nothing_says_otherwise() {
        let dir = tempfile::tempdir().unwrap();
        let gw = gateway(dir.path());
        let empty = SharesConfig::default();
        assert!(gw.emptied(&empty).unwrap().is_none(), "a new node");

        // an upgrade: no history yet, but the node serves a share
        std::fs::create_dir_all(&gw.layout.share_conf_dir).unwrap();
        let include = gw.layout.share_conf_dir.join("data.conf");
        std::fs::write(&include, "# Share 'data'\n[data]\n\tpath = /srv/data\n").unwrap();
        let found = gw.emptied(&empty).unwrap().expect("served shares");
        assert_eq!(
            (found.published, found.last_written),
            (vec!["data".to_string()], vec![])
        );

        // the last version written holds shares: the file was lost or truncated
        write(&gw, &["data", "more"]);
        std::fs::write(gw.store.path(), "").unwrap();
        let found = gw.emptied(&empty).unwrap().expect("history");
        assert_eq!(found.last_written, ["data", "more"]);
        let message = gw.emptied_error(&found, "it would hurt").message;
        assert!(message.contains("holds no share, but this node still serves data and the last version"));

        // the gateway wrote the empty config itself (last share deleted on another node): the
        // stale include of this node is no evidence
        write(&gw, &["data"]);
        write(&gw, &[]);
        assert!(gw.emptied(&empty).unwrap().is_none());
        let mut cfg = SharesConfig::default();
        let props: Properties = [("path".to_string(), "/srv/x".to_string())].into();
        cfg.insert(Share::from_properties("x", &props).unwrap()).unwrap();
        assert!(
            gw.emptied(&cfg).unwrap().is_none(),
            "a config with shares is never emptied"
        );
    }
}
