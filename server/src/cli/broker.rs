//! The one-shot broker commands, parity with the old tool: `status`, `inventory`,
//! `sessions`, `session ID`, `cleanup ID`, `done ID`, `extend ID --hours N`, `costs` and
//! `models`. Each prints a readable table (or `--json`) on stdout, errors with their code
//! and hint on stderr, and exits 0 when it did what was asked, 1 when the broker refused
//! or failed, 2 on bad input.

use crate::config::{Connect, CostsArgs, ExtendArgs, InventoryArgs, ModelsArgs, SessionArgs};
use crate::sessions;
use crate::shopper::{ShopperClient, ShopperError, Timeouts};
use crate::simulator::{SimConfig, SimServer, Simulator};
use gdl_model::api::{ActionOutcome, SessionActionResult};
use gdl_model::registry::{Quantization, PRESETS};
use gdl_model::shopper::{CostQuery, InventoryQuery, Provider, Session};
use serde::Serialize;
use std::time::Duration;

/// Exit codes.
const OK: i32 = 0;
const FAILED: i32 = 1;
const BAD_INPUT: i32 = 2;

/// The broker to ask: the given URL, or an embedded simulator kept alive meanwhile.
struct Broker {
    client: ShopperClient,
    _sim: Option<SimServer>,
}

async fn connect(c: &Connect) -> anyhow::Result<Broker> {
    let (url, sim) = match &c.shopper_url {
        Some(url) => (url.clone(), None),
        None => {
            let sim = Simulator::new(SimConfig {
                speed: 10.0,
                ..SimConfig::default()
            });
            let server = SimServer::start(sim, (std::net::Ipv4Addr::LOCALHOST, 0).into()).await?;
            (server.url(), Some(server))
        }
    };
    let client = ShopperClient::new(&url, Timeouts::default())?;
    Ok(Broker { client, _sim: sim })
}

/// Prints `value` as JSON, or `table` for people.
pub(super) fn print<T: Serialize>(json: bool, value: &T, table: impl FnOnce() -> String) {
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(value).unwrap_or_default()
        );
    } else {
        print!("{}", table());
    }
}

/// Says what failed, with its code and hint, on stderr; the exit code.
fn failed(e: &ShopperError) -> i32 {
    let api = e.to_api_error();
    eprintln!("error [{}]: {}", api.code, api.message);
    if let Some(hint) = api.hint {
        eprintln!("hint: {hint}");
    }
    FAILED
}

pub(super) fn bad_input(message: &str, hint: &str) -> i32 {
    eprintln!("error [invalid_input]: {message}");
    eprintln!("hint: {hint}");
    BAD_INPUT
}

/// Rows under a header, each column as wide as its widest cell.
pub(super) fn table(header: &[&str], rows: Vec<Vec<String>>) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        padded.join("  ").trim_end().to_owned() + "\n"
    };
    let mut out = line(header.iter().map(|h| h.to_string()).collect());
    for row in rows {
        out.push_str(&line(row));
    }
    out
}

/// `gpu-deploy-llm status`.
pub async fn status(c: Connect) -> anyhow::Result<i32> {
    let broker = connect(&c).await?;
    #[derive(Serialize)]
    struct Status {
        ready: bool,
        url: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        error: Option<gdl_model::api::ApiError>,
    }
    let (ready, error) = match broker.client.ready().await {
        Ok(_) => (true, None),
        Err(e) => (false, Some(e.to_api_error())),
    };
    let status = Status {
        ready,
        url: broker.client.base_url().to_owned(),
        error,
    };
    print(c.json, &status, || match &status.error {
        None => format!("broker {} is ready\n", status.url),
        Some(e) => format!(
            "broker {} is not ready [{}]: {}\nhint: {}\n",
            status.url,
            e.code,
            e.message,
            e.hint.as_deref().unwrap_or("")
        ),
    });
    Ok(if ready { OK } else { FAILED })
}

/// `gpu-deploy-llm inventory`.
pub async fn inventory(a: InventoryArgs) -> anyhow::Result<i32> {
    let provider = match a.provider.as_deref().filter(|p| !p.trim().is_empty()) {
        None => None,
        Some(p) => match Provider::from_wire(p) {
            Provider::Other(_) => {
                return Ok(bad_input(
                    &format!("unknown provider {p:?}"),
                    &format!("Use one of {}.", Provider::known_names()),
                ))
            }
            known => Some(known),
        },
    };
    let broker = connect(&a.connect).await?;
    let query = InventoryQuery {
        provider,
        gpu_type: a.gpu_type.clone(),
        location: a.location.clone(),
        min_vram: a.min_vram,
        max_price: a.max_price,
        min_reliability: a.min_reliability,
        ..Default::default()
    };
    let mut offers = match broker.client.inventory_all(&query).await {
        Ok(offers) => offers,
        Err(e) => return Ok(failed(&e)),
    };
    offers.sort_by(|x, y| x.price_per_hour.total_cmp(&y.price_per_hour));
    offers.truncate(a.limit);
    print(a.connect.json, &offers, || {
        table(
            &[
                "PROVIDER", "OFFER", "GPU", "VRAM", "$/H", "LOCATION", "RELIAB.", "CONF.", "MAX H",
            ],
            offers
                .iter()
                .map(|o| {
                    vec![
                        o.provider.to_string(),
                        o.id.clone(),
                        format!("{} x{}", o.gpu_type, o.gpu_count),
                        format!("{} GB", o.vram_gb),
                        format!("{:.3}", o.price_per_hour),
                        o.location.clone(),
                        format!("{:.2}", o.reliability),
                        format!("{:.2}", o.availability_confidence),
                        match o.max_duration_hours {
                            0 => "-".into(),
                            h => h.to_string(),
                        },
                    ]
                })
                .collect(),
        )
    });
    Ok(OK)
}

fn session_rows(sessions: &[Session]) -> Vec<Vec<String>> {
    sessions
        .iter()
        .map(|s| {
            vec![
                s.id.clone(),
                s.status.to_string(),
                s.provider.to_string(),
                format!("{} x{}", s.gpu_type, s.gpu_count),
                format!("{:.3}", s.price_per_hour),
                s.created_at.format("%Y-%m-%d %H:%M").to_string(),
                s.expires_at
                    .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
                    .unwrap_or_default(),
                s.error_text().unwrap_or_default().to_owned(),
            ]
        })
        .collect()
}

const SESSION_HEADER: [&str; 8] = [
    "SESSION", "STATUS", "PROVIDER", "GPU", "$/H", "CREATED", "EXPIRES", "ERROR",
];

/// `gpu-deploy-llm sessions`.
pub async fn sessions(c: Connect) -> anyhow::Result<i32> {
    let broker = connect(&c).await?;
    let mut sessions = match broker.client.our_sessions().await {
        Ok(s) => s,
        Err(e) => return Ok(failed(&e)),
    };
    sessions.sort_by(|a, b| {
        (!a.status.is_active())
            .cmp(&!b.status.is_active())
            .then(b.created_at.cmp(&a.created_at))
    });
    print(c.json, &sessions, || {
        table(&SESSION_HEADER, session_rows(&sessions))
    });
    Ok(OK)
}

/// `gpu-deploy-llm session ID`.
pub async fn session(a: SessionArgs) -> anyhow::Result<i32> {
    let broker = connect(&a.connect).await?;
    let session = match broker.client.get_session(&a.id).await {
        Ok(s) => s,
        Err(e) => return Ok(failed(&e)),
    };
    let cost = broker.client.session_cost(&a.id).await.ok();
    let diagnostics = broker.client.diagnostics(&a.id).await.ok();
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
        let mut out = table(
            &SESSION_HEADER,
            session_rows(std::slice::from_ref(&session)),
        );
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
        Err(e) => return failed(&e),
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
    let broker = connect(&a.connect).await?;
    let patience = Duration::from_secs(120);
    let result = sessions::clean_up(&broker.client, &a.id, patience, &|m| eprintln!("{m}")).await;
    Ok(acted(a.connect.json, result))
}

/// `gpu-deploy-llm done ID`.
pub async fn done(a: SessionArgs) -> anyhow::Result<i32> {
    let broker = connect(&a.connect).await?;
    Ok(acted(
        a.connect.json,
        sessions::done(&broker.client, &a.id).await,
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
    let broker = connect(&a.connect).await?;
    let result = sessions::extend(&broker.client, &a.id, hours)
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
    if let Some(p) = a
        .period
        .as_deref()
        .filter(|p| !matches!(*p, "daily" | "monthly"))
    {
        return Ok(bad_input(
            &format!("--period must be daily or monthly, got {p:?}"),
            "daily is today, monthly this month.",
        ));
    }
    let broker = connect(&a.connect).await?;
    let query = CostQuery {
        consumer_id: Some(broker.client.consumer_id().to_owned()),
        period: a.period.clone(),
        ..Default::default()
    };
    let summary = match broker.client.costs(&query).await {
        Ok(s) => s,
        Err(e) => return Ok(failed(&e)),
    };
    print(a.connect.json, &summary, || {
        let mut rows: Vec<Vec<String>> = summary
            .by_provider
            .iter()
            .map(|(p, c)| vec!["provider".into(), p.clone(), format!("{c:.4}")])
            .collect();
        rows.extend(
            summary
                .by_gpu_type
                .iter()
                .map(|(g, c)| vec!["gpu".into(), g.clone(), format!("{c:.4}")]),
        );
        format!(
            "total ${:.4} over {} sessions (the broker's figures)\n{}",
            summary.total_cost,
            summary.session_count,
            table(&["BY", "WHAT", "USD"], rows)
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
