//! One error type for the whole gateway. Its kind decides the CLI exit code (DESIGN.md §8):
//! 1 bad input, 2 system error, 3 external service error.
//!
//! Front ends need more than a message to put an error where it belongs: `field` names the
//! API/CLI parameter (kebab-case, as the schema spells it: `quota`, `ct-id`, `users`) the error
//! is about, so the web UI can mark that field; `code` says what the API answers besides 400
//! (404 not found, 409 conflict). The serialized shape `{kind, message, field?, code?}` is what
//! the Perl bridge hands to `PVE::Exception` (`errors => { field => message }`).

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

/// What an input error means beyond "this value is wrong", for the HTTP status of the API.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ErrorCode {
    /// The named object (a share, a user, a VIP) does not exist: 404.
    NotFound,
    /// The feature the operation needs (AD membership, HA) is not set up yet.
    NotSetUp,
    /// The config changed since the caller read it (stale digest), or the object exists: 409.
    Conflict,
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Error {
    pub kind: ErrorKind,
    pub message: String,
    /// The parameter the error is about, as the API and CLI name it (`quota`, `ct-id`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<ErrorCode>,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    fn new(kind: ErrorKind, message: String) -> Self {
        Self {
            kind,
            message,
            field: None,
            code: None,
        }
    }

    pub fn input(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Input, message.into())
    }

    pub fn system(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::System, message.into())
    }

    pub fn external(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::External, message.into())
    }

    /// An input error: the object asked for does not exist.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::input(message).code(ErrorCode::NotFound)
    }

    /// An input error: the operation needs something that is not set up (AD, HA).
    pub fn not_set_up(message: impl Into<String>) -> Self {
        Self::input(message).code(ErrorCode::NotSetUp)
    }

    /// An input error: the config changed since it was read, or the object already exists.
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::input(message).code(ErrorCode::Conflict)
    }

    /// An I/O error on `path`, while doing `what`.
    pub fn io(what: &str, path: &std::path::Path, err: std::io::Error) -> Self {
        Self::system(format!("{what} '{}' failed: {err}", path.display()))
    }

    /// The parameter this error is about.
    pub fn field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    pub fn code(mut self, code: ErrorCode) -> Self {
        self.code = Some(code);
        self
    }

    /// Prefix the message with context, keeping kind, field and code.
    pub fn context(self, context: impl fmt::Display) -> Self {
        Self {
            message: format!("{context}: {}", self.message),
            ..self
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

/// Naming the parameter of a whole validation: `validate::list(v).field("users")`.
pub trait ResultExt {
    /// An input error gets `field`. System and external errors are no fault of the value, so
    /// they stay unnamed; an error that already names a parameter keeps the more precise one.
    fn field(self, field: &str) -> Self;
}

impl<T> ResultExt for Result<T> {
    fn field(self, field: &str) -> Self {
        self.map_err(|e| match (e.kind, &e.field) {
            (ErrorKind::Input, None) => e.field(field),
            _ => e,
        })
    }
}

/// Shorthand for `Err(Error::input(format!(...)))`.
#[macro_export]
macro_rules! bail_input {
    ($($arg:tt)*) => { return Err($crate::Error::input(format!($($arg)*))) };
}

/// `bail_field!("quota", "quota '{q}' is below ...")`: an input error about one parameter.
#[macro_export]
macro_rules! bail_field {
    ($field:expr, $($arg:tt)*) => { return Err($crate::Error::input(format!($($arg)*)).field($field)) };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serializes_the_shape_the_api_reads() {
        let plain = serde_json::to_value(Error::system("disk on fire")).unwrap();
        assert_eq!(plain, serde_json::json!({"kind": "system", "message": "disk on fire"}));
        let e = Error::conflict("changed meanwhile").field("digest");
        assert_eq!(
            serde_json::to_value(&e).unwrap(),
            serde_json::json!({"kind": "input", "message": "changed meanwhile", "field": "digest", "code": "conflict"})
        );
        assert_eq!(
            serde_json::to_value(Error::not_set_up("x")).unwrap()["code"],
            "not-set-up"
        );
        assert_eq!(
            serde_json::to_value(Error::not_found("x")).unwrap()["code"],
            "not-found"
        );
        assert_eq!(e.kind.exit_code(), 1, "codes keep the exit code of their kind");
    }

    #[test]
    fn a_result_names_its_field_once_and_only_for_input_errors() {
        let inner: Result<()> = Err(Error::input("bad").field("ct-id"));
        assert_eq!(inner.field("quota").unwrap_err().field.as_deref(), Some("ct-id"));
        let bare: Result<()> = Err(Error::input("bad"));
        assert_eq!(bare.field("quota").unwrap_err().field.as_deref(), Some("quota"));
        let system: Result<()> = Err(Error::system("io"));
        assert_eq!(system.field("quota").unwrap_err().field, None);
        let ctx = Error::not_found("gone").field("name").context("share");
        assert_eq!(
            (ctx.field.as_deref(), ctx.code),
            (Some("name"), Some(ErrorCode::NotFound))
        );
    }

    #[test]
    fn bail_field_names_the_field() {
        fn check(q: u64) -> Result<()> {
            if q < 10 {
                bail_field!("quota", "quota {q} is too small");
            }
            Ok(())
        }
        let e = check(1).unwrap_err();
        assert_eq!(
            (e.kind, e.field.as_deref(), e.message.as_str()),
            (ErrorKind::Input, Some("quota"), "quota 1 is too small")
        );
    }
}
