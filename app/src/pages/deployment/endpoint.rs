//! The endpoint card: the gateway's absolute URL, and examples for curl and the OpenAI
//! Python client, each with a Copy button. A key made just now is shown once, here.

use super::examples::{self, Key};
use crate::components::CopyButton;
use crate::functions::FreshKey;
use gdl_model::deployments::Deployment;
use leptos::prelude::*;

/// Where this page is served from (`http://127.0.0.1:8081`): the request's host on the
/// server, the location in the browser, so both draw the same URL.
fn origin() -> String {
    #[cfg(feature = "ssr")]
    {
        let parts = use_context::<http::request::Parts>();
        let header = |name: &str| {
            parts
                .as_ref()
                .and_then(|p| p.headers.get(name))
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let scheme = header("x-forwarded-proto").unwrap_or_else(|| "http".into());
        header("host")
            .map(|host| format!("{scheme}://{host}"))
            .unwrap_or_default()
    }
    #[cfg(all(feature = "hydrate", not(feature = "ssr")))]
    {
        window().location().origin().unwrap_or_default()
    }
    #[cfg(not(any(feature = "ssr", feature = "hydrate")))]
    {
        String::new()
    }
}

/// The endpoint and its examples; `made` is a key made for this person just now (after
/// Deploy, or with New key): its secret is shown once, and goes into the examples.
#[component]
pub fn Endpoint(d: Memo<Deployment>, made: RwSignal<Option<FreshKey>>) -> impl IntoView {
    let base = format!("{}{}", origin(), d.with_untracked(|d| d.base_path()));
    let model = Memo::new(move |_| d.with(|d| d.served_model.clone().unwrap_or(d.model.clone())));
    let secret = move || made.with(|f| f.as_ref().map(|f| f.secret.clone()));
    let snippet = {
        let base = base.clone();
        move |write: fn(&str, &str, Key<'_>) -> String| {
            let base = base.clone();
            Signal::derive(move || {
                let secret = secret();
                let key = secret.as_deref().map_or(Key::Placeholder, Key::Secret);
                write(&base, &model.get(), key)
            })
        }
    };
    let curl = snippet(examples::curl);
    let python = snippet(examples::python);
    let endpoint = Signal::derive({
        let base = base.clone();
        move || base.clone()
    });
    view! {
        {move || secret().map(|s| {
            let shown = Signal::derive({
                let s = s.clone();
                move || s.clone()
            });
            view! {
                <section class="card fresh-key" role="status">
                    <h2>"Your new key"</h2>
                    <p class="key-line">
                        <code data-testid="fresh-key">{s}</code>
                        <CopyButton text=shown testid="copy-key"/>
                    </p>
                    <p class="warn"><strong>"Copy it now; it is not shown again."</strong>
                        " Only its hash is kept: lost, it cannot be read back (make a new key below)."</p>
                </section>
            }
        })}
        <section class="card endpoint">
            <h2>"Endpoint"</h2>
            <p class="muted small">"OpenAI-compatible: chat completions, completions and models, streamed or not. Send a key of this deployment as the bearer token."</p>
            <p class="key-line">
                <code data-testid="endpoint">{base}</code>
                <CopyButton text=endpoint testid="copy-endpoint"/>
            </p>
            {move || secret().is_none().then(|| view! {
                <p class="muted small">"The examples read the key from " <code>"$GDL_KEY"</code>
                    ": " <code>"export GDL_KEY=gdk-…"</code> " with a key of this deployment."</p>
            })}
            <h3>"curl"</h3>
            <textarea class="snippet" readonly rows="5" spellcheck="false" aria-label="curl example"
                data-example="curl" prop:value=curl>{curl.get_untracked()}</textarea>
            <p class="small"><CopyButton text=curl testid="copy-curl" area="textarea[data-example=curl]"/></p>
            <h3>"Python (" <code>"pip install openai"</code> ")"</h3>
            <textarea class="snippet" readonly rows="13" spellcheck="false" aria-label="Python example"
                data-example="python" prop:value=python>{python.get_untracked()}</textarea>
            <p class="small"><CopyButton text=python testid="copy-python" area="textarea[data-example=python]"/></p>
        </section>
    }
}
