//! A button that copies a text to the clipboard and says "Copied".

use leptos::prelude::*;

/// What the last press did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Copied {
    /// Not pressed yet (or a while ago).
    No,
    /// The text is on the clipboard.
    Yes,
    /// The browser refused (no clipboard outside a secure context): the text is selected
    /// for the person to copy.
    #[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
    Refused,
}

/// "Copy": puts `text` on the clipboard (in the browser; the button does nothing before
/// hydration) and shows "Copied" for a few seconds. Its class is `copy` and its
/// `data-testid` is `copy-snippet` unless told; `data-copied` says `true` once it worked.
#[component]
pub fn CopyButton(
    /// The text to copy, read when pressed.
    text: Signal<String>,
    /// Its `data-testid` (`copy-snippet` when not given).
    #[prop(optional)]
    testid: Option<&'static str>,
    /// The text area holding the text, selected when the clipboard refuses (the Share
    /// tab's snippet when not given).
    #[prop(optional)]
    area: Option<&'static str>,
) -> impl IntoView {
    let copied = RwSignal::new(Copied::No);
    let area = area.unwrap_or("textarea[data-snippet]");
    let press = move |_| {
        let text = text.get_untracked();
        copy(text, area, copied);
    };
    let label = move || match copied.get() {
        Copied::No => "Copy",
        Copied::Yes => "Copied",
        Copied::Refused => "Press Ctrl+C to copy",
    };
    view! {
        <button
            type="button"
            class="copy secondary"
            data-testid=testid.unwrap_or("copy-snippet")
            data-copied=move || (copied.get() == Copied::Yes).then_some("true")
            on:click=press
        >
            {label}
        </button>
    }
}

/// Browser only: writes `text` to the clipboard, then sets `copied` (back to `No` after a
/// few seconds).
#[cfg(feature = "hydrate")]
fn copy(text: String, area: &'static str, copied: RwSignal<Copied>) {
    use wasm_bindgen::JsValue;
    let Some(window) = web_sys::window() else {
        return;
    };
    let navigator = window.navigator();
    // `navigator.clipboard` is missing outside a secure context (plain http but localhost).
    let available = js_sys::Reflect::get(&navigator, &JsValue::from_str("clipboard"))
        .is_ok_and(|c| !c.is_undefined() && !c.is_null());
    if !available {
        select_snippet(area);
        copied.set(Copied::Refused);
        return;
    }
    let written = navigator.clipboard().write_text(&text);
    wasm_bindgen_futures::spawn_local(async move {
        match wasm_bindgen_futures::JsFuture::from(written).await {
            Ok(_) => {
                copied.set(Copied::Yes);
                gloo_timers::future::TimeoutFuture::new(3_000).await;
                copied.set(Copied::No);
            }
            Err(_) => {
                select_snippet(area);
                copied.set(Copied::Refused);
            }
        }
    });
}

#[cfg(not(feature = "hydrate"))]
fn copy(_text: String, _area: &'static str, _copied: RwSignal<Copied>) {}

/// Selects the text in `area`, so Ctrl+C copies it when the clipboard could not be written.
#[cfg(feature = "hydrate")]
fn select_snippet(area: &str) {
    use wasm_bindgen::JsCast;
    if let Some(area) = document()
        .query_selector(area)
        .ok()
        .flatten()
        .and_then(|e| e.dyn_into::<web_sys::HtmlTextAreaElement>().ok())
    {
        let _ = area.focus();
        area.select();
    }
}
