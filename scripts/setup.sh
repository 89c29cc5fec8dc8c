#!/usr/bin/env bash
# Installs, with apt-get, every Debian package marketsim needs to build, test and run.
# Idempotent: when nothing is missing it only asks dpkg and returns in about a second.
set -euo pipefail

packages=(
  g++ meson ninja-build pkg-config ccache git
  libcaf-dev
  libssl-dev openssl
  libboost-graph-dev
  libprotobuf-dev protobuf-compiler
  libsodium-dev
  libtbb-dev
  libspdlog-dev libfmt-dev
  catch2
  libyaml-cpp-dev
  libcli11-dev
  libbenchmark-dev
  iproute2
)

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
  [ "$status" = "installed" ] || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "setup: installing ${missing[*]}" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
