use super::live_page::{LiveContent, LiveToolbar};
use crate::components::{ErrorNote, LogPanel, RunCard};
use crate::functions::get_run;
use crate::live::use_live;
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
    let id = move || params.with(|p| p.get("id").unwrap_or_default());
    let store = use_live();
    let stored = Resource::new(id, get_run);
    (move || match store.client.with(|c| c.live.runs.get(&id()).cloned()) {
        Some(run) => view! {
            <RunCard run/>
            {with_log.then(|| view! { <LogPanel run=id()/> })}
        }
        .into_any(),
        None => view! {
            <Transition fallback=|| view! { <p class="muted">"Reading the run…"</p> }>
                {move || Suspend::new(async move {
                    match stored.await {
                        Ok(Ok(run)) => view! { <RunCard run/> }.into_any(),
                        Ok(Err(e)) | Err(crate::error::AppError(e)) => view! { <ErrorNote error=e/> }.into_any(),
                    }
                })}
            </Transition>
        }
        .into_any(),
    })
    .into_any()
}
