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
//!
//! Every write keeps what came before: `shares.cfg.bak` holds the content a write replaced, and
//! `history/` the last `HISTORY_KEEP` versions the gateway wrote (newest = what the gateway
//! believes is in effect). An emptied or vanished file can so be told from a deliberately empty
//! one, and restored. pmxcfs limits file sizes and has no hard links: plain small copies.

use std::path::{Path, PathBuf};
use std::time::Duration;

use smbgw_sys::{fs, lock};

use crate::digest::ConfigDigest;
use crate::section;
use crate::share::Share;
use crate::{Error, Result};

pub const SHARES_FILE: &str = "shares.cfg";
/// The content the last write replaced.
pub const BACKUP_FILE: &str = "shares.cfg.bak";
/// The versions the gateway wrote, one file each, named by their UTC time.
pub const HISTORY_DIR: &str = "history";
/// Versions kept in `history/`: enough to step back over a few changes, small for pmxcfs.
pub const HISTORY_KEEP: usize = 10;
const MODE: u32 = 0o640;
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
        // collected, then sorted once: inserting each share in order would be O(n²) at
        // thousands of shares; the first error in file order is still the one reported
        let mut shares: Vec<Share> = Vec::new();
        let mut seen: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
        for section in section::parse(text, origin, &[SECTION_TYPE], "share: NAME")? {
            let corrupt = |e: Error| section::corrupt(origin, section.line, e.message);
            let share = Share::from_stored(&section.name, &section.props).map_err(corrupt)?;
            match seen.entry(share.name.to_ascii_lowercase()) {
                std::collections::hash_map::Entry::Occupied(first) => {
                    return Err(corrupt(duplicate(&share.name, &shares[*first.get()].name)));
                }
                std::collections::hash_map::Entry::Vacant(slot) => {
                    slot.insert(shares.len());
                }
            }
            shares.push(share);
        }
        shares.sort_by(|a, b| key_cmp(&a.name, &b.name));
        Ok(SharesConfig { shares })
    }

    pub fn render(&self) -> String {
        section::render(
            self.shares
                .iter()
                .map(|share| (SECTION_TYPE, share.name.as_str(), share.to_properties())),
        )
    }

    pub fn shares(&self) -> &[Share] {
        &self.shares
    }

    pub fn is_empty(&self) -> bool {
        self.shares.is_empty()
    }

    pub fn names(&self) -> Vec<&str> {
        self.shares.iter().map(|s| s.name.as_str()).collect()
    }

    /// Where the share `name` is (`Ok`) or would go (`Err`): a binary search, the list being
    /// sorted by lower-cased name.
    fn position(&self, name: &str) -> std::result::Result<usize, usize> {
        self.shares.binary_search_by(|s| key_cmp(&s.name, name))
    }

    /// Look a share up; Samba share names are case-insensitive, so is this.
    pub fn get(&self, name: &str) -> Option<&Share> {
        self.position(name).ok().map(|i| &self.shares[i])
    }

    pub fn insert(&mut self, share: Share) -> Result<()> {
        match self.position(&share.name) {
            Ok(i) => Err(duplicate(&share.name, &self.shares[i].name)),
            Err(pos) => {
                self.shares.insert(pos, share);
                Ok(())
            }
        }
    }

    /// Replace the share of the same name.
    pub fn replace(&mut self, share: Share) -> Result<()> {
        match self.position(&share.name) {
            Ok(i) => {
                self.shares[i] = share;
                Ok(())
            }
            Err(_) => Err(not_found(&share.name)),
        }
    }

    pub fn remove(&mut self, name: &str) -> Result<Share> {
        match self.position(name) {
            Ok(pos) => Ok(self.shares.remove(pos)),
            Err(_) => Err(not_found(name)),
        }
    }
}

/// The order of share names: by their ASCII-lower-cased bytes, compared without allocating
/// (the same order as comparing `to_ascii_lowercase()` strings).
fn key_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    a.bytes()
        .map(|c| c.to_ascii_lowercase())
        .cmp(b.bytes().map(|c| c.to_ascii_lowercase()))
}

fn duplicate(name: &str, existing: &str) -> Error {
    Error::input(format!(
        "share '{name}' already exists (as '{existing}'); share names are unique regardless of case"
    ))
    .field("name")
}

fn not_found(name: &str) -> Error {
    Error::not_found(format!("share '{name}' does not exist")).field("name")
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
        Ok(self.read()?.0)
    }

    /// The config with the digest of the file as read (of nothing when there is no file).
    pub fn read(&self) -> Result<(SharesConfig, ConfigDigest)> {
        parse_bytes(self.raw()?, &self.path())
    }

    pub fn backup_path(&self) -> PathBuf {
        self.dir.join(BACKUP_FILE)
    }

    pub fn history_dir(&self) -> PathBuf {
        self.dir.join(HISTORY_DIR)
    }

    /// The versions the gateway wrote, oldest first.
    pub fn history(&self) -> Result<Vec<Version>> {
        let dir = self.history_dir();
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Error::io("reading", &dir, e)),
        };
        let mut versions: Vec<Version> = entries
            .flatten()
            .filter_map(|e| {
                let name = e.file_name().into_string().ok()?;
                let id = name.strip_suffix(".cfg")?;
                is_version_id(id).then(|| Version {
                    id: id.to_string(),
                    path: e.path(),
                })
            })
            .collect();
        versions.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(versions)
    }

    /// The config as the gateway last wrote it (`None`: no history yet, or it is unreadable).
    pub fn last_written(&self) -> Result<Option<SharesConfig>> {
        let Some(newest) = self.history()?.pop() else {
            return Ok(None);
        };
        Ok(newest.load().ok())
    }

    /// A plan step that makes `cfg` the config, keeping the replaced content in the backup and
    /// the new one in the history. `None` when the file already holds exactly this.
    pub fn write_step(&self, cfg: &SharesConfig) -> Result<Option<ConfigWrite>> {
        let step = ConfigWrite::new(self, cfg.render().into_bytes())?;
        Ok(step.changes().then_some(step))
    }

    /// A plan step that records the file as it is now (empty or missing) as the config the
    /// admin confirmed (`apply --force`): it is written empty and becomes the newest version.
    pub fn accept_empty_step(&self) -> Result<ConfigWrite> {
        ConfigWrite::new(self, Vec::new())
    }
}

fn parse_bytes(bytes: Option<Vec<u8>>, path: &Path) -> Result<(SharesConfig, ConfigDigest)> {
    let (text, digest) = section::text(bytes, path)?;
    Ok((SharesConfig::parse(&text, path)?, digest))
}

/// One version in `history/`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Version {
    /// Its UTC time, `YYYYMMDDTHHMMSS.NNNNNNNNNZ`: sorts by age, names the version for restore.
    pub id: String,
    pub path: PathBuf,
}

impl Version {
    pub fn load(&self) -> Result<SharesConfig> {
        match fs::read_optional(&self.path)? {
            Some(bytes) => Ok(parse_bytes(Some(bytes), &self.path)?.0),
            None => Err(Error::system(format!("{} vanished", self.path.display()))),
        }
    }
}

fn is_version_id(id: &str) -> bool {
    id.len() == 26
        && id.bytes().enumerate().all(|(i, b)| match i {
            8 => b == b'T',
            15 => b == b'.',
            25 => b == b'Z',
            _ => b.is_ascii_digit(),
        })
}

/// A version id for now: the UTC time to the nanosecond.
fn version_id_now() -> String {
    let now = smbgw_sys::time::since_epoch();
    version_id(now.as_secs(), now.subsec_nanos())
}

fn version_id(secs: u64, nanos: u32) -> String {
    // civil date from days since 1970-01-01 (Howard Hinnant's algorithm)
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}{month:02}{day:02}T{:02}{:02}{:02}.{nanos:09}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// Write the config file: the replaced content (when it held anything) goes to the backup,
/// the new content into the history, the oldest versions beyond `HISTORY_KEEP` are dropped.
/// Undo puts back all of it, so a rolled-back change leaves no version that never took effect.
pub struct ConfigWrite {
    dir: PathBuf,
    /// The config file itself (`Step::writes`: its write is a share operation's commit point).
    path: PathBuf,
    content: Vec<u8>,
    previous: Option<Vec<u8>>,
    previous_backup: Option<Vec<u8>>,
    recorded: Option<PathBuf>,
    pruned: Vec<(PathBuf, Vec<u8>)>,
}

impl ConfigWrite {
    fn new(store: &Store, content: Vec<u8>) -> Result<Self> {
        Ok(Self {
            dir: store.dir.clone(),
            path: store.path(),
            content,
            previous: store.raw()?,
            previous_backup: fs::read_optional(&store.backup_path())?,
            recorded: None,
            pruned: Vec::new(),
        })
    }

    pub fn changes(&self) -> bool {
        self.previous.as_deref() != Some(self.content.as_slice())
    }

    fn store(&self) -> Store {
        Store::new(&self.dir)
    }
}

impl crate::Step for ConfigWrite {
    fn describe(&self) -> String {
        let verb = if self.previous.is_some() { "update" } else { "create" };
        format!(
            "{verb} share config {} (previous version kept in {BACKUP_FILE} and {HISTORY_DIR}/)",
            self.store().path().display()
        )
    }

    fn apply(&mut self) -> Result<()> {
        let store = self.store();
        // an emptied file is no backup: it would overwrite the last good one
        if let Some(previous) = self.previous.as_ref().filter(|p| !p.trim_ascii().is_empty()) {
            fs::atomic_write(&store.backup_path(), previous, MODE)?;
        }
        let dir = store.history_dir();
        fs::create_dir_all(&dir, 0o750)?;
        let entry = dir.join(format!("{}.cfg", version_id_now()));
        fs::atomic_write(&entry, &self.content, MODE)?;
        self.recorded = Some(entry);
        let versions = store.history()?;
        for old in versions.iter().take(versions.len().saturating_sub(HISTORY_KEEP)) {
            if let Some(bytes) = fs::read_optional(&old.path)? {
                fs::remove_if_exists(&old.path)?;
                self.pruned.push((old.path.clone(), bytes));
            }
        }
        fs::atomic_write(&store.path(), &self.content, MODE)
    }

    fn undo(&mut self) -> Result<()> {
        let store = self.store();
        fs::restore(&store.path(), self.previous.as_deref(), MODE)?;
        for (path, bytes) in self.pruned.drain(..) {
            fs::atomic_write(&path, &bytes, MODE)?;
        }
        if let Some(entry) = self.recorded.take() {
            fs::remove_if_exists(&entry)?;
        }
        fs::restore(&store.backup_path(), self.previous_backup.as_deref(), MODE)
    }

    fn writes(&self) -> Option<(&Path, &[u8])> {
        Some((&self.path, &self.content))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::share::Properties;

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
        let err = cfg.insert(share("DATA")).unwrap_err();
        assert_eq!(err.field.as_deref(), Some("name"));
        assert!(cfg.replace(share("Data")).is_ok());
        assert_eq!(cfg.get("dAtA").unwrap().name, "Data");
        assert_eq!(cfg.remove("DATA").unwrap().name, "Data");
        assert!(cfg.is_empty());
    }

    #[test]
    fn loading_sorts_once_and_still_refuses_the_first_duplicate_by_its_line() {
        // written out of order: loading sorts as inserting one by one did
        let names: Vec<String> = (0..500).map(|i| format!("S{:03}", (i * 7919) % 500)).collect();
        let text: String = names.iter().map(|n| format!("share: {n}\n\tpath /srv/{n}\n")).collect();
        let cfg = SharesConfig::parse(&text, Path::new("/cfg")).unwrap();
        let mut inserted = SharesConfig::default();
        for n in &names {
            inserted.insert(share(n)).unwrap();
        }
        assert_eq!(cfg, inserted);
        assert_eq!(cfg.names()[..2], ["S000", "S001"]);
        assert_eq!(cfg.get("s499").unwrap().name, "S499");
        // "b" and "B" (line 7) come before the bad path of line 9: the duplicate is reported
        let text = "share: b\n\tpath /srv/b\nshare: a\n\tpath /srv/a\nshare: c\n\tpath /srv/c\n\
                    share: B\n\tpath /srv/B\nshare: d\n\tpath relative\nshare: A\n\tpath /srv/A\n";
        let err = SharesConfig::parse(text, Path::new("/cfg")).unwrap_err();
        assert!(err.message.contains("line 7:"), "{}", err.message);
        assert!(
            err.message.contains("share 'B' already exists (as 'b')"),
            "{}",
            err.message
        );
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

    fn write(store: &Store, cfg: &SharesConfig) {
        let mut step = store.write_step(cfg).unwrap().expect("a change");
        crate::Step::apply(&mut step).unwrap();
    }

    #[test]
    fn version_ids_are_utc_times_that_sort_by_age() {
        assert_eq!(version_id(0, 0), "19700101T000000.000000000Z");
        // 2024-02-29 23:59:59 UTC, a leap day
        assert_eq!(version_id(1_709_251_199, 7), "20240229T235959.000000007Z");
        assert!(is_version_id(&version_id_now()));
        assert!(version_id(1_709_251_199, 7) < version_id(1_709_251_200, 0));
        assert!(!is_version_id("20240229T235959.00000000xZ"));
    }

    #[test]
    fn writes_keep_the_replaced_content_and_a_bounded_history() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        let mut cfg = SharesConfig::default();
        cfg.insert(share("a")).unwrap();
        write(&store, &cfg);
        assert!(!store.backup_path().exists(), "nothing was replaced yet");
        let first = cfg.render();
        cfg.insert(share("b")).unwrap();
        write(&store, &cfg);
        assert_eq!(std::fs::read_to_string(store.backup_path()).unwrap(), first);
        assert_eq!(store.last_written().unwrap(), Some(cfg.clone()));
        use std::os::unix::fs::PermissionsExt;
        for path in [
            store.path(),
            store.backup_path(),
            store.history().unwrap()[0].path.clone(),
        ] {
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o640, "{}", path.display());
        }
        // the same content again is no change
        assert!(store.write_step(&cfg).unwrap().is_none());

        for i in 0..12 {
            cfg.insert(share(&format!("n{i}"))).unwrap();
            write(&store, &cfg);
        }
        let history = store.history().unwrap();
        assert_eq!(history.len(), HISTORY_KEEP);
        assert_eq!(history.last().unwrap().load().unwrap(), cfg);
        assert!(history.windows(2).all(|w| w[0].id < w[1].id));
    }

    #[test]
    fn an_emptied_file_never_replaces_the_backup_and_undo_restores_everything() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        let mut cfg = SharesConfig::default();
        cfg.insert(share("a")).unwrap();
        write(&store, &cfg);
        cfg.insert(share("b")).unwrap();
        write(&store, &cfg);
        let backup = std::fs::read(store.backup_path()).unwrap();
        let history = store.history().unwrap();

        std::fs::write(store.path(), "").unwrap();
        let mut accept = store.accept_empty_step().unwrap();
        crate::Step::apply(&mut accept).unwrap();
        assert_eq!(std::fs::read(store.backup_path()).unwrap(), backup);
        assert_eq!(store.last_written().unwrap(), Some(SharesConfig::default()));

        crate::Step::undo(&mut accept).unwrap();
        assert_eq!(store.history().unwrap(), history);
        assert_eq!(std::fs::read(store.path()).unwrap(), b"");
        assert_eq!(store.last_written().unwrap(), Some(cfg));
    }

    #[test]
    fn reads_carry_the_digest_of_the_bytes_and_missing_entries_are_not_found() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        let (empty, digest) = store.read().unwrap();
        assert!(empty.is_empty());
        assert_eq!(digest, ConfigDigest::of(b""), "no file: the digest of nothing");
        let mut cfg = SharesConfig::default();
        cfg.insert(share("a")).unwrap();
        write(&store, &cfg);
        let (read, digest) = store.read().unwrap();
        assert_eq!(read, cfg);
        assert_eq!(digest, ConfigDigest::of(cfg.render().as_bytes()));

        let err = cfg.remove("nosuch").unwrap_err();
        assert_eq!(
            (err.code, err.field.as_deref()),
            (Some(crate::ErrorCode::NotFound), Some("name"))
        );
        let err = cfg.insert(share("A")).unwrap_err();
        assert_eq!((err.code, err.field.as_deref()), (None, Some("name")));
    }
}
