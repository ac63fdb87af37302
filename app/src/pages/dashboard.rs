use crate::components::{BrokerCard, ErrorNote, ProvidersCard};
use crate::functions::get_status;
use leptos::prelude::*;

/// The dashboard: broker status and offers per provider.
#[component]
pub fn DashboardPage() -> impl IntoView {
    // Bumped by the Refresh button; 0 is the server-rendered first load.
    let refreshes = RwSignal::new(0u32);
    let status = Resource::new(move || refreshes.get(), |n| get_status(n > 0));
    view! {
        <div class="toolbar">
            <h1>"Dashboard"</h1>
            <button
                class="secondary"
                on:click=move |_| refreshes.update(|n| *n += 1)
                title="Ask the broker again now"
            >
                "Refresh"
            </button>
        </div>
        <Transition fallback=|| {
            view! { <p class="muted">"Checking the broker…"</p> }
        }>
            {move || Suspend::new(async move {
                match status.await {
                    Ok(view) => {
                        view! {
                            <div class="grid">
                                <BrokerCard broker=view.broker.clone()/>
                                <ProvidersCard status=view/>
                            </div>
                        }
                            .into_any()
                    }
                    Err(e) => view! { <ErrorNote error=e.0/> }.into_any(),
                }
            })}
        </Transition>
    }
}
