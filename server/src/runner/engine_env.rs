//! The engine's secrets on the host — its API key and the Hugging Face token — kept off
//! every command line. They are written through the SSH channel's standard input (not its
//! command) to `.gdl/engine.env` in the login directory, created under `umask 077` (the
//! file 0600, its directory 0700), then read by the start command:
//! - docker mode: `docker run --env-file .gdl/engine.env`: the docker client reads the
//!   file itself and hands the values to the daemon over its socket, so they are in no
//!   process's arguments (`-e NAME=value` would show in `ps`);
//! - pip mode: `set -a; . ./.gdl/engine.env`: the shell reads the file and exports the
//!   values to the engine's environment, again without an argument carrying them.
//!
//! The file is removed as soon as the start command has returned, whether it worked or
//! not. What remains is the engine's environment (`/proc/PID/environ`, readable by its own
//! user and root only).

use super::error::StepError;
use super::host::RemoteHost;
use gdl_model::code::ErrorCode;
use gdl_model::secret::HfToken;
use std::time::Duration;
use zeroize::Zeroizing;

/// The file, relative to the login directory (where SSH commands start).
pub const ENV_FILE: &str = ".gdl/engine.env";
/// Writes standard input to the file, readable by its owner only.
const WRITE: &str = "umask 077 && mkdir -p .gdl && cat > .gdl/engine.env";
/// Removes it.
const REMOVE: &str = "rm -f .gdl/engine.env";
/// How long writing or removing may take.
const LIMIT: Duration = Duration::from_secs(60);

/// The variables the engine is started with, as `NAME=value` lines.
pub struct EngineEnv {
    lines: Zeroizing<String>,
}

impl EngineEnv {
    /// The engine's API key (`VLLM_API_KEY`) and, when given, the Hub token (`HF_TOKEN`,
    /// which `huggingface_hub` reads for downloads). Both hold only letters, digits, `_`,
    /// `-` and `.` (the API key is hex; [`HfToken::parse`] checks the token), so docker's
    /// `--env-file` and the shell read the lines alike.
    pub fn new(api_key: &str, hf_token: Option<&HfToken>) -> Self {
        let mut lines = Zeroizing::new(format!("VLLM_API_KEY={api_key}\n"));
        if let Some(token) = hf_token {
            lines.push_str("HF_TOKEN=");
            lines.push_str(token.expose());
            lines.push('\n');
        }
        Self { lines }
    }

    /// The file's content (tests).
    pub fn lines(&self) -> &str {
        &self.lines
    }

    /// Writes the file on `host` through standard input.
    pub async fn write(&self, host: &dyn RemoteHost) -> Result<(), StepError> {
        let out = host
            .exec_with_input(WRITE, self.lines.as_bytes(), LIMIT)
            .await?;
        if out.exit_code != 0 {
            return Err(StepError::new(
                ErrorCode::VllmStartFailed,
                format!(
                    "could not write the engine's environment file ~/{ENV_FILE} (exit {}): {}",
                    out.exit_code,
                    out.stderr.trim()
                ),
            )
            .hint("The host's home directory may be full or read-only; keep the instance on failure to look."));
        }
        Ok(())
    }

    /// Removes the file from `host`.
    pub async fn remove(host: &dyn RemoteHost) -> Result<(), StepError> {
        let out = host.exec(REMOVE, LIMIT).await?;
        if out.exit_code != 0 {
            return Err(StepError::new(
                ErrorCode::VllmStartFailed,
                format!(
                    "could not remove ~/{ENV_FILE} after the start (exit {}): {}",
                    out.exit_code,
                    out.stderr.trim()
                ),
            )
            .hint("Destroy the session: the file holds the engine's secrets."));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_holds_the_key_and_the_token_when_given() {
        let token = HfToken::parse("hf_abc-1.2").unwrap();
        let env = EngineEnv::new("0123abcd", Some(&token));
        assert_eq!(env.lines(), "VLLM_API_KEY=0123abcd\nHF_TOKEN=hf_abc-1.2\n");
        assert_eq!(EngineEnv::new("k", None).lines(), "VLLM_API_KEY=k\n");
        assert!(WRITE.contains(ENV_FILE) && REMOVE.contains(ENV_FILE));
        assert!(WRITE.starts_with("umask 077"));
    }
}
