//! smbd's profiling counters for the daemon's metrics (smbgw_samba::profile): the node's SMB
//! requests, operations and bytes read and written. Per server: Samba 4.17 has no per-share
//! figures.

use smbgw_core::Result;
use smbgw_samba::profile::{self, Profile};

use crate::Gateway;

impl Gateway {
    /// The counters of the running smbd, or `None` while it does not run. With `count`,
    /// counting is turned on first (it is off unless smb.conf or an earlier call turned it on,
    /// and a restarted smbd starts with it off again).
    pub fn smb_profile(&self, count: bool) -> Result<Option<Profile>> {
        if self.samba.smbd_pid().is_none() {
            return Ok(None);
        }
        if count {
            profile::start_counting(&self.samba)?;
        }
        profile::read(&self.samba).map(Some)
    }
}
