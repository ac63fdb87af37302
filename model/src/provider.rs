//! The GPU clouds the broker rents from.
//!
//! One line in the `providers!` table below adds a provider everywhere: the broker types,
//! validation, the dashboard's lists and the simulator's catalogue all read [`Provider`].
//!
//! # Examples
//!
//! ```
//! use gdl_model::provider::Provider;
//!
//! let p: Provider = serde_json::from_str(r#""tensordock""#)?;
//! assert_eq!(p, Provider::TensorDock);
//! assert_eq!(p.label(), "TensorDock");
//! // A provider the broker adds later is kept by name, not refused.
//! let new: Provider = serde_json::from_str(r#""runpod""#)?;
//! assert_eq!(new, Provider::Other("runpod".into()));
//! assert_eq!(serde_json::to_string(&new)?, r#""runpod""#);
//! # Ok::<(), serde_json::Error>(())
//! ```

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

macro_rules! providers {
    ($($(#[$doc:meta])* $variant:ident => $wire:literal, $label:literal;)*) => {
        /// A provider the broker rents from. A name the broker may add later is kept as
        /// [`Provider::Other`], so a new provider never breaks reading the inventory.
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Provider {
            $($(#[$doc])* $variant,)*
            /// A provider this version does not know, by its wire name.
            Other(String),
        }

        impl Provider {
            /// The providers this version knows, in display order.
            pub const KNOWN: &'static [Provider] = &[$(Provider::$variant,)*];

            /// The broker's name (`vastai`, ...).
            pub fn as_str(&self) -> &str {
                match self {
                    $(Self::$variant => $wire,)*
                    Self::Other(name) => name,
                }
            }

            /// The name people read (`Vast.ai`, ...).
            pub fn label(&self) -> &str {
                match self {
                    $(Self::$variant => $label,)*
                    Self::Other(name) => name,
                }
            }
        }
    };
}

providers! {
    /// Vast.ai (`vastai`).
    VastAi => "vastai", "Vast.ai";
    /// TensorDock (`tensordock`).
    TensorDock => "tensordock", "TensorDock";
    /// Blue Lobster (`bluelobster`).
    BlueLobster => "bluelobster", "Blue Lobster";
}

impl Provider {
    /// The provider the broker calls `name` (known or not).
    ///
    /// # Examples
    ///
    /// ```
    /// use gdl_model::provider::Provider;
    /// assert_eq!(Provider::from_wire("vastai"), Provider::VastAi);
    /// assert_eq!(Provider::from_wire("runpod").as_str(), "runpod");
    /// assert_eq!(Provider::known("runpod"), None);
    /// ```
    pub fn from_wire(name: &str) -> Self {
        Self::known(name).unwrap_or_else(|| Self::Other(name.to_owned()))
    }

    /// The known provider called `name`, if any.
    pub fn known(name: &str) -> Option<Self> {
        Self::KNOWN.iter().find(|p| p.as_str() == name).cloned()
    }

    /// The known names, comma separated (for hints).
    pub fn known_names() -> String {
        Self::KNOWN
            .iter()
            .map(Provider::as_str)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl std::str::FromStr for Provider {
    type Err = std::convert::Infallible;

    /// Never fails: a name this version does not know is [`Provider::Other`].
    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Ok(Self::from_wire(name.trim()))
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Default for Provider {
    fn default() -> Self {
        Self::Other(String::new())
    }
}

impl Serialize for Provider {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Provider {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Self::from_wire(&String::deserialize(d)?))
    }
}

/// Reads an optional provider where an empty string means "any" (forms send `""`).
///
/// For `#[serde(deserialize_with = "...")]` on an `Option<Provider>` field.
///
/// # Examples
///
/// ```
/// use gdl_model::provider::{de_optional_provider, Provider};
///
/// #[derive(serde::Deserialize)]
/// struct Form {
///     #[serde(default, deserialize_with = "de_optional_provider")]
///     provider: Option<Provider>,
/// }
/// let any: Form = serde_json::from_str(r#"{"provider":""}"#)?;
/// assert_eq!(any.provider, None);
/// let vast: Form = serde_json::from_str(r#"{"provider":"vastai"}"#)?;
/// assert_eq!(vast.provider, Some(Provider::VastAi));
/// # Ok::<(), serde_json::Error>(())
/// ```
pub fn de_optional_provider<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Provider>, D::Error> {
    let text = Option::<String>::deserialize(d)?;
    Ok(text
        .filter(|t| !t.trim().is_empty())
        .map(|t| Provider::from_wire(t.trim())))
}

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for Provider {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        crate::code::string_schema(
            "A GPU cloud the broker rents from; names it does not know are passed on as they are.",
            Provider::KNOWN.iter().map(|p| p.as_str().to_owned()),
        )
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for Provider {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_names_round_trip_and_others_are_kept() {
        for p in Provider::KNOWN {
            let json = serde_json::to_string(p).unwrap();
            assert_eq!(serde_json::from_str::<Provider>(&json).unwrap(), *p);
            assert_eq!(Provider::known(p.as_str()).as_ref(), Some(p));
        }
        assert_eq!(Provider::VastAi.label(), "Vast.ai");
        let other: Provider = serde_json::from_str(r#""runpod""#).unwrap();
        assert_eq!(other, Provider::Other("runpod".into()));
        assert_eq!(serde_json::to_string(&other).unwrap(), r#""runpod""#);
        assert_eq!(Provider::known("runpod"), None);
        assert_eq!(Provider::known_names(), "vastai, tensordock, bluelobster");
    }

    #[test]
    fn an_empty_optional_provider_means_any() {
        #[derive(Deserialize)]
        struct Form {
            #[serde(default, deserialize_with = "de_optional_provider")]
            provider: Option<Provider>,
        }
        let any: Form = serde_json::from_str(r#"{"provider":" "}"#).unwrap();
        assert_eq!(any.provider, None);
        let none: Form = serde_json::from_str(r#"{}"#).unwrap();
        assert_eq!(none.provider, None);
        let vast: Form = serde_json::from_str(r#"{"provider":"vastai"}"#).unwrap();
        assert_eq!(vast.provider, Some(Provider::VastAi));
    }
}
