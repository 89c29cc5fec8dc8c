#!/usr/bin/env bash
# Scale of runs across hosts: bench/spread_population.yaml (ten crowds of
# COUNT polling noise traders, ten shards) spread over two `marketsim node`
# processes on loopback, then the same population in one process. Prints the
# peak resident memory (VmHWM) of every process and the bytes per agent.
#
# usage: bench/spread_population.sh <path-to-marketsim> COUNT [DURATION]
#   COUNT: agents per crowd (ten crowds); DURATION: of each run (default 10s)
set -uo pipefail
if [ $# -lt 2 ]; then
  echo "usage: $0 <path-to-marketsim> COUNT [DURATION]" >&2
  exit 2
fi
bin=$(readlink -f "$1")
count=$2
duration=${3:-10s}
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  done
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

sed "s/COUNT/$count/" "$here/spread_population.yaml" >"$tmp/spread.yaml"
sed -e "s/COUNT/$count/" -e '/^deployment:/,$d' "$here/spread_population.yaml" >"$tmp/one.yaml"
agents=$((10 * count))

kib() { awk -v k="$2" '$1 == k":" { print $2 }' "/proc/$1/status"; }
mib() { awk -v k="$1" 'BEGIN { printf "%.0f", k / 1024 }'; }

# start_node NAME: a node on a free loopback port; sets node_pid, node_port.
start_node() {
  "$bin" node --listen 0 --threads 1 --name "$1" >"$tmp/$1.log" 2>&1 &
  node_pid=$!
  pids+=("$node_pid")
  for _ in $(seq 100); do
    node_port=$(sed -n 's/.* listening on 127\.0\.0\.1:\([0-9]*\) .*/\1/p' "$tmp/$1.log" 2>/dev/null)
    [ -n "$node_port" ] && return 0
    sleep 0.1
  done
  echo "node $1 did not start: $(cat "$tmp/$1.log")" >&2
  exit 1
}

# run_timed NAME ARGS...: marketsim ARGS under /usr/bin/time -v (20 min at
# most); sets code, wall (s), hwm (KiB).
run_timed() {
  local name=$1
  shift
  timeout 1200 /usr/bin/time -v -o "$tmp/$name.time" "$bin" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err"
  code=$?
  hwm=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$tmp/$name.time")
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ { print $2 }' "$tmp/$name.time")
}

echo "# $(date -u '+%Y-%m-%d %H:%M UTC'), $agents agents ($count x 10), runs of $duration"
echo "# uptime: $(uptime)"

# -- two nodes -------------------------------------------------------------------------
start_node a
pid_a=$node_pid port_a=$node_port
start_node b
pid_b=$node_pid port_b=$node_port
sleep 0.5
idle_a=$(kib "$pid_a" VmRSS) idle_b=$(kib "$pid_b" VmRSS)
run_timed spread run "$tmp/spread.yaml" --hosts "a=127.0.0.1:$port_a,b=127.0.0.1:$port_b" \
  --duration "$duration" --out "$tmp/spread-out"
spread_code=$code spread_wall=$wall hwm_c=$hwm
hwm_a=$(kib "$pid_a" VmHWM) hwm_b=$(kib "$pid_b" VmHWM)
rows_spread=$(($(wc -l <"$tmp/spread-out/agents.csv" 2>/dev/null || echo 1) - 1))
failed_spread=$(grep -c ',true,' "$tmp/spread-out/agents.csv" 2>/dev/null)
trades_spread=$(($(wc -l <"$tmp/spread-out/trades.csv" 2>/dev/null || echo 1) - 1))
kill -TERM "$pid_a" "$pid_b"
wait "$pid_a" "$pid_b" 2>/dev/null

# -- one process -----------------------------------------------------------------------
run_timed one run "$tmp/one.yaml" --duration "$duration" --out "$tmp/one-out"
one_code=$code one_wall=$wall hwm_one=$hwm
rows_one=$(($(wc -l <"$tmp/one-out/agents.csv" 2>/dev/null || echo 1) - 1))
trades_one=$(($(wc -l <"$tmp/one-out/trades.csv" 2>/dev/null || echo 1) - 1))

total=$((hwm_c + hwm_a + hwm_b))
per_agent() { awk -v k="$1" -v n="$2" 'BEGIN { printf "%.0f", k * 1024 / n }'; }
echo
echo "| run | exit | wall | agents.csv rows (failed) | trades | peak RSS MiB | bytes/agent |"
echo "|---|---|---|---|---|---|---|"
echo "| spread: host c (shards, run) | $spread_code | $spread_wall | $rows_spread (${failed_spread:-?}) | $trades_spread | $(mib "$hwm_c") | $(per_agent "$hwm_c" "$agents") |"
echo "| spread: node a ($((5 * count)) agents; idle $(mib "$idle_a") MiB) | | | | | $(mib "$hwm_a") | $(per_agent $((hwm_a - idle_a)) $((5 * count))) |"
echo "| spread: node b ($((5 * count)) agents; idle $(mib "$idle_b") MiB) | | | | | $(mib "$hwm_b") | $(per_agent $((hwm_b - idle_b)) $((5 * count))) |"
echo "| spread: sum of three peaks | | | | | $(mib "$total") | $(per_agent "$total" "$agents") |"
echo "| one process | $one_code | $one_wall | $rows_one | $trades_one | $(mib "$hwm_one") | $(per_agent "$hwm_one" "$agents") |"
awk -v t="$total" -v o="$hwm_one" -v a="$hwm_a" -v b="$hwm_b" 'BEGIN {
  printf "\nratio sum of peaks / one process: %.2f; largest node / one process: %.2f\n", t / o, (a > b ? a : b) / o }'
if [ "$spread_code" -ne 0 ]; then
  echo "spread run stderr:"; head -c 1500 "$tmp/spread.err"
fi
if [ "$one_code" -ne 0 ]; then
  echo "one-process run stderr:"; head -c 1500 "$tmp/one.err"
fi
