//! The test form's workload and SLOs (folded away, filled with the dashboard's defaults):
//! synthetic lengths or a shipped trace, the prompts' seed, and the SLOs the benchmark's
//! levels are judged against. Field names are `TestConfig`'s (`config[workload][...]`,
//! `config[slo][...]`), so the form posts what `POST /api/runs` takes.

use gdl_model::benchmark::trace::SHIPPED;
use leptos::prelude::*;

/// The folded workload and SLO fields.
#[component]
pub fn WorkloadFields() -> impl IntoView {
    let number = |label: &'static str,
                  name: &'static str,
                  value: &'static str,
                  range: (&'static str, &'static str, &'static str),
                  title: &'static str| {
        view! {
            <label title=title>
                {label}
                <input type="number" name=name value=value min=range.0 max=range.1 step=range.2 required/>
            </label>
        }
    };
    view! {
        <details class="workload-settings">
            <summary>"Workload and SLOs"</summary>
            <div class="fields">
                <label title="Synthetic prompts of the lengths below, or a shipped trace's requests (their own lengths and shared prefixes)">
                    "Requests"
                    <select name="config[workload][trace]" data-testid="workload-trace">
                        <option value="">"synthetic lengths"</option>
                        {SHIPPED
                            .into_iter()
                            .map(|t| view! { <option value=t>{format!("{t} trace")}</option> })
                            .collect_view()}
                    </select>
                </label>
                {number("Input tokens", "config[workload][input_tokens]", "64", ("1", "32768", "1"),
                    "Prompt length in the model's tokens (calibrated with the engine's own counts)")}
                {number("Output tokens", "config[workload][output_tokens]", "96", ("1", "8192", "1"),
                    "Answer length, asked for exactly")}
                {number("Seed", "config[workload][seed]", "0", ("0", "18446744073709551615", "1"),
                    "The same seed sends the same prompts")}
                {number("TTFT p95, ms", "config[slo][ttft_p95_ms]", "1000", ("1", "600000", "any"),
                    "The SLO on time to first token")}
                {number("TPOT p95, ms", "config[slo][tpot_p95_ms]", "100", ("1", "600000", "any"),
                    "The SLO on time per output token")}
                {number("Success, 0–1", "config[slo][min_success]", "0.99", ("0", "1", "0.01"),
                    "Share of requests that must succeed")}
            </div>
        </details>
    }
}
