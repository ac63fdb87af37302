//! Integration tests: the broker client against the simulator over real loopback HTTP, and
//! the dashboard's router served on a port-0 listener.

mod bench_cli;
mod broker_features;
mod cli;
mod cli_broker;
mod client_errors;
mod client_sessions;
mod compare;
mod contract;
mod cost_safety;
mod costs;
mod dashboard;
mod embed;
mod entrypoint;
mod health;
mod history;
mod inventory_fit;
mod live;
mod openapi;
mod process;
mod recovery;
mod resilience;
mod runs;
mod secrets;
mod security;
mod session_actions;
mod sessions_tab;
mod sim_ssh;
mod ssh;
mod support;
