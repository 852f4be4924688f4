//! The id map of an lxc share's container (lxc.rs) and what it needs from the node: which
//! `lxc.idmap` lines it gets, which `/etc/subuid` and `/etc/subgid` entries allow root to map
//! them, and whether the domain's id ranges are free of other containers' maps.
//!
//! A share's local users map 1:1 (ids below 65536). When the node is a domain member, the
//! domain's whole idmap range (`core::ad`, `idmap config`) maps 1:1 as well: the container runs
//! its own winbind with the same `idmap rid` ranges, so a domain user has the same uid inside
//! and on the node, and the files on the bind-mounted share keep one owner seen from both.
//! PVE accepts such maps as long as no two lines overlap on either side
//! (`PVE::LXC::validate_id_maps`); LXC maps them through newuidmap/newgidmap, which need the
//! subordinate id entries for root.
//!
//! A range that another container maps its own ids onto would make that container's users
//! owners of domain users' files (and the other way round): such a range, in a container's
//! config or in the subordinate id files, is refused before anything is written.

use std::path::PathBuf;

use smbgw_core::ad::IdRange;
use smbgw_core::{Error, Layout, Result};

use crate::pve;

/// The id range of an unprivileged container (PVE's default).
pub(crate) const ID_BASE: u32 = 100_000;
pub(crate) const ID_COUNT: u32 = 65_536;

/// `lxc.idmap` lines for one kind (`u` or `g`): `ids` (sorted, unique, below 65536) and the
/// `domain` ranges map to themselves, the rest of 0-65535 to the usual unprivileged range.
pub(crate) fn idmap_lines(kind: char, ids: &[u32], domain: &[IdRange]) -> Vec<String> {
    let mut lines = Vec::new();
    let mut next = 0;
    for &id in ids.iter().filter(|&&i| i < ID_COUNT) {
        if id > next {
            lines.push(format!("lxc.idmap: {kind} {next} {} {}", ID_BASE + next, id - next));
        }
        lines.push(format!("lxc.idmap: {kind} {id} {id} 1"));
        next = id + 1;
    }
    if next < ID_COUNT {
        lines.push(format!(
            "lxc.idmap: {kind} {next} {} {}",
            ID_BASE + next,
            ID_COUNT - next
        ));
    }
    lines.extend(
        domain
            .iter()
            .map(|r| format!("lxc.idmap: {kind} {} {} {}", r.low, r.low, count(r))),
    );
    lines
}

/// The 1:1 lines of the domain's ranges alone, uids and gids (a container that gets domain
/// accounts after it was made).
pub(crate) fn domain_lines(domain: &[IdRange]) -> Vec<String> {
    let mut lines = idmap_lines('u', &[], domain).split_off(1);
    lines.extend(idmap_lines('g', &[], domain).split_off(1));
    lines
}

fn count(r: &IdRange) -> u32 {
    r.high - r.low + 1
}

/// The subordinate id entries root needs for a container mapped by `idmap_lines`.
pub(crate) fn subid_entries(ids: &[u32], domain: &[IdRange]) -> Vec<String> {
    let mut wanted = vec![format!("root:{ID_BASE}:{ID_COUNT}")];
    wanted.extend(ids.iter().map(|i| format!("root:{i}:1")));
    wanted.extend(domain_subid_entries(domain));
    wanted
}

/// The entries the gateway writes for the domain ranges: they are its own, never a collision.
pub(crate) fn domain_subid_entries(domain: &[IdRange]) -> Vec<String> {
    domain.iter().map(|r| format!("root:{}:{}", r.low, count(r))).collect()
}

/// One `lxc.idmap` line of a container config: kind, container start, host start, count.
fn parse_idmap(line: &str) -> Option<(char, u32, u32, u32)> {
    let value = line.strip_prefix("lxc.idmap")?.trim_start().strip_prefix([':', '='])?;
    let f: Vec<&str> = value.split_whitespace().collect();
    let [kind, ct, host, n] = f[..] else {
        return None;
    };
    let kind = match kind {
        "u" => 'u',
        "g" => 'g',
        _ => return None,
    };
    Some((kind, ct.parse().ok()?, host.parse().ok()?, n.parse().ok()?))
}

/// Refuse `domain` ranges that collide with a subordinate id range (`subids`: file name and
/// text) other than the gateway's own 1:1 entries, or with a container's map (`containers`: id
/// and config text) that gives domain ids on the node to other ids inside. The error names the
/// domain range, the colliding range and where it is.
pub(crate) fn check_domain_ranges(
    domain: &[IdRange],
    subids: &[(String, String)],
    containers: &[(u32, String)],
) -> Result<()> {
    let ours = domain_subid_entries(domain);
    for (file, text) in subids {
        for line in text.lines().map(str::trim) {
            if line.starts_with('#') || ours.iter().any(|o| o == line) {
                continue;
            }
            let f: Vec<&str> = line.split(':').collect();
            let [owner, start, n] = f[..] else {
                continue;
            };
            let (Ok(start), Ok(n)) = (start.parse::<u32>(), n.parse::<u32>()) else {
                continue;
            };
            let end = start.saturating_add(n.saturating_sub(1));
            if let Some(r) = domain.iter().find(|r| n > 0 && r.overlaps(start, end)) {
                return Err(Error::input(format!(
                    "the domain id range {r} overlaps the subordinate id range {start}-{end} of {owner} in {file} ('{line}'): containers mapped there would own domain users' files; move that range out of {r} first"
                )));
            }
        }
    }
    for (id, text) in containers {
        for line in pve::main_section(text) {
            let Some((kind, ct, host, n)) = parse_idmap(line) else {
                continue;
            };
            let end = host.saturating_add(n.saturating_sub(1));
            // a 1:1 map of domain ids is another domain share's container: same owners
            if ct == host || n == 0 {
                continue;
            }
            if let Some(r) = domain.iter().find(|r| r.overlaps(host, end)) {
                let what = if kind == 'u' { "uids" } else { "gids" };
                return Err(Error::input(format!(
                    "the domain id range {r} overlaps the id map of container {id} ('{line}': its {what} {ct}-{} are {what} {host}-{end} on the node): its users would own domain users' files; change that container's map first",
                    ct.saturating_add(n.saturating_sub(1))
                )));
            }
        }
    }
    Ok(())
}

/// The subordinate id files as the node has them (none in a sandbox, whose containers are
/// allowed by the test that runs them).
pub(crate) fn node_subids(layout: &Layout) -> Vec<(String, String)> {
    if layout.is_sandbox() {
        return Vec::new();
    }
    ["/etc/subuid", "/etc/subgid"]
        .iter()
        .map(|f| (f.to_string(), std::fs::read_to_string(f).unwrap_or_default()))
        .collect()
}

/// Every container config: those of all cluster nodes on a host (a container may migrate here),
/// the sandbox's own otherwise.
pub(crate) fn container_configs(layout: &Layout) -> Vec<(u32, String)> {
    let dirs: Vec<PathBuf> = if layout.is_sandbox() {
        vec![layout.pve_lxc_dir.clone()]
    } else {
        let nodes = std::fs::read_dir("/etc/pve/nodes").into_iter().flatten().flatten();
        nodes.map(|n| n.path().join("lxc")).collect()
    };
    let mut configs = Vec::new();
    for dir in dirs {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let name = entry.file_name().to_string_lossy().to_string();
            if let Some(id) = name.strip_suffix(".conf").and_then(|i| i.parse().ok()) {
                if let Ok(text) = std::fs::read_to_string(entry.path()) {
                    configs.push((id, text));
                }
            }
        }
    }
    configs.sort();
    configs
}

/// `check_domain_ranges` against this node's subordinate ids and every container but `except`
/// (the share's own, whose map the gateway wrote).
pub(crate) fn check_node(layout: &Layout, domain: &[IdRange], except: Option<u32>) -> Result<()> {
    let mut containers = container_configs(layout);
    containers.retain(|(id, _)| Some(*id) != except);
    check_domain_ranges(domain, &node_subids(layout), &containers)
}

#[cfg(test)]
mod tests {
    use super::*;
    use smbgw_core::ad::{IDMAP_DEFAULT, IDMAP_DOMAIN};

    const DOMAIN: [IdRange; 2] = [IDMAP_DEFAULT, IDMAP_DOMAIN];

    #[test]
    fn idmap_maps_share_ids_one_to_one() {
        assert_eq!(
            idmap_lines('u', &[20000, 20002], &[]),
            [
                "lxc.idmap: u 0 100000 20000",
                "lxc.idmap: u 20000 20000 1",
                "lxc.idmap: u 20001 120001 1",
                "lxc.idmap: u 20002 20002 1",
                "lxc.idmap: u 20003 120003 45533",
            ]
        );
        assert_eq!(idmap_lines('g', &[], &[]), ["lxc.idmap: g 0 100000 65536"]);
        assert_eq!(
            idmap_lines('u', &[0], &[]),
            ["lxc.idmap: u 0 0 1", "lxc.idmap: u 1 100001 65535"]
        );
    }

    #[test]
    fn domain_ranges_map_to_themselves() {
        assert_eq!(
            idmap_lines('g', &[1000], &DOMAIN),
            [
                "lxc.idmap: g 0 100000 1000",
                "lxc.idmap: g 1000 1000 1",
                "lxc.idmap: g 1001 101001 64535",
                "lxc.idmap: g 2000000 2000000 1000000",
                "lxc.idmap: g 3000000 3000000 3000000",
            ]
        );
        assert_eq!(
            subid_entries(&[1000], &DOMAIN),
            [
                "root:100000:65536",
                "root:1000:1",
                "root:2000000:1000000",
                "root:3000000:3000000"
            ]
        );
        // what the gateway maps never collides with itself: its own entries and containers
        let own = idmap_lines('u', &[1000], &DOMAIN).join("\n");
        let subuid = subid_entries(&[1000], &DOMAIN).join("\n");
        check_domain_ranges(
            &DOMAIN,
            &[("/etc/subuid".into(), subuid)],
            &[(120, own), (121, "unprivileged: 1\n".into())],
        )
        .unwrap();
    }

    #[test]
    fn colliding_ranges_are_named() {
        let subuid = "root:100000:65536\nroot:2500000:65536\n".to_string();
        let err = check_domain_ranges(&DOMAIN, &[("/etc/subuid".into(), subuid)], &[]).unwrap_err();
        assert_eq!(err.kind, smbgw_core::ErrorKind::Input);
        assert!(
            err.message.contains("domain id range 2000000-2999999 overlaps the subordinate id range 2500000-2565535 of root in /etc/subuid"),
            "{}",
            err.message
        );
        // a container whose root is a domain id on the node
        let conf = "arch: amd64\nlxc.idmap: u 0 100000 65536\nlxc.idmap: g 0 3000000 65536\n[snap]\nlxc.idmap: u 0 2000000 1\n";
        let err = check_domain_ranges(&DOMAIN, &[], &[(105, conf.into())]).unwrap_err();
        assert!(
            err.message.contains("domain id range 3000000-5999999 overlaps the id map of container 105 ('lxc.idmap: g 0 3000000 65536': its gids 0-65535 are gids 3000000-3065535 on the node)"),
            "{}",
            err.message
        );
        // only the main section counts (a snapshot's map is not the running one)
        let snap_only = "lxc.idmap: u 0 100000 65536\n[snap]\nlxc.idmap: u 0 2000000 1\n";
        check_domain_ranges(&DOMAIN, &[], &[(106, snap_only.into())]).unwrap();
        // raw LXC syntax and the range's last id
        let raw = "lxc.idmap = u 1 1999999 2\n";
        assert!(check_domain_ranges(&DOMAIN, &[], &[(107, raw.into())]).is_err());
        let below = "lxc.idmap = u 1 1999998 2\n";
        check_domain_ranges(&DOMAIN, &[], &[(108, below.into())]).unwrap();
    }
}
