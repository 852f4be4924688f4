//! Config digests, the PVE way: a read returns the digest of the file's bytes, an update or
//! delete may hand it back, and a stale one is refused before anything changes (what
//! `PVE::Tools::assert_if_modified` does for storage.cfg and pbs-config for its files).
//!
//! SHA-1 in hex, as PVE's cluster filesystem computes it for every config it reads: the API
//! takes the digest through PVE's standard option `pve-config-digest` (40 characters at most),
//! and Perl can compute the same value with `Digest::SHA::sha1_hex`. The digest detects
//! concurrent edits; it guards against no attacker.

use std::fmt;

use serde::Serialize;
use sha1::{Digest, Sha1};

use crate::{Error, Result};

/// The digest of one config file's content as read.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct ConfigDigest(String);

impl ConfigDigest {
    pub fn of(bytes: &[u8]) -> Self {
        let hash = Sha1::digest(bytes);
        Self(hash.iter().map(|b| format!("{b:02x}")).collect())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Refuse `expected` (the digest the caller read) when the file changed since: a conflict
    /// on the `digest` parameter. `None` checks nothing, as PVE's API does without a digest.
    pub fn check(&self, expected: Option<&str>, what: &str) -> Result<()> {
        match expected {
            Some(given) if !given.trim().eq_ignore_ascii_case(&self.0) => Err(Error::conflict(format!(
                "the {what} was changed since it was read (digest {given}, now {}); reload it and try again",
                self.0
            ))
            .field("digest")),
            _ => Ok(()),
        }
    }
}

impl fmt::Display for ConfigDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A config entry as read, with the digest of the whole file it came from. Serialized flat
/// (`{..entry.., "digest": "…"}`), as PVE's API returns config entries.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Digested<T> {
    #[serde(flatten)]
    pub value: T,
    pub digest: ConfigDigest,
}

impl<T> Digested<T> {
    pub fn into_inner(self) -> T {
        self.value
    }
}

impl<T> std::ops::Deref for Digested<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.value
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha1_hex_of_the_bytes_as_pve_computes_it() {
        // sha1("") and sha1("abc"), the FIPS 180 test vectors
        assert_eq!(
            ConfigDigest::of(b"").as_str(),
            "da39a3ee5e6b4b0d3255bfef95601890afd80709"
        );
        assert_eq!(
            ConfigDigest::of(b"abc").as_str(),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
    }

    #[test]
    fn a_stale_digest_is_a_conflict_on_the_digest_field() {
        let now = ConfigDigest::of(b"new");
        assert!(now.check(None, "share config").is_ok());
        assert!(now.check(Some(&now.as_str().to_uppercase()), "share config").is_ok());
        let err = now
            .check(Some(ConfigDigest::of(b"old").as_str()), "share config")
            .unwrap_err();
        assert_eq!(err.code, Some(crate::ErrorCode::Conflict));
        assert_eq!(err.field.as_deref(), Some("digest"));
        assert_eq!(err.kind.exit_code(), 1);
    }
}
