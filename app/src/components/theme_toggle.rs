//! The header's theme control: system, light or dark, remembered.

use crate::theme::Theme;
use leptos::prelude::*;

/// The theme control (`select.theme-toggle`, `data-testid="theme-toggle"`). It starts from
/// what the server drew (`<html data-theme>`, from the cookie), so server and browser agree;
/// then the browser's `localStorage` wins if it says otherwise. A change applies at once and
/// is kept in both.
#[component]
pub fn ThemeToggle() -> impl IntoView {
    let theme = RwSignal::new(drawn());
    Effect::new(move |seen: Option<()>| {
        let chosen = theme.get();
        if seen.is_none() {
            if let Some(stored) = stored().filter(|s| *s != chosen) {
                theme.set(stored);
                return;
            }
        }
        apply(chosen);
    });
    let options = Theme::ALL
        .into_iter()
        .map(|t| view! { <option value=t.as_str() selected=move || theme.get() == t>{t.label()}</option> })
        .collect_view();
    view! {
        <select
            class="theme-toggle"
            // Not `theme`: the Share tab's form has a field of that name for its panels.
            name="site-theme"
            aria-label="Theme"
            title="Colours: the system's, or always light or dark"
            data-testid="theme-toggle"
            on:change=move |ev| theme.set(Theme::parse(&event_target_value(&ev)))
        >
            {options}
        </select>
    }
}

/// The theme the page was drawn with: the cookie on the server, `<html data-theme>` in the
/// browser (which the server set from the same cookie).
fn drawn() -> Theme {
    #[cfg(feature = "ssr")]
    {
        request_theme()
    }
    #[cfg(not(feature = "ssr"))]
    {
        document()
            .document_element()
            .and_then(|html| html.get_attribute("data-theme"))
            .map(|t| Theme::parse(&t))
            .unwrap_or_default()
    }
}

/// The theme this request's cookie asks for (`System` outside a request).
#[cfg(feature = "ssr")]
pub fn request_theme() -> Theme {
    use_context::<http::request::Parts>()
        .and_then(|parts| {
            let cookies = parts.headers.get(http::header::COOKIE)?.to_str().ok()?;
            Some(Theme::from_cookies(cookies))
        })
        .unwrap_or_default()
}

/// Browser only: the choice kept in `localStorage`, if any.
fn stored() -> Option<Theme> {
    #[cfg(feature = "hydrate")]
    {
        let storage = window().local_storage().ok().flatten()?;
        let value = storage
            .get_item(crate::theme::THEME_COOKIE)
            .ok()
            .flatten()?;
        Some(Theme::parse(&value))
    }
    #[cfg(not(feature = "hydrate"))]
    {
        None
    }
}

/// Browser only: shows `theme` and keeps it (in `localStorage`, and in the cookie the
/// server reads for the next page's first paint).
#[allow(unused_variables)]
fn apply(theme: Theme) {
    #[cfg(feature = "hydrate")]
    {
        use crate::theme::THEME_COOKIE;
        if let Some(html) = document().document_element() {
            let _ = match theme.attribute() {
                Some(value) => html.set_attribute("data-theme", value),
                None => html.remove_attribute("data-theme"),
            };
        }
        if let Ok(Some(storage)) = window().local_storage() {
            let _ = storage.set_item(THEME_COOKIE, theme.as_str());
        }
        // `document.cookie` without the HtmlDocument binding: a plain property set.
        let cookie = format!(
            "{THEME_COOKIE}={}; Path=/; Max-Age=31536000; SameSite=Lax",
            theme.as_str()
        );
        let _ = js_sys::Reflect::set(
            &document(),
            &wasm_bindgen::JsValue::from_str("cookie"),
            &wasm_bindgen::JsValue::from_str(&cookie),
        );
    }
}
