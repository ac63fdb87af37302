//! The HTML document and the routed app.

use crate::components::{LiveStatus, ThemeToggle};
use crate::functions::get_live_state;
use crate::live::provide_live;
use crate::pages::{
    BenchmarkPage, BenchmarksPage, CampaignPage, CampaignsPage, ComparePage, CostsPage,
    DashboardPage, DeploymentPage, DeploymentsPage, EmbedBenchmarksPage, EmbedHelpPage,
    EmbedOrphansPage, EmbedRunPage, EmbedSessionsPage, EmbedStatusPage, HealthPage, InventoryPage,
    NotFoundPage, RunPage, RunsPage, SessionsPage, SharePage,
};
use leptos::prelude::*;
use leptos_meta::{provide_meta_context, Meta, MetaTags, Stylesheet, Title};
use leptos_router::components::{Route, Router, Routes, A};
use leptos_router::{path, SsrMode};

/// The whole HTML document, rendered on the server.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en" data-theme=drawn_theme()>
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="color-scheme" content="light dark"/>
                <link rel="icon" href="data:,"/>
                <meta name="gdl-login" content=if login_required() { "required" } else { "none" }/>
                <AutoReload options=options.clone()/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// The app: header with the three tabs, and one page per route.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    #[cfg(feature = "ssr")]
    set_page_csp();
    provide_live();
    // The first paint's data, rendered on the server; the live channel takes over after.
    provide_context(FirstPaint(Resource::new(|| (), |_| get_live_state())));
    // Browser-only: marks the page as hydrated (effects never run on the server), so
    // tests and people can tell the interactive page from the server-rendered one.
    Effect::new(move |_| {
        if let Some(body) = document().body() {
            let _ = body.set_attribute("data-hydrated", "true");
        }
    });
    view! {
        <Stylesheet id="leptos" href="/pkg/gpu-deploy-llm.css"/>
        <Title text="GPU Deploy LLM"/>
        <Meta name="description" content="Deploy and benchmark LLMs on cheap cloud GPUs"/>
        <Router>
            <Chrome/>
        </Router>
    }
}

/// Inside the router: the header and the page, or (for `/embed/...`) the panel alone.
#[component]
fn Chrome() -> impl IntoView {
    let location = leptos_router::hooks::use_location();
    // A Memo: the header is redrawn only when a navigation crosses into or out of a panel.
    let embedded = Memo::new(move |_| location.pathname.with(|p| p.starts_with("/embed/")));
    view! {
            <Show when=move || !embedded.get()>
            <header class="top">
                <a class="brand" href="/">
                    "GPU Deploy LLM"
                </a>
                <nav class="tabs" aria-label="Sections">
                    <A href="/" exact=true>
                        "Dashboard"
                    </A>
                    <A href="/inventory">"Inventory"</A>
                    <A href="/sessions">"Sessions"</A>
                    <A href="/runs">"Runs"</A>
                    <A href="/deployments">"Deployments"</A>
                    <A href="/campaigns">"Campaigns"</A>
                    <A href="/benchmarks">"Benchmarks"</A>
                    <A href="/costs">"Costs"</A>
                    <A href="/health">"Health"</A>
                    <A href="/share">"Share"</A>
                </nav>
                <LiveStatus/>
                <ThemeToggle/>
                <Logout/>
            </header>
            </Show>
            <main class=move || if embedded.get() { "embedded" } else { "page" }>
                <Routes fallback=NotFoundPage>
                    <Route path=path!("/") view=DashboardPage ssr=SsrMode::Async/>
                    <Route path=path!("/inventory") view=InventoryPage ssr=SsrMode::Async/>
                    <Route path=path!("/sessions") view=SessionsPage ssr=SsrMode::Async/>
                    <Route path=path!("/benchmarks") view=BenchmarksPage ssr=SsrMode::Async/>
                    <Route path=path!("/costs") view=CostsPage ssr=SsrMode::Async/>
                    <Route path=path!("/health") view=HealthPage ssr=SsrMode::Async/>
                    <Route path=path!("/share") view=SharePage ssr=SsrMode::Async/>
                    <Route path=path!("/compare") view=ComparePage ssr=SsrMode::Async/>
                    <Route path=path!("/benchmarks/:id") view=BenchmarkPage ssr=SsrMode::Async/>
                    <Route path=path!("/runs") view=RunsPage ssr=SsrMode::Async/>
                    <Route path=path!("/runs/:id") view=RunPage ssr=SsrMode::Async/>
                    <Route path=path!("/deployments") view=DeploymentsPage ssr=SsrMode::Async/>
                    <Route path=path!("/deployments/:id") view=DeploymentPage ssr=SsrMode::Async/>
                    <Route path=path!("/campaigns") view=CampaignsPage ssr=SsrMode::Async/>
                    <Route path=path!("/campaigns/:id") view=CampaignPage ssr=SsrMode::Async/>
                    <Route path=path!("/embed/status") view=EmbedStatusPage ssr=SsrMode::Async/>
                    <Route path=path!("/embed/sessions") view=EmbedSessionsPage ssr=SsrMode::Async/>
                    <Route path=path!("/embed/orphans") view=EmbedOrphansPage ssr=SsrMode::Async/>
                    <Route path=path!("/embed/run/:id") view=EmbedRunPage ssr=SsrMode::Async/>
                    <Route path=path!("/embed/run") view=EmbedHelpPage ssr=SsrMode::Async/>
                    <Route path=path!("/embed/benchmarks") view=EmbedBenchmarksPage ssr=SsrMode::Async/>
                </Routes>
            </main>
            <Show when=move || !embedded.get()>
                <footer class="site">
                    // `rel="external"`: served by the server, not a route of this app.
                    <a href="/api/docs" rel="external" data-testid="api-docs-link">
                        "REST API reference"
                    </a>
                </footer>
            </Show>
    }
}

/// `<html data-theme>` for this request: the theme cookie's choice, so it applies before
/// the first paint; none (the system's colours) for a panel, which has its own `?theme=`.
fn drawn_theme() -> Option<&'static str> {
    #[cfg(feature = "ssr")]
    {
        let panel = use_context::<http::request::Parts>()
            .is_some_and(|parts| parts.uri.path().starts_with("/embed/"));
        if panel {
            None
        } else {
            crate::components::request_theme().attribute()
        }
    }
    #[cfg(not(feature = "ssr"))]
    {
        None
    }
}

/// "Log out" in the header when the dashboard asks for a login: a plain form, so it works
/// before (or without) hydration.
#[component]
fn Logout() -> impl IntoView {
    login_required().then(|| {
        view! {
            <form class="logout" method="post" action="/logout">
                <button type="submit">"Log out"</button>
            </form>
        }
    })
}

/// Whether this dashboard asks for a login. The server knows it (its backend); the page
/// carries it in `<meta name="gdl-login">` for the browser, so both draw the same header
/// without asking the server again on every page.
fn login_required() -> bool {
    #[cfg(feature = "ssr")]
    {
        use_context::<crate::backend::SharedBackend>().is_some_and(|b| b.login_required())
    }
    #[cfg(not(feature = "ssr"))]
    {
        document()
            .query_selector("meta[name=gdl-login]")
            .ok()
            .flatten()
            .and_then(|m| m.get_attribute("content"))
            .is_some_and(|c| c == "required")
    }
}
/// The server-rendered state of the first paint, shared by the pages.
#[derive(Clone, Copy)]
pub struct FirstPaint(pub Resource<crate::functions::Reply<gdl_model::live::LiveState>>);

/// Sends the page's Content-Security-Policy with this response's script nonce.
#[cfg(feature = "ssr")]
fn set_page_csp() {
    use leptos::nonce::use_nonce;
    let template = use_context::<crate::backend::CspTemplate>();
    let response = use_context::<leptos_axum::ResponseOptions>();
    let panel = use_context::<http::request::Parts>()
        .is_some_and(|parts| parts.uri.path().starts_with("/embed/"));
    if let (Some(nonce), Some(template), Some(response)) = (use_nonce(), template, response) {
        let template = if panel {
            &template.panel
        } else {
            &template.page
        };
        if let Ok(value) = http::HeaderValue::from_str(&template.replace("{nonce}", &nonce)) {
            response.insert_header(http::header::CONTENT_SECURITY_POLICY, value);
        }
    }
}
