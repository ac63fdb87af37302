use crate::components::{Loaded, OrphanBanner};
use crate::live::use_live;
use crate::FirstPaint;
use leptos::prelude::*;

/// Renders `content` once the first paint's state is in the live store: on the server
/// (and while hydrating) from the server function; afterwards the store stays live.
#[component]
pub fn LiveContent<V: IntoView + 'static>(
    /// What to show while the first state loads.
    #[prop(into)]
    loading: String,
    content: fn() -> V,
    /// Leaves out the orphan banner (the embedded panels place it themselves).
    #[prop(optional)]
    bare: bool,
) -> impl IntoView {
    let store = use_live();
    let FirstPaint(first) = expect_context::<FirstPaint>();
    view! {
        <Loaded reply=first fallback=loading let:state>
            {store.seed(state)}
            {(!bare).then(|| view! { <OrphanBanner/> })}
            {content()}
        </Loaded>
    }
}

/// The orphan banner of a page whose content does not come from the live state: like a
/// live page, it waits for the first paint's state (so the server renders the banner),
/// seeds the live store with it, and stays live after. Every page shows the banner.
#[component]
pub fn PageBanner() -> impl IntoView {
    view! { <LiveContent loading="" content=|| ()/> }
}

/// The toolbar of a live page: its title and the Refresh control (a resync).
#[component]
pub fn LiveToolbar(#[prop(into)] title: String) -> impl IntoView {
    let store = use_live();
    view! {
        <div class="toolbar">
            <h1>{title}</h1>
            <button
                class="secondary"
                on:click=move |_| store.resync()
                title="Ask the server for a fresh copy of everything"
            >
                "Refresh"
            </button>
        </div>
    }
}

/// `stored` (a list read from the server) with the live state's copies laid over it and the
/// live ones not stored yet added, newest first (then by id); `key` gives an entry's creation
/// time and id. The Deployments and Campaigns tabs list this way.
pub fn laid_over<K: Ord + Clone, V: Clone>(
    stored: &[V],
    live: &std::collections::BTreeMap<K, V>,
    key: impl Fn(&V) -> (chrono::DateTime<chrono::Utc>, K),
) -> Vec<V> {
    let mut all: Vec<V> = stored
        .iter()
        .map(|v| live.get(&key(v).1).unwrap_or(v).clone())
        .collect();
    let ids: Vec<K> = stored.iter().map(|v| key(v).1).collect();
    all.extend(
        live.iter()
            .filter(|(k, _)| !ids.contains(k))
            .map(|(_, v)| v.clone()),
    );
    all.sort_by(|a, b| {
        let ((ta, ia), (tb, ib)) = (key(a), key(b));
        tb.cmp(&ta).then_with(|| ia.cmp(&ib))
    });
    all
}

/// What changes when an entry of `map` appears or ends (`ended`): the key a stored list is
/// read again on.
pub fn appeared_or_ended<K: std::fmt::Display, V>(
    map: &std::collections::BTreeMap<K, V>,
    ended: impl Fn(&V) -> bool,
) -> String {
    map.iter()
        .map(|(k, v)| format!("{k}:{}", ended(v)))
        .collect::<Vec<_>>()
        .join(",")
}
