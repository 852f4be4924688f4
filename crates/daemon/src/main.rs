//! `pve-smbgatewayd`: keeps a node healthy (work in progress).

fn main() {}
