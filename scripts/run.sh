#!/usr/bin/env bash
# Sets up what is missing, builds the release, and runs the dashboard on the embedded
# broker simulator at http://127.0.0.1:8081. Extra arguments go to `gpu-deploy-llm serve`
# (e.g. --shopper-url http://127.0.0.1:8080 for a real broker).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
scripts/setup.sh
cargo leptos build --release
exec target/release/gpu-deploy-llm serve "$@"
