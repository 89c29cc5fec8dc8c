# Checks shared by distributed_test.sh and netns_test.sh (sourced), on the
# output folders of runs of tests/distributed/two_hosts.yaml: owners 1..10
# are group 0 (host b), 11..14 group 1 (host a), 15 and 16 the host that
# starts the run.

failures=0
pass() { echo "ok   - $1"; }
fail() { echo "FAIL - $1"; failures=$((failures + 1)); }

# trades_between LO HI DIR: trades with an owner in [LO, HI] on either side.
trades_between() {
  awk -F, -v lo="$1" -v hi="$2" 'NR > 1 && (($9 >= lo && $9 <= hi) || ($10 >= lo && $10 <= hi))' \
    "$3/trades.csv" 2>/dev/null | wc -l | tr -d ' '
}

# check_b_marked_lost DIR LABEL: hosts.csv marks b lost and b's agents are
# failed with the reason.
check_b_marked_lost() {
  if grep -q '^b,.*,yes,' "$1/hosts.csv" 2>/dev/null &&
    grep -q "host b lost" "$1/agents.csv" 2>/dev/null; then
    pass "$2: hosts.csv marks b lost; its agents are failed with the reason"
  else
    fail "$2: hosts.csv: $(cat "$1/hosts.csv" 2>&1)"
  fi
}

# check_a_kept_trading DIR LABEL: host a's agents (owners 11..14) traded
# more than 0.5 s after b was lost.
check_a_kept_trading() {
  local lost_ns late
  lost_ns=$(awk -F, '$1 == "b" { print $8 }' "$1/hosts.csv" 2>/dev/null)
  late=$(awk -F, -v t="${lost_ns:-0}" 'NR > 1 && $2 > t + 500000000 && $9 >= 11 && $9 <= 14' \
    "$1/trades.csv" 2>/dev/null | wc -l | tr -d ' ')
  if [ -n "$lost_ns" ] && [ "$lost_ns" -gt 0 ] && [ "$late" -gt 0 ]; then
    pass "$2: host a's agents kept trading ($late trades after the loss)"
  else
    fail "$2: lost at '${lost_ns}' ns, $late trades of host a's agents afterwards"
  fi
}

# finish: the summary line and exit code.
finish() {
  if [ "$failures" -ne 0 ]; then
    echo "$failures failure(s)"
    exit 1
  fi
  echo "all passed"
  exit 0
}
