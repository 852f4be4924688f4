//! btrfs: every quota share is its own subvolume, limited by its level-0 qgroup (`max_rfer`).
//! Subvolumes are created and deleted by ioctl on a handle of their parent, and limits are set
//! on a handle of the subvolume: the share's parent may be writable by users (DESIGN.md §9).
//! Reads (usage, `qgroup show`) still go by path: they change nothing. `Btrfs` is its
//! `backend::StorageBackend`.

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use std::ffi::OsStr;
use std::os::fd::AsRawFd;
use std::rc::Rc;

use smbgw_core::plan::FnStep;
use smbgw_core::size::format_size;
use smbgw_core::{bail_input, Error, Plan, QuotaBackend, Result};
use smbgw_sys::safe_fs::{self, Dir};
use smbgw_sys::Command;

use crate::backend::{self, Enforced, FsFacts, PlannedVolume, QuotaFacts, StorageBackend, Volume, VolumeRequest};
use crate::Usage;

/// The root directory of every btrfs subvolume has inode number 256.
const SUBVOLUME_ROOT_INODE: u64 = 256;

pub fn is_subvolume(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.ino() == SUBVOLUME_ROOT_INODE)
        && crate::detect(path).ok().flatten() == Some(smbgw_core::QuotaBackend::Btrfs)
}

#[repr(C)]
struct VolArgs {
    fd: i64,
    name: [u8; 4088],
}

nix::ioctl_write_ptr!(btrfs_ioc_subvol_create, 0x94, 14, VolArgs);
nix::ioctl_write_ptr!(btrfs_ioc_snap_destroy, 0x94, 15, VolArgs);

fn vol_args(name: &std::ffi::OsStr, path: &Path) -> Result<VolArgs> {
    use std::os::unix::ffi::OsStrExt;
    let bytes = name.as_bytes();
    let mut args = VolArgs { fd: 0, name: [0; 4088] };
    if bytes.len() >= args.name.len() || bytes.contains(&0) {
        return Err(Error::input(format!(
            "{}: name too long for a btrfs subvolume",
            path.display()
        )));
    }
    args.name[..bytes.len()].copy_from_slice(bytes);
    Ok(args)
}

/// Create the subvolume `path` (BTRFS_IOC_SUBVOL_CREATE on its parent's handle, opened without
/// following links: not `btrfs subvolume create PATH`, which follows whatever a user put at the
/// parent's name), set its mode through a handle on it, and return that handle.
pub fn create_subvolume(path: &Path, mode: u32) -> Result<Dir> {
    let (parent, name) = safe_fs::open_parent(path)?;
    create_subvolume_in(&parent, &name, mode)
}

/// `create_subvolume` of `name` in the trusted handle `parent`.
pub fn create_subvolume_in(parent: &Dir, name: &std::ffi::OsStr, mode: u32) -> Result<Dir> {
    let path = &parent.path().join(name);
    let name = name.to_os_string();
    let args = vol_args(&name, path)?;
    unsafe { btrfs_ioc_subvol_create(parent.fd().as_raw_fd(), &args) }
        .map_err(|e| Error::system(format!("creating btrfs subvolume {} failed: {e}", path.display())))?;
    let subvolume = parent.open_child(&name).map_err(|e| {
        Error::system(format!(
            "{} was replaced right after it was created ({e}); not using it",
            path.display()
        ))
    })?;
    let st = subvolume.stat()?;
    if st.ino != SUBVOLUME_ROOT_INODE || st.uid != nix::unistd::geteuid().as_raw() {
        return Err(Error::system(format!(
            "{} was replaced right after it was created; not using it",
            path.display()
        )));
    }
    subvolume.chmod(mode)?;
    Ok(subvolume)
}

/// Delete the subvolume `path` (BTRFS_IOC_SNAP_DESTROY by name on its parent's handle), only
/// if it still is the subvolume with `identity` (device, inode) when given.
pub fn delete_subvolume(path: &Path, identity: Option<(u64, u64)>) -> Result<()> {
    let (parent, name) = safe_fs::open_parent(path)?;
    delete_subvolume_in(&parent, &name, identity)
}

/// `delete_subvolume` of `name` in the trusted handle `parent`.
pub fn delete_subvolume_in(parent: &Dir, name: &std::ffi::OsStr, identity: Option<(u64, u64)>) -> Result<()> {
    let path = &parent.path().join(name);
    let name = name.to_os_string();
    let subvolume = parent.open_child(&name)?;
    let st = subvolume.stat()?;
    if st.ino != SUBVOLUME_ROOT_INODE || identity.is_some_and(|id| id != st.identity()) {
        return Err(Error::system(format!(
            "{} is no longer the subvolume the gateway checked; not deleting it",
            path.display()
        )));
    }
    drop(subvolume);
    let args = vol_args(&name, path)?;
    unsafe { btrfs_ioc_snap_destroy(parent.fd().as_raw_fd(), &args) }
        .map_err(|e| Error::system(format!("deleting btrfs subvolume {} failed: {e}", path.display())))?;
    Ok(())
}

/// A path the `btrfs` program can use for the subvolume at `path` without resolving `path`
/// again: our process's handle on it, as `/proc/PID/fd/N` (a magic link to exactly the
/// directory we opened without following links). The handle must outlive the program run.
fn held(path: &Path) -> Result<(Dir, String)> {
    let dir = Dir::open(path)?;
    let proc_path = format!("/proc/{}/fd/{}", std::process::id(), dir.fd().as_raw_fd());
    Ok((dir, proc_path))
}

pub fn quota_enabled(path: &Path) -> Result<bool> {
    let out = Command::new("btrfs")
        .args(["qgroup", "show", "--raw"])
        .arg(path)
        .output()?;
    if out.success() {
        return Ok(true);
    }
    if out.stderr.contains("quotas not enabled") {
        return Ok(false);
    }
    Err(Error::external(format!(
        "'btrfs qgroup show {}' failed: {}",
        path.display(),
        out.stderr.trim()
    )))
}

pub fn enable_quota(path: &Path) -> Result<()> {
    let (_dir, held) = held(path)?;
    Command::new("btrfs").args(["quota", "enable", &held]).run()?;
    Ok(())
}

pub fn disable_quota(path: &Path) -> Result<()> {
    let (_dir, held) = held(path)?;
    Command::new("btrfs").args(["quota", "disable", &held]).run()?;
    Ok(())
}

/// Limit the subvolume at `path`. The limit goes to the subvolume we hold open (see `held`):
/// a user who can rename the share's parent cannot redirect it to another subvolume.
pub fn set_limit(path: &Path, limit: Option<u64>) -> Result<()> {
    let value = limit.map_or("none".to_string(), |l| l.to_string());
    let (_dir, held) = held(path)?;
    Command::new("btrfs")
        .args(["qgroup", "limit", &value, &held])
        .run()
        .map_err(|e| e.context(format!("limiting {}", path.display())))?;
    Ok(())
}

/// Usage of the subvolume at `path`. Syncs first: qgroup numbers are only updated when a
/// transaction commits.
pub fn usage(path: &Path) -> Result<Usage> {
    Command::new("btrfs").args(["filesystem", "sync"]).arg(path).run()?;
    let out = Command::new("btrfs")
        .args(["qgroup", "show", "-reF", "--raw"])
        .arg(path)
        .run()?;
    parse_qgroup_show(&out.stdout, path)
}

#[repr(C)]
struct InoLookupArgs {
    treeid: u64,
    objectid: u64,
    name: [u8; 4080],
}

nix::ioctl_readwrite!(btrfs_ioc_ino_lookup, 0x94, 18, InoLookupArgs);

/// The id of the subvolume `path` belongs to (BTRFS_IOC_INO_LOOKUP with the root object id: no
/// external program, no privilege needed).
pub fn subvolume_id(path: &Path) -> Result<u64> {
    let dir = std::fs::File::open(path).map_err(|e| Error::io("opening", path, e))?;
    let mut args = InoLookupArgs {
        treeid: 0,
        objectid: SUBVOLUME_ROOT_INODE,
        name: [0; 4080],
    };
    unsafe { btrfs_ioc_ino_lookup(std::os::fd::AsRawFd::as_raw_fd(&dir), &mut args) }
        .map_err(|e| Error::system(format!("BTRFS_IOC_INO_LOOKUP on {}: {e}", path.display())))?;
    Ok(args.treeid)
}

/// What the kernel enforces on a subvolume.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Enforcement {
    /// Quotas are disabled on the filesystem: no limit holds.
    QuotasDisabled,
    /// The level-0 qgroup's referenced limit (`None`: no limit).
    Limit(Option<u64>),
}

#[repr(C)]
struct FsInfoArgs {
    max_id: u64,
    num_devices: u64,
    fsid: [u8; 16],
    rest: [u8; 992],
}

nix::ioctl_read!(btrfs_ioc_fs_info, 0x94, 31, FsInfoArgs);

/// The kernel's qgroup limit flag for `max_referenced` (BTRFS_QGROUP_LIMIT_MAX_RFER).
const LIMIT_MAX_RFER: u64 = 1;

/// The id of the btrfs filesystem `path` is on (BTRFS_IOC_FS_INFO, no program): the same for
/// all of its subvolumes, while each subvolume has its own `st_dev`.
pub fn fsid(path: &Path) -> Result<[u8; 16]> {
    let dir = std::fs::File::open(path).map_err(|e| Error::io("opening", path, e))?;
    let mut info = FsInfoArgs {
        max_id: 0,
        num_devices: 0,
        fsid: [0; 16],
        rest: [0; 992],
    };
    unsafe { btrfs_ioc_fs_info(std::os::fd::AsRawFd::as_raw_fd(&dir), &mut info) }
        .map_err(|e| Error::system(format!("BTRFS_IOC_FS_INFO on {}: {e}", path.display())))?;
    Ok(info.fsid)
}

/// What the kernel enforces on the subvolume at `path`, read from sysfs
/// (`/sys/fs/btrfs/FSID/qgroups/0_ID/`): no program runs, so a health check cannot hang on a
/// stuck btrfs tool. `None` when sysfs does not show the filesystem (not mounted here): ask
/// `quota_enabled` and `usage` instead.
pub fn enforcement(path: &Path) -> Result<Option<Enforcement>> {
    let hex: String = fsid(path)?.iter().map(|b| format!("{b:02x}")).collect();
    let uuid = format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    );
    let fs = Path::new("/sys/fs/btrfs").join(uuid);
    if !fs.is_dir() {
        return Ok(None);
    }
    let qgroups = fs.join("qgroups");
    if !qgroups.is_dir() {
        return Ok(Some(Enforcement::QuotasDisabled));
    }
    let qgroup = qgroups.join(format!("0_{}", subvolume_id(path)?));
    let read = |name: &str| -> Result<u64> {
        let file = qgroup.join(name);
        let text = std::fs::read_to_string(&file).map_err(|e| Error::io("reading", &file, e))?;
        text.trim()
            .parse()
            .map_err(|_| Error::system(format!("unexpected content in {}: {text:?}", file.display())))
    };
    if !qgroup.is_dir() {
        // quotas on, but this subvolume has no qgroup (created while they were off)
        return Ok(Some(Enforcement::Limit(None)));
    }
    let limited = read("limit_flags")? & LIMIT_MAX_RFER != 0;
    Ok(Some(Enforcement::Limit(
        limited.then(|| read("max_referenced")).transpose()?,
    )))
}

/// Usage of many subvolumes with one sync and one `qgroup show` per filesystem, instead of two
/// programs per share: `quota-sample` and the dfree figures read every quota share.
pub fn usage_many(paths: &[&Path]) -> Result<Vec<Usage>> {
    let mut by_fs: std::collections::BTreeMap<[u8; 16], Vec<usize>> = std::collections::BTreeMap::new();
    for (i, p) in paths.iter().enumerate() {
        // by filesystem, not st_dev: every subvolume has a device number of its own
        by_fs.entry(fsid(p)?).or_default().push(i);
    }
    let mut out = vec![Usage { used: 0, limit: None }; paths.len()];
    for indices in by_fs.values() {
        let probe = paths[indices[0]];
        Command::new("btrfs").args(["filesystem", "sync"]).arg(probe).run()?;
        let text = Command::new("btrfs")
            .args(["qgroup", "show", "-re", "--raw"])
            .arg(probe)
            .run()?
            .stdout;
        let table = parse_qgroup_table(&text);
        for &i in indices {
            let id = subvolume_id(paths[i])?;
            out[i] = *table
                .get(&id)
                .ok_or_else(|| Error::external(format!("btrfs reports no qgroup 0/{id} for {}", paths[i].display())))?;
        }
    }
    Ok(out)
}

/// Every level-0 qgroup of the filesystem `probe` is on, after a sync (`None`: quotas are
/// off): one sync and one `qgroup show` for all of its subvolumes.
pub fn qgroups(probe: &Path) -> Result<Option<std::collections::BTreeMap<u64, Usage>>> {
    Command::new("btrfs").args(["filesystem", "sync"]).arg(probe).run()?;
    let out = Command::new("btrfs")
        .args(["qgroup", "show", "-re", "--raw"])
        .arg(probe)
        .output()?;
    if out.success() {
        return Ok(Some(parse_qgroup_table(&out.stdout)));
    }
    if out.stderr.contains("quotas not enabled") {
        return Ok(None);
    }
    Err(Error::external(format!(
        "'btrfs qgroup show {}' failed: {}",
        probe.display(),
        out.stderr.trim()
    )))
}

/// `qgroups` of the filesystem of `path`, read once per plan (`facts`, keyed by the fsid).
fn qgroups_of(path: &Path, facts: &QuotaFacts) -> Result<Rc<Option<std::collections::BTreeMap<u64, Usage>>>> {
    match fsid(path) {
        Ok(id) => facts.get_or_read(QuotaBackend::Btrfs, &id, || qgroups(path)),
        // not on a btrfs we can ask (unmounted?): the btrfs tool names the problem
        Err(_) => Ok(Rc::new(qgroups(path)?)),
    }
}

/// All level-0 qgroups of `btrfs qgroup show -re --raw`, by subvolume id.
pub fn parse_qgroup_table(text: &str) -> std::collections::BTreeMap<u64, Usage> {
    text.lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            let id = f.first()?.strip_prefix("0/")?.parse().ok()?;
            let used = f.get(1)?.parse().ok()?;
            let limit = match *f.get(3)? {
                "none" => None,
                v => Some(v.parse().ok()?),
            };
            Some((id, Usage { used, limit }))
        })
        .collect()
}

/// Parse `btrfs qgroup show -reF --raw` (btrfs-progs 6.x): two header lines, then
/// `qgroupid rfer excl max_rfer max_excl [path]`; the subvolume's own qgroup is level 0.
pub fn parse_qgroup_show(text: &str, path: &Path) -> Result<Usage> {
    for line in text.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() >= 5 && f[0].starts_with("0/") {
            let number = |s: &str| {
                s.parse::<u64>()
                    .map_err(|_| Error::external(format!("unexpected btrfs qgroup output: {line:?}")))
            };
            let used = number(f[1])?;
            let limit = if f[3] == "none" { None } else { Some(number(f[3])?) };
            return Ok(Usage { used, limit });
        }
    }
    Err(Error::external(format!(
        "btrfs reports no qgroup for {}; is it a subvolume with quotas enabled?",
        path.display()
    )))
}

/// The btrfs backend: a subvolume per share (new shares get one even without a quota), limited
/// by its qgroup; SMB clients need the dfree helper (statfs ignores qgroups).
pub struct Btrfs;

impl StorageBackend for Btrfs {
    fn kind(&self) -> QuotaBackend {
        QuotaBackend::Btrfs
    }

    fn detects(&self, facts: &FsFacts) -> bool {
        facts.magic == crate::BTRFS_MAGIC
    }

    fn claims_share_without_quota(&self, dir_exists: bool) -> bool {
        !dir_exists
    }

    fn volume_noun(&self) -> &'static str {
        "btrfs subvolume"
    }

    fn create_volume(&self, parent: &Dir, name: &OsStr, mode: u32) -> Result<Dir> {
        create_subvolume_in(parent, name, mode)
    }

    fn remove_volume(&self, parent: &Dir, name: &OsStr, identity: (u64, u64)) -> Result<()> {
        delete_subvolume_in(parent, name, Some(identity))
    }

    fn plan_volume(&'static self, request: &VolumeRequest<'_>, plan: &mut Plan) -> Result<PlannedVolume> {
        if request.exists && !is_subvolume(request.path) {
            bail_input!(
                "{} is a plain directory on btrfs; a quota needs its own subvolume: give a path that does not exist yet and the gateway creates the subvolume",
                request.path.display()
            );
        }
        if !request.exists {
            backend::create_volume_steps(self, request.path, request.mode, plan);
        }
        Ok(PlannedVolume {
            exists: request.exists,
            dataset: None,
        })
    }

    fn usage(&self, volume: &Volume) -> Result<Usage> {
        usage(&volume.path)
    }

    /// Existing subvolumes with one sync and one `qgroup show` per filesystem.
    fn usage_many(&self, volumes: &[&Volume]) -> Vec<Result<Usage>> {
        let exists: Vec<bool> = volumes.iter().map(|v| v.path.exists()).collect();
        let paths: Vec<&Path> = volumes
            .iter()
            .zip(&exists)
            .filter(|(_, e)| **e)
            .map(|(v, _)| v.path.as_path())
            .collect();
        let mut batch = match usage_many(&paths) {
            Ok(list) => list.into_iter().map(Ok).collect::<Vec<_>>().into_iter(),
            Err(e) => vec![Err(e); paths.len()].into_iter(),
        };
        volumes
            .iter()
            .zip(exists)
            .map(|(v, e)| match e {
                true => batch.next().expect("one result per existing subvolume"),
                false => self.usage(v),
            })
            .collect()
    }

    // quotas switched off behind our back: no limit is enforced, whatever was set before
    fn limits_active(&self, volume: &Volume, facts: &QuotaFacts) -> Result<bool> {
        Ok(qgroups_of(&volume.path, facts)?.is_some())
    }

    fn planned_usage(&self, volume: &Volume, facts: &QuotaFacts) -> Result<Usage> {
        let Some(table) = &*qgroups_of(&volume.path, facts)? else {
            return usage(&volume.path); // its error names the cause
        };
        let id = subvolume_id(&volume.path)?;
        table.get(&id).copied().ok_or_else(|| {
            Error::external(format!(
                "btrfs reports no qgroup for {}; is it a subvolume with quotas enabled?",
                volume.path.display()
            ))
        })
    }

    fn limit_prerequisites(
        &self,
        volume: &Volume,
        limit: Option<u64>,
        facts: &QuotaFacts,
        plan: &mut Plan,
    ) -> Result<()> {
        let probe = crate::existing_ancestor(&volume.path);
        if limit.is_some() && qgroups_of(&probe, facts)?.is_none() {
            let (a, u) = (probe.clone(), probe.clone());
            plan.push(FnStep::new(
                format!("enable btrfs quotas on the filesystem of {}", probe.display()),
                move || enable_quota(&a),
                move || disable_quota(&u),
            ));
        }
        Ok(())
    }

    fn set_limit(&self, volume: &Volume, limit: Option<u64>) -> Result<()> {
        set_limit(&volume.path, limit)
    }

    fn describe_limit(&self, volume: &Volume, limit: Option<u64>) -> String {
        format!(
            "set the btrfs qgroup limit of {} to {}",
            volume.path.display(),
            limit.map_or("no limit".to_string(), format_size)
        )
    }

    // from sysfs where it can: the daemon's health check must not hang on a stuck tool
    fn enforced(&self, volume: &Volume) -> Result<Enforced> {
        let path = &volume.path;
        let disabled = || {
            Enforced::Off(format!(
                "btrfs quotas are disabled on the filesystem of {}",
                path.display()
            ))
        };
        match enforcement(path)? {
            Some(Enforcement::QuotasDisabled) => Ok(disabled()),
            Some(Enforcement::Limit(limit)) => Ok(Enforced::Limit(limit)),
            None => match quota_enabled(path)? {
                false => Ok(disabled()),
                true => usage(path).map(|u| Enforced::Limit(u.limit)),
            },
        }
    }

    // nested subvolumes (snapshots) are refused by every purge's walk: another st_dev
    fn destroy_volume(&self, volume: &Volume, identity: (u64, u64)) -> Option<Box<dyn FnMut() -> Result<()>>> {
        let path = volume.path.clone();
        is_subvolume(&path)
            .then(|| Box::new(move || delete_subvolume(&path, Some(identity))) as Box<dyn FnMut() -> Result<()>>)
    }

    fn dfree_reason(&self) -> Option<&'static str> {
        Some("btrfs statfs ignores qgroups")
    }

    fn snapshots(&self) -> Option<&'static dyn crate::snapshot::SnapshotBackend> {
        Some(&BtrfsSnapshots)
    }

    fn displaced(&self, path: &Path) -> Option<String> {
        (!is_subvolume(path)).then(|| {
            format!(
                "{} is no longer the share's btrfs subvolume but a plain directory on {} (is its btrfs filesystem mounted?)",
                path.display(),
                crate::fs_name(path)
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ioctl_structs_have_the_kernels_sizes() {
        // linux/btrfs.h: the sizes are part of the ioctl numbers
        assert_eq!(std::mem::size_of::<VolArgsV2>(), 4096);
        assert_eq!(std::mem::size_of::<SubvolInfoArgs>(), 504);
        assert_eq!(std::mem::size_of::<RootrefArgs>(), 4096);
        assert_eq!(std::mem::size_of::<SearchArgs>(), 4096);
        let uuid = [0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0, 1, 2, 3, 4, 5, 6, 7, 8];
        assert_eq!(parse_uuid(&uuid_text(&uuid)), Some(uuid));
        assert_eq!(parse_uuid("12345678"), None);
        assert_eq!(std::mem::offset_of!(SubvolInfoArgs, uuid), 296);
        assert_eq!(std::mem::offset_of!(SubvolInfoArgs, otime), 392);
    }

    #[test]
    fn parses_real_output() {
        // btrfs-progs v6.2 on Debian 12, after 'btrfs qgroup limit 10M' and a 3 MiB write
        let text = "Qgroupid    Referenced    Exclusive  Max referenced  Max exclusive   Path \n\
                    --------    ----------    ---------  --------------  -------------   ---- \n\
                    0/256          3162112      3162112        10485760           none   sv1\n";
        assert_eq!(
            parse_qgroup_show(text, Path::new("/x")).unwrap(),
            Usage {
                used: 3162112,
                limit: Some(10485760)
            }
        );
        let none = text.replace("10485760", "none");
        assert_eq!(parse_qgroup_show(&none, Path::new("/x")).unwrap().limit, None);
        assert!(parse_qgroup_show("Qgroupid Referenced\n", Path::new("/x")).is_err());
        let table = parse_qgroup_table(&format!("{text}0/257 4096 4096 none none other\n"));
        assert_eq!(
            table.get(&256),
            Some(&Usage {
                used: 3162112,
                limit: Some(10485760)
            })
        );
        assert_eq!(
            table.get(&257),
            Some(&Usage {
                used: 4096,
                limit: None
            })
        );
    }
}

// ---- snapshots: read-only subvolume snapshots in `.snapshots/@GMT-...` (snapper's layout) ----

/// BTRFS_SUBVOL_RDONLY (linux/btrfs.h): the new snapshot is read-only.
const SUBVOL_RDONLY: u64 = 1 << 1;
/// BTRFS_ROOT_SUBVOL_RDONLY in `btrfs_ioctl_get_subvol_info_args.flags`.
const ROOT_SUBVOL_RDONLY: u64 = 1 << 0;
/// What a nested subvolume looks like inside a snapshot of its parent: an empty stub
/// directory (BTRFS_EMPTY_SUBVOL_DIR_OBJECTID).
const EMPTY_SUBVOL_DIR_INODE: u64 = 2;

#[repr(C)]
struct VolArgsV2 {
    fd: i64,
    transid: u64,
    flags: u64,
    unused: [u64; 4],
    name: [u8; 4040],
}

#[repr(C)]
#[derive(Clone, Copy)]
struct Timespec {
    sec: u64,
    nsec: u32,
}

#[repr(C)]
struct SubvolInfoArgs {
    treeid: u64,
    name: [u8; 256],
    parent_id: u64,
    dirid: u64,
    generation: u64,
    flags: u64,
    uuid: [u8; 16],
    parent_uuid: [u8; 16],
    received_uuid: [u8; 16],
    transids: [u64; 4],
    ctime: Timespec,
    otime: Timespec,
    stime: Timespec,
    rtime: Timespec,
    reserved: [u64; 8],
}

nix::ioctl_write_ptr!(btrfs_ioc_snap_create_v2, 0x94, 23, VolArgsV2);
nix::ioctl_read!(btrfs_ioc_subvol_getflags, 0x94, 25, u64);
nix::ioctl_write_ptr!(btrfs_ioc_subvol_setflags, 0x94, 26, u64);
nix::ioctl_read!(btrfs_ioc_get_subvol_info, 0x94, 60, SubvolInfoArgs);

/// What the gateway reads of a subvolume through a handle on it (BTRFS_IOC_GET_SUBVOL_INFO: no
/// program, no privilege).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SubvolInfo {
    /// Its subvolume id (its level-0 qgroup is 0/treeid).
    pub treeid: u64,
    pub uuid: [u8; 16],
    pub parent_uuid: [u8; 16],
    pub read_only: bool,
    /// Creation time, unix seconds.
    pub otime: i64,
}

/// `SubvolInfo` of the subvolume whose root `dir` is.
pub fn subvol_info(dir: &Dir) -> Result<SubvolInfo> {
    // SAFETY: plain data, written by the kernel
    let mut args: SubvolInfoArgs = unsafe { std::mem::zeroed() };
    unsafe { btrfs_ioc_get_subvol_info(dir.fd().as_raw_fd(), &mut args) }
        .map_err(|e| Error::system(format!("BTRFS_IOC_GET_SUBVOL_INFO on {}: {e}", dir.path().display())))?;
    Ok(SubvolInfo {
        treeid: args.treeid,
        uuid: args.uuid,
        parent_uuid: args.parent_uuid,
        read_only: args.flags & ROOT_SUBVOL_RDONLY != 0,
        otime: args.otime.sec as i64,
    })
}

/// A UUID in its usual text form.
pub fn uuid_text(uuid: &[u8; 16]) -> String {
    let hex: String = uuid.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// Snapshot the subvolume held by `source` as `name` in `dest` (BTRFS_IOC_SNAP_CREATE_V2 on
/// the handles: no path is resolved), read-only or writable, and return a handle on it after
/// checking it is the new subvolume.
pub fn snapshot_in(source: &Dir, dest: &Dir, name: &OsStr, read_only: bool) -> Result<Dir> {
    use std::os::unix::ffi::OsStrExt;
    let path = dest.path().join(name);
    let bytes = name.as_bytes();
    let mut args = VolArgsV2 {
        fd: i64::from(source.fd().as_raw_fd()),
        transid: 0,
        flags: if read_only { SUBVOL_RDONLY } else { 0 },
        unused: [0; 4],
        name: [0; 4040],
    };
    if bytes.len() >= args.name.len() || bytes.contains(&0) {
        return Err(Error::input(format!(
            "{}: name too long for a btrfs snapshot",
            path.display()
        )));
    }
    args.name[..bytes.len()].copy_from_slice(bytes);
    unsafe { btrfs_ioc_snap_create_v2(dest.fd().as_raw_fd(), &args) }.map_err(|e| {
        Error::system(format!(
            "snapshotting {} as {} failed: {e}",
            source.path().display(),
            path.display()
        ))
    })?;
    let snapshot = dest.open_child(name)?;
    let (made, of) = (subvol_info(&snapshot)?, subvol_info(source)?);
    if snapshot.stat()?.ino != SUBVOLUME_ROOT_INODE || made.parent_uuid != of.uuid {
        return Err(Error::system(format!(
            "{} was replaced right after it was created; not using it",
            path.display()
        )));
    }
    Ok(snapshot)
}

/// The share's `.snapshots`, made (root's, 0755, without the ACLs the share root would pass
/// on) when `create`; refused when anyone but root owns it or may write in it, by mode or by
/// ACL: users could then rename and replace what Previous Versions show.
fn snapshots_dir(root: &Dir, create: bool) -> Result<Option<Dir>> {
    use smbgw_sys::posix_acl::AclKind;
    let name = OsStr::new(crate::snapshot::SNAPSHOTS_DIR);
    let dir = match root.open_child_optional(name)? {
        Some(dir) => dir,
        None if create => {
            let dir = root.mkdir_child(name, 0o755)?;
            // a default ACL on the share root is inherited by mkdir: an entry granting a
            // user write would let them rename snapshots
            dir.remove_acl(AclKind::Default)?;
            dir.remove_acl(AclKind::Access)?;
            dir.chmod(0o755)?;
            dir
        }
        None => return Ok(None),
    };
    let st = dir.stat()?;
    let refuse = |why: String| {
        Err(Error::system(format!(
            "{} is writable by others than root ({why}): the gateway keeps snapshots only where users cannot rename them; move it away",
            dir.path().display(),
        )))
    };
    if st.uid != 0 && st.uid != nix::unistd::geteuid().as_raw() || st.mode & 0o022 != 0 {
        return refuse(format!("owner {}, mode {:04o}", st.uid, st.mode & 0o7777));
    }
    for kind in [AclKind::Access, AclKind::Default] {
        if let Some(entry) = dir.acl(kind)?.as_ref().and_then(acl_grants_others_write) {
            return refuse(format!("{kind:?} ACL entry {entry}").to_lowercase());
        }
    }
    Ok(Some(dir))
}

/// The entry of `acl` (as `u:ID`, `g:ID`, `group`, `other`) that lets someone other than the
/// owner write, taking the mask into account.
fn acl_grants_others_write(acl: &smbgw_sys::posix_acl::Acl) -> Option<String> {
    use smbgw_sys::posix_acl::{GROUP, GROUP_OBJ, MASK, OTHER, USER};
    let mask = acl.entries().iter().find(|e| e.tag == MASK).map_or(7, |e| e.perm);
    acl.entries().iter().find_map(|e| {
        let perm = match e.tag {
            USER | GROUP | GROUP_OBJ => e.perm & mask,
            OTHER => e.perm,
            _ => 0,
        };
        (perm & 2 != 0).then(|| match e.tag {
            USER => format!("u:{}", e.id),
            GROUP => format!("g:{}", e.id),
            GROUP_OBJ => "group".to_string(),
            _ => "other".to_string(),
        })
    })
}

#[repr(C)]
struct RootrefArgs {
    min_treeid: u64,
    rootref: [[u64; 2]; 255],
    num_items: u8,
    align: [u8; 7],
}

nix::ioctl_readwrite!(btrfs_ioc_get_subvol_rootref, 0x94, 61, RootrefArgs);

/// The subvolumes right inside the subvolume whose root `root` is, as (subvolume id, inode
/// of the directory holding it) (BTRFS_IOC_GET_SUBVOL_ROOTREF on the handle: the filesystem's
/// own list, no walk of the share, no program, no privilege).
pub fn child_subvolumes(root: &Dir) -> Result<Vec<(u64, u64)>> {
    let mut out = Vec::new();
    let mut min = 0;
    loop {
        // SAFETY: plain data, written by the kernel
        let mut args: RootrefArgs = unsafe { std::mem::zeroed() };
        args.min_treeid = min;
        let r = unsafe { btrfs_ioc_get_subvol_rootref(root.fd().as_raw_fd(), &mut args) };
        let more = match r {
            Ok(_) => false,
            Err(nix::errno::Errno::EOVERFLOW) => true,
            Err(e) => {
                return Err(Error::system(format!(
                    "BTRFS_IOC_GET_SUBVOL_ROOTREF on {}: {e}",
                    root.path().display()
                )))
            }
        };
        let found = &args.rootref[..usize::from(args.num_items)];
        out.extend(found.iter().map(|r| (r[0], r[1])));
        match found.last() {
            Some(last) if more => min = last[0] + 1,
            _ => return Ok(out),
        }
    }
}

/// Refuse to roll back (or snapshot, `what`) a share holding subvolumes of its own outside
/// `.snapshots` (each home of a home share, or one a user made): a snapshot holds only an
/// empty stub where each was, so a rollback would take their content away.
fn refuse_nested(root: &Dir, what: &str) -> Result<()> {
    let snaps = root.stat_child(OsStr::new(crate::snapshot::SNAPSHOTS_DIR))?;
    let nested = child_subvolumes(root)?
        .into_iter()
        .filter(|(_, dirid)| snaps.is_none_or(|s| s.ino != *dirid))
        .count();
    if nested > 0 {
        return Err(Error::input(format!(
            "{} holds {nested} btrfs subvolume(s) of its own outside {} (a home of a home share, or one a user made): a snapshot holds only an empty folder where each is, so {what} would lose their content; restore files from Previous Versions instead",
            root.path().display(),
            crate::snapshot::SNAPSHOTS_DIR
        ))
        .field("snapshot"));
    }
    Ok(())
}

/// The subvolume snapshots in the share's `.snapshots` named as Previous Versions read them.
fn list_snapshots(root: &Dir) -> Result<Vec<crate::snapshot::Snapshot>> {
    let Some(dir) = snapshots_dir(root, false)? else {
        return Ok(Vec::new());
    };
    // with quotas on, what each snapshot alone holds is its qgroup's exclusive bytes, read from
    // sysfs (as of the last transaction commit; no program runs)
    let qgroups = fsid(root.path())
        .map(|id| Path::new("/sys/fs/btrfs").join(uuid_text(&id)).join("qgroups"))
        .ok()
        .filter(|p| p.is_dir());
    let exclusive = |treeid: u64| -> Option<u64> {
        let file = qgroups.as_ref()?.join(format!("0_{treeid}/exclusive"));
        std::fs::read_to_string(file).ok()?.trim().parse().ok()
    };
    let mut out = Vec::new();
    for name in dir.names()? {
        let Some(time) = name.to_str().and_then(crate::snapshot::parse_gmt_name) else {
            continue;
        };
        let Some(snap) = dir.open_child_optional(&name).ok().flatten() else {
            continue;
        };
        if snap.stat()?.ino != SUBVOLUME_ROOT_INODE {
            continue;
        }
        let info = subvol_info(&snap)?;
        out.push(crate::snapshot::Snapshot {
            name: name.to_string_lossy().into_owned(),
            time,
            id: uuid_text(&info.uuid),
            tag: None,
            size: exclusive(info.treeid),
        });
    }
    out.sort_by(|a, b| (a.time, &a.name).cmp(&(b.time, &b.name)));
    Ok(out)
}

/// The snapshot `snapshot.name` in `.snapshots` if it still is `snapshot` (its UUID).
fn open_snapshot(root: &Dir, snapshot: &crate::snapshot::Snapshot) -> Result<(Dir, Dir)> {
    let gone =
        || Error::not_found(format!("{} has no snapshot {}", root.path().display(), snapshot.name)).field("snapshot");
    let dir = snapshots_dir(root, false)?.ok_or_else(gone)?;
    let snap = dir.open_child_optional(OsStr::new(&snapshot.name))?.ok_or_else(gone)?;
    if snap.stat()?.ino != SUBVOLUME_ROOT_INODE || uuid_text(&subvol_info(&snap)?.uuid) != snapshot.id {
        return Err(Error::system(format!(
            "{} is no longer the snapshot the gateway checked; not touching it",
            snap.path().display()
        )));
    }
    Ok((dir, snap))
}

/// renameat2 through handles (`flags`: RENAME_EXCHANGE, RENAME_NOREPLACE).
fn rename_at(from: &Dir, old: &OsStr, to: &Dir, new: &OsStr, flags: libc::c_uint) -> Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let c = |s: &OsStr| std::ffi::CString::new(s.as_bytes()).map_err(|_| Error::input("a name holds a NUL byte"));
    let (a, b) = (c(old)?, c(new)?);
    // SAFETY: both names are NUL-terminated and the handles are open
    let r = unsafe {
        libc::renameat2(
            from.fd().as_raw_fd(),
            a.as_ptr(),
            to.fd().as_raw_fd(),
            b.as_ptr(),
            flags,
        )
    };
    if r != 0 {
        return Err(Error::system(format!(
            "renaming {} to {} failed: {}",
            from.path().join(old).display(),
            to.path().join(new).display(),
            std::io::Error::last_os_error()
        )));
    }
    Ok(())
}

/// Move the subvolume `name` from `from` to `to` (same name). btrfs refuses to move a
/// read-only subvolume to another directory (its `..` changes), so a read-only one is made
/// writable for the move and read-only again at once, through a handle on it (its UUID, and
/// so our record of it, stays).
fn move_subvolume(from: &Dir, to: &Dir, name: &OsStr) -> Result<()> {
    let sub = from.open_child(name)?;
    let mut flags: u64 = 0;
    unsafe { btrfs_ioc_subvol_getflags(sub.fd().as_raw_fd(), &mut flags) }
        .map_err(|e| Error::system(format!("reading the flags of {}: {e}", sub.path().display())))?;
    let set = |value: u64| {
        unsafe { btrfs_ioc_subvol_setflags(sub.fd().as_raw_fd(), &value) }
            .map(|_| ())
            .map_err(|e| Error::system(format!("setting the flags of {}: {e}", sub.path().display())))
    };
    let read_only = flags & SUBVOL_RDONLY != 0;
    if read_only {
        set(flags & !SUBVOL_RDONLY)?;
    }
    let moved = rename_at(from, name, to, name, libc::RENAME_NOREPLACE);
    if read_only {
        set(flags)?;
    }
    moved
}

#[repr(C)]
struct SearchArgs {
    tree_id: u64,
    min_objectid: u64,
    max_objectid: u64,
    min_offset: u64,
    max_offset: u64,
    min_transid: u64,
    max_transid: u64,
    min_type: u32,
    max_type: u32,
    nr_items: u32,
    unused: u32,
    unused1: [u64; 4],
    buf: [u8; 4096 - 104],
}

nix::ioctl_readwrite!(btrfs_ioc_tree_search, 0x94, 17, SearchArgs);

/// BTRFS_UUID_TREE_OBJECTID and BTRFS_UUID_KEY_SUBVOL (linux/btrfs_tree.h).
const UUID_TREE: u64 = 9;
const UUID_KEY_SUBVOL: u32 = 251;

/// Whether a subvolume with `uuid` exists on the filesystem of `dir` (its item in the UUID
/// tree, which deleting a subvolume removes at once; BTRFS_IOC_TREE_SEARCH, root only).
/// Wherever it was renamed to, it is found.
pub fn uuid_exists(dir: &Dir, uuid: &[u8; 16]) -> Result<bool> {
    let (objectid, offset) = (
        u64::from_le_bytes(uuid[..8].try_into().expect("8 bytes")),
        u64::from_le_bytes(uuid[8..].try_into().expect("8 bytes")),
    );
    // SAFETY: plain data
    let mut args: SearchArgs = unsafe { std::mem::zeroed() };
    args.tree_id = UUID_TREE;
    (args.min_objectid, args.max_objectid) = (objectid, objectid);
    (args.min_offset, args.max_offset) = (offset, offset);
    (args.min_type, args.max_type) = (UUID_KEY_SUBVOL, UUID_KEY_SUBVOL);
    args.max_transid = u64::MAX;
    args.nr_items = 1;
    unsafe { btrfs_ioc_tree_search(dir.fd().as_raw_fd(), &mut args) }
        .map_err(|e| Error::system(format!("BTRFS_IOC_TREE_SEARCH on {}: {e}", dir.path().display())))?;
    Ok(args.nr_items > 0)
}

/// A UUID from its text form.
fn parse_uuid(text: &str) -> Option<[u8; 16]> {
    let hex: String = text.chars().filter(|c| *c != '-').collect();
    if hex.len() != 32 {
        return None;
    }
    let mut out = [0u8; 16];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

/// `PVE_SMBGW_CRASH_IN=POINT` kills the process (SIGKILL) at that point of a rollback, for the
/// crash tests; compiled in only with the `crash-hook` feature, which only test builds enable.
fn crash_hook(_point: &str) {
    #[cfg(feature = "crash-hook")]
    if std::env::var("PVE_SMBGW_CRASH_IN").as_deref() == Ok(_point) {
        let _ = nix::sys::signal::raise(nix::sys::signal::Signal::SIGKILL);
    }
}

/// `.NAME.smbgw-rollback`: the directory of root's beside the share a rollback works in.
fn rollback_dir_name(share: &OsStr) -> std::ffi::OsString {
    let mut work = OsStr::new(".").to_os_string();
    work.push(share);
    work.push(".smbgw-rollback");
    work
}

/// Whether a rollback of the share at `path` was interrupted (its work directory is left).
pub fn rollback_left(path: &Path) -> bool {
    match (path.parent(), path.file_name()) {
        (Some(parent), Some(name)) => parent.join(rollback_dir_name(name)).symlink_metadata().is_ok(),
        _ => false,
    }
}

/// Finish or undo a rollback of the share at `path` that a crash interrupted, from what is on
/// disk: of the share's subvolume and the one in the work directory, the share's content
/// before the rollback is the one the safety snapshot (taken just before) was made of, its
/// UUID a snapshot's parent UUID; the restored one is a fresh snapshot nothing was taken of.
/// Before the exchange the share is still the old content: the snapshots that moved go back
/// and the new subvolume is deleted. After it the rollback is complete but for deleting the
/// old content. Returns what it did (or would do).
pub fn heal_rollback(path: &Path, dry_run: bool) -> Result<Option<String>> {
    let (parent, name) = safe_fs::open_parent(path)?;
    let work_name = rollback_dir_name(&name);
    let Some(work) = parent.open_child_optional(&work_name)? else {
        return Ok(None);
    };
    let st = work.stat()?;
    if st.uid != nix::unistd::geteuid().as_raw() || st.mode & 0o077 != 0 {
        return Err(Error::system(format!(
            "{} is not the gateway's (owner {}, mode {:04o}); not touching it",
            work.path().display(),
            st.uid,
            st.mode & 0o7777
        )));
    }
    let content = OsStr::new("content");
    let verb = |done: &str, would: &str| if dry_run { would.to_string() } else { done.to_string() };
    let Some(other) = work.open_child_optional(content)? else {
        if !dry_run {
            parent.unlink_child(&work_name, true)?;
        }
        return Ok(Some(format!(
            "{} the empty {} an interrupted rollback left",
            verb("removed", "would remove"),
            work.path().display()
        )));
    };
    let root = parent.open_child(&name)?;
    for dir in [&root, &other] {
        if dir.stat()?.ino != SUBVOLUME_ROOT_INODE {
            return Err(Error::system(format!(
                "{} is not a btrfs subvolume",
                dir.path().display()
            )));
        }
    }
    let snaps_name = OsStr::new(crate::snapshot::SNAPSHOTS_DIR);
    // the UUIDs the snapshots in either `.snapshots` were taken of
    let mut parents = Vec::new();
    for dir in [&root, &other] {
        let Some(snaps) = dir.open_child_optional(snaps_name)? else {
            continue;
        };
        for entry in snaps.names()? {
            if let Some(snap) = snaps.open_child_optional(&entry)? {
                if snap.stat()?.ino == SUBVOLUME_ROOT_INODE {
                    parents.push(subvol_info(&snap)?.parent_uuid);
                }
            }
        }
    }
    let was_share = |dir: &Dir| -> Result<bool> { Ok(parents.contains(&subvol_info(dir)?.uuid)) };
    let (old, new, exchanged) = match (was_share(&root)?, was_share(&other)?) {
        (true, false) => (&root, &other, false),
        (false, true) => (&other, &root, true),
        _ => {
            return Err(Error::system(format!(
                "cannot tell which of {} and {} is the share's content before an interrupted rollback; look at both and delete the one not wanted with 'btrfs subvolume delete', then remove {}",
                root.path().display(),
                other.path().display(),
                work.path().display()
            )))
        }
    };
    // never delete a subvolume holding others: what is in them is in no snapshot
    let to_delete = if exchanged { old } else { new };
    if !dry_run {
        if !exchanged {
            // the snapshots that moved into the new content go back to the share
            if let Some(moved) = new.open_child_optional(snaps_name)? {
                let back = snapshots_dir(&root, true)?.expect("created");
                for entry in moved.names()? {
                    if moved
                        .stat_child(&entry)?
                        .is_some_and(|st| st.ino == SUBVOLUME_ROOT_INODE)
                    {
                        move_subvolume(&moved, &back, &entry)?;
                    }
                }
            }
        }
        let nested = child_subvolumes(to_delete)?;
        if !nested.is_empty() {
            return Err(Error::system(format!(
                "{} holds {} subvolume(s) of its own; move them out and delete it with 'btrfs subvolume delete', then remove {}",
                to_delete.path().display(),
                nested.len(),
                work.path().display()
            )));
        }
        delete_subvolume_in(&work, content, None)?;
        parent.unlink_child(&work_name, true)?;
    }
    Ok(Some(match exchanged {
        true => format!(
            "{} the interrupted rollback of {}: the share holds the restored snapshot, the replaced content (also in the safety snapshot) {}; clients connected since before it must reconnect",
            verb("completed", "would complete"),
            path.display(),
            verb("was deleted", "would be deleted")
        ),
        false => format!(
            "{} the interrupted rollback of {}: the share keeps its content and its snapshots, the half-made copy {}",
            verb("undid", "would undo"),
            path.display(),
            verb("was deleted", "would be deleted")
        ),
    }))
}

pub struct BtrfsSnapshots;

impl crate::snapshot::SnapshotBackend for BtrfsSnapshots {
    fn check(&self, volume: &Volume) -> Result<()> {
        if !is_subvolume(&volume.path) {
            bail_input!(
                "{} is a plain directory on btrfs: only a subvolume can be snapshotted (shares the gateway creates on btrfs get one)",
                volume.path.display()
            );
        }
        Ok(())
    }

    fn name_at(&self, time: i64) -> String {
        crate::snapshot::gmt_name(time)
    }

    fn gone(&self, volume: &Volume, id: &str) -> Result<bool> {
        match parse_uuid(id) {
            Some(uuid) => Ok(!uuid_exists(&Dir::open(&volume.path)?, &uuid)?),
            None => Ok(false),
        }
    }

    fn check_rollback(&self, volume: &Volume) -> Result<()> {
        refuse_nested(&Dir::open(&volume.path)?, "a rollback")
    }

    fn list(&self, volume: &Volume) -> Result<Vec<crate::snapshot::Snapshot>> {
        list_snapshots(&Dir::open(&volume.path)?)
    }

    fn create(&self, volume: &Volume, time: i64, _tag: &str) -> Result<crate::snapshot::Snapshot> {
        let root = Dir::open(&volume.path)?;
        if root.stat()?.ino != SUBVOLUME_ROOT_INODE {
            return Err(Error::system(format!(
                "{} is no longer a btrfs subvolume",
                volume.path.display()
            )));
        }
        let dir = snapshots_dir(&root, true)?.expect("created");
        let name = crate::snapshot::gmt_name(time);
        if dir.stat_child(OsStr::new(&name))?.is_some() {
            return Err(Error::conflict(format!(
                "{} exists already (one snapshot per second)",
                dir.path().join(&name).display()
            )));
        }
        let snap = snapshot_in(&root, &dir, OsStr::new(&name), true)?;
        Ok(crate::snapshot::Snapshot {
            name,
            time,
            id: uuid_text(&subvol_info(&snap)?.uuid),
            tag: None,
            size: None,
        })
    }

    fn delete(&self, volume: &Volume, snapshot: &crate::snapshot::Snapshot) -> Result<()> {
        let root = Dir::open(&volume.path)?;
        let (dir, snap) = open_snapshot(&root, snapshot)?;
        let identity = snap.stat()?.identity();
        drop(snap);
        // `.snapshots` is root's: nobody can put another entry under that name in between
        delete_subvolume_in(&dir, OsStr::new(&snapshot.name), Some(identity))
    }

    /// A writable snapshot of `snapshot` is made beside the share, the share's snapshots move
    /// into it, and it takes the share's place in one `renameat2(RENAME_EXCHANGE)`; the old
    /// subvolume is then deleted (its content is in the safety snapshot the gateway took: a
    /// share holding subvolumes of its own, which no snapshot holds, is refused first).
    fn rollback(&self, volume: &Volume, snapshot: &crate::snapshot::Snapshot) -> Result<Vec<String>> {
        let mut notes = Vec::new();
        let (parent, name) = safe_fs::open_parent(&volume.path)?;
        let root = parent.open_child(&name)?;
        if root.stat()?.ino != SUBVOLUME_ROOT_INODE {
            return Err(Error::system(format!(
                "{} is no longer a btrfs subvolume",
                volume.path.display()
            )));
        }
        refuse_nested(&root, "a rollback")?;
        let (old_snaps, snap) = open_snapshot(&root, snapshot)?;
        // the new content is made in a directory of root's that nobody else may enter: the
        // share's parent may be writable by others, who must not swap in a subvolume of theirs
        let work_name = rollback_dir_name(&name);
        if parent.stat_child(&work_name)?.is_some() {
            return Err(Error::system(format!(
                "{} exists (left by an earlier rollback?); remove it first (its 'content' with 'btrfs subvolume delete')",
                parent.path().join(&work_name).display()
            )));
        }
        let work = parent.mkdir_child(&work_name, 0o700)?;
        let content = OsStr::new("content");
        let cleanup = |work: &Dir, notes: &mut Vec<String>| {
            match delete_subvolume_in(work, content, None)
            .and_then(|()| parent.unlink_child(&work_name, true))
        {
            Ok(()) => {}
            Err(e) => notes.push(format!(
                "the share's content before the rollback stays at {} ({e}); delete it with 'btrfs subvolume delete' once you no longer need it",
                work.path().join(content).display()
            )),
        }
        };
        let new = match snapshot_in(&snap, &work, content, false) {
            Ok(new) => new,
            Err(e) => {
                let _ = parent.unlink_child(&work_name, true);
                return Err(e);
            }
        };
        drop(snap);
        // the snapshot shows the share's nested snapshots as empty stubs: make room for them
        let snaps_name = OsStr::new(crate::snapshot::SNAPSHOTS_DIR);
        let new_snaps = match new.open_child_optional(snaps_name) {
            Ok(Some(d)) => Ok(d),
            Ok(None) => new.mkdir_child(snaps_name, 0o755),
            Err(e) => Err(e),
        };
        let subvolumes = |dir: &Dir| -> Vec<std::ffi::OsString> {
            dir.names()
                .unwrap_or_default()
                .into_iter()
                .filter(|n| {
                    dir.stat_child(n)
                        .ok()
                        .flatten()
                        .is_some_and(|st| st.ino == SUBVOLUME_ROOT_INODE)
                })
                .collect()
        };
        let moved = new_snaps.and_then(|new_snaps| {
            for entry in new_snaps.names()? {
                if new_snaps
                    .stat_child(&entry)?
                    .is_some_and(|st| st.ino == EMPTY_SUBVOL_DIR_INODE)
                {
                    new_snaps.unlink_child(&entry, true)?;
                }
            }
            for entry in subvolumes(&old_snaps) {
                move_subvolume(&old_snaps, &new_snaps, &entry)?;
            }
            crash_hook("rollback-moved");
            // one atomic step: the share's name is the restored subvolume
            rename_at(&work, content, &parent, &name, libc::RENAME_EXCHANGE)?;
            crash_hook("rollback-exchanged");
            Ok(new_snaps)
        });
        if let Err(e) = moved {
            // put back what moved, drop the new subvolume: the share is as it was
            if let Ok(Some(new_snaps)) = new.open_child_optional(snaps_name) {
                for entry in subvolumes(&new_snaps) {
                    let _ = move_subvolume(&new_snaps, &old_snaps, &entry);
                }
            }
            drop(new);
            cleanup(&work, &mut notes);
            return Err(e.context(format!(
                "rollback undone{}",
                notes.first().map_or(String::new(), |n| format!(" ({n})"))
            )));
        }
        drop((new, root, old_snaps));
        // the replaced subvolume is now `content` in our directory
        cleanup(&work, &mut notes);
        Ok(notes)
    }
}
