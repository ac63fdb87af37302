//! Lenient timestamps: the broker emits RFC 3339 with 0–9 fractional digits and any UTC
//! offset, Go's zero time for "unset", and sometimes `null` or nothing at all.
//!
//! # Examples
//!
//! ```
//! use chrono::{DateTime, Utc};
//! use gdl_model::time::{de_optional, parse_lenient};
//!
//! let t = parse_lenient("2026-03-05T09:03:11.123456789-05:00").unwrap();
//! assert_eq!(t.to_rfc3339(), "2026-03-05T14:03:11.123456789+00:00");
//! assert_eq!(parse_lenient("2026-03-05 14:03:11"), parse_lenient("2026-03-05T14:03:11Z"));
//! assert_eq!(parse_lenient("yesterday"), None);
//!
//! #[derive(serde::Deserialize)]
//! struct Reply {
//!     #[serde(default, deserialize_with = "de_optional")]
//!     expires_at: Option<DateTime<Utc>>,
//! }
//! let unset: Reply = serde_json::from_str(r#"{"expires_at":"0001-01-01T00:00:00Z"}"#)?;
//! assert_eq!(unset.expires_at, None, "Go's zero time means unset");
//! # Ok::<(), serde_json::Error>(())
//! ```

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Deserializer};

/// Parses an RFC 3339 timestamp, also accepting a space instead of `T` and a missing offset
/// (taken as UTC). Returns `None` for text that is no timestamp.
pub fn parse_lenient(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.with_timezone(&Utc));
    }
    let with_t = text.replacen(' ', "T", 1);
    if let Ok(t) = DateTime::parse_from_rfc3339(&with_t) {
        return Some(t.with_timezone(&Utc));
    }
    NaiveDateTime::parse_from_str(&with_t, "%Y-%m-%dT%H:%M:%S%.f")
        .ok()
        .map(|naive| naive.and_utc())
}

/// Whether a time is Go's zero time (`0001-01-01T00:00:00Z`), the broker's "unset".
pub fn is_go_zero(t: &DateTime<Utc>) -> bool {
    t.timestamp() <= -62_135_596_800
}

/// Deserialises a required timestamp leniently.
pub fn de_required<'de, D: Deserializer<'de>>(de: D) -> Result<DateTime<Utc>, D::Error> {
    let text = String::deserialize(de)?;
    parse_lenient(&text)
        .ok_or_else(|| serde::de::Error::custom(format!("invalid timestamp {text:?}")))
}

/// Deserialises an optional timestamp: `null`, an empty string and Go's zero time are `None`.
pub fn de_optional<'de, D: Deserializer<'de>>(de: D) -> Result<Option<DateTime<Utc>>, D::Error> {
    let text: Option<String> = Option::deserialize(de)?;
    match text.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(text) => parse_lenient(text)
            .map(|t| (!is_go_zero(&t)).then_some(t))
            .ok_or_else(|| serde::de::Error::custom(format!("invalid timestamp {text:?}"))),
    }
}

/// Deserialises a list that the broker may send as `null`.
pub fn de_null_list<'de, D, T>(de: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(de)?.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_rfc3339_variants() {
        let cases = [
            "2026-03-05T14:03:11.51234Z",
            "2026-03-05T14:03:11Z",
            "2026-03-05T09:03:11.123456789-05:00",
            "2026-03-05 14:03:11.5Z",
            "2026-03-05T14:03:11.5",
        ];
        for case in cases {
            let t = parse_lenient(case).unwrap_or_else(|| panic!("{case} should parse"));
            assert_eq!(
                t.format("%Y-%m-%d %H").to_string(),
                "2026-03-05 14",
                "{case}"
            );
        }
        assert!(parse_lenient("yesterday").is_none());
    }

    #[test]
    fn go_zero_time_is_unset() {
        #[derive(Deserialize)]
        struct T {
            #[serde(default, deserialize_with = "de_optional")]
            at: Option<DateTime<Utc>>,
        }
        let zero: T = serde_json::from_str(r#"{"at":"0001-01-01T00:00:00Z"}"#).unwrap();
        assert!(zero.at.is_none());
        let null: T = serde_json::from_str(r#"{"at":null}"#).unwrap();
        assert!(null.at.is_none());
        let missing: T = serde_json::from_str("{}").unwrap();
        assert!(missing.at.is_none());
        let set: T = serde_json::from_str(r#"{"at":"2026-01-01T00:00:00+02:00"}"#).unwrap();
        assert_eq!(set.at.unwrap().to_rfc3339(), "2025-12-31T22:00:00+00:00");
    }
}
