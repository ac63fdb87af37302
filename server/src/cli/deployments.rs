//! `deployments`, `stop` and `keys`: a running dashboard's deployments listed, one stopped
//! (followed until its session is destroyed), and a deployment's keys listed, made or
//! revoked. Each asks the dashboard's REST API (`--url`, with its access token).

use super::deploy::{guards_text, refused, remote};
use super::output::{nothing_found, print, table, FAILED, OK};
use crate::config::{DeploymentsArgs, KeysArgs, StopArgs};
use chrono::{DateTime, Utc};
use gdl_model::deployments::{
    CreatedKey, Deployment, DeploymentFilters, DeploymentKey, DeploymentStatus, NewKey, StopReason,
};
use gdl_model::error::ApiError;
use gdl_model::query::encode;
use gdl_model::runs::Run;
use std::time::Duration;

/// How often `stop` asks whether the deployment has ended.
const POLL: Duration = Duration::from_secs(1);

/// `gpu-deploy-llm deployments`: exit 3 when there are none.
pub async fn deployments(args: DeploymentsArgs) -> anyhow::Result<i32> {
    let remote = match remote(&args.dashboard) {
        Ok(remote) => remote,
        Err(code) => return Ok(code),
    };
    let filters = DeploymentFilters {
        active: args.active.then_some(true),
    };
    let list: Vec<Deployment> = match remote.get(&["api", "deployments"], &encode(&filters)).await {
        Ok(list) => list,
        Err(e) => return Ok(refused(&e)),
    };
    if args.json || !list.is_empty() {
        print(args.json, &list, || deployment_table(&list, Utc::now()));
    }
    Ok(if list.is_empty() {
        nothing_found(if args.active {
            "no deployment is up on the dashboard"
        } else {
            "no deployments on the dashboard yet (`gpu-deploy-llm deploy MODEL` starts one)"
        })
    } else {
        OK
    })
}

/// Deployments as a table: what each runs on, what it cost and served, and what ends it.
fn deployment_table(list: &[Deployment], now: DateTime<Utc>) -> String {
    let rows = list
        .iter()
        .map(|d| {
            let gpu = match (&d.gpu, &d.provider) {
                (Some(gpu), Some(provider)) => format!("{gpu} · {provider}"),
                (Some(gpu), None) => gpu.clone(),
                _ => "-".into(),
            };
            let idle = (d.status == DeploymentStatus::Serving)
                .then(|| d.last_activity())
                .flatten()
                .map_or("-".into(), |last| span(now - last));
            let (left, guard) = match (d.deadline(now), d.stop_reason) {
                (Some(first), _) => (span(first.at - now), reason_word(first.reason)),
                (None, Some(reason)) => ("-".into(), reason_word(reason)),
                (None, None) => ("-".into(), "-"),
            };
            vec![
                d.id.to_string(),
                d.status.as_str().to_owned(),
                d.model.clone(),
                gpu,
                d.price_per_hour
                    .map_or("-".into(), |p| format!("${p:.3}/h")),
                format!("${:.4}", d.spend_usd),
                d.meter.requests.to_string(),
                format!(
                    "{} in / {} out",
                    d.meter.input_tokens, d.meter.output_tokens
                ),
                idle,
                left,
                guard.to_owned(),
            ]
        })
        .collect();
    table(
        &[
            "DEPLOYMENT",
            "STATUS",
            "MODEL",
            "GPU · PROVIDER",
            "PRICE",
            "SPEND",
            "REQUESTS",
            "TOKENS",
            "IDLE",
            "LEFT",
            "ENDS BY",
        ],
        rows,
    )
}

/// What ends (or ended) a deployment, in a word or two.
fn reason_word(reason: StopReason) -> &'static str {
    match reason {
        StopReason::Idle => "idle",
        StopReason::Spend => "max spend",
        StopReason::Lifetime => "max lifetime",
        StopReason::BrokerMaximum => "broker 12 h max",
        StopReason::Requested => "stopped",
        StopReason::ProvisionFailed => "run failed",
        StopReason::EngineFailed => "engine failed",
        StopReason::HostLost => "host lost",
        StopReason::NotResumed => "not resumed",
        StopReason::Shutdown => "shutdown",
    }
}

/// A length of time as people read it: "45 s", "12 min", "3 h 05 min".
fn span(d: chrono::Duration) -> String {
    let secs = d.num_seconds().max(0);
    match secs {
        0..=59 => format!("{secs} s"),
        60..=3599 => format!("{} min", secs / 60),
        _ => format!("{} h {:02} min", secs / 3600, secs % 3600 / 60),
    }
}

/// `gpu-deploy-llm stop`: asks the dashboard to stop the deployment and follows it until it
/// has ended. Exit 0 when its session was destroyed and the broker confirmed it, 1 when the
/// dashboard refused (unknown id, already ended) or the destroy was not confirmed.
pub async fn stop(args: StopArgs) -> anyhow::Result<i32> {
    let remote = match remote(&args.dashboard) {
        Ok(remote) => remote,
        Err(code) => return Ok(code),
    };
    let id = args.id.as_str();
    let asked: Result<Deployment, ApiError> = remote
        .post(&["api", "deployments", id, "stop"], &serde_json::json!({}))
        .await;
    if let Err(e) = asked {
        return Ok(refused(&e));
    }
    eprintln!("stopping deployment {id}: its session is being destroyed");
    let ended = loop {
        match remote
            .get::<Deployment>(&["api", "deployments", id], "")
            .await
        {
            Ok(d) if d.status.is_finished() => break d,
            Ok(_) => tokio::time::sleep(POLL).await,
            Err(e) => return Ok(refused(&e)),
        }
    };
    let run: Result<Run, ApiError> = remote
        .get(&["api", "runs", ended.run_id.as_str()], "")
        .await;
    // Stopped before anything was rented, there is nothing to destroy.
    let confirmed = match &run {
        Ok(run) => {
            run.rentals.is_empty() || run.cleanup.as_ref().is_some_and(|c| c.destroyed_confirmed)
        }
        Err(e) => return Ok(refused(e)),
    };
    print(args.json, &ended, || {
        let why = ended.stop_reason.map_or("", StopReason::label);
        let message = ended.message.as_deref().unwrap_or_default();
        format!(
            "deployment {id} {} ({why}); spent ${:.4}, {} requests\n{message}\n",
            ended.status.as_str(),
            ended.spend_usd,
            ended.meter.requests
        )
    });
    if confirmed {
        Ok(OK)
    } else {
        eprintln!(
            "the broker has not confirmed that deployment {id}'s session is destroyed: the \
             dashboard's reconciler keeps asking; `gpu-deploy-llm sessions --url URL` shows it"
        );
        Ok(FAILED)
    }
}

/// `gpu-deploy-llm keys`: lists a deployment's keys, or makes one (`--new`, its secret
/// printed this once) or revokes one (`--revoke`).
pub async fn keys(args: KeysArgs) -> anyhow::Result<i32> {
    let remote = match remote(&args.dashboard) {
        Ok(remote) => remote,
        Err(code) => return Ok(code),
    };
    let id = args.id.as_str();
    if let Some(label) = args.new {
        let made: CreatedKey = match remote
            .post(&["api", "deployments", id, "keys"], &NewKey { label })
            .await
        {
            Ok(made) => made,
            Err(e) => return Ok(refused(&e)),
        };
        print(args.json, &made, || {
            format!(
                "key {} ({}) for deployment {id}: shown this once, keep it now\n{}\n",
                made.key.id, made.key.label, made.secret
            )
        });
        return Ok(OK);
    }
    if let Some(key) = args.revoke {
        let revoked: DeploymentKey = match remote
            .delete(&["api", "deployments", id, "keys", key.as_str()])
            .await
        {
            Ok(revoked) => revoked,
            Err(e) => return Ok(refused(&e)),
        };
        print(args.json, &revoked, || {
            format!(
                "key {} ({}) revoked: the gateway refuses it from now on\n",
                revoked.id, revoked.label
            )
        });
        return Ok(OK);
    }
    let deployment: Deployment = match remote.get(&["api", "deployments", id], "").await {
        Ok(d) => d,
        Err(e) => return Ok(refused(&e)),
    };
    print(args.json, &deployment.keys, || {
        let rows = deployment
            .keys
            .iter()
            .map(|k| {
                vec![
                    k.id.clone(),
                    k.label.clone(),
                    k.prefix.clone(),
                    k.created_at.format("%Y-%m-%d %H:%M").to_string(),
                    k.revoked_at
                        .map_or("-".into(), |t| t.format("%Y-%m-%d %H:%M").to_string()),
                ]
            })
            .collect();
        let mut text = table(&["KEY", "LABEL", "PREFIX", "CREATED", "REVOKED"], rows);
        text += &format!(
            "deployment {id} ({}): {}\n",
            deployment.status.as_str(),
            guards_text(&deployment.guards)
        );
        text
    });
    Ok(OK)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_read_as_people_say_them() {
        assert_eq!(span(chrono::Duration::seconds(-3)), "0 s");
        assert_eq!(span(chrono::Duration::seconds(45)), "45 s");
        assert_eq!(span(chrono::Duration::seconds(12 * 60 + 5)), "12 min");
        assert_eq!(
            span(chrono::Duration::seconds(3 * 3600 + 5 * 60)),
            "3 h 05 min"
        );
    }
}
