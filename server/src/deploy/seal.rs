//! What resuming a deployment after a restart needs (its SSH login and the engine's key),
//! sealed at rest under the operator's key (`--secret-key-file`): AES-256-GCM with a fresh
//! random nonce per seal and the deployment's id as associated data, so a sealed blob opens
//! only for the deployment it was made for. Nothing here is ever logged or stored in clear.

use aes_gcm::aead::{Aead, KeyInit, Nonce, Payload};
use aes_gcm::Aes256Gcm;
use gdl_model::ids::DeploymentId;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::sync::Arc;
use zeroize::Zeroizing;

/// The format of a sealed blob: this byte, the 12-byte nonce, the ciphertext and its tag.
const VERSION: u8 = 1;
const NONCE: usize = 12;

/// The operator's key. Cheap to clone; `Debug` shows no byte of it.
#[derive(Clone)]
pub struct SealKey(Arc<Zeroizing<[u8; 32]>>);

impl std::fmt::Debug for SealKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SealKey([redacted])")
    }
}

/// What a sealed deployment needs to be taken back: the session's SSH login and the key
/// its engine requires. Wiped when dropped.
pub struct ResumeSecrets {
    /// The session's private key (PEM).
    pub ssh_key: Zeroizing<String>,
    /// The SSH host name, port and user the broker gave.
    pub host: String,
    pub port: u16,
    pub user: String,
    /// The address `host` resolved to and was checked as (connected to without resolving).
    pub at: String,
    /// The host key's fingerprint pinned at the first login (`SHA256:…`).
    pub host_key: String,
    /// The engine's API key.
    pub engine_key: Zeroizing<String>,
}

#[derive(Serialize)]
struct Out<'a> {
    ssh_key: &'a str,
    host: &'a str,
    port: u16,
    user: &'a str,
    at: &'a str,
    host_key: &'a str,
    engine_key: &'a str,
}

#[derive(Deserialize)]
struct In {
    ssh_key: String,
    host: String,
    port: u16,
    user: String,
    at: String,
    host_key: String,
    engine_key: String,
}

impl SealKey {
    /// A key from its bytes.
    pub fn new(bytes: [u8; 32]) -> Self {
        Self(Arc::new(Zeroizing::new(bytes)))
    }

    /// Reads the key file: 32 bytes, or 64 hexadecimal characters (a trailing newline
    /// allowed). A file others than its owner may read, or of another size, is refused.
    pub fn load(path: &Path) -> Result<Self, String> {
        let shown = path.display();
        let meta = std::fs::metadata(path)
            .map_err(|e| format!("cannot read the secret key file {shown}: {e}"))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = meta.permissions().mode();
            if mode & 0o077 != 0 {
                return Err(format!(
                    "the secret key file {shown} may be read by others than its owner (mode {:o}): run `chmod 600 {shown}`",
                    mode & 0o777
                ));
            }
        }
        if meta.len() > 256 {
            return Err(format!("the secret key file {shown} is {} bytes: it must hold 32 random bytes or 64 hexadecimal characters", meta.len()));
        }
        let raw = Zeroizing::new(
            std::fs::read(path)
                .map_err(|e| format!("cannot read the secret key file {shown}: {e}"))?,
        );
        Self::parse(&raw).ok_or_else(|| format!(
            "the secret key file {shown} must hold 32 random bytes or 64 hexadecimal characters (make one with `openssl rand -hex 32 > {shown}`)"
        ))
    }

    /// 32 raw bytes, or 64 hexadecimal characters with surrounding white space.
    fn parse(raw: &[u8]) -> Option<Self> {
        let mut key = Zeroizing::new([0u8; 32]);
        if raw.len() == 32 {
            key.copy_from_slice(raw);
            return Some(Self(Arc::new(key)));
        }
        let text = std::str::from_utf8(raw).ok()?.trim();
        if text.len() != 64 {
            return None;
        }
        for (i, byte) in key.iter_mut().enumerate() {
            *byte = u8::from_str_radix(text.get(2 * i..2 * i + 2)?, 16).ok()?;
        }
        Some(Self(Arc::new(key)))
    }

    fn cipher(&self) -> Aes256Gcm {
        Aes256Gcm::new_from_slice(&self.0[..]).expect("AES-256 takes a 32-byte key")
    }

    /// Seals `secrets` for deployment `id`.
    pub fn seal(&self, id: &DeploymentId, secrets: &ResumeSecrets) -> Result<Vec<u8>, String> {
        let plain = Zeroizing::new(
            serde_json::to_vec(&Out {
                ssh_key: &secrets.ssh_key,
                host: &secrets.host,
                port: secrets.port,
                user: &secrets.user,
                at: &secrets.at,
                host_key: &secrets.host_key,
                engine_key: &secrets.engine_key,
            })
            .map_err(|e| e.to_string())?,
        );
        let mut nonce = [0u8; NONCE];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let sealed = self
            .cipher()
            .encrypt(
                &Nonce::<Aes256Gcm>::from(nonce),
                Payload {
                    msg: &plain,
                    aad: id.as_str().as_bytes(),
                },
            )
            .map_err(|_| "sealing failed".to_owned())?;
        let mut out = Vec::with_capacity(1 + NONCE + sealed.len());
        out.push(VERSION);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    /// Opens what was sealed for deployment `id`: fails on another key, another
    /// deployment, or a blob changed in any byte.
    pub fn open(&self, id: &DeploymentId, sealed: &[u8]) -> Result<ResumeSecrets, String> {
        let refused =
            || "the sealed secrets do not open with this key (another key, or changed)".to_owned();
        if sealed.len() < 1 + NONCE + 16 || sealed[0] != VERSION {
            return Err(refused());
        }
        let (nonce, body) = sealed[1..].split_at(NONCE);
        let nonce: [u8; NONCE] = nonce.try_into().map_err(|_| refused())?;
        let plain = Zeroizing::new(
            self.cipher()
                .decrypt(
                    &Nonce::<Aes256Gcm>::from(nonce),
                    Payload {
                        msg: body,
                        aad: id.as_str().as_bytes(),
                    },
                )
                .map_err(|_| refused())?,
        );
        let read: In = serde_json::from_slice(&plain).map_err(|_| refused())?;
        Ok(ResumeSecrets {
            ssh_key: Zeroizing::new(read.ssh_key),
            host: read.host,
            port: read.port,
            user: read.user,
            at: read.at,
            host_key: read.host_key,
            engine_key: Zeroizing::new(read.engine_key),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secrets() -> ResumeSecrets {
        ResumeSecrets {
            ssh_key: Zeroizing::new("-----BEGIN RSA PRIVATE KEY-----\nMIIE\n".into()),
            host: "h".into(),
            port: 2222,
            user: "root".into(),
            at: "203.0.113.7:2222".into(),
            host_key: "SHA256:abc".into(),
            engine_key: Zeroizing::new("engine-key-0123456789".into()),
        }
    }

    #[test]
    fn sealed_secrets_open_only_with_the_key_and_for_the_deployment() {
        let key = SealKey::new([7; 32]);
        let id = DeploymentId::from("dep-1".to_owned());
        let sealed = key.seal(&id, &secrets()).unwrap();
        let text = String::from_utf8_lossy(&sealed);
        assert!(
            !text.contains("BEGIN") && !text.contains("engine-key"),
            "no clear text"
        );
        assert_ne!(
            sealed,
            key.seal(&id, &secrets()).unwrap(),
            "a fresh nonce each time"
        );
        let opened = key.open(&id, &sealed).unwrap();
        assert_eq!(opened.engine_key.as_str(), "engine-key-0123456789");
        assert_eq!(
            (opened.port, opened.at.as_str()),
            (2222, "203.0.113.7:2222")
        );
        let other = DeploymentId::from("dep-2".to_owned());
        assert!(
            key.open(&other, &sealed).is_err(),
            "bound to its deployment"
        );
        assert!(SealKey::new([8; 32]).open(&id, &sealed).is_err());
        let mut changed = sealed.clone();
        *changed.last_mut().unwrap() ^= 1;
        assert!(key.open(&id, &changed).is_err());
    }

    #[test]
    fn key_files_are_32_bytes_or_64_hex_characters_readable_by_their_owner_only() {
        let dir = std::env::temp_dir().join(format!("gdl-seal-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let write = |name: &str, content: &[u8], mode: u32| {
            let path = dir.join(name);
            std::fs::write(&path, content).unwrap();
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
            }
            path
        };
        let hex = "ab".repeat(32) + "\n";
        let from_hex = SealKey::load(&write("hex", hex.as_bytes(), 0o600)).unwrap();
        let raw = SealKey::load(&write("raw", &[0xab; 32], 0o400)).unwrap();
        let id = DeploymentId::from("dep-1".to_owned());
        assert!(
            raw.open(&id, &from_hex.seal(&id, &secrets()).unwrap())
                .is_ok(),
            "the same key"
        );
        let short = SealKey::load(&write("short", b"0123", 0o600)).unwrap_err();
        assert!(short.contains("32 random bytes"), "{short}");
        #[cfg(unix)]
        {
            let open = SealKey::load(&write("open", hex.as_bytes(), 0o644)).unwrap_err();
            assert!(open.contains("chmod 600"), "{open}");
        }
        assert!(SealKey::load(&dir.join("missing"))
            .unwrap_err()
            .contains("cannot read"));
        assert!(format!("{from_hex:?}").contains("redacted"));
    }
}
