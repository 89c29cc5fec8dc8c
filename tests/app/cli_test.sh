#!/usr/bin/env bash
# The marketsim binary seen from outside: exit codes, one-line errors, and a
# short run of the default scenario that leaves a trade tape behind.
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
if [ "$code" -eq 0 ] && grep -q "run" "$tmp/out" && grep -q "bench" "$tmp/out"; then
  pass "--help lists the subcommands, exit 0"
else
  fail "--help: exit $code, stdout '$(head -c 300 "$tmp/out")'"
fi

run_bin run --help
if [ "$code" -eq 0 ] && grep -q -- "--duration" "$tmp/out"; then
  pass "run --help shows the run options, exit 0"
else
  fail "run --help: exit $code"
fi

# -- command-line errors -----------------------------------------------------------

expect_usage_error "unknown flag" "frobnicate" --frobnicate
expect_usage_error "unknown run flag" "frobnicate" run --frobnicate
expect_usage_error "no subcommand" "subcommand" 
expect_usage_error "bad --mix value" "mix" bench book --mix nope
expect_usage_error "negative --ops" "ops" bench book --ops -5
expect_usage_error "bad --duration" "--duration" run "$src/configs/default.yaml" --duration banana
expect_usage_error "bad --seed" "seed" run "$src/configs/default.yaml" --seed -1

# -- scenario errors: file:line: what ------------------------------------------------

expect_usage_error "missing scenario" "/nonexistent/nope\.yaml: cannot open" \
  run /nonexistent/nope.yaml
expect_usage_error "malformed scenario" "malformed\.yaml:6: malformed YAML" \
  run "$data/malformed.yaml"
expect_usage_error "unknown key" "unknown_key\.yaml:15: unknown key 'max_quantiy'" \
  run "$data/unknown_key.yaml"
expect_usage_error "symbol on no shard" "symbol_on_no_shard\.yaml:8: symbol 'INIT' is on no shard" \
  run "$data/symbol_on_no_shard.yaml"

# -- a short run of the default scenario ---------------------------------------------

out=$tmp/run
run_bin run "$src/configs/default.yaml" --duration 1s --out "$out"
if [ "$code" -ne 0 ]; then
  fail "run default.yaml --duration 1s: exit $code: $(cat "$tmp/err")"
else
  pass "run default.yaml --duration 1s: exit 0"
  cat "$tmp/out"
  header="seq,time_ns,symbol,price,qty,aggressor,maker_id,taker_id,maker_owner,taker_owner"
  if [ -f "$out/trades.csv" ] && [ "$(head -n 1 "$out/trades.csv")" = "$header" ]; then
    pass "trades.csv has the header"
  else
    fail "trades.csv missing or without the header"
  fi
  trades=$(($(lines_of "$out/trades.csv") - 1))
  if [ "$trades" -gt 0 ]; then
    pass "trades.csv holds $trades trades"
  else
    fail "trades.csv holds no trade"
  fi
  if [ -s "$out/summary.json" ] && grep -q '"orders_per_s"' "$out/summary.json" \
    && grep -q "\"tape_trades\": $trades," "$out/summary.json"; then
    pass "summary.json written, its tape count matches trades.csv"
  else
    fail "summary.json missing or inconsistent with trades.csv"
  fi
  if grep -q "orders/s" "$tmp/out"; then
    pass "the summary shows orders/s"
  else
    fail "the summary does not show orders/s"
  fi
fi

if [ "$failures" -ne 0 ]; then
  echo "$failures check(s) failed"
  exit 1
fi
echo "all checks passed"
