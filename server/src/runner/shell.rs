//! Quoting for the POSIX shell on the host: everything the runner puts in a command line
//! that did not come from a literal goes through [`quote`].

/// Quotes a word for a POSIX shell: single quotes, with `'` written as `'\''`.
pub fn quote(word: &str) -> String {
    format!("'{}'", word.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_neutralises_metacharacters() {
        assert_eq!(quote("a b"), "'a b'");
        assert_eq!(quote("it's"), r"'it'\''s'");
        assert_eq!(quote("$(reboot); `id`"), "'$(reboot); `id`'");
        assert_eq!(quote(""), "''");
    }
}
