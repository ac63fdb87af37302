//! The remote host the pipeline works on: exec with timeouts, streamed exec for long
//! installs, and local port forwarding to the vLLM port. [`SimHost`] is the embedded
//! default: a simulated GPU machine whose vLLM is the built-in streaming server.

use super::llm::{LlmProfile, SimLlm};
use futures::future::BoxFuture;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::Duration;

/// What a command printed and how it ended.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ExecOutput {
    pub stdout: String,
    pub stderr: String,
    pub exit_code: i32,
}

/// Why a host operation failed.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum HostError {
    #[error("SSH connection failed: {0}")]
    Connect(String),
    #[error("command timed out after {} s: {}", .0.as_secs(), .1)]
    Timeout(Duration, String),
    #[error("SSH channel error: {0}")]
    Channel(String),
}

/// A machine reached over SSH (or simulated).
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

    /// Forwards a local loopback port to `remote_port` on the host; returns the local
    /// address to connect to.
    fn forward<'a>(&'a self, remote_port: u16) -> BoxFuture<'a, Result<SocketAddr, HostError>>;
}

/// A simulated host for sessions of the embedded broker.
pub struct SimHost {
    gpu_type: String,
    gpu_count: u32,
    vram_gb: u32,
    /// Time scale of waits (downloads, model load).
    speed: f64,
    llm: tokio::sync::Mutex<Option<SimLlm>>,
    /// What `docker run` / `vllm serve` asked to serve, and when.
    launched: Mutex<Option<(LlmProfile, std::time::Instant)>>,
}

impl SimHost {
    /// A host with `gpu_count` × `gpu_type` of `vram_gb` each.
    pub fn new(gpu_type: &str, gpu_count: u32, vram_gb: u32, speed: f64) -> Self {
        Self {
            gpu_type: gpu_type.to_owned(),
            gpu_count: gpu_count.max(1),
            vram_gb,
            speed: speed.max(0.1),
            llm: tokio::sync::Mutex::new(None),
            launched: Mutex::new(None),
        }
    }

    fn scaled(&self, secs: f64) -> Duration {
        Duration::from_secs_f64(secs / self.speed)
    }

    fn nvidia_smi(&self) -> String {
        let used = if self.launched.lock().unwrap().is_some() {
            self.vram_gb as u64 * 1024 * 9 / 10
        } else {
            3
        };
        (0..self.gpu_count)
            .map(|i| {
                format!(
                    "NVIDIA GeForce {}, {}, {}, 550.54.15, {}, {}\n",
                    self.gpu_type,
                    self.vram_gb as u64 * 1024,
                    used,
                    38 + i,
                    if used > 3 { 87 } else { 0 }
                )
            })
            .collect()
    }

    /// Answers the commands the pipeline sends, as a Ubuntu 22.04 GPU host would.
    fn answer(&self, command: &str) -> ExecOutput {
        let ok = |s: &str| ExecOutput {
            stdout: s.to_owned(),
            stderr: String::new(),
            exit_code: 0,
        };
        let first = command.trim_start();
        if first.starts_with("echo ") {
            return ok(&format!(
                "{}\n",
                first.trim_start_matches("echo ").trim_matches('\'')
            ));
        }
        if first.starts_with("hostname") {
            return ok("sim-gpu-host\n");
        }
        if first.starts_with("cat /etc/os-release") {
            return ok("NAME=\"Ubuntu\"\nVERSION=\"22.04.4 LTS (Jammy Jellyfish)\"\nID=ubuntu\n");
        }
        if first.starts_with("uname -r") {
            return ok("5.15.0-105-generic\n");
        }
        if first.starts_with("nvidia-smi --query-gpu") {
            return ok(&self.nvidia_smi());
        }
        if first.starts_with("nvidia-smi") {
            return ok(
                "| NVIDIA-SMI 550.54.15    Driver Version: 550.54.15    CUDA Version: 12.4 |\n",
            );
        }
        if first.starts_with("docker --version") {
            return ok("Docker version 24.0.7, build afdd53b\n");
        }
        if first.starts_with("python3 --version") {
            return ok("Python 3.10.12\n");
        }
        if first.starts_with("df -B1") {
            return ok("Filesystem 1B-blocks Used Available Use% Mounted on\noverlay 107374182400 21474836480 85899345920 20% /\n");
        }
        if first.starts_with("free -b") {
            return ok("              total        used        free      shared  buff/cache   available\nMem:    67430023168  4294967296 60129542144     1048576  3005489152 62561947648\n");
        }
        if first.starts_with("curl -s -o /dev/null") && first.contains("huggingface.co") {
            return ok("200");
        }
        if first.starts_with("docker inspect") || first.starts_with("pgrep") {
            let running = self.launched.lock().unwrap().is_some();
            let stdout = match (running, first.starts_with("pgrep")) {
                (true, true) => "4242\n",
                (true, false) => "true 2026-01-01T00:00:00Z\n",
                (false, _) => "false\n",
            };
            return ExecOutput {
                stdout: stdout.into(),
                exit_code: if running { 0 } else { 1 },
                ..Default::default()
            };
        }
        if first.starts_with("docker logs") || first.starts_with("tail") {
            return ok(&format!("{}\n", self.load_progress().1));
        }
        if first.starts_with("docker rm") || first.starts_with("pkill") {
            return ok("");
        }
        ExecOutput {
            stdout: String::new(),
            stderr: format!("sim-host: {first}: command not simulated\n"),
            exit_code: 127,
        }
    }

    /// Launches the built-in vLLM (what `docker run` / `vllm serve` do): it loads for a
    /// while that grows with the model size, then serves.
    fn start_llm(&self, command: &str) -> ExecOutput {
        let model = arg_after(command, "--served-model-name")
            .or_else(|| arg_after(command, "--model"))
            .unwrap_or_else(|| "unknown/model".into());
        let key = env_value(command, "VLLM_API_KEY").unwrap_or_default();
        let profile = LlmProfile::for_hardware(&model, &self.gpu_type, self.gpu_count, key);
        *self.launched.lock().unwrap() = Some((profile, std::time::Instant::now()));
        ExecOutput {
            stdout: "3f9a1c0d2e4b\n".into(),
            stderr: String::new(),
            exit_code: 0,
        }
    }

    /// (loaded, last log line) of the launched model.
    fn load_progress(&self) -> (bool, String) {
        let launched = self.launched.lock().unwrap().clone();
        let Some((profile, since)) = launched else {
            return (false, "no vLLM process".into());
        };
        let needed = self.scaled(20.0 + 4.0 * profile.params_b).as_secs_f64();
        let done = since.elapsed().as_secs_f64() / needed.max(0.001);
        if done >= 1.0 {
            (
                true,
                "INFO:     Uvicorn running on http://0.0.0.0:8000 (Press CTRL+C to quit)".into(),
            )
        } else if done < 0.5 {
            (
                false,
                format!("Downloading model weights: {:.0}%", done * 200.0),
            )
        } else {
            (
                false,
                format!(
                    "Loading model weights into GPU memory: {:.0}%",
                    (done - 0.5) * 200.0
                ),
            )
        }
    }

    /// The health endpoint as `curl -w '%{http_code}'` sees it, starting the server once
    /// the model has loaded.
    async fn health_code(&self) -> String {
        let (loaded, _) = self.load_progress();
        if !loaded {
            return "000".into();
        }
        let mut llm = self.llm.lock().await;
        if llm.is_none() {
            let profile = self.launched.lock().unwrap().clone().map(|(p, _)| p);
            if let Some(profile) = profile {
                *llm = SimLlm::start(profile).await.ok();
            }
        }
        if llm.is_some() {
            "200".into()
        } else {
            "000".into()
        }
    }
}

/// The value after `flag` in a shell-quoted command line.
fn arg_after(command: &str, flag: &str) -> Option<String> {
    let words = shell_words(command);
    words
        .iter()
        .position(|w| w == flag)
        .and_then(|i| words.get(i + 1).cloned())
}

/// The value of `-e NAME=value` or `NAME=value` in a command line.
fn env_value(command: &str, name: &str) -> Option<String> {
    shell_words(command)
        .into_iter()
        .find_map(|w| w.strip_prefix(&format!("{name}=")).map(str::to_owned))
}

/// Splits a command line the way a POSIX shell would for single-quoted words.
fn shell_words(command: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut in_quote = false;
    let mut started = false;
    for c in command.chars() {
        match c {
            '\'' => {
                in_quote = !in_quote;
                started = true;
            }
            c if c.is_whitespace() && !in_quote => {
                if started {
                    words.push(std::mem::take(&mut current));
                    started = false;
                }
            }
            c => {
                current.push(c);
                started = true;
            }
        }
    }
    if started {
        words.push(current);
    }
    words
}

impl RemoteHost for SimHost {
    fn exec<'a>(
        &'a self,
        command: &'a str,
        _timeout: Duration,
    ) -> BoxFuture<'a, Result<ExecOutput, HostError>> {
        Box::pin(async move {
            tokio::time::sleep(Duration::from_millis(5)).await;
            let launches = command.contains("docker run")
                || (command.contains("nohup")
                    && command.contains("vllm.entrypoints.openai.api_server"));
            if launches {
                return Ok(self.start_llm(command));
            }
            if command.starts_with("curl") && command.contains("localhost:8000/health") {
                let code = self.health_code().await;
                return Ok(ExecOutput {
                    stdout: code,
                    ..Default::default()
                });
            }
            Ok(self.answer(command))
        })
    }

    fn exec_streaming<'a>(
        &'a self,
        command: &'a str,
        timeout: Duration,
        on_line: &'a (dyn Fn(&str) + Send + Sync),
    ) -> BoxFuture<'a, Result<ExecOutput, HostError>> {
        Box::pin(async move {
            if command.contains("docker pull") || command.contains("pip install") {
                // A ~9 GB image (or the wheels) downloading, reported as it goes.
                let steps = 10;
                for i in 1..=steps {
                    tokio::time::sleep(self.scaled(12.0)).await;
                    on_line(&format!(
                        "Downloading: {}% ({:.1} GB of 9.1 GB)",
                        i * 10,
                        9.1 * i as f64 / steps as f64
                    ));
                }
                on_line("Download complete");
                return Ok(ExecOutput {
                    stdout: "Status: Downloaded newer image\n".into(),
                    ..Default::default()
                });
            }
            self.exec(command, timeout).await
        })
    }

    fn forward<'a>(&'a self, remote_port: u16) -> BoxFuture<'a, Result<SocketAddr, HostError>> {
        Box::pin(async move {
            match (remote_port, self.llm.lock().await.as_ref()) {
                (8000, Some(llm)) => Ok(llm.addr()),
                _ => Err(HostError::Channel(format!(
                    "connect to localhost:{remote_port} refused on the host"
                ))),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_words_follow_single_quotes() {
        let words =
            shell_words("docker run -e 'VLLM_API_KEY=a b' --model 'Qwen/Qwen2.5-0.5B-Instruct' x");
        assert_eq!(
            words,
            vec![
                "docker",
                "run",
                "-e",
                "VLLM_API_KEY=a b",
                "--model",
                "Qwen/Qwen2.5-0.5B-Instruct",
                "x"
            ]
        );
        assert_eq!(
            arg_after("a --model 'm/x' b", "--model").as_deref(),
            Some("m/x")
        );
    }
}
