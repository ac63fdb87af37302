//! The simulated engine's prefix cache (vLLM's automatic prefix caching, SGLang's radix
//! cache): a prompt is cut into blocks of [`BLOCK_WORDS`] words, each named by a hash of
//! itself and every block before it, so a block is found again only behind the same start.
//! A prompt's leading blocks already computed are not prefilled again: its time to first
//! token counts only the rest. Only whole blocks are kept, as the engines keep only full
//! pages.

use std::collections::HashSet;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// Words a block holds (a word is a token or two here, as vLLM's blocks are 16 tokens).
pub const BLOCK_WORDS: usize = 16;

/// Blocks computed so far, while the cache has room for them.
#[derive(Debug, Default)]
pub struct PrefixCache {
    blocks: Mutex<HashSet<u64>>,
    /// The most blocks kept: past it the cache starts empty again (the engine evicts).
    room: usize,
    /// Prompt tokens served from the cache so far.
    hits: AtomicUsize,
}

/// Tokens a word makes: one per five characters, as the simulated tokenizer counts.
fn tokens(word: &str) -> usize {
    word.chars().count().div_ceil(5)
}

impl PrefixCache {
    /// A cache of at most `room_tokens` tokens (0: a large one).
    pub fn new(room_tokens: u64) -> Self {
        let room = match room_tokens {
            0 => 1 << 20,
            n => (n / BLOCK_WORDS as u64).max(1) as usize,
        };
        Self {
            room,
            ..Self::default()
        }
    }

    /// Serves `prompt`: its tokens found in the cache (its leading whole blocks computed
    /// before), its blocks kept for the prompts after it.
    pub fn serve(&self, prompt: &str) -> usize {
        let words: Vec<&str> = prompt.split_whitespace().collect();
        let mut blocks = self.blocks.lock().unwrap_or_else(|e| e.into_inner());
        let mut chain = DefaultHasher::new();
        let mut found = 0;
        let mut missed = false;
        for block in words.chunks_exact(BLOCK_WORDS) {
            block.hash(&mut chain);
            let name = chain.finish();
            if !missed && blocks.contains(&name) {
                found += block.iter().map(|w| tokens(w)).sum::<usize>();
            } else {
                missed = true;
                if blocks.len() >= self.room {
                    blocks.clear();
                }
                blocks.insert(name);
            }
        }
        self.hits.fetch_add(found, Ordering::SeqCst);
        found
    }

    /// Prompt tokens served from the cache so far.
    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prompt(start: &str, words: usize) -> String {
        let body: Vec<String> = (0..words).map(|i| format!("w{i}")).collect();
        format!("{start} {}", body.join(" "))
    }

    #[test]
    fn a_prompt_sent_again_is_served_from_its_whole_blocks_and_a_new_start_shares_nothing() {
        let cache = PrefixCache::new(0);
        let long = prompt("Document one:", 100);
        assert_eq!(cache.serve(&long), 0, "nothing computed yet");
        // 102 words: six whole blocks of 16 kept, the last 6 words not.
        let again = cache.serve(&long);
        let whole: usize = long
            .split_whitespace()
            .take(6 * BLOCK_WORDS)
            .map(tokens)
            .sum();
        assert_eq!(again, whole);
        // The same document behind another question: its start differs, so nothing is
        // found (a block is named by everything before it too).
        assert_eq!(cache.serve(&prompt("Document two:", 100)), 0);
        // A longer prompt that starts as the first: its shared blocks are found.
        let longer = format!("{long} and more words after it to fill a block or two more");
        assert_eq!(cache.serve(&longer), whole);
        assert_eq!(cache.hits(), 2 * whole);
        // A short prompt has no whole block: never cached.
        let short = "What is the capital of France?";
        assert_eq!(cache.serve(short) + cache.serve(short), 0);
    }

    #[test]
    fn a_full_cache_starts_again() {
        let cache = PrefixCache::new(2 * BLOCK_WORDS as u64);
        let long = prompt("A", 3 * BLOCK_WORDS);
        cache.serve(&long);
        assert_eq!(cache.serve(&long), 0, "three blocks do not fit in two");
    }
}
