//! `tune`: a serving deployment's engine tuned on its host (`POST
//! /api/deployments/{id}/tune`); with `--wait`, followed until it serves again, the points
//! tried printed as `test` prints them.

use super::deploy::{refused, remote};
use super::output::{print, printable, FAILED, OK};
use crate::config::TuneArgs;
use gdl_model::deployments::{Deployment, DeploymentStatus};
use gdl_model::error::ApiError;
use std::time::Duration;

/// How often `--wait` asks how the tuning goes.
const POLL: Duration = Duration::from_secs(1);

/// `gpu-deploy-llm tune ID --usd USD`: exit 0 once asked (with `--wait`, once it serves
/// again), 1 if it ended meanwhile, 2 for a refusal the person can put right.
pub async fn tune(args: TuneArgs) -> anyhow::Result<i32> {
    let remote = match remote(&args.dashboard) {
        Ok(remote) => remote,
        Err(code) => return Ok(code),
    };
    let id = args.id.as_str();
    let before = match remote
        .get::<Deployment>(&["api", "deployments", id], "")
        .await
    {
        Ok(d) => d,
        Err(e) => return Ok(refused(&e)),
    };
    let body = serde_json::json!({"usd_budget": args.usd, "seconds": args.seconds});
    let asked: Result<Deployment, ApiError> = remote
        .post(&["api", "deployments", id, "tune"], &body)
        .await;
    if let Err(e) = asked {
        return Ok(refused(&e));
    }
    eprintln!(
        "deployment {id}: tuning within ${:.2} and {} s; it refuses requests until it serves again",
        args.usd, args.seconds
    );
    if !args.wait {
        print(args.json, &before, String::new);
        return Ok(OK);
    }
    // Tuned once it serves again with a tuning other than the one it had.
    let mut began = false;
    let now = loop {
        let now = match remote
            .get::<Deployment>(&["api", "deployments", id], "")
            .await
        {
            Ok(d) => d,
            Err(e) => return Ok(refused(&e)),
        };
        began |= now.status == DeploymentStatus::Tuning;
        let tuned = now.tuning.is_some() && now.tuning != before.tuning;
        let back = now.status == DeploymentStatus::Serving && (tuned || began);
        if back || now.status.is_finished() || now.status == DeploymentStatus::Stopping {
            break now;
        }
        tokio::time::sleep(POLL).await;
    };
    if now.status != DeploymentStatus::Serving {
        eprintln!(
            "deployment {id} is {}: {}",
            now.status.as_str(),
            printable(now.message.as_deref().unwrap_or("it ended while tuning"))
        );
        print(args.json, &now, String::new);
        return Ok(FAILED);
    }
    print(args.json, &now, || {
        let mut text = now
            .tuning
            .as_ref()
            .map(super::tuning_lines)
            .unwrap_or_default();
        text.push_str(&format!(
            "deployment {id} serves again: engine {}\n",
            printable(&now.settings)
        ));
        text
    });
    Ok(OK)
}
