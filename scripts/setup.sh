#!/usr/bin/env bash
# Installs what the build (and, with --test, the tests) need, skipping what is already there.
# Safe to run again and again. Needs: Debian, Rust via rustup, node/npm, and the package
# registries (crates.io, npm, Debian). Nothing is downloaded from anywhere else.
#
#   scripts/setup.sh          wasm target, cargo-leptos, wasm-bindgen, wasm-opt
#   scripts/setup.sh --test   the above, plus Chromium, OpenSSH server, PostgreSQL (for the
#                             store's tests, started privately by scripts/pg.sh) and test
#                             packages, and a Python venv with the official `openai` client
set -euo pipefail
cd "$(dirname "$0")/.."

want_test=false
[[ "${1:-}" == "--test" ]] && want_test=true

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
as_root() { if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi; }

# Debian packages first (node/npm are needed for wasm-opt below).
apt_missing=()
command -v node >/dev/null || apt_missing+=(nodejs)
command -v npm >/dev/null || apt_missing+=(npm)
if $want_test; then
  [[ -x /usr/bin/chromium ]] || apt_missing+=(chromium)
  [[ -x /usr/sbin/sshd ]] || apt_missing+=(openssh-server)
  # Only the binaries are used: scripts/pg.sh starts a private cluster, never the service.
  compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || apt_missing+=(postgresql)
  /usr/bin/python3 -c 'import ensurepip, venv' 2>/dev/null || apt_missing+=(python3-venv)
fi
if ((${#apt_missing[@]})); then
  say "installing Debian packages: ${apt_missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${apt_missing[@]}"
fi

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

# The build tools are built without optimisation: they drive cargo and rewrite one file, so
# their own speed hardly shows, while an optimised build of cargo-leptos took 15.7 of a cold
# CI run's 52 minutes (see docs/testing.md, "How long a cold run takes").
quick_install() {
  CARGO_PROFILE_RELEASE_OPT_LEVEL=0 CARGO_PROFILE_RELEASE_LTO=false \
    CARGO_PROFILE_RELEASE_CODEGEN_UNITS=256 CARGO_PROFILE_RELEASE_DEBUG=false \
    CARGO_PROFILE_RELEASE_INCREMENTAL=false cargo install "$@"
}

# cargo-leptos 0.3.10 is the newest that builds with the stable rustc here.
if ! cargo leptos --version 2>/dev/null | grep -q ' 0\.3\.10'; then
  say "installing cargo-leptos 0.3.10 (a few minutes the first time)"
  quick_install cargo-leptos --locked --version 0.3.10
fi

# cargo-leptos would download wasm-bindgen; give it the exact version of Cargo.lock instead.
wbg=$(awk '/^name = "wasm-bindgen"$/ {getline; gsub(/[^0-9.]/, ""); print; exit}' Cargo.lock)
if ! wasm-bindgen --version 2>/dev/null | grep -q " $wbg\$"; then
  say "installing wasm-bindgen-cli $wbg (the version in Cargo.lock)"
  # Without --locked: its lock file names a crate version the registry no longer serves.
  quick_install wasm-bindgen-cli --version "$wbg"
fi

# wasm-opt for release builds, from npm's binaryen (Debian's 108 miscompiles our wasm).
if [[ ! -x tools/node_modules/.bin/wasm-opt ]]; then
  say "installing wasm-opt (npm binaryen) into tools/"
  (cd tools && npm ci --no-audit --no-fund --loglevel=error)
fi

if $want_test && [[ ! -d tests/e2e/node_modules/playwright-core ]]; then
  say "installing the browser-test packages into tests/e2e/"
  (cd tests/e2e && npm ci --no-audit --no-fund --loglevel=error)
fi

# The gateway's test talks to a deployment with the official OpenAI Python client, from a
# venv of Debian's python3 outside the work tree (kept across clones and `cargo clean`):
# ${XDG_CACHE_HOME:-~/.cache}/gpu-deploy-llm/pyenv. scripts/test.sh hands its python to
# the tests as GDL_PYTHON; without it they look there too.
if $want_test; then
  pyenv="${XDG_CACHE_HOME:-$HOME/.cache}/gpu-deploy-llm/pyenv"
  if ! "$pyenv/bin/python" -c 'import openai' 2>/dev/null; then
    say "installing the OpenAI Python client (PyPI: openai) into $pyenv"
    /usr/bin/python3 -m venv --clear "$pyenv"
    "$pyenv/bin/python" -m pip install --quiet --disable-pip-version-check openai
  fi
fi
