# Sourced by scripts/test.sh after `cargo leptos build --release`: the environment that
# cargo-leptos 0.3.10 gives its server build (read from [workspace.metadata.leptos] in
# Cargo.toml). Crates read some of it at compile time, so a `cargo bench` with the same
# environment finds the release build's crates fresh instead of compiling the server again.
# Keep it in step with Cargo.toml's leptos metadata; a mismatch costs time, not correctness.
export LEPTOS_OUTPUT_NAME=gpu-deploy-llm
export LEPTOS_SITE_ROOT=target/site
export LEPTOS_SITE_PKG_DIR=pkg
export LEPTOS_SITE_ADDR=127.0.0.1:8081
export LEPTOS_RELOAD_PORT=8082
export LEPTOS_LIB_DIR=frontend
export LEPTOS_BIN_DIR=server
export LEPTOS_HASH_FILES=false
export LEPTOS_JS_MINIFY=true
