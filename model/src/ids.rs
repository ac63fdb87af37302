//! Typed ids: a run's, a broker session's, a benchmark's and an offer's. Each is a string on
//! the wire (serde-transparent), so nothing a client reads changes; in code the compiler
//! tells them apart, so a session id can never be passed where a run id is meant.
//!
//! # Examples
//!
//! ```
//! use gdl_model::ids::{RunId, SessionId};
//!
//! let run = RunId::from("run-20261202-1a2b");
//! assert_eq!(serde_json::to_string(&run)?, r#""run-20261202-1a2b""#);
//! let session: SessionId = serde_json::from_str(r#""sess-7""#)?;
//! assert_eq!(session, "sess-7");
//! assert_eq!(session.to_string(), "sess-7");
//! # Ok::<(), serde_json::Error>(())
//! ```

use serde::{Deserialize, Serialize};
use std::borrow::Borrow;
use std::fmt;

macro_rules! ids {
    ($($(#[$doc:meta])* $name:ident,)*) => {$(
        $(#[$doc])*
        #[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The id's text, owned.
            pub fn into_string(self) -> String {
                self.0
            }

            /// Whether the id is empty (an id not known yet).
            pub fn is_empty(&self) -> bool {
                self.0.is_empty()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<String> for $name {
            fn from(id: String) -> Self {
                Self(id)
            }
        }

        impl From<&str> for $name {
            fn from(id: &str) -> Self {
                Self(id.to_owned())
            }
        }

        impl From<&String> for $name {
            fn from(id: &String) -> Self {
                Self(id.clone())
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> Self {
                id.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl Borrow<String> for $name {
            fn borrow(&self) -> &String {
                &self.0
            }
        }

        impl std::ops::Deref for $name {
            type Target = str;
            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }

        impl PartialEq<String> for $name {
            fn eq(&self, other: &String) -> bool {
                &self.0 == other
            }
        }

        impl PartialEq<$name> for &str {
            fn eq(&self, other: &$name) -> bool {
                *self == other.0
            }
        }

        impl PartialEq<$name> for String {
            fn eq(&self, other: &$name) -> bool {
                *self == other.0
            }
        }
    )*};
}

ids! {
    /// A deployment-test run's id (`run-…`), given by the dashboard.
    RunId,
    /// A broker session's id, given by the broker.
    SessionId,
    /// A benchmark record's id, given by the dashboard (an import keeps the old one).
    BenchmarkId,
    /// An offer's id in the broker's inventory (`vastai-…`, `bluelobster:<type>:<region>`).
    OfferId,
    /// A deployment's id (`dep-…`), given by the dashboard.
    DeploymentId,
    /// A campaign's id (`camp-…`), given by the dashboard.
    CampaignId,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_plain_strings_on_the_wire_and_look_up_by_text() {
        let id = OfferId::from("bluelobster:a100:us-east");
        assert_eq!(
            serde_json::to_value(&id).unwrap(),
            serde_json::json!("bluelobster:a100:us-east")
        );
        let mut by_id = std::collections::HashMap::new();
        by_id.insert(RunId::from("run-1"), 1);
        assert_eq!(
            by_id.get("run-1"),
            Some(&1),
            "a map keyed by id answers to text"
        );
        assert!(RunId::default().is_empty());
        assert_eq!(BenchmarkId::from("b").into_string(), "b");
    }
}
