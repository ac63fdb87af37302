//! Compare filters by engine settings: two tests of one model, one with the engines'
//! defaults and one with a context length of 8,192, are listed as two settings and each
//! filter counts only its own benchmark, over REST and on the Compare page.

use crate::dashboard::Dashboard;
use crate::runs::{finished, start, SMALL};
use crate::sglang::{compared, get_json, page};
use gdl_model::runs::RunStatus;

#[tokio::test]
async fn compare_filters_by_the_engine_settings_a_benchmark_ran_with() {
    let d = Dashboard::start(None).await;
    let plain = finished(&d, &start(&d, serde_json::from_str(SMALL).unwrap()).await).await;
    let context = serde_json::json!({"model": "qwen2.5-0.5b", "max_price": 5,
        "settings": {"max_model_len": 8192}});
    let long = finished(&d, &start(&d, context).await).await;
    assert_eq!(
        (plain.status, long.status),
        (RunStatus::Passed, RunStatus::Passed)
    );
    let (p, l) = (
        plain.benchmark_id.unwrap().to_string(),
        long.benchmark_id.unwrap().to_string(),
    );
    let model = "model=Qwen/Qwen2.5-0.5B-Instruct";
    let all = get_json(&d, &format!("/api/compare?{model}")).await;
    let mut seen: Vec<&str> = all["settings"]
        .as_array()
        .expect("the settings benchmarked are listed")
        .iter()
        .filter_map(|s| s.as_str())
        .collect();
    seen.sort();
    assert_eq!(seen, ["context 8,192", "default"]);
    assert_eq!(
        compared(
            &get_json(
                &d,
                &format!("/api/compare?{model}&settings=context%208%2C192")
            )
            .await
        ),
        [l.as_str()]
    );
    assert_eq!(
        compared(&get_json(&d, &format!("/api/compare?{model}&settings=default")).await),
        [p.as_str()]
    );
    let none = get_json(&d, &format!("/api/compare?{model}&settings=eager")).await;
    assert!(compared(&none).is_empty(), "{none}");
    // The page: the filter lists both, keeps the one chosen, and counts only its benchmark.
    let html = page(&d, &format!("/compare?{model}&settings=context%208%2C192")).await;
    assert!(
        html.contains("<option value=\"context 8,192\" selected"),
        "{html}"
    );
    assert!(html.contains("<option value=\"default\""), "{html}");
    assert!(
        html.contains(&format!("from 1 benchmark ({l})"))
            && !html.contains(&format!("from 1 benchmark ({p})")),
        "the Compare page counts the 8,192 benchmark only"
    );
}
