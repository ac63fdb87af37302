// Leptos view types nest deeply (the embedded panels wrap whole pages).
#![recursion_limit = "256"]

//! The Leptos app shared by the server (SSR, feature `ssr`) and the browser (feature
//! `hydrate`). Never build both features at once.
//!
//! # Layout
//! - `root`: [`shell`] (the HTML document) and [`App`] (router and header).
//! - [`error`]: [`error::AppError`], the typed error of every server function's call.
//! - [`functions`]: server functions, grouped by domain, each answering a
//!   [`functions::Reply`]; their bodies reach the server's service layer through the
//!   [`backend::Backend`] context value (`ssr` only).
//! - [`pages`]: one file per route (dashboard, inventory, sessions, runs, a run,
//!   deployments, a deployment, benchmarks, a benchmark, compare, costs, health, share, the
//!   embedded panels, not found).
//! - [`components`]: what pages share: the loading frame ([`components::Loaded`]), the
//!   chart frame, the broker cards, the session and benchmark tables, the run panel, the
//!   test form, the orphan banner, the live-connection indicator.
//! - [`live`]: the browser side of the live channel; pages render from its store.
//! - [`theme`]: the colours chosen in the header (system, light, dark), kept in a cookie.
//! - [`url`]: the page's query string as the model's filter structs.
//! - [`format`]: plain formatting helpers, unit-tested without a browser.

#[cfg(feature = "ssr")]
pub mod backend;
pub mod components;
pub mod error;
pub mod format;
pub mod functions;
pub mod live;
pub mod pages;
mod root;
pub mod theme;
pub mod url;

pub use root::{shell, App, FirstPaint};
