use super::*;

#[test]
fn a_model_split_across_gpus_needs_its_share_on_each_plus_the_context() {
    let m = resolve("qwen2.5-7b", Quantization::None).unwrap();
    assert_eq!(m.vram_per_gpu(1), m.vram_gb);
    let two = m.vram_per_gpu(2);
    assert!(
        two < m.vram_gb && two as f64 >= (m.weights_gb / 2.0),
        "{two} of {}",
        m.vram_gb
    );
    assert!(m.vram_per_gpu(4) < two);
    assert!(m.fits(1, m.vram_gb, 1));
    assert!(!m.fits(1, m.vram_gb - 1, 4));
    assert!(m.fits(2, two, 2));
    assert!(!m.fits(2, two, 1), "two GPUs asked, one offered");
}

#[test]
fn presets_resolve_by_id_and_alias() {
    let by_alias = resolve("QWEN2.5-1.5B", Quantization::None).unwrap();
    assert_eq!(by_alias.model, "Qwen/Qwen2.5-1.5B-Instruct");
    assert_eq!(by_alias.served_repo, "Qwen/Qwen2.5-1.5B-Instruct");
    let awq = resolve("qwen2.5-7b", Quantization::Awq).unwrap();
    assert_eq!(awq.served_repo, "Qwen/Qwen2.5-7B-Instruct-AWQ");
    assert!(awq.vram_gb < resolve("qwen2.5-7b", Quantization::None).unwrap().vram_gb);
    for p in PRESETS {
        assert!(is_valid_repo_id(p.id), "{}", p.id);
        for (_, repo) in p.quantized {
            assert!(is_valid_repo_id(repo), "{repo}");
        }
    }
}

#[test]
fn vram_estimate_from_params_and_dtype() {
    // 7.62 B in FP16: 15.2 GB weights + max(1.5, 3.8) + 1.0 = 20.1 → 21 GB.
    assert_eq!(estimate(7.62, Quantization::None), (15.2, 4.8, 21));
    // 0.49 B: 1.0 GB weights + 1.5 + 1.0 → 4 GB.
    assert_eq!(estimate(0.49, Quantization::None), (1.0, 2.5, 4));
    // AWQ: 4.3 GB weights + 1.5 + 1.0 = 6.8 → 7 GB.
    assert_eq!(estimate(7.62, Quantization::Awq).2, 7);
}

#[test]
fn quantization_without_a_checkpoint_is_refused() {
    let err = resolve("gemma-2b", Quantization::Awq).unwrap_err();
    assert_eq!(err.code().as_str(), "quantization_unavailable");
    assert!(err.hint().contains("none, fp8"));
    let llama = resolve("llama3.2-1b", Quantization::Gptq).unwrap_err();
    assert!(llama.hint().contains("awq"), "{}", llama.hint());
    assert!(
        resolve("gemma-2b", Quantization::Fp8).is_ok(),
        "fp8 quantizes at load time"
    );
}

#[test]
fn shell_metacharacters_are_refused_before_anything_else() {
    for bad in [
        "Qwen/Qwen2.5-1.5B; rm -rf /",
        "Qwen/$(reboot)-7B",
        "Qwen/Qwen`id`-7B",
        "a/b c-7B",
        "Qwen/Qwen2.5-7B'\"",
        "../../etc/passwd",
        "owner/..-7B",
        "justname-7B",
        "a/b/c-7B",
        "org/model-7B\nnext",
    ] {
        assert_eq!(
            resolve(bad, Quantization::None)
                .unwrap_err()
                .code()
                .as_str(),
            "invalid_model_id",
            "{bad:?}"
        );
    }
}

#[test]
fn unknown_ids_need_a_readable_size() {
    let m = resolve("someorg/Cool-Model-13B-Chat", Quantization::None).unwrap();
    assert_eq!(m.params_b, 13.0);
    assert_eq!(
        params_from_name("mistralai/Mixtral-8x7B-Instruct-v0.1"),
        Some(56.0)
    );
    assert_eq!(params_from_name("x/Qwen2.5-0.5B-Instruct"), Some(0.5));
    assert_eq!(params_from_name("x/bert-base"), None);
    assert_eq!(
        resolve("someorg/mystery", Quantization::None)
            .unwrap_err()
            .code()
            .as_str(),
        "unknown_model"
    );
    let awq = resolve("someorg/Thing-7B-AWQ", Quantization::Awq).unwrap();
    assert_eq!(awq.served_repo, "someorg/Thing-7B-AWQ");
}
