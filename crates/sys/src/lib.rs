//! Low-level helpers every other crate of pve-smbgateway builds on: the error type with its exit
//! code, running programs (argv only, never a shell; secrets on stdin; timeouts), atomic file
//! writes and advisory locks.

pub mod command;
pub mod error;
pub mod fs;
pub mod lock;
pub mod systemd;

pub use command::Command;
pub use error::{Error, ErrorKind, Result};
