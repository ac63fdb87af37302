use crate::live::conn::quality;
use crate::live::use_live;
use leptos::prelude::*;

/// The header's connection indicator: state, quality, round-trip time, time since the last
/// event, and frames that could not be understood (count, last error, expandable).
#[component]
pub fn LiveStatus() -> impl IntoView {
    let store = use_live();
    let key = move || store.conn.with(|c| c.state.key());
    let label = move || store.conn.with(|c| c.state.describe(store.now_ms.get()));
    let connected = move || key() == "connected";
    let details = move || {
        connected().then(|| {
            let (rtt, missed, last) = store.conn.with(|c| (c.rtt_ms, c.missed_pongs, c.last_event_at_ms));
            let q = quality(rtt, missed).key();
            let now = store.now_ms.get();
            let ago = last.map(|t| format!("last event {} s ago", ((now - t) / 1000.0).max(0.0).round() as u64));
            view! {
                <span class="quality" data-quality=q>{q}</span>
                {rtt.map(|r| view! { <span class="rtt">{format!("{} ms", r.round() as u64)}</span> })}
                {ago.map(|a| view! { <span class="ago">{a}</span> })}
            }
        })
    };
    let bad = move || {
        store
            .client
            .with(|c| (c.parse_errors, c.last_parse_error.clone()))
    };
    view! {
        <div class="live" data-conn=key role="status" aria-live="polite">
            <span class="dot" aria-hidden="true"></span>
            <span class="label">{label}</span>
            {details}
            {move || {
                let (count, last) = bad();
                (count > 0)
                    .then(|| {
                        view! {
                            <details class="bad-frames" data-parse-errors=count>
                                <summary>{format!("{count} unreadable frame(s)")}</summary>
                                <p>{last.unwrap_or_default()}</p>
                            </details>
                        }
                    })
            }}
        </div>
    }
}
