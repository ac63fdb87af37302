//! `/api/docs`: the OpenAPI document drawn on the server as one HTML page: routes by tag
//! (parameters, body, responses), then every schema, descriptions rendered from Markdown.
//! Its script only filters; nothing is fetched from the web.

use super::markdown::{to_html, to_inline_html};
use serde_json::{Map, Value};
use std::fmt::Write;

/// The methods a path item may have, in the order they are listed.
const METHODS: [&str; 5] = ["get", "post", "put", "delete", "patch"];

/// The whole page for `doc` (the published OpenAPI document); `theme` is the dashboard's
/// theme choice (`light`, `dark`) for `<html data-theme>`, if one was made.
pub fn page(doc: &Value, theme: Option<&str>) -> String {
    let info = &doc["info"];
    let title = format!(
        "{} {} — REST API",
        text(&info["title"]),
        text(&info["version"])
    );
    let mut routes = String::new();
    let count = write_routes(&mut routes, doc);
    let mut schemas = String::new();
    if let Some(all) = doc["components"]["schemas"].as_object() {
        for (name, schema) in all {
            write_schema(&mut schemas, name, schema);
        }
    }
    let theme = theme
        .map(|t| format!(" data-theme=\"{}\"", escape(t)))
        .unwrap_or_default();
    format!(
        r#"<!DOCTYPE html>
<html lang="en"{theme}>
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>{title}</title>
<link rel="stylesheet" href="/api/docs/docs.css">
<script src="/api/docs/docs.js" defer></script>
</head>
<body data-routes="{count}">
<header><a class="home" href="/">← Dashboard</a>
<h1 id="title">{title}</h1>
<input id="filter" type="search" placeholder="Filter routes and schemas" aria-label="Filter routes and schemas">
<a href="/api/openapi.json">openapi.json</a></header>
<main>
<div id="description" class="muted">{description}</div>
<div id="routes">{routes}</div>
<h2>Schemas</h2>
<div id="schemas">{schemas}</div>
</main>
</body>
</html>"#,
        title = escape(&title),
        description = to_html(text(&info["description"])),
    )
}

/// Every operation, grouped by its first tag in the document's tag order; returns how many.
fn write_routes(out: &mut String, doc: &Value) -> usize {
    let mut groups: Vec<(String, String, String)> = doc["tags"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| {
            (
                text(&t["name"]).to_owned(),
                text(&t["description"]).to_owned(),
                String::new(),
            )
        })
        .collect();
    let mut count = 0;
    let empty = Map::new();
    for (path, item) in doc["paths"].as_object().unwrap_or(&empty) {
        for method in METHODS {
            let Some(op) = item.get(method) else {
                continue;
            };
            count += 1;
            let tag = op["tags"][0].as_str().unwrap_or("other");
            let index = match groups.iter().position(|(name, ..)| name == tag) {
                Some(i) => i,
                None => {
                    groups.push((tag.to_owned(), String::new(), String::new()));
                    groups.len() - 1
                }
            };
            write_operation(&mut groups[index].2, path, method, op);
        }
    }
    for (name, description, ops) in groups.iter().filter(|g| !g.2.is_empty()) {
        let _ = write!(
            out,
            "<section class=\"tag\"><h2>{} <span class=\"muted\">{}</span></h2>{ops}</section>",
            escape(name),
            to_inline_html(description)
        );
    }
    count
}

fn write_operation(out: &mut String, path: &str, method: &str, op: &Value) {
    let summary = text(&op["summary"]);
    let description = text(&op["description"]);
    // What the filter searches: the words, without Markdown's backticks.
    let searched = format!("{method} {path} {summary} {description}")
        .replace('`', "")
        .to_lowercase();
    let _ = write!(
        out,
        "<details class=\"op\" data-route=\"{route}\" data-text=\"{searched}\">\
         <summary><span class=\"method {method}\">{method}</span><span class=\"path\">{path}</span>\
         <span class=\"muted\">{summary}</span></summary><div>",
        route = escape(&format!("{} {path}", method.to_uppercase())),
        searched = escape(&searched),
        path = escape(path),
        summary = to_inline_html(summary),
    );
    if !description.is_empty() {
        out.push_str(&to_html(description));
    }
    if let Some(parameters) = op["parameters"].as_array().filter(|p| !p.is_empty()) {
        out.push_str(
            "<table><thead><tr><th>Parameter</th><th>In</th><th>Type</th><th>Description</th></tr></thead><tbody>",
        );
        for p in parameters {
            let optional = if p["required"].as_bool() == Some(true) {
                ""
            } else {
                "?"
            };
            let _ = write!(
                out,
                "<tr><td><code>{}{optional}</code></td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(text(&p["name"])),
                escape(text(&p["in"])),
                type_of(&p["schema"]),
                to_inline_html(text(&p["description"])),
            );
        }
        out.push_str("</tbody></table>");
    }
    if let Some(body) = body_of(&op["requestBody"]["content"]) {
        let _ = write!(out, "<p>Body: {body}</p>");
    }
    out.push_str(
        "<table><thead><tr><th>Status</th><th>Description</th><th>Body</th></tr></thead><tbody>",
    );
    let empty = Map::new();
    for (status, r) in op["responses"].as_object().unwrap_or(&empty) {
        let _ = write!(
            out,
            "<tr><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
            escape(status),
            to_inline_html(text(&r["description"])),
            body_of(&r["content"]).unwrap_or_default(),
        );
    }
    out.push_str("</tbody></table></div></details>");
}

fn write_schema(out: &mut String, name: &str, schema: &Value) {
    let _ = write!(
        out,
        "<div class=\"schema\" id=\"schema-{id}\" data-text=\"{searched}\"><h3>{id}</h3>",
        id = escape(name),
        searched = escape(&name.to_lowercase()),
    );
    let description = text(&schema["description"]);
    if !description.is_empty() {
        let _ = write!(out, "<div class=\"muted\">{}</div>", to_html(description));
    }
    let required: Vec<&str> = schema["required"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    match schema["properties"].as_object().filter(|p| !p.is_empty()) {
        Some(properties) => {
            out.push_str("<table><thead><tr><th>Field</th><th>Type</th><th>Description</th></tr></thead><tbody>");
            for (field, s) in properties {
                let optional = if required.contains(&field.as_str()) {
                    ""
                } else {
                    "?"
                };
                let _ = write!(
                    out,
                    "<tr><td><code>{}{optional}</code></td><td>{}</td><td>{}</td></tr>",
                    escape(field),
                    type_of(s),
                    to_inline_html(text(&s["description"])),
                );
            }
            out.push_str("</tbody></table>");
        }
        None => {
            let _ = write!(out, "<p>{}</p>", type_of(schema));
        }
    }
    out.push_str("</div>");
}

/// A schema as short HTML, with links to named schemas.
fn type_of(schema: &Value) -> String {
    if schema.is_null() {
        return "<span class=\"muted\">—</span>".into();
    }
    if let Some(reference) = schema["$ref"].as_str() {
        let name = escape(reference.rsplit('/').next().unwrap_or(reference));
        return format!("<a href=\"#schema-{name}\">{name}</a>");
    }
    if schema["type"] == "array" {
        return format!("[{}]", type_of(&schema["items"]));
    }
    for (key, joiner) in [("oneOf", " | "), ("anyOf", " | "), ("allOf", " &amp; ")] {
        if let Some(parts) = schema[key].as_array() {
            return parts.iter().map(type_of).collect::<Vec<_>>().join(joiner);
        }
    }
    if let Some(values) = schema["enum"].as_array() {
        let listed: Vec<String> = values.iter().map(Value::to_string).collect();
        return format!("<code>{}</code>", escape(&listed.join(" | ")));
    }
    let kind = match &schema["type"] {
        Value::Array(kinds) => kinds
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(" | "),
        Value::String(kind) => kind.clone(),
        _ => "any".into(),
    };
    let kind = match schema["format"].as_str() {
        Some(format) => format!("{kind} ({format})"),
        None => kind,
    };
    format!("<code>{}</code>", escape(&kind))
}

/// A body's media type and schema, if it has one.
fn body_of(content: &Value) -> Option<String> {
    let (media, value) = content.as_object()?.iter().next()?;
    Some(format!(
        "<code>{}</code> {}",
        escape(media),
        type_of(&value["schema"])
    ))
}

/// A string field, or "" when absent.
fn text(value: &Value) -> &str {
    value.as_str().unwrap_or_default()
}

/// `text` safe inside HTML text and double-quoted attributes.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn routes_and_schemas_are_drawn_with_their_markdown_rendered() {
        let doc = json!({
            "info": {"title": "t", "version": "1", "description": "Errors have `code`."},
            "tags": [{"name": "runs", "description": "Deployment tests"}],
            "paths": {"/api/runs": {"post": {
                "tags": ["runs"], "summary": "Starts a run.",
                "description": "The body is a [`TestConfig`]. <b>x</b>",
                "requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/TestConfig"}}}},
                "responses": {"201": {"description": "Started"}}
            }}},
            "components": {"schemas": {"TestConfig": {
                "type": "object", "description": "What to test; see [`Run`].",
                "required": ["model"],
                "properties": {"model": {"type": "string", "description": "A `model` id."}, "n": {"type": ["integer", "null"]}}
            }}}
        });
        let html = page(&doc, Some("dark"));
        assert!(html.contains("<html lang=\"en\" data-theme=\"dark\">"));
        assert!(html.contains("data-routes=\"1\""), "{html}");
        assert!(html.contains("data-route=\"POST /api/runs\""), "{html}");
        assert!(
            html.contains("The body is a <code>TestConfig</code>."),
            "{html}"
        );
        assert!(html.contains("&lt;b&gt;x&lt;/b&gt;"), "{html}");
        assert!(html.contains("id=\"schema-TestConfig\""), "{html}");
        assert!(
            html.contains("<a href=\"#schema-TestConfig\">TestConfig</a>"),
            "{html}"
        );
        assert!(html.contains("<code>model</code>") && html.contains("<code>n?</code>"));
        assert!(html.contains("A <code>model</code> id."), "{html}");
        assert!(html.contains("href=\"/\""), "a way back to the dashboard");
        assert!(!html.contains('`') && !html.contains("[`"), "{html}");
    }
}
