//! A deployment's guards as form fields (`guards[idle_minutes]`, `guards[max_spend_usd]`,
//! `guards[max_lifetime_hours]`), as `Guards` decodes them: the test form's Deploy and a
//! benchmark's Deploy this use the same.

use gdl_model::deployments::DEFAULT_IDLE_MINUTES;
use leptos::prelude::*;

/// Idle minutes (the default filled in), max spend and max lifetime (empty: no limit).
#[component]
pub fn GuardFields() -> impl IntoView {
    view! {
        <label title="No request for this long stops it (fractions allowed)">
            "Idle (minutes)"
            <input type="number" name="guards[idle_minutes]" value=DEFAULT_IDLE_MINUTES.to_string()
                min="0.1" max="10080" step="any" required/>
        </label>
        <label title="Its rent, provisioning included, reaching this stops it; empty: no limit">
            "Max spend ($)"
            <input type="number" name="guards[max_spend_usd]" min="0.01" max="10000" step="0.01"
                placeholder="no limit"/>
        </label>
        <label title="This long after it was started it stops; empty: no limit (the broker's 12 h maximum still applies)">
            "Max lifetime (h)"
            <input type="number" name="guards[max_lifetime_hours]" min="0.1" max="168" step="any"
                placeholder="no limit"/>
        </label>
    }
}
