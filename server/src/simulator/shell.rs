//! Just enough of a POSIX shell's grammar for the simulated host: words with single and
//! double quotes and backslashes, `NAME=value` prefixes, `;`, `&&`, `||`, a trailing `&`,
//! and redirections (`>file`, `>>file`, `2>&1`, `>&2`). No expansion: the commands the
//! runner sends quote everything, and anything else is refused as a syntax error.

/// Where a file descriptor goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// Another descriptor (`2>&1`).
    Fd(u8),
    /// A file (`/dev/null` included); `append` for `>>`.
    File { path: String, append: bool },
}

/// A redirection: descriptor `fd` goes to `target`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Redirect {
    pub fd: u8,
    pub target: Target,
}

/// One simple command: environment prefixes, words and redirections, in order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Command {
    pub env: Vec<(String, String)>,
    pub words: Vec<String>,
    pub redirects: Vec<Redirect>,
}

/// How a command relates to the one before it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Connector {
    /// First command, or after `;`.
    Always,
    /// After `&&`.
    IfOk,
    /// After `||`.
    IfFailed,
}

/// A command in a list, with its connector and whether it runs in the background (`&`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    pub connector: Connector,
    pub command: Command,
    pub background: bool,
}

#[derive(Debug, PartialEq)]
enum Token {
    Word(String),
    Op(&'static str),
    Redirect { fd: u8, append: bool, dup: bool },
}

/// Parses a command line into its list of commands, or says what it cannot parse.
pub fn parse(line: &str) -> Result<Vec<Step>, String> {
    let tokens = tokenize(line)?;
    let mut steps = Vec::new();
    let mut current = Command::default();
    let mut connector = Connector::Always;
    let mut iter = tokens.into_iter().peekable();
    let mut flush = |command: &mut Command,
                     connector: &mut Connector,
                     next: Connector,
                     background: bool|
     -> Result<(), String> {
        if command.words.is_empty() && command.env.is_empty() {
            return Err("syntax error near an empty command".into());
        }
        steps.push(Step {
            connector: *connector,
            command: std::mem::take(command),
            background,
        });
        *connector = next;
        Ok(())
    };
    while let Some(token) = iter.next() {
        match token {
            Token::Word(word) => {
                let assignment = current.words.is_empty()
                    && word.split_once('=').is_some_and(|(name, _)| is_name(name));
                match word.split_once('=') {
                    Some((name, value)) if assignment => {
                        current.env.push((name.to_owned(), value.to_owned()))
                    }
                    _ => current.words.push(word),
                }
            }
            Token::Redirect { fd, append, dup } => {
                let Some(Token::Word(target)) = iter.next() else {
                    return Err("syntax error: a redirection without a target".into());
                };
                let target = if dup {
                    match target.parse::<u8>() {
                        Ok(n) => Target::Fd(n),
                        Err(_) => return Err(format!("{target}: ambiguous redirect")),
                    }
                } else {
                    Target::File {
                        path: target,
                        append,
                    }
                };
                current.redirects.push(Redirect { fd, target });
            }
            Token::Op(";") => flush(&mut current, &mut connector, Connector::Always, false)?,
            Token::Op("&&") => flush(&mut current, &mut connector, Connector::IfOk, false)?,
            Token::Op("||") => flush(&mut current, &mut connector, Connector::IfFailed, false)?,
            Token::Op("&") => flush(&mut current, &mut connector, Connector::Always, true)?,
            Token::Op(op) => return Err(format!("`{op}` is not simulated")),
        }
    }
    if !current.words.is_empty() || !current.env.is_empty() {
        flush(&mut current, &mut connector, Connector::Always, false)?;
    }
    Ok(steps)
}

fn is_name(text: &str) -> bool {
    let mut chars = text.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn tokenize(line: &str) -> Result<Vec<Token>, String> {
    let mut tokens = Vec::new();
    let mut word = String::new();
    // Whether `word` is a word in progress (it may be empty: `''`).
    let mut in_word = false;
    let mut chars = line.chars().peekable();
    let end_word = |tokens: &mut Vec<Token>, word: &mut String, in_word: &mut bool| {
        if *in_word {
            tokens.push(Token::Word(std::mem::take(word)));
            *in_word = false;
        }
    };
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => word.push(c),
                        None => return Err("unexpected end of line: unclosed '".into()),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c @ ('"' | '\\' | '$' | '`')) => word.push(c),
                            Some(c) => {
                                word.push('\\');
                                word.push(c);
                            }
                            None => return Err("unexpected end of line: unclosed \"".into()),
                        },
                        Some('$' | '`') => {
                            return Err("expansion inside double quotes is not simulated".into())
                        }
                        Some(c) => word.push(c),
                        None => return Err("unexpected end of line: unclosed \"".into()),
                    }
                }
            }
            '\\' => {
                in_word = true;
                if let Some(c) = chars.next() {
                    word.push(c);
                }
            }
            '$' | '`' | '(' | ')' | '<' | '*' | '?' => {
                return Err(format!("`{c}` is not simulated"));
            }
            c if c.is_whitespace() => end_word(&mut tokens, &mut word, &mut in_word),
            ';' => {
                end_word(&mut tokens, &mut word, &mut in_word);
                tokens.push(Token::Op(";"));
            }
            '&' | '|' => {
                end_word(&mut tokens, &mut word, &mut in_word);
                let doubled = chars.next_if_eq(&c).is_some();
                tokens.push(Token::Op(match (c, doubled) {
                    ('&', true) => "&&",
                    ('&', false) => "&",
                    ('|', true) => "||",
                    _ => "|",
                }));
            }
            '>' => {
                // A word made only of digits right before `>` is the descriptor (`2>`).
                let fd = if in_word && !word.is_empty() && word.chars().all(|d| d.is_ascii_digit())
                {
                    let fd = word.parse::<u8>().map_err(|_| "bad file descriptor")?;
                    word.clear();
                    in_word = false;
                    fd
                } else {
                    end_word(&mut tokens, &mut word, &mut in_word);
                    1
                };
                let append = chars.next_if_eq(&'>').is_some();
                let dup = !append && chars.next_if_eq(&'&').is_some();
                tokens.push(Token::Redirect { fd, append, dup });
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    end_word(&mut tokens, &mut word, &mut in_word);
    Ok(tokens)
}

/// The value after `flag` among `words` (`--model x`).
pub fn arg_after<'a>(words: &'a [String], flag: &str) -> Option<&'a str> {
    words
        .iter()
        .position(|w| w == flag)
        .and_then(|i| words.get(i + 1))
        .map(String::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &str) -> Vec<Vec<String>> {
        parse(line)
            .unwrap()
            .into_iter()
            .map(|s| s.command.words)
            .collect()
    }

    #[test]
    fn quotes_and_escapes_make_single_words() {
        assert_eq!(
            words(r#"docker run --model 'Qwen/Qwen2.5-0.5B-Instruct' "a b" c\ d 'it'\''s'"#),
            vec![vec![
                "docker",
                "run",
                "--model",
                "Qwen/Qwen2.5-0.5B-Instruct",
                "a b",
                "c d",
                "it's"
            ]]
        );
        assert_eq!(words("echo ''"), vec![vec!["echo", ""]]);
    }

    #[test]
    fn lists_connectors_background_and_environment() {
        let steps =
            parse("VLLM_API_KEY='s e' nohup python3 -m x > /tmp/vllm.log 2>&1 & a && b || c; d")
                .unwrap();
        assert_eq!(steps.len(), 5);
        assert_eq!(
            steps[0].command.env,
            vec![("VLLM_API_KEY".into(), "s e".into())]
        );
        assert_eq!(steps[0].command.words, vec!["nohup", "python3", "-m", "x"]);
        assert_eq!(
            steps[0].command.redirects,
            vec![
                Redirect {
                    fd: 1,
                    target: Target::File {
                        path: "/tmp/vllm.log".into(),
                        append: false
                    }
                },
                Redirect {
                    fd: 2,
                    target: Target::Fd(1)
                }
            ]
        );
        assert!(steps[0].background);
        let connectors: Vec<_> = steps.iter().map(|s| s.connector).collect();
        assert_eq!(
            connectors,
            vec![
                Connector::Always,
                Connector::Always,
                Connector::IfOk,
                Connector::IfFailed,
                Connector::Always
            ]
        );
        let err = parse("echo oops >&2").unwrap();
        assert_eq!(
            err[0].command.redirects,
            vec![Redirect {
                fd: 1,
                target: Target::Fd(2)
            }]
        );
    }

    #[test]
    fn what_is_not_simulated_is_refused_not_guessed() {
        for line in [
            "echo $(id)",
            "echo `id`",
            "cat < x",
            "a | b",
            "echo \"$HOME\"",
            "'open",
        ] {
            assert!(parse(line).is_err(), "{line}");
        }
        assert!(parse("; a").is_err());
        assert_eq!(
            arg_after(&["a".into(), "--model".into(), "m".into()], "--model"),
            Some("m")
        );
    }
}
