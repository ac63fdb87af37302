use super::*;

fn text(r: &ChatRequest) -> String {
    r.messages[0]["content"].as_str().unwrap().to_owned()
}

#[test]
fn synthetic_prompts_differ_and_ask_for_exact_lengths() {
    let w = Workload::synthetic(50, 64);
    let (a, b) = (w.request(0), w.request(1));
    assert_ne!(a.messages, b.messages);
    let words = text(&a).split_whitespace().count();
    assert!((50..60).contains(&words), "{words}");
    assert_eq!(a.max_tokens, 64);
    assert_eq!(a.extra["ignore_eos"], true);
    assert_eq!(a.extra["min_tokens"], 64);
}

#[test]
fn a_seed_gives_the_same_prompts_and_another_seed_others() {
    let one = Workload::synthetic(40, 8).seeded(7);
    let again = Workload::synthetic(40, 8).seeded(7);
    let other = Workload::synthetic(40, 8).seeded(8);
    assert_eq!(text(&one.request(3)), text(&again.request(3)));
    assert_ne!(text(&one.request(3)), text(&other.request(3)));
}

#[test]
fn a_fit_builds_prompts_to_the_tokens_asked() {
    let mut w = Workload::synthetic(512, 8);
    *w.fit_mut().unwrap() = Some(Calibration {
        overhead: 13.0,
        per_word: 1.3,
    });
    // (512 − 13) / 1.3 = 384 words, after the preamble's 5.
    let words = text(&w.request(0)).split_whitespace().count();
    assert_eq!(words, 384 + 5);
}

#[test]
fn trace_prompts_share_the_text_of_their_shared_blocks() {
    let w = Workload::shipped_trace("rag", 1).unwrap();
    let t = w.trace().unwrap().to_vec();
    // Two questions about the same document.
    let (i, j) = (0..t.len())
        .flat_map(|i| (i + 1..t.len()).map(move |j| (i, j)))
        .find(|&(i, j)| t[i].hash_ids[..6] == t[j].hash_ids[..6])
        .expect("two questions on one document");
    let (a, b) = (text(&w.request(i)), text(&w.request(j)));
    let shared: Vec<&str> = a.split(' ').take(6 * 512).collect();
    assert_eq!(shared, b.split(' ').take(6 * 512).collect::<Vec<_>>());
    assert_ne!(a, b, "their questions differ");
    assert_eq!(
        a.split(' ').count() as u32,
        t[i].input_length,
        "one word a token, uncalibrated"
    );
    let r = w.request(i);
    assert_eq!(r.max_tokens, t[i].output_length);
    assert_eq!(r.extra["min_tokens"], t[i].output_length);
    // Another document shares nothing at the start.
    let k = (0..t.len())
        .find(|&k| t[k].hash_ids[0] != t[i].hash_ids[0])
        .unwrap();
    assert_ne!(text(&w.request(k)).split(' ').next(), None);
    assert_ne!(
        text(&w.request(k)).split(' ').take(50).collect::<Vec<_>>(),
        a.split(' ').take(50).collect::<Vec<_>>()
    );
}

#[test]
fn a_trace_with_fewer_ids_than_blocks_still_makes_its_length() {
    let r = TraceRequest {
        timestamp: 5,
        input_length: 1200,
        output_length: 4,
        hash_ids: vec![1],
    };
    assert_eq!(trace_prompt(&r, 0, &None).split(' ').count(), 1200);
}

#[test]
fn prompt_files_take_prompts_or_messages_and_name_the_bad_line() {
    let w = Workload::from_jsonl(
        "{\"prompt\": \"hi\", \"max_tokens\": 5}\n\n{\"messages\": [{\"role\": \"user\", \"content\": \"yo\"}]}\n",
        32,
    )
    .unwrap();
    assert_eq!(w.request(0).max_tokens, 5);
    assert_eq!(w.request(1).max_tokens, 32);
    assert_eq!(w.request(2).max_tokens, 5, "used in turn");
    let bad = Workload::from_jsonl("{\"prompt\": \"a\"}\n{\"text\": 1}\n", 8).unwrap_err();
    assert!(bad.starts_with("line 2:"), "{bad}");
    assert!(Workload::from_jsonl("\n", 8).is_err());
}
