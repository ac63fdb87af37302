#!/usr/bin/env bash
# Sets up what is missing and runs every check and test: formatting, clippy on both sides
# (server with `ssr`, wasm with `hydrate`, never both in one build), unit and integration
# tests per package, the release build, and the browser tests in headless Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
scripts/setup.sh --test

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

step "cargo fmt --check"
cargo fmt --all --check

step "clippy: server side (ssr)"
cargo clippy -p gdl-model -p server -p gdl-examples --all-targets -- -D warnings
cargo clippy -p app --features ssr --all-targets -- -D warnings
step "clippy: browser side (hydrate, wasm32)"
cargo clippy -p frontend --target wasm32-unknown-unknown -- -D warnings

step "unit and integration tests"
cargo test -p gdl-model
cargo test -p app --features ssr
cargo test -p server -p gdl-examples

step "live-channel load driver, small level (so it cannot rot)"
cargo test -p server --bench fanout -- 50

# Before the cargo-leptos build: a bench build also rebuilds the binary, without the
# site's settings that cargo-leptos passes, and the browser tests need cargo-leptos's.
step "benchmark engine accuracy against the simulated model server (release build)"
cargo bench -p server --bench bench_client -- accuracy

step "release build (cargo-leptos)"
cargo leptos build --release

step "browser tests (headless Chromium)"
(cd tests/e2e && npm test)
