//! The real binary as a child process, bounded in time: every wait has a deadline, output
//! is read as it comes (so a full pipe never stalls the child), and a child still running
//! when its test ends is killed.

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The `gpu-deploy-llm` binary, with no broker, dashboard or token from the environment,
/// and a Hugging Face Hub on a closed loopback port (tests talk to loopback only: a run
/// says it could not ask the Hub and goes on; `--hf-endpoint` names another).
pub fn binary() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_gpu-deploy-llm"));
    for name in [
        "SHOPPER_URL",
        "GDL_AUTH_TOKEN",
        "GDL_DATA_DIR",
        "GDL_URL",
        "GDL_TOKEN",
        "GDL_TOKEN_FILE",
        "HF_TOKEN",
        "GDL_HF_TOKEN_FILE",
        "GDL_DATABASE_URL",
        "GDL_DATABASE_PASSWORD_FILE",
        "PGPASSWORD",
    ] {
        command.env_remove(name);
    }
    command.env("HF_ENDPOINT", "http://127.0.0.1:9");
    command
}

/// A fresh data directory under the temp dir.
pub fn data_dir() -> std::path::PathBuf {
    std::env::temp_dir().join(format!("gdl-proc-{}", uuid::Uuid::new_v4()))
}

/// What a finished child printed.
pub struct Output {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `command` to its end; panics (after killing it) if it outlives `limit`.
pub fn output_within(command: &mut Command, limit: Duration) -> Output {
    let mut child = Child::spawn(command);
    let status = child.wait_within(limit);
    Output {
        status,
        stdout: child.stdout(),
        stderr: child.stderr(),
    }
}

impl Output {
    /// Standard output as JSON; a panic with both outputs when it is not.
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> T {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}\n{}", self.stdout, self.stderr))
    }
}

/// The binary with `args` as a client of a running dashboard: `GDL_URL` when given, the
/// token in `GDL_TOKEN` (never on the command line), and an empty data directory of its
/// own, so what it prints can only come from the dashboard.
pub fn client(args: &[&str], url: Option<&str>, token: Option<&str>) -> Command {
    let mut command = binary();
    command.args(args).env("GDL_DATA_DIR", data_dir());
    if let Some(url) = url {
        command.env("GDL_URL", url);
    }
    if let Some(token) = token {
        command.env("GDL_TOKEN", token);
    }
    command
}

/// A running child whose output is collected by reader threads.
pub struct Child {
    child: std::process::Child,
    stdout: Arc<Mutex<String>>,
    stderr: Arc<Mutex<String>>,
}

impl Child {
    pub fn spawn(command: &mut Command) -> Self {
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the binary starts");
        let stdout = collect(child.stdout.take().unwrap());
        let stderr = collect(child.stderr.take().unwrap());
        Self {
            child,
            stdout,
            stderr,
        }
    }

    pub fn stdout(&self) -> String {
        self.stdout.lock().unwrap().clone()
    }

    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// The first stderr line containing `needle`, waiting at most `limit` for it.
    pub fn wait_for_line(&mut self, needle: &str, limit: Duration) -> String {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(line) = self.stderr().lines().find(|l| l.contains(needle)) {
                return line.to_owned();
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "exited ({status}) before printing {needle:?}:\n{}",
                    self.stderr()
                );
            }
            assert!(
                Instant::now() < deadline,
                "no {needle:?} within {limit:?}:\n{}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends `signal` (a name `kill -s` knows: TERM, INT, KILL, STOP, CONT).
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args(["-s", signal, &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -s {signal}");
    }

    /// Waits for the child to exit, at most `limit` (then kills it and panics).
    pub fn wait_within(&mut self, limit: Duration) -> ExitStatus {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait works") {
                // Let the reader threads drain what was left in the pipes.
                std::thread::sleep(Duration::from_millis(50));
                return status;
            }
            if Instant::now() >= deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!(
                    "still running after {limit:?}; killed. stderr:\n{}",
                    self.stderr()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn collect(pipe: impl Read + Send + 'static) -> Arc<Mutex<String>> {
    let text = Arc::new(Mutex::new(String::new()));
    let sink = text.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines() {
            let Ok(line) = line else { break };
            let mut text = sink.lock().unwrap();
            text.push_str(&line);
            text.push('\n');
        }
    });
    text
}

/// The `http://…` address a log line announces (`… on http://127.0.0.1:PORT …`).
pub fn announced_url(line: &str) -> String {
    let start = line.find("http://").expect("an address in the line");
    line[start..]
        .split(|c: char| c.is_whitespace() || c == ')')
        .next()
        .unwrap()
        .trim_end_matches('/')
        .to_owned()
}

/// `gpu-deploy-llm simulate` on a port of its own choosing; returns it and its URL.
pub fn simulate(extra: &[&str]) -> (Child, String) {
    let mut child = Child::spawn(
        binary()
            .args(["simulate", "--addr", "127.0.0.1:0", "--speed", "60"])
            .args(["--failure-rate", "0", "--seed", "3"])
            .args(extra),
    );
    let line = child.wait_for_line("simulated cloud-gpu-shopper on", Duration::from_secs(30));
    (child, announced_url(&line))
}

/// `gpu-deploy-llm serve` on a port of its own choosing, with `args`; returns it and its URL.
pub fn serve(args: &[&str], data_dir: &std::path::Path) -> (Child, String) {
    let mut child = Child::spawn(
        binary()
            .args(["serve", "--addr", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir)
            .args(args),
    );
    let line = child.wait_for_line("dashboard on http://", Duration::from_secs(60));
    (child, announced_url(&line))
}

/// The broker's sessions that are neither stopped nor failed (what may still be billed; a
/// failed create left nothing running, as `SessionStatus::is_terminal` says).
pub async fn live_sessions(broker: &str) -> Vec<serde_json::Value> {
    let body: serde_json::Value = reqwest::get(format!("{broker}/api/v1/sessions"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["sessions"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|s| s["status"] != "stopped" && s["status"] != "failed")
        .collect()
}
