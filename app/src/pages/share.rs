//! The Share tab: build an iframe snippet for a panel (see [`snippet`]), create the
//! read-only embed token it needs, and revoke tokens.

pub(super) mod snippet;

use super::live_page::PageBanner;
use crate::components::{CopyButton, ErrorNote, Loaded};
use crate::format;
use crate::functions::{get_embed_setup, CreateEmbedToken, RevokeEmbedToken};
use gdl_model::embed::{EmbedSetup, EmbedTheme, EmbedToken};
use leptos::prelude::*;
use snippet::{Choice, Panel, Token};

/// The Share tab: build an iframe snippet for a panel, create the read-only embed token it
/// needs (shown once), see who may embed, and revoke tokens.
#[component]
pub fn SharePage() -> impl IntoView {
    let create = ServerAction::<CreateEmbedToken>::new();
    let revoke = ServerAction::<RevokeEmbedToken>::new();
    // Owned here: the tab is drawn again after each create or revoke, the choices stay.
    let form = Form::default();
    // Read again after each create or revoke.
    let data = Resource::new(
        move || (create.version().get(), revoke.version().get()),
        |_| get_embed_setup(),
    );
    view! {
        <div class="toolbar">
            <h1>"Share"</h1>
        </div>
        <PageBanner/>
        <Loaded reply=data fallback="Reading the embed tokens…" let:setup>
            <Share setup form create revoke/>
        </Loaded>
    }
}

/// The snippet builder's choices.
#[derive(Clone, Copy)]
struct Form {
    panel: RwSignal<Panel>,
    model: RwSignal<String>,
    run: RwSignal<String>,
    theme: RwSignal<EmbedTheme>,
    compact: RwSignal<bool>,
    label: RwSignal<String>,
}

impl Default for Form {
    fn default() -> Self {
        Self {
            panel: RwSignal::new(Panel::Sessions),
            model: RwSignal::new(String::new()),
            run: RwSignal::new(String::new()),
            theme: RwSignal::new(EmbedTheme::Auto),
            compact: RwSignal::new(false),
            label: RwSignal::new(String::new()),
        }
    }
}

impl Form {
    /// The choices now.
    fn choice(&self) -> Choice {
        Choice {
            panel: self.panel.get(),
            model: self.model.get(),
            run: self.run.get(),
            theme: self.theme.get(),
            compact: self.compact.get(),
        }
    }
}

#[component]
fn Share(
    setup: EmbedSetup,
    form: Form,
    create: ServerAction<CreateEmbedToken>,
    revoke: ServerAction<RevokeEmbedToken>,
) -> impl IntoView {
    let origins = if setup.allowed_origins.is_empty() {
        view! {
            <p>
                "Only this dashboard's own pages may frame a panel. Start it with "
                <code>"--allow-origin https://wiki.example.org"</code>
                " (repeat for more) to let another site embed them; browsers refuse every other page."
            </p>
        }
        .into_any()
    } else {
        let list = setup
            .allowed_origins
            .iter()
            .map(|o| view! { <li><code>{o.clone()}</code></li> })
            .collect_view();
        view! {
            <p>"Pages on these origins may frame the panels (browsers refuse every other):"</p>
            <ul class="origins">{list}</ul>
        }
        .into_any()
    };
    view! {
        <section class="card">
            <h2>"Embed a panel"</h2>
            {origins}
            <Builder token_required=setup.token_required form create/>
        </section>
        <Tokens tokens=setup.tokens revoke/>
    }
}

/// The snippet builder: panel, its parameters, theme and compact mode, and the token.
#[component]
fn Builder(
    token_required: bool,
    form: Form,
    create: ServerAction<CreateEmbedToken>,
) -> impl IntoView {
    let Form {
        panel,
        model,
        run,
        theme,
        compact,
        label,
    } = form;
    // Where this page is served from; known in the browser only.
    let origin = RwSignal::new(String::new());
    Effect::new(move |_| {
        if let Ok(o) = window().location().origin() {
            origin.set(o);
        }
    });
    let secret = move || match create.value().get() {
        Some(Ok(Ok(created))) => Some(created.secret),
        _ => None,
    };
    let url = move || {
        let secret = secret();
        let token = match (&secret, token_required) {
            (Some(s), _) => Token::Secret(s),
            (None, true) => Token::Needed,
            (None, false) => Token::None,
        };
        form.choice().url(&origin.get(), token)
    };
    let snippet = move || snippet::snippet(&url(), &origin.get());
    let missing = move || {
        form.choice()
            .missing()
            .map(|m| view! { <p class="muted small" data-snippet-missing="">{m}</p> })
    };
    let outcome = move || {
        match create.value().get() {
        Some(Ok(Ok(created))) => Some(
            view! {
                <p class="note" data-created=created.token.id.clone()>
                    {format!("Token “{}” created. Its secret is in the snippet below and is shown only now: copy it.", created.token.label)}
                </p>
            }
            .into_any(),
        ),
        Some(Ok(Err(refused))) => Some(view! { <ErrorNote error=refused/> }.into_any()),
        Some(Err(e)) => Some(view! { <ErrorNote error=e.0/> }.into_any()),
        None => None,
    }
    };
    let options = Panel::ALL
        .into_iter()
        .map(|p| view! { <option value=p.key() selected=move || panel.get() == p>{p.name()}</option> })
        .collect_view();
    view! {
        <form class="filters share" on:submit=|ev| ev.prevent_default()>
            <label>"Panel"
                <select name="panel" on:change=move |ev| panel.set(Panel::parse(&event_target_value(&ev)))>{options}</select>
            </label>
            <label class:hidden=move || panel.get() != Panel::Benchmarks>"Model"
                <input name="model" placeholder="Qwen/Qwen2.5-0.5B-Instruct" prop:value=model on:input=move |ev| model.set(event_target_value(&ev))/>
            </label>
            <label class:hidden=move || panel.get() != Panel::Run>"Run id"
                <input name="run" placeholder="run-…" prop:value=run on:input=move |ev| run.set(event_target_value(&ev))/>
            </label>
            <label>"Theme"
                <select name="theme" on:change=move |ev| theme.set(EmbedTheme::parse(Some(&event_target_value(&ev))))>
                    {[EmbedTheme::Auto, EmbedTheme::Light, EmbedTheme::Dark].map(|t| view! { <option value=t.as_str() selected=move || theme.get() == t>{t.as_str()}</option> })}
                </select>
            </label>
            <label class="check">
                <input type="checkbox" name="compact" prop:checked=compact on:change=move |ev| compact.set(event_target_checked(&ev))/>
                "compact"
            </label>
        </form>
        <form class="filters share-token" on:submit=move |ev| {
            ev.prevent_default();
            create.dispatch(CreateEmbedToken { label: label.get_untracked() });
        }>
            <label>"Token label"
                <input name="label" placeholder="lobby wall" maxlength="80" prop:value=label on:input=move |ev| label.set(event_target_value(&ev))/>
            </label>
            <div class="actions">
                <button type="submit" data-action="create-token" disabled=move || create.pending().get()>
                    "Create a read-only token"
                </button>
            </div>
        </form>
        {(!token_required).then(|| view! {
            <p class="muted small">"No access token is set, so panels need no token; one still makes the URL read-only."</p>
        })}
        {outcome}
        {missing}
        <textarea class="snippet" readonly rows="11" aria-label="iframe snippet" data-snippet="" prop:value=snippet></textarea>
        <p class="small share-actions">
            <CopyButton text=Signal::derive(snippet)/>
            " "
            "Preview: "
            <a href=url target="_blank" rel="noopener" data-preview="">"open the panel"</a>
        </p>
    }
}

/// Every token with its state, and Revoke (after a confirmation).
#[component]
fn Tokens(tokens: Vec<EmbedToken>, revoke: ServerAction<RevokeEmbedToken>) -> impl IntoView {
    let confirming = RwSignal::new(None::<String>);
    if tokens.is_empty() {
        return view! {
            <section class="card">
                <h2>"Embed tokens"</h2>
                <p class="empty">"No embed token yet."</p>
            </section>
        }
        .into_any();
    }
    let rows = tokens
        .into_iter()
        .map(|t| {
            let id = t.id.clone();
            let state = match t.revoked_at {
                Some(at) => format!("revoked {}", format::timestamp(&at)),
                None => "active".into(),
            };
            let active = t.revoked_at.is_none();
            let mine = {
                let id = id.clone();
                move || confirming.get().as_deref() == Some(id.as_str())
            };
            let (key, shown) = (id.clone(), id.clone());
            view! {
                <tr data-token=key data-state=if active { "active" } else { "revoked" }>
                    <td><code>{shown}</code></td>
                    <td>{t.label}</td>
                    <td>{format::timestamp(&t.created_at)}</td>
                    <td>{state}</td>
                    <td class="actions">
                        {active.then(move || view! {
                            <Show
                                when=mine.clone()
                                fallback={
                                    let id = id.clone();
                                    move || {
                                        let id = id.clone();
                                        view! {
                                            <button type="button" class="danger" data-action="revoke"
                                                on:click=move |_| confirming.set(Some(id.clone()))>"Revoke"</button>
                                        }
                                    }
                                }
                            >
                                <span class="confirm">"Revoke? Its panels go offline. "</span>
                                <button type="button" class="danger" data-action="confirm"
                                    on:click={
                                        let id = id.clone();
                                        move |_| {
                                            confirming.set(None);
                                            revoke.dispatch(RevokeEmbedToken { id: id.clone() });
                                        }
                                    }>"Yes"</button>
                                <button type="button" class="secondary" on:click=move |_| confirming.set(None)>"No"</button>
                            </Show>
                        })}
                    </td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <section class="card table-wrap">
            <h2>"Embed tokens"</h2>
            <p class="muted small">"Each reads panels, the live channel and GET routes; none can start, cancel, clean up or extend."</p>
            <table class="tokens">
                <thead>
                    <tr><th>"Id"</th><th>"Label"</th><th>"Created"</th><th>"State"</th><th></th></tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </section>
    }
    .into_any()
}
