//! `deploy`: asks a running dashboard to deploy a model (`POST /api/deployments`) and prints
//! what a person needs to use it: the endpoint, the key (this once), a curl and an OpenAI
//! Python example, how to watch it and how to stop it. The dashboard watches the deployment
//! (its guards, its engine, its reservation), not this command: it returns at once, or with
//! `--wait` once the deployment serves.

use super::dashboard::Remote;
use super::output::{self, failed, printable, BAD_INPUT, FAILED, OK};
use super::shutdown_signal;
use crate::config::{DashboardArgs, DeployArgs};
use gdl_model::deployments::{
    DeployBenchmark, DeployRequest, DeployStarted, Deployment, DeploymentStatus, Guards, MAX_LABEL,
};
use gdl_model::error::ApiError;
use gdl_model::runs::Run;
use gdl_model::tuning::TuneRequest;
use serde::Serialize;
use std::time::Duration;

/// What is asked of the dashboard: a configuration, or a benchmark's deployment.
enum Asked {
    Config(Box<DeployRequest>),
    Benchmark(String, DeployBenchmark),
}

/// How often `--wait` asks how the deployment is doing.
const POLL: Duration = Duration::from_secs(1);

/// What `deploy --json` prints: the dashboard's answer with the endpoint made absolute, and
/// with `--wait` the deployment as it ended the wait.
#[derive(Serialize)]
struct Deployed {
    #[serde(flatten)]
    started: DeployStarted,
    /// The OpenAI base URL: the dashboard's address and the gateway's base path.
    endpoint: String,
    /// The deployment's page on the dashboard.
    page: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    deployment: Option<Deployment>,
}

/// The dashboard `args` name, or the exit code of the refusal (said on stderr): the
/// deployment commands have no store or broker to fall back on.
pub(super) fn remote(args: &DashboardArgs) -> Result<Remote, i32> {
    match Remote::from_args(args) {
        Ok(Some(remote)) => Ok(remote),
        Ok(None) => Err(output::bad_input(
            "no dashboard given: deployments live on a running dashboard, which watches them",
            "Pass --url http://127.0.0.1:8081 (or set GDL_URL), with its access token in \
             GDL_TOKEN or --token-file; `gpu-deploy-llm serve` runs one.",
        )),
        Err(e) => Err(failed(&e)),
    }
}

/// Says what the dashboard answered, with its code and hint; the exit code: [`BAD_INPUT`]
/// for what it refused as bad input (a 400: a model id, a guard, a label), else as
/// [`failed`] decides.
pub(super) fn refused(e: &ApiError) -> i32 {
    let code = failed(e);
    if crate::error::status(e.error_code()).as_u16() == 400 {
        BAD_INPUT
    } else {
        code
    }
}

/// `gpu-deploy-llm deploy`: exit 0 once the dashboard has started it (with `--wait`, once it
/// serves), 1 when the dashboard refused or it failed, 2 on bad input, 130 when `--wait` was
/// interrupted (the deployment goes on).
pub async fn deploy(args: DeployArgs) -> anyhow::Result<i32> {
    let guards = Guards {
        idle_minutes: args.idle_minutes,
        max_spend_usd: args.max_spend,
        max_lifetime_hours: args.max_lifetime_hours,
    };
    if let Err(why) = guards.check() {
        let flag = why
            .replace("idle_minutes", "--idle-minutes")
            .replace("max_spend_usd", "--max-spend")
            .replace("max_lifetime_hours", "--max-lifetime-hours");
        return Ok(output::bad_input(
            &flag,
            "--idle-minutes (default 30), --max-spend USD and --max-lifetime-hours H each take a number above 0.",
        ));
    }
    if let Some(label) = &args.key_label {
        if label.trim().is_empty() || label.trim().chars().count() > MAX_LABEL {
            return Ok(output::bad_input(
                &format!("--key-label must be 1 to {MAX_LABEL} characters"),
                "Name what the key is for (a person, a program), or leave it out for \"first key\".",
            ));
        }
    }
    // clap waives `requires` here (what it requires conflicts with the model given).
    if args.own_settings && args.from_benchmark.is_none() {
        return Ok(output::bad_input(
            "--own-settings goes with --from-benchmark",
            "Deploy a benchmark with --from-benchmark ID --own-settings, or leave --own-settings out.",
        ));
    }
    let asked = match (&args.from_benchmark, &args.model) {
        (Some(id), _) => Asked::Benchmark(
            id.clone(),
            DeployBenchmark {
                guards: guards.clone(),
                own_settings: args.own_settings,
                key_label: args.key_label.clone(),
            },
        ),
        (None, Some(model)) => {
            let mut config = match args.rent.config(model) {
                Ok(config) => config,
                Err((message, hint)) => return Ok(output::bad_input(&message, hint)),
            };
            // Tuning is judged by the capacity search, in the benchmark before it opens.
            config.tune = args.tune_usd.map(|usd_budget| TuneRequest {
                usd_budget,
                seconds: args.tune_seconds,
            });
            config.capacity_search = args.search || config.tune.is_some();
            Asked::Config(Box::new(DeployRequest {
                benchmark: args.benchmark || config.tune.is_some(),
                config,
                guards: guards.clone(),
                key_label: args.key_label.clone(),
            }))
        }
        (None, None) => unreachable!("clap requires a model or --from-benchmark"),
    };
    let remote = match remote(&args.dashboard) {
        Ok(remote) => remote,
        Err(code) => return Ok(code),
    };
    let answer = match &asked {
        Asked::Config(request) => remote.post(&["api", "deployments"], &**request).await,
        Asked::Benchmark(id, request) => {
            remote
                .post(&["api", "benchmarks", id.as_str(), "deploy"], request)
                .await
        }
    };
    let started: DeployStarted = match answer {
        Ok(started) => started,
        Err(e) => return Ok(refused(&e)),
    };
    // The model and settings a benchmark's deployment starts with are the dashboard's.
    let (model, settings) = match (&args.model, args.json) {
        (Some(model), _) => (model.clone(), None),
        (None, true) => (String::new(), None),
        (None, false) => match remote
            .get::<Deployment>(&["api", "deployments", started.id.as_str()], "")
            .await
        {
            Ok(d) => (d.model, Some(d.settings)),
            Err(e) => return Ok(failed(&e)),
        },
    };
    let mut shown = Deployed {
        endpoint: format!("{}{}", remote.url(), started.base_path),
        page: format!("{}/deployments/{}", remote.url(), started.id),
        started,
        deployment: None,
    };
    if !args.json {
        output::out(&instructions(
            &shown,
            &model,
            settings.as_deref(),
            &guards_text(&guards),
        ));
    }
    let mut code = OK;
    if args.wait {
        tokio::select! {
            outcome = wait(&remote, &shown.started) => match outcome {
                Ok(deployment) => {
                    code = if deployment.status == DeploymentStatus::Serving { OK } else { FAILED };
                    shown.deployment = Some(deployment);
                }
                Err(e) => code = failed(&e),
            },
            _ = shutdown_signal() => {
                eprintln!(
                    "stopped waiting: the dashboard goes on with deployment {} and watches it",
                    shown.started.id
                );
                code = 130;
            }
        }
    }
    if args.json {
        output::print(true, &shown, String::new);
    }
    Ok(code)
}

/// The endpoint, the key, the examples and what to do next, as people read them.
fn instructions(d: &Deployed, model: &str, settings: Option<&str>, guards: &str) -> String {
    let s = &d.started;
    let url = &d.endpoint;
    let id = &s.id;
    let settings = match settings {
        Some("") => "engine    the engine's defaults\n".to_owned(),
        Some(settings) => format!("engine    {}\n", printable(settings)),
        None => String::new(),
    };
    let mut text = format!(
        "deployment {id} of {model} is starting (run {run})\n\n\
         {settings}\
         endpoint  {url}\n\
         key       {secret}\n          \
         ({label}, {key_id}: shown this once; `gpu-deploy-llm keys {id} --new LABEL` makes another)\n\
         guards    {guards}\n",
        run = s.run_id,
        secret = s.key.secret,
        label = s.key.key.label,
        key_id = s.key.key.id,
    );
    if let Some(warning) = &s.warning {
        text += &format!("warning   {warning}\n");
    }
    text += &format!(
        "\nUse it (the gateway answers 503 until the model is loaded):\n\n  \
         export OPENAI_API_KEY={secret}\n\n  \
         curl {url}/chat/completions -H \"Authorization: Bearer $OPENAI_API_KEY\" \\\n    \
         -H 'Content-Type: application/json' \\\n    \
         -d '{{\"model\": \"{model}\", \"messages\": [{{\"role\": \"user\", \"content\": \"Hello\"}}]}}'\n\n  \
         from openai import OpenAI  # pip install openai; reads OPENAI_API_KEY\n  \
         client = OpenAI(base_url=\"{url}\")\n  \
         reply = client.chat.completions.create(\n      \
         model=\"{model}\", messages=[{{\"role\": \"user\", \"content\": \"Hello\"}}])\n  \
         print(reply.choices[0].message.content)\n\n\
         Watch it:  gpu-deploy-llm deployments   (or {page})\n\
         Stop it:   gpu-deploy-llm stop {id}\n",
        secret = s.key.secret,
        page = d.page,
    );
    text
}

/// The guards in words: "30 min idle · $5.00 spent · 8 h".
pub(super) fn guards_text(g: &Guards) -> String {
    let mut parts = vec![format!("stops after {} min idle", g.idle_minutes)];
    if let Some(usd) = g.max_spend_usd {
        parts.push(format!("at ${usd:.2} spent"));
    }
    if let Some(hours) = g.max_lifetime_hours {
        parts.push(format!("after {hours} h"));
    }
    parts.join(", ") + ", whichever comes first"
}

/// Follows the deployment until it serves or ends, saying each change of status and each
/// step of its run on stderr; the deployment as it then is.
async fn wait(remote: &Remote, started: &DeployStarted) -> Result<Deployment, ApiError> {
    let id = started.id.as_str();
    let mut said = (None, String::new());
    loop {
        let deployment: Deployment = remote.get(&["api", "deployments", id], "").await?;
        if deployment.status == DeploymentStatus::Starting {
            let run: Run = remote
                .get(&["api", "runs", started.run_id.as_str()], "")
                .await?;
            if let Some((n, step)) = run
                .steps
                .iter()
                .enumerate()
                .rfind(|(_, s)| s.started_at.is_some())
            {
                let line = format!("{}/{} {}", n + 1, run.steps.len(), step.name.label());
                if line != said.1 {
                    eprintln!("{}", printable(&line));
                    said.1 = line;
                }
            }
        }
        if said.0 != Some(deployment.status) {
            eprintln!("deployment {id}: {}", deployment.status.as_str());
            said.0 = Some(deployment.status);
        }
        match deployment.status {
            DeploymentStatus::Serving => {
                eprintln!("deployment {id} serves: requests through the endpoint reach its engine");
                if !deployment.settings.is_empty() {
                    // Tuned before it opened, it serves with the best settings found.
                    eprintln!("engine: {}", printable(&deployment.settings));
                }
                return Ok(deployment);
            }
            s if s.is_finished() || s == DeploymentStatus::Stopping => {
                if let Some(message) = &deployment.message {
                    eprintln!("{}", printable(message));
                }
                return Ok(deployment);
            }
            _ => tokio::time::sleep(POLL).await,
        }
    }
}
