//! The flags' value parsers: each says what it expected, with the value it got.

use std::time::Duration;

/// A positive, finite number (a speed).
pub fn positive_f64(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(x) if x > 0.0 && x.is_finite() => Ok(x),
        _ => Err(format!("expected a positive number, got {text:?}")),
    }
}

/// A share from 0 to 1.
pub(super) fn share(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(x) if (0.0..=1.0).contains(&x) => Ok(x),
        _ => Err(format!("expected a share from 0 to 1, got {text:?}")),
    }
}

fn whole(text: &str, unit: &str) -> Result<u64, String> {
    match text.trim().parse::<u64>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(format!(
            "expected a whole number of {unit} (at least 1), got {text:?}"
        )),
    }
}

pub(super) fn seconds(text: &str) -> Result<Duration, String> {
    whole(text, "seconds").map(Duration::from_secs)
}

pub(super) fn millis(text: &str) -> Result<Duration, String> {
    whole(text, "milliseconds").map(Duration::from_millis)
}

pub(super) fn hours(text: &str) -> Result<Duration, String> {
    whole(text, "hours").map(|h| Duration::from_secs(h.saturating_mul(3600)))
}

/// An origin as browsers send it, `scheme://host[:port]` (http or https), normalised; a
/// wildcard, a path or credentials are refused.
pub(super) fn origin(text: &str) -> Result<String, String> {
    let refuse = |why: &str| {
        Err(format!(
            "expected an origin such as https://wiki.example.org or http://127.0.0.1:3000 ({why}), got {text:?}"
        ))
    };
    let text = text.trim();
    if text.contains('*') {
        return refuse("no wildcards: name each origin");
    }
    let Ok(url) = reqwest::Url::parse(text) else {
        return refuse("not a URL");
    };
    if !matches!(url.scheme(), "http" | "https") {
        return refuse("http or https");
    }
    let Some(host) = url.host_str() else {
        return refuse("no host");
    };
    if !url.username().is_empty() || url.password().is_some() {
        return refuse("no credentials");
    }
    if url.path() != "/" || text.ends_with('/') || url.query().is_some() || url.fragment().is_some()
    {
        return refuse("no path, query or trailing slash");
    }
    Ok(match url.port() {
        Some(port) => format!("{}://{host}:{port}", url.scheme()),
        None => format!("{}://{host}", url.scheme()),
    })
}

pub(super) fn seconds_f64(text: &str) -> Result<Duration, String> {
    match text.trim().parse::<f64>() {
        Ok(s) if s >= 0.1 && s.is_finite() => Ok(Duration::from_secs_f64(s)),
        _ => Err(format!("expected seconds (at least 0.1), got {text:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allowed_origins_are_origins() {
        assert_eq!(
            origin("https://Wiki.Example.org").unwrap(),
            "https://wiki.example.org"
        );
        assert_eq!(
            origin("http://127.0.0.1:3000").unwrap(),
            "http://127.0.0.1:3000"
        );
        assert_eq!(
            origin("https://example.org:443").unwrap(),
            "https://example.org"
        );
        for bad in [
            "*",
            "https://*.example.org",
            "example.org",
            "ftp://example.org",
            "https://example.org/",
            "https://example.org/wiki",
            "https://example.org?x=1",
            "https://user:pw@example.org",
            "",
        ] {
            let e = origin(bad).unwrap_err();
            assert!(e.contains("expected an origin"), "{bad}: {e}");
        }
    }
}
