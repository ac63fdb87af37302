//! Secrets that must not leak: they never print, never serialise, and are wiped on drop:
//! the broker's SSH keys ([`SshPrivateKey`]) and the Hugging Face token ([`HfToken`]).
//!
//! # Examples
//!
//! ```
//! use gdl_model::secret::SshPrivateKey;
//!
//! let key: SshPrivateKey = serde_json::from_str(r#""-----BEGIN OPENSSH PRIVATE KEY-----\nabc""#)?;
//! assert!(key.expose_pem().starts_with("-----BEGIN"));
//! assert_eq!(key.to_string(), "[redacted]");
//! assert_eq!(format!("{key:?}"), "SshPrivateKey([redacted])");
//! // The broker may send `null`: an empty key.
//! let none: SshPrivateKey = serde_json::from_str("null")?;
//! assert!(none.is_empty());
//! # Ok::<(), serde_json::Error>(())
//! ```

use serde::{Deserialize, Deserializer};
use std::fmt;
use zeroize::Zeroizing;

/// The one-time SSH private key the broker returns when a session is created.
///
/// It deserialises from the broker's JSON but has no `Serialize` and its `Debug`/`Display`
/// print `[redacted]`, so it cannot reach a log line, a response body or the database by
/// accident. The memory is wiped when the value is dropped.
#[derive(Clone, Default)]
pub struct SshPrivateKey(Zeroizing<String>);

impl SshPrivateKey {
    /// Wraps a key (the simulator makes keys; the client receives them).
    pub fn new(pem: String) -> Self {
        Self(Zeroizing::new(pem))
    }

    /// The PEM text, for the SSH client only.
    pub fn expose_pem(&self) -> &str {
        &self.0
    }

    /// Whether the broker sent no key at all.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for SshPrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SshPrivateKey([redacted])")
    }
}

impl fmt::Display for SshPrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl<'de> Deserialize<'de> for SshPrivateKey {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        Ok(Self::new(
            Option::<String>::deserialize(de)?.unwrap_or_default(),
        ))
    }
}

/// A Hugging Face Hub access token (`hf_...`), given to the server to download gated and
/// private models.
///
/// Like [`SshPrivateKey`] it never prints and never serialises, and its memory is wiped on
/// drop. [`HfToken::parse`] accepts only the characters tokens are made of (letters, digits,
/// `_`, `-`, `.`), so the token can be written as a `NAME=value` line that the shell and
/// `docker --env-file` read alike.
///
/// ```
/// use gdl_model::secret::HfToken;
///
/// let token = HfToken::parse("  hf_AbC123\n").unwrap();
/// assert_eq!(token.expose(), "hf_AbC123");
/// assert_eq!(format!("{token:?}"), "HfToken([redacted])");
/// assert!(HfToken::parse("hf_a b").is_err() && HfToken::parse("").is_err());
/// ```
#[derive(Clone)]
pub struct HfToken(Zeroizing<String>);

impl HfToken {
    /// The token in `text` (surrounding white space trimmed), or why it is not one.
    pub fn parse(text: &str) -> Result<Self, &'static str> {
        let token = text.trim();
        if token.is_empty() {
            return Err("the Hugging Face token is empty");
        }
        if !token
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        {
            return Err("a Hugging Face token holds only letters, digits, '_', '-' and '.'");
        }
        Ok(Self(Zeroizing::new(token.to_owned())))
    }

    /// The token, for the `Authorization` header and the host's environment only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl PartialEq for HfToken {
    fn eq(&self, other: &Self) -> bool {
        self.expose() == other.expose()
    }
}

impl fmt::Debug for HfToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("HfToken([redacted])")
    }
}

impl fmt::Display for HfToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_prints_the_key() {
        let key: SshPrivateKey =
            serde_json::from_str(r#""-----BEGIN RSA PRIVATE KEY-----\nabc""#).unwrap();
        assert!(key.expose_pem().starts_with("-----BEGIN"));
        assert_eq!(format!("{key}"), "[redacted]");
        assert!(!format!("{key:?}").contains("BEGIN"));
    }
}
