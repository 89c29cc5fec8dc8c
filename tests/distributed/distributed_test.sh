#!/usr/bin/env bash
# Runs across hosts with real processes on loopback: `marketsim node`
# processes on free ports, a scenario spread over them (trades cross hosts),
# kill -9 of a node mid-run under both host-failure policies, and bad input
# (a refused connection, a vocabulary mismatch, virtual time). Every process
# runs under a timeout; the nodes started here are killed by their pids on
# exit.
#
# usage: distributed_test.sh <path-to-marketsim> <source-root>
set -uo pipefail

if [ $# -ne 2 ]; then
  echo "usage: $0 <path-to-marketsim> <source-root>" >&2
  exit 2
fi
bin=$1
src=$2
scenario=$src/tests/distributed/two_hosts.yaml
tmp=$(mktemp -d)
node_pids=()
cleanup() {
  for pid in "${node_pids[@]}"; do
    kill -9 "$pid" 2>/dev/null
  done
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

. "$src/tests/distributed/checks.sh"

# start_node NAME [ARGS...]: a node on a free port (--listen 0), waited for
# (at most 10 s); sets node_pid and node_port. Its output goes to
# $tmp/NAME.log.
start_node() {
  local name=$1
  shift
  # Not under `timeout`: kill -9 must hit the node itself. The trap kills
  # every node on exit.
  "$bin" node --listen 0 --threads 1 --name "$name" "$@" >"$tmp/$name.log" 2>&1 &
  node_pid=$!
  node_pids+=("$node_pid")
  node_port=""
  for _ in $(seq 100); do
    node_port=$(sed -n 's/.* listening on 127\.0\.0\.1:\([0-9]*\) .*/\1/p' "$tmp/$name.log" 2>/dev/null)
    [ -n "$node_port" ] && return 0
    sleep 0.1
  done
  echo "node $name did not start: $(cat "$tmp/$name.log")" >&2
  return 1
}

# run_bin ARGS...: the binary under a 60 s timeout; exit code in $code,
# stdout in $tmp/out, stderr in $tmp/err, wall seconds in $secs.
run_bin() {
  local t0=$SECONDS
  timeout 60 "$bin" "$@" >"$tmp/out" 2>"$tmp/err"
  code=$?
  secs=$((SECONDS - t0))
}


# -- a scenario spread over two nodes ------------------------------------------
start_node a || exit 1
port_a=$node_port
start_node b || exit 1
port_b=$node_port
pid_b=$node_pid
hosts="a=127.0.0.1:$port_a,b=127.0.0.1:$port_b"

run_bin run "$scenario" --hosts "$hosts" --duration 2s --out "$tmp/spread"
if [ "$code" -ne 0 ]; then
  fail "spread run: exit code $code (stderr: $(head -c 400 "$tmp/err"))"
else
  from_b=$(trades_between 1 10 "$tmp/spread")
  from_a=$(trades_between 11 14 "$tmp/spread")
  if [ "$from_b" -gt 0 ] && [ "$from_a" -gt 0 ]; then
    pass "spread run: trades of agents on both nodes ($from_b from b to the shards on a, $from_a on a)"
  else
    fail "spread run: trades of host b's agents $from_b, of host a's $from_a"
  fi
  if grep -q '^a,.*,0 1,1,4,no,' "$tmp/spread/hosts.csv" &&
    grep -q '^b,.*,,0,10,no,' "$tmp/spread/hosts.csv"; then
    pass "spread run: hosts.csv tells what ran where"
  else
    fail "spread run: hosts.csv: $(cat "$tmp/spread/hosts.csv")"
  fi
  failed=$(awk -F, 'NR == 1 { for (i = 1; i <= NF; ++i) if ($i == "failed") c = i } NR > 1 && $c == "true"' \
    "$tmp/spread/agents.csv" | wc -l | tr -d ' ')
  agents=$(($(wc -l <"$tmp/spread/agents.csv") - 1))
  if [ "$agents" -eq 16 ] && [ "$failed" -eq 0 ]; then
    pass "spread run: every agent's report came back ($agents agents)"
  else
    fail "spread run: $agents agent rows, $failed failed"
  fi
fi
# Node a ran both shards and group 1 (4 agents).
if grep -q "session released: quit 6 actor(s)" "$tmp/a.log"; then
  pass "the node quits what it spawned when the run releases it"
else
  fail "node a's log: $(tail -3 "$tmp/a.log")"
fi

# -- kill -9 of the host that started the run ---------------------------------
# The nodes see their session owner go and quit what they spawned for it.
"$bin" run "$scenario" --hosts "$hosts" --duration 20s --out "$tmp/orphan" >/dev/null 2>&1 &
run_pid=$!
sleep 1.5
kill -9 "$run_pid"
wait "$run_pid" 2>/dev/null
gone=no
for _ in $(seq 100); do
  if grep -q "session owner gone .*quit 6 actor(s)" "$tmp/a.log" &&
    grep -q "session owner gone .*quit 10 actor(s)" "$tmp/b.log"; then
    gone=yes
    break
  fi
  sleep 0.1
done
if [ "$gone" = yes ]; then
  pass "kill -9 of the run's own process: both nodes quit the actors of its session"
else
  fail "coordinator killed: node logs: $(tail -2 "$tmp/a.log") / $(tail -2 "$tmp/b.log")"
fi

# -- kill -9 of a node mid-run: stop -------------------------------------------
t0=$SECONDS
timeout 60 "$bin" run "$scenario" --hosts "$hosts" --duration 20s --out "$tmp/stop" \
  >"$tmp/out" 2>"$tmp/err" &
run_pid=$!
sleep 2
kill -9 "$pid_b"
wait "$run_pid"
code=$?
secs=$((SECONDS - t0))
if [ "$code" -eq 1 ] && grep -q "host b (127.0.0.1:$port_b) lost .*run stopped (on_host_failure: stop)" "$tmp/err" &&
  [ "$secs" -lt 15 ]; then
  pass "kill -9 of a node, on_host_failure: stop: reported, exit 1 after ${secs} s"
else
  fail "kill -9, stop: exit code $code after ${secs} s (stderr: $(head -c 400 "$tmp/err"))"
fi
check_b_marked_lost "$tmp/stop" "kill -9, stop"

# -- kill -9 of a node mid-run: continue ----------------------------------------
# run_and_kill PID DIR HOSTS: a 4 s run of the scenario with on_host_failure:
# continue over HOSTS into DIR; PID is killed (-9) 1.5 s in. Sets code.
sed 's/on_host_failure: stop/on_host_failure: continue/' "$scenario" >"$tmp/continue.yaml"
run_and_kill() {
  timeout 60 "$bin" run "$tmp/continue.yaml" --hosts "$3" --duration 4s --out "$2" \
    >"$tmp/out" 2>"$tmp/err" &
  local run_pid=$!
  sleep 1.5
  kill -9 "$1"
  wait "$run_pid"
  code=$?
}
start_node b2 || exit 1
run_and_kill "$node_pid" "$tmp/continue" "a=127.0.0.1:$port_a,b=127.0.0.1:$node_port"
if [ "$code" -eq 0 ] && grep -q "host b .* lost .*run continued (on_host_failure: continue)" "$tmp/err"; then
  pass "kill -9 of a node, on_host_failure: continue: reported, the run went on (exit 0)"
else
  fail "kill -9, continue: exit code $code (stderr: $(head -c 400 "$tmp/err"))"
fi
# Host a's own agents (owners 11..14, GLOBEX) trade on after b is gone.
check_a_kept_trading "$tmp/continue" "kill -9, continue"

# -- kill -9 of the shards' host: orders in flight are answered ------------------
# Node b's traders reach the shards on a through this process (no direct
# link): they hear of the loss from the coordinator (protocol step 4), and
# their shard relays answer every order in flight or sent later with a
# venue_unreachable reject; the run goes on and every report of b comes back.
start_node a3 || exit 1
port_a3=$node_port
pid_a3=$node_pid
start_node b3 || exit 1
run_and_kill "$pid_a3" "$tmp/shards_lost" "a=127.0.0.1:$port_a3,b=127.0.0.1:$node_port"
if [ "$code" -eq 0 ] && grep -q "host a .* lost .*with 2 shard(s).*run continued" "$tmp/err"; then
  pass "kill -9 of the shards' host, continue: reported, the run went on (exit 0)"
else
  fail "kill -9 of the shards' host: exit code $code (stderr: $(head -c 400 "$tmp/err"))"
fi
if grep -q "coordinator lost node .*telling its shard relays" "$tmp/b3.log" &&
  grep -Eq "shard 0: [1-9][0-9]* order request\(s\) sent after it went down were rejected \(venue_unreachable\)" "$tmp/b3.log"; then
  pass "kill -9 of the shards' host: node b heard of it; its orders were answered (venue_unreachable)"
else
  fail "kill -9 of the shards' host: node b's log: $(tail -4 "$tmp/b3.log")"
fi
# b's agents (owners 1..10): reports back, not failed, with rejects.
b_rejects=$(awk -F, 'NR == 1 { for (i = 1; i <= NF; ++i) { if ($i == "rejects") r = i; if ($i == "failed") f = i } }
  NR > 1 && $2 >= 1 && $2 <= 10 && $f == 0 { n += $r; k++ } END { print k + 0, n + 0 }' \
  "$tmp/shards_lost/agents.csv" 2>/dev/null)
if [ "${b_rejects% *}" -eq 10 ] && [ "${b_rejects#* }" -gt 0 ]; then
  pass "kill -9 of the shards' host: b's 10 agents reported, ${b_rejects#* } rejects among them"
else
  fail "kill -9 of the shards' host: b's agents (reported, rejects): $b_rejects"
fi

# -- bad input -------------------------------------------------------------------
run_bin run "$scenario" --hosts "a=127.0.0.1:$port_a,b=127.0.0.1:1"
if [ "$code" -eq 2 ] && grep -q "host b (127.0.0.1:1): .*cannot connect" "$tmp/err" && [ "$secs" -lt 10 ]; then
  pass "a refused connection: exit 2 at once, the host named"
else
  fail "refused connection: exit code $code after ${secs} s (stderr: $(head -c 400 "$tmp/err"))"
fi

run_bin run "$scenario" --hosts "a=no-such-host.invalid:$port_a,b=127.0.0.1:$port_a"
if [ "$code" -eq 2 ] && grep -q "host a (no-such-host.invalid:$port_a): .*no such host" "$tmp/err" &&
  [ "$secs" -lt 10 ]; then
  pass "a host name that does not resolve: exit 2 after ${secs} s, the host named"
else
  fail "unresolvable host: exit code $code after ${secs} s (stderr: $(head -c 400 "$tmp/err"))"
fi

# A port where something accepts and never speaks (not a marketsim node):
# the handshake gives up after connect_timeout (3 s).
if command -v python3 >/dev/null; then
  python3 -c '
import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(8)
print(s.getsockname()[1], flush=True)
conns = []
while True:
    c, _ = s.accept(); conns.append(c)
' >"$tmp/silent.port" &
  node_pids+=("$!")
  for _ in $(seq 50); do [ -s "$tmp/silent.port" ] && break; sleep 0.1; done
  run_bin run "$scenario" --hosts "a=127.0.0.1:$port_a,b=127.0.0.1:$(cat "$tmp/silent.port")"
  if [ "$code" -eq 2 ] && grep -q "host b (127.0.0.1:[0-9]*): " "$tmp/err" && [ "$secs" -lt 10 ]; then
    pass "a port that accepts and never answers: exit 2 after ${secs} s ($(head -c 160 "$tmp/err"))"
  else
    fail "silent port: exit code $code after ${secs} s (stderr: $(head -c 400 "$tmp/err"))"
  fi
else
  echo "skip - a port that accepts and never answers (no python3 to listen)"
fi

start_node other --vocabulary-salt 1 || exit 1
run_bin run "$scenario" --hosts "a=127.0.0.1:$port_a,b=127.0.0.1:$node_port"
if [ "$code" -eq 2 ] && grep -q "host b .*message vocabulary mismatch" "$tmp/err" &&
  [ "$(wc -l <"$tmp/err")" -eq 1 ]; then
  pass "vocabulary mismatch: exit 2, one line"
else
  fail "vocabulary mismatch: exit code $code (stderr: $(head -c 400 "$tmp/err"))"
fi
if grep -q "refused a peer: message vocabulary mismatch" "$tmp/other.log"; then
  pass "vocabulary mismatch: the node says so too"
else
  fail "vocabulary mismatch: node log: $(tail -3 "$tmp/other.log")"
fi

run_bin run "$scenario" --hosts "a=127.0.0.1:$port_a,b=127.0.0.1:$port_a" --clock virtual
if [ "$code" -eq 2 ] && grep -q "needs real time" "$tmp/err"; then
  pass "virtual time across hosts: refused, exit 2"
else
  fail "virtual time across hosts: exit code $code (stderr: $(head -c 300 "$tmp/err"))"
fi

run_bin run "$scenario" --hosts "a=127.0.0.1:$port_a"
if [ "$code" -eq 2 ] && grep -q "host 'b', which has no address" "$tmp/err"; then
  pass "a placement on a host without an address: exit 2"
else
  fail "host without address: exit code $code (stderr: $(head -c 300 "$tmp/err"))"
fi

run_bin node --listen "$port_a"
if [ "$code" -eq 2 ] && grep -q "cannot listen" "$tmp/err"; then
  pass "a node on a port in use: exit 2"
else
  fail "node on a port in use: exit code $code (stderr: $(head -c 300 "$tmp/err"))"
fi

# A node stops cleanly on SIGTERM.
kill -TERM "${node_pids[0]}"
for _ in $(seq 100); do
  kill -0 "${node_pids[0]}" 2>/dev/null || break
  sleep 0.1
done
if ! kill -0 "${node_pids[0]}" 2>/dev/null && wait "${node_pids[0]}"; then
  pass "a node stops on SIGTERM with exit 0"
else
  fail "node a did not stop on SIGTERM with exit 0"
fi

finish
