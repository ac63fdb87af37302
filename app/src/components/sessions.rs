use crate::format;
use crate::functions::ActOnSession;
use crate::live::use_live;
use gdl_model::costs::CostSource;
use gdl_model::ids::SessionId;
use gdl_model::sessions::{SessionAction, SessionFilters, SessionView, StatusFilter};
use gdl_model::shopper::SessionStatus;
use leptos::prelude::*;

/// An action a person asked for and has to confirm: which session, what, how many hours.
type Pending = Option<(SessionId, SessionAction, Option<u32>)>;

/// The table's actions: one at a time, each confirmed first.
#[derive(Clone, Copy)]
struct Actions {
    act: ServerAction<ActOnSession>,
    confirming: RwSignal<Pending>,
    /// The hours an Extend being confirmed asks for.
    hours: RwSignal<u32>,
}

/// Our sessions from the live store: id, status, provider, GPU × count, $/h, created, time
/// to running, expiry, cost to date, error, the run that rented it. Filtered and paged as
/// the URL says (active sessions are on every page). Rows are keyed by id and content, so a
/// changed session re-renders and a session can never appear twice.
#[component]
pub fn SessionTable() -> impl IntoView {
    let store = use_live();
    let query = crate::url::query::<SessionFilters>();
    let filters = move || query.get().unwrap_or_default();
    let page = Memo::new(move |_| filters().page_of(store.sessions()));
    let empty = move || store.client.with(|c| c.live.sessions.is_empty());
    let actions = Actions {
        act: ServerAction::<ActOnSession>::new(),
        confirming: RwSignal::new(None),
        hours: RwSignal::new(1),
    };
    let outcome = move || match actions.act.value().get().map(crate::functions::outcome) {
        Some(Ok(r)) => {
            let outcome = r.outcome_str();
            Some(view! { <p class="note" data-outcome=outcome>{r.message}</p> }.into_any())
        }
        Some(Err(refused)) => Some(
            view! {
                <p class="note error" data-outcome="error">
                    {refused.message}
                    {refused.hint.map(|h| view! { <span class="muted small">" "{h}</span> })}
                </p>
            }
            .into_any(),
        ),
        None => None,
    };
    let refused = move || {
        query
            .get()
            .err()
            .map(|error| view! { <super::ErrorNote error/> })
    };
    let read_only = crate::components::read_only();
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
            {move || (!read_only).then(|| view! { <FilterForm f=filters()/> })}
            {refused}
            <section class="card table-wrap">
                {outcome}
                <p class="muted small" data-matching=move || page.with(|p| p.matching)>
                    {move || page.with(|p| format!("{} sessions match · active ones are listed first, on every page", p.matching))}
                </p>
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
                            <th class="num" title="The broker's figure when it answers (it bills whole hours), else ours: price × time">"Cost"</th>
                            <th>"Run"</th>
                            <th>"Error"</th>
                            {(!read_only).then(|| view! { <th>"Actions"</th> })}
                        </tr>
                    </thead>
                    <tbody>
                        <For
                            each=move || {
                                let unconfirmed = unconfirmed_destroys(&store);
                                page.get()
                                    .rows
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
                {move || {
                    let (at, pages) = page.with(|p| (p.page, p.pages));
                    let f = filters();
                    (pages > 1 && !read_only).then(|| view! {
                        <nav class="pager small" aria-label="Pages of ended sessions" data-page=at data-pages=pages>
                            {(at > 1).then(|| view! { <a href=format!("/sessions?{}", f.query_at(at - 1)) rel="prev">"← Newer"</a> })}
                            <span>{format!(" page {at} of {pages} ")}</span>
                            {(at < pages).then(|| view! { <a href=format!("/sessions?{}", f.query_at(at + 1)) rel="next">"Older →"</a> })}
                        </nav>
                    })
                }}
            </section>
        </Show>
    }
}

/// The status and provider filters, as a plain GET form (`/sessions?status=...`).
#[component]
fn FilterForm(f: SessionFilters) -> impl IntoView {
    let status = f.status.map(StatusFilter::as_str).unwrap_or_default();
    let statuses = [
        ("", "any"),
        ("active", "active (costing money)"),
        ("ended", "ended"),
    ]
    .into_iter()
    .chain(SessionStatus::ALL.iter().map(|s| (s.as_str(), s.as_str())))
    .map(|(value, label)| view! { <option value=value selected=status == value>{label}</option> })
    .collect_view();
    let providers = super::provider_options(f.provider.as_ref(), &[]);
    view! {
        <form class="card filters" method="get" action="/sessions" data-session-filters="">
            <label>"Status" <select name="status">{statuses}</select></label>
            <label>"Provider" <select name="provider">{providers}</select></label>
            <div class="actions">
                <button type="submit">"Apply"</button>
                <a href="/sessions">"Clear"</a>
            </div>
        </form>
    }
}

/// Changes whenever anything shown in the row changes.
fn row_key(s: &SessionView) -> String {
    format!(
        "{}|{}|{:?}|{:?}|{}|{}|{:?}|{:?}|{:?}|{}",
        s.id,
        s.status,
        s.error,
        s.time_to_running_secs,
        s.price_per_hour,
        s.gpu_count,
        s.expires_at,
        s.run_id,
        s.cost,
        s.foreign
    )
}

/// Sessions a run asked the broker to destroy without the broker confirming it.
fn unconfirmed_destroys(store: &crate::live::LiveStore) -> std::collections::HashSet<SessionId> {
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
        <tr class=row_class data-session=s.id.to_string()>
            <td>
                <code title=s.id.to_string()>{format::short_id(&s.id).to_owned()}</code>
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
            <CostCell session=s.clone()/>
            <td>
                {s.run_id.clone().map(|run| view! {
                    <a href=format!("/runs/{run}") data-run-link=run.to_string()><code>{format::short_id(&run).to_owned()}</code></a>
                })}
                {s.foreign.then(|| view! {
                    <span
                        class="badge foreign"
                        data-foreign="true"
                        title=format!("Made by another dashboard on this broker ({}): never an orphan here, never cleaned up in bulk", s.consumer_id)
                    >
                        "another dashboard's"
                    </span>
                })}
            </td>
            <td class="error-text">{s.error.as_deref().map(gdl_model::shopper::explain_provider_error)}</td>
            {(!crate::components::read_only()).then(|| view! {
                <td class="actions">
                    <RowActions id=s.id.clone() status=s.status actions/>
                </td>
            })}
        </tr>
    }
    .into_any()
}

/// A session's cost to date, saying whose figure it is.
#[component]
fn CostCell(session: SessionView) -> impl IntoView {
    match session.cost_to_date(chrono::Utc::now()) {
        Some(cost) => {
            let (source, words, title) = match cost.source {
                CostSource::Broker => (
                    "broker",
                    "billed by the broker",
                    "The broker's figure (it bills whole hours)",
                ),
                CostSource::Ours => (
                    "ours",
                    "our estimate",
                    "Ours: price × time since creation (the broker did not give a figure)",
                ),
            };
            view! {
                <td class="num" data-cost-source=source title=title>
                    {format::small_usd(cost.usd)}
                    <span class="muted small cost-source">{format!(" ({words})")}</span>
                </td>
            }
            .into_any()
        }
        None => view! { <td class="num muted">"—"</td> }.into_any(),
    }
}

/// Clean up, Done and Extend for one session, each asking "are you sure?" first.
#[component]
fn RowActions(id: SessionId, status: SessionStatus, actions: Actions) -> impl IntoView {
    let Actions {
        act,
        confirming,
        hours: extend_by,
    } = actions;
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
                    SessionAction::Extend => format!("Extend {short} by"),
                };
                let hours_input = (action == SessionAction::Extend).then(|| {
                    extend_by.set(hours.unwrap_or(1));
                    view! {
                        <input type="number" class="hours" min="1" max="12" step="1" aria-label="hours"
                            prop:value=extend_by.get_untracked().to_string()
                            on:input=move |ev| {
                                if let Ok(h) = event_target_value(&ev).parse() {
                                    extend_by.set(h);
                                }
                            }/>
                        <span class="confirm">" h?"</span>
                    }
                });
                view! {
                    <span class="confirm">{question}</span>
                    {hours_input}
                    <button type="button" class="danger" data-action="confirm"
                        on:click=move |_| {
                            confirming.set(None);
                            let hours = (action == SessionAction::Extend).then(|| extend_by.get_untracked());
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
                        on:click=ask(SessionAction::Extend, Some(1))>"Extend…"</button>
                })}
            }
            .into_any(),
        }}
    }
}
