//! One page per route.

mod benchmark;
mod benchmarks;
mod campaign;
mod campaigns;
mod compare;
mod costs;
mod dashboard;
mod deployment;
mod deployments;
mod embed;
mod embed_help;
mod health;
mod inventory;
mod live_page;
mod not_found;
mod run;
mod runs;
mod sessions;
mod share;

pub use benchmark::BenchmarkPage;
pub use benchmarks::BenchmarksPage;
pub use campaign::CampaignPage;
pub use campaigns::CampaignsPage;
pub use compare::ComparePage;
pub use costs::CostsPage;
pub use dashboard::DashboardPage;
pub use deployment::DeploymentPage;
pub use deployments::DeploymentsPage;
pub use embed::{
    EmbedBenchmarksPage, EmbedOrphansPage, EmbedRunPage, EmbedSessionsPage, EmbedStatusPage,
};
pub use embed_help::EmbedHelpPage;
pub use health::HealthPage;
pub use inventory::InventoryPage;
pub use not_found::NotFoundPage;
pub use run::RunPage;
pub use runs::RunsPage;
pub use sessions::SessionsPage;
pub use share::SharePage;
