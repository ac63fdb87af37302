//! [`AppState`]: what the router's doors share. The operations are the [`Dashboard`]'s;
//! the state adds what only HTTP needs (access control, the Leptos options, the settings)
//! and keeps the embedded simulator alive. Handlers take only their part through
//! [`FromRef`]: `State<Dashboard>`, `State<Access>`, `State<Hub>`.

use crate::live::Hub;
use crate::security::Access;
use crate::serve::connections::ConnectionStats;
use crate::service::Dashboard;
use crate::settings::Settings;
use crate::simulator::SimServer;
use axum::extract::FromRef;
use leptos::config::LeptosOptions;
use std::ops::Deref;
use std::sync::Arc;

/// The router's state. Cheap to clone (one `Arc`), as axum clones it for every request.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

/// What the doors share.
pub struct Shared {
    /// The operations.
    pub dashboard: Dashboard,
    /// Who may use the dashboard: token, logins, hosts, origins, embed tokens.
    pub access: Access,
    /// The pages' Leptos options (site root, output name).
    pub leptos: LeptosOptions,
    /// What the dashboard was started with.
    pub settings: Settings,
    /// The embedded simulator, kept alive as long as the state.
    pub simulator: Option<Arc<SimServer>>,
    /// What the accept loop has seen.
    pub connections: Arc<ConnectionStats>,
}

impl AppState {
    /// The state over `shared`.
    pub fn new(shared: Shared) -> Self {
        Self(Arc::new(shared))
    }
}

impl Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

impl FromRef<AppState> for Dashboard {
    fn from_ref(state: &AppState) -> Self {
        state.dashboard.clone()
    }
}

impl FromRef<AppState> for Access {
    fn from_ref(state: &AppState) -> Self {
        state.access.clone()
    }
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos.clone()
    }
}

impl FromRef<AppState> for Arc<ConnectionStats> {
    fn from_ref(state: &AppState) -> Self {
        state.connections.clone()
    }
}

impl FromRef<AppState> for Hub {
    fn from_ref(state: &AppState) -> Self {
        state.dashboard.hub().clone()
    }
}
