#!/usr/bin/env bash
# Section 11 of docs/BENCHMARKS.md in one go: committed orders/s and commit
# latency for 3 and 5 validators, in one process and across processes on
# loopback, in memory and durable (group commit), with batching. Prints one
# markdown row per run; every run also checks that the validators agree
# (raft-bench fails otherwise).
#
# Usage: bench/raft_table.sh [BIN] [ORDERS] [IN_FLIGHT] [BATCH] [MAX_APPEND]
set -euo pipefail
bin=${1:-build/src/app/marketsim}
orders=${2:-400000}
inflight=${3:-10000}
batch=${4:-1000}
maxappend=${5:-1024}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

row() { # N WHERE STORAGE OUTPUT
  local rate p50 p99 cpu
  rate=$(sed -n 's/.*= \([0-9]*\) committed\/s.*/\1/p' <<<"$4")
  p50=$(sed -n 's/.*latency p50 \([0-9.]*\) ms.*/\1/p' <<<"$4")
  p99=$(sed -n 's/.*p99 \([0-9.]*\) ms.*/\1/p' <<<"$4")
  cpu=$(sed -n 's/^cpu us per order (all processes): \([0-9.]*\)/\1/p' <<<"$4")
  echo "| $1 | $2 | $3 | $rate | $p50 | $p99 | ${cpu:-} |"
}

echo "| validators | where | storage | committed/s | p50 ms | p99 ms | CPU us per order |"
echo "|---|---|---|---|---|---|---|"
for n in 3 5; do
  for storage in memory durable; do
    if [ "$storage" = durable ]; then
      rm -rf "$dir/ip"; mkdir -p "$dir/ip"
      store=(--data "$dir/ip" --sync batch)
    else
      store=()
    fi
    out=$("$bin" raft-bench --in-process "$n" "${store[@]}" --commands "$orders" \
            --in-flight "$inflight" --batch "$batch" --max-append "$maxappend" 2>&1)
    row "$n" in-process "$storage" "$out"
    out=$("$here/raft_processes.sh" "$bin" "$n" "$orders" "$inflight" "$batch" "$maxappend" "$storage" 2>&1)
    row "$n" processes "$storage" "$out"
  done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
