//! Quoting for the POSIX shell on the host: everything the runner puts in a command line
//! that did not come from a literal goes through [`quote`]. [`redact`] is how a command is
//! shown in errors and logs: environment values (where secrets go) are never shown.

/// Quotes a word for a POSIX shell: single quotes, with `'` written as `'\''`.
pub fn quote(word: &str) -> String {
    format!("'{}'", word.replace('\'', r"'\''"))
}

/// A command as errors may show it: every `NAME=value` word (quoted or not) becomes
/// `NAME=[redacted]`, the value after `--api-key` too, and at most `max` characters remain.
pub fn redact(command: &str, max: usize) -> String {
    let mut out = String::new();
    let mut chars = command.chars().peekable();
    let mut at_word_start = true;
    let mut hide_next_word = false;
    while let Some(c) = chars.next() {
        if c.is_whitespace() {
            at_word_start = true;
            out.push(c);
            continue;
        }
        if at_word_start {
            at_word_start = false;
            let mut word = String::from(c);
            while let Some(&n) = chars.peek() {
                if n.is_whitespace() || n == '=' || n == '\'' {
                    break;
                }
                word.push(n);
                chars.next();
            }
            let assignment = chars.peek() == Some(&'=')
                && word.chars().all(|w| w.is_ascii_alphanumeric() || w == '_');
            if assignment || hide_next_word {
                if assignment {
                    out.push_str(&word);
                    out.push_str("=[redacted]");
                    chars.next();
                } else {
                    out.push_str("[redacted]");
                }
                hide_next_word = false;
                skip_value(&mut chars);
                continue;
            }
            hide_next_word = word == "--api-key";
            out.push_str(&word);
            continue;
        }
        out.push(c);
    }
    out.chars().take(max).collect()
}

/// Skips the rest of a word's value: up to the next unquoted space.
fn skip_value(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    let mut quoted = false;
    while let Some(&c) = chars.peek() {
        if c == '\'' {
            quoted = !quoted;
        } else if c.is_whitespace() && !quoted {
            return;
        }
        chars.next();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_hides_environment_values_and_api_keys() {
        let key = "3f9a1c0d2e4b7a6c5d8e9f0a1b2c3d4e";
        let command = format!(
            "VLLM_API_KEY={} docker run -e VLLM_API_KEY x --api-key {key} --port 8000",
            quote(&format!("{key} with space"))
        );
        let shown = redact(&command, 200);
        assert_eq!(
            shown,
            "VLLM_API_KEY=[redacted] docker run -e VLLM_API_KEY x --api-key [redacted] --port 8000"
        );
        assert!(!shown.contains("3f9a"));
        assert_eq!(redact("echo hello", 4), "echo");
        assert_eq!(
            redact("A=1 B='x y' env", 100),
            "A=[redacted] B=[redacted] env"
        );
    }

    #[test]
    fn quoting_neutralises_metacharacters() {
        assert_eq!(quote("a b"), "'a b'");
        assert_eq!(quote("it's"), r"'it'\''s'");
        assert_eq!(quote("$(reboot); `id`"), "'$(reboot); `id`'");
        assert_eq!(quote(""), "''");
    }
}
