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
