//! Starting, stopping and reloading systemd units over D-Bus (org.freedesktop.systemd1), the
//! way a PVE node manages its services. Used only on a real host; the sandbox runs its own smbd.

use zbus::blocking::Connection;

use crate::{Error, Result};

const DESTINATION: &str = "org.freedesktop.systemd1";
const PATH: &str = "/org/freedesktop/systemd1";
const MANAGER: &str = "org.freedesktop.systemd1.Manager";

fn manager_call(method: &str, unit: &str) -> Result<()> {
    let conn = Connection::system().map_err(|e| {
        Error::system(format!(
            "cannot reach systemd over the D-Bus system bus to {method} {unit}: {e}"
        ))
    })?;
    conn.call_method(Some(DESTINATION), PATH, Some(MANAGER), method, &(unit, "replace"))
        .map_err(|e| Error::external(format!("systemd refused to {method} {unit}: {e}")))?;
    Ok(())
}

/// `systemctl start UNIT`: queue the start job (systemd runs it asynchronously).
pub fn start_unit(unit: &str) -> Result<()> {
    manager_call("StartUnit", unit)
}

pub fn stop_unit(unit: &str) -> Result<()> {
    manager_call("StopUnit", unit)
}

pub fn restart_unit(unit: &str) -> Result<()> {
    manager_call("RestartUnit", unit)
}
