//! The dashboard's colours: the system's (the default, following `prefers-color-scheme`),
//! or always light or dark. The choice is kept in the browser's `localStorage` and in a
//! cookie; the server reads the cookie to draw `<html data-theme="...">`, so a chosen
//! theme applies before the first paint, with no inline script (which the pages'
//! Content-Security-Policy would refuse).

/// The cookie (and `localStorage` key) that keeps the choice.
pub const THEME_COOKIE: &str = "gdl-theme";

/// A theme choice.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Theme {
    /// Follows the system setting.
    #[default]
    System,
    /// Dark text on a light background.
    Light,
    /// Light text on a dark background.
    Dark,
}

impl Theme {
    /// Every choice, in the header's order.
    pub const ALL: [Theme; 3] = [Self::System, Self::Light, Self::Dark];

    /// The stored spelling (`system`, `light`, `dark`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::System => "system",
            Self::Light => "light",
            Self::Dark => "dark",
        }
    }

    /// What the header's control says.
    pub fn label(self) -> &'static str {
        match self {
            Self::System => "System",
            Self::Light => "Light",
            Self::Dark => "Dark",
        }
    }

    /// A stored spelling; anything but `light` or `dark` is [`Theme::System`].
    pub fn parse(text: &str) -> Self {
        match text.trim() {
            "light" => Self::Light,
            "dark" => Self::Dark,
            _ => Self::System,
        }
    }

    /// The choice in a `Cookie` header's value, if it carries one.
    pub fn from_cookies(header: &str) -> Self {
        header
            .split(';')
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(name, _)| *name == THEME_COOKIE)
            .map(|(_, value)| Self::parse(value))
            .unwrap_or_default()
    }

    /// The value of `<html data-theme>`: none for the system's colours.
    pub fn attribute(self) -> Option<&'static str> {
        (self != Self::System).then(|| self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cookie_chooses_and_anything_else_follows_the_system() {
        assert_eq!(Theme::from_cookies("a=1; gdl-theme=dark; b=2"), Theme::Dark);
        assert_eq!(Theme::from_cookies("gdl-theme=light"), Theme::Light);
        for other in [
            "",
            "gdl-theme=",
            "gdl-theme=purple",
            "x-gdl-theme=dark",
            "gdl=dark",
        ] {
            assert_eq!(Theme::from_cookies(other), Theme::System, "{other:?}");
        }
        assert_eq!(Theme::System.attribute(), None);
        for t in Theme::ALL {
            assert_eq!(Theme::parse(t.as_str()), t);
        }
    }
}
