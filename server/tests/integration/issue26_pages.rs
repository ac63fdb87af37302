//! Issue 26, pages and their words: the not-found page is styled and hydrates like every
//! other page, and `/embed/run` without an id explains the panels.

use crate::dashboard::Dashboard;

/// A page's Content-Security-Policy, its stylesheet links and its scripts' nonces.
struct Drawn {
    status: u16,
    csp: String,
    html: String,
}

impl Drawn {
    async fn get(d: &Dashboard, path: &str) -> Self {
        let reply = d.get(path).await;
        let status = reply.status().as_u16();
        let csp = reply
            .headers()
            .get("content-security-policy")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let html = reply.text().await.unwrap();
        Self { status, csp, html }
    }

    /// The `href` of every `<link rel="stylesheet">`.
    fn stylesheets(&self) -> Vec<String> {
        self.html
            .split("<link")
            .skip(1)
            .filter(|tag| tag.split('>').next().unwrap().contains("stylesheet"))
            .filter_map(|tag| tag.split("href=\"").nth(1)?.split('"').next())
            .map(str::to_owned)
            .collect()
    }

    /// The policy's sources for `directive` (`style-src` → `['self', ...]`).
    fn sources(&self, directive: &str) -> Vec<String> {
        self.csp
            .split(';')
            .map(str::trim)
            .find_map(|d| d.strip_prefix(directive))
            .map(|s| s.split_whitespace().map(str::to_owned).collect())
            .unwrap_or_default()
    }
}

#[tokio::test]
async fn the_not_found_page_is_styled_and_hydrates_under_its_own_policy() {
    let d = Dashboard::start(None).await;
    let home = Drawn::get(&d, "/").await;
    let missing = Drawn::get(&d, "/no-such-page").await;
    assert_eq!(missing.status, 404);
    assert!(missing.html.contains("Page not found"));
    // The same stylesheet as every page, from our own origin, which the policy allows.
    assert_eq!(missing.stylesheets(), home.stylesheets());
    assert!(
        missing.stylesheets()[0].starts_with('/'),
        "{:?}",
        missing.stylesheets()
    );
    assert!(
        missing.sources("style-src").contains(&"'self'".to_owned()),
        "{}",
        missing.csp
    );
    // The page's policy, not the default that refuses everything: the same directives as
    // the dashboard's, with this response's own nonce.
    let without_nonce = |csp: &str| {
        csp.split_whitespace()
            .filter(|w| !w.starts_with("'nonce-"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    assert_eq!(without_nonce(&missing.csp), without_nonce(&home.csp));
    // The hydration scripts carry the nonce the policy names, so the page hydrates and its
    // live indicator connects instead of sitting at "Connecting…".
    let nonce = missing
        .sources("script-src")
        .into_iter()
        .find_map(|s| Some(s.strip_prefix("'nonce-")?.trim_end_matches('\'').to_owned()))
        .expect("a script nonce in the policy");
    assert!(
        missing.html.contains(&format!("nonce=\"{nonce}\"")),
        "{}",
        missing.html
    );
    assert!(missing.html.contains("/pkg/gpu-deploy-llm"));
}

#[tokio::test]
async fn embed_run_without_an_id_lists_the_panels_and_points_to_share() {
    let d = Dashboard::start(None).await;
    // The run panel's address without its id, and (a 404 still) any address under /embed/
    // that names no panel.
    for (path, status) in [
        ("/embed/run", 200),
        ("/embed/run/", 404),
        ("/embed/nope", 404),
    ] {
        let page = Drawn::get(&d, path).await;
        assert_eq!(page.status, status, "{path}");
        assert!(
            page.html.contains("data-embed-help"),
            "{path}: {}",
            page.html
        );
        assert!(page.html.contains("href=\"/share\""), "{path}");
        for panel in ["/embed/sessions", "/embed/status", "/embed/run/RUN_ID"] {
            assert!(page.html.contains(panel), "{path} lists {panel}");
        }
        // A panel's frame: no dashboard header, the panel's policy.
        assert!(!page.html.contains("class=\"tabs\""), "{path}");
        assert!(
            page.sources("style-src").contains(&"'self'".to_owned()),
            "{}",
            page.csp
        );
    }
}

#[tokio::test]
async fn the_header_offers_the_theme_and_the_cookie_applies_it_before_the_first_paint() {
    let d = Dashboard::start(None).await;
    let with_cookie = |path: &str, cookie: &str| {
        d.http
            .get(format!("{}{path}", d.url))
            .header("cookie", cookie)
            .send()
    };
    let plain = Drawn::get(&d, "/").await.html;
    // The control, system by default, and no forced colours.
    assert!(plain.contains("data-testid=\"theme-toggle\""), "{plain}");
    assert!(
        plain.contains("<option value=\"system\" selected"),
        "{plain}"
    );
    assert!(plain.contains("<html lang=\"en\">"), "{plain}");
    let dark = with_cookie("/sessions", "gdl-theme=dark")
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        dark.contains("<html lang=\"en\" data-theme=\"dark\">"),
        "{dark}"
    );
    assert!(dark.contains("<option value=\"dark\" selected"), "{dark}");
    // Only light or dark are written into the page.
    let odd = with_cookie("/", "gdl-theme=\"><script>")
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(odd.contains("<html lang=\"en\">"));
    // A panel keeps its own ?theme= and has no header control.
    let panel = with_cookie("/embed/sessions", "gdl-theme=dark")
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(panel.contains("<html lang=\"en\">"), "{panel}");
    assert!(!panel.contains("theme-toggle"));
}

#[tokio::test]
async fn pages_link_to_the_api_reference_and_share_has_a_copy_button() {
    let d = Dashboard::start(None).await;
    for path in ["/", "/costs", "/no-such-page"] {
        let html = Drawn::get(&d, path).await.html;
        assert!(
            html.contains("href=\"/api/docs\" rel=\"external\""),
            "{path}: {html}"
        );
    }
    let share = Drawn::get(&d, "/share").await.html;
    assert!(
        share.contains("data-testid=\"copy-snippet\"") && share.contains(">Copy</button>"),
        "{share}"
    );
    let panel = Drawn::get(&d, "/embed/sessions").await.html;
    assert!(!panel.contains("/api/docs"), "a panel has no footer");
}
