#!/usr/bin/env bash
# Streamlet through the validator actors across processes on loopback: n
# `marketsim streamlet-validator` processes (one scheduler thread each), each
# with a load driver submitting to its own validator, for a fixed number of
# epochs; then, in the same run, `marketsim streamlet-bench` with the same
# parameters (the n validators in one process, and the pure core) for the
# ratios. Prints each validator's summary and one line over the group.
# With trades > 0, each driver is an exchange shard submitting shard-signed
# batches of that many trades (batch: batches per block; load: trades/s per
# validator), and every validator runs the trade payload rule
# (`streamlet-validator --trades`, `streamlet-bench --trades`); the figures
# then count trades.
#
# usage: bench/streamlet_processes.sh <marketsim> [n=4] [epoch_ms=100]
#        [batch=10000] [epochs=40] [load=0 (tx/s per validator; 0: saturate)]
#        [trades=0 (trades per batch; 0: opaque transactions)]
set -uo pipefail
if [ $# -lt 1 ]; then
  echo "usage: $0 <marketsim> [n] [epoch_ms] [batch] [epochs] [load] [trades]" >&2
  exit 2
fi
bin=$1 n=${2:-4} epoch_ms=${3:-100} batch=${4:-10000} epochs=${5:-40} load=${6:-0}
trades=${7:-0}
unit=tx
[ "$trades" -gt 0 ] && unit=trade
tmp=$(mktemp -d)
declare -a pids
trap 'for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done; rm -rf "$tmp"' EXIT

read -r -a ports < <(python3 - "$n" <<'PY'
import socket, sys
socks = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))
PY
)
peers=""
for i in $(seq "$n"); do
  peers+="${peers:+,}$i=127.0.0.1:${ports[$((i - 1))]}"
done
echo "$(date -u '+%Y-%m-%d %H:%M:%S UTC'), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "$n processes, epoch $epoch_ms ms, batch $batch, $epochs epochs, load ${load} $unit/s per validator (0: saturate), trades per batch $trades (0: opaque txs)"
genesis=$(($(date +%s%3N) + 2000))
for i in $(seq "$n"); do
  "$bin" streamlet-validator --id "$i" --listen "${ports[$((i - 1))]}" --peers "$peers" \
    --key-seed 5 --leader round-robin --no-echo --epoch-ms "$epoch_ms" --genesis-ms "$genesis" \
    --max-block-txs "$batch" --load "$load" --trades "$trades" --epochs "$epochs" \
    --status-ms 0 --no-block-lines \
    --threads 1 >"$tmp/v$i.log" 2>&1 &
  pids+=($!)
done
code=0
for p in "${pids[@]}"; do
  wait "$p" || code=1
done
pids=()
grep -h "summary" "$tmp"/v*.log | cut -c1-400
hashes=$(sed -n 's/.*summary: finalized height \([0-9]*\) hash \([0-9a-f]*\) .*/\1 \2/p' "$tmp"/v*.log | sort -u | wc -l)
awk -v n="$n" -v hashes="$hashes" -v unit="$unit" '
  /summary/ {
    match($0, /sustained [0-9]+ (tx|trade)\/s/); split(substr($0, RSTART, RLENGTH), r, " "); rate += r[2]
    match($0, /cpu [0-9.]+ s/); c = substr($0, RSTART + 4, RLENGTH - 6); cpu += c
    if (unit == "trade") { match($0, /\([0-9]+ trades\)/); t = substr($0, RSTART + 1, RLENGTH - 9) }
    else { match($0, /, [0-9]+ txs/); t = substr($0, RSTART + 2, RLENGTH - 6) }
    if (t + 0 > txs) txs = t + 0
    match($0, /block latency [0-9.]+ ms [0-9.]+ epochs/); lat = substr($0, RSTART + 14, RLENGTH - 14)
    match($0, /own latency p50 [0-9.]+ ms p99 [0-9.]+ ms/); own = substr($0, RSTART + 12, RLENGTH - 12)
    split(own, f, " "); p50 += f[2]; p99 += f[5]
    seen++
  }
  END {
    printf "processes n=%d: %d summaries, %.0f finalized %s/s sustained (mean over validators), block latency %s (last), own %s latency (mean over validators) p50 %.1f ms p99 %.1f ms, %.0f %ss finalized, %.1f cpu s over all = %.0f %ss per cpu s; %s\n",
      n, seen, rate / seen, unit, lat, unit, p50 / seen, p99 / seen, txs, unit, cpu, txs / cpu, unit, hashes == 1 ? "same last block everywhere" : "last blocks differ (heights may differ by one at the stop)"
  }' "$tmp"/v*.log
[ $code -eq 0 ] || echo "a validator exited non-zero: $(tail -3 "$tmp"/v*.log)"
echo "same run, in one process and the pure core:"
if [ "$trades" -gt 0 ]; then
  "$bin" streamlet-bench --sizes "$n" --epoch-ms "$epoch_ms" --batch "$batch" --epochs "$epochs" \
    --rate $((load * n)) --trades "$trades" --no-core | tail -3
else
  "$bin" streamlet-bench --sizes "$n" --epoch-ms "$epoch_ms" --batch "$batch" --epochs "$epochs" \
    --rate $((load * n)) | tail -2
fi
exit $code
