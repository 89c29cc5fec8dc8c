#!/usr/bin/env bash
# Issue 6's throughput run: N durable `marketsim validator` processes on
# loopback and `marketsim raft-bench` in its own process. Prints the bench's
# result and, per process, the CPU seconds it used (user+sys from
# /proc/PID/stat), so CPU per committed order can be compared across runs
# even on a busy machine.
#
# Usage: bench/raft_processes.sh [BIN] [N] [ORDERS] [IN_FLIGHT] [BATCH] [MAX_APPEND] [STORAGE]
#   STORAGE: durable (default: --data DIR --sync batch) or memory
set -euo pipefail
bin=${1:-build/src/app/marketsim}
n=${2:-3}
orders=${3:-400000}
inflight=${4:-10000}
batch=${5:-1000}
maxappend=${6:-1024}
storage=${7:-durable}
base=$((20000 + RANDOM % 20000))
dir=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done; rm -rf "$dir"; }
trap cleanup EXIT

peers=""
for i in $(seq 1 "$n"); do peers+="${peers:+,}$i=127.0.0.1:$((base + i))"; done
for i in $(seq 1 "$n"); do
  if [ "$storage" = memory ]; then store=(--in-memory); else store=(--data "$dir/v$i" --sync batch); fi
  "$bin" validator --id "$i" --listen $((base + i)) --peers "$peers" "${store[@]}" \
    --max-append "$maxappend" --threads 1 >"$dir/v$i.log" 2>&1 &
  pids+=($!)
  disown # killed at the end: no "Killed" notice from bash
done
sleep 2
cpu() { # user+sys ticks of pid $1
  awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0
}
declare -A before
for p in "${pids[@]}"; do before[$p]=$(cpu "$p"); done
start=$(date +%s.%N)
"$bin" raft-bench --validators "$peers" --commands "$orders" --in-flight "$inflight" \
  --batch "$batch" --threads 1 >"$dir/bench.out" 2>&1 &
bp=$!
benchcpu=0
while kill -0 "$bp" 2>/dev/null; do benchcpu=$(cpu "$bp"); sleep 0.2; done
wait "$bp" || { cat "$dir/bench.out"; exit 1; }
end=$(date +%s.%N)
cat "$dir/bench.out"
hz=$(getconf CLK_TCK)
total=$benchcpu
line="cpu seconds: bench $(echo "scale=2; $benchcpu / $hz" | bc)"
for p in "${pids[@]}"; do
  d=$(( $(cpu "$p") - ${before[$p]} )); total=$((total + d))
  line+=" validator $(echo "scale=2; $d / $hz" | bc)"
done
echo "$line"
echo "cpu us per order (all processes): $(echo "scale=2; $total * 1000000 / $hz / $orders" | bc)"
echo "wall s: $(echo "$end - $start" | bc)  load: $(cut -d' ' -f1-3 /proc/loadavg)"
