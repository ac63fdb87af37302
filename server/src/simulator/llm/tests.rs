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

/// A fast server for `qwen2.5-0.5b` with key `k`, and a request builder for `path`.
fn fast() -> SimLlm {
    let mut profile = LlmProfile::for_hardware("qwen2.5-0.5b", "H100 SXM5", 1, "k".into());
    profile.ttft_ms = 1.0;
    profile.ms_per_token = 0.2;
    SimLlm::start(profile, 0).unwrap()
}

async fn post(llm: &SimLlm, path: &str, body: serde_json::Value) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("http://{}/v1/{path}", llm.addr()))
        .bearer_auth("k")
        .json(&body)
        .send()
        .await
        .unwrap()
}

/// The `data:` payloads of an event stream, `[DONE]` left out.
fn events(body: &str) -> Vec<serde_json::Value> {
    body.split("\n\n")
        .filter_map(|e| e.strip_prefix("data: "))
        .filter(|d| *d != "[DONE]")
        .map(|d| serde_json::from_str(d).unwrap())
        .collect()
}

#[tokio::test]
async fn a_plain_completion_answers_each_prompt_with_text_and_usage() {
    let llm = fast();
    let one = post(
        &llm,
        "completions",
        json!({"model": "qwen2.5-0.5b", "prompt": "Once upon a time", "max_tokens": 5}),
    )
    .await;
    assert_eq!(one.status(), 200);
    let one: serde_json::Value = one.json().await.unwrap();
    assert_eq!(one["object"], "text_completion");
    assert!(one["id"].as_str().unwrap().starts_with("cmpl-"));
    assert_eq!(
        one["choices"][0]["text"],
        "Large language models predict the"
    );
    assert_eq!(one["choices"][0]["finish_reason"], "length");
    assert_eq!(one["usage"]["completion_tokens"], 5);
    assert_eq!(one["usage"]["prompt_tokens"], 4 + 8);

    let two: serde_json::Value = post(
        &llm,
        "completions",
        json!({"model": "qwen2.5-0.5b", "prompt": ["What is 15 + 27?", "Hi"], "max_tokens": 3}),
    )
    .await
    .json()
    .await
    .unwrap();
    let choices = two["choices"].as_array().unwrap();
    assert_eq!(choices.len(), 2, "one choice per prompt");
    assert_eq!(
        (&choices[0]["text"], &choices[0]["finish_reason"]),
        (&json!("42"), &json!("stop"))
    );
    assert_eq!(choices[1]["index"], 1);
    assert_eq!(two["usage"]["completion_tokens"], 1 + 3);

    let bad = post(
        &llm,
        "completions",
        json!({"model": "qwen2.5-0.5b", "prompt": 7}),
    )
    .await;
    assert_eq!(bad.status(), 400);
    let other = post(
        &llm,
        "completions",
        json!({"model": "gpt-4", "prompt": "x"}),
    )
    .await;
    assert_eq!(other.status(), 404);
}

#[tokio::test]
async fn a_streamed_completion_sends_text_chunks_then_usage_when_asked() {
    let llm = fast();
    let body = |usage: bool| {
        json!({"model": "qwen2.5-0.5b", "prompt": "Tell me", "max_tokens": 10, "stream": true,
               "stream_options": {"include_usage": usage}})
    };
    let reply = post(&llm, "completions", body(true)).await;
    assert_eq!(reply.headers()["content-type"], "text/event-stream");
    let text = reply.text().await.unwrap();
    assert!(text.ends_with("data: [DONE]\n\n"), "{text}");
    let events = events(&text);
    let (last, chunks) = events.split_last().unwrap();
    assert!(chunks.iter().all(|c| c["object"] == "text_completion"));
    let said: String = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["text"].as_str())
        .collect();
    assert_eq!(said.split_whitespace().count(), 10, "{said}");
    assert_eq!(
        chunks.last().unwrap()["choices"][0]["finish_reason"],
        "length"
    );
    assert_eq!(last["choices"], json!([]), "the usage chunk has no choices");
    assert_eq!(last["usage"]["completion_tokens"], 10);

    let text = post(&llm, "completions", body(false))
        .await
        .text()
        .await
        .unwrap();
    assert!(!text.contains("\"usage\""), "not asked for: {text}");

    let chat = post(
        &llm,
        "chat/completions",
        json!({"model": "qwen2.5-0.5b", "stream": true, "max_tokens": 3,
               "stream_options": {"include_usage": true},
               "messages": [{"role": "user", "content": "Hi"}]}),
    )
    .await
    .text()
    .await
    .unwrap();
    let events = self::events(&chat);
    assert_eq!(events[0]["choices"][0]["delta"]["role"], "assistant");
    assert!(events
        .iter()
        .all(|e| e["object"] == "chat.completion.chunk"));
    assert_eq!(events.last().unwrap()["usage"]["completion_tokens"], 3);
}

/// Two questions about the same `document`, one after the other.
async fn ask_both(llm: &SimLlm, document: &str) {
    for question in ["who?", "where?"] {
        let content = format!("{document} Question: {question}");
        let body = json!({"model": "qwen2.5-7b", "stream": true, "max_tokens": 2,
            "messages": [{"role": "user", "content": content}]});
        post(llm, "chat/completions", body)
            .await
            .text()
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn prefix_caching_serves_a_prompts_computed_start_and_lowers_its_time_to_first_token() {
    // A slow prefill (a 7B model's), so the part not computed again shows.
    let mut profile = LlmProfile::for_hardware("qwen2.5-7b", "RTX 3090", 1, "k".into());
    profile.prefix_caching = true;
    let llm = SimLlm::start(profile.clone(), 0).unwrap();
    let document: Vec<String> = (0..640).map(|i| format!("word{i}")).collect();
    let document = document.join(" ");
    ask_both(&llm, &document).await;
    let ttft = llm.served_ttft_ms();
    let cached = llm.cached_prompt_tokens();
    // The second shares the document's whole blocks with the first.
    assert!(cached >= 1000, "{cached}");
    let saved = profile.prefill_ms(cached) - profile.prefill_ms(0);
    assert!(
        ttft[0] - ttft[1] > 0.8 * saved,
        "{ttft:?}, {saved} ms saved by the model"
    );
    // Turned off, nothing is served from it.
    let off = SimLlm::start(
        LlmProfile {
            prefix_caching: false,
            ..profile
        },
        0,
    )
    .unwrap();
    ask_both(&off, &document).await;
    assert_eq!(off.cached_prompt_tokens(), 0);
    // vLLM's is on unless turned off.
    let launched = |flags: &[&str]| {
        let mut args = vec!["--model".to_owned(), "qwen2.5-7b".to_owned()];
        args.extend(flags.iter().map(|f| (*f).to_owned()));
        let gpus = crate::simulator::vllm::Gpus {
            gpu_type: "RTX 3090".into(),
            count: 1,
            vram_gb: 24,
            slowdown: 1.0,
        };
        let kind = crate::simulator::vllm::Kind::Process { pid: 1 };
        crate::simulator::vllm::Vllm::launch(kind, &args, "k".into(), &gpus, 1.0)
            .profile
            .prefix_caching
    };
    assert!(launched(&[]));
    assert!(!launched(&["--no-enable-prefix-caching"]));
}
