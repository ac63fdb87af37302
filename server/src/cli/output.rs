//! How every command prints: a table for people or JSON for programs on stdout, errors
//! with their code and hint on stderr, and exit codes. Text from brokers and hosts never
//! reaches the terminal with its control characters (escape sequences could rewrite the
//! screen or the title): [`printable`] replaces them, in tables, messages and log lines.

use gdl_model::error::ApiError;
use serde::Serialize;

/// The command did what was asked.
pub const OK: i32 = 0;
/// The broker (or the store) refused or failed, or what was asked was not done.
pub const FAILED: i32 = 1;
/// The input was wrong; nothing was done.
pub const BAD_INPUT: i32 = 2;
/// The command worked and found nothing: no runs, sessions, offers or benchmarks match (as
/// grep's 1 tells a script that nothing matched). What was looked for is said on stderr.
pub const NOTHING_FOUND: i32 = 3;

/// Text from hosts and brokers as a terminal may show it: control characters (escape
/// sequences that could rewrite the screen or the title) become `�`; newlines stay.
pub fn printable(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() && c != '\n' {
                '\u{fffd}'
            } else {
                c
            }
        })
        .collect()
}

/// Prints `text` on stdout, control characters replaced.
pub fn out(text: &str) {
    print!("{}", printable(text));
}

/// Prints `value` as JSON (which escapes control characters), or `table` for people.
pub fn print<T: Serialize>(json: bool, value: &T, table: impl FnOnce() -> String) {
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(value).unwrap_or_default()
        );
    } else {
        out(&table());
    }
}

/// Says what failed, with its code and hint, on stderr; the exit code: [`BAD_INPUT`] for
/// input a person can correct, else [`FAILED`].
pub fn failed(e: &ApiError) -> i32 {
    eprintln!("error [{}]: {}", e.code, printable(&e.message));
    if let Some(hint) = &e.hint {
        eprintln!("hint: {}", printable(hint));
    }
    match e.error_code() {
        gdl_model::code::ErrorCode::InvalidInput => BAD_INPUT,
        _ => FAILED,
    }
}

/// Says on stderr that nothing matched (`what`, with what to do about it); the exit code
/// [`NOTHING_FOUND`].
pub fn nothing_found(what: &str) -> i32 {
    eprintln!("{}", printable(what));
    NOTHING_FOUND
}

/// Refuses bad input: says what is wrong and what to do; the exit code.
pub fn bad_input(message: &str, hint: &str) -> i32 {
    failed(&ApiError::invalid(message, hint))
}

/// Rows under a header, each column as wide as its widest cell.
pub fn table(header: &[&str], rows: Vec<Vec<String>>) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        padded.join("  ").trim_end().to_owned() + "\n"
    };
    let mut out = line(header.iter().map(|h| h.to_string()).collect());
    for row in rows {
        out.push_str(&line(row));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_never_reach_the_terminal() {
        assert_eq!(
            printable("ok\x1b]0;pwned\x07 done\r\nnext"),
            "ok\u{fffd}]0;pwned\u{fffd} done\u{fffd}\nnext"
        );
        let t = table(&["A"], vec![vec!["\x1b[2Jwiped".into()]]);
        assert!(printable(&t).contains("\u{fffd}[2Jwiped"));
    }
}
