//! The engine's command lines for each deploy mode: fetch (image pull or pip install),
//! start (its secrets never on a command line: the API key and the Hub token from the file
//! [`super::engine_env`] writes through standard input, SGLang's key from a 0600 `--config`
//! file written the same way), the liveness check, the log tail and the health probe, for
//! the engine version the run deploys (vLLM or SGLang; its image and pip spec from the
//! catalogue, `gdl_model::engines`) and its settings. Every value that is not a literal is
//! shell-quoted. In the entrypoint mode the broker fetches and starts vLLM: only the
//! watching is ours.
//!
//! vLLM reads its key from `VLLM_API_KEY`. SGLang takes it only as `--api-key` (no
//! environment variable), which would put it in the server's argv, visible to `ps` on the
//! host; it is given instead through SGLang's `--config` YAML file (its values are merged
//! into the arguments inside the process, source: docs.sglang.io "Server Arguments",
//! sgl-project/sglang `server_args_config_parser.py`), written through standard input under
//! `umask 077`, mounted read-only into the container, and removed from the host once
//! `docker run` returns (the mount keeps it readable inside).

use super::error::StepError;
use super::host::{ExecOutput, RemoteHost};
use super::shell::quote;
use gdl_model::code::ErrorCode;
use gdl_model::engines::{ComputeCapability, Dtype, Engine, EngineSettings, EngineVersion};
use gdl_model::registry::{Quantization, ResolvedModel};
use gdl_model::runs::DeployMode;
use zeroize::Zeroizing;

mod hint;

/// How long a liveness check or log read may take.
const COMMAND_LIMIT: std::time::Duration = std::time::Duration::from_secs(60);
/// The port the engine serves on, on the host.
pub const PORT: u16 = 8000;
/// SGLang's key file on the host, between its writing and `docker run` (docker mode).
const SGLANG_KEY_FILE: &str = "/tmp/gdl-sglang-key.yaml";
/// Where the SGLang container sees it.
const SGLANG_KEY_MOUNT: &str = "/run/gdl-sglang-key.yaml";
/// The pip-mode log file.
const LOG_FILE: &str = "/tmp/vllm.log";
/// Where the container the broker starts (entrypoint mode) writes vLLM's output, as our
/// simulator has it: the broker's source does not say.
pub const ENTRYPOINT_LOG: &str = "/var/log/vllm.log";
/// The image the broker starts in the entrypoint mode (`vastai/types.go`).
pub const BROKER_IMAGE: &str = gdl_model::runs::BROKER_IMAGE;

/// The health probe: prints the HTTP status (`000` while nothing listens).
pub const HEALTH_CHECK: &str =
    "curl -s -o /dev/null -w '%{http_code}' --max-time 5 http://localhost:8000/health";

/// What a run starts: the engine version, the model, the GPUs and the settings.
pub struct Deployment<'a> {
    pub mode: DeployMode,
    pub engine: &'static EngineVersion,
    pub model: &'a ResolvedModel,
    pub gpu_count: u32,
    pub settings: &'a EngineSettings,
    /// The GPU's compute capability when the catalogue knows it: below 8.0 a `dtype` of
    /// `auto` becomes `half` (no bf16 there).
    pub compute_capability: Option<ComputeCapability>,
}

/// How the engine is installed, started and watched in one mode, for one model.
#[derive(Clone, Debug, PartialEq)]
pub struct Launch {
    mode: DeployMode,
    engine: &'static EngineVersion,
    /// The server's arguments, quoted.
    args: String,
}

/// A word of the command line: bare when it is letters, digits, `-`, `_` and `.` only (flag
/// names, numbers), else quoted. The catalogue's images are literals and go in bare.
fn word(w: &str) -> String {
    let plain = !w.is_empty()
        && w.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if plain {
        w.to_owned()
    } else {
        quote(w)
    }
}

/// What the liveness check saw.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Liveness {
    /// Running; the identity (container start time or process id) changes on a restart.
    Running(String),
    Stopped,
}

impl Launch {
    /// The launch `d` describes.
    pub fn new(d: &Deployment<'_>) -> Self {
        // Only the tunnel reaches it: loopback on the host; inside a container it listens
        // on the container's interfaces and Docker publishes it on the host's loopback.
        let bind = match d.mode {
            DeployMode::Docker | DeployMode::Entrypoint => "0.0.0.0",
            DeployMode::Pip => "127.0.0.1",
        };
        let model_flag = match d.engine.engine {
            Engine::Vllm => "--model",
            Engine::Sglang => "--model-path",
        };
        let mut words = vec![
            model_flag.to_owned(),
            d.model.served_repo.clone(),
            "--served-model-name".to_owned(),
            d.model.model.clone(),
            "--host".to_owned(),
            bind.to_owned(),
            "--port".to_owned(),
            PORT.to_string(),
        ];
        if d.model.quantization != Quantization::None {
            words.extend([
                "--quantization".to_owned(),
                d.model.quantization.as_str().to_owned(),
            ]);
        }
        let mut settings = d.settings.clone();
        if settings.dtype == Dtype::Auto && d.compute_capability.is_some_and(|cc| cc < (8, 0)) {
            settings.dtype = Dtype::Half;
        }
        words.extend(settings.flags(d.engine.engine, d.gpu_count));
        let args = words.iter().map(|w| word(w)).collect::<Vec<_>>().join(" ");
        Self {
            mode: d.mode,
            engine: d.engine,
            args,
        }
    }

    /// `vLLM 0.31.0`, `SGLang 0.5.21`.
    pub fn label(&self) -> String {
        self.engine.label()
    }

    /// `vLLM`, `SGLang`: the engine alone, for messages.
    pub fn engine(&self) -> &'static str {
        self.engine.engine.label()
    }

    fn sglang(&self) -> bool {
        self.engine.engine == Engine::Sglang
    }

    /// The docker container's name.
    fn container(&self) -> &'static str {
        match self.engine.engine {
            Engine::Vllm => "vllm-server",
            Engine::Sglang => "sglang-server",
        }
    }

    /// The server's Python module (pip mode, the SGLang image, `pgrep`).
    fn module(&self) -> &'static str {
        match self.engine.engine {
            Engine::Vllm => "vllm.entrypoints.openai.api_server",
            Engine::Sglang => "sglang.launch_server",
        }
    }

    /// Whether the broker starts the engine (nothing to fetch or start over SSH).
    pub fn broker_launched(&self) -> bool {
        self.mode.broker_launched()
    }

    /// Clears what an earlier attempt may have left (docker mode), ignoring failures.
    pub fn prepare(&self) -> Option<String> {
        match self.mode {
            DeployMode::Docker if self.sglang() => Some(format!(
                "docker rm -f {} >/dev/null 2>&1; rm -f {SGLANG_KEY_FILE}; true",
                self.container()
            )),
            DeployMode::Docker => Some(format!(
                "docker rm -f {} >/dev/null 2>&1; true",
                self.container()
            )),
            DeployMode::Pip | DeployMode::Entrypoint => None,
        }
    }

    /// Stops the running engine so it can be started with other settings (tuning): its
    /// container, or its process; nothing when the broker started it.
    pub fn stop(&self) -> Option<String> {
        match self.mode {
            DeployMode::Docker => Some(format!(
                "docker rm -f {} >/dev/null 2>&1; true",
                self.container()
            )),
            DeployMode::Pip => Some(format!("pkill -f {}; true", self.module())),
            DeployMode::Entrypoint => None,
        }
    }

    /// Downloads the engine (long: run it streaming); nothing when the broker does.
    pub fn fetch(&self) -> Option<String> {
        match self.mode {
            DeployMode::Docker => Some(format!("docker pull {}", self.engine.image)),
            DeployMode::Pip => Some(format!(
                "python3 -m pip install --progress-bar off {}",
                quote(self.engine.pip)
            )),
            DeployMode::Entrypoint => None,
        }
    }

    /// The start command (logged as it is: it holds no secret), nothing when the broker
    /// starts it. The API key and the Hub token come from the file
    /// [`ENV_FILE`](super::engine_env::ENV_FILE): docker reads it with `--env-file`, the
    /// shell with `.` under `set -a` (a file that cannot be read stops the start); SGLang's
    /// key from its `--config` file ([`Launch::key_file`]).
    pub fn start(&self) -> Option<String> {
        use super::engine_env::ENV_FILE;
        let (container, module, args) = (self.container(), self.module(), &self.args);
        let image = self.engine.image;
        let run = format!(
            "docker run -d --gpus all --ipc=host --name {container} -p 127.0.0.1:{PORT}:{PORT} --env-file {ENV_FILE}"
        );
        match (self.mode, self.engine.engine) {
            (DeployMode::Docker, Engine::Vllm) => Some(format!("{run} {image} {args}")),
            // SGLang needs a larger /dev/shm than Docker's 64 MB (its docs' docker line uses
            // `--shm-size 32g`; 16 GB is ample for one server's workers).
            (DeployMode::Docker, Engine::Sglang) => Some(format!(
                "{run} --shm-size 16g -v {SGLANG_KEY_FILE}:{SGLANG_KEY_MOUNT}:ro {image} python3 -m {module} --config {SGLANG_KEY_MOUNT} {args}"
            )),
            (DeployMode::Pip, Engine::Vllm) => Some(format!(
                "set -a; . ./{ENV_FILE} || exit 1; set +a; nohup python3 -m {module} {args} > {LOG_FILE} 2>&1 &"
            )),
            // Validation keeps SGLang to the docker mode (`runner::validate`).
            (DeployMode::Pip, Engine::Sglang) | (DeployMode::Entrypoint, _) => None,
        }
    }

    /// SGLang's key file: where it goes on the host, the command that writes its standard
    /// input there readable by its owner only, and its content. `None` for vLLM (its key is
    /// in the environment file).
    pub fn key_file(&self, api_key: &str) -> Option<KeyFile> {
        (self.sglang() && self.mode == DeployMode::Docker).then(|| KeyFile {
            write: format!("umask 077 && cat > {SGLANG_KEY_FILE}"),
            remove: format!("rm -f {SGLANG_KEY_FILE}"),
            content: Zeroizing::new(format!("api-key: \"{api_key}\"\n")),
        })
    }

    /// Asks whether the engine still runs, and as what.
    pub fn liveness_check(&self) -> String {
        match self.mode {
            DeployMode::Docker => format!(
                "docker inspect -f '{{{{.State.Running}}}} {{{{.State.StartedAt}}}}' {}",
                self.container()
            ),
            DeployMode::Pip | DeployMode::Entrypoint => format!("pgrep -n -f {}", self.module()),
        }
    }

    /// Reads the liveness check's answer.
    pub fn liveness(&self, out: &ExecOutput) -> Liveness {
        let seen = out.stdout.trim();
        if out.exit_code != 0 || seen.is_empty() || seen.starts_with("false") {
            Liveness::Stopped
        } else {
            Liveness::Running(seen.to_owned())
        }
    }

    /// Whether the engine still runs on `host`.
    pub async fn alive(&self, host: &dyn RemoteHost) -> Result<Liveness, StepError> {
        let out = host.exec(&self.liveness_check(), COMMAND_LIMIT).await?;
        Ok(self.liveness(&out))
    }

    /// The failure of a process that died or restarted (`what`), with its last log lines,
    /// `api_key` hidden in them (SGLang prints its arguments, key included, at start).
    pub async fn failure(
        &self,
        host: &dyn RemoteHost,
        code: ErrorCode,
        what: &str,
        api_key: &str,
    ) -> StepError {
        let tail = host
            .exec(&self.log_tail(30), COMMAND_LIMIT)
            .await
            .map(|o| scrub(&o.stdout, api_key))
            .unwrap_or_default();
        StepError::new(code, format!("{what}; last log lines:\n{}", tail.trim()))
            .hint(hint::for_log(&tail))
    }

    /// The last `lines` lines of the engine's log.
    pub fn log_tail(&self, lines: u32) -> String {
        match self.mode {
            DeployMode::Docker => format!("docker logs --tail {lines} {} 2>&1", self.container()),
            DeployMode::Pip => format!("tail -n {lines} {LOG_FILE}"),
            DeployMode::Entrypoint => format!("tail -n {lines} {ENTRYPOINT_LOG}"),
        }
    }
}

/// A file of secrets the engine reads at start, written through standard input.
pub struct KeyFile {
    /// Writes standard input to the file (`umask 077`).
    pub write: String,
    /// Removes it once the start has returned.
    pub remove: String,
    /// What it holds.
    pub content: Zeroizing<String>,
}

/// `text` (what a host printed) with every occurrence of `secret` replaced by `[redacted]`.
pub fn scrub(text: &str, secret: &str) -> String {
    if secret.is_empty() {
        text.to_owned()
    } else {
        text.replace(secret, "[redacted]")
    }
}

#[cfg(test)]
mod tests;
