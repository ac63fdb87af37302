//! Step 6, Connect SSH: logs in with the session's one-time key (which is dropped, and so
//! wiped, once logged in), retrying while the host comes up, with the host key trusted on
//! first use (its fingerprint is recorded on the run); then checks that its shell runs
//! commands. An SSH address on this machine or a private network is refused unless
//! allowed: a rented host is never there.

use super::{Connected, Deps, RunningSession};
use crate::runner::error::StepError;
use crate::runner::host::{HostError, RemoteHost};
use crate::runner::ssh::{HostKeyPin, SshAddress, SshHost};
use gdl_model::code::ErrorCode;
use std::net::IpAddr;
use std::time::Duration;

/// Login attempts while the host comes up.
const ATTEMPTS: u64 = 4;
/// Time for one attempt (TCP connect, handshake, login).
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(30);

pub async fn run(d: &Deps<'_>, running: RunningSession) -> Result<Connected, StepError> {
    let RunningSession {
        session,
        key,
        offer,
    } = running;
    let host = session.ssh_host.clone().ok_or_else(|| {
        StepError::new(
            ErrorCode::SshNoAddress,
            format!(
                "the broker reports session {} running but gives no SSH host",
                session.id
            ),
        )
        .hint("The broker fills the SSH address in while provisioning; check its logs.")
    })?;
    let address = SshAddress {
        host,
        port: session.ssh_port.unwrap_or(22),
        user: session.ssh_user.clone().unwrap_or_else(|| "root".into()),
    };
    if !d.config.allow_private_hosts {
        refuse_internal(&address).await?;
    }
    let pin = HostKeyPin::default();
    let mut attempt = 0;
    let ssh = loop {
        attempt += 1;
        match SshHost::connect(&address, &key, ATTEMPT_TIMEOUT, &pin).await {
            Ok(ssh) => break ssh,
            Err(e) if e.is_transient() && attempt < ATTEMPTS => {
                d.ctx.warn(&format!(
                    "SSH attempt {attempt} to {address} failed: {e}; retrying"
                ));
                tokio::time::sleep(Duration::from_secs(5 * attempt)).await;
            }
            Err(e) => return Err(e.into()),
        }
    };
    drop(key);
    let hello = ssh.exec("echo connected", Duration::from_secs(30)).await?;
    if hello.exit_code != 0 || hello.stdout.trim() != "connected" {
        return Err(HostError::Channel(format!(
            "`echo connected` exited {}: {}",
            hello.exit_code,
            hello.stderr.trim()
        ))
        .into());
    }
    let fingerprint = pin.fingerprint();
    d.ctx.info(&format!(
        "SSH connected to {address}, host key {}",
        fingerprint.as_deref().unwrap_or("?")
    ));
    d.ctx.update(|run| run.host_key = fingerprint).await;
    Ok(Connected {
        host: Box::new(ssh),
        offer,
    })
}

/// Refuses an address that resolves to loopback, private, link-local or unspecified IPs.
async fn refuse_internal(address: &SshAddress) -> Result<(), HostError> {
    let target = format!("{}:{}", address.host, address.port);
    let Ok(resolved) = tokio::net::lookup_host(target.clone()).await else {
        return Ok(()); // unresolvable: the connect says so with its own error
    };
    for socket in resolved {
        if is_internal(socket.ip()) {
            return Err(HostError::PrivateAddress {
                address: target,
                ip: socket.ip().to_string(),
            });
        }
    }
    Ok(())
}

/// Loopback, private (RFC 1918, unique local), shared (CGNAT), link-local or unspecified.
pub fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || (a == 100 && (64..128).contains(&b))
        }
        IpAddr::V6(v6) => {
            let first = v6.segments()[0];
            v6.is_loopback()
                || v6.is_unspecified()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
                || v6
                    .to_ipv4_mapped()
                    .is_some_and(|v4| is_internal(IpAddr::V4(v4)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_addresses_are_recognised() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:10.0.0.1",
        ] {
            assert!(is_internal(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["203.0.113.7", "8.8.8.8", "2001:db8::1", "100.128.0.1"] {
            assert!(!is_internal(ip.parse().unwrap()), "{ip}");
        }
    }
}
