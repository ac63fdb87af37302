//! Components shared by the pages.

mod broker;
mod error_note;
mod live_status;
mod sessions;

pub use broker::{BrokerCard, ProvidersCard};
pub use error_note::ErrorNote;
pub use live_status::LiveStatus;
pub use sessions::SessionTable;
