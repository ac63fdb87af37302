//! Providers' error codes as the broker passes them on (`provider create failed:
//! no_such_ask`), with a plain sentence for each one we know. The code stays visible
//! beside the sentence: it is what a provider's support or documentation knows.

/// Known provider codes (matched without regard to case) and what they mean.
const KNOWN: &[(&str, &str)] = &[
    // Vast.ai: the ask (the listed machine) is gone or rented by someone else.
    (
        "no_such_ask",
        "The provider no longer has this machine for rent",
    ),
    // Blue Lobster: no instance of that type free in the region.
    (
        "no_capacity",
        "The provider has no free machine of this kind right now",
    ),
    // TensorDock: no host left with that GPU.
    (
        "No available nodes",
        "The provider has no free machine of this kind right now",
    ),
];

/// What marks a text already explained (so explaining twice changes nothing).
const MARK: &str = "(provider code ";

/// The plain sentence for the first known provider code in `text`, with the code:
/// `The provider no longer has this machine for rent (provider code no_such_ask)`.
///
/// # Examples
///
/// ```
/// use gdl_model::shopper::provider_error_sentence;
///
/// assert_eq!(
///     provider_error_sentence("provider create failed: no_such_ask").as_deref(),
///     Some("The provider no longer has this machine for rent (provider code no_such_ask)")
/// );
/// assert_eq!(provider_error_sentence("SSH verification timeout"), None);
/// ```
pub fn provider_error_sentence(text: &str) -> Option<String> {
    let lower = text.to_ascii_lowercase();
    KNOWN
        .iter()
        .find(|(code, _)| lower.contains(&code.to_ascii_lowercase()))
        .map(|(code, meaning)| format!("{meaning} {MARK}{code})"))
}

/// `text` with a plain sentence for a provider code it carries: the sentence alone when
/// the text is only the broker's wrapping of the code, the sentence then the broker's
/// words otherwise; unchanged when it carries no known code (or was explained already).
///
/// # Examples
///
/// ```
/// use gdl_model::shopper::explain_provider_error;
///
/// assert_eq!(
///     explain_provider_error("provider create failed: no_such_ask"),
///     "The provider no longer has this machine for rent (provider code no_such_ask)"
/// );
/// let stale = "offer vastai-7 from vastai unavailable (stale inventory): no_such_ask - consider retrying with a different offer";
/// assert_eq!(
///     explain_provider_error(stale),
///     format!("The provider no longer has this machine for rent (provider code no_such_ask); the broker said: {stale}")
/// );
/// assert_eq!(explain_provider_error("disk full"), "disk full");
/// ```
pub fn explain_provider_error(text: &str) -> String {
    if text.contains(MARK) {
        return text.to_owned();
    }
    let Some(sentence) = provider_error_sentence(text) else {
        return text.to_owned();
    };
    let bare = text
        .trim()
        .strip_prefix("provider create failed:")
        .map(str::trim)
        .unwrap_or(text.trim());
    if KNOWN
        .iter()
        .any(|(code, _)| bare.eq_ignore_ascii_case(code))
    {
        sentence
    } else {
        format!("{sentence}; the broker said: {text}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_known_code_gets_a_sentence_and_keeps_the_code() {
        for (code, meaning) in KNOWN {
            let raw = format!("provider create failed: {code}");
            let plain = explain_provider_error(&raw);
            assert_eq!(plain, format!("{meaning} (provider code {code})"));
            assert_eq!(explain_provider_error(&plain), plain, "explained once");
        }
        let td = "failed to create instance: tensordock: no available nodes for gpu";
        let plain = explain_provider_error(td);
        assert!(plain.starts_with("The provider has no free machine of this kind right now (provider code No available nodes); the broker said: "), "{plain}");
        assert!(plain.ends_with(td));
        for unknown in ["", "SSH verification timeout", "no such host"] {
            assert_eq!(explain_provider_error(unknown), unknown);
            assert_eq!(provider_error_sentence(unknown), None);
        }
    }
}
