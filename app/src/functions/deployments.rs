//! Deployments' server functions: deploy from the test form, list and read them, stop one,
//! change its guards, make and revoke its keys.
//!
//! A new key's secret reaches its creator once. Deploy lands on the deployment's page (with
//! or without JavaScript), so it hands the first key over in a short-lived, HttpOnly,
//! Secure, SameSite=Strict cookie (as the login's; browsers keep Secure cookies over plain
//! HTTP on loopback), which the page's first read takes and clears ([`FreshKey`]). New key
//! shows its secret from the answer, or hands it over the same way to a form posted
//! without JavaScript.

use super::Reply;
use gdl_model::deployments::{CreatedKey, DeployStarted, Deployment, DeploymentKey, Guards};
use gdl_model::ids::{BenchmarkId, DeploymentId};
use gdl_model::runs::TestConfig;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// A deployment's page: the deployment, and a key secret made for this person just now
/// (shown once, never stored in the page's state beyond it).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeploymentPage {
    /// The deployment as it is now.
    pub deployment: Deployment,
    /// A key just created by whoever reads the page, with its secret.
    pub fresh: Option<FreshKey>,
}

/// A key's secret handed over once.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FreshKey {
    /// The key's id (`key-…`).
    pub key_id: String,
    /// The secret in full.
    pub secret: String,
}

/// The cookie that carries a fresh key to deployment `id`'s page.
#[cfg(feature = "ssr")]
fn cookie_name(id: &DeploymentId) -> String {
    format!("gdl-fresh-key-{id}")
}

/// Hands `key` to the next read of deployment `id`'s page (a cookie for ten minutes at
/// most, taken by that read).
#[cfg(feature = "ssr")]
fn hand_over(id: &DeploymentId, key: &CreatedKey) {
    let value = format!(
        "{}={}.{}; Path=/; Max-Age=600; HttpOnly; Secure; SameSite=Strict",
        cookie_name(id),
        key.key.id,
        key.secret
    );
    set_cookie(&value);
}

#[cfg(feature = "ssr")]
fn set_cookie(value: &str) {
    if let (Some(response), Ok(value)) = (
        use_context::<leptos_axum::ResponseOptions>(),
        http::HeaderValue::from_str(value),
    ) {
        response.append_header(http::header::SET_COOKIE, value);
    }
}

/// The key handed to this person for deployment `id`, taken (its cookie cleared).
#[cfg(feature = "ssr")]
fn take_fresh(id: &DeploymentId) -> Option<FreshKey> {
    let name = cookie_name(id);
    let parts = use_context::<http::request::Parts>()?;
    let value = parts
        .headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|h| h.to_str().ok())
        .flat_map(|h| h.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v.to_owned())?;
    set_cookie(&format!(
        "{name}=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Strict"
    ));
    let (key_id, secret) = value.split_once('.')?;
    Some(FreshKey {
        key_id: key_id.to_owned(),
        secret: secret.to_owned(),
    })
}

/// Goes to the page of the deployment just started, its first key handed over.
#[cfg(feature = "ssr")]
fn land(started: &DeployStarted) {
    hand_over(&started.id, &started.key);
    leptos_axum::redirect(&format!("/deployments/{}", started.id));
}

/// Whether this call is a form posted by a browser without JavaScript (it then follows a
/// redirect instead of reading the answer).
#[cfg(feature = "ssr")]
fn plain_form() -> bool {
    use_context::<http::request::Parts>().is_some_and(|p| {
        p.headers
            .get(http::header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("text/html"))
    })
}

/// Deploys `config` with `guards` (the test form's Deploy button), running the benchmark
/// first when `benchmark` (and the capacity search and tuning before it opens when the
/// form's Tune is filled in); then goes to the deployment's page, where its first key is
/// shown once.
#[server(prefix = "/_fn", endpoint = "deploy")]
pub async fn deploy(
    config: TestConfig,
    guards: Guards,
    benchmark: Option<bool>,
) -> Reply<DeployStarted> {
    let mut config = config;
    // The form's Tune: judged by the capacity search, in the benchmark before it opens.
    config.capacity_search |= config.tune.is_some();
    let request = gdl_model::deployments::DeployRequest {
        benchmark: benchmark.unwrap_or(false) || config.tune.is_some(),
        config,
        guards,
        key_label: None,
    };
    let answer = crate::backend::backend()?.deploy(request).await;
    if let Ok(started) = &answer {
        land(started);
    }
    Ok(answer)
}

/// Keeps benchmark `id`'s model serving where it was measured, with the best settings its
/// tuning found (the test's own when `own_settings`), stopped by `guards` (the benchmark
/// page's Deploy); then goes to the deployment's page, where its first key is shown once.
#[server(prefix = "/_fn", endpoint = "deploy_benchmark")]
pub async fn deploy_benchmark(
    id: BenchmarkId,
    guards: Guards,
    own_settings: Option<bool>,
) -> Reply<DeployStarted> {
    let asked = gdl_model::deployments::DeployBenchmark {
        guards,
        own_settings: own_settings.unwrap_or(false),
        key_label: None,
    };
    let answer = crate::backend::backend()?.deploy_benchmark(id, asked).await;
    if let Ok(started) = &answer {
        land(started);
    }
    Ok(answer)
}

/// Deployments, newest first (the Deployments tab).
#[server(prefix = "/_fn", endpoint = "deployments")]
pub async fn get_deployments() -> Reply<Vec<Deployment>> {
    Ok(crate::backend::backend()?.deployments().await)
}

/// One deployment (its page), with a key just made for whoever reads it.
#[server(prefix = "/_fn", endpoint = "deployment")]
pub async fn get_deployment(id: DeploymentId) -> Reply<DeploymentPage> {
    let answer = crate::backend::backend()?.deployment(id.clone()).await;
    Ok(answer.map(|deployment| DeploymentPage {
        deployment,
        fresh: take_fresh(&id),
    }))
}

/// Stops a deployment; its session is destroyed and confirmed.
#[server(prefix = "/_fn", endpoint = "stop_deployment")]
pub async fn stop_deployment(id: DeploymentId) -> Reply<Deployment> {
    Ok(crate::backend::backend()?.stop_deployment(id).await)
}

/// Asks a serving deployment to tune its engine (the page's Tune card): `tune` as the
/// test form posts it, a blank budget refused.
#[server(prefix = "/_fn", endpoint = "tune_deployment")]
pub async fn tune_deployment(
    id: DeploymentId,
    usd_budget: String,
    seconds: Option<String>,
) -> Reply<Deployment> {
    // Read as the test form's `tune` is: a budget in dollars, the seconds blank for the
    // default.
    let form =
        serde_json::json!({"usd_budget": usd_budget, "seconds": seconds.unwrap_or_default()});
    let hint = "Give the budget in dollars (0.01-100) and the seconds as a whole number (60-7,200), or leave the seconds empty for 1,800.";
    let request = match gdl_model::tuning::tune_unless_blank(form) {
        Ok(Some(request)) => request,
        Ok(None) => {
            return Ok(Err(gdl_model::error::ApiError::invalid(
                "the tuning needs a budget in dollars",
                hint,
            )))
        }
        Err(e) => {
            return Ok(Err(gdl_model::error::ApiError::invalid(
                e.to_string(),
                hint,
            )))
        }
    };
    Ok(crate::backend::backend()?
        .tune_deployment(id, request)
        .await)
}

/// Changes a deployment's guards while it runs.
#[server(prefix = "/_fn", endpoint = "deployment_guards")]
pub async fn set_deployment_guards(id: DeploymentId, guards: Guards) -> Reply<Deployment> {
    Ok(crate::backend::backend()?
        .set_deployment_guards(id, guards)
        .await)
}

/// Makes a key for a deployment; its secret is in this answer only (or, for a form
/// without JavaScript, on the page it is redirected to).
#[server(prefix = "/_fn", endpoint = "new_deployment_key")]
pub async fn new_deployment_key(id: DeploymentId, label: String) -> Reply<CreatedKey> {
    let answer = crate::backend::backend()?
        .new_deployment_key(id.clone(), label)
        .await;
    if let Ok(key) = &answer {
        if plain_form() {
            hand_over(&id, key);
        }
    }
    Ok(answer)
}

/// Revokes a deployment's key: the gateway refuses it from now on.
#[server(prefix = "/_fn", endpoint = "revoke_deployment_key")]
pub async fn revoke_deployment_key(id: DeploymentId, key_id: String) -> Reply<DeploymentKey> {
    Ok(crate::backend::backend()?
        .revoke_deployment_key(id, key_id)
        .await)
}
