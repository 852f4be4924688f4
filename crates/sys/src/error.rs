//! One error type for the whole gateway. Its kind decides the CLI exit code (DESIGN.md §8):
//! 1 bad input, 2 system error, 3 external service error.

use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ErrorKind {
    /// The caller asked for something invalid; nothing was changed.
    Input,
    /// The local system failed us (I/O, permissions, missing program).
    System,
    /// An external service (Samba, AD, CTDB, PVE) refused or failed.
    External,
}

impl ErrorKind {
    pub fn exit_code(self) -> i32 {
        match self {
            ErrorKind::Input => 1,
            ErrorKind::System => 2,
            ErrorKind::External => 3,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    pub kind: ErrorKind,
    pub message: String,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn input(message: impl Into<String>) -> Self {
        Self {
            kind: ErrorKind::Input,
            message: message.into(),
        }
    }

    pub fn system(message: impl Into<String>) -> Self {
        Self {
            kind: ErrorKind::System,
            message: message.into(),
        }
    }

    pub fn external(message: impl Into<String>) -> Self {
        Self {
            kind: ErrorKind::External,
            message: message.into(),
        }
    }

    /// An I/O error on `path`, while doing `what`.
    pub fn io(what: &str, path: &std::path::Path, err: std::io::Error) -> Self {
        Self::system(format!("{what} '{}' failed: {err}", path.display()))
    }

    /// Prefix the message with context, keeping the kind.
    pub fn context(self, context: impl fmt::Display) -> Self {
        Self {
            kind: self.kind,
            message: format!("{context}: {}", self.message),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

/// Shorthand for `Err(Error::input(format!(...)))`.
#[macro_export]
macro_rules! bail_input {
    ($($arg:tt)*) => { return Err($crate::Error::input(format!($($arg)*))) };
}
