//! Deployments in the dashboard's pages (issue 28), rendered on the server: the test form's
//! Deploy button posted as a browser without JavaScript posts it starts a deployment and
//! lands on its page, which shows the first key once; the page and the Deployments tab
//! show the deployment's data (endpoint, examples, meter, guards, keys); its guards, a new
//! key (shown once) and a revoke, and Stop, posted the same way, do what they say.

use crate::dashboard::Dashboard;
use crate::deployments::{chat, dashboard, deployment, reaches};
use crate::engine_form::{defaults, set, test_form};
use crate::recovery::nothing_running;
use crate::support::eventually;
use gdl_model::deployments::{DeploymentStatus, StopReason};
use std::time::Duration;

/// A client that shows redirects instead of following them, as a test must see them.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Posts `fields` to server function `name` as a form without JavaScript does (it accepts
/// HTML and names the page it came from); the answer's status, location and cookies set.
pub async fn post_plain(
    d: &Dashboard,
    name: &str,
    from: &str,
    fields: &[(String, String)],
) -> (u16, String, Vec<String>) {
    let r = browser()
        .post(format!("{}/_fn/{name}", d.url))
        .header("origin", &d.url)
        .header("referer", format!("{}{from}", d.url))
        .header("accept", "text/html,application/xhtml+xml")
        .form(fields)
        .send()
        .await
        .unwrap();
    let location = r
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let cookies = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|c| c.to_str().unwrap().to_owned())
        .collect();
    (r.status().as_u16(), location, cookies)
}

/// Page `path` as a browser sends `cookie` with it: its HTML and the cookies it sets.
async fn page(d: &Dashboard, path: &str, cookie: Option<&str>) -> (String, Vec<String>) {
    let mut asked = browser().get(format!("{}{path}", d.url));
    if let Some(c) = cookie {
        asked = asked.header("cookie", c);
    }
    let r = crate::support::send_patiently(asked).await;
    assert_eq!(r.status(), 200, "{path}");
    let cookies = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|c| c.to_str().unwrap().to_owned())
        .collect();
    (r.text().await.unwrap(), cookies)
}

#[tokio::test]
async fn the_form_deploys_without_javascript_and_the_pages_show_the_deployment() {
    let d = dashboard().await;
    let (home, _) = page(&d, "/", None).await;
    let form = test_form(&home);
    for needed in [
        "formaction=\"/_fn/deploy\"",
        ">Deploy</button>",
        "name=\"guards[idle_minutes]\" value=\"30\"",
        "name=\"guards[max_spend_usd]\"",
        "name=\"guards[max_lifetime_hours]\"",
        "name=\"benchmark\"",
    ] {
        assert!(form.contains(needed), "{needed} in {form}");
    }
    assert!(
        home.contains("href=\"/deployments\""),
        "the Deployments tab"
    );

    let mut fields = defaults(form);
    set(&mut fields, "config[max_price]", "5");
    set(&mut fields, "guards[max_spend_usd]", "4.5");
    let (status, location, cookies) = post_plain(&d, "deploy", "/", &fields).await;
    assert_eq!(status, 302, "{location}");
    let id = location
        .strip_prefix("/deployments/")
        .expect("redirected to the deployment's page")
        .to_owned();
    let started = deployment(&d, &id).await;
    assert_eq!(started.guards.idle_minutes, 30.0);
    assert_eq!(started.guards.max_spend_usd, Some(4.5));
    assert_eq!(started.guards.max_lifetime_hours, None);
    let handed = cookies
        .iter()
        .find(|c| c.starts_with(&format!("gdl-fresh-key-{id}=")))
        .expect("the first key handed to the page");
    for attribute in ["HttpOnly", "Secure", "SameSite=Strict", "Max-Age=600"] {
        assert!(handed.contains(attribute), "{attribute} in {handed}");
    }
    let cookie = handed.split(';').next().unwrap();
    let secret = cookie.split_once('.').unwrap().1.to_owned();
    assert!(secret.starts_with("gdk-"), "{secret}");

    // The page shows the key once, in the examples too, and clears the cookie.
    let path = format!("/deployments/{id}");
    let (shown, cleared) = page(&d, &path, Some(cookie)).await;
    assert!(shown.contains(&format!("data-testid=\"fresh-key\">{secret}</code>")));
    assert!(shown.contains("Copy it now; it is not shown again."));
    let endpoint = format!("{}/serve/{id}/v1", d.url);
    assert!(shown.contains(&format!("data-testid=\"endpoint\">{endpoint}</code>")));
    assert!(shown.contains(&format!("curl {endpoint}/chat/completions")));
    assert!(shown.contains(&format!("Bearer {secret}")));
    assert!(
        shown.contains(&format!("api_key=&quot;{secret}&quot;"))
            || shown.contains(&format!("api_key=\"{secret}\""))
    );
    assert!(
        shown.contains("name=\"guards[max_spend_usd]\" value=\"4.5\""),
        "its guards, editable"
    );
    assert!(
        shown.contains("it has not served yet"),
        "no deadline before it serves"
    );
    assert!(cleared
        .iter()
        .any(|c| c.starts_with(&format!("gdl-fresh-key-{id}=;")) && c.contains("Max-Age=0")));
    // Read again: the secret is gone; the examples read it from $GDL_KEY.
    let (again, _) = page(&d, &path, None).await;
    assert!(!again.contains(&secret), "shown only once");
    assert!(again.contains("Bearer $GDL_KEY"));
    assert!(
        again.contains("os.environ[&quot;GDL_KEY&quot;]")
            || again.contains("os.environ[\"GDL_KEY\"]")
    );

    // Serving, used: the page and the tab show its meter and spend.
    reaches(&d, &id, DeploymentStatus::Serving).await;
    let (status, body) = chat(&d, &id, &secret, true).await;
    assert_eq!(status, 200, "{body}");
    // The live state the page is drawn from is published on the deployment's next check.
    let served = eventually(Duration::from_secs(20), || async {
        let (html, _) = page(&d, &path, None).await;
        (html.contains("1 request</dd>") && !html.contains("$0 (rent")).then_some(html)
    })
    .await;
    assert!(served.contains("data-status=\"serving\""));
    assert!(served.contains(" output tokens</dd>"));
    assert!(served.contains("per 1M output tokens"), "the served cost");
    assert!(served.contains("idle for 30 min"), "what stops it first");
    assert!(served.contains(&format!("href=\"/runs/{}\"", started.run_id)));
    assert!(served.contains("first key"), "its key's label");
    let (tab, _) = page(&d, "/deployments", None).await;
    assert!(tab.contains(&format!("data-deployment=\"{id}\"")));
    assert!(tab.contains("data-status=\"serving\""));

    // Guards changed, a key made (shown once on the page it lands on) and revoked, each
    // as the page's forms post them without JavaScript.
    let form = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect()
    };
    let guards = form(&[
        ("id", &id),
        ("guards[idle_minutes]", "45"),
        ("guards[max_spend_usd]", ""),
        ("guards[max_lifetime_hours]", "8"),
    ]);
    let (status, _, _) = post_plain(&d, "deployment_guards", &path, &guards).await;
    assert_eq!(status, 302);
    let changed = deployment(&d, &id).await.guards;
    assert_eq!(
        (
            changed.idle_minutes,
            changed.max_spend_usd,
            changed.max_lifetime_hours
        ),
        (45.0, None, Some(8.0))
    );
    let asked = form(&[("id", &id), ("label", "notebook")]);
    let (status, _, cookies) = post_plain(&d, "new_deployment_key", &path, &asked).await;
    assert_eq!(status, 302);
    let handed = cookies
        .iter()
        .find(|c| c.starts_with(&format!("gdl-fresh-key-{id}=")))
        .expect("the new key handed to the page");
    let cookie = handed.split(';').next().unwrap();
    let (key_id, second) = cookie.split_once('=').unwrap().1.split_once('.').unwrap();
    let (shown, _) = page(&d, &path, Some(cookie)).await;
    assert!(shown.contains(&format!("data-testid=\"fresh-key\">{second}</code>")));
    assert!(shown.contains(&format!("data-key=\"{key_id}\"")) && shown.contains("notebook"));
    let (status, _) = chat(&d, &id, second, false).await;
    assert_eq!(status, 200, "the new key opens the endpoint");
    let revoke = form(&[("id", &id), ("key_id", key_id)]);
    let (status, _, _) = post_plain(&d, "revoke_deployment_key", &path, &revoke).await;
    assert_eq!(status, 302);
    let (status, _) = chat(&d, &id, second, false).await;
    assert_eq!(status, 401, "a revoked key is refused");
    let keys = deployment(&d, &id).await.keys;
    assert!(keys
        .iter()
        .any(|k| k.id == key_id && k.revoked_at.is_some()));

    // Stop, as the page's form posts it without JavaScript.
    let stop = vec![("id".to_owned(), id.clone())];
    let (status, location, _) = post_plain(&d, "stop_deployment", &path, &stop).await;
    assert_eq!(status, 302);
    assert!(
        location.starts_with(&format!("{}{path}", d.url)),
        "back to the page: {location}"
    );
    let stopped = reaches(&d, &id, DeploymentStatus::Stopped).await;
    assert_eq!(stopped.stop_reason, Some(StopReason::Requested));
    nothing_running(&d).await;
    let ended = eventually(Duration::from_secs(20), || async {
        let (html, _) = page(&d, &path, None).await;
        html.contains("data-status=\"stopped\"").then_some(html)
    })
    .await;
    assert!(ended.contains("data-testid=\"stop-reason\">stopped by a person"));
    assert!(
        !ended.contains("data-testid=\"stop\""),
        "no Stop once ended"
    );

    // With the form's Tune filled in, Deploy measures and tunes before it opens (the
    // search and the benchmark implied); stopped while it provisions, nothing is left.
    let mut fields = defaults(test_form(&home));
    set(&mut fields, "config[max_price]", "5");
    set(&mut fields, "config[tune][usd_budget]", "0.3");
    let (status, location, _) = post_plain(&d, "deploy", "/", &fields).await;
    assert_eq!(status, 302, "{location}");
    let tuned = location.strip_prefix("/deployments/").unwrap().to_owned();
    let run = crate::runs::run(&d, deployment(&d, &tuned).await.run_id.as_str()).await;
    assert!(run.config.capacity_search, "{:?}", run.config);
    assert_eq!(run.config.tune.map(|t| t.usd_budget), Some(0.3));
    crate::deployments::stopped_and_destroyed(&d, &tuned).await;
}

#[tokio::test]
async fn an_unknown_deployment_says_so() {
    let d = Dashboard::start(None).await;
    let (html, _) = page(&d, "/deployments/dep-nothing", None).await;
    assert!(html.contains("deployment_not_found"), "{html}");
    let (tab, _) = page(&d, "/deployments", None).await;
    assert!(tab.contains("No deployments yet"));
}
