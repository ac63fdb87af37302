//! Integration tests: the broker client against the simulator over real loopback HTTP, and
//! the dashboard's router served on a port-0 listener.

mod bench_cli;
mod broker_features;
mod cli;
mod cli_broker;
mod cli_history;
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
mod layout;
mod live;
mod openapi;
mod pages_render;
mod process;
mod reconcile;
mod recovery;
mod resilience;
mod runs;
mod runs_page;
mod secrets;
mod security;
mod session_actions;
mod sessions_tab;
mod sim_ssh;
mod ssh;
mod support;
