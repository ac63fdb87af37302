//! A deployment's SSH login, kept in memory while it serves so a dropped connection can be
//! made again: the address checked when it first connected (never resolved again), the
//! session's key and the host key pinned then (another key is refused).

use super::{HostKeyPin, SshAddress, SshHost};
use crate::runner::host::HostError;
use gdl_model::secret::SshPrivateKey;
use std::net::SocketAddr;
use std::time::Duration;

/// How to log in to a session's host again.
#[derive(Clone)]
pub struct Login {
    /// Who logs in where (the broker's address and user).
    pub address: SshAddress,
    /// What `address` resolved to and was checked as when it first connected.
    pub at: SocketAddr,
    /// The session's key (wiped when the last copy is dropped).
    pub key: SshPrivateKey,
    /// The host key seen at the first login.
    pub pin: HostKeyPin,
}

impl std::fmt::Debug for Login {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Login({} at {}, key [redacted])", self.address, self.at)
    }
}

impl Login {
    /// Logs in again, within `timeout`, to the address checked before.
    pub async fn connect(&self, timeout: Duration) -> Result<SshHost, HostError> {
        SshHost::connect_at(self.at, &self.address, &self.key, timeout, &self.pin).await
    }
}
