use super::live_page::{LiveContent, LiveToolbar};
use crate::components::{SessionTable, TimeToRunningChart};
use leptos::prelude::*;

/// Our sessions on the broker, from every version of this product, kept live.
#[component]
pub fn SessionsPage() -> impl IntoView {
    view! {
        <LiveToolbar title="Sessions"/>
        <LiveContent
            loading="Loading sessions…"
            content=|| view! {
                <TimeToRunningChart/>
                <SessionTable/>
            }
        />
    }
}
