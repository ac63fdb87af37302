//! The guards card: what stops the deployment by itself, editable while it runs.

use super::words;
use crate::components::ErrorNote;
use crate::functions::SetDeploymentGuards;
use gdl_model::deployments::{Deployment, Guards};
use leptos::form::ActionForm;
use leptos::prelude::*;

/// The guards as a form (a plain form posted without JavaScript too), or as words once it
/// has ended. Drawn again only when the guards or the end change, so a value being typed
/// survives the meter's updates.
#[component]
pub fn GuardsCard(d: Memo<Deployment>) -> impl IntoView {
    let save = ServerAction::<SetDeploymentGuards>::new();
    let guards = Memo::new(move |_| d.with(|d| d.guards.clone()));
    let finished = Memo::new(move |_| d.with(|d| d.status.is_finished()));
    let id = d.with_untracked(|d| d.id.to_string());
    let outcome = move || {
        match save.value().get() {
        Some(Ok(Ok(_))) => Some(view! { <p class="small ok" data-testid="guards-saved">"Saved: the new guards apply from now."</p> }.into_any()),
        Some(Ok(Err(error))) | Some(Err(crate::error::AppError(error))) => {
            Some(view! { <ErrorNote error/> }.into_any())
        }
        None => None,
    }
    };
    view! {
        <section class="card guards">
            <h2>"Guards"</h2>
            <p class="muted small">"Whichever comes first stops it, and its GPU is given back."</p>
            {move || {
                let g = guards.get();
                if finished.get() {
                    view! { <p data-testid="guards-text">{summary(&g)}</p> }.into_any()
                } else {
                    let id = id.clone();
                    view! { <Form id g save/> }.into_any()
                }
            }}
            {outcome}
        </section>
    }
}

#[component]
fn Form(id: String, g: Guards, save: ServerAction<SetDeploymentGuards>) -> impl IntoView {
    let text = |v: Option<f64>| v.map(|v| v.to_string()).unwrap_or_default();
    view! {
        <ActionForm action=save>
            <input type="hidden" name="id" value=id/>
            <div class="fields">
                <label>
                    "Idle (minutes)"
                    <input type="number" name="guards[idle_minutes]" value=g.idle_minutes.to_string()
                        min="0.1" max="10080" step="any" required/>
                </label>
                <label>
                    "Max spend ($)"
                    <input type="number" name="guards[max_spend_usd]" value=text(g.max_spend_usd)
                        min="0.01" max="10000" step="0.01" placeholder="no limit"/>
                </label>
                <label>
                    "Max lifetime (h)"
                    <input type="number" name="guards[max_lifetime_hours]" value=text(g.max_lifetime_hours)
                        min="0.1" max="168" step="any" placeholder="no limit"/>
                </label>
            </div>
            <div class="actions">
                <button type="submit" data-testid="save-guards" disabled=move || save.pending().get()>"Save guards"</button>
            </div>
        </ActionForm>
    }
}

/// `idle for 30 min · spend reaches $5.00 · no lifetime limit`.
pub fn summary(g: &Guards) -> String {
    let spend = g
        .max_spend_usd
        .map(|s| format!("spend reaches ${s:.2}"))
        .unwrap_or_else(|| "no spend limit".into());
    let life = g
        .max_lifetime_hours
        .map(|h| format!("{} after it started", words::hours(h)))
        .unwrap_or_else(|| "no lifetime limit".into());
    format!(
        "idle for {} · {spend} · {life}",
        words::minutes(g.idle_minutes)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guards_read_as_a_line() {
        assert_eq!(
            summary(&Guards::default()),
            "idle for 30 min · no spend limit · no lifetime limit"
        );
        let g = Guards {
            idle_minutes: 5.0,
            max_spend_usd: Some(2.0),
            max_lifetime_hours: Some(8.0),
        };
        assert_eq!(
            summary(&g),
            "idle for 5 min · spend reaches $2.00 · 8 h after it started"
        );
    }
}
