//! The parameters of `import`: adopting the shares of the admin's own Samba configuration
//! (gateway/src/import.rs); the CLI's `import` command and the API's POST `import`.

use super::{param, text, Cli, Property};

pub const IMPORT: &[Property] = &[param(
    "share",
    text(4096),
    Cli::Long("NAMES"),
    "Only these shares of the admin's configuration (comma separated); default: every share that maps to the share model.",
)];
