//! Query strings: the filters and pages every door reads with the same struct. A page reads
//! its URL's query, REST reads the request's, the CLI fills the struct from its flags; all
//! decode with [`decode`], so a filter means the same thing everywhere.
//!
//! Forms send every field, set or not, so an empty value means unset; a value that does not
//! read is an `invalid_input` error naming the parameter, never silently dropped.
//!
//! # Examples
//!
//! ```
//! use gdl_model::query::decode;
//! use gdl_model::sessions::{SessionFilters, StatusFilter};
//! use gdl_model::shopper::Provider;
//!
//! let f: SessionFilters = decode("status=active&provider=vastai&page=")?;
//! assert_eq!(f.status, Some(StatusFilter::Active));
//! assert_eq!((f.provider.clone(), f.page), (Some(Provider::VastAi), None));
//! assert_eq!(gdl_model::query::encode(&f), "status=active&provider=vastai");
//!
//! let e = decode::<SessionFilters>("page=two").unwrap_err();
//! assert_eq!(e.code, "invalid_input");
//! assert!(e.message.contains("page"), "{}", e.message);
//! # Ok::<(), gdl_model::error::ApiError>(())
//! ```

use crate::error::ApiError;
use serde::de::{DeserializeOwned, Deserializer, Error as _, IntoDeserializer};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Decodes a query string (without its `?`) into `T`. An unreadable value is an
/// `invalid_input` error that names its parameter.
pub fn decode<T: DeserializeOwned>(query: &str) -> Result<T, ApiError> {
    let query = query.trim_start_matches('?');
    serde_urlencoded::from_str::<T>(query).map_err(|whole| {
        // Name the first parameter that does not read on its own.
        let culprit = form_pairs(query).find_map(|(key, value)| {
            let one = serde_urlencoded::to_string([(key.as_str(), value.as_str())]).ok()?;
            serde_urlencoded::from_str::<T>(&one)
                .err()
                .map(|e| format!("{key}={value:?}: {e}"))
        });
        ApiError::invalid(
            format!(
                "the query is not valid: {}",
                culprit.unwrap_or_else(|| whole.to_string())
            ),
            "Correct or remove that parameter (leave a filter empty for any).",
        )
    })
}

/// The query string of `value`, unset fields left out (`a=1&b=x`).
pub fn encode<T: Serialize>(value: &T) -> String {
    serde_urlencoded::to_string(value).unwrap_or_default()
}

fn form_pairs(query: &str) -> impl Iterator<Item = (String, String)> + '_ {
    query.split('&').filter(|p| !p.is_empty()).map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let unescape = |s: &str| {
            serde_urlencoded::from_str::<Vec<(String, String)>>(&format!("x={s}"))
                .ok()
                .and_then(|mut v| v.pop())
                .map(|(_, v)| v)
                .unwrap_or_else(|| s.to_owned())
        };
        (unescape(k), unescape(v))
    })
}

/// For `#[serde(deserialize_with)]` on an optional field: an empty (or blank) text is
/// unset; other text is read with `FromStr`; a JSON value of the type reads as itself.
pub fn blank_as_none<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: FromStr + Deserialize<'de>,
    T::Err: fmt::Display,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw<T> {
        Text(String),
        Value(T),
    }
    match Option::<Raw<T>>::deserialize(d)? {
        None => Ok(None),
        Some(Raw::Value(v)) => Ok(Some(v)),
        Some(Raw::Text(text)) => {
            let text = text.trim();
            if text.is_empty() {
                return Ok(None);
            }
            text.parse().map(Some).map_err(D::Error::custom)
        }
    }
}

/// Reads a word (`"vram"`, `"active"`) as the enum `T` that serde spells that way; the
/// error lists the words allowed.
pub fn parse_word<T: DeserializeOwned>(text: &str, allowed: &str) -> Result<T, String> {
    let d: serde::de::value::StrDeserializer<'_, serde::de::value::Error> =
        text.trim().into_deserializer();
    T::deserialize(d).map_err(|_| format!("{text:?} is not one of {allowed}"))
}

/// `FromStr` for an enum spelled by serde (`"slo_cost"`), its error listing the words
/// allowed: what [`blank_as_none`] reads a query's text with.
macro_rules! word_enum {
    ($ty:ty, $allowed:literal) => {
        impl std::str::FromStr for $ty {
            type Err = String;
            fn from_str(text: &str) -> Result<Self, String> {
                $crate::query::parse_word(text, $allowed)
            }
        }
    };
}
pub(crate) use word_enum;

/// `?fresh=true` asks for a new poll of the broker before answering (`GET /api/status`,
/// `GET /api/sessions`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct Freshness {
    /// Poll the broker before answering (at most once a second, waiting up to 5 s).
    #[serde(default)]
    pub fresh: bool,
}

/// A page of a list: `limit` rows from `offset`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct Page {
    /// Rows in the page, 1 to 500 (50 when unset).
    #[serde(
        default,
        deserialize_with = "blank_as_none",
        skip_serializing_if = "Option::is_none"
    )]
    pub limit: Option<u32>,
    /// Rows skipped before the page (0 when unset).
    #[serde(
        default,
        deserialize_with = "blank_as_none",
        skip_serializing_if = "Option::is_none"
    )]
    pub offset: Option<u32>,
}

/// Rows in a page of runs or benchmarks unless `limit` says otherwise.
pub const PAGE_ROWS: u32 = 50;
/// The most rows one page may hold.
pub const MAX_PAGE_ROWS: u32 = 500;

impl Page {
    /// `(limit, offset)`, the limit checked against 1 to [`MAX_PAGE_ROWS`].
    pub fn window(&self) -> Result<(u32, u32), ApiError> {
        let limit = self.limit.unwrap_or(PAGE_ROWS);
        if !(1..=MAX_PAGE_ROWS).contains(&limit) {
            return Err(ApiError::invalid(
                format!("limit must be a whole number from 1 to {MAX_PAGE_ROWS}, got {limit}"),
                format!("Leave limit out for {PAGE_ROWS}."),
            ));
        }
        Ok((limit, self.offset.unwrap_or(0)))
    }
}

#[cfg(test)]
mod tests;
