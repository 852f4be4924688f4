//! `import`: adopting the shares of the admin's own Samba configuration (the unmanaged include
//! converge.rs carries, and the registry) into the share config. Samba's own tools read them
//! (`smbgw_samba::import`); each maps to the share model or stays unmanaged with the reason.
//! One plan: the share config gains the adopted shares, the unmanaged include loses their
//! sections, registry shares leave the registry, smbd reloads; a failure undoes all of it.
//!
//! Decisions: a share that does not map (a parameter outside the model and the allow list, a
//! VFS module the gateway does not stack, a user who is not in passdb, a path another share
//! holds) stays served from the unmanaged include, unchanged: refusing it would unpublish it.
//! Share directories are adopted as they are (owner, mode, ACLs untouched); a quota is adopted
//! when it is the gateway's kind (a btrfs subvolume with a qgroup limit, a project quota with
//! the directory's project id). A name the share config already holds is a collision: every
//! one is listed and nothing is imported.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::Serialize;
use smbgw_core::store::SharesConfig;
use smbgw_core::{bail_field, validate, Error, Plan, Result, Share, Step};
use smbgw_samba::import::{self as live, Section};
use smbgw_samba::Samba;

use crate::{Change, Gateway};

/// A share of the admin's configuration and what `import` does with it.
#[derive(Clone, Debug, Serialize)]
pub struct ImportedShare {
    pub name: String,
    /// `file` (the unmanaged include) or `registry`.
    pub source: &'static str,
    /// The share's properties when adopted (or adoptable under `--dry-run`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub properties: Option<BTreeMap<String, String>>,
    /// Why it stays unmanaged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// What `import` did, or would do.
#[derive(Debug, Serialize)]
pub struct Import {
    #[serde(flatten)]
    pub change: Change,
    pub adopted: Vec<ImportedShare>,
    /// Shares left in the admin's configuration, each with the reason.
    pub kept: Vec<ImportedShare>,
}

/// A share that maps: the share, its properties, a note (an adopted quota).
type Adoptable = (Share, BTreeMap<String, String>, Option<String>);

impl Gateway {
    /// Adopt the admin's shares (`only`: these, by name), or under `dry_run` show the mapping.
    pub fn import(&self, only: &[String], dry_run: bool) -> Result<Import> {
        for name in only {
            validate::share_name(name).map_err(|e| e.field("share"))?;
        }
        let _lock = match dry_run {
            true => None,
            false => Some(self.store.lock()?),
        };
        let mut cfg = self.store.load()?;
        self.refuse_emptied(
            &cfg,
            "importing now would write a config holding only the imported shares",
        )?;
        let Some(text) = self.unmanaged_text()? else {
            if let Some(name) = only.first() {
                bail_field!("share", "share '{name}' is not in an admin's own Samba configuration: this node has none (smb.conf is the gateway's own)");
            }
            let change = self.execute(
                Plan::new(),
                dry_run,
                None,
                vec!["this node has no Samba configuration of the admin's own: nothing to import".into()],
            )?;
            return Ok(Import {
                change,
                adopted: Vec::new(),
                kept: Vec::new(),
            });
        };
        let config = live::read(&self.samba, &text, true)?;
        let local = live::local_parameters()?;
        let mut candidates: Vec<(&Section, &'static str)> = config
            .shares
            .iter()
            .map(|s| (s, "file"))
            .chain(config.registry.iter().map(|s| (s, "registry")))
            .collect();
        if !only.is_empty() {
            let known = config.names();
            if let Some(name) = only.iter().find(|n| !known.contains(&n.to_ascii_lowercase())) {
                bail_field!(
                    "share",
                    "share '{name}' is not in the admin's own Samba configuration; its shares are: {}",
                    candidates
                        .iter()
                        .map(|(s, _)| s.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                );
            }
            candidates.retain(|(s, _)| only.iter().any(|n| n.eq_ignore_ascii_case(&s.name)));
        }
        let collisions: Vec<&str> = candidates
            .iter()
            .filter(|(s, _)| cfg.get(&s.name).is_some())
            .map(|(s, _)| s.name.as_str())
            .collect();
        if !collisions.is_empty() {
            bail_field!(
                "share",
                "the gateway already has shares named {}: nothing was imported; rename or delete the gateway's shares first, or import the others with --share",
                collisions.iter().map(|n| format!("'{n}'")).collect::<Vec<_>>().join(", ")
            );
        }

        let passdb: BTreeSet<String> = smbgw_samba::users::list(&self.samba)?
            .into_iter()
            .map(|u| u.name)
            .collect();
        let (mut adopted, mut kept) = (Vec::new(), Vec::new());
        let mut notes = Vec::new();
        for (section, source) in candidates {
            let params = live::effective(section, &config.globals, &local);
            match self.adoptable(&section.name, &params, &cfg, &passdb) {
                Ok((share, props, note)) => {
                    notes.extend(note);
                    cfg.insert(share)?;
                    adopted.push(ImportedShare {
                        name: section.name.clone(),
                        source,
                        properties: Some(props),
                        reason: None,
                    });
                }
                Err(reason) => kept.push(ImportedShare {
                    name: section.name.clone(),
                    source,
                    properties: None,
                    reason: Some(reason),
                }),
            }
        }

        // the adopted file shares leave the unmanaged include; one defined in a file it
        // includes cannot, and stays unmanaged
        let from_file: BTreeSet<String> = adopted
            .iter()
            .filter(|a| a.source == "file")
            .map(|a| a.name.clone())
            .collect();
        let (remaining, elsewhere) = live::remove_sections(&text, &from_file);
        for item in adopted
            .iter_mut()
            .filter(|a| elsewhere.contains(&a.name.to_ascii_lowercase()))
        {
            cfg.remove(&item.name)?;
            item.properties = None;
            item.reason = Some(format!(
                "it is defined in a file the admin's configuration includes, not in {}: it stays there",
                live::unmanaged_path(&self.layout).display()
            ));
        }
        let (moved, adopted): (Vec<_>, Vec<_>) = adopted.into_iter().partition(|a| a.reason.is_some());
        kept.extend(moved);

        let mut plan = Plan::new();
        if !adopted.is_empty() {
            self.config_step(&cfg, &mut plan)?;
            for share in adopted.iter().filter(|a| a.source == "registry") {
                plan.push(LeaveRegistry::new(&self.samba, &text, &share.name)?);
            }
            let globals = smbgw_samba::render::Globals {
                unmanaged: self.unmanaged(Some(remaining))?,
                ..self.globals()?
            };
            self.samba_steps_with(&cfg, &globals, &mut plan, true)?;
        }
        let change = self.execute(plan, dry_run, None, notes)?;
        Ok(Import { change, adopted, kept })
    }

    /// The share `name` would become, its properties and a note, or why it cannot be adopted.
    fn adoptable(
        &self,
        name: &str,
        params: &BTreeMap<String, String>,
        cfg: &SharesConfig,
        passdb: &BTreeSet<String>,
    ) -> std::result::Result<Adoptable, String> {
        let mut props = live::map_share(name, params)?;
        let mut note = None;
        if let Some(path) = props.get("path").cloned() {
            if let Some((limit, backend)) = recognised_quota(Path::new(&path)) {
                let size = smbgw_core::size::format_size_exact(limit);
                props.insert("quota".into(), size.clone());
                props.insert("quota-backend".into(), backend.into());
                note = Some(format!("share '{name}': its {backend} quota of {size} is adopted"));
            }
        }
        let share = Share::from_properties(name, &props).map_err(|e| e.message)?;
        if let Some(user) = share
            .users
            .iter()
            .find(|u| validate::principal_domain(u).is_none() && !passdb.contains(*u))
        {
            return Err(format!("user '{user}' is not a Samba user (passdb); add it with 'pve-smbgateway user add {user}' and import again"));
        }
        self.check_share_accounts(&share).map_err(|e| e.message)?;
        self.check_domain_principals(&share).map_err(|e| e.message)?;
        smbgw_core::share::check_paths_apart(&share, cfg.shares()).map_err(|e| e.message)?;
        // what apply would leave out (a link in the path, a missing directory) stays unmanaged
        if let Some(reason) = crate::availability::unavailable_reason(&share) {
            return Err(reason);
        }
        Ok((share, props, note))
    }
}

/// A quota on `path` the gateway manages the same way: a btrfs subvolume with a qgroup limit,
/// or a project quota under the directory's own project id. Bytes and the backend's name.
fn recognised_quota(path: &Path) -> Option<(u64, &'static str)> {
    if smbgw_quota::btrfs::is_subvolume(path) {
        return smbgw_quota::btrfs::usage(path).ok()?.limit.map(|l| (l, "btrfs"));
    }
    if smbgw_quota::project::enabled(path) {
        return smbgw_quota::project::usage(path).ok()?.limit.map(|l| (l, "project"));
    }
    None
}

/// A registry share leaves the registry (`net conf delshare`); undone by importing its saved
/// definition again (`net conf import`). `net` reads the registry smbd reads beside the
/// admin's configuration (`import::CarriedConf`).
struct LeaveRegistry {
    samba: Samba,
    text: String,
    name: String,
    saved: String,
    done: bool,
}

impl LeaveRegistry {
    fn new(samba: &Samba, text: &str, name: &str) -> Result<Self> {
        let conf = live::CarriedConf::new(samba, text)?;
        let out = conf.net(samba).args(["conf", "showshare", name]).run()?;
        Ok(Self {
            samba: samba.clone(),
            text: text.to_string(),
            name: name.to_string(),
            saved: out.stdout,
            done: false,
        })
    }
}

impl Step for LeaveRegistry {
    fn describe(&self) -> String {
        format!("remove share '{}' from the registry (net conf delshare)", self.name)
    }
    fn apply(&mut self) -> Result<()> {
        let conf = live::CarriedConf::new(&self.samba, &self.text)?;
        conf.net(&self.samba).args(["conf", "delshare", &self.name]).run()?;
        self.done = true;
        Ok(())
    }
    fn undo(&mut self) -> Result<()> {
        if !self.done {
            return Ok(());
        }
        let conf = live::CarriedConf::new(&self.samba, &self.text)?;
        let file = self
            .samba
            .layout
            .state_dir
            .join(format!("registry-share.{}.conf", std::process::id()));
        std::fs::write(&file, &self.saved).map_err(|e| Error::io("writing", &file, e))?;
        let result = conf
            .net(&self.samba)
            .args(["conf", "import"])
            .arg(&file)
            .arg(&self.name)
            .run();
        let _ = std::fs::remove_file(&file);
        result.map(|_| ())
    }
}
