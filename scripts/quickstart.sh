#!/usr/bin/env bash
# Command (1) of the README: installs what is missing, builds, and runs the
# default scenario (configs/default.yaml). Extra arguments go to `marketsim run`.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
"$root/scripts/build.sh" src/app/marketsim
exec "${MARKETSIM_BUILD_DIR:-build}/src/app/marketsim" run configs/default.yaml "$@"
