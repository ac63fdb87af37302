use crate::components::ErrorNote;
use crate::functions::{outcome, Reply};
use leptos::prelude::*;
use serde::de::DeserializeOwned;
use serde::Serialize;

/// What a server function's reply shows on a page: `fallback` while it loads (the server
/// renders the page once it is in, so this shows only on a later load in the browser),
/// then `children` with the answer, or the refusal or failure as an [`ErrorNote`]. Every
/// page that loads something reads it through this one component.
#[component]
pub fn Loaded<T, V>(
    /// The server function's reply, as a resource.
    reply: Resource<Reply<T>>,
    /// What to say while it loads ("Reading the run…").
    #[prop(into)]
    fallback: String,
    /// The page's view of the answer.
    children: impl Fn(T) -> V + Send + Sync + Clone + 'static,
) -> impl IntoView
where
    T: Clone + Send + Sync + Serialize + DeserializeOwned + 'static,
    V: IntoView + 'static,
{
    view! {
        <Transition fallback=move || view! { <p class="muted">{fallback.clone()}</p> }>
            {move || {
                let children = children.clone();
                Suspend::new(async move {
                    match outcome(reply.await) {
                        Ok(value) => children(value).into_any(),
                        Err(error) => view! { <ErrorNote error/> }.into_any(),
                    }
                })
            }}
        </Transition>
    }
}
