//! Python on the simulated host: `pip install` (with progress), `python3 --version`, and
//! vLLM's OpenAI server as a background process (which needs the package installed).

use super::{Io, SimHost};
use crate::simulator::driver::engine_of_pip;
use crate::simulator::vllm::{Kind, Vllm};
use std::collections::HashMap;

impl SimHost {
    pub(super) async fn pip(&self, args: &[&str], io: &Io<'_>) -> i32 {
        if args.first() != Some(&"install") {
            io.err("ERROR: only `pip install` is simulated\n").await;
            return 1;
        }
        let packages: Vec<&str> = args[1..]
            .iter()
            .filter(|a| !a.starts_with('-') && **a != "off")
            .copied()
            .collect();
        io.out(&format!("Collecting {}\n", packages.join(" ")))
            .await;
        self.flood(io).await;
        self.download(io, "Downloading wheels", 4.2, 120.0).await;
        io.out(&format!(
            "Successfully installed {}\n",
            packages.join(" ").replace("==", "-")
        ))
        .await;
        if let Some(vllm) = packages.iter().find(|p| p.starts_with("vllm")) {
            let mut state = self.lock();
            state.pip_vllm = true;
            state.pip_engine = engine_of_pip(vllm);
        }
        0
    }

    pub(super) async fn python(
        &self,
        args: &[&str],
        env: &HashMap<&str, &str>,
        log_to: Option<String>,
        io: &Io<'_>,
    ) -> i32 {
        match args {
            ["--version" | "-V", ..] => {
                io.out("Python 3.10.12\n").await;
                0
            }
            ["-m", "pip", rest @ ..] => self.pip(rest, io).await,
            ["-m", "vllm.entrypoints.openai.api_server", rest @ ..] => {
                let rest: Vec<String> = rest.iter().map(|s| s.to_string()).collect();
                let key = env.get("VLLM_API_KEY").unwrap_or(&"").to_string();
                let (pid, installed, pip_engine) = {
                    let mut state = self.lock();
                    state.next_pid += 1;
                    (state.next_pid, state.pip_vllm, state.pip_engine)
                };
                let kind = Kind::Process { pid };
                let vllm = if installed {
                    let vllm = self.engine(kind, &rest, env);
                    self.as_engine(vllm, pip_engine)
                } else {
                    Vllm::broken(kind, "/usr/bin/python3: Error while finding module specification for 'vllm.entrypoints.openai.api_server' (ModuleNotFoundError: No module named 'vllm')", key, &self.gpus)
                };
                let mut state = self.lock();
                state.vllm = Some(vllm);
                state.vllm_log = log_to;
                0
            }
            _ => {
                io.err("python3: only --version, -m pip and -m vllm.entrypoints.openai.api_server are simulated\n").await;
                2
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{host, run};
    use std::time::Duration;

    #[tokio::test]
    async fn pip_mode_needs_the_package_and_logs_to_its_file() {
        let h = host();
        let start = "nohup python3 -m vllm.entrypoints.openai.api_server --model 'Qwen/Qwen2.5-0.5B-Instruct' --port 8000 > /tmp/vllm.log 2>&1 &";
        assert_eq!(run(&h, start).await.2, 0);
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert_eq!(
            run(&h, "pgrep -n -f vllm.entrypoints.openai.api_server")
                .await
                .2,
            1,
            "it died"
        );
        assert!(run(&h, "tail -n 1 /tmp/vllm.log")
            .await
            .0
            .contains("No module named 'vllm'"));
        assert_eq!(
            run(
                &h,
                "python3 -m pip install --progress-bar off 'vllm==0.6.4'"
            )
            .await
            .2,
            0
        );
        assert_eq!(run(&h, start).await.2, 0);
        let (pid, _, code) = run(&h, "pgrep -n -f vllm.entrypoints.openai.api_server").await;
        assert_eq!((pid.trim().parse::<u32>().is_ok(), code), (true, 0));
        assert_eq!(
            run(&h, "pkill -f vllm.entrypoints.openai.api_server")
                .await
                .2,
            0
        );
        assert_eq!(
            run(&h, "pgrep -f vllm.entrypoints.openai.api_server")
                .await
                .2,
            1
        );
    }
}
