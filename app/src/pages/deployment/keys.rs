//! The keys card: each key (label, prefix, made, revoked), New key (its secret shown once)
//! and Revoke (after a confirmation).

use crate::components::ErrorNote;
use crate::format;
use crate::functions::{outcome, FreshKey, NewDeploymentKey, RevokeDeploymentKey};
use gdl_model::deployments::{Deployment, DeploymentKey};
use leptos::form::ActionForm;
use leptos::prelude::*;

/// The keys; a key made here is handed to `made` (the endpoint card shows it once).
#[component]
pub fn Keys(d: Memo<Deployment>, made: RwSignal<Option<FreshKey>>) -> impl IntoView {
    let create = ServerAction::<NewDeploymentKey>::new();
    let revoke = ServerAction::<RevokeDeploymentKey>::new();
    Effect::new(move |_| {
        if let Some(Ok(Ok(key))) = create.value().get() {
            made.set(Some(FreshKey {
                key_id: key.key.id,
                secret: key.secret,
            }));
        }
    });
    let keys = Memo::new(move |_| d.with(|d| d.keys.clone()));
    let finished = Memo::new(move |_| d.with(|d| d.status.is_finished()));
    let id = d.with_untracked(|d| d.id.to_string());
    let refused = move || {
        let made = create.value().get().and_then(|r| outcome(r).err());
        made.or_else(|| revoke.value().get().and_then(|r| outcome(r).err()))
    };
    let rows = {
        let id = id.clone();
        move || {
            let ended = finished.get();
            keys.get()
                .into_iter()
                .map(|k| view! { <Row deployment=id.clone() k ended revoke/> })
                .collect_view()
        }
    };
    view! {
        <section class="card keys table-wrap">
            <h2>"Keys"</h2>
            <table class="keys">
                <thead>
                    <tr><th>"Label"</th><th>"Key"</th><th>"Made"</th><th>"State"</th><th></th></tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
            {move || (!finished.get()).then(|| {
                let id = id.clone();
                view! {
                    <ActionForm action=create>
                        <div class="new-key">
                            <input type="hidden" name="id" value=id/>
                            <label>"Label" <input type="text" name="label" required maxlength="64"
                                placeholder="notebook" autocomplete="off"/></label>
                            <button type="submit" data-testid="new-key" disabled=move || create.pending().get()>"New key"</button>
                        </div>
                    </ActionForm>
                }
            })}
            {move || refused().map(|error| view! { <ErrorNote error/> })}
        </section>
    }
}

#[component]
fn Row(
    deployment: String,
    k: DeploymentKey,
    ended: bool,
    revoke: ServerAction<RevokeDeploymentKey>,
) -> impl IntoView {
    let state = match k.revoked_at {
        Some(at) => format!("revoked {}", format::timestamp(&at)),
        None if ended => "closed (the deployment ended)".into(),
        None => "active".into(),
    };
    let active = k.revoked_at.is_none() && !ended;
    let key_id = k.id.clone();
    view! {
        <tr data-key=k.id.clone() data-state=if k.revoked_at.is_some() { "revoked" } else { "active" }>
            <td>{k.label}</td>
            <td><code>{k.prefix}</code></td>
            <td>{format::timestamp(&k.created_at)}</td>
            <td>{state}</td>
            <td class="actions">
                {active.then(|| view! {
                    <details class="confirm-revoke">
                        <summary class="button danger small" data-testid="revoke">"Revoke…"</summary>
                        <ActionForm action=revoke>
                            <input type="hidden" name="id" value=deployment/>
                            <input type="hidden" name="key_id" value=key_id/>
                            <span class="small">"Clients with this key are refused from now on. "</span>
                            <button type="submit" class="danger small" data-testid="confirm-revoke">"Yes, revoke"</button>
                        </ActionForm>
                    </details>
                })}
            </td>
        </tr>
    }
}
