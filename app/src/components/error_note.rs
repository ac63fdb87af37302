use gdl_model::error::ApiError;
use leptos::prelude::*;

/// An error as people should see it: message, what to do, and the code for reports.
#[component]
pub fn ErrorNote(error: ApiError) -> impl IntoView {
    view! {
        <div class="note error" role="alert">
            <p class="message">{error.message}</p>
            {error.hint.map(|h| view! { <p class="hint">{h}</p> })}
            <p class="code">
                "code " <code>{error.code}</code>
                {error.request_id.map(|r| view! { " · request " <code>{r}</code> })}
            </p>
        </div>
    }
}
