#!/usr/bin/env bash
# Installs what is missing, configures (once) and builds marketsim into build/.
# Usage: scripts/build.sh [ninja targets...]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

"$root/scripts/setup.sh"

builddir=${MARKETSIM_BUILD_DIR:-build}
if [ ! -f "$builddir/build.ninja" ]; then
  meson setup "$builddir" >/dev/null
fi
ninja -C "$builddir" "$@"
