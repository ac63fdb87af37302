//! The engine's command lines for each deploy mode: fetch (image pull or pip install),
//! start (its secrets read from the file [`super::engine_env`] wrote, never on a command
//! line), the liveness
//! check, the log tail and the health probe, for the engine version the run deploys (its
//! image and pip spec from the catalogue, `gdl_model::engines`) and its settings. Every value
//! that is not a literal is shell-quoted. In the entrypoint mode the broker fetches and
//! starts vLLM: only the watching is ours.

use super::error::StepError;
use super::host::{ExecOutput, RemoteHost};
use super::shell::quote;
use gdl_model::code::ErrorCode;
use gdl_model::engines::{ComputeCapability, Dtype, EngineSettings, EngineVersion};
use gdl_model::registry::{Quantization, ResolvedModel};
use gdl_model::runs::DeployMode;

/// How long a liveness check or log read may take.
const COMMAND_LIMIT: std::time::Duration = std::time::Duration::from_secs(60);
/// The port vLLM serves on, on the host.
pub const PORT: u16 = 8000;
/// The docker container's name.
const CONTAINER: &str = "vllm-server";
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

/// How vLLM is installed, started and watched in one mode, for one model.
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
        let mut words = vec![
            "--model".to_owned(),
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

    /// `vLLM 0.31.0`.
    pub fn label(&self) -> String {
        self.engine.label()
    }

    /// Whether the broker starts vLLM (nothing to fetch or start over SSH).
    pub fn broker_launched(&self) -> bool {
        self.mode.broker_launched()
    }

    /// Clears what an earlier attempt may have left (docker mode), ignoring failures.
    pub fn prepare(&self) -> Option<String> {
        match self.mode {
            DeployMode::Docker => Some(format!("docker rm -f {CONTAINER} >/dev/null 2>&1; true")),
            DeployMode::Pip | DeployMode::Entrypoint => None,
        }
    }

    /// Downloads vLLM (long: run it streaming); nothing when the broker does.
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
    /// shell with `.` under `set -a` (a file that cannot be read stops the start).
    pub fn start(&self) -> Option<String> {
        use super::engine_env::ENV_FILE;
        match self.mode {
            DeployMode::Docker => Some(format!(
                "docker run -d --gpus all --ipc=host --name {CONTAINER} -p 127.0.0.1:{PORT}:{PORT} --env-file {ENV_FILE} {} {}",
                self.engine.image,
                self.args
            )),
            DeployMode::Pip => Some(format!(
                "set -a; . ./{ENV_FILE} || exit 1; set +a; nohup python3 -m vllm.entrypoints.openai.api_server {} > {LOG_FILE} 2>&1 &",
                self.args
            )),
            DeployMode::Entrypoint => None,
        }
    }

    /// Asks whether vLLM still runs, and as what.
    pub fn liveness_check(&self) -> &'static str {
        match self.mode {
            DeployMode::Docker => {
                "docker inspect -f '{{.State.Running}} {{.State.StartedAt}}' vllm-server"
            }
            DeployMode::Pip | DeployMode::Entrypoint => {
                "pgrep -n -f vllm.entrypoints.openai.api_server"
            }
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

    /// Whether vLLM still runs on `host`.
    pub async fn alive(&self, host: &dyn RemoteHost) -> Result<Liveness, StepError> {
        let out = host.exec(self.liveness_check(), COMMAND_LIMIT).await?;
        Ok(self.liveness(&out))
    }

    /// The failure of a process that died or restarted (`what`), with its last log lines.
    pub async fn failure(&self, host: &dyn RemoteHost, code: ErrorCode, what: &str) -> StepError {
        let tail = host
            .exec(&self.log_tail(30), COMMAND_LIMIT)
            .await
            .map(|o| o.stdout)
            .unwrap_or_default();
        StepError::new(code, format!("{what}; last log lines:\n{}", tail.trim())).hint(
            "Read the log lines: out of memory means a bigger GPU or a quantized model; a CUDA error while serving is the host's GPU or driver (try another offer); a missing module means the install failed.",
        )
    }

    /// The last `lines` lines of vLLM's log.
    pub fn log_tail(&self, lines: u32) -> String {
        match self.mode {
            DeployMode::Docker => format!("docker logs --tail {lines} {CONTAINER} 2>&1"),
            DeployMode::Pip => format!("tail -n {lines} {LOG_FILE}"),
            DeployMode::Entrypoint => format!("tail -n {lines} {ENTRYPOINT_LOG}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gdl_model::registry::resolve;

    fn launch(mode: DeployMode, model: &str, q: Quantization, gpus: u32) -> Launch {
        with(
            mode,
            model,
            q,
            gpus,
            &EngineSettings::default(),
            "0.6.4",
            None,
        )
    }

    fn with(
        mode: DeployMode,
        model: &str,
        q: Quantization,
        gpus: u32,
        settings: &EngineSettings,
        version: &str,
        cc: Option<ComputeCapability>,
    ) -> Launch {
        Launch::new(&Deployment {
            mode,
            engine: gdl_model::engines::find(gdl_model::engines::Engine::Vllm, version).unwrap(),
            model: &resolve(model, q).unwrap(),
            gpu_count: gpus,
            settings,
            compute_capability: cc,
        })
    }

    #[test]
    fn the_version_and_settings_chosen_are_what_starts_and_values_are_quoted() {
        let settings: EngineSettings = serde_json::from_str(
            r#"{"max_model_len":8192,"extra_flags":["--generation-config=a b'c"]}"#,
        )
        .unwrap();
        let l = with(
            DeployMode::Docker,
            "qwen2.5-0.5b",
            Quantization::None,
            1,
            &settings,
            "0.31.0",
            Some((7, 5)),
        );
        assert_eq!(l.fetch().unwrap(), "docker pull vllm/vllm-openai:v0.31.0");
        let logged = l.start().unwrap();
        assert!(
            logged.contains("--env-file .gdl/engine.env vllm/vllm-openai:v0.31.0 --model"),
            "{logged}"
        );
        assert!(
            logged.contains(" --max-model-len 8192 --gpu-memory-utilization 0.9 --dtype half "),
            "auto is half on Turing: {logged}"
        );
        assert!(
            logged.ends_with(r"'--generation-config=a b'\''c'"),
            "{logged}"
        );
        let pip = with(
            DeployMode::Pip,
            "qwen2.5-0.5b",
            Quantization::None,
            1,
            &EngineSettings::default(),
            "0.31.0",
            Some((8, 9)),
        );
        assert!(pip.fetch().unwrap().ends_with("'vllm==0.31.0'"));
        assert!(
            !pip.start().unwrap().contains("--dtype"),
            "bf16 runs on Ada"
        );
        assert_eq!(l.label(), "vLLM 0.31.0");
    }

    #[test]
    fn docker_mode_quotes_every_argument_and_reads_its_secrets_from_the_env_file() {
        let l = launch(DeployMode::Docker, "qwen2.5-7b", Quantization::Awq, 2);
        let logged = l.start().unwrap();
        assert!(logged.starts_with("docker run -d --gpus all"));
        assert!(
            logged.contains("--model 'Qwen/Qwen2.5-7B-Instruct-AWQ'"),
            "{logged}"
        );
        assert!(logged.contains("--served-model-name 'Qwen/Qwen2.5-7B-Instruct'"));
        assert!(logged.contains("--quantization awq"));
        assert!(logged.contains("--tensor-parallel-size 2"));
        assert!(logged.contains("--host 0.0.0.0 "), "inside the container");
        assert!(logged
            .contains("-p 127.0.0.1:8000:8000 --env-file .gdl/engine.env vllm/vllm-openai:v0.6.4"));
        assert!(!logged.contains("VLLM_API_KEY") && !logged.contains("HF_TOKEN"));
        assert_eq!(l.fetch().unwrap(), "docker pull vllm/vllm-openai:v0.6.4");
        assert!(l.prepare().unwrap().starts_with("docker rm -f vllm-server"));
        assert_eq!(l.log_tail(30), "docker logs --tail 30 vllm-server 2>&1");
    }

    #[test]
    fn pip_mode_runs_in_the_background_and_logs_to_a_file() {
        let l = launch(DeployMode::Pip, "qwen2.5-0.5b", Quantization::None, 1);
        assert_eq!(l.prepare(), None);
        assert_eq!(
            l.fetch().unwrap(),
            "python3 -m pip install --progress-bar off 'vllm==0.6.4'"
        );
        let logged = l.start().unwrap();
        assert!(logged.ends_with("> /tmp/vllm.log 2>&1 &"), "{logged}");
        assert!(
            logged.starts_with("set -a; . ./.gdl/engine.env || exit 1; set +a; nohup python3"),
            "the secrets are exported from the file: {logged}"
        );
        assert!(logged.contains("nohup python3 -m vllm.entrypoints.openai.api_server --model 'Qwen/Qwen2.5-0.5B-Instruct'"));
        assert!(!logged.contains("--quantization") && !logged.contains("tensor-parallel"));
        assert!(
            logged.contains("--host 127.0.0.1 "),
            "only the tunnel reaches it"
        );
        assert_eq!(l.log_tail(1), "tail -n 1 /tmp/vllm.log");
    }

    #[test]
    fn entrypoint_mode_only_watches_what_the_broker_started() {
        let l = launch(
            DeployMode::Entrypoint,
            "qwen2.5-0.5b",
            Quantization::None,
            1,
        );
        assert!(l.broker_launched());
        assert_eq!((l.prepare(), l.fetch(), l.start()), (None, None, None));
        assert_eq!(
            l.liveness_check(),
            "pgrep -n -f vllm.entrypoints.openai.api_server"
        );
        assert_eq!(l.log_tail(5), "tail -n 5 /var/log/vllm.log");
    }

    #[test]
    fn liveness_reads_both_checks() {
        let docker = launch(DeployMode::Docker, "qwen2.5-0.5b", Quantization::None, 1);
        let out = |stdout: &str, exit_code| ExecOutput {
            stdout: stdout.into(),
            exit_code,
            ..Default::default()
        };
        assert_eq!(
            docker.liveness(&out("true 2026-01-01T00:00:00Z\n", 0)),
            Liveness::Running("true 2026-01-01T00:00:00Z".into())
        );
        assert_eq!(
            docker.liveness(&out("false 2026-01-01T00:00:00Z\n", 0)),
            Liveness::Stopped
        );
        assert_eq!(docker.liveness(&out("", 1)), Liveness::Stopped);
        let pip = launch(DeployMode::Pip, "qwen2.5-0.5b", Quantization::None, 1);
        assert_eq!(
            pip.liveness(&out("4243\n", 0)),
            Liveness::Running("4243".into())
        );
        assert_eq!(pip.liveness(&out("", 1)), Liveness::Stopped);
    }
}
