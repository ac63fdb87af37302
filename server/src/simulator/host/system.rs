//! What the host's files and GPUs look like to the commands that read them: `cat` and
//! `tail` (the OS release, vLLM's log, files written), and `nvidia-smi`.

use super::{Io, SimHost};
use crate::simulator::vllm::Phase;

impl SimHost {
    pub(super) async fn read_file(&self, program: &str, args: &[&str], io: &Io<'_>) -> i32 {
        let Some(path) = args.iter().rev().find(|a| !a.starts_with('-')).copied() else {
            return match program {
                "cat" => self.cat_stdin(io).await,
                _ => 0,
            };
        };
        let path = super::session::normalise(path);
        let lines: usize = match args.iter().position(|a| *a == "-n") {
            Some(i) => args.get(i + 1).and_then(|n| n.parse().ok()).unwrap_or(10),
            None if program == "tail" => 10,
            None => usize::MAX,
        };
        let text = {
            let state = self.lock();
            if path == "/etc/os-release" {
                Some("NAME=\"Ubuntu\"\nVERSION=\"22.04.4 LTS (Jammy Jellyfish)\"\nID=ubuntu\nPRETTY_NAME=\"Ubuntu 22.04.4 LTS\"\n".to_owned())
            } else if state.vllm_log.as_deref() == Some(path) {
                state.vllm.as_ref().map(|v| v.log().join("\n") + "\n")
            } else {
                state.files.get(path).cloned()
            }
        };
        let Some(text) = text else {
            io.err(&format!("{program}: {path}: No such file or directory\n"))
                .await;
            return 1;
        };
        let all: Vec<&str> = text.lines().collect();
        let shown = &all[all.len().saturating_sub(lines)..];
        if !shown.is_empty() {
            io.out(&(shown.join("\n") + "\n")).await;
        }
        0
    }

    pub(super) fn nvidia_smi(&self, args: &[&str]) -> String {
        let loaded = self
            .lock()
            .vllm
            .as_ref()
            .is_some_and(|v| v.phase() == Phase::Serving);
        let name = if self.gpus.gpu_type.starts_with("RTX") {
            format!("NVIDIA GeForce {}", self.gpus.gpu_type)
        } else {
            format!("NVIDIA {}", self.gpus.gpu_type)
        };
        let total = self.gpus.vram_gb as u64 * 1024;
        let used = if loaded { total * 9 / 10 } else { 3 };
        let Some(query) = args.iter().find_map(|a| a.strip_prefix("--query-gpu=")) else {
            return format!(
                "+-----------------------------------------------------------------------------+\n\
                 | NVIDIA-SMI 550.54.15    Driver Version: 550.54.15    CUDA Version: 12.4     |\n\
                 |-------------------------------+----------------------+----------------------+\n\
                 | {} GPU(s): {name}, {total} MiB\n",
                self.gpus.count
            );
        };
        (0..self.gpus.count)
            .map(|i| {
                let fields: Vec<String> = query
                    .split(',')
                    .map(|field| match field {
                        "name" => name.clone(),
                        "memory.total" => total.to_string(),
                        "memory.used" => used.to_string(),
                        "driver_version" => "550.54.15".into(),
                        "temperature.gpu" => (38 + i).to_string(),
                        "utilization.gpu" => if loaded { "87" } else { "0" }.into(),
                        "index" => i.to_string(),
                        _ => "[N/A]".into(),
                    })
                    .collect();
                fields.join(", ") + "\n"
            })
            .collect()
    }
}
