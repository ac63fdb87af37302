//! `docker` on the simulated host: pull (with progress), run (vLLM in a container, its
//! port published with `-p`, running as the catalogue's version of its image; SGLang when
//! the command is `python3 -m sglang.launch_server`, files mounted with `-v` readable in
//! it), inspect, logs, rm.

use super::{Dest, Io, SimHost, IMAGE_GB, PULL_SECS};
use crate::simulator::driver::engine_of_image;
use crate::simulator::sglang;
use crate::simulator::vllm::{Kind, Vllm};
use std::collections::HashMap;

impl SimHost {
    pub(super) async fn docker(
        &self,
        args: &[&str],
        env: &HashMap<&str, &str>,
        io: &Io<'_>,
    ) -> i32 {
        let name_of = |args: &[&str]| {
            args.iter()
                .rev()
                .find(|a| !a.starts_with('-'))
                .map(|s| s.to_string())
        };
        match args.first().copied() {
            Some("--version") => {
                io.out("Docker version 24.0.7, build afdd53b\n").await;
                0
            }
            Some("pull") => {
                let Some(image) = name_of(&args[1..]) else {
                    return 1;
                };
                io.out(&format!(
                    "{}: Pulling from {image}\n",
                    image.rsplit(':').next().unwrap_or("latest")
                ))
                .await;
                self.flood(io).await;
                self.download(io, "Downloading", IMAGE_GB, PULL_SECS).await;
                io.out(&format!("Status: Downloaded newer image for {image}\n"))
                    .await;
                self.lock().pulled.push(image);
                0
            }
            Some("run") => self.docker_run(&args[1..], env, io).await,
            Some("rm") | Some("stop") => {
                let name = name_of(&args[1..]).unwrap_or_default();
                let found = {
                    let mut state = self.lock();
                    match state.vllm.as_mut() {
                        Some(v) if matches!(&v.kind, Kind::Container { name: n } if *n == name) => {
                            v.kill();
                            true
                        }
                        _ => false,
                    }
                };
                if found {
                    io.out(&format!("{name}\n")).await;
                    0
                } else {
                    io.err(&format!(
                        "Error response from daemon: No such container: {name}\n"
                    ))
                    .await;
                    1
                }
            }
            Some("inspect") | Some("logs") => {
                let name = name_of(&args[1..]).unwrap_or_default();
                let found = {
                    let state = self.lock();
                    match &state.vllm {
                        Some(
                            v @ Vllm {
                                kind: Kind::Container { name: n },
                                ..
                            },
                        ) if *n == name && !(v.killed) => {
                            Some((v.running(), v.started_wall, v.log()))
                        }
                        _ => None,
                    }
                };
                let Some((running, started, log)) = found else {
                    io.err(&format!("Error: No such object: {name}\n")).await;
                    return 1;
                };
                if args[0] == "inspect" {
                    io.out(&format!(
                        "{running} {}\n",
                        started.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                    ))
                    .await;
                } else {
                    let tail: usize = args
                        .iter()
                        .position(|a| *a == "--tail")
                        .and_then(|i| args.get(i + 1))
                        .and_then(|n| n.parse().ok())
                        .unwrap_or(usize::MAX);
                    let shown = &log[log.len().saturating_sub(tail)..];
                    io.out(&(shown.join("\n") + "\n")).await;
                }
                0
            }
            Some(other) => {
                io.err(&format!("docker: '{other}' is not a docker command.\n"))
                    .await;
                1
            }
            None => 1,
        }
    }

    /// `docker run -d [--gpus all] [--name N] [-p [IP:]HOST:CONTAINER] [-e K[=V]]
    /// [-v HOST:CONTAINER[:ro]] IMAGE ARGS`.
    async fn docker_run(&self, args: &[&str], env: &HashMap<&str, &str>, io: &Io<'_>) -> i32 {
        let mut name = String::from("sleepy_turing");
        let mut port_map: Option<(u16, u16)> = None;
        let mut host_network = false;
        // Host file → where the container sees it.
        let mut mounts: Vec<(String, String)> = Vec::new();
        // The container's environment: `-e NAME=value`, `-e NAME` (from the client's
        // environment) and `--env-file FILE` (read by the client).
        let mut vars: HashMap<String, String> = HashMap::new();
        let mut i = 0;
        while i < args.len() && args[i].starts_with('-') {
            let value = args.get(i + 1).copied().unwrap_or_default();
            match args[i] {
                "--name" => name = value.to_owned(),
                "-p" => {
                    let parts: Vec<&str> = value.split(':').collect();
                    if let [.., host, container] = parts.as_slice() {
                        port_map = host.parse().ok().zip(container.parse().ok());
                    }
                }
                "-e" => match value.split_once('=') {
                    Some((name, v)) => {
                        vars.insert(name.to_owned(), v.to_owned());
                    }
                    None => {
                        if let Some(v) = env.get(value) {
                            vars.insert(value.to_owned(), v.to_string());
                        }
                    }
                },
                "--env-file" => {
                    let file = self
                        .lock()
                        .files
                        .get(super::session::normalise(value))
                        .cloned();
                    let Some(text) = file else {
                        io.err(&format!(
                            "docker: open {value}: no such file or directory.\n"
                        ))
                        .await;
                        return 125;
                    };
                    for line in text.lines().filter(|l| !l.starts_with('#')) {
                        if let Some((name, v)) = line.split_once('=') {
                            vars.insert(name.to_owned(), v.to_owned());
                        }
                    }
                }
                "-v" | "--volume" => {
                    let mut parts = value.split(':');
                    if let (Some(host), Some(inside)) = (parts.next(), parts.next()) {
                        mounts.push((host.to_owned(), inside.to_owned()));
                    }
                }
                "--network" | "--net" => host_network = value == "host",
                "-d" | "--rm" | "--ipc=host" => {
                    i += 1;
                    continue;
                }
                flag if flag.starts_with("--net=") || flag.starts_with("--network=") => {
                    host_network = flag.ends_with("=host");
                    i += 1;
                    continue;
                }
                _ if args[i].contains('=') => {
                    i += 1;
                    continue;
                }
                _ => {}
            }
            i += 2;
        }
        let Some(image) = args.get(i) else {
            io.err("docker: \"docker run\" requires at least 1 argument.\n")
                .await;
            return 125;
        };
        let rest: Vec<String> = args[i + 1..].iter().map(|s| s.to_string()).collect();
        let pulled = self.lock().pulled.iter().any(|p| p == image);
        if !pulled {
            io.err(&format!("Unable to find image '{image}' locally\n"))
                .await;
            self.download(
                &Io {
                    tx: io.tx,
                    fds: [Dest::Null, Dest::Null],
                    host: self,
                    shell: io.shell,
                },
                "Downloading",
                IMAGE_GB,
                PULL_SECS,
            )
            .await;
            self.lock().pulled.push(image.to_string());
        }
        let vars: HashMap<&str, &str> =
            vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let kind = Kind::Container { name };
        let vllm = if sglang::is_sglang(&rest) {
            // The file its `--config` names, read through the mounts as the container sees it.
            let config = sglang_config(&rest).and_then(|inside| {
                mounts
                    .iter()
                    .find(|(_, m)| *m == inside)
                    .and_then(|(host, _)| self.file(host))
            });
            let sglang = sglang::launch(kind, &rest, config.as_deref(), &self.gpus, self.speed);
            self.handed(&sglang.profile.api_key);
            sglang
        } else {
            self.engine(kind, &rest, &vars)
        };
        let mut vllm = self.as_engine(vllm, engine_of_image(image));
        vllm.port = match (host_network, port_map, vllm.port) {
            (true, _, port) => port,
            (false, Some((host, container)), Some(port)) if container == port => Some(host),
            _ => None,
        };
        let started = {
            let mut state = self.lock();
            let busy = state.vllm.as_ref().is_some_and(|v| v.running());
            if !busy {
                state.vllm = Some(vllm);
            }
            !busy
        };
        if !started {
            io.err("docker: Error response from daemon: Conflict. The container name is already in use.\n").await;
            return 125;
        }
        io.out("3f9a1c0d2e4b7a6c5d8e9f0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c\n")
            .await;
        0
    }
}

/// The path after `--config` in SGLang's command.
fn sglang_config(command: &[String]) -> Option<&str> {
    crate::simulator::shell::arg_after(command, "--config")
}

#[cfg(test)]
mod tests {
    use super::super::tests::{host, run};
    use std::time::Duration;

    #[tokio::test]
    async fn docker_pulls_with_progress_then_serves_on_the_mapped_port() {
        let h = host();
        let (out, _, code) = run(&h, "docker pull vllm/vllm-openai:v0.6.4").await;
        assert_eq!(code, 0);
        assert_eq!(out.matches("Downloading:").count(), 10, "{out}");
        let (_, _, code) = run(&h, "VLLM_API_KEY='s3cret' docker run -d --gpus all --name vllm-server -p 127.0.0.1:8000:8000 -e VLLM_API_KEY vllm/vllm-openai:v0.6.4 --model 'Qwen/Qwen2.5-0.5B-Instruct' --served-model-name qwen --port 8000").await;
        assert_eq!(code, 0);
        assert!(
            run(&h, "docker inspect -f '{{.State.Running}}' vllm-server")
                .await
                .0
                .starts_with("true ")
        );
        let health =
            "curl -s -o /dev/null -w '%{http_code}' --max-time 5 http://localhost:8000/health";
        let mut code = String::new();
        for _ in 0..100 {
            code = run(&h, health).await.0;
            if code == "200" {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(code, "200");
        let models = run(
            &h,
            "curl -s -H 'Authorization: Bearer s3cret' http://localhost:8000/v1/models",
        )
        .await
        .0;
        assert!(models.contains("\"qwen\""), "{models}");
        assert!(h.tcp_target(8000).is_some());
        assert!(run(&h, "docker logs --tail 1 vllm-server")
            .await
            .0
            .contains("Uvicorn running"));
        assert_eq!(run(&h, "docker rm -f vllm-server").await.2, 0);
        assert_eq!(h.tcp_target(8000), None);
        h.power_off();
        assert_eq!(run(&h, "echo gone").await.2, 255);
    }

    #[tokio::test]
    async fn sglang_reads_its_key_from_the_mounted_file_the_runner_writes() {
        let h = host();
        let start = "umask 077 && printf 'api-key: \"%s\"\\n' 's3cret' > /tmp/k.yaml && docker run -d --gpus all --ipc=host --name sglang-server -p 127.0.0.1:8000:8000 --shm-size 16g -v /tmp/k.yaml:/run/k.yaml:ro lmsysorg/sglang:v0.5.21-cu130 python3 -m sglang.launch_server --config /run/k.yaml --model-path 'Qwen/Qwen2.5-0.5B-Instruct' --served-model-name qwen --host 0.0.0.0 --port 8000 && rm -f /tmp/k.yaml";
        let (_, err, code) = run(&h, start).await;
        assert_eq!(code, 0, "{err}");
        assert_eq!(run(&h, "cat /tmp/k.yaml").await.2, 1, "removed on the host");
        let mut models = String::new();
        for _ in 0..100 {
            models = run(
                &h,
                "curl -s -H 'Authorization: Bearer s3cret' http://localhost:8000/v1/models",
            )
            .await
            .0;
            if models.contains("qwen") {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(models.contains("\"sglang\""), "{models}");
        let log = run(&h, "docker logs --tail 100 sglang-server").await.0;
        assert!(
            log.contains("api_key='s3cret'") && log.contains("fired up"),
            "{log}"
        );
        let (_, _, code) = run(&h, "docker rm -f sglang-server").await;
        assert_eq!(code, 0);
        // Without the file, SGLang stops at once.
        let again = start.replace("-v /tmp/k.yaml:/run/k.yaml:ro ", "");
        assert_eq!(run(&h, &again).await.2, 0);
        let log = run(&h, "docker logs --tail 1 sglang-server").await.0;
        assert!(log.contains("Config file not found"), "{log}");
    }
}
