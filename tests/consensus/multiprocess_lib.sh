# Shared by the multiprocess tests under tests/consensus; source it first:
#   source "$(dirname "$0")/../multiprocess_lib.sh" "$@"
# Checks the one argument (the marketsim binary, as $bin) and provides:
#   $tmp         a temporary directory, removed on exit
#   vpid         an associative array of background pids, killed -9 on exit
#   pass, fail   report a check ($failures counts the failed ones)
#   now_ms       unix time in ms
#   free_ports N N free loopback ports on one line
#   wait_exit PID SECONDS   the exit code of PID, or 124 if it still runs then
#   wait_listening PID LOG  until LOG says "listening on" (0), PID died or 10 s
#                           passed (1, with the log's start on stderr)
#   make_test_certs         a CA and one node certificate signed by it in $tmp:
#                           ca.pem, node.pem, node.key (1 without openssl)

if [ $# -ne 1 ]; then
  echo "usage: $0 <path-to-marketsim>" >&2
  exit 2
fi
bin=$1
tmp=$(mktemp -d)
declare -A vpid
failures=0
cleanup() {
  for pid in "${vpid[@]}"; do
    kill -9 "$pid" 2>/dev/null
  done
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

pass() { echo "PASS: $*"; }
fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}
now_ms() { date +%s%3N; }

free_ports() {
  python3 - "$1" <<'PY'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
PY
}

wait_exit() {
  local pid=$1 secs=$2
  for _ in $(seq $((secs * 10))); do
    if ! kill -0 "$pid" 2>/dev/null; then
      wait "$pid"
      return $?
    fi
    sleep 0.1
  done
  return 124
}

wait_listening() {
  local pid=$1 log=$2
  for _ in $(seq 100); do
    grep -q "listening on" "$log" 2>/dev/null && return 0
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "$(basename "$log") did not start: $(head -c 600 "$log")" >&2
  return 1
}

make_test_certs() {
  command -v openssl >/dev/null || return 1
  (
    cd "$tmp" || exit 1
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
      -keyout ca.key -out ca.pem -days 2 -subj /CN=marketsim-ca &&
      openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
        -keyout node.key -out node.csr -subj /CN=node &&
      openssl x509 -req -in node.csr -CA ca.pem -CAkey ca.key -set_serial 1 -days 2 \
        -out node.pem
  ) >/dev/null 2>&1
}
