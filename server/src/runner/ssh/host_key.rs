//! Host keys trusted on first use per session: the broker gives none to compare with, so
//! the first key seen is pinned and a different one later is refused.

use russh::client;
use std::sync::Arc;

/// The host key of one session, trusted on first use: shared by every connection attempt.
#[derive(Clone, Debug, Default)]
pub struct HostKeyPin(Arc<std::sync::Mutex<PinState>>);

#[derive(Debug, Default)]
struct PinState {
    /// The SHA-256 fingerprint first seen.
    pinned: Option<String>,
    /// A different fingerprint presented later.
    presented: Option<String>,
}

impl HostKeyPin {
    /// The pinned key's fingerprint (`SHA256:…`), once a connection got that far.
    pub fn fingerprint(&self) -> Option<String> {
        self.0.lock().unwrap().pinned.clone()
    }

    /// Pins a fingerprint as if it had been seen (a key known from elsewhere).
    pub fn pinned(fingerprint: &str) -> Self {
        let pin = Self::default();
        pin.0.lock().unwrap().pinned = Some(fingerprint.to_owned());
        pin
    }

    /// The pinned and the presented fingerprints after a refusal.
    pub(super) fn mismatch(&self) -> (String, String) {
        let state = self.0.lock().unwrap();
        (
            state.pinned.clone().unwrap_or_default(),
            state.presented.clone().unwrap_or_default(),
        )
    }

    /// Accepts `fingerprint` if it is the first or the pinned one.
    fn check(&self, fingerprint: String) -> bool {
        let mut state = self.0.lock().unwrap();
        match &state.pinned {
            None => {
                state.pinned = Some(fingerprint);
                true
            }
            Some(pinned) if *pinned == fingerprint => true,
            Some(_) => {
                state.presented = Some(fingerprint);
                false
            }
        }
    }
}

/// Checks the server's host key against the session's pin.
pub(super) struct CheckHostKey(pub(super) HostKeyPin);

impl client::Handler for CheckHostKey {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        key: &russh::keys::PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        let key = match key {
            russh::keys::PublicKeyOrCertificate::PublicKey { key, .. } => key.clone(),
            russh::keys::PublicKeyOrCertificate::Certificate(c) => {
                russh::keys::PublicKey::from(c.public_key().clone())
            }
        };
        let fingerprint = key.fingerprint(russh::keys::HashAlg::Sha256).to_string();
        Ok(self.0.check(fingerprint))
    }
}
