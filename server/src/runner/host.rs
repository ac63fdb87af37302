//! The remote host the steps work on: exec with timeouts, streamed exec for long installs,
//! and local port forwarding to the vLLM port. [`super::ssh::SshHost`] is the one
//! implementation, for real clouds and the simulated one alike; the trait is the seam unit
//! tests script.

use futures::future::BoxFuture;
use gdl_model::code::ErrorCode;
use std::net::SocketAddr;
use std::time::Duration;

/// What a command printed and how it ended.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ExecOutput {
    pub stdout: String,
    pub stderr: String,
    /// The exit status; -1 when the command ended by a signal.
    pub exit_code: i32,
}

/// Why a host operation failed, typed so each case has its code and hint.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum HostError {
    /// The key the broker returned cannot be parsed.
    #[error("the broker returned a private key that is not a valid OpenSSH/PEM key ({0})")]
    KeyInvalid(String),
    /// The host refused the key for that user.
    #[error("{user}@{address} refused the session's key")]
    AuthRefused { user: String, address: String },
    /// Nothing listens at the address.
    #[error("connection refused by {address}")]
    ConnectionRefused { address: String },
    /// The address did not answer (TCP or the SSH handshake) in time.
    #[error("{address} did not answer within {} s", .after.as_secs())]
    ConnectTimeout { address: String, after: Duration },
    /// The host presented another key than the one first seen for this session.
    #[error("{address} presented host key {presented}, not {pinned} seen before for this session")]
    HostKeyChanged {
        address: String,
        pinned: String,
        presented: String,
    },
    /// The broker's SSH address is on this machine or a private network.
    #[error("the broker gave the SSH address {address} ({ip}), a loopback, private or link-local address")]
    PrivateAddress { address: String, ip: String },
    /// The address cannot be resolved or routed to.
    #[error("{address} is unreachable: {detail}")]
    Unreachable { address: String, detail: String },
    /// The connection was closed by the host (or the network).
    #[error("the SSH connection was closed: {0}")]
    Disconnected(String),
    /// A command did not finish in time.
    #[error("command timed out after {} s: {}", .0.as_secs(), .1)]
    CommandTimeout(Duration, String),
    /// A channel could not be opened or broke (the connection is still up).
    #[error("SSH channel error: {0}")]
    Channel(String),
}

impl HostError {
    /// The stable code.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::KeyInvalid(_) => ErrorCode::SshKeyInvalid,
            Self::AuthRefused { .. } => ErrorCode::SshAuthRefused,
            Self::ConnectionRefused { .. } => ErrorCode::SshConnectionRefused,
            Self::ConnectTimeout { .. } => ErrorCode::SshTimeout,
            Self::Unreachable { .. } => ErrorCode::SshUnreachable,
            Self::HostKeyChanged { .. } => ErrorCode::HostKeyChanged,
            Self::PrivateAddress { .. } => ErrorCode::SshHostPrivate,
            Self::Disconnected(_) => ErrorCode::SshDisconnected,
            Self::CommandTimeout(..) => ErrorCode::HostCommandTimeout,
            Self::Channel(_) => ErrorCode::HostUnusable,
        }
    }

    /// What a person can do about it.
    pub fn hint(&self) -> &'static str {
        match self {
            Self::KeyInvalid(_) => "The broker issues a PKCS#1 PEM key per session; check that SHOPPER_URL points at cloud-gpu-shopper (or its simulator) and that its version matches.",
            Self::AuthRefused { .. } => "The host does not accept this session's key: the provider may not have installed it yet, or the session was re-created. Destroy the session and run again.",
            Self::ConnectionRefused { .. } => "Nothing listens for SSH at the address the broker gave: the instance is still booting, was destroyed, or its SSH port changed. Check the session on the Sessions tab.",
            Self::ConnectTimeout { .. } => "The host did not answer in time: it may still be booting or its network is down. Try again, or pick another offer.",
            Self::Unreachable { .. } => "The SSH address cannot be resolved or reached from this machine: check its network and DNS.",
            Self::HostKeyChanged { .. } => "Another machine answered at the session's address (or the connection is being intercepted); nothing was sent to it. Destroy the session and run again.",
            Self::PrivateAddress { .. } => "A rented host is never on this machine or its private network, so the broker's answer is refused. For a simulator on this machine, start with --allow-private-hosts.",
            Self::Disconnected(_) => "The host closed the connection: the instance may have been destroyed or lost its network. Check it on the Sessions tab.",
            Self::CommandTimeout(..) => "The host is slow or the command hangs; look at the host (keep the instance on failure to inspect it).",
            Self::Channel(_) => "The host accepted SSH but refused to run commands; keep the instance on failure to inspect it.",
        }
    }

    /// Whether connecting again may work (the host is still coming up).
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Self::AuthRefused { .. }
                | Self::ConnectionRefused { .. }
                | Self::ConnectTimeout { .. }
                | Self::Disconnected(_)
        )
    }
}

/// A machine reached over SSH.
pub trait RemoteHost: Send + Sync {
    /// Runs a command (already shell-quoted) and waits for it, at most `timeout`.
    fn exec<'a>(
        &'a self,
        command: &'a str,
        timeout: Duration,
    ) -> BoxFuture<'a, Result<ExecOutput, HostError>>;

    /// Runs a command and hands each output line to `on_line` as it arrives.
    fn exec_streaming<'a>(
        &'a self,
        command: &'a str,
        timeout: Duration,
        on_line: &'a (dyn Fn(&str) + Send + Sync),
    ) -> BoxFuture<'a, Result<ExecOutput, HostError>>;

    /// Runs a command with `input` as its standard input (sent through the channel, then
    /// end of file): how secrets reach the host without being on any command line. A host
    /// that cannot take input (a scripted test host) refuses.
    fn exec_with_input<'a>(
        &'a self,
        command: &'a str,
        input: &'a [u8],
        timeout: Duration,
    ) -> BoxFuture<'a, Result<ExecOutput, HostError>> {
        let _ = (input, timeout);
        Box::pin(async move {
            Err(HostError::Channel(format!(
                "this host takes no standard input (`{command}`)"
            )))
        })
    }

    /// Forwards a local loopback port to `remote_port` on the host; returns the local
    /// address to connect to.
    fn forward<'a>(&'a self, remote_port: u16) -> BoxFuture<'a, Result<SocketAddr, HostError>>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_host_error_has_a_distinct_code_and_a_hint() {
        let all = [
            HostError::KeyInvalid("x".into()),
            HostError::AuthRefused {
                user: "root".into(),
                address: "h:1".into(),
            },
            HostError::ConnectionRefused {
                address: "h:1".into(),
            },
            HostError::ConnectTimeout {
                address: "h:1".into(),
                after: Duration::from_secs(3),
            },
            HostError::Unreachable {
                address: "h:1".into(),
                detail: "d".into(),
            },
            HostError::Disconnected("d".into()),
            HostError::HostKeyChanged {
                address: "h:1".into(),
                pinned: "SHA256:a".into(),
                presented: "SHA256:b".into(),
            },
            HostError::PrivateAddress {
                address: "h:1".into(),
                ip: "10.0.0.1".into(),
            },
            HostError::CommandTimeout(Duration::from_secs(1), "c".into()),
            HostError::Channel("c".into()),
        ];
        let mut codes: Vec<_> = all.iter().map(HostError::code).collect();
        codes.sort();
        codes.dedup();
        assert_eq!(codes.len(), all.len());
        assert!(all.iter().all(|e| !e.hint().is_empty()));
        assert!(all[0].to_string().contains("not a valid OpenSSH/PEM key"));
    }
}
