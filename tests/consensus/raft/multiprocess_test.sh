#!/usr/bin/env bash
# Raft across processes on loopback: three `marketsim validator` processes
# with data dirs in a temp dir; a `marketsim raft-bench` client submits a
# stream of orders; the leader is found (raft_status) and killed with kill -9
# mid-stream; a new leader must be elected and every acknowledged order must
# be on both survivors (the client checks that every command was acked
# committed and that the survivors have applied every acked index with one
# state hash); the killed validator restarts from its data dir and must catch
# up (same applied index and state hash as the others; snapshots every
# 40,000 entries, so it restarts from one). Then a short stream over TLS.
# Also: bad input gives
# exit 2 and one line, SIGTERM exits 0. Every process runs under a timeout or
# is killed by its pid on exit.
#
# usage: multiprocess_test.sh <path-to-marketsim>
set -uo pipefail

source "$(dirname "$0")/../multiprocess_lib.sh" "$@"

read -r p1 p2 p3 < <(free_ports 3)
port=([1]=$p1 [2]=$p2 [3]=$p3)
peers="1=127.0.0.1:$p1,2=127.0.0.1:$p2,3=127.0.0.1:$p3"
echo "validators on ports $p1 $p2 $p3 (data in $tmp)"

# start_validator ID: in the background (not under `timeout`: kill -9 must hit
# the validator itself); waits at most 10 s for its listening line.
start_validator() {
  local id=$1 log=$tmp/v$1.$(now_ms).log
  "$bin" validator --id "$id" --listen "${port[$id]}" --data "$tmp/d$id" --peers "$peers" \
    --sync batch --snapshot-every 40000 --election-timeout 300 --heartbeat 50 --threads 1 \
    >"$log" 2>&1 &
  vpid[$id]=$!
  vlog[$id]=$log
  wait_listening "${vpid[$id]}" "$log"
}
declare -A vlog

# status ARGS...: one raft-bench check (no commands), output in $tmp/status.
status() {
  timeout 40 "$bin" raft-bench --validators "$peers" --commands 0 "$@" >"$tmp/status" 2>&1
}

t_start=$SECONDS

# -- bad input: one line, exit 2 ---------------------------------------------------
timeout 10 "$bin" validator --id 1 --listen "$p1" --data "$tmp/bad" --peers "1=127.0.0.1" \
  >"$tmp/out" 2>"$tmp/err"
code=$?
if [ $code -eq 2 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ]; then
  pass "bad peers spec: exit 2, '$(cat "$tmp/err")'"
else
  fail "bad peers spec: exit $code, stderr: $(cat "$tmp/err")"
fi
echo "not a directory" >"$tmp/file"
timeout 10 "$bin" validator --id 1 --listen "$p1" --data "$tmp/file" --peers "$peers" \
  >"$tmp/out" 2>"$tmp/err"
code=$?
if [ $code -eq 2 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ]; then
  pass "bad data dir: exit 2, '$(cat "$tmp/err")'"
else
  fail "bad data dir: exit $code, stderr: $(cat "$tmp/err")"
fi

# -- three validators, a stream, kill -9 of the leader --------------------------------
for id in 1 2 3; do
  start_validator $id || exit 1
done
# A port in use: exit 2.
timeout 10 "$bin" validator --id 1 --listen "$p1" --data "$tmp/other" --peers "$peers" \
  >"$tmp/out" 2>"$tmp/err"
code=$?
if [ $code -eq 2 ] && grep -q "cannot listen" "$tmp/err"; then
  pass "port in use: exit 2"
else
  fail "port in use: exit $code, stderr: $(cat "$tmp/err")"
fi

timeout 60 "$bin" raft-bench --validators "$peers" --commands 150000 --in-flight 1000 \
  --batch 100 --retry-ms 500 --progress-ms 100 --expect 2 --agree-timeout-ms 15000 \
  >"$tmp/bench" 2>"$tmp/bench.err" &
bench_pid=$!

# Mid-stream: after 20,000 acks (at most 20 s).
for _ in $(seq 200); do
  acked=$(sed -n 's/^acked \([0-9]*\)$/\1/p' "$tmp/bench" | tail -1)
  [ "${acked:-0}" -ge 20000 ] && break
  sleep 0.1
done
status --agree-timeout-ms 0
leader=$(sed -n 's/^validator \([0-9]*\): leader .*/\1/p' "$tmp/status" | head -1)
if [ -z "$leader" ]; then
  fail "no leader found: $(cat "$tmp/status")"
  exit 1
fi
acked=$(sed -n 's/^acked \([0-9]*\)$/\1/p' "$tmp/bench" | tail -1)
t_kill=$(now_ms)
kill -9 "${vpid[$leader]}"
wait "${vpid[$leader]}" 2>/dev/null
echo "killed the leader, validator $leader, after ${acked:-0} acks"

wait $bench_pid
code=$?
result=$(grep '^raft-bench:' "$tmp/bench")
echo "$result"
if [ $code -eq 0 ] && grep -q '^agree: 2 validators' "$tmp/bench"; then
  pass "every acked order of the stream is on both survivors ($(grep '^agree' "$tmp/bench"))"
else
  fail "stream: exit $code; $(tail -5 "$tmp/bench"); $(head -c 600 "$tmp/bench.err")"
fi
acked_index=$(echo "$result" | sed -n 's/.*last acked index \([0-9]*\).*/\1/p')
gap=$(echo "$result" | sed -n 's/.*longest gap \([0-9.]*\) ms.*/\1/p')

# Failover: the first "leader of term" line of a survivor after the kill.
new_leader_ms=""
for id in 1 2 3; do
  [ "$id" = "$leader" ] && continue
  t=$(sed -n 's/.*leader of term .* at unix ms \([0-9]*\)$/\1/p' "${vlog[$id]}" | tail -1)
  if [ -n "$t" ] && [ "$t" -gt "$t_kill" ]; then
    new_leader_ms=$t
  fi
done
if [ -n "$new_leader_ms" ]; then
  failover=$((new_leader_ms - t_kill))
  # Two election timeouts (maximum 600 ms each) plus slack for a loaded machine.
  if [ $failover -le 2000 ]; then
    pass "new leader elected ${failover} ms after kill -9 (client's longest gap between commits ${gap} ms)"
  else
    fail "new leader only ${failover} ms after kill -9"
  fi
else
  fail "no survivor became leader after the kill"
fi

# -- restart from the data dir: catches up -----------------------------------------
start_validator "$leader" || exit 1
status --agree-timeout-ms 20000 --expect 3
if grep -q '^agree: 3 validators' "$tmp/status"; then
  idx=$(sed -n 's/^agree: 3 validators, applied index \([0-9]*\),.*/\1/p' "$tmp/status")
  if [ -n "$acked_index" ] && [ "$idx" -ge "$acked_index" ]; then
    pass "validator $leader restarted from its data dir and caught up ($(grep '^agree' "$tmp/status"))"
  else
    fail "caught up to index $idx, below the last acked index $acked_index"
  fi
else
  fail "restarted validator did not catch up: $(cat "$tmp/status")"
fi

# Snapshots every 40,000 entries: the restarted validator recovered from one.
snap=$(sed -n "s/^validator $leader: .* snapshot \([0-9]*\) hash.*/\1/p" "$tmp/status")
if [ "${snap:-0}" -gt 0 ]; then
  pass "validator $leader holds a snapshot at index $snap (log compacted)"
else
  fail "validator $leader has no snapshot: $(grep "^validator $leader:" "$tmp/status")"
fi

# -- SIGTERM: clean exit ----------------------------------------------------------------
for id in 1 2 3; do
  kill -TERM "${vpid[$id]}"
done
for id in 1 2 3; do
  wait_exit "${vpid[$id]}" 10
  code=$?
  if [ $code -eq 0 ]; then
    unset "vpid[$id]"
  else
    fail "validator $id: exit $code after SIGTERM (124: still running after 10 s)"
  fi
done
[ ${#vpid[@]} -eq 0 ] && pass "SIGTERM: all three validators exit 0"

# -- the same group over TLS (mutual certificates): a short stream -----------------
if make_test_certs; then
  tls=(--tls-cert "$tmp/node.pem" --tls-key "$tmp/node.key" --tls-ca "$tmp/ca.pem")
  for id in 1 2 3; do
    "$bin" validator --id "$id" --listen "${port[$id]}" --data "$tmp/tls$id" --peers "$peers" \
      --threads 1 "${tls[@]}" >"$tmp/tls$id.log" 2>&1 &
    vpid[$id]=$!
  done
  timeout 40 "$bin" raft-bench --validators "$peers" --commands 20000 "${tls[@]}" \
    >"$tmp/tls_bench" 2>&1
  code=$?
  if [ $code -eq 0 ] && grep -q '^agree: 3 validators' "$tmp/tls_bench"; then
    pass "over TLS: $(grep '^raft-bench' "$tmp/tls_bench" | sed 's/;.*//')"
  else
    fail "over TLS: exit $code: $(tail -5 "$tmp/tls_bench")"
  fi
  for id in 1 2 3; do
    kill -TERM "${vpid[$id]}" 2>/dev/null
  done
  for id in 1 2 3; do
    for _ in $(seq 100); do
      kill -0 "${vpid[$id]}" 2>/dev/null || break
      sleep 0.1
    done
  done
else
  echo "SKIP: over TLS (no openssl command)"
fi

echo "multiprocess test: $((SECONDS - t_start)) s, $failures failure(s)"
[ $failures -eq 0 ]
