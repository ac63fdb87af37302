//! Components shared by the pages.

mod benchmark_table;
mod broker;
pub mod chart;
mod copy_button;
mod engine_fields;
mod error_note;
mod filters;
mod guard_fields;
mod import_old;
mod live_status;
mod loaded;
mod log_panel;
mod orphans;
mod run_panel;
mod sessions;
mod test_form;
mod theme_toggle;
mod ttr_chart;
mod workload_fields;

pub use benchmark_table::BenchmarkTable;
pub use broker::{BrokerCard, ProvidersCard};
pub use copy_button::CopyButton;
pub use engine_fields::version_label;
pub use error_note::ErrorNote;
pub use filters::provider_options;
pub use guard_fields::GuardFields;
pub use import_old::ImportOld;
pub use live_status::LiveStatus;
pub use loaded::Loaded;
pub use log_panel::LogPanel;
pub use orphans::OrphanBanner;
pub use run_panel::{RunCard, RunPanel};
pub use sessions::SessionTable;
pub use test_form::TestForm;
#[cfg(feature = "ssr")]
pub use theme_toggle::request_theme;
pub use theme_toggle::ThemeToggle;
pub use ttr_chart::TimeToRunningChart;

/// Set by an embedded panel (`/embed/...`): components leave out what changes anything
/// (actions, forms, links into the full dashboard's flows).
#[derive(Clone, Copy, Debug)]
pub struct ReadOnly;

/// Whether this view is a read-only embedded panel.
pub fn read_only() -> bool {
    leptos::prelude::use_context::<ReadOnly>().is_some()
}
