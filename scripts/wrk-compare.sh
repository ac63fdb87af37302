#!/usr/bin/env bash
# Measures builds of the dashboard side by side with wrk (Debian's `wrk`), their rounds
# interleaved so a busy moment favours none: the page `/` and `/api/status`, each build
# serving on the embedded simulator (speed 10) with its own data directory, on loopback.
# Prints one line per round, build and path. Stops the servers it started.
#
#   scripts/wrk-compare.sh ROUNDS SECONDS BINARY...
#   scripts/wrk-compare.sh 3 8 /tmp/old/gpu-deploy-llm target/release/gpu-deploy-llm
set -euo pipefail
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 2; }
(($# >= 3)) || { echo "usage: $0 ROUNDS SECONDS BINARY..." >&2; exit 2; }
rounds=$1; secs=$2; shift 2
pids=(); ports=(); dirs=(); names=()
stop() { kill "${pids[@]}" 2>/dev/null || true; rm -rf "${dirs[@]}"; }
trap stop EXIT
i=0
for b in "$@"; do
  d=$(mktemp -d); p=$((18900 + i)); i=$((i + 1))
  RUST_LOG=warn "$b" serve --addr "127.0.0.1:$p" --sim-speed 10 --sim-failure-rate 0 --data-dir "$d" >/dev/null 2>&1 &
  pids+=($!); ports+=("$p"); dirs+=("$d"); names+=("$b")
done
sleep 4
for r in $(seq "$rounds"); do
  for n in "${!ports[@]}"; do
    for path in / /api/status; do
      out=$(wrk -t2 -c10 -d"${secs}s" --latency "http://127.0.0.1:${ports[$n]}$path" 2>&1)
      rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
      p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
      p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
      non2xx=$(awk '/Non-2xx/ {print $NF}' <<<"$out")
      printf 'round %d  %-40s %-12s %10s req/s  p50 %8s  p99 %8s %s\n' "$r" "${names[$n]}" "$path" "$rps" "$p50" "$p99" "${non2xx:+non-2xx=$non2xx}"
    done
  done
done
