#!/usr/bin/env bash
# Sets up what is missing and runs every check and test: formatting, clippy on both sides
# (server with `ssr`, wasm with `hydrate`, never both in one build), unit and integration
# tests per package, the release build, and the browser tests in headless Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

# A CI run builds once from clean: incremental caches would only cost it disk and time.
if [[ "${CI:-}" == true ]]; then
  export CARGO_INCREMENTAL=0
fi

# Each step prints how long it took, and the summary at the end lists them all, so a slow
# step shows in CI's log (docs/testing.md, "How long a cold run takes").
timings=()
current=""
started=$SECONDS
step_started=$SECONDS
finish_step() {
  if [[ -n "$current" ]]; then
    timings+=("$(printf '%5ds  %s' $((SECONDS - step_started)) "$current")")
  fi
}
step() {
  finish_step
  current="$*"
  step_started=$SECONDS
  printf '\n\033[1m==> %s\033[0m\n' "$*"
}
summary() {
  finish_step
  current=""
  printf '\n\033[1m==> time per step\033[0m\n'
  printf '%s\n' "${timings[@]}"
  printf '%5ds  in all (setup included)\n' $((SECONDS - started))
  # Disk is finite on CI's machines too (one run ran out during the release build).
  printf 'target/ holds %s; the disk has %s free\n' \
    "$(du -sh target 2>/dev/null | cut -f1)" "$(df -h --output=avail . | tail -1 | tr -d ' ')"
}
trap 'summary' EXIT

step "setup (installs what is missing)"
scripts/setup.sh --test
# The gateway's test runs the official OpenAI Python client from the venv setup.sh made.
export GDL_PYTHON="${XDG_CACHE_HOME:-$HOME/.cache}/gpu-deploy-llm/pyenv/bin/python"

step "cargo fmt --check"
cargo fmt --all --check

step "clippy: server side (ssr)"
cargo clippy -p gdl-model -p server -p gdl-examples --all-targets -- -D warnings
cargo clippy -p app --features ssr --all-targets -- -D warnings
step "clippy: browser side (hydrate, wasm32)"
cargo clippy -p frontend --target wasm32-unknown-unknown -- -D warnings

step "unit and integration tests (the store's and the replicas' on PostgreSQL too)"
# A private PostgreSQL on loopback for this run (scripts/pg.sh), stopped and removed at the
# end whatever happens: the store's tests run on it as well as on SQLite, and the replica
# tests (two `serve` processes on one database) need it.
eval "$(scripts/pg.sh start)"
trap 'scripts/pg.sh stop "$GDL_TEST_PG_DIR" >/dev/null 2>&1 || true; summary' EXIT
# A failing test's message is what a reader of CI's log needs; a backtrace of 30 frames
# after it pushes it out of the part of the log that is shown (RUST_BACKTRACE=1 there).
export RUST_BACKTRACE=0
cargo test -p gdl-model
cargo test -p app --features ssr
cargo test -p gdl-examples
cargo test -p server --lib --bins
cargo test -p server --doc
# Two at a time (one a core): four at a time took about half as long, but made tests that
# race the simulator's compressed clock fail (docs/testing.md, "How long a cold run takes").
cargo test -p server --test integration

step "the dashboard's run, cleanup and restart tests again, on PostgreSQL"
# The same tests, each dashboard on a schema of its own (GDL_TEST_STORE, support.rs): what
# money depends on (runs, cleanup, the reconciler, restarts, deployments) holds on both.
GDL_TEST_STORE=postgres cargo test -p server --test integration -- \
  runs:: reconcile:: cost_safety:: recovery:: deploy_restart:: deployments::

step "live-channel load driver, small level (so it cannot rot), one server and two replicas"
cargo test -p server --bench fanout -- 50
cargo test -p server --bench fanout -- replicas 50

step "release build (cargo-leptos)"
cargo leptos build --release

# The release server is built once: the drivers below run in the bench profile (which is
# the release profile) with the settings cargo-leptos gave the build above, so cargo finds
# that build's crates fresh and compiles only the drivers themselves. (In subshells: the
# browser tests run without that environment, as a person's server does.)

step "benchmark engine accuracy against the simulated model server (release)"
(source scripts/leptos-env.sh && cargo bench -p server --bench bench_client -- accuracy)

step "gateway load driver, small level: time to first token straight vs through the gateway"
(source scripts/leptos-env.sh && cargo bench -p server --bench gateway -- --requests 20 --levels 1,8)

step "page and status load driver, small level, against the release binary"
(source scripts/leptos-env.sh &&
  cargo bench -p server --bench pages -- --seconds 1 --rounds 1 --binary "$PWD/target/release/gpu-deploy-llm")

step "chaos driver, small level: faults and a dashboard killed, nothing left billing"
(source scripts/leptos-env.sh &&
  cargo bench -p server --bench chaos -- --runs 8 --kills 1 --binary "$PWD/target/release/gpu-deploy-llm")

step "browser tests (headless Chromium)"
(cd tests/e2e && npm test)
