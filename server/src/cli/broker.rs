//! The one-shot broker commands, parity with the old tool (`status` and `sessions` are in
//! [`super::glance`]): `inventory`, `session ID`, `cleanup ID`, `done ID`,
//! `extend ID --hours N`, `costs`, `models` and `orphans [--cleanup]`. Each prints a
//! readable table (or `--json`) on stdout, errors with their code and hint on stderr, and
//! exits 0 when it did what was asked, 1 when the broker refused or failed, 2 on bad input
//! (and without `--shopper-url`), 3 when `inventory` finds no offer that matches.

use super::connect;
use super::glance::{session_cells, session_table};
use super::output::{bad_input, failed, nothing_found, print, table, FAILED, OK};
use crate::config::{CostsArgs, ExtendArgs, InventoryArgs, ModelsArgs, OrphansArgs, SessionArgs};
use crate::sessions;
use crate::shopper::ShopperError;
use gdl_model::ids::SessionId;
use gdl_model::inventory::InventoryFilters;
use gdl_model::registry::{Quantization, PRESETS};
use gdl_model::sessions::{ActionOutcome, OrphanCleanup, SessionActionResult, SessionView};
use gdl_model::shopper::{CostQuery, Session};
use serde::Serialize;
use std::time::Duration;

/// Says what the broker refused or why it failed; the exit code.
fn broker_failed(e: &ShopperError) -> i32 {
    failed(&e.to_api_error())
}

/// `gpu-deploy-llm inventory`: the filters read as the Inventory tab and REST read them.
pub async fn inventory(a: InventoryArgs) -> anyhow::Result<i32> {
    let filters = InventoryFilters {
        provider: a
            .provider
            .as_deref()
            .filter(|p| !p.trim().is_empty())
            .map(|p| gdl_model::shopper::Provider::from_wire(p.trim())),
        min_vram: a.min_vram,
        max_price: a.max_price,
        gpu_type: a.gpu_type.clone(),
        location: a.location.clone(),
        min_reliability: a.min_reliability,
        ..InventoryFilters::default()
    };
    if let Err(e) = filters.check() {
        return Ok(failed(&e));
    }
    let broker = match connect(&a.connect, false) {
        Ok(broker) => broker,
        Err(code) => return Ok(code),
    };
    let mut offers = match broker.inventory_all(&filters.query()).await {
        Ok(offers) => offers,
        Err(e) => return Ok(broker_failed(&e)),
    };
    offers.retain(|o| filters.admits(o));
    filters.sort(&mut offers);
    offers.truncate(a.limit);
    print(a.connect.json, &offers, || {
        table(
            &[
                "PROVIDER", "OFFER", "GPU", "VRAM", "PRICE", "LOCATION", "RELIAB.", "CONF.",
                "MAX TIME",
            ],
            offers
                .iter()
                .map(|o| {
                    vec![
                        o.provider.to_string(),
                        o.id.to_string(),
                        format!("{} x{}", o.gpu_type, o.gpu_count),
                        format!("{} GB", o.vram_gb),
                        format!("${:.3}/h", o.price_per_hour),
                        o.location.clone(),
                        format!("{:.2}", o.reliability),
                        format!("{:.2}", o.availability_confidence),
                        match o.max_duration_hours {
                            0 => "-".into(),
                            h => format!("{h} h"),
                        },
                    ]
                })
                .collect(),
        )
    });
    if offers.is_empty() {
        return Ok(nothing_found("no offers match these filters"));
    }
    Ok(OK)
}

/// `gpu-deploy-llm session ID`.
pub async fn session(a: SessionArgs) -> anyhow::Result<i32> {
    let broker = match connect(&a.connect, false) {
        Ok(broker) => broker,
        Err(code) => return Ok(code),
    };
    let id = SessionId::from(a.id.as_str());
    let session = match broker.get_session(&id).await {
        Ok(s) => s,
        Err(e) => return Ok(broker_failed(&e)),
    };
    let cost = broker.session_cost(&id).await.ok();
    let diagnostics = broker.diagnostics(&id).await.ok();
    #[derive(Serialize)]
    struct One<'a> {
        session: &'a Session,
        cost: Option<gdl_model::shopper::SessionCost>,
        diagnostics: Option<gdl_model::shopper::SessionDiagnostics>,
    }
    let one = One {
        session: &session,
        cost,
        diagnostics,
    };
    print(a.connect.json, &one, || {
        let mut out = session_table(&[SessionView::from_session(&session, None)]);
        match &one.cost {
            Some(c) => out.push_str(&format!(
                "cost so far: {:.4} {} (the broker's figure)\n",
                c.total_cost, c.currency
            )),
            None => out.push_str("cost so far: the broker has no figure\n"),
        }
        if let Some(d) = &one.diagnostics {
            out.push_str(&format!(
                "ssh: {}  time to expiry: {}\n",
                d.ssh_host.as_deref().unwrap_or("-"),
                d.time_to_expiry
            ));
        }
        out
    });
    Ok(OK)
}

/// Prints what a session action did; exit 1 when a destroy was not confirmed.
fn acted(json: bool, result: Result<SessionActionResult, ShopperError>) -> i32 {
    let result = match result {
        Ok(result) => result,
        Err(e) => return broker_failed(&e),
    };
    print(json, &result, || format!("{}\n", result.message));
    if result.outcome == ActionOutcome::Unconfirmed {
        FAILED
    } else {
        OK
    }
}

/// `gpu-deploy-llm cleanup ID`.
pub async fn cleanup(a: SessionArgs) -> anyhow::Result<i32> {
    let broker = match connect(&a.connect, false) {
        Ok(broker) => broker,
        Err(code) => return Ok(code),
    };
    let patience = Duration::from_secs(120);
    let id = SessionId::from(a.id.as_str());
    let result = sessions::clean_up(&broker, &id, patience, &|m| {
        eprintln!("{}", super::output::printable(m))
    })
    .await;
    Ok(acted(a.connect.json, result))
}

/// `gpu-deploy-llm done ID`.
pub async fn done(a: SessionArgs) -> anyhow::Result<i32> {
    let broker = match connect(&a.connect, false) {
        Ok(broker) => broker,
        Err(code) => return Ok(code),
    };
    Ok(acted(
        a.connect.json,
        sessions::done(&broker, &a.id.as_str().into()).await,
    ))
}

/// `gpu-deploy-llm extend ID --hours N`.
pub async fn extend(a: ExtendArgs) -> anyhow::Result<i32> {
    let Some(hours) = sessions::extend_hours(a.hours) else {
        return Ok(bad_input(
            &format!("--hours must be 1 to 12, got {}", a.hours),
            "The broker extends by 1 to 12 hours at a time, within its 12-hour hard maximum.",
        ));
    };
    let broker = match connect(&a.connect, false) {
        Ok(broker) => broker,
        Err(code) => return Ok(code),
    };
    let result = sessions::extend(&broker, &a.id.as_str().into(), hours)
        .await
        .map(|mut r| {
            if let Some(t) = r.expires_at {
                r.message = format!(
                    "{}; it now ends {}",
                    r.message,
                    t.format("%Y-%m-%d %H:%M UTC")
                );
            }
            r
        });
    Ok(acted(a.connect.json, result))
}

/// `gpu-deploy-llm costs`.
pub async fn costs(a: CostsArgs) -> anyhow::Result<i32> {
    let broker = match connect(&a.connect, false) {
        Ok(broker) => broker,
        Err(code) => return Ok(code),
    };
    let query = CostQuery {
        consumer_id: Some(broker.consumer_id().to_owned()),
        period: a.period.map(|p| p.as_str().to_owned()),
        ..Default::default()
    };
    let summary = match broker.costs(&query).await {
        Ok(s) => s,
        Err(e) => return Ok(broker_failed(&e)),
    };
    print(a.connect.json, &summary, || {
        let mut rows: Vec<Vec<String>> = summary
            .by_provider
            .iter()
            .map(|(p, c)| vec!["provider".into(), p.clone(), format!("${c:.4}")])
            .collect();
        rows.extend(
            summary
                .by_gpu_type
                .iter()
                .map(|(g, c)| vec!["gpu".into(), g.clone(), format!("${c:.4}")]),
        );
        format!(
            "total ${:.4} over {} sessions (the broker's figures)\n{}",
            summary.total_cost,
            summary.session_count,
            table(&["BY", "WHAT", "COST"], rows)
        )
    });
    Ok(OK)
}

/// `gpu-deploy-llm models`.
pub async fn models(a: ModelsArgs) -> anyhow::Result<i32> {
    let Some(quantization) = Quantization::parse(&a.quantization) else {
        return Ok(bad_input(
            &format!("unknown quantization {:?}", a.quantization),
            "Use none, awq, gptq or fp8.",
        ));
    };
    #[derive(Serialize)]
    struct Model {
        id: String,
        name: String,
        aliases: Vec<String>,
        params_b: f64,
        quantization: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        vram_gb: Option<u32>,
        #[serde(skip_serializing_if = "Option::is_none")]
        unavailable: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        fits: Option<bool>,
    }
    let list: Vec<Model> = PRESETS
        .iter()
        .map(|p| {
            let resolved = gdl_model::registry::resolve(p.id, quantization);
            let vram_gb = resolved.as_ref().ok().map(|r| r.vram_gb);
            Model {
                id: p.id.to_owned(),
                name: p.name.to_owned(),
                aliases: p.aliases.iter().map(|s| s.to_string()).collect(),
                params_b: p.params_b,
                quantization: quantization.as_str().to_owned(),
                vram_gb,
                unavailable: resolved.err().map(|e| e.to_string()),
                fits: a.fits.zip(vram_gb).map(|(gpu, need)| need <= gpu),
            }
        })
        .collect();
    print(a.json, &list, || {
        table(
            &["MODEL", "ALIAS", "PARAMS", "VRAM", "FITS"],
            list.iter()
                .map(|m| {
                    vec![
                        m.id.clone(),
                        m.aliases.first().cloned().unwrap_or_default(),
                        format!("{}B", m.params_b),
                        m.vram_gb
                            .map(|v| format!("{v} GB"))
                            .unwrap_or_else(|| "n/a".into()),
                        match m.fits {
                            Some(true) => "yes".into(),
                            Some(false) => "no".into(),
                            None => String::new(),
                        },
                    ]
                })
                .collect(),
        )
    });
    Ok(OK)
}

/// `gpu-deploy-llm orphans [--cleanup]`: our sessions on the broker that cost money and
/// that no run in progress in the data directory's store owns; `--cleanup` destroys each,
/// following it until the broker confirms (exit 1 when one is not confirmed or fails).
pub async fn orphans(a: OrphansArgs) -> anyhow::Result<i32> {
    let broker = match connect(&a.connect, false) {
        Ok(broker) => broker,
        Err(code) => return Ok(code),
    };
    let history = match crate::service::History::open(&crate::settings::data_dir_or_default(
        a.data.data_dir.as_ref(),
    )) {
        Ok(history) => history,
        Err(e) => return Ok(failed(&e.error)),
    };
    let orphans = match crate::service::find_orphans(&broker, &history).await {
        Ok(orphans) => orphans,
        Err(e) => return Ok(failed(&e.error)),
    };
    if !a.cleanup {
        print(a.connect.json, &orphans, || {
            let mut text = table(
                &["SESSION", "STATUS", "PROVIDER", "GPU", "PRICE", "CREATED"],
                orphans.sessions.iter().map(session_cells).collect(),
            );
            text += &match orphans.sessions.len() {
                0 => "no orphans: nothing of ours is billing outside a run\n".to_owned(),
                n => format!(
                    "{n} orphan(s) billing ${:.3}/h together; `gpu-deploy-llm orphans --cleanup` destroys them\n",
                    orphans.burn_per_hour
                ),
            };
            text
        });
        return Ok(OK);
    }
    let ids = orphans.sessions.iter().map(|s| s.id.clone()).collect();
    let done: OrphanCleanup = crate::service::clean_up_sessions(&broker, ids).await;
    print(a.connect.json, &done, || {
        let mut text: String = done
            .cleaned
            .iter()
            .map(|r| format!("{} {}: {}\n", r.outcome_str(), r.id, r.message))
            .collect();
        for e in &done.failed {
            text += &format!("failed: {}\n", e.message);
        }
        if done.cleaned.is_empty() && done.failed.is_empty() {
            text += "no orphans to clean up\n";
        }
        text
    });
    let all_confirmed = done.failed.is_empty()
        && done
            .cleaned
            .iter()
            .all(|r| r.outcome == ActionOutcome::Destroyed);
    Ok(if all_confirmed { OK } else { FAILED })
}
