//! Rented hosts belong to strangers: whatever they print or serve, what we keep is bounded.
//! Command output keeps its tail, lines are cut at [`MAX_LINE`], and HTTP bodies are read up
//! to a limit.

/// The longest line kept (log lines, streamed output), in bytes.
pub const MAX_LINE: usize = 2 * 1024;
/// Output kept per stream of one command: its last this many bytes.
pub const EXEC_TAIL: usize = 64 * 1024;

/// `text` cut to at most `max` bytes (at a character boundary), saying how much was cut.
pub fn truncate(text: &str, max: usize) -> std::borrow::Cow<'_, str> {
    if text.len() <= max {
        return text.into();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… [{} bytes cut]", &text[..end], text.len() - end).into()
}

/// The last `cap` bytes of a stream, and how many came before them.
#[derive(Debug)]
pub struct Tail {
    text: String,
    cap: usize,
    dropped: u64,
}

impl Tail {
    pub fn new(cap: usize) -> Self {
        Self {
            text: String::new(),
            cap,
            dropped: 0,
        }
    }

    pub fn push(&mut self, more: &str) {
        self.text.push_str(more);
        // Trim only now and then (at twice the cap), so pushes stay cheap.
        if self.text.len() > self.cap * 2 {
            let mut cut = self.text.len() - self.cap;
            while !self.text.is_char_boundary(cut) {
                cut += 1;
            }
            self.dropped += cut as u64;
            self.text.drain(..cut);
        }
    }

    /// What was kept, with a note of what was not.
    pub fn finish(mut self) -> String {
        if self.text.len() > self.cap {
            let mut cut = self.text.len() - self.cap;
            while !self.text.is_char_boundary(cut) {
                cut += 1;
            }
            self.dropped += cut as u64;
            self.text.drain(..cut);
        }
        if self.dropped == 0 {
            self.text
        } else {
            format!("[{} earlier bytes omitted]\n{}", self.dropped, self.text)
        }
    }
}

/// Splits streamed output into lines (at `\n` or `\r`), cutting any line at [`MAX_LINE`]
/// without waiting for its end (the rest of an over-long line is skipped).
#[derive(Debug, Default)]
pub struct Lines {
    pending: String,
    skipping: bool,
}

impl Lines {
    /// Feeds more output; calls `each` with every complete (or over-long) line.
    pub fn feed(&mut self, text: &str, each: &mut dyn FnMut(&str)) {
        let mut rest = text;
        while !rest.is_empty() {
            match rest.find(['\n', '\r']) {
                Some(end) => {
                    if !std::mem::take(&mut self.skipping) {
                        self.pending.push_str(&rest[..end]);
                        self.emit(each);
                    }
                    self.pending.clear();
                    rest = &rest[end + 1..];
                }
                None => {
                    if !self.skipping {
                        self.pending.push_str(rest);
                        if self.pending.len() > MAX_LINE {
                            self.emit(each);
                            self.pending.clear();
                            self.skipping = true;
                        }
                    }
                    rest = "";
                }
            }
        }
    }

    /// The last line, if it had no end.
    pub fn finish(mut self, each: &mut dyn FnMut(&str)) {
        if !self.skipping {
            self.emit(each);
        }
    }

    fn emit(&mut self, each: &mut dyn FnMut(&str)) {
        if !self.pending.trim().is_empty() {
            each(&truncate(self.pending.trim_end(), MAX_LINE));
        }
    }
}

/// Bytes that arrive in pieces (SSH packets, HTTP chunks) as text: a character split
/// between two pieces is decoded whole, not as two replacement characters. Invalid bytes
/// become U+FFFD, as `String::from_utf8_lossy` does.
#[derive(Debug, Default)]
pub struct Utf8Stream {
    /// The start of a character whose other bytes have not come yet (at most 3 bytes).
    pending: Vec<u8>,
}

impl Utf8Stream {
    /// The text of `more`, after what was pending; the end of a character cut short is
    /// kept for the next piece.
    pub fn push(&mut self, more: &[u8]) -> String {
        let joined;
        let bytes: &[u8] = if self.pending.is_empty() {
            more
        } else {
            joined = [std::mem::take(&mut self.pending).as_slice(), more].concat();
            &joined
        };
        let mut text = String::with_capacity(bytes.len());
        let mut rest = bytes;
        loop {
            match std::str::from_utf8(rest) {
                Ok(valid) => {
                    text.push_str(valid);
                    return text;
                }
                Err(e) => {
                    let (valid, after) = rest.split_at(e.valid_up_to());
                    text.push_str(std::str::from_utf8(valid).unwrap_or_default());
                    match e.error_len() {
                        Some(bad) => {
                            text.push(char::REPLACEMENT_CHARACTER);
                            rest = &after[bad..];
                        }
                        None => {
                            self.pending = after.to_vec();
                            return text;
                        }
                    }
                }
            }
        }
    }

    /// What is left when the stream ends: a character cut short becomes U+FFFD.
    pub fn finish(self) -> String {
        String::from_utf8_lossy(&self.pending).into_owned()
    }
}

/// Reads a response body up to `max` bytes; a longer one is an error.
pub async fn read_limited(mut response: reqwest::Response, max: usize) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| e.to_string())? {
        if body.len() + chunk.len() > max {
            return Err(format!("the body is larger than {max} bytes"));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(crate::proptest_config())]

        /// Whatever bytes come, cut wherever: the same text as decoding them whole.
        #[test]
        fn text_in_pieces_reads_as_text_whole(
            bytes in prop::collection::vec(
                prop_oneof![any::<u8>(), Just(0xe2), Just(0x82), Just(0xac), Just(0xf0), Just(0x9f)],
                0..64,
            ),
            cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..6),
        ) {
            let mut at: Vec<usize> = cuts.iter().map(|i| i.index(bytes.len() + 1)).collect();
            at.sort_unstable();
            let mut stream = Utf8Stream::default();
            let mut text = String::new();
            let mut from = 0;
            for cut in at.into_iter().chain([bytes.len()]) {
                text += &stream.push(&bytes[from..cut]);
                from = cut;
            }
            text += &stream.finish();
            prop_assert_eq!(text, String::from_utf8_lossy(&bytes));
        }

        /// Output of any shape, fed in any pieces: lines are never longer than the cap and
        /// the tail never panics.
        #[test]
        fn lines_and_tails_take_any_output(
            pieces in prop::collection::vec(
                prop_oneof![any::<String>(), "[a-zé\n\r]{0,40}", Just("x".repeat(MAX_LINE + 7))],
                0..8,
            ),
            cap in 1usize..64,
            cut in 0usize..80,
        ) {
            let mut lines = Lines::default();
            let mut tail = Tail::new(cap);
            let mut longest = 0;
            for piece in &pieces {
                tail.push(piece);
                lines.feed(piece, &mut |l| longest = longest.max(l.len()));
                let _ = truncate(piece, cut);
            }
            lines.finish(&mut |l| longest = longest.max(l.len()));
            prop_assert!(longest <= MAX_LINE + 40, "{}", longest);
            let _ = tail.finish();
        }
    }

    #[test]
    fn a_character_split_between_packets_is_decoded_whole() {
        let euro = "€".as_bytes();
        let mut stream = Utf8Stream::default();
        assert_eq!(stream.push(&euro[..1]), "");
        assert_eq!(stream.push(&euro[1..]), "€");
        assert_eq!(stream.push(b"ok\xff"), "ok\u{fffd}");
        assert_eq!(stream.push(&euro[..2]), "");
        assert_eq!(
            stream.finish(),
            "\u{fffd}",
            "a character cut short at the end"
        );
    }

    #[test]
    fn a_tail_keeps_the_end_and_says_what_it_dropped() {
        let mut tail = Tail::new(10);
        for i in 0..1000 {
            tail.push(&format!("{i}\n"));
        }
        let kept = tail.finish();
        assert!(kept.ends_with("998\n999\n"), "{kept}");
        assert!(kept.starts_with("[") && kept.contains("earlier bytes omitted"));
        assert!(kept.len() < 60);
        let mut small = Tail::new(10);
        small.push("short");
        assert_eq!(small.finish(), "short");
    }

    #[test]
    fn lines_are_split_and_cut() {
        let mut lines = Lines::default();
        let mut seen = Vec::new();
        lines.feed("a\nb", &mut |l| seen.push(l.to_owned()));
        lines.feed("c\r\n", &mut |l| seen.push(l.to_owned()));
        let long = "x".repeat(MAX_LINE * 3);
        lines.feed(&long, &mut |l| seen.push(l.to_owned()));
        lines.feed(&long, &mut |l| seen.push(l.to_owned()));
        lines.feed("\nafter\n", &mut |l| seen.push(l.to_owned()));
        lines.feed("end", &mut |l| seen.push(l.to_owned()));
        lines.finish(&mut |l| seen.push(l.to_owned()));
        assert_eq!(seen[..2], ["a", "bc"]);
        assert_eq!(
            seen.len(),
            5,
            "{:?}",
            seen.iter().map(|l| l.len()).collect::<Vec<_>>()
        );
        assert!(seen[2].len() <= MAX_LINE + 30 && seen[2].ends_with("bytes cut]"));
        assert_eq!(seen[3..], ["after", "end"]);
        assert_eq!(truncate("héllo", 2), "h… [5 bytes cut]");
    }
}
