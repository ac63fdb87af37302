//! The Hugging Face Hub: which Hub the dashboard asks before renting, and the token it uses
//! for gated and private models. The token comes from a file (`--hf-token-file`) or from
//! `HF_TOKEN`, never from a flag (a flag shows in `ps`); it is kept as an
//! [`HfToken`](gdl_model::secret::HfToken), which never prints or serialises.

use crate::runner::hub::{HubAccess, DEFAULT_ENDPOINT};
use clap::Args;
use gdl_model::secret::HfToken;
use std::path::PathBuf;
use zeroize::Zeroizing;

/// The Hub settings shared by `serve` and `test`. `Debug` never shows the token.
#[derive(Clone, Default, Args)]
pub struct HubSettings {
    /// Base URL of the Hugging Face Hub asked, before renting, whether the model is gated
    /// or private (default https://huggingface.co; the embedded simulator's own fake Hub
    /// when no broker URL is given). The hosts download from their own default Hub.
    #[arg(long = "hf-endpoint", env = "HF_ENDPOINT")]
    pub endpoint: Option<String>,

    /// A file holding a Hugging Face token (its first line; the file should be readable by
    /// this user only), for gated and private models. Instead, the token may be in the
    /// environment variable HF_TOKEN. There is no flag for the token itself.
    #[arg(long = "hf-token-file", env = "GDL_HF_TOKEN_FILE")]
    pub token_file: Option<PathBuf>,

    /// `HF_TOKEN` as the environment had it when the settings were parsed.
    #[arg(skip = std::env::var("HF_TOKEN").ok().map(Zeroizing::new))]
    pub from_env: Option<Zeroizing<String>>,

    /// The token read by [`HubSettings::load_token`] (or set by a test).
    #[arg(skip)]
    pub token: Option<HfToken>,
}

impl HubSettings {
    /// Reads the token: from `--hf-token-file` when given, else from `HF_TOKEN` (as it was
    /// when the settings were parsed) unless one is set already. A file that cannot be read, or holds no token, is an error.
    pub fn load_token(&mut self) -> Result<(), String> {
        if let Some(path) = &self.token_file {
            let text = std::fs::read_to_string(path).map_err(|e| {
                format!(
                    "cannot read the Hugging Face token from {} ({e}); check --hf-token-file",
                    path.display()
                )
            })?;
            let first = text.lines().next().unwrap_or_default();
            let token = HfToken::parse(first)
                .map_err(|why| format!("{} holds no usable token: {why}", path.display()))?;
            self.token = Some(token);
            return Ok(());
        }
        if self.token.is_none() {
            if let Some(text) = self.from_env.as_ref().filter(|t| !t.trim().is_empty()) {
                let token = HfToken::parse(text).map_err(|why| format!("HF_TOKEN: {why}"))?;
                self.token = Some(token);
            }
        }
        Ok(())
    }

    /// What the runner uses: the endpoint given, else `fallback` (the embedded simulator's
    /// fake Hub), else the real Hub; and the token.
    pub fn access(&self, fallback: Option<&str>) -> HubAccess {
        let endpoint = self
            .endpoint
            .as_deref()
            .filter(|e| !e.trim().is_empty())
            .or(fallback)
            .unwrap_or(DEFAULT_ENDPOINT);
        HubAccess {
            endpoint: endpoint.trim_end_matches('/').to_owned(),
            token: self.token.clone(),
            ..HubAccess::default()
        }
    }
}

impl std::fmt::Debug for HubSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HubSettings")
            .field("endpoint", &self.endpoint)
            .field("token_file", &self.token_file)
            .field("from_env", &self.from_env.as_ref().map(|_| "[redacted]"))
            .field("token", &self.token.as_ref().map(|_| "[redacted]"))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_comes_from_its_file_and_never_prints() {
        let dir = std::env::temp_dir().join(format!("gdl-hub-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("token");
        std::fs::write(&file, "hf_FileToken123\nsecond line\n").unwrap();
        let mut hub = HubSettings {
            token_file: Some(file.clone()),
            ..Default::default()
        };
        hub.load_token().unwrap();
        assert_eq!(hub.token.as_ref().unwrap().expose(), "hf_FileToken123");
        assert!(!format!("{hub:?}").contains("FileToken"), "{hub:?}");
        let access = hub.access(Some("http://127.0.0.1:9/"));
        assert_eq!(access.endpoint, "http://127.0.0.1:9");
        assert!(!format!("{access:?}").contains("FileToken"));
        std::fs::write(&file, "not a token\n").unwrap();
        assert!(hub
            .load_token()
            .unwrap_err()
            .contains("holds no usable token"));
        let missing = HubSettings {
            token_file: Some(dir.join("missing")),
            ..Default::default()
        };
        assert!(missing
            .clone()
            .load_token()
            .unwrap_err()
            .contains("--hf-token-file"));
        let explicit = HubSettings {
            endpoint: Some("http://hub.internal".into()),
            ..Default::default()
        };
        assert_eq!(
            explicit.access(Some("http://sim")).endpoint,
            "http://hub.internal"
        );
        assert_eq!(
            HubSettings::default().access(None).endpoint,
            DEFAULT_ENDPOINT
        );
        let mut from_env = HubSettings {
            from_env: Some(Zeroizing::new(" hf_FromEnv ".into())),
            ..Default::default()
        };
        from_env.load_token().unwrap();
        assert_eq!(from_env.token.unwrap().expose(), "hf_FromEnv");
    }
}
