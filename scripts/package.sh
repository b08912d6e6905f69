#!/usr/bin/env bash
# Builds the Debian packages mpic-orchestrator, mpic-agent and (when the CLI is part of
# the tree) mpic-cli into dist/, with CPack (cmake/packaging.cmake). Release build with
# debug information, stripped in the package, installed under /usr.
# usage: scripts/package.sh [--build DIR] [--out DIR]   (defaults: build-pkg, dist)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$ROOT/build-pkg
OUT=$ROOT/dist
while [ $# -gt 0 ]; do
  case "$1" in
    --build) BUILD=$2; shift ;;
    --out) OUT=$2; shift ;;
    *) echo "package.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
command -v dpkg-shlibdeps > /dev/null || { echo "package.sh: dpkg-shlibdeps missing (scripts/setup.sh installs dpkg-dev)" >&2; exit 1; }

cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_INSTALL_PREFIX=/usr -DMPIC_TESTS=OFF > /dev/null
cmake --build "$BUILD" -j"$(nproc)"
mkdir -p "$OUT"
rm -f "$OUT"/mpic-*.deb
# CPack's own scratch space stays in the build directory; only the packages land in OUT.
(cd "$BUILD" && cpack -G DEB -B "$BUILD/cpack" > "$BUILD/cpack.log" 2>&1) \
  || { cat "$BUILD/cpack.log" >&2; exit 1; }
mv "$BUILD"/cpack/mpic-*.deb "$OUT"/
for deb in "$OUT"/mpic-*.deb; do
  echo "$deb: $(dpkg-deb -f "$deb" Package Version Depends | paste -sd' ')"
done
