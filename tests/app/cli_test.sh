#!/usr/bin/env bash
# The marketsim binary seen from outside: exit codes, one-line errors, the
# strategy listing, short runs of the default scenario in virtual and real
# time with everything they leave behind, and every shipped scenario.
#
# usage: cli_test.sh <path-to-marketsim> <source-root>
set -uo pipefail

if [ $# -ne 2 ]; then
  echo "usage: $0 <path-to-marketsim> <source-root>" >&2
  exit 2
fi
bin=$1
src=$2
data=$src/tests/app/data
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

failures=0
pass() { echo "ok   - $1"; }
fail() { echo "FAIL - $1"; failures=$((failures + 1)); }

# run_bin ARGS...: runs the binary, leaves exit code in $code, stdout in
# $tmp/out, stderr in $tmp/err; a run that takes over two minutes fails.
run_bin() {
  timeout 120 "$bin" "$@" >"$tmp/out" 2>"$tmp/err"
  code=$?
}

lines_of() { wc -l <"$1" | tr -d ' '; }

# expect_usage_error NAME PATTERN ARGS...: exit code 2, exactly one line on
# stderr, matching the extended regex PATTERN.
expect_usage_error() {
  local name=$1 pattern=$2
  shift 2
  run_bin "$@"
  if [ "$code" -ne 2 ]; then
    fail "$name: exit code $code, expected 2 (stderr: $(head -c 300 "$tmp/err"))"
  elif [ "$(lines_of "$tmp/err")" -ne 1 ]; then
    fail "$name: $(lines_of "$tmp/err") lines on stderr, expected 1: $(cat "$tmp/err")"
  elif ! grep -Eq -- "$pattern" "$tmp/err"; then
    fail "$name: stderr '$(cat "$tmp/err")' does not match '$pattern'"
  else
    pass "$name: exit 2, $(cat "$tmp/err")"
  fi
}

# -- help and version -------------------------------------------------------------

run_bin --version
if [ "$code" -eq 0 ] && grep -qx "marketsim 0.1.0" "$tmp/out"; then
  pass "--version prints 'marketsim 0.1.0', exit 0"
else
  fail "--version: exit $code, stdout '$(cat "$tmp/out")'"
fi

run_bin --help
if [ "$code" -eq 0 ] && grep -q "run" "$tmp/out" && grep -q "bench" "$tmp/out" \
  && grep -q "strategies" "$tmp/out"; then
  pass "--help lists the subcommands, exit 0"
else
  fail "--help: exit $code, stdout '$(head -c 300 "$tmp/out")'"
fi

run_bin run --help
if [ "$code" -eq 0 ] && grep -q -- "--duration" "$tmp/out" && grep -q -- "--clock" "$tmp/out"; then
  pass "run --help shows the run options, exit 0"
else
  fail "run --help: exit $code"
fi

# -- strategies ----------------------------------------------------------------------

run_bin strategies
missing=""
for s in zero_intelligence noise value market_maker momentum mean_reversion; do
  grep -qx "$s" "$tmp/out" || missing="$missing $s"
done
if [ "$code" -ne 0 ]; then
  fail "strategies: exit $code: $(cat "$tmp/err")"
elif [ -n "$missing" ]; then
  fail "strategies does not list:$missing"
elif ! grep -Eq "^  interval +duration +100ms" "$tmp/out"; then
  fail "strategies does not show parameters with type and default"
else
  pass "strategies lists the six built-in strategies with their parameters and defaults"
fi

# -- command-line errors -----------------------------------------------------------

expect_usage_error "unknown flag" "frobnicate" --frobnicate
expect_usage_error "unknown run flag" "frobnicate" run --frobnicate
expect_usage_error "no subcommand" "subcommand"
expect_usage_error "bad --mix value" "mix" bench book --mix nope
expect_usage_error "negative --ops" "ops" bench book --ops -5
expect_usage_error "bad --duration" "--duration" run "$src/configs/default.yaml" --duration banana
expect_usage_error "bad --seed" "seed" run "$src/configs/default.yaml" --seed -1
expect_usage_error "bad --clock" "clock" run "$src/configs/default.yaml" --clock sundial

# -- scenario errors: file:line: what ------------------------------------------------

expect_usage_error "missing scenario" "/nonexistent/nope\.yaml: cannot open" \
  run /nonexistent/nope.yaml
expect_usage_error "malformed scenario" "malformed\.yaml:6: malformed YAML" \
  run "$data/malformed.yaml"
expect_usage_error "unknown key" "unknown_key\.yaml:15: unknown key 'acount'" \
  run "$data/unknown_key.yaml"
expect_usage_error "symbol on no shard" "symbol_on_no_shard\.yaml:8: symbol 'INIT' is on no shard" \
  run "$data/symbol_on_no_shard.yaml"
expect_usage_error "unknown strategy" \
  "unknown_strategy\.yaml:10: unknown strategy 'high_frequency_oracle' \(known: zero_intelligence, noise, value, market_maker, momentum, mean_reversion" \
  run "$data/unknown_strategy.yaml"
expect_usage_error "unknown parameter" \
  "unknown_param\.yaml:12: unknown parameter 'spread' of strategy 'market_maker'" \
  run "$data/unknown_param.yaml"
expect_usage_error "parameter out of range" \
  "bad_param\.yaml:13: strategy 'noise': parameter 'market_order_probability': 1\.5 is above the maximum 1" \
  run "$data/bad_param.yaml"
expect_usage_error "unknown experiment" "unknown experiment 'nope'" experiment nope
expect_usage_error "experiment without a name" "--list" experiment
expect_usage_error "experiment with zero seeds" "--seeds" experiment disruption --seeds 0
expect_usage_error "negative count" "negative_count\.yaml:9: 'count' must not be negative, got -5" \
  run "$data/negative_count.yaml"

# -- runs of the default scenario: virtual and real time -------------------------------

# check_run NAME DIR CLOCK AGENTS: the outputs of a finished run.
check_run() {
  local name=$1 out=$2 clock=$3 agents=$4
  local header="seq,time_ns,symbol,price,qty,aggressor,maker_id,taker_id,maker_owner,taker_owner"
  if [ -f "$out/trades.csv" ] && [ "$(head -n 1 "$out/trades.csv")" = "$header" ]; then
    pass "$name: trades.csv has the header"
  else
    fail "$name: trades.csv missing or without the header"
  fi
  local trades=$(($(lines_of "$out/trades.csv") - 1))
  if [ "$trades" -gt 0 ]; then
    pass "$name: trades.csv holds $trades trades"
  else
    fail "$name: trades.csv holds no trade"
  fi
  if [ -s "$out/summary.json" ] && grep -q "\"clock\": \"$clock\"" "$out/summary.json" \
    && grep -q "\"tape_trades\": $trades," "$out/summary.json" \
    && grep -q '"strategies": \[' "$out/summary.json"; then
    pass "$name: summary.json written ($clock clock), its tape count matches trades.csv"
  else
    fail "$name: summary.json missing or inconsistent with trades.csv"
  fi
  if [ "$(head -n 1 "$out/l1.csv")" = "time_ns,symbol,bid,bid_qty,ask,ask_qty" ] \
    && [ "$(lines_of "$out/l1.csv")" -gt 1 ]; then
    pass "$name: l1.csv holds $(($(lines_of "$out/l1.csv") - 1)) samples"
  else
    fail "$name: l1.csv missing, without header or empty"
  fi
  if head -n 1 "$out/agents.csv" | grep -q "^index,owner,strategy,cash,positions,realised,unrealised,equity,fees,pnl,orders,fills,rejects,failed,error,metrics$" \
    && [ "$(lines_of "$out/agents.csv")" -eq $((agents + 1)) ]; then
    pass "$name: agents.csv holds the $agents agents"
  else
    fail "$name: agents.csv missing, without header or not $agents agents"
  fi
  if grep -q "^strategy " "$tmp/out" && grep -q "^market_maker " "$tmp/out"; then
    pass "$name: the summary shows the per-strategy table"
  else
    fail "$name: the summary has no per-strategy table"
  fi
}

run_bin run "$src/configs/default.yaml" --duration 2s --out "$tmp/virtual"
if [ "$code" -ne 0 ]; then
  fail "run default.yaml (virtual) --duration 2s: exit $code: $(cat "$tmp/err")"
else
  pass "run default.yaml (virtual) --duration 2s: exit 0"
  cat "$tmp/out"
  check_run "virtual" "$tmp/virtual" virtual 60
  if grep -q "events/s" "$tmp/out"; then
    pass "virtual: the summary shows events/s"
  else
    fail "virtual: the summary does not show events/s"
  fi
  if [ ! -s "$tmp/err" ]; then
    pass "virtual: nothing on stderr (no progress line when stderr is no terminal)"
  else
    fail "virtual: stderr holds '$(head -c 200 "$tmp/err")'"
  fi
fi

run_bin run "$src/configs/default.yaml" --duration 2s --out "$tmp/virtual2"
if [ "$code" -eq 0 ] && cmp -s "$tmp/virtual/trades.csv" "$tmp/virtual2/trades.csv"; then
  pass "virtual: the same seed gives the same trades.csv, byte for byte"
else
  fail "virtual: two runs with the same seed differ (exit $code)"
fi

run_bin run "$src/configs/default.yaml" --duration 1s --clock real --out "$tmp/real"
if [ "$code" -ne 0 ]; then
  fail "run default.yaml --clock real --duration 1s: exit $code: $(cat "$tmp/err")"
else
  pass "run default.yaml --clock real --duration 1s: exit 0"
  check_run "real" "$tmp/real" real 60
fi

# -- marketsim consensus: bad input is one line and exit 2 ---------------------------

printf 'consensus:\n  validators: 4\n  epoch: soon\n' >"$tmp/bad_consensus.yaml"
expect_usage_error "consensus: bad epoch" "bad_consensus.yaml:3: 'epoch'" consensus "$tmp/bad_consensus.yaml"
expect_usage_error "consensus: missing file" "cannot open" consensus "$tmp/nope.yaml"

# -- every shipped scenario runs as is (shortened) -------------------------------------

for config in "$src"/configs/*.yaml; do
  if grep -q '^consensus:' "$config"; then
    # A Streamlet scenario (marketsim consensus): safe, exit 0, prices finalized.
    run_bin consensus "$config" --duration 8s
    if [ "$code" -eq 0 ] && grep -q '^safety: ok' "$tmp/out"; then
      pass "consensus $(basename "$config") --duration 8s: exit 0, $(grep '^finalized:' "$tmp/out")"
    else
      fail "consensus $(basename "$config") --duration 8s: exit $code: $(head -c 300 "$tmp/err")"
    fi
    continue
  fi
  run_bin run "$config" --duration 1s --out "$tmp/config"
  if [ "$code" -eq 0 ] && [ "$(lines_of "$tmp/config/trades.csv")" -gt 1 ]; then
    pass "run $(basename "$config") --duration 1s: exit 0, $(($(lines_of "$tmp/config/trades.csv") - 1)) trades"
  else
    fail "run $(basename "$config") --duration 1s: exit $code: $(head -c 300 "$tmp/err")"
  fi
done

if [ "$failures" -ne 0 ]; then
  echo "$failures check(s) failed"
  exit 1
fi
echo "all checks passed"
