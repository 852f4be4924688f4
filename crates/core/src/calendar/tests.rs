//! Calendar events against PVE's own examples and rules (see `calendar.rs`).

#[allow(unused_imports)]
use super::*;
