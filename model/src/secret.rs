//! Secrets that must not leak: they never print, never serialise, and are wiped on drop.
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
