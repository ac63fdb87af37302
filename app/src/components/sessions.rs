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
                        <For
                            each=move || {
                                let unconfirmed = unconfirmed_destroys(&store);
                                store
                                    .sessions()
                                    .into_iter()
                                    .map(|s| {
                                        let flagged = unconfirmed.contains(&s.id);
                                        (s, flagged)
                                    })
                                    .collect::<Vec<_>>()
                            }
                            key=|(s, flagged)| format!("{}|{flagged}", row_key(s))
                            let:row
                        >
                            <SessionRow session=row.0 unconfirmed=row.1/>
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

/// Sessions a run asked the broker to destroy without the broker confirming it.
fn unconfirmed_destroys(store: &crate::live::LiveStore) -> std::collections::HashSet<String> {
    store.client.with(|c| {
        c.live
            .runs
            .values()
            .flat_map(|r| {
                let rentals = r
                    .rentals
                    .iter()
                    .filter(|x| x.destroyed == Some(false))
                    .map(|x| x.session_id.clone());
                let cleanup = r
                    .cleanup
                    .as_ref()
                    .filter(|c| !c.destroyed_confirmed && !c.kept)
                    .and(r.session_id.clone());
                rentals.chain(cleanup).collect::<Vec<_>>()
            })
            .collect()
    })
}

#[component]
fn SessionRow(session: SessionView, unconfirmed: bool) -> AnyView {
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
                {unconfirmed
                    .then(|| {
                        view! {
                            <span
                                class="badge unconfirmed"
                                data-unconfirmed="true"
                                title="A run asked the broker to destroy it; the broker did not confirm. It may still be billing."
                            >
                                "destroy not confirmed"
                            </span>
                        }
                    })}
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
