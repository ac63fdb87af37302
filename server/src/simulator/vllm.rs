//! A vLLM process on the simulated host, from launch to serving: what its command line
//! asks for, how long the download and load take on this hardware, what it logs on the
//! way, and why it dies when it does (the model does not fit, more tensor-parallel ranks
//! than GPUs, the package missing, a driver too old or a GPU its build has no kernels for). Once loaded it serves through [`SimLlm`].

use super::driver::Death;
use super::llm::settings::{Launch, Memory};
use super::llm::{LlmProfile, SimLlm};
use super::shell::arg_after;
use chrono::{DateTime, Utc};
use gdl_model::engines::{Engine, EngineVersion};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// The hardware a process runs on.
#[derive(Clone, Debug, PartialEq)]
pub struct Gpus {
    pub gpu_type: String,
    pub count: u32,
    /// Per GPU, GiB.
    pub vram_gb: u32,
    /// How many times slower than its GPU type this host decodes (1: a sound host).
    pub slowdown: f64,
}

impl Gpus {
    /// Their memory, as the engine's settings meet it.
    pub fn memory(&self) -> Memory {
        Memory {
            vram_gb: self.vram_gb,
            count: self.count,
        }
    }
}

/// How the process was started.
#[derive(Clone, Debug, PartialEq)]
pub enum Kind {
    /// A container (`docker run --name NAME`).
    Container { name: String },
    /// A Python process (`python3 -m vllm.entrypoints.openai.api_server`).
    Process { pid: u32 },
}

/// One vLLM process, or another engine's that logs its own way (SGLang's).
pub struct Vllm {
    pub kind: Kind,
    /// Which engine it is: its log lines follow.
    pub engine: Engine,
    /// SGLang's startup line (its `ServerArgs`); empty for vLLM.
    pub(super) server_args: String,
    /// The engine's own log lines when they are not vLLM's (set by the engine's launch).
    pub(super) own_log: Option<fn(&Vllm) -> Vec<String>>,
    pub profile: LlmProfile,
    /// The host port it is reachable on, if any (docker needs `-p` or host networking).
    pub port: Option<u16>,
    pub started: Instant,
    pub started_wall: DateTime<Utc>,
    /// Download + load time on this hardware (already scaled).
    pub(super) load_time: Duration,
    /// Why it dies during loading, if it will.
    pub(super) death: Option<String>,
    /// Its command line, as `ps` shows it.
    pub command: String,
    /// Stopped by `docker rm -f` / `pkill`.
    pub killed: bool,
    server: Option<SimLlm>,
    /// Crashed while serving (a fault): stays dead once its server is gone.
    crashed: bool,
    /// The release it logs (the catalogue's, read from its image or pip spec).
    version: String,
    /// The share of loading at which a doomed process dies.
    dies_at: f64,
}

/// What [`Vllm::phase`] reports.
#[derive(Clone, Debug, PartialEq)]
pub enum Phase {
    /// Downloading or loading, with the share done (0–1).
    Loading(f64),
    Serving,
    /// Exited during loading.
    Dead,
}

impl Vllm {
    /// A process started with `args` (the words after the image or the module) on `gpus`,
    /// with `api_key` from its environment. `speed` scales the simulated waits.
    pub fn launch(kind: Kind, args: &[String], api_key: String, gpus: &Gpus, speed: f64) -> Self {
        let served = arg_after(args, "--served-model-name")
            .or_else(|| arg_after(args, "--model"))
            .unwrap_or("facebook/opt-125m")
            .to_owned();
        let repo = arg_after(args, "--model").unwrap_or(&served).to_owned();
        let key = arg_after(args, "--api-key")
            .map(str::to_owned)
            .unwrap_or(api_key);
        let launch = Launch::from_args(args, &repo, LlmProfile::params_of(&served));
        // Each copy decodes at the speed of the GPUs it is split over.
        let split = launch.tp.clamp(1, gpus.count.max(1));
        let mut profile = LlmProfile::for_hardware(&served, &gpus.gpu_type, split, key);
        profile.ms_per_token *= gpus.slowdown.max(1.0) * launch.decode_factor();
        profile.max_seqs = launch.max_seqs();
        profile.copies = launch.dp;
        profile.prefix_caching = launch.prefix_caching;
        let memory = gpus.memory();
        profile.kv_tokens = launch.kv_tokens(memory);
        let death = launch.refusal(memory);
        let port = arg_after(args, "--port")
            .and_then(|p| p.parse().ok())
            .unwrap_or(8000);
        Self {
            kind,
            engine: Engine::Vllm,
            server_args: String::new(),
            own_log: None,
            load_time: Duration::from_secs_f64((20.0 + 4.0 * profile.params_b) / speed.max(0.01)),
            profile,
            port: Some(port),
            started: Instant::now(),
            started_wall: Utc::now(),
            death,
            command: format!(
                "python3 -m vllm.entrypoints.openai.api_server {}",
                args.join(" ")
            ),
            killed: false,
            server: None,
            crashed: false,
            version: "0.6.4".into(),
            dies_at: 0.6,
        }
    }

    /// Runs as `engine` (its release in the log), dying with `death` (what the host's driver
    /// or GPU does to this build, [`super::driver::startup_error`]) when there is one.
    pub fn as_engine(mut self, engine: &EngineVersion, death: Option<Death>) -> Self {
        self.version = engine.version.to_owned();
        if let Some(death) = death {
            self.death = Some(death.error);
            self.dies_at = if death.early { 0.05 } else { 0.6 };
        }
        self
    }

    /// A process that cannot start at all: it logs `error` and exits at once.
    pub fn broken(kind: Kind, error: &str, api_key: String, gpus: &Gpus) -> Self {
        let mut vllm = Self::launch(kind, &[], api_key, gpus, 1.0);
        vllm.death = Some(error.to_owned());
        vllm.load_time = Duration::ZERO;
        vllm
    }

    /// The Hub refused its download (`error`, huggingface_hub's): it dies at once, before
    /// downloading anything, as vLLM does when it cannot read the model's config.
    pub fn refused_by_hub(&mut self, error: String) {
        self.death = Some(error);
        self.dies_at = 0.0;
    }

    /// Why it will not serve (what it logs as it dies), if it will not.
    pub fn refusal(&self) -> Option<&str> {
        self.death.as_deref()
    }

    /// Whether it crashed while serving.
    pub(super) fn crashed(&self) -> bool {
        self.crashed || self.server.as_ref().is_some_and(SimLlm::crashed)
    }

    /// Where it is now.
    pub fn phase(&self) -> Phase {
        let done = self.started.elapsed().as_secs_f64() / self.load_time.as_secs_f64().max(1e-3);
        match (&self.death, done) {
            _ if self.killed || self.crashed() => Phase::Dead,
            (Some(_), d) if d >= self.dies_at || self.load_time.is_zero() => Phase::Dead,
            (None, d) if d >= 1.0 => Phase::Serving,
            (_, d) => Phase::Loading(d.min(1.0)),
        }
    }

    /// Whether the process is alive (loading or serving).
    pub fn running(&self) -> bool {
        self.phase() != Phase::Dead
    }

    /// Every log line so far, oldest first.
    pub fn log(&self) -> Vec<String> {
        if let Some(log) = self.own_log {
            return log(self);
        }
        let stamp = self.started_wall.format("%m-%d %H:%M:%S");
        let mut lines = vec![
            format!(
                "INFO {stamp} api_server.py:585] vLLM API server version {}",
                self.version
            ),
            format!(
                "INFO {stamp} api_server.py:586] args: model='{}', served_model_name=['{}']",
                self.profile.model, self.profile.model
            ),
        ];
        let done = match self.phase() {
            Phase::Loading(d) => d,
            Phase::Serving => 1.0,
            Phase::Dead if self.killed => return lines,
            Phase::Dead if self.crashed() => 1.0,
            Phase::Dead => self.dies_at,
        };
        let download = (done * 2.0).min(1.0);
        for tenth in 1..=(download * 10.0) as u32 {
            lines.push(format!("Downloading model weights: {}%", tenth * 10));
        }
        if done > 0.5 {
            let load = ((done - 0.5) * 2.0).min(1.0);
            for quarter in 1..=(load * 4.0) as u32 {
                lines.push(format!(
                    "Loading model weights into GPU memory: {}%",
                    quarter * 25
                ));
            }
        }
        let serving = "INFO:     Uvicorn running on http://0.0.0.0:8000 (Press CTRL+C to quit)";
        match (self.phase(), &self.death) {
            (Phase::Dead, _) if self.crashed() => lines.extend([
                serving.into(),
                format!("ERROR {stamp} engine.py:135] RuntimeError: CUDA error: an illegal memory access was encountered"),
                format!("ERROR {stamp} engine.py:135] Engine background loop has errored; shutting down"),
                "INFO:     Shutting down".into(),
            ]),
            (Phase::Dead, Some(death)) => {
                lines.push("ERROR Traceback (most recent call last):".into());
                lines.push(death.clone());
            }
            (Phase::Serving, _) => lines.push(serving.into()),
            _ => {}
        }
        lines
    }

    /// The address of its HTTP server on `port`, starting the server the first time it is
    /// asked once the model has loaded (crashing in its `crash_after`th chat completion if
    /// that is not 0). `None` while loading, after death, or on another port.
    pub fn serving_addr(&mut self, port: u16, crash_after: u32) -> Option<SocketAddr> {
        self.crashed = self.crashed();
        if self.phase() != Phase::Serving || self.port != Some(port) {
            self.server = None;
            return None;
        }
        if self.server.is_none() {
            self.server = SimLlm::start(self.profile.clone(), crash_after).ok();
        }
        self.server.as_ref().map(SimLlm::addr)
    }

    /// Stops it (and its server).
    pub fn kill(&mut self) {
        self.killed = true;
        self.server = None;
    }

    /// Whether the pattern of `pgrep -f` / `pkill -f` matches its command line.
    pub fn matches(&self, pattern: &str) -> bool {
        let command = match self.engine {
            Engine::Vllm => "python3 -m vllm.entrypoints.openai.api_server",
            Engine::Sglang => "python3 -m sglang.launch_server",
        };
        matches!(self.kind, Kind::Process { .. }) && command.contains(pattern)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gpus(vram_gb: u32, count: u32) -> Gpus {
        Gpus {
            gpu_type: "RTX 4090".into(),
            count,
            vram_gb,
            slowdown: 1.0,
        }
    }

    fn args(line: &str) -> Vec<String> {
        line.split_whitespace().map(str::to_owned).collect()
    }

    #[tokio::test]
    async fn loads_then_serves_with_a_log_that_grows() {
        let mut v = Vllm::launch(
            Kind::Process { pid: 7 },
            &args("--model Qwen/Qwen2.5-0.5B-Instruct --served-model-name qwen --port 8000"),
            "k".into(),
            &gpus(24, 1),
            1000.0,
        );
        assert!(matches!(v.phase(), Phase::Loading(_)));
        assert_eq!(v.serving_addr(8000, 0), None, "not while loading");
        tokio::time::sleep(Duration::from_millis(60)).await;
        assert_eq!(v.phase(), Phase::Serving);
        assert!(v.log().last().unwrap().contains("Uvicorn running"));
        assert!(v
            .log()
            .iter()
            .any(|l| l.contains("Downloading model weights: 100%")));
        assert_eq!(v.serving_addr(9000, 0), None, "only on its port");
        assert!(v.serving_addr(8000, 0).is_some());
        assert!(v.matches("vllm.entrypoints.openai.api_server"));
        v.kill();
        assert_eq!(v.phase(), Phase::Dead);
    }

    #[tokio::test]
    async fn a_model_too_big_for_the_gpus_dies_with_cuda_out_of_memory() {
        let v = Vllm::launch(
            Kind::Container {
                name: "vllm-server".into(),
            },
            &args("--model Qwen/Qwen2.5-7B-Instruct"),
            "k".into(),
            &gpus(8, 1),
            1000.0,
        );
        tokio::time::sleep(Duration::from_millis(60)).await;
        assert_eq!(v.phase(), Phase::Dead);
        assert!(v.log().last().unwrap().contains("CUDA out of memory"));
        let split = Vllm::launch(
            Kind::Process { pid: 1 },
            &args("--model Qwen/Qwen2.5-0.5B-Instruct --tensor-parallel-size 2"),
            "k".into(),
            &gpus(24, 1),
            1000.0,
        );
        tokio::time::sleep(Duration::from_millis(60)).await;
        assert!(split
            .log()
            .last()
            .unwrap()
            .contains("tensor_parallel_size=2"));
    }
}
