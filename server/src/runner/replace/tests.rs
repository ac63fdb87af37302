use super::*;
use gdl_model::engines::{find, Engine};
use gdl_model::runs::GpuInfo;

fn offer(gpu: &str, count: u32, vram_gb: u32) -> Offer {
    serde_json::from_value(serde_json::json!({
        "id": "vastai-1", "provider": "vastai", "gpu_type": gpu, "gpu_count": count,
        "vram_gb": vram_gb, "price_per_hour": 0.3, "reliability": 0.9, "available": true
    }))
    .unwrap()
}

/// A host with `count` × `name` of `mib`, a driver for `cuda` and `disk` GB free.
fn report(name: &str, mib: u64, count: usize, cuda: &str, disk: f64) -> HostReport {
    let gpu = GpuInfo {
        name: name.into(),
        memory_total_mib: mib,
        memory_used_mib: 3,
        driver: "580.95.05".into(),
        temperature_c: Some(40),
        utilization_pct: Some(0),
    };
    HostReport {
        gpus: vec![gpu; count],
        cuda_version: Some(cuda.into()),
        disk_free_gb: Some(disk),
        ..Default::default()
    }
}

#[test]
fn a_host_as_offered_with_a_new_enough_driver_and_disk_is_kept() {
    let new = find(Engine::Vllm, "0.31.0").unwrap();
    let good = report("RTX 4090", 24564, 2, "13.0", 80.0);
    assert_eq!(
        unsuitable(&good, &offer("RTX 4090", 2, 24), new, 21.0),
        None
    );
    // Names as nvidia-smi spells them and as the broker does find the same card.
    let a100 = report("A100-SXM4-80GB", 81920, 1, "13.1", 80.0);
    assert_eq!(
        unsuitable(&a100, &offer("A100 SXM4", 1, 80), new, 21.0),
        None
    );
    // A card the catalogue does not know, or no CUDA version printed: not judged.
    let mut unknown = report("Mystery 9000", 24564, 1, "", 80.0);
    unknown.cuda_version = None;
    assert_eq!(
        unsuitable(&unknown, &offer("RTX 4090", 1, 24), new, 21.0),
        None
    );
}

#[test]
fn each_shortfall_is_named() {
    let new = find(Engine::Vllm, "0.31.0").unwrap();
    let old = find(Engine::Vllm, "0.6.4").unwrap();
    let o = offer("RTX 4090", 2, 24);
    let why = |r: &HostReport, e| unsuitable(r, &o, e, 21.0).unwrap_or_default();
    let none = HostReport::default();
    assert!(why(&none, new).contains("no GPU is visible"));
    let one = report("RTX 4090", 24564, 1, "13.0", 80.0);
    assert_eq!(why(&one, new), "1 GPU(s) seen, the offer lists 2");
    let other = report("RTX 3090", 24576, 2, "13.0", 80.0);
    assert_eq!(
        why(&other, new),
        "its GPU is RTX 3090, the offer lists RTX 4090"
    );
    let small = report("RTX 4090", 12288, 2, "13.0", 80.0);
    assert!(why(&small, new).contains("12 GB of memory, the offer lists 24 GB"));
    let old_driver = report("RTX 4090", 24564, 2, "12.4", 80.0);
    assert_eq!(
        why(&old_driver, new),
        "driver supports CUDA 12.4, needs 13.0"
    );
    assert_eq!(
        unsuitable(&old_driver, &o, old, 21.0),
        None,
        "vLLM 0.6.4 needs CUDA 12.1 only"
    );
    let full = report("RTX 4090", 24564, 2, "13.0", 9.6);
    assert!(why(&full, new).starts_with("10 GB disk free, needs 21 GB"));
}
