use super::*;
use crate::registry::Quantization;

const RTX_5090: ComputeCapability = (12, 0);
const V100: ComputeCapability = (7, 0);
const T4: ComputeCapability = (7, 5);
const RTX_3090: ComputeCapability = (8, 6);
const RTX_4090: ComputeCapability = (8, 9);
const H100: ComputeCapability = (9, 0);

#[test]
fn every_engine_has_one_current_default() {
    for engine in Engine::ALL {
        let defaults = catalogue()
            .iter()
            .filter(|v| v.engine == engine && v.default)
            .count();
        assert_eq!(defaults, 1, "{engine}");
        let d = default_version(engine);
        assert_eq!(d.engine, engine);
        assert!(d.image.contains(d.version), "{}", d.image);
        assert!(d.pip.ends_with(d.version), "{}", d.pip);
    }
    assert_eq!(default_version(Engine::Vllm).version, "0.31.0");
    assert_eq!(default_version(Engine::Sglang).version, "0.5.21");
    assert_eq!(
        default_version(Engine::Sglang).image,
        "lmsysorg/sglang:v0.5.21-cu130"
    );
}

#[test]
fn versions_are_unique_and_found_by_release() {
    for v in catalogue() {
        assert_eq!(
            catalogue()
                .iter()
                .filter(|w| w.engine == v.engine && w.version == v.version)
                .count(),
            1
        );
        assert_eq!(find(v.engine, v.version), Some(v));
    }
    assert_eq!(find(Engine::Vllm, "v0.6.4").unwrap().version, "0.6.4");
    assert_eq!(find(Engine::Vllm, "0.6.5"), None);
    assert_eq!(find(Engine::Sglang, "0.6.4"), None);
}

#[test]
fn old_vllm_is_what_the_runner_pinned() {
    let old = find(Engine::Vllm, "0.6.4").unwrap();
    assert_eq!(old.image, "vllm/vllm-openai:v0.6.4");
    assert_eq!(old.pip, "vllm==0.6.4");
    assert_eq!(old.min_cuda, 12.1);
}

#[test]
fn vllm_0_6_4_refuses_blackwell_and_the_default_accepts_it() {
    let old = find(Engine::Vllm, "0.6.4").unwrap();
    let err = can_run(old, RTX_5090, Some(12.8), "none").unwrap_err();
    assert_eq!(
        err,
        Unsupported::ArchitectureUnsupported {
            engine: "vLLM 0.6.4".into(),
            cc: RTX_5090
        }
    );
    assert_eq!(err.key(), "sm_120 unsupported");
    assert_eq!(
        err.reason(),
        "vLLM 0.6.4 has no kernels for sm_120 (compute capability 12.0)"
    );
    assert!(can_run(default_version(Engine::Vllm), RTX_5090, Some(13.0), "none").is_ok());
    assert!(can_run(
        default_version(Engine::Sglang),
        RTX_5090,
        Some(13.0),
        "none"
    )
    .is_ok());
    // B200 (10.0) too; and a newer minor of a supported major (DGX Spark 12.1).
    assert!(can_run(default_version(Engine::Vllm), (10, 0), None, "fp8").is_ok());
    assert!(can_run(default_version(Engine::Vllm), (12, 1), None, "none").is_ok());
}

#[test]
fn current_vllm_refuses_volta_and_the_old_one_runs_it_in_fp16() {
    let current = default_version(Engine::Vllm);
    let err = can_run(current, V100, Some(13.0), "gptq").unwrap_err();
    assert_eq!(err.key(), "sm_70 unsupported");
    let old = find(Engine::Vllm, "0.6.4").unwrap();
    assert!(can_run(old, V100, Some(12.2), "gptq").is_ok());
    assert!(can_run(old, V100, Some(12.2), "fp16").is_ok());
    // bf16 checkpoints as published need Ampere: vLLM refuses bf16 below 8.0.
    let err = can_run(old, V100, Some(12.2), "none").unwrap_err();
    assert_eq!(err.key(), "none needs sm_80");
    // AWQ needs Turing.
    assert_eq!(
        can_run(old, V100, None, "awq").unwrap_err().key(),
        "awq needs sm_75"
    );
    assert!(can_run(current, T4, None, "awq").is_ok());
    assert_eq!(
        can_run(current, T4, None, "awq_marlin").unwrap_err().key(),
        "awq_marlin needs sm_80"
    );
}

#[test]
fn fp8_needs_ada_or_hopper() {
    for v in catalogue() {
        let err = can_run(v, RTX_3090, None, "fp8").unwrap_err();
        assert_eq!(
            err,
            Unsupported::QuantizationNeeds {
                quantization: "fp8".into(),
                min_cc: (8, 9),
                cc: RTX_3090
            },
            "{}",
            v.label()
        );
        assert_eq!(err.key(), "fp8 needs sm_89");
        assert_eq!(
            err.reason(),
            "fp8 needs compute capability 8.9 or newer; this GPU has 8.6"
        );
        assert!(can_run(v, RTX_4090, None, "FP8").is_ok(), "{}", v.label());
        assert!(can_run(v, H100, None, "fp8").is_ok(), "{}", v.label());
    }
}

#[test]
fn driver_too_old_is_refused_with_a_readable_reason() {
    let current = default_version(Engine::Vllm);
    let err = can_run(current, H100, Some(12.1), "none").unwrap_err();
    assert_eq!(
        err.reason(),
        "driver supports CUDA 12.1, vLLM 0.31.0 needs 13.0"
    );
    assert_eq!(err.key(), "driver too old for vLLM 0.31.0");
    assert_eq!(err.to_string(), err.reason());
    // The driver is checked before the architecture.
    let old = find(Engine::Vllm, "0.6.4").unwrap();
    assert_eq!(
        can_run(old, RTX_5090, Some(11.8), "none")
            .unwrap_err()
            .key(),
        "driver too old for vLLM 0.6.4"
    );
    // Exactly the needed version, a newer one, or an unknown driver pass.
    assert!(can_run(old, H100, Some(12.1), "none").is_ok());
    assert!(can_run(old, H100, Some(13.0), "none").is_ok());
    assert!(can_run(current, H100, None, "none").is_ok());
    // The last CUDA 12 SGLang serves hosts the current one refuses.
    let sglang_cu12 = find(Engine::Sglang, "0.5.19").unwrap();
    assert!(can_run(default_version(Engine::Sglang), H100, Some(12.9), "none").is_err());
    assert!(can_run(sglang_cu12, H100, Some(12.9), "none").is_ok());
}

#[test]
fn every_registry_quantization_is_known_and_others_are_not() {
    for v in catalogue() {
        for q in Quantization::ALL {
            assert!(v.quantization_min_cc(q.as_str()).is_some(), "{q}");
        }
        assert_eq!(v.quantization_min_cc(""), Some((8, 0)));
        let err = can_run(v, H100, None, "int3").unwrap_err();
        assert_eq!(err.key(), "unknown quantization int3");
    }
}

#[test]
fn engines_are_snake_case_on_the_wire() {
    assert_eq!(serde_json::to_string(&Engine::Vllm).unwrap(), r#""vllm""#);
    assert_eq!(
        serde_json::to_string(&Engine::Sglang).unwrap(),
        r#""sglang""#
    );
    assert_eq!(
        serde_json::from_str::<Engine>(r#""sglang""#).unwrap(),
        Engine::Sglang
    );
    assert_eq!(Engine::Vllm.to_string(), "vLLM");
    assert_eq!(Engine::Sglang.as_str(), "sglang");
}
