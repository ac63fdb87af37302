use crate::components::Loaded;
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
) -> impl IntoView {
    let store = use_live();
    let FirstPaint(first) = expect_context::<FirstPaint>();
    view! {
        <Loaded reply=first fallback=loading let:state>
            {store.seed(state)}
            {content()}
        </Loaded>
    }
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
