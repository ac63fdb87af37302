//! One exec's shell on the simulated host, and the builtins that use it: standard input
//! (what the SSH client sends on the channel, up to its end of file: `cat > file` reads
//! it), `umask` (files created after it get its mode), the variables `set -a` and `.`
//! (`source`) export to the commands after them, `mkdir`, `rm`, `stat -c %a`, and `ps`,
//! which lists the host's processes by command line: each exec's `bash -c LINE` while it
//! runs, and the engine.

use super::{Io, SimHost};
use crate::simulator::vllm::Kind;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use tokio::sync::oneshot;

/// Every command line a simulated cloud's hosts ran (each was a `bash -c LINE` in their
/// process lists), kept so tests can look for secrets in them.
pub type CommandLog = Arc<Mutex<Vec<String>>>;

/// An exec in the host's process list while it runs.
pub(super) struct Running<'a> {
    host: &'a SimHost,
    pid: u32,
}

impl<'a> Running<'a> {
    /// Notes `line` in the host's command log and process list.
    pub(super) fn new(host: &'a SimHost, line: &str) -> Self {
        if let Some(log) = &host.commands {
            log.lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(line.to_owned());
        }
        let mut state = host.lock();
        state.next_pid += 1;
        let pid = state.next_pid;
        state.running.push((pid, line.to_owned()));
        Self { host, pid }
    }
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.host.lock().running.retain(|(pid, _)| *pid != self.pid);
    }
}

/// One exec's shell state. Its std mutexes are never held across an `.await`.
pub struct Shell {
    /// Standard input: the whole of it once the client has sent its end of file.
    stdin: Mutex<Option<oneshot::Receiver<Vec<u8>>>>,
    /// Variables exported to the commands that follow (`set -a` then `.`).
    exported: Mutex<Vec<(String, String)>>,
    allexport: AtomicBool,
    umask: AtomicU32,
}

impl Default for Shell {
    fn default() -> Self {
        Self {
            stdin: Mutex::new(None),
            exported: Mutex::new(Vec::new()),
            allexport: AtomicBool::new(false),
            umask: AtomicU32::new(0o022),
        }
    }
}

/// A path as the host's files are keyed: `./x` is `x`.
pub(super) fn normalise(path: &str) -> &str {
    path.strip_prefix("./").unwrap_or(path)
}

impl Shell {
    /// A shell whose standard input is what `stdin` delivers.
    pub fn with_stdin(stdin: oneshot::Receiver<Vec<u8>>) -> Self {
        Self {
            stdin: Mutex::new(Some(stdin)),
            ..Self::default()
        }
    }

    /// The shell a background job runs in: the same variables, no standard input.
    pub(super) fn fork(&self) -> Self {
        Self {
            exported: Mutex::new(self.exported()),
            umask: AtomicU32::new(self.umask.load(Relaxed)),
            ..Self::default()
        }
    }

    /// The exported variables.
    pub(super) fn exported(&self) -> Vec<(String, String)> {
        self.exported
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The mode a file created now gets.
    pub(super) fn file_mode(&self) -> u32 {
        0o666 & !self.umask.load(Relaxed)
    }

    /// Reads standard input to its end (nothing when there is none).
    async fn read_stdin(&self) -> Vec<u8> {
        let rx = self.stdin.lock().unwrap_or_else(|p| p.into_inner()).take();
        match rx {
            Some(rx) => rx.await.unwrap_or_default(),
            None => Vec::new(),
        }
    }

    fn export(&self, name: &str, value: &str) {
        let mut vars = self.exported.lock().unwrap_or_else(|p| p.into_inner());
        vars.retain(|(n, _)| n != name);
        vars.push((name.to_owned(), value.to_owned()));
    }
}

impl SimHost {
    /// Notes every command line the host runs in `log`.
    pub fn with_command_log(mut self, log: CommandLog) -> Self {
        self.commands = Some(log);
        self
    }

    /// Downloads from `hub`.
    pub fn with_hub(mut self, hub: crate::simulator::hub::FakeHub) -> Self {
        self.hub = hub;
        self
    }

    /// `cat` without a file: copies standard input to its output.
    pub(super) async fn cat_stdin(&self, io: &Io<'_>) -> i32 {
        let input = io.shell.read_stdin().await;
        io.out(&String::from_utf8_lossy(&input)).await;
        0
    }

    /// The builtins of this module.
    pub(super) async fn session_builtin(&self, program: &str, args: &[&str], io: &Io<'_>) -> i32 {
        match (program, args) {
            ("set", _) => {
                for flag in args {
                    match *flag {
                        "-a" => io.shell.allexport.store(true, Relaxed),
                        "+a" => io.shell.allexport.store(false, Relaxed),
                        _ => {}
                    }
                }
                0
            }
            ("." | "source", [path, ..]) => self.source(path, io).await,
            ("umask", [mask]) => match u32::from_str_radix(mask, 8) {
                Ok(mask) if mask <= 0o777 => {
                    io.shell.umask.store(mask, Relaxed);
                    0
                }
                _ => {
                    io.err(&format!("bash: umask: {mask}: octal number out of range\n"))
                        .await;
                    1
                }
            },
            ("mkdir", _) => 0,
            ("rm", _) => {
                let mut state = self.lock();
                for path in args.iter().filter(|a| !a.starts_with('-')) {
                    state.files.remove(normalise(path));
                    state.modes.remove(normalise(path));
                }
                0
            }
            ("stat", ["-c", "%a", path]) => {
                let mode = self.lock().modes.get(normalise(path)).copied();
                match mode {
                    Some(mode) => {
                        io.out(&format!("{mode:o}\n")).await;
                        0
                    }
                    None => {
                        io.err(&format!(
                            "stat: cannot statx '{path}': No such file or directory\n"
                        ))
                        .await;
                        1
                    }
                }
            }
            ("ps", _) => {
                io.out(&self.ps(args)).await;
                0
            }
            (other, _) => {
                io.err(&format!("bash: {other}: usage not simulated\n"))
                    .await;
                2
            }
        }
    }

    /// `. FILE`: reads `NAME=value` lines; under `set -a` they are exported.
    async fn source(&self, path: &str, io: &Io<'_>) -> i32 {
        let text = self.lock().files.get(normalise(path)).cloned();
        let Some(text) = text else {
            io.err(&format!("bash: {path}: No such file or directory\n"))
                .await;
            return 1;
        };
        for line in text.lines() {
            if let Some((name, value)) = line.split_once('=') {
                if io.shell.allexport.load(Relaxed) {
                    io.shell.export(name.trim(), value);
                }
            }
        }
        0
    }

    /// `ps` (short), `ps aux` or `ps -eo args`: the running execs and the engine.
    fn ps(&self, args: &[&str]) -> String {
        let state = self.lock();
        let mut procs: Vec<(u32, String)> = vec![(1, "/sbin/init".into())];
        procs.extend(
            state
                .running
                .iter()
                .map(|(pid, line)| (*pid, format!("bash -c {line}"))),
        );
        if let Some(v) = state.vllm.as_ref().filter(|v| v.running()) {
            let pid = match v.kind {
                Kind::Process { pid } => pid,
                Kind::Container { .. } => 2231,
            };
            procs.push((pid, v.command.clone()));
        }
        match args {
            [] => {
                let mut out = String::from("    PID TTY          TIME CMD\n");
                for (pid, command) in procs.iter().filter(|(pid, _)| *pid != 1) {
                    let name = command.split_whitespace().next().unwrap_or_default();
                    out.push_str(&format!("{pid:>7} ?        00:00:00 {name}\n"));
                }
                out
            }
            ["-eo", "args"] | ["-eo", "cmd"] | ["-ef"] | ["-e", "-o", "args"] => {
                let mut out = String::from("COMMAND\n");
                for (_, command) in &procs {
                    out.push_str(command);
                    out.push('\n');
                }
                out
            }
            _ => {
                let mut out = String::from(
                    "USER         PID %CPU %MEM    VSZ   RSS TTY      STAT START   TIME COMMAND\n",
                );
                for (pid, command) in &procs {
                    out.push_str(&format!(
                        "root     {pid:>7}  0.0  0.1  16932  5120 ?        Ss   10:00   0:00 {command}\n"
                    ));
                }
                out
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{host, run};
    use super::*;
    use crate::simulator::hub::FakeHub;
    use gdl_model::secret::HfToken;
    use std::time::Duration;

    /// Runs `line` with `input` on its standard input; returns (stdout, exit code).
    async fn run_with_input(h: &Arc<SimHost>, line: &str, input: &str) -> (String, i32) {
        let (stdin_tx, stdin_rx) = oneshot::channel();
        stdin_tx.send(input.as_bytes().to_vec()).unwrap();
        let (tx, mut rx) = tokio::sync::mpsc::channel(64);
        let code = h.exec_in(line, Shell::with_stdin(stdin_rx), &tx).await;
        drop(tx);
        let mut out = String::new();
        while let Some((_, text)) = rx.recv().await {
            out.push_str(&text);
        }
        (out, code)
    }

    const WRITE: &str = "umask 077 && mkdir -p .gdl && cat > .gdl/engine.env";

    #[tokio::test]
    async fn stdin_reaches_cat_and_the_file_is_private() {
        let h = host();
        let env = "VLLM_API_KEY=k1\nHF_TOKEN=hf_right\n";
        assert_eq!(run_with_input(&h, WRITE, env).await.1, 0);
        assert_eq!(run(&h, "stat -c %a .gdl/engine.env").await.0, "600\n");
        assert_eq!(run(&h, "cat ./.gdl/engine.env").await.0, env);
        assert_eq!(
            run(&h, "echo x > /tmp/open; stat -c %a /tmp/open").await.0,
            "644\n"
        );
        assert_eq!(
            run(&h, "rm -f .gdl/engine.env; cat .gdl/engine.env")
                .await
                .2,
            1
        );
        assert_eq!(
            run(&h, "set -a; . ./.gdl/engine.env || exit 7; echo never").await,
            (
                String::new(),
                "bash: ./.gdl/engine.env: No such file or directory\n".into(),
                7
            )
        );
    }

    async fn pip_engine(token: &str) -> (Arc<SimHost>, String) {
        let accepted = HfToken::parse("hf_right").ok();
        let h = Arc::new(
            Arc::try_unwrap(host())
                .ok()
                .unwrap()
                .with_hub(FakeHub::new(accepted)),
        );
        run(&h, "python3 -m pip install 'vllm==0.6.4'").await;
        let env = format!("VLLM_API_KEY=k1\nHF_TOKEN={token}\n");
        assert_eq!(run_with_input(&h, WRITE, &env).await.1, 0);
        let start = "set -a; . ./.gdl/engine.env || exit 1; set +a; nohup python3 -m vllm.entrypoints.openai.api_server --model 'meta-llama/Llama-3.2-1B-Instruct' --port 8000 > /tmp/vllm.log 2>&1 &";
        assert_eq!(run(&h, start).await.2, 0);
        let ps = run(&h, "ps aux").await.0;
        (h, ps)
    }

    #[tokio::test]
    async fn the_engine_gets_the_exported_token_and_ps_shows_no_secret() {
        let (h, ps) = pip_engine("hf_right").await;
        assert!(
            ps.contains("python3 -m vllm.entrypoints.openai.api_server --model meta-llama/Llama-3.2-1B-Instruct"),
            "{ps}"
        );
        assert!(
            ps.contains("bash -c ps aux"),
            "the running exec shows: {ps}"
        );
        assert!(!ps.contains("hf_right") && !ps.contains("k1"), "{ps}");
        assert_eq!(
            run(&h, "ps -eo args").await.0.lines().next(),
            Some("COMMAND")
        );
        tokio::time::sleep(Duration::from_millis(60)).await;
        let log = run(&h, "tail -n 1 /tmp/vllm.log").await.0;
        assert!(
            log.contains("Uvicorn running"),
            "the download was allowed: {log}"
        );
    }

    #[tokio::test]
    async fn a_wrong_token_dies_with_the_hubs_401() {
        let (h, _) = pip_engine("hf_wrong").await;
        assert_eq!(
            run(&h, "pgrep -f vllm.entrypoints.openai.api_server")
                .await
                .2,
            1,
            "it died at once"
        );
        let log = run(&h, "tail -n 5 /tmp/vllm.log").await.0;
        assert!(
            log.contains("huggingface_hub.errors.GatedRepoError: 401 Client Error")
                && log.contains("Cannot access gated repo for url https://huggingface.co/meta-llama/Llama-3.2-1B-Instruct"),
            "{log}"
        );
        assert!(!log.contains("Downloading model weights"), "{log}");
    }
}
