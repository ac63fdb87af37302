use super::EmbedHelpPage;
use leptos::prelude::*;

/// Unknown paths: says so (with a 404 status on the server) and links home; under
/// `/embed/` (a panel's frame), lists the panels instead.
#[component]
pub fn NotFoundPage() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(http::StatusCode::NOT_FOUND);
    }
    let panel = leptos_router::hooks::use_location()
        .pathname
        .with_untracked(|p| p.starts_with("/embed/"));
    if panel {
        return view! { <EmbedHelpPage/> }.into_any();
    }
    view! {
        <section class="card">
            <h1>"Page not found"</h1>
            <p>
                "There is nothing at this address. " <a href="/">"Back to the dashboard"</a>
            </p>
        </section>
    }
    .into_any()
}
