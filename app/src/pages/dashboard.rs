use super::live_page::{LiveContent, LiveToolbar};
use crate::components::{BrokerCard, ProvidersCard};
use crate::live::use_live;
use leptos::prelude::*;

/// The dashboard: broker status and offers per provider, kept live.
#[component]
pub fn DashboardPage() -> impl IntoView {
    view! {
        <LiveToolbar title="Dashboard"/>
        <LiveContent loading="Checking the broker…" content=cards/>
    }
}

fn cards() -> impl IntoView {
    let store = use_live();
    move || match store.status() {
        Some(status) => view! {
            <div class="grid">
                <BrokerCard broker=status.broker.clone()/>
                <ProvidersCard status=status/>
            </div>
        }
        .into_any(),
        None => view! { <p class="muted">"The broker has not been checked yet."</p> }.into_any(),
    }
}
