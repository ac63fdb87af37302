//! Components shared by the pages.

mod broker;
mod error_note;
mod sessions;

pub use broker::{BrokerCard, ProvidersCard};
pub use error_note::ErrorNote;
pub use sessions::SessionTable;
