//! Step 8, Install & start vLLM (or SGLang, the run's engine; the step's detail names it):
//! fetches it (image pull or pip install, progress streamed), starts it with a fresh API key
//! (and the Hub token, when given) from files written through standard input, never on a
//! command line ([`engine_env`](crate::runner::engine_env), `runner::vllm`), then watches
//! the model download and load until `/health` answers. A process that exits or restarts (a
//! crash loop) fails the step with the last lines of its log, the key hidden in them; when
//! they show the Hub refusing the download, as `model_access_denied`. In the entrypoint mode
//! the broker has the provider pull and start vLLM: the step only waits for it (it may not have
//! started yet), and the server has no API key.

use super::{Connected, Deps, ResolvedModel, Served};
use crate::runner::engine_env::EngineEnv;
use crate::runner::error::StepError;
use crate::runner::host::RemoteHost;
use crate::runner::hub::download_refused;
use crate::runner::vllm::{scrub, Deployment, Launch, Liveness, BROKER_IMAGE, HEALTH_CHECK};
use gdl_model::code::ErrorCode;
use gdl_model::runs::StepName;
use std::time::{Duration, Instant};
use zeroize::Zeroizing;

/// How long the model may take to download and load.
const MODEL_LOAD_LIMIT: Duration = Duration::from_secs(20 * 60);
/// How long fetching the engine may take.
const FETCH_LIMIT: Duration = Duration::from_secs(30 * 60);
/// Ordinary commands.
const COMMAND_LIMIT: Duration = Duration::from_secs(60);

pub async fn run(
    d: &Deps<'_>,
    connected: &Connected,
    model: &ResolvedModel,
) -> Result<Served, StepError> {
    let config = d.ctx.config();
    let engine = crate::runner::engine_fit::Fit::of(&config).engine;
    let offer = &connected.offer;
    let launch = Launch::new(&Deployment {
        mode: config.deploy_mode,
        engine,
        model,
        gpu_count: offer.gpu_count,
        settings: &config.settings,
        compute_capability: gdl_model::gpus::lookup_with_vram(&offer.gpu_type, offer.vram_gb)
            .map(|g| g.compute_capability),
    });
    let detail = if launch.broker_launched() {
        format!(
            "{} ({BROKER_IMAGE}, started by the broker)",
            launch.engine()
        )
    } else {
        format!("{} ({})", launch.label(), config.deploy_mode.as_str())
    };
    d.ctx.detail(StepName::InstallVllm, detail).await;
    let api_key = if launch.broker_launched() {
        Zeroizing::new(String::new())
    } else {
        Zeroizing::new(format!(
            "{}{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        ))
    };
    start(d, connected.host.as_ref(), &launch, &api_key).await?;
    Ok(Served { api_key, launch })
}

/// Fetches and starts the engine, then waits for the model to load.
async fn start(
    d: &Deps<'_>,
    host: &dyn RemoteHost,
    launch: &Launch,
    api_key: &str,
) -> Result<(), StepError> {
    if let Some(prepare) = launch.prepare() {
        host.exec(&prepare, COMMAND_LIMIT).await?;
    }
    if let Some(fetch) = launch.fetch() {
        fetch_engine(d, host, &fetch).await?;
    }
    launch_and_wait(d, host, launch, api_key).await
}

/// Starts a deployment's engine again after it crashed (nothing fetched: the image or
/// package is there), with the same key, and waits until it serves.
pub async fn restart(
    d: &Deps<'_>,
    host: &dyn RemoteHost,
    launch: &Launch,
    api_key: &str,
) -> Result<(), StepError> {
    if let Some(prepare) = launch.prepare() {
        host.exec(&prepare, COMMAND_LIMIT).await?;
    }
    launch_and_wait(d, host, launch, api_key).await
}

/// Starts the engine with its secrets in files written through standard input, then waits
/// for the model to load.
async fn launch_and_wait(
    d: &Deps<'_>,
    host: &dyn RemoteHost,
    launch: &Launch,
    api_key: &str,
) -> Result<(), StepError> {
    match launch.start() {
        Some(line) => {
            d.ctx.info(&line);
            let token = d.config.hub.token.as_ref();
            EngineEnv::new(api_key, token).write(host).await?;
            let key_file = launch.key_file(api_key);
            if let Some(file) = &key_file {
                write_key_file(host, &file.write, file.content.as_bytes()).await?;
            }
            let launched = host.exec(&line, COMMAND_LIMIT).await;
            // Whatever the start did, the files go: the engine has read them, or never will.
            let removed = EngineEnv::remove(host).await;
            if let Some(file) = &key_file {
                host.exec(&file.remove, COMMAND_LIMIT).await?;
            }
            let launched = launched?;
            removed?;
            if launched.exit_code != 0 {
                return Err(StepError::new(
                    ErrorCode::VllmStartFailed,
                    format!(
                        "starting {} exited {}: {}",
                        launch.engine(),
                        launched.exit_code,
                        scrub(launched.stderr.trim(), api_key)
                    ),
                )
                .hint("The host's Docker or Python could not start the engine; try the other deploy mode."));
            }
        }
        None => d.ctx.info(&format!(
            "The broker has the provider start {BROKER_IMAGE} with the model; waiting for it to serve"
        )),
    }
    wait_until_serving(d, host, launch, api_key).await
}

/// Writes SGLang's key file through standard input.
async fn write_key_file(
    host: &dyn RemoteHost,
    write: &str,
    content: &[u8],
) -> Result<(), StepError> {
    let out = host.exec_with_input(write, content, COMMAND_LIMIT).await?;
    if out.exit_code != 0 {
        return Err(StepError::new(
            ErrorCode::VllmStartFailed,
            format!(
                "could not write the engine's key file (exit {}): {}",
                out.exit_code,
                out.stderr.trim()
            ),
        )
        .hint("The host's /tmp may be full or read-only; keep the instance on failure to look."));
    }
    Ok(())
}

/// Runs `fetch` (an image pull or a pip install), its progress shown a line a moment.
async fn fetch_engine(d: &Deps<'_>, host: &dyn RemoteHost, fetch: &str) -> Result<(), StepError> {
    let throttle = std::sync::Mutex::new(Instant::now() - Duration::from_secs(10));
    let progress = |line: &str| {
        let mut last = throttle.lock().unwrap();
        // At most one line a moment, whatever the host prints.
        if last.elapsed() >= Duration::from_millis(800) {
            *last = Instant::now();
            d.ctx.info(line.trim());
        }
    };
    d.ctx.info(fetch);
    let fetched = host.exec_streaming(fetch, FETCH_LIMIT, &progress).await?;
    if fetched.exit_code != 0 {
        return Err(StepError::new(
            ErrorCode::VllmInstallFailed,
            format!(
                "`{fetch}` exited {}: {}",
                fetched.exit_code,
                fetched.stderr.trim()
            ),
        )
        .hint("Check the host's disk space and network (keep the instance on failure to look)."));
    }
    Ok(())
}

/// Watches the loading process until `/health` answers 200. Its log lines are shown with
/// `api_key` hidden.
async fn wait_until_serving(
    d: &Deps<'_>,
    host: &dyn RemoteHost,
    launch: &Launch,
    api_key: &str,
) -> Result<(), StepError> {
    let engine = launch.engine();
    let started = Instant::now();
    let mut last_line = String::new();
    // The container start time or process id first seen: a change means a restart.
    let mut first_seen: Option<String> = None;
    let mut announced = false;
    loop {
        match (launch.alive(host).await?, &first_seen) {
            // The broker's provider may still be pulling the image.
            (Liveness::Stopped, None) if launch.broker_launched() => {
                if !announced {
                    d.ctx.info(&format!(
                        "{engine} has not started yet (the provider pulls the image first)"
                    ));
                    announced = true;
                }
            }
            (Liveness::Stopped, _) => {
                let what = format!("{engine} exited while loading");
                let died = launch
                    .failure(host, ErrorCode::VllmExited, &what, api_key)
                    .await;
                return Err(download_refused(died, d.config.hub.token.is_some()));
            }
            (Liveness::Running(seen), None) => first_seen = Some(seen),
            (Liveness::Running(seen), Some(first)) if seen != *first => {
                let what = format!("{engine} restarted while loading (a crash loop: often a dependency or memory problem)");
                return Err(launch
                    .failure(host, ErrorCode::VllmRestarted, &what, api_key)
                    .await);
            }
            (Liveness::Running(_), Some(_)) => {}
        }
        let code = host.exec(HEALTH_CHECK, COMMAND_LIMIT).await?;
        if code.stdout.trim() == "200" {
            d.ctx.info(&format!(
                "{engine} is serving after {:.0} s",
                started.elapsed().as_secs_f64()
            ));
            return Ok(());
        }
        let tail = host.exec(&launch.log_tail(1), COMMAND_LIMIT).await?;
        let line = scrub(tail.stdout.trim(), api_key);
        if !line.is_empty() && line != last_line {
            d.ctx.info(&format!(
                "[{:.0} s] {line}",
                started.elapsed().as_secs_f64()
            ));
            last_line = line;
        }
        if started.elapsed() > MODEL_LOAD_LIMIT {
            return Err(StepError::new(
                ErrorCode::ModelLoadTimeout,
                format!(
                    "the model did not load within {} min",
                    MODEL_LOAD_LIMIT.as_secs() / 60
                ),
            )
            .hint("The download may be slow on this host; try another offer or a smaller model."));
        }
        tokio::time::sleep(Duration::from_millis(700)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runner::context::RunContext;
    use crate::runner::host::{ExecOutput, HostError};
    use crate::runner::RunnerConfig;
    use futures::future::BoxFuture;
    use gdl_model::runs::DeployMode;
    use std::sync::Mutex;

    /// A host whose `docker inspect` answers come from a script.
    struct Scripted {
        inspect: Mutex<Vec<&'static str>>,
    }

    impl RemoteHost for Scripted {
        fn exec<'a>(
            &'a self,
            command: &'a str,
            _: Duration,
        ) -> BoxFuture<'a, Result<ExecOutput, HostError>> {
            Box::pin(async move {
                let stdout = if command.starts_with("docker inspect") {
                    let mut script = self.inspect.lock().unwrap();
                    if script.len() > 1 {
                        script.remove(0)
                    } else {
                        script[0]
                    }
                    .to_owned()
                } else if command.starts_with("docker logs") {
                    "CUDA error: out of memory\n".to_owned()
                } else if command.starts_with("curl") {
                    "000".to_owned()
                } else {
                    String::new()
                };
                Ok(ExecOutput {
                    stdout,
                    ..Default::default()
                })
            })
        }

        fn exec_streaming<'a>(
            &'a self,
            c: &'a str,
            t: Duration,
            _: &'a (dyn Fn(&str) + Send + Sync),
        ) -> BoxFuture<'a, Result<ExecOutput, HostError>> {
            self.exec(c, t)
        }

        fn exec_with_input<'a>(
            &'a self,
            _: &'a str,
            _: &'a [u8],
            _: Duration,
        ) -> BoxFuture<'a, Result<ExecOutput, HostError>> {
            Box::pin(async { Ok(ExecOutput::default()) })
        }

        fn forward<'a>(&'a self, _: u16) -> BoxFuture<'a, Result<std::net::SocketAddr, HostError>> {
            Box::pin(async { Err(HostError::Channel("no".into())) })
        }
    }

    async fn install_with(script: Vec<&'static str>) -> StepError {
        let dir = std::env::temp_dir().join(format!("gdl-install-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let store = crate::store::Store::open(&dir).unwrap();
        let config: gdl_model::runs::TestConfig =
            serde_json::from_str(r#"{"model":"qwen2.5-0.5b","max_price":1}"#).unwrap();
        let run = gdl_model::runs::Run::new("r".into(), config.clone(), chrono::Utc::now());
        let cancel = tokio_util::sync::CancellationToken::new();
        let lease = crate::store::Lease::new_run(&run.id, "test");
        let owned =
            crate::runner::owned::Owned::new(lease, Duration::from_secs(30), cancel.clone());
        let ctx = std::sync::Arc::new(RunContext::new(
            run,
            crate::live::Hub::new(Default::default()),
            store,
            cancel,
            std::sync::Arc::new(owned),
        ));
        let client =
            crate::shopper::ShopperClient::new("http://127.0.0.1:9", Default::default()).unwrap();
        let runner_config = RunnerConfig::default();
        let d = Deps {
            client: &client,
            config: &runner_config,
            ctx: &ctx,
            deploy: false,
        };
        let plan = crate::runner::validate(&config).unwrap();
        let host = Scripted {
            inspect: Mutex::new(script),
        };
        let launch = Launch::new(&Deployment {
            mode: DeployMode::Docker,
            engine: plan.engine,
            model: &plan.model,
            gpu_count: 1,
            settings: &config.settings,
            compute_capability: None,
        });
        start(&d, &host, &launch, "k").await.unwrap_err()
    }

    #[tokio::test]
    async fn a_crash_while_loading_fails_with_the_log_tail() {
        let err = install_with(vec![
            "true 2026-01-01T00:00:00Z",
            "false 2026-01-01T00:00:00Z",
        ])
        .await;
        assert_eq!(err.code, ErrorCode::VllmExited);
        assert!(
            err.message.contains("exited while loading") && err.message.contains("out of memory"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn a_restart_while_loading_fails_with_the_log_tail() {
        let err = install_with(vec![
            "true 2026-01-01T00:00:00Z",
            "true 2026-01-01T00:00:09Z",
        ])
        .await;
        assert_eq!(err.code, ErrorCode::VllmRestarted);
        assert!(
            err.message.contains("restarted") && err.message.contains("out of memory"),
            "{err}"
        );
    }
}
