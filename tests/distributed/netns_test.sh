#!/usr/bin/env bash
# Several hosts on one machine: the host that starts the run (c) and two
# `marketsim node` processes (a, b) each in their own network namespace,
# joined by veth pairs on a bridge in c's namespace. A scenario spreads over
# them (tests/distributed/two_hosts.yaml: shards on a, one crowd on b); then
# the link of host b is cut (`ip link set ... down`: no RST, no FIN, the
# packets just stop) and the run must report host b lost and stop or go on
# as its on_host_failure says, within a bounded time.
#
# Needs root and a working `ip netns` (iproute2, CAP_SYS_ADMIN, veth and
# bridge support); otherwise it exits 77, which meson reports as SKIP, with
# the reason on stdout. Every process runs under a timeout; the namespaces
# (named after this shell's pid, so parallel runs do not clash) are deleted
# on exit, failure or not.
#
# usage: netns_test.sh <path-to-marketsim> <source-root>
set -uo pipefail

if [ $# -ne 2 ]; then
  echo "usage: $0 <path-to-marketsim> <source-root>" >&2
  exit 2
fi
bin=$(readlink -f "$1")
src=$2
scenario=$src/tests/distributed/two_hosts.yaml

skip() {
  echo "SKIP: $1"
  exit 77
}
[ "$(id -u)" -eq 0 ] || skip "not root: network namespaces need root (run as root to test cut links)"
command -v ip >/dev/null || skip "no 'ip' command (iproute2 is in scripts/setup.sh)"
command -v timeout >/dev/null || skip "no 'timeout' command"

ns_c=ms$$c
ns_a=ms$$a
ns_b=ms$$b
net=10.213.77
tmp=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  done
  for ns in "$ns_a" "$ns_b" "$ns_c"; do
    ip netns del "$ns" 2>/dev/null
  done
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# in NS CMD...: CMD inside namespace NS.
in_ns() {
  local ns=$1
  shift
  ip netns exec "$ns" "$@"
}

# -- the namespaces ------------------------------------------------------------------
# c holds a bridge (the "switch", $net.1); a ($net.2) and b ($net.3) each hang
# on it by one veth pair, whose bridge end is v$$a / v$$b in c. Cutting host
# b's link is `ip link set v$$b down` in c.
setup_net() {
  ip netns add "$ns_c" && ip netns add "$ns_a" && ip netns add "$ns_b" || return 1
  for ns in "$ns_c" "$ns_a" "$ns_b"; do
    in_ns "$ns" ip link set lo up || return 1
  done
  in_ns "$ns_c" ip link add br0 type bridge || return 1
  in_ns "$ns_c" ip addr add "$net.1/24" dev br0 || return 1
  in_ns "$ns_c" ip link set br0 up || return 1
  local i=2
  for h in a b; do
    local ns=ms$$$h
    ip link add "v$$$h" netns "$ns_c" type veth peer name eth0 netns "$ns" || return 1
    in_ns "$ns_c" ip link set "v$$$h" master br0 || return 1
    in_ns "$ns_c" ip link set "v$$$h" up || return 1
    in_ns "$ns" ip addr add "$net.$i/24" dev eth0 || return 1
    in_ns "$ns" ip link set eth0 up || return 1
    i=$((i + 1))
  done
}
if ! setup_net 2>"$tmp/setup.err"; then
  skip "cannot build network namespaces here ($(head -c 300 "$tmp/setup.err"))"
fi

. "$src/tests/distributed/checks.sh"

# start_node H PORT: `marketsim node` in namespace ms$$H on $net.X:PORT, waited
# for (at most 10 s); sets node_pid.
start_node() {
  local h=$1 port=$2 addr
  case $h in a) addr=$net.2 ;; b) addr=$net.3 ;; esac
  # Not under `timeout`: the trap kills every node by pid.
  ip netns exec "ms$$$h" "$bin" node --listen "$port" --bind "$addr" --threads 1 --name "$h" \
    >>"$tmp/$h.log" 2>&1 &
  node_pid=$!
  pids+=("$node_pid")
  for _ in $(seq 100); do
    grep -q "listening on $addr:$port" "$tmp/$h.log" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "node $h did not start: $(cat "$tmp/$h.log")" >&2
  return 1
}

port=7001
start_node a $port || exit 1
start_node b $port || exit 1
hosts="a=$net.2:$port,b=$net.3:$port"


# -- a scenario over three namespaces --------------------------------------------------
t0=$SECONDS
timeout 60 ip netns exec "$ns_c" "$bin" run "$scenario" --hosts "$hosts" --duration 2s \
  --out "$tmp/spread" >"$tmp/out" 2>"$tmp/err"
code=$?
from_b=$(trades_between 1 10 "$tmp/spread")
from_a=$(trades_between 11 14 "$tmp/spread")
if [ "$code" -eq 0 ] && [ "$from_b" -gt 0 ] && [ "$from_a" -gt 0 ]; then
  pass "three namespaces: exit 0 after $((SECONDS - t0)) s, trades of both nodes' agents ($from_b of b's, $from_a of a's)"
else
  fail "three namespaces: exit code $code, trades of b's agents $from_b, of a's $from_a (stderr: $(head -c 400 "$tmp/err"))"
fi

# cut_run POLICY DIR DURATION: a run with on_host_failure POLICY; host b's
# link is cut 2 s in. Links notice a cut within connection_timeout (15 s,
# distributed/transport.hpp). Sets code, secs, after_cut.
cut_run() {
  local policy=$1 dir=$2
  sed "s/on_host_failure: stop/on_host_failure: $policy/" "$scenario" >"$tmp/$policy.yaml"
  local t0=$SECONDS
  timeout 90 ip netns exec "$ns_c" "$bin" run "$tmp/$policy.yaml" --hosts "$hosts" \
    --duration "$3" --out "$dir" >"$tmp/out" 2>"$tmp/err" &
  local run_pid=$!
  pids+=("$run_pid")
  sleep 2
  in_ns "$ns_c" ip link set "v$$b" down
  cut_at=$SECONDS
  wait "$run_pid"
  code=$?
  secs=$((SECONDS - t0))
  after_cut=$((SECONDS - cut_at))
}

# -- cut b's link: stop ----------------------------------------------------------------
# A 60 s run that must end well before: reported and stopped on the loss.
cut_run stop "$tmp/stop" 60s
if [ "$code" -eq 1 ] && grep -q "host b ($net.3:$port) lost .*run stopped (on_host_failure: stop)" "$tmp/err" &&
  [ "$after_cut" -lt 25 ]; then
  pass "cut link, on_host_failure: stop: host b reported lost, exit 1, ${after_cut} s after the cut"
else
  fail "cut link, stop: exit code $code after ${secs} s, ${after_cut} s after the cut (stderr: $(head -c 400 "$tmp/err"))"
fi
check_b_marked_lost "$tmp/stop" "cut link, stop"
# Node b, cut off, notices that its session owner is gone and quits the
# session's actors (10 traders of group 0).
gone=no
for _ in $(seq 250); do
  if grep -q "session owner gone .*quit 10 actor(s)" "$tmp/b.log"; then
    gone=yes
    break
  fi
  sleep 0.1
done
if [ "$gone" = yes ]; then
  pass "cut link: node b, on its own, quits the actors of the lost session"
else
  fail "cut link: node b's log: $(tail -3 "$tmp/b.log")"
fi

# -- cut b's link: continue ------------------------------------------------------------
in_ns "$ns_c" ip link set "v$$b" up
# Node b is still running; a new session reaches it again once the link is up.
cut_run continue "$tmp/continue" 25s
if [ "$code" -eq 0 ] && grep -q "host b ($net.3:$port) lost .*run continued (on_host_failure: continue)" "$tmp/err"; then
  pass "cut link, on_host_failure: continue: host b reported lost, the run went on (exit 0 after ${secs} s)"
else
  fail "cut link, continue: exit code $code after ${secs} s (stderr: $(head -c 400 "$tmp/err"))"
fi
check_a_kept_trading "$tmp/continue" "cut link, continue"

# -- a host that is not there: bounded ---------------------------------------------------
# $net.9 is on the bridge's subnet but nobody answers ARP: the connect must
# give up within connect_timeout (3 s), not the kernel's minutes.
t0=$SECONDS
timeout 60 ip netns exec "$ns_c" "$bin" run "$scenario" --hosts "a=$net.2:$port,b=$net.9:$port" \
  >"$tmp/out" 2>"$tmp/err"
code=$?
secs=$((SECONDS - t0))
if [ "$code" -eq 2 ] && grep -q "host b ($net.9:$port)" "$tmp/err" && [ "$secs" -lt 15 ]; then
  pass "an address nobody answers: exit 2 after ${secs} s, the host named"
else
  fail "silent address: exit code $code after ${secs} s (stderr: $(head -c 400 "$tmp/err"))"
fi

finish
