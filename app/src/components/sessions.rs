use crate::format;
use crate::live::use_live;
use gdl_model::api::SessionView;
use leptos::prelude::*;

/// Our sessions from the live store: id, status, provider, GPU × count, $/h, created, time
/// to running, error. Rows are keyed by id and content, so a changed session re-renders
/// and a session can never appear twice.
#[component]
pub fn SessionTable() -> impl IntoView {
    let store = use_live();
    let empty = move || store.client.with(|c| c.live.sessions.is_empty());
    view! {
        <Show
            when=move || !empty()
            fallback=|| {
                view! {
                    <section class="card">
                        <p class="empty">
                            "No sessions yet. A deployment test rents one and lists it here."
                        </p>
                    </section>
                }
            }
        >
            <section class="card table-wrap">
                <table class="sessions">
                    <thead>
                        <tr>
                            <th>"Session"</th>
                            <th>"Status"</th>
                            <th>"Provider"</th>
                            <th>"GPU"</th>
                            <th class="num">"Price"</th>
                            <th>"Created"</th>
                            <th class="num">"To running"</th>
                            <th>"Error"</th>
                        </tr>
                    </thead>
                    <tbody>
                        <For each=move || store.sessions() key=row_key let:session>
                            <SessionRow session/>
                        </For>
                    </tbody>
                </table>
            </section>
        </Show>
    }
}

/// Changes whenever anything shown in the row changes.
fn row_key(s: &SessionView) -> String {
    format!(
        "{}|{}|{:?}|{:?}|{}|{}",
        s.id, s.status, s.error, s.time_to_running_secs, s.price_per_hour, s.gpu_count
    )
}

#[component]
fn SessionRow(session: SessionView) -> AnyView {
    let s = session;
    let status_class = format!("badge status-{}", s.status.as_str());
    let row_class = if s.ended_badly() { "ended-badly" } else { "" };
    view! {
        <tr class=row_class data-session=s.id.clone()>
            <td>
                <code title=s.id.clone()>{format::short_id(&s.id).to_owned()}</code>
            </td>
            <td>
                <span class=status_class>{s.status.as_str()}</span>
            </td>
            <td>{s.provider.label().to_owned()}</td>
            <td>{format::gpu(&s.gpu_type, s.gpu_count)}</td>
            <td class="num">{format::per_hour(s.price_per_hour)}</td>
            <td>{format::timestamp(&s.created_at)}</td>
            <td class="num">
                {s.time_to_running_secs.map(format::duration).unwrap_or_else(|| "—".into())}
            </td>
            <td class="error-text">{s.error.unwrap_or_default()}</td>
        </tr>
    }
    .into_any()
}
