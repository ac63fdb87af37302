//! How many connections the dashboard holds open and how long it waits for a request.

use super::parse::seconds;
use crate::serve::connections::ConnectionLimits;
use clap::Args;
use std::time::Duration;

/// The accept loop's limits: what a client that has not authenticated yet can hold.
#[derive(Clone, Debug, Args)]
pub struct ConnectionSettings {
    /// Connections held open at once (pages, REST and live channels together). Past it,
    /// new connections wait in the kernel's queue until one closes. Keep it below the
    /// process's file limit (`ulimit -n`).
    #[arg(long, env = "GDL_MAX_CONNECTIONS", default_value_t = 4096, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub max_connections: u32,

    /// Seconds a client has to send a request's headers, from connecting or from the end
    /// of its previous request; then its connection is closed.
    #[arg(long = "header-timeout", env = "GDL_HEADER_TIMEOUT", default_value = "10", value_parser = seconds)]
    pub header_timeout: Duration,
}

impl ConnectionSettings {
    /// The accept loop's limits.
    pub fn limits(&self) -> ConnectionLimits {
        ConnectionLimits {
            max: self.max_connections as usize,
            header_timeout: self.header_timeout,
        }
    }
}
