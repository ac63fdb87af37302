//! The OpenAPI document's descriptions come from doc comments: Markdown with rustdoc's
//! intra-doc links. Here they become plain Markdown (for `/api/openapi.json`'s readers)
//! and safe HTML (for `/api/docs`).

use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};

/// A doc comment as a REST reader wants it: without its Rust examples (from a
/// `# Examples` heading on: doctests in Rust are no help to a client of the API), and with
/// rustdoc's intra-doc links as plain code spans ([`without_intra_doc_links`]).
pub fn for_readers(text: &str) -> String {
    let mut kept = Vec::new();
    let mut fenced = false;
    for line in text.lines() {
        let trimmed = line.trim();
        if !fenced && matches!(trimmed, "# Examples" | "# Example") {
            break;
        }
        if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            fenced = !fenced;
        }
        kept.push(line);
    }
    without_intra_doc_links(kept.join("\n").trim_end())
}

/// `text` with rustdoc's intra-doc links as plain code spans: `` [`TestConfig`] `` and
/// `` [`Run`](crate::Run) `` become `` `TestConfig` `` and `` `Run` ``, and a bare
/// `[Run]` or `[crate::Run]` naming a Rust item becomes `` `Run` ``. A link to a web
/// address or one of our paths is kept, and so is everything in a fenced code block.
pub fn without_intra_doc_links(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut fenced = false;
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let trimmed = line.trim_start();
        if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            fenced = !fenced;
            out.push_str(line);
        } else if fenced {
            out.push_str(line);
        } else {
            out.push_str(&line_without_links(line));
        }
    }
    out
}

/// One line of prose with its intra-doc links made plain.
fn line_without_links(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find('[') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let Some(close) = after.find(']') else {
            out.push_str(&rest[open..]);
            return out;
        };
        let inner = &after[..close];
        let tail = &after[close + 1..];
        let code = inner
            .strip_prefix('`')
            .and_then(|i| i.strip_suffix('`'))
            .filter(|c| !c.is_empty() && !c.contains('`'));
        let name = code.or_else(|| is_rust_path(inner).then_some(inner));
        match (name, target(tail)) {
            // `[`X`](https://...)`: a real link, kept as written.
            (_, Some((dest, _))) if is_address(dest) => {
                out.push('[');
                out.push_str(inner);
                out.push(']');
                rest = tail;
            }
            (Some(name), Some((_, after_target))) => {
                push_code(&mut out, name);
                rest = after_target;
            }
            (Some(name), None) => {
                push_code(&mut out, name);
                rest = tail;
            }
            (None, _) => {
                out.push('[');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The last path segment of `name` as a code span (`crate::runs::Run` → `` `Run` ``).
fn push_code(out: &mut String, name: &str) {
    let short = name.rsplit("::").next().unwrap_or(name);
    out.push('`');
    out.push_str(short);
    out.push('`');
}

/// A link target right after `]`: `(dest)` or `[reference]`, with what follows it.
fn target(tail: &str) -> Option<(&str, &str)> {
    let (open, close) = match tail.chars().next()? {
        '(' => ('(', ')'),
        '[' => ('[', ']'),
        _ => return None,
    };
    let inside = &tail[open.len_utf8()..];
    let end = inside.find(close)?;
    Some((&inside[..end], &inside[end + close.len_utf8()..]))
}

/// Whether a link goes somewhere a reader can open (not a Rust item).
fn is_address(dest: &str) -> bool {
    dest.starts_with("http://")
        || dest.starts_with("https://")
        || dest.starts_with('/')
        || dest.starts_with('#')
}

/// `Run`, `CostTotals::add`, `crate::runs::Run`: a Rust item's name, capitalised or a path.
fn is_rust_path(text: &str) -> bool {
    let segments: Vec<&str> = text.split("::").collect();
    let plain = segments
        .iter()
        .all(|s| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
    plain
        && (segments.len() > 1
            || text.starts_with(|c: char| c.is_ascii_uppercase()) && text.len() > 1)
}

/// `text` (Markdown) as HTML: raw HTML in it is shown as text, links go only to web
/// addresses or our own paths (others keep their text), images are left out but for their
/// text. Intra-doc links are plain code first.
pub fn to_html(text: &str) -> String {
    let text = for_readers(text);
    let mut dropped = Vec::new();
    let events = Parser::new_ext(
        &text,
        Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH,
    )
    .filter_map(|event| match event {
        Event::Html(raw) | Event::InlineHtml(raw) => Some(Event::Text(raw)),
        Event::Start(Tag::Link { ref dest_url, .. }) => {
            let keep = is_address(dest_url) && !dest_url.starts_with("//");
            dropped.push(!keep);
            keep.then_some(event)
        }
        Event::End(TagEnd::Link) => (!dropped.pop().unwrap_or(false)).then_some(event),
        Event::Start(Tag::Image { .. }) | Event::End(TagEnd::Image) => None,
        other => Some(other),
    });
    let mut html = String::new();
    pulldown_cmark::html::push_html(&mut html, events);
    html
}

/// `text` as HTML for one line (a summary, a table cell): one paragraph loses its `<p>`.
pub fn to_inline_html(text: &str) -> String {
    let html = to_html(text);
    let trimmed = html.trim_end();
    match trimmed
        .strip_prefix("<p>")
        .and_then(|t| t.strip_suffix("</p>"))
    {
        Some(inner) if !inner.contains("<p>") => inner.to_owned(),
        _ => html,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intra_doc_links_become_code_and_real_links_stay() {
        for (doc, plain) in [
            ("A [`TestConfig`] body.", "A `TestConfig` body."),
            ("See [`Run`](crate::runs::Run).", "See `Run`."),
            ("See [`Run`][crate::runs::Run].", "See `Run`."),
            ("[Run] and [crate::ids::RunId]", "`Run` and `RunId`"),
            ("[`CostTotals::add`]", "`add`"),
            (
                "[the docs](https://example.org/x)",
                "[the docs](https://example.org/x)",
            ),
            (
                "[`openapi.json`](/api/openapi.json)",
                "[`openapi.json`](/api/openapi.json)",
            ),
            ("levels [1, 2, 4] and [x]", "levels [1, 2, 4] and [x]"),
            ("an open [bracket", "an open [bracket"),
            ("", ""),
            (
                "```\nlet v = [Run];\n```\n[Run]",
                "```\nlet v = [Run];\n```\n`Run`",
            ),
        ] {
            assert_eq!(without_intra_doc_links(doc), plain, "{doc}");
        }
    }

    #[test]
    fn rust_examples_are_left_out_for_readers() {
        let doc = "A [`Dist`].\n\n```\n# Examples\n```\n\n# Examples\n\n```\nlet d = 1;\n```";
        assert_eq!(for_readers(doc), "A `Dist`.\n\n```\n# Examples\n```");
        assert_eq!(for_readers("No examples."), "No examples.");
    }

    #[test]
    fn markdown_is_html_with_nothing_raw_or_unsafe() {
        assert_eq!(
            to_html("The [`TestConfig`] *body*."),
            "<p>The <code>TestConfig</code> <em>body</em>.</p>\n"
        );
        let html = to_html("<script>alert(1)</script> and <b>bold</b>");
        assert!(!html.contains("<script") && !html.contains("<b>"), "{html}");
        assert!(html.contains("&lt;script&gt;"), "{html}");
        let html = to_html("[click](javascript:alert(1)) ![x](https://t.example/p.png)");
        assert!(!html.contains("href") && !html.contains("<img"), "{html}");
        assert!(html.contains("click"), "{html}");
        assert_eq!(
            to_inline_html("GET `/api/runs`"),
            "GET <code>/api/runs</code>"
        );
        assert!(to_inline_html("one\n\ntwo").contains("<p>two</p>"));
        assert_eq!(
            to_html("[the API](/api/docs)"),
            "<p><a href=\"/api/docs\">the API</a></p>\n"
        );
    }
}
