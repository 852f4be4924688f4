//! The heart of pve-smbgateway: the share model and its validation, the property schema every
//! front end (CLI, Perl API, UI) is generated from, the cluster config store, the node layout and
//! the plan/apply engine with rollback.

pub mod ad;
pub mod calendar;
pub mod digest;
pub mod discovery;
pub mod guest;
pub mod layout;
pub mod options;
pub mod placement;
pub mod plan;
pub mod prune;
pub mod pve_storage;
pub mod quota_backend;
pub mod schema;
pub mod section;
pub mod share;
mod share_json;
pub mod size;
pub mod store;
#[cfg(test)]
mod test_zone;
pub mod validate;
pub mod vfs;

pub use layout::Layout;
pub use placement::Placement;
pub use plan::{Plan, Step};
pub use quota_backend::QuotaBackend;
pub use share::Share;
pub use smbgw_sys::{bail_field, bail_input, Error, ErrorCode, ErrorKind, Result, ResultExt};
