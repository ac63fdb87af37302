use super::*;
use crate::engines::{find, Engine};

fn old() -> &'static EngineVersion {
    find(Engine::Vllm, "0.6.4").unwrap()
}

fn offer(id: &str, gpu: &str, vram: u32, cuda: Option<f64>) -> Offer {
    serde_json::from_value(serde_json::json!({
        "id": id, "provider": "vastai", "gpu_type": gpu, "gpu_count": 1, "vram_gb": vram,
        "price_per_hour": 0.5, "available": true, "cuda_version": cuda,
    }))
    .unwrap()
}

#[test]
fn the_old_vllm_leaves_out_blackwell_and_old_drivers_and_keeps_unknown_gpus() {
    let offers = vec![
        offer("a", "RTX 4090", 24, Some(12.4)),
        offer("b", "RTX 5090", 32, Some(12.8)),
        offer("c", "RTX 3090", 24, Some(11.8)),
        offer("d", "Mystery GPU 9000", 24, None),
        offer("e", "V100", 16, Some(12.2)),
    ];
    let (kept, left) = split(offers, old(), "none");
    let ids: Vec<&str> = kept.iter().map(|o| o.id.as_str()).collect();
    assert_eq!(ids, ["a", "d", "e"]);
    assert_eq!(left.unknown_gpus, 1);
    assert_eq!(left.count(), 2);
    let summary = left.summary().unwrap();
    assert!(summary.starts_with("2 offers left out: "), "{summary}");
    assert!(summary.contains("1 sm_120 unsupported"), "{summary}");
    assert!(
        summary.contains("1 driver too old for vLLM 0.6.4"),
        "{summary}"
    );
}

#[test]
fn fp8_on_ampere_is_left_out_with_its_reason() {
    let offers = vec![
        offer("ampere", "A100 80GB PCIe", 80, Some(12.4)),
        offer("ada", "L40S", 48, Some(12.4)),
    ];
    let (kept, left) = split(offers, old(), "fp8");
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0].id.as_str(), "ada");
    assert_eq!(
        left.summary().unwrap(),
        "1 offer left out: 1 fp8 needs sm_89"
    );
}

#[test]
fn an_unknown_gpu_with_an_old_driver_is_still_refused() {
    let current = crate::engines::default_version(Engine::Vllm);
    assert!(matches!(
        check(&offer("u", "Mystery GPU", 24, Some(12.0)), current, "none"),
        Verdict::Cannot(Unsupported::DriverTooOld { .. })
    ));
    assert!(matches!(
        check(&offer("u", "Mystery GPU", 24, None), current, "none"),
        Verdict::UnknownGpu
    ));
}

#[test]
fn nothing_left_out_says_nothing() {
    let (_, left) = split(vec![offer("a", "RTX 4090", 24, Some(12.4))], old(), "awq");
    assert_eq!(left.summary(), None);
}
