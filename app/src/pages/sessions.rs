use crate::components::{ErrorNote, SessionTable};
use crate::functions::list_sessions;
use leptos::prelude::*;

/// Our sessions on the broker, from every version of this product.
#[component]
pub fn SessionsPage() -> impl IntoView {
    let refreshes = RwSignal::new(0u32);
    let sessions = Resource::new(move || refreshes.get(), |n| list_sessions(n > 0));
    view! {
        <div class="toolbar">
            <h1>"Sessions"</h1>
            <button class="secondary" on:click=move |_| refreshes.update(|n| *n += 1)>
                "Refresh"
            </button>
        </div>
        <Transition fallback=|| view! { <p class="muted">"Loading sessions…"</p> }>
            {move || Suspend::new(async move {
                match sessions.await {
                    Ok(view) => {
                        let error = view.error.clone();
                        view! {
                            {error.map(|e| view! { <ErrorNote error=e/> })}
                            <SessionTable sessions=view.sessions/>
                        }
                            .into_any()
                    }
                    Err(e) => view! { <ErrorNote error=e.0/> }.into_any(),
                }
            })}
        </Transition>
    }
}
