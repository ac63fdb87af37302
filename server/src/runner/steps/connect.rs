//! Step 6, Connect SSH: logs in with the session's one-time key (which a test drops, and so
//! wipes, once logged in; a deployment keeps it in memory to reconnect), retrying while the host comes up, with the host key trusted on
//! first use (its fingerprint is recorded on the run); then checks that its shell runs
//! commands. The host name is resolved once: an address on this machine or an internal
//! network among its answers is refused unless allowed (a rented host is never there), and
//! every attempt connects to the address checked, never to a new answer.

use super::{Connected, Deps, RunningSession};
use crate::runner::error::StepError;
use crate::runner::host::{HostError, RemoteHost};
use crate::runner::ssh::{HostKeyPin, Login, SshAddress, SshHost};
use gdl_model::code::ErrorCode;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
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
    let pin = HostKeyPin::default();
    let mut at = None;
    let mut attempt = 0;
    let ssh = loop {
        attempt += 1;
        // The name is resolved once and checked; every attempt connects to that address.
        let tried = match at {
            Some(at) => SshHost::connect_at(at, &address, &key, ATTEMPT_TIMEOUT, &pin).await,
            None => match address.resolve().await {
                Ok(found) => {
                    let chosen = checked(&address, &found, d.config.allow_private_hosts)?;
                    at = Some(chosen);
                    SshHost::connect_at(chosen, &address, &key, ATTEMPT_TIMEOUT, &pin).await
                }
                Err(e) => Err(e),
            },
        };
        match tried {
            Ok(ssh) => break ssh,
            Err(e) if (e.is_transient() || at.is_none()) && attempt < ATTEMPTS => {
                d.ctx.warn(&format!(
                    "SSH attempt {attempt} to {address} failed: {e}; retrying"
                ));
                tokio::time::sleep(Duration::from_secs(5 * attempt)).await;
            }
            Err(e) => return Err(e.into()),
        }
    };
    let login = match at {
        Some(at) if d.deploy => Some(Login {
            address: address.clone(),
            at,
            key,
            pin: pin.clone(),
        }),
        _ => {
            drop(key);
            None
        }
    };
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
        login,
    })
}

/// The address to connect to: the first `found`, unless private addresses are refused and
/// any of them is internal (a name that also resolves to this machine or its network is
/// refused as a whole).
fn checked(
    address: &SshAddress,
    found: &[SocketAddr],
    allow_private: bool,
) -> Result<SocketAddr, HostError> {
    if !allow_private {
        if let Some(inside) = found.iter().find(|s| is_internal(s.ip())) {
            return Err(HostError::PrivateAddress {
                address: format!("{}:{}", address.host, address.port),
                ip: inside.ip().to_string(),
            });
        }
    }
    found
        .first()
        .copied()
        .ok_or_else(|| HostError::Unreachable {
            address: format!("{}:{}", address.host, address.port),
            detail: "the host name resolves to no address".into(),
        })
}

/// Not a public unicast address a rented host could have: loopback, private (RFC 1918,
/// unique local), shared (CGNAT), link-local, "this network" (0.0.0.0/8), benchmarking
/// (198.18.0.0/15), IETF protocol assignments (192.0.0.0/24), reserved (240.0.0.0/4 and
/// broadcast), multicast, unspecified. IPv4 inside IPv6 (IPv4-mapped, IPv4-compatible and
/// NAT64 `64:ff9b::/96`) is judged as that IPv4; the local-use NAT64 prefix
/// `64:ff9b:1::/48` is internal.
pub fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_multicast()
                || v4.is_broadcast()
                || a == 0
                || a >= 240
                || (a == 100 && (64..128).contains(&b))
                || (a == 198 && (18..20).contains(&b))
                || (a == 192 && b == 0 && c == 0)
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            let embedded = || {
                let [.., x, y, z, w] = v6.octets();
                Ipv4Addr::new(x, y, z, w)
            };
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00
                || (s[0] & 0xffc0) == 0xfe80
                || (s[0] == 0x64 && s[1] == 0xff9b && s[2] == 1)
                || v6
                    .to_ipv4_mapped()
                    .is_some_and(|v4| is_internal(IpAddr::V4(v4)))
                // IPv4-compatible (::a.b.c.d) and NAT64 (64:ff9b::a.b.c.d).
                || (s[..6] == [0; 6] && is_internal(IpAddr::V4(embedded())))
                || (s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] && is_internal(IpAddr::V4(embedded())))
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
            "::ffff:127.0.0.1",
            "0.1.2.3",
            "198.18.0.1",
            "198.19.255.255",
            "192.0.0.8",
            "224.0.0.1",
            "239.255.255.250",
            "240.0.0.1",
            "255.255.255.255",
            "ff02::1",
            "64:ff9b::7f00:1",
            "64:ff9b::a00:1",
            "64:ff9b:1::1",
            "::127.0.0.1",
        ] {
            assert!(is_internal(ip.parse().unwrap()), "{ip}");
        }
        for ip in [
            "203.0.113.7",
            "8.8.8.8",
            "2001:db8::1",
            "100.128.0.1",
            "198.20.0.1",
            "64:ff9b::808:808",
            "::ffff:8.8.8.8",
        ] {
            assert!(!is_internal(ip.parse().unwrap()), "{ip}");
        }
    }

    #[test]
    fn a_name_with_one_internal_address_is_refused_and_the_checked_one_is_used() {
        let address = SshAddress {
            host: "rented.example".into(),
            port: 22,
            user: "root".into(),
        };
        let public: SocketAddr = "203.0.113.7:22".parse().unwrap();
        let inside: SocketAddr = "10.0.0.5:22".parse().unwrap();
        assert_eq!(checked(&address, &[public], false).unwrap(), public);
        let refused = checked(&address, &[public, inside], false).unwrap_err();
        assert_eq!(refused.code(), ErrorCode::SshHostPrivate);
        assert!(refused.to_string().contains("10.0.0.5"), "{refused}");
        assert_eq!(checked(&address, &[inside, public], true).unwrap(), inside);
        assert_eq!(
            checked(&address, &[], true).unwrap_err().code(),
            ErrorCode::SshUnreachable
        );
    }
}
