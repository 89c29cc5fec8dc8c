#!/usr/bin/env bash
# Streamlet across processes on loopback: four `marketsim streamlet-validator`
# processes (n = 4, f = 1) with key files from `marketsim streamlet-keygen`,
# each with a small load driver. All must finalize and agree on every
# finalized height (one block hash per height over all their output); after
# kill -9 of one validator the other three must keep finalizing, still in
# agreement, and the killed one, restarted, must catch up by block sync;
# SIGTERM gives exit 0 and a summary. Then a second group in which
# validator 3 equivocates: the honest three must report evidence against it,
# keep finalizing and agree, and all stop by themselves after --epochs. Then
# a group in trades mode (--trades) and a group over TLS. Also: bad input gives exit 2 and one line.
# Waits poll the validators' output (bounded); every process is killed by its
# pid on exit.
#
# usage: streamlet_multiprocess_test.sh <path-to-marketsim>
set -uo pipefail

source "$(dirname "$0")/../multiprocess_lib.sh" "$@"

read -r p1 p2 p3 p4 < <(free_ports 4)
port=([1]=$p1 [2]=$p2 [3]=$p3 [4]=$p4)
peers="1=127.0.0.1:$p1,2=127.0.0.1:$p2,3=127.0.0.1:$p3,4=127.0.0.1:$p4"
echo "validators on ports $p1 $p2 $p3 $p4 (output in $tmp)"
# Generous epochs: the machine is shared, and a validator that falls a whole
# epoch behind misses votes.
epoch_ms=500
t_start=$SECONDS

# -- bad input: one line, exit 2 ---------------------------------------------------
"$bin" streamlet-keygen --out "$tmp/keys" --validators 4 >"$tmp/keygen" 2>&1 ||
  { echo "streamlet-keygen failed: $(cat "$tmp/keygen")"; exit 1; }
keys=(--roster "$tmp/keys/roster.txt")
expect_usage() { # DESCRIPTION PATTERN ARGS...: exit 2, one line on stderr matching PATTERN
  local what=$1 pattern=$2
  shift 2
  timeout 10 "$bin" streamlet-validator "$@" >"$tmp/out" 2>"$tmp/err"
  local code=$?
  if [ $code -eq 2 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] && grep -q -- "$pattern" "$tmp/err"; then
    pass "$what: exit 2, '$(cat "$tmp/err")'"
  else
    fail "$what: exit $code, stderr: $(head -c 600 "$tmp/err")"
  fi
}
expect_usage "bad peers spec" "is not id=host:port" \
  --id 1 --listen "$p1" --peers "1=127.0.0.1" --key-seed 1
expect_usage "ids not 1..n" "ids must be 1..n" \
  --id 1 --listen "$p1" --peers "1=127.0.0.1:$p1,5=127.0.0.1:$p2" --key-seed 1
expect_usage "id not in the list" "is not in --peers" --id 5 --listen "$p1" --peers "$peers" \
  --key-seed 1
expect_usage "no keys" "either --key FILE" --id 1 --listen "$p1" --peers "$peers"
expect_usage "missing key file" "no such key file" --id 1 --listen "$p1" --peers "$peers" \
  --key "$tmp/keys/nope.key" "${keys[@]}"
echo "garbage" >"$tmp/bad.key"
expect_usage "not a key file" "bad.key: line 1" --id 1 --listen "$p1" --peers "$peers" \
  --key "$tmp/bad.key" "${keys[@]}"
expect_usage "a directory as the key file" "a directory, not a file" --id 1 --listen "$p1" --peers "$peers" \
  --key "$tmp/keys" "${keys[@]}"
expect_usage "not a roster" "bad.key: line 1" --id 1 --listen "$p1" --peers "$peers" \
  --key "$tmp/keys/v1.key" --roster "$tmp/bad.key"
expect_usage "someone else's key" "is not validator 1's" --id 1 --listen "$p1" \
  --peers "$peers" --key "$tmp/keys/v2.key" "${keys[@]}"
expect_usage "unknown behaviour" "unknown behaviour" --id 1 --listen "$p1" --peers "$peers" \
  --key-seed 1 --behaviour lie

# -- four validators, key files, a small load -----------------------------------------
# start ID ARGS...: in the background (not under `timeout`: kill -9 must hit the
# validator itself); waits at most 10 s for its listening line.
declare -A vlog
start() {
  local id=$1 log=$tmp/$run.v$1.log
  shift
  "$bin" streamlet-validator --id "$id" --listen "${port[$id]}" --peers "$peers" \
    --epoch-ms $epoch_ms --genesis-ms "$genesis" --threads 1 --status-ms 2000 "$@" \
    >"$log" 2>&1 &
  vpid[$id]=$!
  vlog[$id]=$log
  wait_listening "${vpid[$id]}" "$log"
}
# "height hash" of every finalized block a log reports (complete lines only:
# a hash of exactly 64 hex characters).
blocks() {
  sed -n 's/^validator [0-9]*: finalized height \([0-9]*\) epoch [0-9]* txs [0-9]* hash \([0-9a-f]\{64\}\)$/\1 \2/p' "$@"
}
height() { blocks "$1" | awk 'BEGIN {h = 0} $1 > h {h = $1} END {print h}'; }
# Heights at which two logs report different blocks (none: agreement).
conflicts() { blocks "$@" | sort -u | awk '{n[$1]++} n[$1] == 2 {print $1}'; }
# wait_height H SECONDS IDS...: until each validator has finalized height H.
wait_height() {
  local want=$1 secs=$2 id ok
  shift 2
  for _ in $(seq $((secs * 5))); do
    ok=1
    for id in "$@"; do
      [ "$(height "${vlog[$id]}")" -ge "$want" ] || ok=0
    done
    [ $ok -eq 1 ] && return 0
    sleep 0.2
  done
  return 1
}
check_agreement() { # WHAT LOGS...
  local what=$1
  shift
  local bad
  bad=$(conflicts "$@" | head -5 | tr '\n' ' ')
  if [ -z "$bad" ]; then
    pass "$what: one block per height over $(blocks "$@" | sort -u | wc -l) finalized heights"
  else
    fail "$what: different blocks at height(s) $bad"
  fi
}

run=honest
genesis=$(($(now_ms) + 1500))
for id in 1 2 3 4; do
  start $id --key "$tmp/keys/v$id.key" "${keys[@]}" --load 200 || exit 1
done
expect_usage "port in use" "cannot listen" --id 1 --listen "$p1" --peers "$peers" --key-seed 1

if wait_height 5 30 1 2 3 4; then
  pass "all four finalized height 5 ($(for id in 1 2 3 4; do echo -n "v$id:$(height "${vlog[$id]}") "; done))"
else
  fail "not all four reached height 5 in 30 s: $(for id in 1 2 3 4; do echo -n "v$id:$(height "${vlog[$id]}") "; done)"
fi
check_agreement "four validators" "${vlog[@]}"
if grep -q "finalized height [0-9]* epoch [0-9]* txs [1-9]" "${vlog[1]}"; then
  pass "the load drivers' transactions are finalized"
else
  fail "no finalized block holds a transaction"
fi

victim=4
kill -9 "${vpid[$victim]}"
wait "${vpid[$victim]}" 2>/dev/null # (bash reports the job as Killed)
unset "vpid[$victim]"
top=0
for id in 1 2 3; do
  h=$(height "${vlog[$id]}")
  [ "$h" -gt $top ] && top=$h
done
echo "killed validator $victim (kill -9) with the others at height $top at most"
if wait_height $((top + 4)) 30 1 2 3; then
  pass "after kill -9 of validator $victim the other three finalized 4 more heights (to $((top + 4)))"
else
  fail "after kill -9 the survivors did not reach height $((top + 4)) in 30 s: $(for id in 1 2 3; do echo -n "v$id:$(height "${vlog[$id]}") "; done)"
fi
check_agreement "survivors and the killed validator's prefix" "${vlog[@]}"

# The killed validator restarts (same key, nothing kept on disk) and catches up
# by block sync: it finalizes the blocks it missed and new ones, in agreement.
killed_log=${vlog[$victim]}
run=restarted
top=0
for id in 1 2 3; do
  h=$(height "${vlog[$id]}")
  [ "$h" -gt $top ] && top=$h
done
start $victim --key "$tmp/keys/v$victim.key" "${keys[@]}" --load 200 || exit 1
if wait_height $((top + 2)) 30 $victim; then
  pass "validator $victim restarted with the others at height $top and caught up by block sync (to $(height "${vlog[$victim]}"))"
else
  fail "restarted validator $victim did not reach height $((top + 2)) in 30 s: v$victim:$(height "${vlog[$victim]}") (others $top when it started)"
fi
check_agreement "survivors and the restarted validator" "${vlog[@]}" "$killed_log"
if grep -h "evidence:" "${vlog[@]}" "$killed_log" | head -3 | grep -q .; then
  fail "evidence in the honest group: $(grep -h "evidence:" "${vlog[@]}" "$killed_log" | head -2 | tr '\n' ' ')"
else
  pass "no evidence in the honest group across the kill and the restart"
fi

# wait_stopped SECONDS IDS...: each validator, run with --epochs, must exit 0
# by itself within SECONDS with a summary line.
wait_stopped() {
  local secs=$1 id code ok=0
  shift
  for id in "$@"; do
    wait_exit "${vpid[$id]}" "$secs"
    code=$?
    if [ $code -eq 0 ] && grep -q "^validator $id: summary: finalized height" "${vlog[$id]}"; then
      unset "vpid[$id]"
    else
      fail "validator $id ($run): exit $code after --epochs (124: still running $secs s later)"
      ok=1
    fi
  done
  return $ok
}

# -- SIGTERM: exit 0 with a summary -----------------------------------------------------
stop_all() { # IDS...: SIGTERM, then each must exit 0 within 10 s with a summary line
  local id code
  for id in "$@"; do
    kill -TERM "${vpid[$id]}"
  done
  for id in "$@"; do
    wait_exit "${vpid[$id]}" 10
    code=$?
    if [ $code -eq 0 ] && grep -q "^validator $id: summary: finalized height" "${vlog[$id]}"; then
      unset "vpid[$id]"
    else
      fail "validator $id: exit $code after SIGTERM (124: still running after 10 s), $(grep summary "${vlog[$id]}")"
    fi
  done
}
stop_all 1 2 3 $victim
[ ${#vpid[@]} -eq 0 ] && pass "SIGTERM: the four exit 0 with a summary: $(grep -h 'summary' "${vlog[1]}" | cut -c1-160)"

# -- validator 3 equivocates: evidence, safety, liveness --------------------------------
# Round robin: validator 3 leads every fourth epoch and sends two proposals,
# one to each half; echoes bring both to every honest validator. Keys from a
# seed this time, and each validator stops by itself after 24 epochs.
run=byzantine
genesis=$(($(now_ms) + 1500))
for id in 1 2 3 4; do
  behaviour=honest
  [ $id -eq 3 ] && behaviour=equivocate
  start $id --key-seed 11 --leader round-robin --behaviour $behaviour --epochs 24 || exit 1
done
for _ in $(seq 150); do
  n=0
  for id in 1 2 4; do
    grep -q "evidence: double_proposal by validator 3" "${vlog[$id]}" && n=$((n + 1))
  done
  [ $n -eq 3 ] && break
  sleep 0.2
done
if [ $n -eq 3 ]; then
  pass "the three honest validators report double_proposal by validator 3"
else
  fail "only $n honest validator(s) report the equivocation"
fi
wait_stopped 30 1 2 3 4 && pass "--epochs 24: all four exit 0 with a summary"
if grep -h "evidence: .* by validator [124] " "${vlog[1]}" "${vlog[2]}" "${vlog[4]}"; then
  fail "evidence against an honest validator"
fi
check_agreement "the honest three with an equivocator" "${vlog[1]}" "${vlog[2]}" "${vlog[4]}"
hs="$(height "${vlog[1]}") $(height "${vlog[2]}") $(height "${vlog[4]}")"
min=$(printf '%s\n' $hs | sort -n | head -1)
if [ "$min" -ge 8 ]; then
  pass "with an equivocating validator the honest three finalized (heights $hs in 24 epochs)"
else
  fail "with an equivocating validator the honest three finalized too little: heights $hs"
fi

# -- trades mode: shard-signed batches under the trade payload rule ---------------------
# Validators 1-3 run the rule and submit batches of 16 trades as shards 0-2;
# validator 4 submits opaque transactions and so proposes blocks the rule
# refuses: the three must finalize trades, agree, and convict it.
run=trades
epoch_ms=200
genesis=$(($(now_ms) + 1500))
for id in 1 2 3 4; do
  trades=16
  [ $id -eq 4 ] && trades=0
  start $id --key-seed 12 --leader round-robin --trades $trades --load 400 --epochs 10 ||
    exit 1
done
wait_stopped 20 1 2 3 4
check_agreement "trades mode" "${vlog[1]}" "${vlog[2]}" "${vlog[3]}"
settled=$(sed -n 's/.*summary: .* txs (\([0-9]*\) trades).*/\1/p' "${vlog[1]}")
if [ "${settled:-0}" -gt 0 ] && grep -q "own finalized [1-9]" "${vlog[1]}"; then
  pass "trades mode: validator 1 finalized $settled signed trades, some its own shard's"
else
  fail "trades mode: no trades finalized: $(grep -h summary "${vlog[1]}" | cut -c1-200)"
fi
n=0
for id in 1 2 3; do
  grep -q "evidence: invalid_proposal by validator 4" "${vlog[$id]}" && n=$((n + 1))
done
if [ $n -eq 3 ]; then
  pass "trades mode: the three running the rule convict the validator proposing opaque txs"
else
  fail "trades mode: only $n of 3 report invalid_proposal by validator 4"
fi
epoch_ms=500

# -- over TLS (mutual certificates): only links to smaller ids, handles announced ----------
if make_test_certs; then
  run=tls
  genesis=$(($(now_ms) + 1500))
  for id in 1 2 3 4; do
    start $id --key "$tmp/keys/v$id.key" "${keys[@]}" --epochs 12 --tls-cert "$tmp/node.pem" \
      --tls-key "$tmp/node.key" --tls-ca "$tmp/ca.pem" || exit 1
  done
  wait_stopped 30 1 2 3 4
  check_agreement "over TLS" "${vlog[@]}"
  hs="$(height "${vlog[1]}") $(height "${vlog[2]}") $(height "${vlog[3]}") $(height "${vlog[4]}")"
  min=$(printf '%s\n' $hs | sort -n | head -1)
  if [ "$min" -ge 6 ]; then
    pass "over TLS all four finalized (heights $hs in 12 epochs)"
  else
    fail "over TLS: heights $hs in 12 epochs"
  fi
else
  echo "SKIP: over TLS (no openssl command)"
fi

echo "streamlet multiprocess test: $((SECONDS - t_start)) s, $failures failure(s)"
[ $failures -eq 0 ]
