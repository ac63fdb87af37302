// Leptos view types nest deeply (the embedded panels wrap whole pages).
#![recursion_limit = "256"]

//! The Leptos app shared by the server (SSR, feature `ssr`) and the browser (feature
//! `hydrate`). Never build both features at once.
//!
//! # Layout
//! - `root`: [`shell`] (the HTML document) and [`App`] (router and header).
//! - [`error`]: [`error::AppError`], the typed error of every server function.
//! - [`functions`]: server functions, grouped by domain; their bodies reach the server's
//!   services through the [`backend::Backend`] context value (`ssr` only).
//! - [`pages`]: one file per route (dashboard, sessions, benchmarks, not found).
//! - [`components`]: the broker status card, provider counts, session table and the
//!   live-connection indicator.
//! - [`live`]: the browser side of the live channel; pages render from its store.
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

pub use root::{shell, App, FirstPaint};
