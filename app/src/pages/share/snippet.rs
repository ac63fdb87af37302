//! The Share tab's snippet builder as plain values: the panels one can embed, and the URL
//! and iframe snippet for one choice, carrying only what that panel reads.

use crate::format;
use gdl_model::embed::EmbedTheme;

/// A panel one can embed (`/embed/...`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Panel {
    /// `/embed/sessions`.
    Sessions,
    /// `/embed/status`.
    Status,
    /// `/embed/orphans`.
    Orphans,
    /// `/embed/benchmarks?model=...`.
    Benchmarks,
    /// `/embed/run/{id}`.
    Run,
}

impl Panel {
    /// Every panel, as the Share tab lists them.
    pub const ALL: [Panel; 5] = [
        Self::Sessions,
        Self::Status,
        Self::Orphans,
        Self::Benchmarks,
        Self::Run,
    ];

    /// The form's value and the path's last word (`sessions`, `run`, ...).
    pub fn key(self) -> &'static str {
        match self {
            Self::Sessions => "sessions",
            Self::Status => "status",
            Self::Orphans => "orphans",
            Self::Benchmarks => "benchmarks",
            Self::Run => "run",
        }
    }

    /// The panel's name in the Share tab's list.
    pub fn name(self) -> &'static str {
        match self {
            Self::Sessions => "Sessions",
            Self::Status => "Broker status",
            Self::Orphans => "Orphaned sessions",
            Self::Benchmarks => "Benchmarks of one model",
            Self::Run => "One run",
        }
    }

    /// What the panel shows, in a sentence.
    pub fn shows(self) -> &'static str {
        match self {
            Self::Sessions => "this dashboard's sessions, live, without actions",
            Self::Status => "the broker's state and the offers per provider",
            Self::Orphans => "sessions that cost money with no test using them",
            Self::Benchmarks => "one model's benchmarks across GPUs and providers",
            Self::Run => "one run's steps and its live log",
        }
    }

    /// The panel's address, with what it needs spelled as a placeholder.
    pub fn pattern(self) -> &'static str {
        match self {
            Self::Sessions => "/embed/sessions",
            Self::Status => "/embed/status",
            Self::Orphans => "/embed/orphans",
            Self::Benchmarks => "/embed/benchmarks?model=MODEL",
            Self::Run => "/embed/run/RUN_ID",
        }
    }

    /// The panel whose [`Panel::key`] is `key`; sessions for anything else.
    pub fn parse(key: &str) -> Self {
        Self::ALL
            .into_iter()
            .find(|p| p.key() == key)
            .unwrap_or(Self::Sessions)
    }
}

/// The choices of the snippet builder.
#[derive(Clone, Debug, PartialEq)]
pub struct Choice {
    /// The panel.
    pub panel: Panel,
    /// The model, read by the benchmarks panel only.
    pub model: String,
    /// The run id, read by the run panel only.
    pub run: String,
    /// The panel's colours; the default (auto) is left out of the URL.
    pub theme: EmbedTheme,
    /// Smaller type and spacing.
    pub compact: bool,
}

/// The embed token part of a panel's URL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Token<'a> {
    /// A token just created: its secret goes in the URL.
    Secret(&'a str),
    /// The dashboard asks for a token and none was created yet: a placeholder says so.
    Needed,
    /// No token asked for, none created: the URL has none.
    None,
}

impl Choice {
    /// The panel's URL on `origin`, with only the parameters this panel reads and that
    /// differ from the defaults.
    ///
    /// A run or a model left empty gives the panel's address without it: `/embed/run` then
    /// explains how to find a run, `/embed/benchmarks` asks for a model.
    pub fn url(&self, origin: &str, token: Token<'_>) -> String {
        let mut query = Vec::new();
        let path = match self.panel {
            Panel::Run => match self.run.trim() {
                "" => "/embed/run".to_owned(),
                id => format!("/embed/run/{}", format::query_value(id).replace('/', "%2F")),
            },
            Panel::Benchmarks => {
                let model = self.model.trim();
                if !model.is_empty() {
                    query.push(format!("model={}", format::query_value(model)));
                }
                "/embed/benchmarks".to_owned()
            }
            other => format!("/embed/{}", other.key()),
        };
        if self.theme != EmbedTheme::Auto {
            query.push(format!("theme={}", self.theme.as_str()));
        }
        if self.compact {
            query.push("compact=1".into());
        }
        match token {
            Token::Secret(secret) => query.push(format!("token={secret}")),
            Token::Needed => query.push("token=<create a token below>".into()),
            Token::None => {}
        }
        if query.is_empty() {
            format!("{origin}{path}")
        } else {
            format!("{origin}{path}?{}", query.join("&"))
        }
    }

    /// What the panel still needs before its URL shows something, if anything.
    pub fn missing(&self) -> Option<&'static str> {
        match self.panel {
            Panel::Run if self.run.trim().is_empty() => Some(
                "Enter a run id (from the Runs tab): without one the panel explains how to find one.",
            ),
            Panel::Benchmarks if self.model.trim().is_empty() => {
                Some("Enter a model: without one the panel asks for one.")
            }
            _ => None,
        }
    }
}

/// The iframe for `url` and the script that sizes it from the panel's height messages,
/// accepted from `origin` only.
pub fn snippet(url: &str, origin: &str) -> String {
    format!(
        "<iframe id=\"gdl-panel\" title=\"GPU Deploy LLM\" style=\"width: 100%; border: 0; height: 240px\"\n  src=\"{url}\"></iframe>\n\
         <script>\n  window.addEventListener('message', (event) => {{\n    if (event.origin !== '{origin}') return;\n    \
         if (event.data && event.data.type === 'gdl-embed-height') {{\n      \
         document.getElementById('gdl-panel').style.height = event.data.height + 'px';\n    }}\n  }});\n</script>"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOST: &str = "http://127.0.0.1:8081";

    fn choice(panel: Panel) -> Choice {
        Choice {
            panel,
            model: String::new(),
            run: String::new(),
            theme: EmbedTheme::Auto,
            compact: false,
        }
    }

    #[test]
    fn each_panel_carries_only_what_it_reads() {
        let mut c = choice(Panel::Sessions);
        // What another panel reads is left out.
        c.model = "Qwen/Qwen2.5-0.5B-Instruct".into();
        c.run = "run-1a2b".into();
        assert_eq!(c.url(HOST, Token::None), format!("{HOST}/embed/sessions"));
        c.panel = Panel::Status;
        assert_eq!(c.url(HOST, Token::None), format!("{HOST}/embed/status"));
        c.panel = Panel::Run;
        assert_eq!(c.url("", Token::None), "/embed/run/run-1a2b");
        c.panel = Panel::Benchmarks;
        assert_eq!(
            c.url("", Token::None),
            "/embed/benchmarks?model=Qwen/Qwen2.5-0.5B-Instruct"
        );
    }

    #[test]
    fn an_empty_model_or_run_is_left_out_not_sent_empty() {
        let benchmarks = choice(Panel::Benchmarks);
        assert_eq!(benchmarks.url("", Token::None), "/embed/benchmarks");
        assert!(!benchmarks.url("", Token::Needed).contains("model="));
        assert!(benchmarks.missing().is_some());
        let mut run = choice(Panel::Run);
        run.run = "  ".into();
        assert_eq!(run.url("", Token::None), "/embed/run");
        assert!(run.missing().is_some());
        assert_eq!(choice(Panel::Orphans).missing(), None);
    }

    #[test]
    fn theme_compact_and_token_follow_in_order_defaults_left_out() {
        let mut c = choice(Panel::Orphans);
        c.theme = EmbedTheme::Light;
        c.compact = true;
        assert_eq!(
            c.url(HOST, Token::Secret("gdle_abc")),
            format!("{HOST}/embed/orphans?theme=light&compact=1&token=gdle_abc")
        );
        let mut b = choice(Panel::Benchmarks);
        b.model = "m x".into();
        b.theme = EmbedTheme::Dark;
        assert_eq!(
            b.url("", Token::Needed),
            "/embed/benchmarks?model=m%20x&theme=dark&token=<create a token below>"
        );
        // A slash in a run id stays inside its path segment.
        let mut r = choice(Panel::Run);
        r.run = "a/b".into();
        assert_eq!(r.url("", Token::None), "/embed/run/a%2Fb");
    }

    #[test]
    fn the_snippet_frames_the_url_and_trusts_only_its_origin() {
        let url = choice(Panel::Status).url(HOST, Token::None);
        let s = snippet(&url, HOST);
        assert!(s.contains(&format!("src=\"{HOST}/embed/status\"")), "{s}");
        assert!(s.contains(&format!("event.origin !== '{HOST}'")), "{s}");
        assert!(!s.contains("model="));
    }

    #[test]
    fn panels_parse_from_their_keys() {
        for p in Panel::ALL {
            assert_eq!(Panel::parse(p.key()), p);
            assert!(p.pattern().starts_with("/embed/"));
        }
        assert_eq!(Panel::parse("nope"), Panel::Sessions);
    }
}
