use super::live_page::{LiveContent, LiveToolbar};
use crate::components::{BrokerCard, LogPanel, ProvidersCard, RunPanel, TestForm};
use crate::live::use_live;
use leptos::prelude::*;

/// The dashboard: broker status and offers, the test form, the current run's steps and
/// result, and its live log.
#[component]
pub fn DashboardPage() -> impl IntoView {
    view! {
        <LiveToolbar title="Dashboard"/>
        <LiveContent loading="Checking the broker…" content=content/>
    }
}

fn content() -> AnyView {
    view! {
        <div class="grid">{cards}</div>
        <div class="grid work">
            <div class="column">
                <TestForm/>
                <RunPanel/>
            </div>
            <LogPanel/>
        </div>
    }
    .into_any()
}

fn cards() -> impl IntoView {
    let store = use_live();
    move || match store.status() {
        Some(status) => view! {
            <BrokerCard broker=status.broker.clone()/>
            <ProvidersCard status=status/>
        }
        .into_any(),
        None => view! { <p class="muted">"The broker has not been checked yet."</p> }.into_any(),
    }
}
