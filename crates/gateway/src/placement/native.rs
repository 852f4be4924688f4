//! Mode `native`: the node's own smbd serves the share from its directory. Everything the share
//! needs on the node (its storage, ACLs, the node's smb.conf) is planned by the share
//! operations for every placement with a node directory; the placement adds nothing.

use smbgw_core::{Placement, Plan, Result, Share};

use super::{PlacementPlugin, PlacementStatus};
use crate::Gateway;

pub(crate) struct Native;

impl PlacementPlugin for Native {
    fn check(&self, _: &Gateway, _: &Share, _: &[u32]) -> Result<Placement> {
        Ok(Placement::Native)
    }

    fn check_update(&self, _: &Share, _: &Share) -> Result<()> {
        Ok(())
    }

    fn create_steps(&self, _: &Gateway, _: &Share, _: &mut Plan) -> Result<()> {
        Ok(())
    }

    fn converge_steps(&self, _: &Gateway, _: &Share, _: &mut Plan) -> Result<()> {
        Ok(())
    }

    fn destroy_steps(&self, _: &Gateway, _: &Share, _: bool, _: &mut Plan, _: &mut Vec<String>) -> Result<()> {
        Ok(())
    }

    fn status(&self, _: &Share, smbd_running: bool) -> PlacementStatus {
        PlacementStatus {
            problems: match smbd_running {
                true => Vec::new(),
                false => vec!["smbd is not running".into()],
            },
            ..PlacementStatus::default()
        }
    }
}
