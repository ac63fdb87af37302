//! The embeddable panels (`/embed/...`): one card each, no header or tabs, read-only, their
//! own live connection, `?theme=light|dark|auto` and `?compact=1`. Each posts its height to
//! the page that embeds it (`{"type":"gdl-embed-height","panel":...,"height":...}`) so that
//! page can size the iframe. With an access token set, the panel's URL carries a read-only
//! embed token (`?token=gdle_...`), which the live connection passes on.

use super::compare::Frontier;
use super::live_page::LiveContent;
use super::run::run_content;
use crate::components::{
    BrokerCard, LiveStatus, Loaded, OrphanBanner, ProvidersCard, ReadOnly, SessionTable,
};
use crate::format;
use crate::functions::get_comparison;
use crate::live::use_live;
use gdl_model::compare::{CompareQuery, Comparison};
use gdl_model::embed::EmbedTheme;
use leptos::prelude::*;
use leptos_router::hooks::{use_location, use_params_map, use_query_map};

/// The panel's settings from its URL.
#[derive(Clone, Copy, Debug)]
pub struct EmbedSettings {
    /// Smaller type and spacing, fewer details (`?compact=1`).
    pub compact: bool,
}

/// Whether this panel asked to be compact.
fn compact() -> bool {
    use_context::<EmbedSettings>().is_some_and(|s| s.compact)
}

/// The frame of every panel: theme, compact mode, the read-only context, the connection
/// indicator and a link to the full page; posts its height to the parent page.
#[component]
pub(super) fn EmbedFrame(
    /// The full dashboard's page for the same thing.
    #[prop(into)]
    full: String,
    children: Children,
) -> impl IntoView {
    let query = use_query_map();
    let (theme, compact) = query.with_untracked(|q| {
        (
            EmbedTheme::parse(q.get("theme").as_deref()),
            matches!(q.get("compact").as_deref(), Some("1" | "true" | "yes")),
        )
    });
    provide_context(ReadOnly);
    provide_context(EmbedSettings { compact });
    let panel = use_location().pathname.get_untracked();
    let frame = NodeRef::<leptos::html::Div>::new();
    post_height(frame, panel.clone());
    view! {
        <div
            class="embed"
            node_ref=frame
            data-theme=theme.as_str()
            data-compact=compact.then_some("true")
            data-panel=panel
        >
            {children()}
            <footer class="embed-foot small muted">
                <LiveStatus/>
                <a href=full target="_blank" rel="noopener">
                    "GPU Deploy LLM ↗"
                </a>
            </footer>
        </div>
    }
}

/// Browser only: tells the parent page the panel's height whenever it changes.
#[allow(unused_variables)]
fn post_height(frame: NodeRef<leptos::html::Div>, panel: String) {
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        use wasm_bindgen::{closure::Closure, JsCast};
        let Some(el) = frame.get() else {
            return;
        };
        let panel = panel.clone();
        let last = std::cell::Cell::new(0u32);
        let send = move || {
            let Some(window) = web_sys::window() else {
                return;
            };
            let height = el_height();
            if height == last.get() {
                return;
            }
            last.set(height);
            let message = gdl_model::embed::EmbedHeight {
                kind: gdl_model::embed::EMBED_HEIGHT_MESSAGE.to_owned(),
                panel: panel.clone(),
                height,
            };
            let (Ok(Some(parent)), Ok(text)) = (window.parent(), serde_json::to_string(&message))
            else {
                return;
            };
            if let Ok(value) = js_sys::JSON::parse(&text) {
                // Only a height leaves the panel, so any embedding page may read it.
                let _ = parent.post_message(&value, "*");
            }
        };
        send();
        let callback = Closure::<dyn FnMut()>::new(send);
        if let Ok(observer) = web_sys::ResizeObserver::new(callback.as_ref().unchecked_ref()) {
            observer.observe(&el);
        }
        // The observer lives as long as the page.
        callback.forget();
    });
}

/// The document's full height in CSS pixels.
#[cfg(feature = "hydrate")]
fn el_height() -> u32 {
    web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.document_element())
        .map(|e| e.scroll_height().max(0) as u32)
        .unwrap_or_default()
}

/// `/embed/status`: the broker's status and the offers per provider.
#[component]
pub fn EmbedStatusPage() -> impl IntoView {
    view! {
        <EmbedFrame full="/">
            <LiveContent loading="Checking the broker…" content=status bare=true/>
        </EmbedFrame>
    }
}

fn status() -> AnyView {
    let store = use_live();
    (move || match store.status() {
        Some(status) if compact() => {
            view! { <BrokerCard broker=status.broker.clone()/> }.into_any()
        }
        Some(status) => view! {
            <div class="grid">
                <BrokerCard broker=status.broker.clone()/>
                <ProvidersCard status=status/>
            </div>
        }
        .into_any(),
        None => view! { <p class="muted">"The broker has not been checked yet."</p> }.into_any(),
    })
    .into_any()
}

/// `/embed/sessions`: our sessions, live, without actions.
#[component]
pub fn EmbedSessionsPage() -> impl IntoView {
    view! {
        <EmbedFrame full="/sessions">
            <LiveContent loading="Loading sessions…" content=|| view! { <SessionTable/> } bare=true/>
        </EmbedFrame>
    }
}

/// `/embed/orphans`: sessions that cost money with no test using them.
#[component]
pub fn EmbedOrphansPage() -> impl IntoView {
    view! {
        <EmbedFrame full="/sessions?status=running">
            <LiveContent loading="Loading sessions…" content=orphans bare=true/>
        </EmbedFrame>
    }
}

fn orphans() -> AnyView {
    let store = use_live();
    let list = move || {
        store
            .client
            .with(|c| c.live.orphans().into_iter().cloned().collect::<Vec<_>>())
    };
    view! {
        <OrphanBanner/>
        <Show
            when=move || !list().is_empty()
            fallback=|| view! {
                <section class="card" data-orphans="0">
                    <p class="empty">"No orphaned sessions: nothing is billing without a test."</p>
                </section>
            }
        >
            <section class="card table-wrap">
                <table class="sessions orphan-list">
                    <thead>
                        <tr><th>"Session"</th><th>"GPU"</th><th class="num">"Price"</th><th>"Created"</th></tr>
                    </thead>
                    <tbody>
                        <For each=list key=|s| (s.id.clone(), s.status) let:s>
                            <tr data-session=s.id.to_string()>
                                <td><code title=s.id.to_string()>{format::short_id(&s.id).to_owned()}</code></td>
                                <td>{format::gpu(&s.gpu_type, s.gpu_count)}</td>
                                <td class="num">{format::per_hour(s.price_per_hour)}</td>
                                <td>{format::timestamp(&s.created_at)}</td>
                            </tr>
                        </For>
                    </tbody>
                </table>
            </section>
        </Show>
    }
    .into_any()
}

/// `/embed/run/{id}`: one run's steps and its live log.
#[component]
pub fn EmbedRunPage() -> impl IntoView {
    let params = use_params_map();
    let id = params.with_untracked(|p| p.get("id").unwrap_or_default());
    view! {
        <EmbedFrame full=format!("/runs/{id}")>
            <LiveContent loading="Loading the run…" content=|| run_content(!compact()) bare=true/>
        </EmbedFrame>
    }
}

/// `/embed/benchmarks?model=...`: the comparison of one model across GPUs and providers.
/// It reloads when a run passes, so a new benchmark shows up.
#[component]
pub fn EmbedBenchmarksPage() -> impl IntoView {
    let query = use_query_map();
    let model = query.with_untracked(|q| q.get("model").unwrap_or_default());
    let full = format!("/compare?model={}", format::query_value(&model));
    view! {
        <EmbedFrame full>
            <LiveContent loading="Reading the benchmarks…" content=benchmarks bare=true/>
        </EmbedFrame>
    }
}

fn benchmarks() -> AnyView {
    // The same query as the Compare page's, the group filters included.
    let wanted = crate::url::query::<CompareQuery>()
        .get_untracked()
        .unwrap_or_default();
    let data = Resource::new(move || wanted.clone(), get_comparison);
    reload_on_new_benchmark();
    view! {
        <Loaded reply=data fallback="Reading the benchmarks…" let:answer>
            {let comparison: Comparison = answer.1;
                if comparison.model.is_empty() {
                    view! {
                        <section class="card">
                            <p class="empty">"Name a model: /embed/benchmarks?model=Qwen/Qwen2.5-0.5B-Instruct"</p>
                        </section>
                    }
                    .into_any()
                } else {
                    view! { <Frontier c=comparison/> }.into_any()
                }
            }
        </Loaded>
    }
    .into_any()
}

/// Browser only: reloads the panel when the live state (seeded with the server's) gains a
/// benchmark, so the comparison includes it.
fn reload_on_new_benchmark() {
    let store = use_live();
    let count = move || store.client.with(|c| c.live.benchmarks.len());
    Effect::new(move |seen: Option<usize>| {
        let now = count();
        if seen.is_some_and(|before| now > before) {
            #[cfg(feature = "hydrate")]
            if let Some(window) = web_sys::window() {
                let _ = window.location().reload();
            }
        }
        now
    });
}
