use crate::format;
use crate::functions::CleanUpOrphans;
use crate::live::use_live;
use leptos::prelude::*;

/// On every page while any of our sessions costs money with no test using it: how many,
/// what they burn an hour, and Clean up all (after a confirmation).
#[component]
pub fn OrphanBanner() -> impl IntoView {
    let store = use_live();
    let clean = ServerAction::<CleanUpOrphans>::new();
    let confirming = RwSignal::new(false);
    let orphans = move || {
        store
            .client
            .with(|c| (c.live.orphans().len(), c.live.orphan_burn_per_hour()))
    };
    let summary = move || {
        let (n, burn) = orphans();
        format!(
            "{n} session{} burning {} that no test is using",
            if n == 1 { "" } else { "s" },
            format::per_hour(burn)
        )
    };
    let outcome = move || match clean.value().get().map(crate::functions::outcome) {
        Some(Ok(done)) => {
            let mut text = format!("Cleaned up {}", done.cleaned.len());
            for e in done.failed {
                text.push_str(&format!("; {}", e.message));
            }
            Some(view! { <p class="small" data-orphan-outcome="">{text}</p> }.into_any())
        }
        Some(Err(e)) => Some(view! { <p class="small error">{e.to_string()}</p> }.into_any()),
        None => None,
    };
    let read_only = crate::components::read_only();
    view! {
        <Show when=move || { orphans().0 > 0 }>
            <section class="banner warn orphans" role="alert" data-orphans=move || orphans().0>
                <p class="headline">{summary}</p>
                <div class="actions" hidden=read_only>
                    <Show
                        when=move || confirming.get()
                        fallback=move || view! {
                            <button type="button" class="danger" data-action="clean-up-all"
                                disabled=move || clean.pending().get()
                                on:click=move |_| confirming.set(true)>
                                {move || if clean.pending().get() { "Cleaning up…" } else { "Clean up all" }}
                            </button>
                            <a href="/sessions">"See them"</a>
                        }
                    >
                        <span>{move || format!("Destroy all {}?", orphans().0)}</span>
                        <button type="button" class="danger" data-action="confirm"
                            on:click=move |_| {
                                confirming.set(false);
                                clean.dispatch(CleanUpOrphans {});
                            }>
                            "Yes, clean up all"
                        </button>
                        <button type="button" class="secondary" on:click=move |_| confirming.set(false)>
                            "No"
                        </button>
                    </Show>
                </div>
            </section>
        </Show>
        {outcome}
        <ReconcilerNote/>
    }
}

/// Under the banner, on every page: what the reconciler destroyed on its own in the last
/// day (sessions of this installation that nothing owned, past their grace period).
#[component]
fn ReconcilerNote() -> impl IntoView {
    let store = use_live();
    let recent = move || {
        let since = chrono::Utc::now() - chrono::Duration::days(1);
        store.client.with(|c| {
            let recent: Vec<_> = c
                .live
                .reconciled
                .iter()
                .filter(|r| r.destroyed_at >= since)
                .collect();
            let cost: f64 = recent.iter().map(|r| r.cost_usd).sum();
            let unconfirmed = recent.iter().filter(|r| !r.confirmed).count();
            (recent.len(), cost, unconfirmed)
        })
    };
    let text = move || {
        let (n, cost, unconfirmed) = recent();
        let mut text = format!(
            "The reconciler destroyed {n} session{} that nothing owned in the last day; {} had been spent on {}.",
            if n == 1 { "" } else { "s" },
            format::small_usd(cost),
            if n == 1 { "it" } else { "them" },
        );
        if unconfirmed > 0 {
            text.push_str(&format!(
                " {unconfirmed} not confirmed yet: it asks the broker again every minute."
            ));
        }
        text
    };
    view! {
        <Show when=move || { recent().0 > 0 }>
            <p class="banner info reconciled" data-reconciled=move || recent().0>
                {text} " " <a href="/sessions">"Sessions"</a>
            </p>
        </Show>
    }
}
