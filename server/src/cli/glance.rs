//! `status` and `sessions`: the broker at a glance, asked directly (`--shopper-url`) or as
//! a running dashboard sees it (`--url`, over its REST API). Without either they refuse
//! (exit 2): a throwaway simulator's answers would say nothing about any real broker.

use super::connect;
use super::dashboard::Remote;
use super::output::{failed, nothing_found, print, printable, table, FAILED, OK};
use crate::config::ReadArgs;
use gdl_model::code::ErrorCode;
use gdl_model::error::ApiError;
use gdl_model::sessions::{SessionView, SessionsView};
use gdl_model::status::{BrokerState, StatusView};
use serde::Serialize;

/// What `status --json` prints.
#[derive(Serialize)]
struct Status {
    ready: bool,
    /// The broker's URL.
    url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<ApiError>,
    /// The dashboard asked, with `--url`.
    #[serde(skip_serializing_if = "Option::is_none")]
    dashboard: Option<String>,
    /// Whether that dashboard's broker is its embedded simulator.
    #[serde(skip_serializing_if = "Option::is_none")]
    simulated: Option<bool>,
    /// Offers per provider, as the dashboard counts them.
    #[serde(skip_serializing_if = "Option::is_none")]
    offers: Option<Vec<gdl_model::status::ProviderOffers>>,
}

/// `gpu-deploy-llm status`: exit 0 when the broker is ready, 1 when not.
pub async fn status(a: ReadArgs) -> anyhow::Result<i32> {
    let status = match Remote::from_args(&a.dashboard) {
        Err(e) => return Ok(failed(&e)),
        Ok(Some(remote)) => match remote.get::<StatusView>(&["api", "status"], "").await {
            Ok(view) => seen_by(remote.url(), view),
            Err(e) => return Ok(failed(&e)),
        },
        Ok(None) => {
            let broker = match connect(&a.connect, true) {
                Ok(broker) => broker,
                Err(code) => return Ok(code),
            };
            let error = broker.ready().await.err().map(|e| e.to_api_error());
            Status {
                ready: error.is_none(),
                url: broker.base_url().to_owned(),
                error,
                dashboard: None,
                simulated: None,
                offers: None,
            }
        }
    };
    print(a.connect.json, &status, || status_text(&status));
    Ok(if status.ready { OK } else { FAILED })
}

/// The status a dashboard answered, in `status`'s shape.
fn seen_by(dashboard: &str, view: StatusView) -> Status {
    let broker = view.broker;
    let ready = broker.state == BrokerState::Ready;
    let error = (!ready).then(|| ApiError {
        code: broker
            .code
            .unwrap_or(ErrorCode::ShopperNotReady)
            .to_string(),
        message: broker
            .reason
            .unwrap_or_else(|| format!("the broker is {}", broker.state.label().to_lowercase())),
        hint: broker.hint,
        request_id: None,
    });
    Status {
        ready,
        url: broker.url,
        error,
        dashboard: Some(dashboard.to_owned()),
        simulated: Some(broker.simulated),
        offers: Some(view.providers),
    }
}

fn status_text(status: &Status) -> String {
    let mut text = match &status.error {
        None => format!("broker {} is ready", status.url),
        Some(e) => format!(
            "broker {} is not ready [{}]: {}",
            status.url, e.code, e.message
        ),
    };
    if let Some(dashboard) = &status.dashboard {
        text += &format!(", as the dashboard at {dashboard} sees it");
    }
    if status.simulated == Some(true) {
        text += " (its embedded simulator, not a real cloud)";
    }
    text.push('\n');
    if let Some(hint) = status.error.as_ref().and_then(|e| e.hint.as_deref()) {
        text += &format!("hint: {hint}\n");
    }
    if let Some(offers) = &status.offers {
        let counts: Vec<String> = offers
            .iter()
            .map(|p| match p.cheapest_per_hour {
                Some(usd) => format!("{} {} from ${usd:.3}/h", p.provider.label(), p.offers),
                None => format!("{} {}", p.provider.label(), p.offers),
            })
            .collect();
        text += &format!("offers: {}\n", counts.join(" · "));
    }
    text
}

/// `gpu-deploy-llm sessions`: ours, active first. Exit 1 when the broker could not be
/// asked (with `--url`: the dashboard's last known list is still printed), 3 when there
/// are none.
pub async fn sessions(a: ReadArgs) -> anyhow::Result<i32> {
    let json = a.connect.json;
    let (mut shown, stale) = match Remote::from_args(&a.dashboard) {
        Err(e) => return Ok(failed(&e)),
        Ok(Some(remote)) => match remote.get::<SessionsView>(&["api", "sessions"], "").await {
            Ok(view) => (view.sessions, view.error),
            Err(e) => return Ok(failed(&e)),
        },
        Ok(None) => {
            let broker = match connect(&a.connect, true) {
                Ok(broker) => broker,
                Err(code) => return Ok(code),
            };
            let mut sessions = match broker.our_sessions().await {
                Ok(sessions) => sessions,
                Err(e) => return Ok(failed(&e.to_api_error())),
            };
            // The broker's own records, in the shape this command has always printed.
            sort(&mut sessions, |s| (s.status.is_active(), s.created_at));
            let views: Vec<SessionView> = sessions
                .iter()
                .map(|s| SessionView::from_session(s, None))
                .collect();
            print(json, &sessions, || session_table(&views));
            return Ok(if sessions.is_empty() {
                nothing_found("no sessions of ours on the broker")
            } else {
                OK
            });
        }
    };
    sort(&mut shown, |s| (s.status.is_active(), s.created_at));
    print(json, &shown, || session_table(&shown));
    if let Some(e) = stale {
        eprintln!(
            "the dashboard could not ask the broker: the list above is the last it saw\n\
             error [{}]: {}",
            e.code,
            printable(&e.message)
        );
        if let Some(hint) = &e.hint {
            eprintln!("hint: {}", printable(hint));
        }
        return Ok(FAILED);
    }
    Ok(if shown.is_empty() {
        nothing_found("no sessions of ours on the broker, as the dashboard lists them")
    } else {
        OK
    })
}

/// Active sessions first, then newest first.
fn sort<T>(list: &mut [T], key: impl Fn(&T) -> (bool, chrono::DateTime<chrono::Utc>)) {
    list.sort_by(|a, b| {
        let ((a_active, a_at), (b_active, b_at)) = (key(a), key(b));
        b_active.cmp(&a_active).then(b_at.cmp(&a_at))
    });
}

/// The columns every session table starts with: SESSION, STATUS, PROVIDER, GPU, PRICE,
/// CREATED.
pub(super) fn session_cells(s: &SessionView) -> Vec<String> {
    vec![
        s.id.to_string(),
        s.status.to_string(),
        s.provider.to_string(),
        format!("{} x{}", s.gpu_type, s.gpu_count),
        format!("${:.3}/h", s.price_per_hour),
        s.created_at.format("%Y-%m-%d %H:%M").to_string(),
    ]
}

/// Sessions as a table, prices with their unit.
pub(super) fn session_table(sessions: &[SessionView]) -> String {
    let rows = sessions
        .iter()
        .map(|s| {
            let mut cells = session_cells(s);
            cells.extend([
                s.expires_at
                    .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
                    .unwrap_or_default(),
                s.error.clone().unwrap_or_default(),
            ]);
            cells
        })
        .collect();
    table(
        &[
            "SESSION", "STATUS", "PROVIDER", "GPU", "PRICE", "CREATED", "EXPIRES", "ERROR",
        ],
        rows,
    )
}
