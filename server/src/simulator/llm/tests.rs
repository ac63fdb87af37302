use super::*;

#[test]
fn faster_gpus_and_smaller_models_are_faster() {
    let small_fast = LlmProfile::for_hardware("qwen2.5-0.5b", "H100 SXM5", 1, "k".into());
    let small_slow = LlmProfile::for_hardware("qwen2.5-0.5b", "RTX 3060", 1, "k".into());
    let big_fast = LlmProfile::for_hardware("Qwen/Qwen2.5-7B-Instruct", "H100 SXM5", 1, "k".into());
    assert!(small_fast.ms_per_token < small_slow.ms_per_token);
    assert!(small_fast.ms_per_token < big_fast.ms_per_token);
    assert!(small_fast.ttft_ms < big_fast.ttft_ms);
}

#[tokio::test]
async fn a_crash_breaks_the_stream_in_flight_and_closes_the_port() {
    let llm = SimLlm::start(
        LlmProfile::for_hardware("qwen2.5-0.5b", "H100 SXM5", 1, "k".into()),
        2,
    )
    .unwrap();
    let url = format!("http://{}/v1/chat/completions", llm.addr());
    let http = reqwest::Client::new();
    let ask = || {
        http.post(&url).bearer_auth("k").json(&json!({
            "model": "qwen2.5-0.5b", "stream": true, "max_tokens": 40,
            "messages": [{"role": "user", "content": "Tell me about GPUs"}]
        }))
    };
    let first = ask().send().await.unwrap().text().await.unwrap();
    assert!(first.ends_with("data: [DONE]\n\n"), "{first}");
    assert!(!llm.crashed());
    let mut second = ask().send().await.unwrap();
    let mut received = String::new();
    let broke = loop {
        match second.chunk().await {
            Ok(Some(piece)) => received.push_str(&String::from_utf8_lossy(&piece)),
            Ok(None) => break false,
            Err(_) => break true,
        }
    };
    assert!(
        broke,
        "the stream ends in an error, not cleanly: {received}"
    );
    assert!(
        received.contains("\"content\""),
        "it broke partway: {received}"
    );
    assert!(!received.contains("[DONE]"));
    assert!(llm.crashed());
    assert!(ask().send().await.is_err(), "nothing listens any more");
}
