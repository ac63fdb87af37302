use leptos::prelude::*;

/// Benchmark history. Empty until deployment tests record results.
#[component]
pub fn BenchmarksPage() -> impl IntoView {
    view! {
        <section class="card">
            <h1>"Benchmarks"</h1>
            <p class="empty">
                "No benchmarks recorded yet. A deployment test stores time to first token, "
                "time per output token, throughput and $ per million tokens here."
            </p>
        </section>
    }
}
