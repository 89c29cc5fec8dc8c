#!/usr/bin/env bash
# Command (2) of the README: installs what is missing, builds everything, and
# runs every test. Ends with one line "tests: N passed, N failed".
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
builddir=${MARKETSIM_BUILD_DIR:-build}
"$root/scripts/build.sh"

status=0
meson test -C "$builddir" --print-errorlogs "$@" || status=$?

# meson's own summary is not a format CI reads; count from its JSON log.
log="$builddir/meson-logs/testlog.json"
if [ -f "$log" ]; then
  passed=$(grep -c '"result": "OK"' "$log" || true)
  failed=$(grep -vc '"result": "\(OK\|SKIP\)"' "$log" || true)
  skipped=$(grep -c '"result": "SKIP"' "$log" || true)
  echo "tests: ${passed} passed, ${failed} failed, ${skipped} skipped"
fi
exit "$status"
