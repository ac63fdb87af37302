//! Starts a deployment test over REST and follows it to the end, with the shared types of
//! `gdl-model`: every step as it changes, then the outcome, the benchmark and the cleanup.
//! Ctrl-C cancels the test and still follows it until its cleanup is done, so nothing is
//! left running. Exit code 0 when the test passed, 1 when it did not, 2 when it could not
//! be started or followed.
//!
//! ```sh
//! cargo run -p gdl-examples --bin deploy -- http://127.0.0.1:8081 qwen2.5-0.5b 0.5
//! ```
//!
//! Arguments: the dashboard's URL, the model, the highest price per hour (USD). `GDL_TOKEN`
//! for a dashboard with an access token.

use gdl_model::error::ApiError;
use gdl_model::runs::{Run, StepStatus};
use std::collections::HashMap;
use std::time::Duration;

/// The answer to `POST /api/runs`.
#[derive(serde::Deserialize)]
struct Started {
    id: String,
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let base = args
        .next()
        .unwrap_or_else(|| "http://127.0.0.1:8081".into());
    let base = base.trim_end_matches('/').to_owned();
    let model = args.next().unwrap_or_else(|| "qwen2.5-0.5b".into());
    let max_price: f64 = args.next().and_then(|p| p.parse().ok()).unwrap_or(0.5);
    let client = Client::new(base, std::env::var("GDL_TOKEN").ok());
    let config = serde_json::json!({ "model": model, "max_price": max_price });
    let started: Started = match client.send(client.post("/api/runs").json(&config)).await {
        Ok(started) => started,
        Err(e) => fail(&e),
    };
    let id = started.id;
    println!("started run {id} ({model}, at most ${max_price}/h)");
    let interrupted = tokio::signal::ctrl_c();
    tokio::pin!(interrupted);
    let mut cancelled = false;
    let mut shown: HashMap<String, StepStatus> = HashMap::new();
    loop {
        let run: Run = match client.send(client.get(&format!("/api/runs/{id}"))).await {
            Ok(run) => run,
            Err(e) => fail(&e),
        };
        for step in &run.steps {
            let key = format!("{:?}", step.name);
            if shown.get(&key) != Some(&step.status) {
                let why = step
                    .reason
                    .as_deref()
                    .map(|r| format!(": {r}"))
                    .unwrap_or_default();
                println!("step {key}: {:?}{why}", step.status);
                shown.insert(key, step.status);
            }
        }
        if run.status.is_finished() {
            finish(&run);
        }
        tokio::select! {
            () = tokio::time::sleep(Duration::from_millis(500)) => {}
            _ = &mut interrupted, if !cancelled => {
                cancelled = true;
                println!("cancelling; following the cleanup to its end");
                if let Err(e) = client.send::<Run>(client.post(&format!("/api/runs/{id}/cancel"))).await {
                    eprintln!("the cancel was refused: {}", e.message);
                }
            }
        }
    }
}

/// Prints the outcome and exits with its code.
fn finish(run: &Run) -> ! {
    println!("run {}: {:?}", run.id, run.status);
    if let Some(error) = &run.error {
        let code = run
            .error_code
            .map(|c| format!(" [{c:?}]"))
            .unwrap_or_default();
        println!("error{code}: {error}");
    }
    if let Some(benchmark) = &run.benchmark_id {
        println!("benchmark {benchmark}");
    }
    if let Some(cleanup) = &run.cleanup {
        println!(
            "cleanup: {}",
            serde_json::to_string(cleanup).unwrap_or_default()
        );
    }
    std::process::exit(if run.status == gdl_model::runs::RunStatus::Passed {
        0
    } else {
        1
    })
}

/// Says what went wrong (the dashboard's error, its code and hint) and exits with 2.
fn fail(e: &ApiError) -> ! {
    eprintln!("{} ({})", e.message, e.code);
    if let Some(hint) = &e.hint {
        eprintln!("hint: {hint}");
    }
    std::process::exit(2)
}

/// The dashboard's REST API, with its error shape.
struct Client {
    http: reqwest::Client,
    base: String,
    token: Option<String>,
}

impl Client {
    fn new(base: String, token: Option<String>) -> Self {
        let token = token.filter(|t| !t.is_empty());
        Self {
            http: reqwest::Client::new(),
            base,
            token,
        }
    }

    fn get(&self, path: &str) -> reqwest::RequestBuilder {
        self.auth(self.http.get(format!("{}{path}", self.base)))
    }

    fn post(&self, path: &str) -> reqwest::RequestBuilder {
        self.auth(self.http.post(format!("{}{path}", self.base)))
    }

    fn auth(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    /// Sends `request`; a reply that is not a success reads as the dashboard's error.
    async fn send<T: serde::de::DeserializeOwned>(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<T, ApiError> {
        let unreachable =
            |e: reqwest::Error| local_error(format!("cannot reach the dashboard: {e}"));
        let reply = request.send().await.map_err(unreachable)?;
        let ok = reply.status().is_success();
        let body = reply.bytes().await.map_err(unreachable)?;
        if ok {
            serde_json::from_slice(&body)
                .map_err(|e| local_error(format!("an answer that does not read: {e}")))
        } else {
            Err(serde_json::from_slice(&body)
                .unwrap_or_else(|_| local_error(String::from_utf8_lossy(&body).into_owned())))
        }
    }
}

/// An error of the API's shape for what went wrong on this side.
fn local_error(message: String) -> ApiError {
    ApiError {
        code: "dashboard_unreachable".into(),
        message,
        hint: Some("Is the dashboard running at that URL?".into()),
        request_id: None,
    }
}
