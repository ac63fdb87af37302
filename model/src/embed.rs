//! Embed tokens and the embeddable panels' settings.
//!
//! An embed token lets a wall display or a wiki page show the dashboard's panels without
//! the full access token: it can read (the `/embed/...` panels, the live channel, `GET`
//! routes) but never start, cancel, clean up or extend anything. It is created once
//! (`POST /api/embed-tokens`, the secret is shown then and never again), listed without its
//! secret, and revoked at any time (`DELETE /api/embed-tokens/{id}`).
//!
//! # Examples
//! ```
//! use gdl_model::embed::{EmbedTheme, EmbedToken, EMBED_TOKEN_PREFIX};
//!
//! let listed: EmbedToken = serde_json::from_str(
//!     r#"{"id":"a1b2c3d4","label":"lobby wall","created_at":"2026-11-24T10:00:00Z"}"#,
//! )
//! .unwrap();
//! assert!(listed.revoked_at.is_none());
//! assert!(gdl_model::embed::looks_like_embed_token("gdle_0123456789abcdef0123456789abcdef"));
//! assert!(EMBED_TOKEN_PREFIX.starts_with("gdle"));
//! assert_eq!(EmbedTheme::parse(Some("dark")), EmbedTheme::Dark);
//! assert_eq!(EmbedTheme::parse(Some("purple")), EmbedTheme::Auto);
//! ```

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Every embed token starts with this, so a token in a URL or a header can be told from
/// the full access token at a glance.
pub const EMBED_TOKEN_PREFIX: &str = "gdle_";

/// The longest label an embed token may have, in characters.
pub const MAX_LABEL_CHARS: usize = 80;

/// Whether `token` has an embed token's shape (the prefix and 32 or more characters
/// after it). Its validity is for the server to say.
pub fn looks_like_embed_token(token: &str) -> bool {
    token
        .strip_prefix(EMBED_TOKEN_PREFIX)
        .is_some_and(|rest| rest.len() >= 32 && rest.chars().all(|c| c.is_ascii_alphanumeric()))
}

/// The embed token in a URL's query string (`theme=dark&token=gdle_…`, with or without the
/// leading `?`), if it has one of the right shape: how a panel's page and its live channel
/// carry the token, read the same way by the server and the panel.
///
/// # Examples
/// ```
/// use gdl_model::embed::token_in_query;
///
/// let token = format!("gdle_{}", "0".repeat(64));
/// assert_eq!(token_in_query(&format!("?theme=dark&token={token}")), Some(token.as_str()));
/// assert_eq!(token_in_query("theme=dark&token=guess"), None);
/// assert_eq!(token_in_query("theme=dark"), None);
/// ```
pub fn token_in_query(query: &str) -> Option<&str> {
    query
        .trim_start_matches('?')
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(k, _)| *k == "token")
        .map(|(_, v)| v)
        .filter(|t| looks_like_embed_token(t))
}

/// An embed token as listed: never its secret.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EmbedToken {
    /// Short id, used to revoke it.
    pub id: String,
    /// What it is for ("lobby wall"), as given when it was created.
    pub label: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was revoked; `None` while it works.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<DateTime<Utc>>,
}

/// The body of `POST /api/embed-tokens`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewEmbedToken {
    /// What it is for, 1 to [`MAX_LABEL_CHARS`] characters.
    pub label: String,
}

/// The answer to `POST /api/embed-tokens`: the token and, this once, its secret.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreatedEmbedToken {
    /// The token as it will be listed.
    #[serde(flatten)]
    pub token: EmbedToken,
    /// The secret (`gdle_...`): put it in the panel's URL as `?token=`. It is stored only
    /// as a hash, so it cannot be shown again.
    pub secret: String,
}

/// What the Share tab shows: the tokens, who may embed, and whether panels need a token.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmbedSetup {
    /// Every embed token, newest first, revoked ones included (never their secrets).
    pub tokens: Vec<EmbedToken>,
    /// Origins besides the dashboard's own that may frame panels (`--allow-origin`).
    pub allowed_origins: Vec<String>,
    /// Whether an access token is set, so a panel's URL needs an embed token.
    pub token_required: bool,
}

/// A panel's colours (`?theme=`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum EmbedTheme {
    /// Follows the viewer's system setting.
    #[default]
    Auto,
    /// Dark text on a light background.
    Light,
    /// Light text on a dark background.
    Dark,
}

impl EmbedTheme {
    /// Reads `?theme=`; anything but `light` or `dark` means [`EmbedTheme::Auto`].
    pub fn parse(value: Option<&str>) -> Self {
        match value.map(str::trim) {
            Some(v) if v.eq_ignore_ascii_case("light") => Self::Light,
            Some(v) if v.eq_ignore_ascii_case("dark") => Self::Dark,
            _ => Self::Auto,
        }
    }

    /// The query spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::Light => "light",
            Self::Dark => "dark",
        }
    }
}

/// The message a panel posts to the page that embeds it whenever its height changes:
/// `{"type":"gdl-embed-height","panel":"/embed/sessions","height":412}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EmbedHeight {
    /// Always `gdl-embed-height`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The panel's path, so a page with several panels knows which one.
    pub panel: String,
    /// The panel's content height in CSS pixels.
    pub height: u32,
}

/// The live channel's close code when the embed token it was opened with is revoked. A
/// panel that sees it stops reconnecting and says why.
pub const CLOSE_REVOKED: u16 = 4001;

/// The `type` of [`EmbedHeight`] messages.
pub const EMBED_HEIGHT_MESSAGE: &str = "gdl-embed-height";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_shapes() {
        assert!(looks_like_embed_token(&format!("gdle_{}", "a".repeat(32))));
        assert!(!looks_like_embed_token(&format!("gdle_{}", "a".repeat(31))));
        assert!(!looks_like_embed_token(&format!("gdl_{}", "a".repeat(40))));
        assert!(!looks_like_embed_token(&format!(
            "gdle_{}-",
            "a".repeat(40)
        )));
    }

    #[test]
    fn created_token_flattens_the_listing() {
        let created = CreatedEmbedToken {
            token: EmbedToken {
                id: "a1".into(),
                label: "wall".into(),
                created_at: DateTime::parse_from_rfc3339("2026-11-24T10:00:00Z")
                    .unwrap()
                    .with_timezone(&Utc),
                revoked_at: None,
            },
            secret: "gdle_x".into(),
        };
        let json = serde_json::to_value(&created).unwrap();
        assert_eq!(json["id"], "a1");
        assert_eq!(json["secret"], "gdle_x");
        assert!(json.get("revoked_at").is_none());
        assert_eq!(
            serde_json::from_value::<CreatedEmbedToken>(json).unwrap(),
            created
        );
    }
}
