//! Quoting for the POSIX shell on the host: everything the runner puts in a command line
//! that did not come from a literal goes through [`quote`]. [`redact`] is how a command is
//! shown in errors and logs: environment values (where secrets go) are never shown.

/// Quotes a word for a POSIX shell: single quotes, with `'` written as `'\''`.
pub fn quote(word: &str) -> String {
    format!("'{}'", word.replace('\'', r"'\''"))
}

/// A command as errors may show it: every `NAME=value` word (quoted or not) becomes
/// `NAME=[redacted]`, the value after `--api-key` and the value `printf` writes after its
/// format (how SGLang's key reaches its file) too, and at most `max` characters remain.
pub fn redact(command: &str, max: usize) -> String {
    let mut out = String::new();
    let mut hide_next = false;
    // Words since a `printf`: its format is shown, the value after it hidden.
    let mut after_printf = 0u8;
    for (space, word) in words(command) {
        out.push_str(space);
        let name = word
            .split_once('=')
            .map(|(n, _)| n)
            .filter(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
        if let Some(name) = name {
            out.push_str(name);
            out.push_str("=[redacted]");
        } else if hide_next || after_printf == 2 {
            out.push_str("[redacted]");
        } else {
            out.push_str(word);
        }
        hide_next = word == "--api-key";
        after_printf = match (word, after_printf) {
            ("printf", _) => 1,
            (_, 1) => 2,
            _ => 0,
        };
    }
    out.chars().take(max).collect()
}

/// The shell words of `command`, each with the blanks before it: quotes (`'`, `"`) and
/// backslashes keep blanks inside a word.
fn words(command: &str) -> Vec<(&str, &str)> {
    let mut out = Vec::new();
    let mut rest = command;
    loop {
        let start = rest.len() - rest.trim_start().len();
        let (space, tail) = rest.split_at(start);
        if tail.is_empty() {
            return out;
        }
        let (mut quote, mut escaped, mut end) = (None, false, tail.len());
        for (i, c) in tail.char_indices() {
            match (quote, c) {
                _ if escaped => escaped = false,
                (None, '\\') | (Some('"'), '\\') => escaped = true,
                (None, '\'' | '"') => quote = Some(c),
                (Some(q), c) if c == q => quote = None,
                (None, c) if c.is_whitespace() => {
                    end = i;
                    break;
                }
                _ => {}
            }
        }
        let (word, next) = tail.split_at(end);
        out.push((space, word));
        rest = next;
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
        let sglang = format!(
            "umask 077 && printf 'api-key: \"%s\"\\n' {} > /tmp/k.yaml && docker run x",
            quote(&format!("{key} it's"))
        );
        assert_eq!(
            redact(&sglang, 200),
            "umask 077 && printf 'api-key: \"%s\"\\n' [redacted] > /tmp/k.yaml && docker run x"
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
