//! What the host's files and GPUs look like to the commands that read them: `cat` and
//! `tail` (the OS release, vLLM's log, files written), `nvidia-smi`, and what the host's driver
//! and GPUs do to an engine started there.

use super::{Io, SimHost};
use crate::simulator::driver::{no_driver, startup_error};
use crate::simulator::vllm::Phase;
use crate::simulator::vllm::Vllm;
use gdl_model::engines::EngineVersion;

impl SimHost {
    /// `vllm` as `engine` runs it on this host (dying as that build would here); `vllm`
    /// unchanged when the engine is not in the catalogue.
    pub(super) fn as_engine(&self, vllm: Vllm, engine: Option<&'static EngineVersion>) -> Vllm {
        match engine {
            Some(engine) => {
                let gpus = &self.gpus;
                let death = match self.driver {
                    Some(driver) => startup_error(engine, driver, &gpus.gpu_type, gpus.vram_gb),
                    None => Some(no_driver()),
                };
                vllm.as_engine(engine, death)
            }
            None => vllm,
        }
    }

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

    /// What `nvidia-smi` prints, and its exit code (9 when no driver works, as the real one).
    pub(super) fn nvidia_smi(&self, args: &[&str]) -> (String, i32) {
        let Some(driver) = self.driver else {
            return ("NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. Make sure that the latest NVIDIA driver is installed and running.\n\n".into(), 9);
        };
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
            let banner = format!(
                "+-----------------------------------------------------------------------------+\n\
                 | NVIDIA-SMI {driver}    Driver Version: {driver}    CUDA Version: {cuda:.1}     |\n\
                 |-------------------------------+----------------------+----------------------+\n\
                 | {} GPU(s): {name}, {total} MiB\n",
                self.gpus.count,
                driver = driver.version,
                cuda = driver.cuda,
            );
            return (banner, 0);
        };
        let lines = (0..self.gpus.count)
            .map(|i| {
                let fields: Vec<String> = query
                    .split(',')
                    .map(|field| match field {
                        "name" => name.clone(),
                        "memory.total" => total.to_string(),
                        "memory.used" => used.to_string(),
                        "driver_version" => driver.version.into(),
                        "temperature.gpu" => (38 + i).to_string(),
                        "utilization.gpu" => if loaded { "87" } else { "0" }.into(),
                        "index" => i.to_string(),
                        _ => "[N/A]".into(),
                    })
                    .collect();
                fields.join(", ") + "\n"
            })
            .collect();
        (lines, 0)
    }
}
