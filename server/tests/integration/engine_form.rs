//! The test form's engine part (issue 27): the engine and version selects and the folded
//! engine settings, posted as a browser without JavaScript posts them; the run records
//! them, its page shows them, and a bad setting is refused with its field named.

use crate::dashboard::Dashboard;
use crate::runs::{finished, post};
use gdl_model::engines::{Dtype, EngineSettings};
use gdl_model::runs::Run;
use serde_json::json;

/// The test form of the dashboard's page, as HTML.
pub fn test_form(page: &str) -> &str {
    let start = page
        .find("class=\"card test-form\"")
        .expect("the test form");
    let form = &page[start..];
    &form[..form.find("</form>").unwrap()]
}

/// What a browser posts for the form untouched: each text input's value, each select's
/// first option, empty text areas; unchecked boxes send nothing.
pub fn defaults(form: &str) -> Vec<(String, String)> {
    let attr = |tag: &str, name: &str| -> Option<String> {
        let at = tag.find(&format!(" {name}=\""))? + name.len() + 3;
        Some(tag[at..at + tag[at..].find('"')?].to_owned())
    };
    let mut fields = Vec::new();
    for input in form.split("<input").skip(1) {
        let tag = &input[..input.find('>').unwrap()];
        if attr(tag, "type").as_deref() != Some("checkbox") {
            let name = attr(tag, "name").unwrap();
            fields.push((name, attr(tag, "value").unwrap_or_default()));
        }
    }
    for select in form.split("<select").skip(1) {
        let name = attr(&select[..select.find('>').unwrap()], "name").unwrap();
        let option = &select[select.find("<option").unwrap()..];
        let value = attr(&option[..option.find('>').unwrap()], "value").unwrap();
        fields.push((name, value));
    }
    for area in form.split("<textarea").skip(1) {
        fields.push((attr(area, "name").unwrap(), String::new()));
    }
    fields
}

pub fn set(fields: &mut Vec<(String, String)>, name: &str, value: &str) {
    match fields.iter_mut().find(|(n, _)| n == name) {
        Some(field) => field.1 = value.to_owned(),
        None => fields.push((name.to_owned(), value.to_owned())),
    }
}

async fn post_form(d: &Dashboard, fields: &[(String, String)]) -> String {
    let posted = d
        .http
        .post(format!("{}/_fn/start_run", d.url))
        .header("origin", &d.url)
        .header("accept", "application/json")
        .form(fields)
        .send()
        .await
        .unwrap();
    let status = posted.status();
    let text = posted.text().await.unwrap();
    assert!(status.is_success(), "{status}: {text}");
    text
}

async fn runs(d: &Dashboard) -> Vec<Run> {
    d.get("/api/runs").await.json().await.unwrap()
}

#[tokio::test]
async fn the_form_offers_engines_versions_and_settings_and_a_run_records_them() {
    let d = Dashboard::start(None).await;
    let page = d.get("/").await.text().await.unwrap();
    let form = test_form(&page);
    for needed in [
        "name=\"config[engine]\"",
        "<option value=\"sglang\"",
        "name=\"config[engine_version]\"",
        ">0.31.0 (default, CUDA 13.0+)</option>",
        ">0.6.4 (CUDA 12.1+)</option>",
        ">0.5.19 (CUDA 12.9+)</option>",
        "<summary>Engine settings</summary>",
        "name=\"config[settings][max_model_len]\"",
        "name=\"config[settings][data_parallel_size]\"",
        "name=\"config[settings][trust_remote_code]\"",
        "code on the rented host",
        "name=\"config[settings][extra_flags]\"",
        "<summary>Workload and SLOs</summary>",
        "<option value=\"rag\">rag trace</option>",
        "name=\"config[workload][seed]\"",
        "name=\"config[slo][tpot_p95_ms]\"",
        "name=\"config[tune][usd_budget]\"",
        "name=\"config[tune][seconds]\" value=\"1800\"",
    ] {
        assert!(form.contains(needed), "{needed} in {form}");
    }
    let mut fields = defaults(form);
    assert!(
        fields
            .iter()
            .any(|(n, v)| n == "config[settings][dtype]" && v == "auto"),
        "{fields:?}"
    );

    // A setting out of range: refused with its field, nothing started.
    let mut bad = fields.clone();
    set(&mut bad, "config[settings][max_model_len]", "100");
    let answer = post_form(&d, &bad).await;
    assert!(answer.contains("max_model_len"), "{answer}");
    // Two copies of the model on the form's one GPU: refused, the field named.
    let mut bad = fields.clone();
    set(&mut bad, "config[settings][data_parallel_size]", "2");
    let answer = post_form(&d, &bad).await;
    assert!(
        answer.contains("data_parallel_size") && answer.contains("do not divide 1 GPU"),
        "{answer}"
    );
    // A version the engine does not have: the catalogue's are named.
    let mut bad = fields.clone();
    set(&mut bad, "config[engine]", "sglang");
    set(&mut bad, "config[engine_version]", "0.31.0");
    let answer = post_form(&d, &bad).await;
    assert!(answer.contains("0.5.21"), "{answer}");
    // A trace that is not shipped.
    let mut bad = fields.clone();
    set(&mut bad, "config[workload][trace]", "mine");
    let answer = post_form(&d, &bad).await;
    assert!(answer.contains("chat, rag"), "{answer}");
    // A tuning budget out of bounds.
    let mut bad = fields.clone();
    set(&mut bad, "config[tune][usd_budget]", "500");
    let answer = post_form(&d, &bad).await;
    assert!(
        answer.contains("tune.usd_budget must be between"),
        "{answer}"
    );
    assert!(runs(&d).await.is_empty());

    set(&mut fields, "config[workload][trace]", "chat");
    set(&mut fields, "config[workload][seed]", "5");
    set(&mut fields, "config[slo][ttft_p95_ms]", "800");
    set(&mut fields, "config[engine_version]", "0.6.4");
    set(&mut fields, "config[settings][max_model_len]", "8192");
    set(&mut fields, "config[settings][prefix_caching]", "false");
    set(&mut fields, "config[settings][dtype]", "half");
    set(&mut fields, "config[settings][enforce_eager]", "true");
    set(
        &mut fields,
        "config[settings][extra_flags]",
        "--seed=7\r\n\r\n--disable-log-stats\r\n",
    );
    post_form(&d, &fields).await;
    let started = runs(&d).await;
    assert_eq!(started.len(), 1);
    let run = &started[0];
    assert_eq!(run.config.engine_version.as_deref(), Some("0.6.4"));
    let expected = EngineSettings {
        max_model_len: Some(8192),
        prefix_caching: Some(false),
        dtype: Dtype::Half,
        enforce_eager: true,
        extra_flags: vec!["--seed=7".into(), "--disable-log-stats".into()],
        ..Default::default()
    };
    assert_eq!(run.config.settings, expected);
    // The workload and SLOs as set, the rest the form's defaults.
    let workload = run.config.workload.clone().expect("the form's workload");
    assert_eq!(
        (
            workload.trace.as_deref(),
            workload.seed,
            workload.input_tokens,
            workload.output_tokens
        ),
        (Some("chat"), 5, 64, 96)
    );
    let slo = run.config.slo.expect("the form's SLOs");
    assert_eq!(
        (slo.ttft_p95_ms, slo.tpot_p95_ms, slo.min_success),
        (800.0, 100.0, 0.99)
    );

    // The run page names the engine and what was set.
    let page = d
        .get(&format!("/runs/{}", run.id))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("data-testid=\"run-engine\">vLLM 0.6.4</span>"),
        "the engine on the run page"
    );
    assert!(
        page.contains(
            "data-testid=\"run-settings\">context 8,192 · dtype half · prefix caching off · eager · --seed=7 · --disable-log-stats</span>"
        ),
        "the settings on the run page"
    );
    // Tune left empty: no tuning, and no search unless asked.
    assert_eq!(run.config.tune, None);
    assert!(!run.config.capacity_search);
    post(&d, &format!("/api/runs/{}/cancel", run.id), json!({})).await;
    finished(&d, run.id.as_str()).await;

    // Tune with a budget: its time the form's default, and the capacity search it needs.
    let mut tuned = defaults(form);
    set(&mut tuned, "config[tune][usd_budget]", "0.5");
    post_form(&d, &tuned).await;
    let started = runs(&d).await;
    let run = started.iter().find(|r| !r.status.is_finished()).unwrap();
    let tune = run.config.tune.expect("tuned");
    assert_eq!((tune.usd_budget, tune.seconds), (0.5, 1800));
    assert!(run.config.capacity_search, "the search tuning needs");
    post(&d, &format!("/api/runs/{}/cancel", run.id), json!({})).await;
    finished(&d, run.id.as_str()).await;
}
