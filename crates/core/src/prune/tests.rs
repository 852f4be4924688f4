//! The retention against PVE's and PBS's prune rules (see `prune.rs`).

#[allow(unused_imports)]
use super::*;
