//! Server-sent events as an OpenAI-compatible server streams them: `data: <json>` lines,
//! each event ended by a blank line, `data: [DONE]` at the end. The bytes come in pieces cut
//! anywhere, a character or a line in two; what is read does not depend on the cuts.

use crate::runner::bounded::Utf8Stream;

/// Reads events from a stream's pieces.
#[derive(Debug)]
pub struct SseEvents {
    text: Utf8Stream,
    buffer: String,
    max_event: usize,
}

impl SseEvents {
    /// A reader that refuses an event larger than `max_event` bytes.
    pub fn new(max_event: usize) -> Self {
        Self {
            text: Utf8Stream::default(),
            buffer: String::new(),
            max_event,
        }
    }

    /// The data of every event that `more` completes, in order (`[DONE]` left out); an
    /// error when the event under way grows past the limit.
    pub fn push(&mut self, more: &[u8]) -> Result<Vec<String>, String> {
        let text = self.text.push(more);
        self.buffer.push_str(&text);
        let mut data = Vec::new();
        while let Some(end) = self.buffer.find("\n\n") {
            for line in self.buffer[..end].lines() {
                let Some(value) = line.strip_prefix("data:") else {
                    continue;
                };
                let value = value.strip_prefix(' ').unwrap_or(value);
                if value.trim() != "[DONE]" {
                    data.push(value.to_owned());
                }
            }
            self.buffer.drain(..end + 2);
        }
        if self.buffer.len() > self.max_event {
            return Err(format!(
                "a stream event is larger than {} bytes",
                self.max_event
            ));
        }
        Ok(data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A stream of `contents` as vLLM sends it.
    fn stream(contents: &[String]) -> Vec<u8> {
        let mut out = String::new();
        for c in contents {
            let chunk = serde_json::json!({"choices": [{"delta": {"content": c}}]});
            out += &format!("data: {chunk}\n\n");
        }
        out += "data: [DONE]\n\n";
        out.into_bytes()
    }

    fn contents(data: &[String]) -> Vec<String> {
        data.iter()
            .map(|d| {
                let v: serde_json::Value = serde_json::from_str(d).unwrap();
                v["choices"][0]["delta"]["content"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect()
    }

    proptest! {
        #![proptest_config(crate::proptest_config())]

        /// Any text (emoji, CJK, newlines inside JSON strings), cut into pieces anywhere:
        /// the same chunks, whole.
        #[test]
        fn a_stream_cut_anywhere_reads_the_same(
            sent in prop::collection::vec(any::<String>(), 0..6),
            cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..8),
        ) {
            let bytes = stream(&sent);
            let mut at: Vec<usize> = cuts.iter().map(|i| i.index(bytes.len() + 1)).collect();
            at.sort_unstable();
            let mut events = SseEvents::new(1 << 20);
            let mut data = Vec::new();
            let mut from = 0;
            for cut in at.into_iter().chain([bytes.len()]) {
                data.extend(events.push(&bytes[from..cut]).unwrap());
                from = cut;
            }
            prop_assert_eq!(contents(&data), sent);
        }

        /// Whatever a stranger's server sends: events or an error, no panic.
        #[test]
        fn any_bytes_are_read_or_refused(
            pieces in prop::collection::vec(
                prop_oneof![
                    prop::collection::vec(any::<u8>(), 0..64),
                    "(data: ?|\n|\\[DONE\\]|\\{\\}|[a-z\"])*".prop_map(String::into_bytes),
                ],
                0..8,
            ),
        ) {
            let mut events = SseEvents::new(256);
            for piece in &pieces {
                if events.push(piece).is_err() {
                    break;
                }
            }
        }
    }

    #[test]
    fn an_event_past_the_limit_is_refused_and_done_is_left_out() {
        let mut events = SseEvents::new(16);
        assert_eq!(
            events.push(b"data: {}\n\ndata: [DONE]\n\n").unwrap(),
            ["{}"]
        );
        assert!(events.push(&[b'x'; 17]).is_err());
    }
}
