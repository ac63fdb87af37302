//! The simulated GPU host behind a rented session: the machine its SSH exec channels run
//! commands on. It answers `nvidia-smi`, `docker`, `pip`, `python3`, `curl`, `df`, `free`,
//! `cat`, `tail`, `pgrep`/`pkill`, `rm` and a few shell builtins as an Ubuntu 22.04 host with the
//! session's GPUs would, streaming output as it comes (image pulls, installs) with real exit
//! codes. Anything else exits 127, as bash does. vLLM runs as a [`Vllm`] process, SGLang as one
//! too ([`super::sglang`]); either downloads its model from the simulator's fake Hub
//! ([`super::hub`]) with its `HF_TOKEN`. Each exec runs in its own [`Shell`] (standard input,
//! exported variables, umask).

use super::driver::Driver;
use super::shell::{self, Connector, Target};
use super::vllm::{Gpus, Kind, Vllm};

mod curl;
mod docker;
mod engine;
mod entrypoint;
mod files;
mod output;
mod packages;
mod session;
mod system;
use futures::future::BoxFuture;
use gdl_model::engines::EngineVersion;
use session::Running;
pub use session::{CommandLog, Shell};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::mpsc;

/// Faults the simulator sets on its hosts while they run (mirrors of fields of
/// [`super::faults::Faults`], read by the hosts when they need them).
#[derive(Debug, Default)]
pub struct HostFaults {
    /// `Faults::host_flood_lines`.
    pub flood_lines: AtomicU64,
    /// `Faults::vllm_crash_after_requests`.
    pub vllm_crash_after: AtomicU32,
}

/// Which output stream a chunk belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

/// Where a command's output goes: chunks as they are written.
pub type OutputTx = mpsc::Sender<(Stream, String)>;

/// The image the runner's docker mode pulls (any image pulls the same way).
const IMAGE_GB: f64 = 9.1;
/// How long pulling it takes (contract seconds).
const PULL_SECS: f64 = 120.0;

/// A simulated host. Cheap to share (`Arc`); its state sits behind a std `Mutex` never
/// held across an `.await`.
pub struct SimHost {
    hostname: String,
    gpus: Gpus,
    /// Time scale of the host's waits (downloads, installs, model loading).
    speed: f64,
    state: Mutex<HostState>,
    /// Where the secrets it is handed (vLLM API keys) are noted, for leak tests.
    secrets: Option<SecretLog>,
    /// The faults it shows (flooded output, vLLM crashing).
    faults: Arc<HostFaults>,
    /// Its NVIDIA driver (what `nvidia-smi` reports and engine builds find); `None` when no
    /// driver works (`nvidia-smi` fails, engines find no GPU).
    driver: Option<Driver>,
    /// The size of its disk (what the session asked for), bytes.
    disk_bytes: u64,
    /// Where the command lines it runs are noted, for leak tests.
    commands: Option<CommandLog>,
    /// The Hub its engine downloads from.
    hub: super::hub::FakeHub,
}

/// Secrets a simulated cloud was handed, kept so tests can look for leaks of them.
pub type SecretLog = Arc<Mutex<Vec<String>>>;

#[derive(Default)]
struct HostState {
    pulled: Vec<String>,
    pip_vllm: bool,
    /// The catalogue's engine version `pip install` put there, when it knows the spec.
    pip_engine: Option<&'static EngineVersion>,
    /// Files written by redirection (`/tmp/x.log`), and their modes.
    files: HashMap<String, String>,
    modes: HashMap<String, u32>,
    /// The execs running now (a process id and the command line each), for `ps`.
    running: Vec<(u32, String)>,
    vllm: Option<Vllm>,
    /// The file the vLLM process writes its log to (pip mode).
    vllm_log: Option<String>,
    next_pid: u32,
    powered_off: bool,
}

/// Where descriptor 1 or 2 of a running command writes.
#[derive(Clone, Debug, PartialEq)]
enum Dest {
    Out(Stream),
    File(String),
    Null,
}

/// A command's outputs.
struct Io<'a> {
    tx: &'a OutputTx,
    fds: [Dest; 2],
    host: &'a SimHost,
    shell: &'a Shell,
}

impl Io<'_> {
    async fn write(&self, fd: usize, text: &str) {
        match &self.fds[fd] {
            Dest::Out(stream) => {
                let _ = self.tx.send((*stream, text.to_owned())).await;
            }
            Dest::File(path) => self
                .host
                .lock()
                .files
                .entry(path.clone())
                .or_default()
                .push_str(text),
            Dest::Null => {}
        }
    }

    async fn out(&self, text: &str) {
        self.write(0, text).await
    }

    async fn err(&self, text: &str) {
        self.write(1, text).await
    }
}

impl SimHost {
    /// A host named `hostname` with `gpus`, whose waits run `speed` times faster.
    pub fn new(hostname: String, gpus: Gpus, speed: f64) -> Self {
        Self {
            hostname,
            gpus,
            speed: speed.max(0.01),
            state: Mutex::new(HostState {
                next_pid: 4242,
                ..Default::default()
            }),
            secrets: None,
            faults: Default::default(),
            driver: Some(Driver::DEFAULT),
            disk_bytes: 107_374_182_400,
            commands: None,
            hub: Default::default(),
        }
    }

    /// Has a disk of `gb` GB (the session's `disk_gb`; 100 GiB when it asked for none).
    pub fn with_disk_gb(mut self, gb: Option<u32>) -> Self {
        if let Some(gb) = gb {
            self.disk_bytes = gb as u64 * 1_000_000_000;
        }
        self
    }

    /// Has `driver` (instead of a current one; `None`: none that works).
    pub fn with_driver(mut self, driver: Option<Driver>) -> Self {
        self.driver = driver;
        self
    }

    /// Shows the faults `faults` asks for at the time.
    pub fn with_faults(mut self, faults: Arc<HostFaults>) -> Self {
        self.faults = faults;
        self
    }

    /// Notes every API key the host is handed in `log`.
    pub fn with_secret_log(mut self, log: SecretLog) -> Self {
        self.secrets = Some(log);
        self
    }

    /// Notes a secret the host was handed.
    fn handed(&self, secret: &str) {
        if let (Some(log), false) = (&self.secrets, secret.is_empty()) {
            log.lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(secret.to_owned());
        }
    }

    fn lock(&self) -> MutexGuard<'_, HostState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn scaled(&self, secs: f64) -> Duration {
        Duration::from_secs_f64(secs / self.speed)
    }

    /// The instance is destroyed: vLLM stops and nothing runs any more.
    pub fn power_off(&self) {
        let mut state = self.lock();
        state.powered_off = true;
        if let Some(v) = state.vllm.as_mut() {
            v.kill();
        }
    }

    /// Where a connection to `port` on the host lands (for port forwarding), if something
    /// listens there.
    pub fn tcp_target(&self, port: u16) -> Option<SocketAddr> {
        let crash_after = self.faults.vllm_crash_after.load(Relaxed);
        self.lock().vllm.as_mut()?.serving_addr(port, crash_after)
    }

    /// Runs a command line, sending its output to `tx` as it is written; returns the exit
    /// code.
    pub fn exec<'a>(self: &'a Arc<Self>, line: &'a str, tx: &'a OutputTx) -> BoxFuture<'a, i32> {
        self.exec_in(line, Shell::default(), tx)
    }

    /// Runs a command line in `shell` (which may have standard input), as `bash -c LINE`.
    pub fn exec_in<'a>(
        self: &'a Arc<Self>,
        line: &'a str,
        shell: Shell,
        tx: &'a OutputTx,
    ) -> BoxFuture<'a, i32> {
        Box::pin(async move {
            let _running = Running::new(self, line);
            let steps = match shell::parse(line) {
                Ok(steps) => steps,
                Err(e) => {
                    let _ = tx
                        .send((Stream::Stderr, format!("bash: sim-host: {e}\n")))
                        .await;
                    return 2;
                }
            };
            let mut status = 0;
            for step in steps {
                let run = match step.connector {
                    Connector::Always => true,
                    Connector::IfOk => status == 0,
                    Connector::IfFailed => status != 0,
                };
                if !run {
                    continue;
                }
                if let Some(code) = step
                    .command
                    .words
                    .first()
                    .filter(|w| *w == "exit")
                    .map(|_| step.command.words.get(1).and_then(|c| c.parse().ok()))
                {
                    return code.unwrap_or(status);
                }
                if step.background {
                    let host = self.clone();
                    let command = step.command.clone();
                    let (sink, mut drain) = mpsc::channel(16);
                    let fork = shell.fork();
                    tokio::spawn(async move { while drain.recv().await.is_some() {} });
                    let job = tokio::spawn(async move { host.run(&command, &sink, &fork).await });
                    // A job that starts at once (a server launch) has started when the
                    // shell returns, as after a fork; a long one goes on detached.
                    let _ = tokio::time::timeout(Duration::from_millis(50), job).await;
                    status = 0;
                } else {
                    status = self.run(&step.command, tx, &shell).await;
                }
            }
            status
        })
    }

    /// Runs one simple command with its redirections.
    async fn run(&self, command: &shell::Command, tx: &OutputTx, shell: &Shell) -> i32 {
        let mut fds = [Dest::Out(Stream::Stdout), Dest::Out(Stream::Stderr)];
        for r in &command.redirects {
            let fd = match r.fd {
                1 => 0,
                2 => 1,
                _ => continue,
            };
            fds[fd] = match &r.target {
                Target::Fd(1) => fds[0].clone(),
                Target::Fd(2) => fds[1].clone(),
                Target::Fd(_) => Dest::Null,
                Target::File { path, .. } if path == "/dev/null" => Dest::Null,
                Target::File { path, append } => {
                    let path = session::normalise(path).to_owned();
                    if !append {
                        let mut state = self.lock();
                        state.files.insert(path.clone(), String::new());
                        state.modes.insert(path.clone(), shell.file_mode());
                    }
                    Dest::File(path)
                }
            };
        }
        let io = Io {
            tx,
            fds,
            host: self,
            shell,
        };
        if self.lock().powered_off {
            return 255;
        }
        let mut words: &[String] = &command.words;
        if words.first().is_some_and(|w| w == "nohup") {
            words = &words[1..];
        }
        // What `set -a` and `.` exported, then the command's own `NAME=value` words.
        let exported = shell.exported();
        let env: HashMap<&str, &str> = exported
            .iter()
            .chain(&command.env)
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let log_to = match &io.fds[0] {
            Dest::File(path) => Some(path.clone()),
            _ => None,
        };
        self.builtin(words, &env, log_to, &io).await
    }

    async fn builtin(
        &self,
        words: &[String],
        env: &HashMap<&str, &str>,
        log_to: Option<String>,
        io: &Io<'_>,
    ) -> i32 {
        let Some(program) = words.first().map(String::as_str) else {
            return 0;
        };
        let args: Vec<&str> = words[1..].iter().map(String::as_str).collect();
        match program {
            "true" => 0,
            "false" => 1,
            "echo" => {
                let (newline, rest) = match args.first() {
                    Some(&"-n") => ("", &args[1..]),
                    _ => ("\n", &args[..]),
                };
                io.out(&format!("{}{newline}", rest.join(" "))).await;
                0
            }
            "sleep" => {
                let secs: f64 = args.first().and_then(|s| s.parse().ok()).unwrap_or(0.0);
                tokio::time::sleep(Duration::from_secs_f64(secs.clamp(0.0, 600.0))).await;
                0
            }
            "hostname" => {
                io.out(&format!("{}\n", self.hostname)).await;
                0
            }
            "uname" => {
                let text = match args.first() {
                    Some(&"-r") => "5.15.0-105-generic\n".to_owned(),
                    _ => format!(
                        "Linux {} 5.15.0-105-generic x86_64 GNU/Linux\n",
                        self.hostname
                    ),
                };
                io.out(&text).await;
                0
            }
            "cat" | "tail" => self.read_file(program, &args, io).await,
            "set" | "." | "source" | "umask" | "mkdir" | "rm" | "stat" | "ps" => {
                self.session_builtin(program, &args, io).await
            }
            "nvidia-smi" => {
                let (text, code) = self.nvidia_smi(&args);
                io.out(&text).await;
                code
            }
            "python3" | "python" => self.python(&args, env, log_to, io).await,
            "pip" | "pip3" => self.pip(&args, io).await,
            "docker" => self.docker(&args, env, io).await,
            "printf" => self.file_builtin(program, &args, io).await,
            "pgrep" | "pkill" => {
                let pattern = args.iter().rev().find(|a| !a.starts_with('-'));
                let found = {
                    let mut state = self.lock();
                    let matching = state
                        .vllm
                        .as_mut()
                        .filter(|v| v.running() && pattern.is_some_and(|p| v.matches(p)));
                    matching.map(|v| {
                        if program == "pkill" {
                            v.kill();
                        }
                        match v.kind {
                            Kind::Process { pid } => pid,
                            Kind::Container { .. } => 0,
                        }
                    })
                };
                match found {
                    None => 1,
                    Some(_) if program == "pkill" => 0,
                    Some(pid) => {
                        io.out(&format!("{pid}\n")).await;
                        0
                    }
                }
            }
            "curl" => self.curl(&args, io).await,
            "df" => {
                let total = self.disk_bytes;
                let images = (self.lock().pulled.len() as f64 * IMAGE_GB * 1e9) as u64;
                let used = (total / 10 + images).min(total);
                let pct = used * 100 / total.max(1);
                io.out(&format!("Filesystem 1B-blocks Used Available Use% Mounted on\noverlay {total} {used} {} {pct}% /\n", total - used)).await;
                0
            }
            "free" => {
                io.out("              total        used        free      shared  buff/cache   available\nMem:    67430023168  4294967296 60129542144     1048576  3005489152 62561947648\nSwap:             0           0           0\n").await;
                0
            }
            other => {
                io.err(&format!("bash: line 1: {other}: command not found\n"))
                    .await;
                127
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod tests;
