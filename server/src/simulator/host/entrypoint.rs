//! The vLLM container the provider starts for the broker's entrypoint mode (Vast.ai,
//! `vastai/client.go` `buildEntrypointRequest`, runtype `ssh_proxy`): the image is pulled,
//! then vLLM serves on port 8000 inside the container, with no API key. SSH lands in the
//! same container, where the process shows in `pgrep` and its output in [`LOG`] (where it
//! goes on a real host the broker's source does not say).

use super::{SimHost, PULL_SECS};
use crate::simulator::vllm::{Kind, Vllm};
use std::sync::Arc;

/// Where the container's vLLM writes its output.
pub const LOG: &str = "/var/log/vllm.log";

impl SimHost {
    /// Has the provider pull the vLLM image (as long as a `docker pull` takes), then start
    /// vLLM with `args`, unless the instance is gone by then.
    pub fn start_provider_vllm(self: &Arc<Self>, args: Vec<String>) {
        let host = self.clone();
        tokio::spawn(async move {
            tokio::time::sleep(host.scaled(PULL_SECS)).await;
            let mut state = host.lock();
            if state.powered_off {
                return;
            }
            state.next_pid += 1;
            let kind = Kind::Process {
                pid: state.next_pid,
            };
            state.vllm = Some(Vllm::launch(
                kind,
                &args,
                String::new(),
                &host.gpus,
                host.speed,
            ));
            state.vllm_log = Some(LOG.to_owned());
        });
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{host, run};
    use std::time::Duration;

    const HEALTH: &str =
        "curl -s -o /dev/null -w '%{http_code}' --max-time 5 http://localhost:8000/health";

    #[tokio::test]
    async fn the_provider_pulls_then_serves_without_a_key() {
        let h = host();
        let args = ["--model", "Qwen/Qwen2.5-0.5B-Instruct"]
            .map(String::from)
            .to_vec();
        h.start_provider_vllm(args);
        let (out, _, code) = run(&h, "pgrep -n -f vllm.entrypoints.openai.api_server").await;
        assert_eq!(
            (out.as_str(), code),
            ("", 1),
            "not started while the image pulls"
        );
        let started = std::time::Instant::now();
        loop {
            let (out, _, _) = run(&h, HEALTH).await;
            if out == "200" {
                break;
            }
            assert!(started.elapsed() < Duration::from_secs(20), "never served");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let (log, _, code) = run(&h, "tail -n 3 /var/log/vllm.log").await;
        assert_eq!(code, 0);
        assert!(!log.is_empty());
        assert!(h.tcp_target(8000).is_some());
    }
}
