//! Low-level helpers every other crate of pve-smbgateway builds on: the error type with its exit
//! code, running programs (argv only, never a shell; secrets on stdin; timeouts), atomic file
//! writes, advisory locks, and filesystem changes through file descriptors (`safe_fs`,
//! `posix_acl`, `walk`) for trees other users can write.

pub mod command;
pub mod error;
pub mod fs;
pub mod localtime;
pub mod lock;
pub mod mounts;
pub mod posix_acl;
pub mod safe_fs;
pub mod systemd;
pub mod time;
pub mod walk;

pub use command::Command;
pub use error::{Error, ErrorCode, ErrorKind, Result, ResultExt};
