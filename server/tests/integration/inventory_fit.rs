//! "Fits model M" on the Inventory tab and over REST, and a deployment test pinned to one
//! offer ("Test on this offer"); what a pinned test does when its offer is gone is in
//! `pinned.rs`.

use crate::dashboard::Dashboard;
use crate::runs::{finished, start};
use gdl_model::inventory::InventoryView;
use gdl_model::registry::{resolve, Quantization};
use serde_json::json;

#[tokio::test]
async fn offers_that_fit_a_model_are_marked_with_its_estimate() {
    let d = Dashboard::start(None).await;
    let model = resolve("qwen2.5-7b", Quantization::None).unwrap();
    let view: InventoryView = d
        .get("/api/inventory?model=qwen2.5-7b")
        .await
        .json()
        .await
        .unwrap();
    let fit = view.fit.as_ref().expect("a model was asked for");
    assert_eq!(fit.vram_per_gpu, model.vram_gb);
    assert!(!fit.fitting.is_empty() && fit.fitting.len() < view.offers.len());
    // Enough VRAM, and the default engine runs there: the rule a test's inventory step
    // applies (`deployable`); the others with enough VRAM say why not.
    assert_eq!(fit.engine_label(), "vLLM 0.31.0");
    for o in &view.offers {
        let big_enough = o.vram_gb >= model.vram_gb;
        assert_eq!(
            fit.fitting.contains(&o.id),
            big_enough && deployable(o),
            "{} with {} GB",
            o.id,
            o.vram_gb
        );
        assert_eq!(
            fit.left_out_reason(&o.id).is_some(),
            big_enough && !deployable(o),
            "{o:?}"
        );
    }
    assert!(
        !fit.left_out.is_empty(),
        "the simulator lists hosts whose driver is too old for the default vLLM"
    );
    let summary = fit.left_out_summary.as_deref().unwrap();
    assert!(
        summary.starts_with(&format!("{} offer", fit.left_out.len())),
        "{summary}"
    );
    // Split across two GPUs, each needs less, and only offers of two GPUs or more fit.
    let two: InventoryView = d
        .get("/api/inventory?model=qwen2.5-7b&gpus=2")
        .await
        .json()
        .await
        .unwrap();
    let fit2 = two.fit.as_ref().unwrap();
    assert!(fit2.vram_per_gpu < model.vram_gb);
    for o in &two.offers {
        assert_eq!(
            fit2.fitting.contains(&o.id),
            o.gpu_count >= 2 && o.vram_gb >= fit2.vram_per_gpu && deployable(o),
            "{o:?}"
        );
    }
    // The page marks the same rows, with the estimate's breakdown and a button on each.
    let html = d
        .get("/inventory?model=qwen2.5-7b&sort=vram")
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(
        html.matches("data-fits=\"yes\"").count(),
        fit.fitting.len(),
        "{html}"
    );
    assert_eq!(html.matches("data-test-offer=").count(), fit.fitting.len());
    assert_eq!(
        html.matches("data-left-out=\"\"").count(),
        fit.left_out.len(),
        "each offer the engine cannot run says why"
    );
    let reason = &fit.left_out[0].reason;
    assert!(html.contains(&format!("✗ {reason}")), "{reason}");
    assert!(html.contains(summary), "the page counts them: {summary}");
    assert!(html.contains(&format!("needs {} GB VRAM", model.vram_gb)));
    assert!(html.contains(&format!("{} GB weights", model.weights_gb)));
    assert!(
        html.contains("value=\"qwen2.5-7b\""),
        "the form keeps the model"
    );
    // Another engine version: its own rule, named on the fit.
    let old: InventoryView = d
        .get("/api/inventory?model=qwen2.5-7b&engine=vllm&engine_version=0.6.4")
        .await
        .json()
        .await
        .unwrap();
    let old_fit = old.fit.as_ref().unwrap();
    assert_eq!(old_fit.engine_label(), "vLLM 0.6.4");
    let engine = gdl_model::engines::find(gdl_model::engines::Engine::Vllm, "0.6.4").unwrap();
    for o in &old.offers {
        let runs = !matches!(
            gdl_model::engines::fit::check(o, engine, "none"),
            gdl_model::engines::fit::Verdict::Cannot(_)
        );
        assert_eq!(
            old_fit.fitting.contains(&o.id),
            o.vram_gb >= model.vram_gb && runs,
            "{o:?}"
        );
    }
    assert!(
        old_fit.fitting.len() > fit.fitting.len(),
        "CUDA 12.x drivers run 0.6.4"
    );
    let bad = d
        .get("/api/inventory?model=qwen2.5-7b&engine=sglang&engine_version=0.6.4")
        .await;
    assert_eq!(bad.status(), 400);
    let error: serde_json::Value = bad.json().await.unwrap();
    assert!(
        error["hint"].as_str().unwrap().contains("0.5.21"),
        "{error}"
    );
    // A model that cannot be served is refused with its code and hint.
    let bad = d.get("/api/inventory?model=not%20a%20model").await;
    assert_eq!(bad.status(), 400);
    let error: serde_json::Value = bad.json().await.unwrap();
    assert_eq!(error["code"], "invalid_model_id");
    assert!(error["hint"].as_str().unwrap().contains("Hugging Face"));
    let page = d
        .get("/inventory?model=owner/no-size-in-name")
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("role=\"alert\""), "{page}");
}

/// The Vast.ai offers under $3/h a test of qwen2.5-0.5b can rent (available, fitting, with
/// a driver new enough for vLLM, and still there at the simulated provider: not a ghost),
/// cheapest first.
pub async fn rentable(d: &Dashboard) -> Vec<gdl_model::shopper::Offer> {
    let sim = d
        .state
        .simulator
        .clone()
        .expect("the dashboard's simulator");
    let view: InventoryView = d
        .get("/api/inventory?provider=vastai&max_price=3&model=qwen2.5-0.5b")
        .await
        .json()
        .await
        .unwrap();
    let fit = view.fit.expect("a model was asked for");
    view.offers
        .into_iter()
        .filter(|o| o.available && fit.fitting.contains(&o.id) && deployable(o))
        .filter(|o| sim.simulator().is_rentable(&o.id))
        .collect()
}

/// Whether a run with the default engine can rent `o` (its driver and GPU, per the
/// catalogues).
pub fn deployable(o: &gdl_model::shopper::Offer) -> bool {
    let config = serde_json::from_str(crate::runs::SMALL).unwrap();
    server::runner::engine_fit::Fit::of(&config).allows(o)
}

#[tokio::test]
async fn a_test_pinned_to_an_offer_rents_it_and_refuses_a_bad_offer_id() {
    let d = Dashboard::start(None).await;
    let usable = rentable(&d).await;
    // Not the cheapest: the runner would never pick it by itself.
    let pinned = usable.last().unwrap().clone();
    assert!(pinned.price_per_hour > usable[0].price_per_hour);
    let id = start(
        &d,
        json!({"model": "qwen2.5-0.5b", "provider": "vastai", "max_price": 3,
               "pin_offer": pinned.id}),
    )
    .await;
    let run = finished(&d, &id).await;
    assert_eq!(run.rentals[0].offer.offer_id, pinned.id, "{run:#?}");

    let (status, error) = crate::runs::post(
        &d,
        "/api/runs",
        json!({"model": "qwen2.5-0.5b", "max_price": 3, "pin_offer": "two words"}),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(error["code"], "invalid_input");
}

/// The pages' server functions with every filter unset, as a page asks when it refreshes
/// its data after hydration (URL encoding would send nothing for them, which does not read
/// back: the server function must take JSON).
#[tokio::test]
async fn the_tabs_server_functions_take_unset_filters() {
    let d = Dashboard::start(None).await;
    for (path, body) in [
        ("/_fn/inventory", json!({"filters": {}})),
        ("/_fn/costs", json!({"params": {}})),
    ] {
        let r = d
            .http
            .post(format!("{}{path}", d.url))
            .header("origin", &d.url)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = r.status();
        let text = r.text().await.unwrap();
        assert_eq!(status, 200, "{path}: {text}");
        assert!(text.contains("\"Ok\""), "{path}: {text}");
    }
}

#[tokio::test]
async fn the_gpu_filter_matches_part_of_the_name() {
    let d = Dashboard::start(None).await;
    let all: InventoryView = d.get("/api/inventory").await.json().await.unwrap();
    // A GPU the simulator lists, asked for by part of its name in other case and spacing.
    let name = all
        .offers
        .iter()
        .map(|o| o.gpu_type.clone())
        .find(|g| g.starts_with("RTX ") && g.len() > 6)
        .expect("an RTX card is listed");
    let number = name.trim_start_matches("RTX ").to_owned();
    let expected = all.offers.iter().filter(|o| o.gpu_type == name).count();
    for asked in [number.clone(), format!("rtx{number}"), name.to_lowercase()] {
        let view: InventoryView = d
            .get(&format!(
                "/api/inventory?gpu_type={}",
                asked.replace(' ', "+")
            ))
            .await
            .json()
            .await
            .unwrap();
        assert!(
            !view.offers.is_empty() && view.offers.iter().all(|o| o.gpu_type.contains(&number)),
            "{asked}: {:?}",
            view.offers.iter().map(|o| &o.gpu_type).collect::<Vec<_>>()
        );
        assert!(view.offers.len() >= expected, "{asked}");
    }
    let none: InventoryView = d
        .get("/api/inventory?gpu_type=no-such-gpu")
        .await
        .json()
        .await
        .unwrap();
    assert!(none.offers.is_empty());
}

/// Issue 26: an empty inventory names the filter that left nothing, over REST and on the
/// tab.
#[tokio::test]
async fn an_empty_inventory_says_which_filter_left_nothing() {
    let d = Dashboard::start(None).await;
    let view: InventoryView = d
        .get("/api/inventory?gpu_type=4090x")
        .await
        .json()
        .await
        .unwrap();
    assert!(view.offers.is_empty());
    let why = view.none.expect("no offer passes: the reason is given");
    assert_eq!(why.filter.as_deref(), Some("gpu_type"));
    assert!(why.listed > 0 && why.alone == 0, "{why:?}");
    assert_eq!(
        why.message,
        format!(
            "No offers match GPU \"4090x\": {} offers listed, none with that GPU name.",
            why.listed
        )
    );
    // A filter that leaves nothing only together with another says so.
    let cheap: InventoryView = d
        .get("/api/inventory?gpu_type=4090&max_price=0.01")
        .await
        .json()
        .await
        .unwrap();
    let why = cheap.none.expect("nothing costs a cent");
    assert_eq!(why.filter.as_deref(), Some("max_price"), "{why:?}");
    assert!(
        why.message.contains("at $0.010/h or less"),
        "{}",
        why.message
    );
    // Offers that pass carry no reason.
    let some: InventoryView = d
        .get("/api/inventory?gpu_type=4090")
        .await
        .json()
        .await
        .unwrap();
    assert!(!some.offers.is_empty() && some.none.is_none());
    let page = d
        .get("/inventory?gpu_type=4090x")
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("data-none=\"gpu_type\""), "{page}");
    assert!(
        page.contains("offers listed, none with that GPU name."),
        "{page}"
    );
}

/// Issue 26: with a model named, the price comparison counts only the offers that fit it.
#[tokio::test]
async fn the_price_summary_leaves_out_offers_too_small_for_the_model() {
    let d = Dashboard::start(None).await;
    let counted = |view: &InventoryView| -> usize {
        view.prices
            .iter()
            .flat_map(|g| &g.providers)
            .map(|p| p.offers as usize)
            .sum()
    };
    let all: InventoryView = d.get("/api/inventory").await.json().await.unwrap();
    assert_eq!(counted(&all), all.offers.len());
    let view: InventoryView = d
        .get("/api/inventory?model=qwen2.5-7b")
        .await
        .json()
        .await
        .unwrap();
    let fit = view.fit.as_ref().unwrap();
    assert!(
        fit.fitting.len() < view.offers.len(),
        "some offers are too small"
    );
    assert_eq!(counted(&view), fit.fitting.len());
    let page = d
        .get("/inventory?model=qwen2.5-7b")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("among the") && page.contains("that fit the model"),
        "{page}"
    );
}
