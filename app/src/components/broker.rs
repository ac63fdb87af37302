use crate::format;
use gdl_model::breaker::{BreakerPhase, BreakerView};
use gdl_model::status::{BrokerState, BrokerStatus, StatusView};
use leptos::prelude::*;

/// Broker state (Ready / Starting / Offline) with the reason and what to do.
#[component]
pub fn BrokerCard(broker: BrokerStatus) -> impl IntoView {
    let class = match broker.state {
        BrokerState::Ready => "dot ok",
        BrokerState::Starting => "dot warn",
        BrokerState::Offline => "dot bad",
    };
    let checked = broker.checked_at.map(|t| format::timestamp(&t));
    let breaker = broker.breaker;
    let phase = breaker.phase.label();
    let breaker_note = breaker_note(&breaker);
    view! {
        <section class="card broker" data-state=broker.state.label()>
            <h2>"Broker"</h2>
            <p class="state">
                <span class=class aria-hidden="true"></span>
                <strong>{broker.state.label()}</strong>
                {broker
                    .simulated
                    .then(|| view! { <span class="badge sim">"simulated"</span> })}
            </p>
            {broker.reason.map(|r| view! { <p class="reason">{r}</p> })}
            {broker.hint.map(|h| view! { <p class="hint">{h}</p> })}
            {breaker_note.map(|note| view! {
                <p class="note warn breaker" data-breaker=phase>{note}</p>
            })}
            <dl class="facts">
                <dt>"URL"</dt>
                <dd>
                    <code>{broker.url}</code>
                </dd>
                {checked.map(|c| view! {
                    <dt>"Checked"</dt>
                    <dd>{c}</dd>
                })}
                <dt>"Circuit breaker"</dt>
                <dd class="breaker-phase" data-breaker=phase>{phase}</dd>
            </dl>
            {broker
                .simulated
                .then(|| {
                    view! {
                        <p class="muted small">
                            "This is the embedded simulator: no cloud is contacted and nothing is billed. "
                            "Set SHOPPER_URL to use a real cloud-gpu-shopper."
                        </p>
                    }
                })}
        </section>
    }
}

/// What the circuit breaker is doing, when it is not simply letting calls through.
fn breaker_note(b: &BreakerView) -> Option<String> {
    match b.phase {
        BreakerPhase::Closed => None,
        BreakerPhase::Open => Some(format!(
            "Circuit breaker open: after {} failures in a row, broker calls fail at once{}.",
            b.failures,
            b.probe_at
                .map(|t| format!(
                    "; it tries the broker again at {}",
                    t.format("%H:%M:%S UTC")
                ))
                .unwrap_or_default()
        )),
        BreakerPhase::HalfOpen => Some(
            "Circuit breaker half-open: a probe call is checking whether the broker is back."
                .into(),
        ),
    }
}

/// Offers available per provider.
#[component]
pub fn ProvidersCard(status: StatusView) -> impl IntoView {
    let total = status.total_offers();
    let counted = status.inventory_at.is_some();
    let rows = status
        .providers
        .into_iter()
        .map(|p| {
            let cheapest = p
                .cheapest_per_hour
                .map(format::per_hour)
                .unwrap_or_else(|| "—".into());
            let offers = if counted {
                p.offers.to_string()
            } else {
                "—".into()
            };
            let dot = if p.offers > 0 { "dot ok" } else { "dot off" };
            view! {
                <tr data-provider=p.provider.to_string()>
                    <td>
                        <span class=dot aria-hidden="true"></span>
                        {p.provider.label().to_owned()}
                    </td>
                    <td class="num offers">{offers}</td>
                    <td class="num">{cheapest}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <section class="card providers">
            <h2>"Offers"</h2>
            <table>
                <thead>
                    <tr>
                        <th>"Provider"</th>
                        <th class="num">"Offers"</th>
                        <th class="num">"From"</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
            <p class="muted small">
                {if counted {
                    format!("{total} offers in all")
                } else {
                    "Offers not counted yet: the broker has not answered.".to_owned()
                }}
            </p>
            {status
                .inventory_error
                .map(|e| {
                    view! {
                        <p class="note warn">
                            {e.message} {e.hint.map(|h| view! { <span class="hint">" " {h}</span> })}
                        </p>
                    }
                })}
        </section>
    }
}
