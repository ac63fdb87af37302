use super::*;

#[test]
fn each_bad_setting_names_its_field() {
    let bad = |json: &str| {
        let s: EngineSettings = serde_json::from_str(json).unwrap();
        s.check(Engine::Vllm).unwrap_err()
    };
    assert_eq!(bad(r#"{"max_model_len":100}"#).field, "max_model_len");
    assert_eq!(bad(r#"{"max_num_seqs":0}"#).field, "max_num_seqs");
    assert_eq!(
        bad(r#"{"gpu_memory_utilization":1.5}"#).field,
        "gpu_memory_utilization"
    );
    let e = bad(r#"{"extra_flags":["--port=9"]}"#);
    assert!(e.message.contains("--port is not one of"), "{e}");
    let e = bad(r#"{"extra_flags":["seed"]}"#);
    assert!(e.message.contains("not a flag"), "{e}");
    let e = bad(r#"{"extra_flags":["--seed=1\nrm"]}"#);
    assert!(e.message.contains("one line"), "{e}");
    let many = format!(
        r#"{{"extra_flags":[{}]}}"#,
        vec![r#""--seed""#; 13].join(",")
    );
    assert!(bad(&many).message.contains("at most 12"));
    // A flag of one engine is not the other's.
    let s: EngineSettings = serde_json::from_str(r#"{"extra_flags":["--random-seed=3"]}"#).unwrap();
    assert!(s.check(Engine::Sglang).is_ok());
    assert!(s.check(Engine::Vllm).is_err());
    assert!(serde_json::from_str::<EngineSettings>(r#"{"max_len":1}"#).is_err());
}

#[test]
fn defaults_add_only_the_memory_share_and_the_summary_names_what_was_set() {
    let s = EngineSettings::default();
    assert_eq!(
        s.flags(Engine::Vllm, 1),
        ["--gpu-memory-utilization", "0.9"]
    );
    assert_eq!(s.summary(), "");
    let s = EngineSettings {
        max_model_len: Some(32768),
        dtype: Dtype::Half,
        kv_cache_dtype: KvCacheDtype::Fp8,
        enforce_eager: true,
        trust_remote_code: true,
        ..Default::default()
    };
    assert_eq!(
        s.flags(Engine::Sglang, 1).join(" "),
        "--context-length 32768 --mem-fraction-static 0.9 --dtype half --kv-cache-dtype fp8_e4m3 --disable-cuda-graph --trust-remote-code"
    );
    assert_eq!(
        s.summary(),
        "context 32,768 · dtype half · KV cache fp8 · eager · trusts remote code"
    );
    assert_eq!(
        serde_json::to_string(&EngineSettings::default()).unwrap(),
        "{}"
    );
}

#[test]
fn a_forms_flags_come_one_a_line() {
    let s: EngineSettings =
        serde_json::from_str(r#"{"extra_flags":"--seed=7\r\n\n  --disable-log-stats  \n"}"#)
            .unwrap();
    assert_eq!(s.extra_flags, ["--seed=7", "--disable-log-stats"]);
    let s: EngineSettings = serde_json::from_str(r#"{"extra_flags":""}"#).unwrap();
    assert!(s.extra_flags.is_empty());
    assert!(serde_json::from_str::<EngineSettings>(r#"{"extra_flags":7}"#).is_err());
}

#[test]
fn copies_side_by_side_split_the_gpus_and_must_divide_them() {
    let two = EngineSettings {
        data_parallel_size: Some(2),
        ..Default::default()
    };
    // Four GPUs: two copies, each over two of them.
    assert_eq!(
        two.flags(Engine::Vllm, 4).join(" "),
        "--gpu-memory-utilization 0.9 --tensor-parallel-size 2 --data-parallel-size 2"
    );
    // Two GPUs: a copy on each, no tensor parallelism.
    assert_eq!(
        two.flags(Engine::Sglang, 2).join(" "),
        "--mem-fraction-static 0.9 --dp-size 2"
    );
    // None asked: one copy over all of them, as before.
    assert_eq!(
        EngineSettings::default().flags(Engine::Vllm, 2).join(" "),
        "--gpu-memory-utilization 0.9 --tensor-parallel-size 2"
    );
    assert_eq!(two.summary(), "2 copies (data parallel)");
    assert!(two.fits_gpu_count(4).is_ok());
    assert!(two.fits_gpu_count(2).is_ok());
    let e = two.fits_gpu_count(3).unwrap_err();
    assert_eq!(e.field, "data_parallel_size");
    assert!(e.message.contains("do not divide 3 GPU(s)"), "{e}");
    assert!(two.fits_gpu_count(1).is_err());
    assert!(EngineSettings::default().fits_gpu_count(3).is_ok());
    let s: EngineSettings = serde_json::from_str(r#"{"data_parallel_size":9}"#).unwrap();
    assert_eq!(
        s.check(Engine::Vllm).unwrap_err().field,
        "data_parallel_size"
    );
    // The split is the setting's, not an extra flag's.
    let s: EngineSettings = serde_json::from_str(r#"{"extra_flags":["--dp-size=2"]}"#).unwrap();
    assert!(s.check(Engine::Sglang).is_err());
}
