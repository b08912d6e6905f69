#!/usr/bin/env bash
# Installs what mpic needs from Debian (only what is missing) and builds it.
# usage: scripts/setup.sh [--test-deps] [--no-build] [--build DIR]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD="$ROOT/build"
TEST_DEPS=0
DO_BUILD=1
while [ $# -gt 0 ]; do
  case "$1" in
    --test-deps) TEST_DEPS=1 ;;
    --no-build) DO_BUILD=0 ;;
    --build) BUILD=$2; shift ;;
    *) echo "setup.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done

# Build and run-time needs of the daemons and of the local cluster (DNS lab, certificates).
PKGS="build-essential dpkg-dev cmake pkg-config libevent-dev libldns-dev libjansson-dev libssl-dev
      libcurl4-openssl-dev libcmocka-dev libpcre2-dev libidn2-dev libhttp-parser-dev openssl curl ca-certificates knot knot-dnsutils unbound
      ldnsutils nginx-light python3 iproute2"
# Tests: sanitizers and fuzzing with clang, integration tests in Python, the offline
# Terraform check (tests/deploy/tfcheck) with Debian's Go and HashiCorp HCL sources; the bench's
# smoke: dnsperf (the resolver alone) and gnuplot (its plot).
[ "$TEST_DEPS" = 1 ] && PKGS="$PKGS clang libclang-rt-14-dev python3-pytest python3-pytest-timeout
      python3-requests python3-jsonschema python3-yaml python3-dnspython bind9-dnsutils
      golang-go golang-github-hashicorp-hcl-v2-dev dnsperf gnuplot-nox"

missing=()
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  SUDO=
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null || { echo "setup: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
    SUDO=sudo
  fi
  export DEBIAN_FRONTEND=noninteractive
  # The lab runs its own knot, unbound and nginx on chosen loopback addresses; Debian's
  # instances must not start on install and take :53 or :80 (policy-rc.d, exit 101 = "not now").
  policy=
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    policy=/usr/sbin/policy-rc.d
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
    $SUDO chmod 755 "$policy"
  fi
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" || { [ -z "$policy" ] || $SUDO rm -f "$policy"; exit 1; }
  [ -z "$policy" ] || $SUDO rm -f "$policy"
fi

if [ "$DO_BUILD" = 1 ]; then
  cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$BUILD" -j"$(nproc)"
fi
