//! The code's layout, checked: no source file over 450 lines in the three crates that hold
//! the product's logic (state.rs under 250), no circle between modules, no hand-written
//! query decoder, and the HTTP status of an error decided in one table.
//!
//! A module circle: module A uses module B (a path through `crate::`, `super::`, `self::`
//! or a child it declares) and B, through any chain, uses A again. A module using one of
//! its ancestors is not counted: a parent is the namespace its children share.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The crates whose sources are checked, from the workspace root.
const CRATES: &[&str] = &["model/src", "app/src", "server/src"];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn no_source_file_is_longer_than_450_lines_and_state_is_under_250() {
    let mut long = Vec::new();
    for dir in CRATES {
        let mut files = Vec::new();
        rust_files(&root().join(dir), &mut files);
        for file in files {
            let lines = std::fs::read_to_string(&file).unwrap().lines().count();
            if lines > 450 {
                long.push(format!("{} has {lines} lines", file.display()));
            }
        }
    }
    assert!(long.is_empty(), "split these by concept: {long:#?}");
    let state = std::fs::read_to_string(root().join("server/src/state.rs")).unwrap();
    assert!(state.lines().count() < 250, "state.rs keeps the state only");
}

/// The statuses an error answers with.
const ERROR_STATUSES: &[&str] = &[
    "BAD_REQUEST",
    "UNAUTHORIZED",
    "FORBIDDEN",
    "NOT_FOUND",
    "CONFLICT",
    "MISDIRECTED_REQUEST",
    "TOO_MANY_REQUESTS",
    "INTERNAL_SERVER_ERROR",
    "BAD_GATEWAY",
    "GATEWAY_TIMEOUT",
];

#[test]
fn no_hand_written_query_decoder_and_one_status_table() {
    for dir in CRATES.iter().chain(&["examples/src"]) {
        let mut files = Vec::new();
        rust_files(&root().join(dir), &mut files);
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            let here = file.display().to_string();
            assert!(
                !text.contains("fn from_pairs"),
                "{here}: decode queries with gdl_model::query::decode"
            );
            // The simulator and the broker client speak the broker's HTTP, not ours; pages
            // answer with a page (the not-found page's 404), not an error.
            let ours = here.contains("server/src")
                && !(here.contains("/simulator") || here.contains("/shopper"));
            if ours && !file.ends_with("server/src/error.rs") {
                let code = code(&text);
                for status in ERROR_STATUSES {
                    assert!(
                        !code.contains(&format!("StatusCode::{status}")),
                        "{here} answers {status} itself: an error's status comes from its code, in server/src/error.rs"
                    );
                }
            }
        }
    }
}

/// A module's path within its crate (`["runner", "steps", "select"]`), from its file.
fn module_of(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).unwrap().with_extension("");
    let mut parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("lib" | "main" | "mod")
    ) {
        parts.pop();
    }
    parts
}

/// The code of a file without its comments and its inline test module.
fn code(text: &str) -> String {
    let mut out = String::new();
    for line in text.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("mod tests {") || trimmed.starts_with("pub(crate) mod tests {") {
            break;
        }
        out.push_str(line.split("//").next().unwrap_or_default());
        out.push('\n');
    }
    out
}

/// Every path in `code` that starts with `crate::`, `super::` or `self::`, or with a child
/// module the file declares, as the module path it names (as long as it names one).
fn uses(code: &str, me: &[String], modules: &BTreeSet<Vec<String>>) -> BTreeSet<Vec<String>> {
    let words: Vec<&str> = code
        .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
        .filter(|w| w.contains("::"))
        .collect();
    let children: BTreeSet<String> = code
        .lines()
        .filter_map(|l| {
            let l = l.trim();
            let l = l.strip_prefix("pub ").unwrap_or(l);
            let l = l.strip_prefix("pub(crate) ").unwrap_or(l);
            l.strip_prefix("mod ")?.strip_suffix(';').map(str::to_owned)
        })
        .collect();
    // Group imports (`use crate::{a::b, c}`) name their prefix once: read the items too.
    let mut paths: Vec<Vec<String>> = Vec::new();
    for (i, _) in code.match_indices("::{") {
        let head: String = code[..i]
            .chars()
            .rev()
            .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
            .collect::<String>()
            .chars()
            .rev()
            .collect();
        let body = &code[i + 3..];
        let body = &body[..body.find('}').unwrap_or(body.len())];
        for item in body.split(',') {
            let item = item.split_whitespace().next().unwrap_or_default();
            if !item.is_empty() {
                paths.push(
                    format!("{head}::{item}")
                        .split("::")
                        .map(str::to_owned)
                        .collect(),
                );
            }
        }
    }
    paths.extend(words.iter().map(|w| {
        w.split("::")
            .filter(|p| !p.is_empty())
            .map(str::to_owned)
            .collect()
    }));
    let mut found = BTreeSet::new();
    for path in paths {
        let Some(first) = path.first() else { continue };
        let (mut base, rest): (Vec<String>, &[String]) = match first.as_str() {
            "crate" => (Vec::new(), &path[1..]),
            "super" => (me[..me.len().saturating_sub(1)].to_vec(), &path[1..]),
            "self" => (me.to_vec(), &path[1..]),
            child if children.contains(child) => (me.to_vec(), &path[..]),
            _ => continue,
        };
        let mut rest = rest;
        while rest.first().is_some_and(|p| p == "super") {
            base.pop();
            rest = &rest[1..];
        }
        let full: Vec<String> = base.into_iter().chain(rest.iter().cloned()).collect();
        // The longest prefix that is a module of the crate.
        if let Some(target) = (1..=full.len())
            .rev()
            .map(|n| full[..n].to_vec())
            .find(|p| modules.contains(p))
        {
            let ancestor = me.starts_with(&target);
            if target != me && !ancestor {
                found.insert(target);
            }
        }
    }
    found
}

/// The groups of modules that use each other in a circle (Tarjan's strongly connected
/// components of more than one module).
fn circles(graph: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>) -> Vec<Vec<Vec<String>>> {
    struct Walk<'a> {
        graph: &'a BTreeMap<Vec<String>, BTreeSet<Vec<String>>>,
        index: BTreeMap<&'a Vec<String>, usize>,
        low: BTreeMap<&'a Vec<String>, usize>,
        stack: Vec<&'a Vec<String>>,
        found: Vec<Vec<Vec<String>>>,
    }
    impl<'a> Walk<'a> {
        fn visit(&mut self, v: &'a Vec<String>) {
            let n = self.index.len();
            self.index.insert(v, n);
            self.low.insert(v, n);
            self.stack.push(v);
            for w in self.graph.get(v).into_iter().flatten() {
                let Some((w, _)) = self.graph.get_key_value(w) else {
                    continue;
                };
                if !self.index.contains_key(w) {
                    self.visit(w);
                    let low = self.low[v].min(self.low[w]);
                    self.low.insert(v, low);
                } else if self.stack.contains(&w) {
                    let low = self.low[v].min(self.index[w]);
                    self.low.insert(v, low);
                }
            }
            if self.low[v] == self.index[v] {
                let mut group = Vec::new();
                while let Some(w) = self.stack.pop() {
                    group.push(w.clone());
                    if w == v {
                        break;
                    }
                }
                if group.len() > 1 {
                    self.found.push(group);
                }
            }
        }
    }
    let mut walk = Walk {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        found: Vec::new(),
    };
    for v in graph.keys() {
        if !walk.index.contains_key(v) {
            walk.visit(v);
        }
    }
    walk.found
}

fn graph_of(src: &Path) -> BTreeMap<Vec<String>, BTreeSet<Vec<String>>> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let modules: BTreeSet<Vec<String>> = files.iter().map(|f| module_of(src, f)).collect();
    files
        .iter()
        .map(|f| {
            let me = module_of(src, f);
            let text = code(&std::fs::read_to_string(f).unwrap());
            let used = uses(&text, &me, &modules);
            (me, used)
        })
        .collect()
}

#[test]
fn no_module_circle_in_any_crate() {
    for dir in CRATES {
        let found = circles(&graph_of(&root().join(dir)));
        let names: Vec<Vec<String>> = found
            .iter()
            .map(|group| group.iter().map(|m| m.join("::")).collect())
            .collect();
        assert!(names.is_empty(), "{dir}: modules in a circle: {names:?}");
    }
}

#[test]
fn the_circle_check_finds_a_circle() {
    let m = |s: &str| s.split('/').map(str::to_owned).collect::<Vec<_>>();
    let modules: BTreeSet<Vec<String>> = [m("api"), m("api/sessions"), m("sessions")].into();
    // api uses its child; the child uses `sessions`; `sessions` uses api again.
    let mut graph = BTreeMap::new();
    graph.insert(
        m("api"),
        uses(
            "mod sessions;\nfn f() { sessions::act() }",
            &m("api"),
            &modules,
        ),
    );
    graph.insert(
        m("api/sessions"),
        uses(
            "use crate::sessions::act;\nuse super::REFRESH;",
            &m("api/sessions"),
            &modules,
        ),
    );
    graph.insert(
        m("sessions"),
        uses("use crate::api::{REFRESH, x};", &m("sessions"), &modules),
    );
    assert_eq!(circles(&graph).len(), 1, "{graph:?}");
    // Without the way back there is none; a child using its parent is not one.
    graph.insert(m("sessions"), BTreeSet::new());
    assert!(circles(&graph).is_empty());
}
