use super::live_page::{LiveContent, LiveToolbar};
use crate::components::{BenchmarkTable, ImportOld};
use leptos::prelude::*;

/// Benchmark history, kept live.
#[component]
pub fn BenchmarksPage() -> impl IntoView {
    view! {
        <LiveToolbar title="Benchmarks"/>
        <LiveContent loading="Loading benchmarks…" content=|| view! { <BenchmarkTable/> }/>
        <ImportOld/>
    }
}
