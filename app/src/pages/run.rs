use super::live_page::{LiveContent, LiveToolbar};
use crate::components::{Loaded, LogPanel, RunCard};
use crate::functions::get_run;
use crate::live::use_live;
use gdl_model::ids::RunId;
use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

/// One run (`/runs/{id}`): live while the live state holds it, else as stored.
#[component]
pub fn RunPage() -> impl IntoView {
    view! {
        <LiveToolbar title="Run"/>
        <LiveContent loading="Loading the run…" content=|| run_content(false)/>
    }
}

/// The run named in the URL: live (with its log when `with_log`) while the live state
/// holds it, else as stored.
pub(super) fn run_content(with_log: bool) -> AnyView {
    let params = use_params_map();
    let id = move || RunId::from(params.with(|p| p.get("id").unwrap_or_default()));
    let store = use_live();
    let stored = Resource::new(id, get_run);
    (move || match store.client.with(|c| c.live.runs.get(&id()).cloned()) {
        Some(run) => view! {
            <RunCard run/>
            {with_log.then(|| view! { <LogPanel run=id()/> })}
        }
        .into_any(),
        None => view! {
            <Loaded reply=stored fallback="Reading the run…" let:run>
                <RunCard run/>
            </Loaded>
        }
        .into_any(),
    })
    .into_any()
}
