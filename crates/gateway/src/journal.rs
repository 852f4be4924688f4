//! A journal of the operation being applied. If the process dies mid-way, the next operation
//! finds it and tells the admin to run `apply`, which re-converges the node from the config.

use smbgw_core::{Layout, Result};
use smbgw_sys::fs;

fn path(layout: &Layout) -> std::path::PathBuf {
    layout.state_dir.join("journal")
}

pub fn begin(layout: &Layout, steps: &[String]) -> Result<()> {
    fs::create_dir_all(&layout.state_dir, 0o700)?;
    fs::atomic_write(
        &path(layout),
        format!("pid {}\n{}\n", std::process::id(), steps.join("\n")).as_bytes(),
        0o600,
    )
}

pub fn end(layout: &Layout) {
    let _ = fs::remove_if_exists(&path(layout));
}

/// A note if an earlier operation did not finish.
pub fn interrupted(layout: &Layout) -> Option<String> {
    let text = std::fs::read_to_string(path(layout)).ok()?;
    Some(format!(
        "an earlier operation was interrupted before it finished (steps: {}); run 'pve-smbgateway apply' if the node looks inconsistent",
        text.lines().skip(1).collect::<Vec<_>>().join("; ")
    ))
}
