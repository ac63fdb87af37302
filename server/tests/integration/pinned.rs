//! A deployment test pinned to one offer ("Test on this offer", issue 26): when the offer
//! is gone at select, or stale at create, the run rents another offer of the same GPU type
//! and count and says so on the Select offer step and in the log; when there is none, it
//! fails `pinned_offer_gone` and rents nothing of another GPU type. The provider's code
//! (`no_such_ask`) comes with a plain sentence.

use crate::dashboard::Dashboard;
use crate::inventory_fit::rentable;
use crate::runs::{finished, start};
use gdl_model::code::ErrorCode;
use gdl_model::runs::{PinnedGpu, Run, RunStatus, StepName, StepStatus};
use gdl_model::shopper::{Offer, Session};
use serde_json::json;

/// An offer id the broker never listed (gone since the person saw it).
const GONE: &str = "vastai-999999999";

/// A dashboard whose listed offers can all be rented (no ghosts), so that only the faults
/// a test sets make an offer stale.
async fn dashboard() -> Dashboard {
    Dashboard::start_custom(None, crate::process::data_dir(), |s| {
        s.sim_mut().ghosts = false
    })
    .await
}

fn same_gpu(a: &Offer, b: &Offer) -> bool {
    PinnedGpu::of(a).same_gpu(b)
}

/// `usable`'s cheapest offer of another GPU than its cheapest offer's, with how many
/// offers of its GPU there are (what an unpinned run would rent is the cheapest, so a run
/// that rents this kind did not fall back to the best offer of any GPU).
fn other_kind(usable: &[Offer], at_least: usize) -> Offer {
    usable
        .iter()
        .filter(|o| !same_gpu(o, &usable[0]))
        .find(|o| usable.iter().filter(|u| same_gpu(u, o)).count() >= at_least)
        .cloned()
        .unwrap_or_else(|| panic!("an offer of another GPU with {at_least}+ offers"))
}

async fn log(d: &Dashboard, id: &str) -> String {
    d.get(&format!("/api/runs/{id}/logs?format=text"))
        .await
        .text()
        .await
        .unwrap()
}

fn step(run: &Run, name: StepName) -> &gdl_model::runs::Step {
    run.steps.iter().find(|s| s.name == name).unwrap()
}

fn sessions(d: &Dashboard) -> Vec<Session> {
    d.state.simulator.as_ref().unwrap().simulator().sessions()
}

#[tokio::test]
async fn a_pinned_offer_gone_since_listed_is_replaced_by_one_of_its_gpu_and_the_run_says_so() {
    let d = dashboard().await;
    let usable = rentable(&d).await;
    let seen = other_kind(&usable, 1);
    let gpu = PinnedGpu::of(&seen);
    let id = start(
        &d,
        json!({"model": "qwen2.5-0.5b", "provider": "vastai", "max_price": 3,
               "pin_offer": GONE, "pin_gpu": gpu}),
    )
    .await;
    let run = finished(&d, &id).await;
    assert_eq!(run.status, RunStatus::Passed, "{:?}", run.error);
    let rented = &run.rentals[0].offer;
    assert_eq!(
        (&rented.gpu_type, rented.gpu_count),
        (&gpu.gpu_type, gpu.gpu_count),
        "the same GPU, not the cheapest offer of any ({})",
        usable[0].gpu_type
    );
    let select = step(&run, StepName::SelectOffer).detail.clone().unwrap();
    assert!(
        select.contains(rented.offer_id.as_str())
            && select.contains(&format!("the offer you chose, {GONE}, is gone")),
        "{select}"
    );
    let said = format!(
        "The offer you chose ({GONE}, {gpu}) is gone; renting another {}: {} at $",
        gpu.gpu(),
        rented.offer_id
    );
    assert!(log(&d, &id).await.contains(&said), "{said}");
    assert!(sessions(&d).iter().all(|s| s.gpu_type == gpu.gpu_type));
}

#[tokio::test]
async fn a_pinned_offer_with_no_other_of_its_gpu_fails_and_rents_nothing() {
    let d = dashboard().await;
    let test = |pin_offer: &str, pin_gpu: Option<serde_json::Value>| {
        let mut config = json!({"model": "qwen2.5-0.5b", "provider": "vastai",
                                "max_price": 3, "pin_offer": pin_offer});
        if let Some(gpu) = pin_gpu {
            config["pin_gpu"] = gpu;
        }
        config
    };
    let gpu = json!({"gpu_type": "RTX 9999 Imaginary", "gpu_count": 1, "price_per_hour": 0.35});
    let id = start(&d, test(GONE, Some(gpu))).await;
    let run = finished(&d, &id).await;
    assert_eq!(run.status, RunStatus::Failed);
    assert_eq!(
        run.error_code,
        Some(ErrorCode::PinnedOfferGone),
        "{:?}",
        run.error
    );
    let select = step(&run, StepName::SelectOffer);
    assert_eq!(select.status, StepStatus::Failed);
    let reason = select.reason.as_deref().unwrap();
    assert!(
        reason.starts_with(&format!(
            "The offer you chose ({GONE}, RTX 9999 Imaginary at $0.35/h) is gone"
        )) && reason.contains("no other RTX 9999 Imaginary offer"),
        "{reason}"
    );
    assert!(select.hint.as_deref().unwrap().contains("Inventory tab"));
    assert!(run.rentals.is_empty() && run.session_id.is_none());
    // The steps after it say which step failed, not "an earlier step failed".
    for s in &run.steps[3..10] {
        assert_eq!(s.status, StepStatus::Skipped, "{:?}", s.name);
        assert_eq!(
            s.reason.as_deref(),
            Some("Select offer failed"),
            "{:?}",
            s.name
        );
    }

    // Pinned by id alone (the CLI's --offer), to an offer the broker no longer knows: its
    // GPU is not known, so nothing is rented.
    let id = start(&d, test("vastai-999999998", None)).await;
    let run = finished(&d, &id).await;
    assert_eq!(
        run.error_code,
        Some(ErrorCode::PinnedOfferGone),
        "{:?}",
        run.error
    );
    assert!(run
        .error
        .unwrap()
        .contains("which GPU it rents is not known"));
    assert!(sessions(&d).is_empty(), "no session for any GPU type");
}

#[tokio::test]
async fn a_pinned_offer_stale_at_create_is_replaced_by_one_of_its_gpu_shown_on_select_offer() {
    let d = dashboard().await;
    let usable = rentable(&d).await;
    let pinned = other_kind(&usable, 2);
    let gpu = PinnedGpu::of(&pinned);
    let sim = d.state.simulator.clone().unwrap();
    sim.simulator().update_faults(|f| f.stale_creates = 1);
    let id = start(
        &d,
        json!({"model": "qwen2.5-0.5b", "provider": "vastai", "max_price": 3,
               "pin_offer": pinned.id}),
    )
    .await;
    let run = finished(&d, &id).await;
    assert_eq!(run.status, RunStatus::Passed, "{:?}", run.error);
    let rented = &run.rentals[0].offer;
    assert_ne!(rented.offer_id, pinned.id, "the pinned offer was stale");
    assert_eq!(
        (&rented.gpu_type, rented.gpu_count),
        (&gpu.gpu_type, gpu.gpu_count)
    );
    // The Select offer step shows the offer rented, not the stale one.
    let select = step(&run, StepName::SelectOffer).detail.clone().unwrap();
    assert!(
        select.starts_with(&format!("{} × ", gpu.gpu_type))
            && select.contains(&format!("offer {}", rented.offer_id))
            && select.contains(&format!("offer {} is gone", pinned.id)),
        "{select}"
    );
    let log = log(&d, &id).await;
    assert!(
        log.contains(&format!(
            "The offer you chose ({}, {gpu}) is gone; renting another {}: {}",
            pinned.id,
            gpu.gpu(),
            rented.offer_id
        )),
        "{log}"
    );
    assert!(
        log.contains(
            "The provider no longer has this machine for rent (provider code no_such_ask)"
        ),
        "the provider's code with a plain sentence: {log}"
    );
    let made = sessions(&d);
    assert_eq!(made.len(), 2, "the stale create's record and the rental");
    assert!(made.iter().all(|s| s.gpu_type == gpu.gpu_type), "{made:?}");
}

#[tokio::test]
async fn a_pinned_offer_stale_at_create_with_no_other_of_its_gpu_fails_and_rents_nothing_else() {
    let d = dashboard().await;
    let usable = rentable(&d).await;
    // The price limit the Inventory tab would send, with room for the simulator's price
    // drift: the pinned offer is the only one of its GPU under it, other GPUs are too.
    let limit = |o: &Offer| (o.price_per_hour * 1.05 * 100.0).ceil() / 100.0;
    let pinned = usable
        .iter()
        .filter(|o| !same_gpu(o, &usable[0]))
        .find(|o| {
            usable
                .iter()
                .filter(|u| same_gpu(u, o) && u.price_per_hour <= limit(o))
                .count()
                == 1
        })
        .cloned()
        .expect("an offer alone of its GPU under its price");
    let gpu = PinnedGpu::of(&pinned);
    let sim = d.state.simulator.clone().unwrap();
    sim.simulator().update_faults(|f| f.stale_creates = 1);
    let id = start(
        &d,
        json!({"model": "qwen2.5-0.5b", "provider": "vastai", "max_price": limit(&pinned),
               "pin_offer": pinned.id}),
    )
    .await;
    let run = finished(&d, &id).await;
    assert_eq!(run.status, RunStatus::Failed);
    assert_eq!(
        run.error_code,
        Some(ErrorCode::PinnedOfferGone),
        "{:?}",
        run.error
    );
    let create = step(&run, StepName::CreateSession);
    assert_eq!(create.status, StepStatus::Failed);
    assert!(
        create
            .reason
            .as_deref()
            .unwrap()
            .contains(&format!("no other {} offer is left", gpu.gpu())),
        "{create:?}"
    );
    assert!(run.rentals.is_empty());
    let made = sessions(&d);
    assert_eq!(made.len(), 1, "only the stale create's failed record");
    assert!(made.iter().all(|s| s.gpu_type == gpu.gpu_type), "{made:?}");
    for s in &run.steps[4..10] {
        assert_eq!(s.reason.as_deref(), Some("Create session failed"));
    }
}

#[tokio::test]
async fn the_test_on_this_offer_form_sends_the_offers_gpu_and_asks_with_its_price() {
    let d = dashboard().await;
    let page = d
        .get("/inventory?provider=vastai&model=qwen2.5-0.5b")
        .await
        .text()
        .await
        .unwrap();
    // The first "Test on this offer" form, as a browser without JavaScript would post it.
    let button = page
        .find("data-testid=\"test-on-offer\"")
        .expect("a button");
    let form = &page[page[..button].rfind("<form").unwrap()..];
    let form = &form[..form.find("</form>").unwrap()];
    let fields: Vec<(String, String)> = form
        .split("<input ")
        .skip(1)
        .map(|input| {
            let attr = |name: &str| {
                let at = input.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
                input[at..at + input[at..].find('"').unwrap()].to_owned()
            };
            (attr("name"), attr("value"))
        })
        .collect();
    let value = |name: &str| {
        fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| panic!("{name} in {fields:?}"))
    };
    let gpu = value("config[pin_gpu][gpu_type]");
    let price: f64 = value("config[pin_gpu][price_per_hour]").parse().unwrap();
    let price = format!("${price:.3}/h");
    let confirm = form.split("data-confirm=\"").nth(1).unwrap();
    let confirm = &confirm[..confirm.find('"').unwrap()];
    assert!(
        confirm.starts_with(&format!("Rent {gpu} × "))
            && confirm.contains(&format!("on Vast.ai at {price}?")),
        "{confirm}"
    );
    assert!(
        form.contains(&format!("Test on this offer at {price}")),
        "{form}"
    );
    let posted = d
        .http
        .post(format!("{}/_fn/start_run", d.url))
        .header("origin", &d.url)
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert!(
        posted.status().is_success() || posted.status().is_redirection(),
        "{posted:?}"
    );
    let runs: Vec<Run> = d.get("/api/runs?limit=1").await.json().await.unwrap();
    let config = &runs[0].config;
    assert_eq!(
        config.pin_offer.as_deref(),
        Some(value("config[pin_offer]").as_str())
    );
    let pinned = config
        .pin_gpu
        .as_ref()
        .expect("the form sends the offer's GPU");
    assert_eq!(pinned.gpu_type, gpu);
    assert_eq!(
        pinned.gpu_count.to_string(),
        value("config[pin_gpu][gpu_count]")
    );
    crate::runs::post(&d, &format!("/api/runs/{}/cancel", runs[0].id), json!({})).await;
    finished(&d, &runs[0].id).await;
}
