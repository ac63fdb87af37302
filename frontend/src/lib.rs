//! The wasm entry point: hydrates the server-rendered page.

// Leptos view types nest deeply; the release build needs more room than the default 128.
#![recursion_limit = "256"]

/// Called by the hydration script that the server puts in every page.
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    let _ = console_log::init_with_level(log::Level::Warn);
    leptos::mount::hydrate_body(app::App);
}
