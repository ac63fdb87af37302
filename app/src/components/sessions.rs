use crate::format;
use crate::functions::ActOnSession;
use crate::live::use_live;
use gdl_model::api::{SessionAction, SessionView};
use gdl_model::shopper::SessionStatus;
use leptos::prelude::*;

/// An action a person asked for and has to confirm: which session, what, how many hours.
type Pending = Option<(String, SessionAction, Option<u32>)>;

/// The table's actions: one at a time, each confirmed first.
#[derive(Clone, Copy)]
struct Actions {
    act: ServerAction<ActOnSession>,
    confirming: RwSignal<Pending>,
}

/// Our sessions from the live store: id, status, provider, GPU × count, $/h, created, time
/// to running, error. Rows are keyed by id and content, so a changed session re-renders
/// and a session can never appear twice.
#[component]
pub fn SessionTable() -> impl IntoView {
    let store = use_live();
    let empty = move || store.client.with(|c| c.live.sessions.is_empty());
    let actions = Actions {
        act: ServerAction::<ActOnSession>::new(),
        confirming: RwSignal::new(None),
    };
    let outcome = move || match actions.act.value().get() {
        Some(Ok(Ok(r))) => {
            let outcome = r.outcome_str();
            Some(view! { <p class="note" data-outcome=outcome>{r.message}</p> }.into_any())
        }
        Some(Ok(Err(refused))) => Some(
            view! {
                <p class="note error" data-outcome="error">
                    {refused.message}
                    {refused.hint.map(|h| view! { <span class="muted small">" "{h}</span> })}
                </p>
            }
            .into_any(),
        ),
        Some(Err(e)) => Some(
            view! { <p class="note error" data-outcome="error">{e.to_string()}</p> }.into_any(),
        ),
        None => None,
    };
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
                {outcome}
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
                            <th>"Expires"</th>
                            <th>"Error"</th>
                            <th>"Actions"</th>
                        </tr>
                    </thead>
                    <tbody>
                        <For
                            each=move || {
                                let unconfirmed = unconfirmed_destroys(&store);
                                let mut sessions = store.sessions();
                                // Active sessions first (they cost money), newest first within.
                                sessions.sort_by_key(|s| !s.status.is_active());
                                sessions
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
                            <SessionRow session=row.0 unconfirmed=row.1 actions/>
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
        "{}|{}|{:?}|{:?}|{}|{}|{:?}",
        s.id,
        s.status,
        s.error,
        s.time_to_running_secs,
        s.price_per_hour,
        s.gpu_count,
        s.expires_at
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
fn SessionRow(session: SessionView, unconfirmed: bool, actions: Actions) -> AnyView {
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
            <td data-expires=s.expires_at.map(|t| t.to_rfc3339()).unwrap_or_default()>
                {s.expires_at.map(|t| format::timestamp(&t)).unwrap_or_else(|| "—".into())}
            </td>
            <td class="error-text">{s.error.clone().unwrap_or_default()}</td>
            <td class="actions">
                <RowActions id=s.id.clone() status=s.status actions/>
            </td>
        </tr>
    }
    .into_any()
}

/// Clean up, Done and Extend for one session, each asking "are you sure?" first.
#[component]
fn RowActions(id: String, status: SessionStatus, actions: Actions) -> impl IntoView {
    let Actions { act, confirming } = actions;
    let active = status.is_active();
    let cleanable = active || status == SessionStatus::Stopping;
    let mine = {
        let id = id.clone();
        move || confirming.with(|c| c.as_ref().filter(|(i, ..)| *i == id).cloned())
    };
    let ask = {
        let id = id.clone();
        move |action: SessionAction, hours: Option<u32>| {
            let id = id.clone();
            move |_| confirming.set(Some((id.clone(), action, hours)))
        }
    };
    let short = format::short_id(&id).to_owned();
    view! {
        {move || match mine() {
            Some((id, action, hours)) => {
                let question = match action {
                    SessionAction::Cleanup => format!("Destroy {short} now?"),
                    SessionAction::Done => format!("Tell the broker {short} is done?"),
                    SessionAction::Extend => format!("Extend {short} by {} h?", hours.unwrap_or(1)),
                };
                view! {
                    <span class="confirm">{question}</span>
                    <button type="button" class="danger" data-action="confirm"
                        on:click=move |_| {
                            confirming.set(None);
                            act.dispatch(ActOnSession { id: id.clone(), action, hours });
                        }>
                        "Yes"
                    </button>
                    <button type="button" class="secondary" on:click=move |_| confirming.set(None)>
                        "No"
                    </button>
                }
                .into_any()
            }
            None => view! {
                {cleanable.then(|| view! {
                    <button type="button" class="danger" data-action="cleanup"
                        disabled=move || act.pending().get()
                        on:click=ask(SessionAction::Cleanup, None)>"Clean up"</button>
                })}
                {active.then(|| view! {
                    <button type="button" class="secondary" data-action="done"
                        disabled=move || act.pending().get()
                        on:click=ask(SessionAction::Done, None)>"Done"</button>
                    <button type="button" class="secondary" data-action="extend"
                        disabled=move || act.pending().get()
                        on:click=ask(SessionAction::Extend, Some(1))>"+1 h"</button>
                })}
            }
            .into_any(),
        }}
    }
}
