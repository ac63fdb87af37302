//! One page per route.

mod benchmarks;
mod dashboard;
mod live_page;
mod not_found;
mod sessions;

pub use benchmarks::BenchmarksPage;
pub use dashboard::DashboardPage;
pub use not_found::NotFoundPage;
pub use sessions::SessionsPage;
