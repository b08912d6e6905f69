#!/usr/bin/env bash
# Every test of mpic: installs what is missing, then
#  1. gcc build with -Werror, unit tests (cmocka via ctest), the offline deploy/terraform check,
#     the Debian packages (tests/package/test-package.sh);
#  2. clang build with AddressSanitizer + UndefinedBehaviorSanitizer: unit tests,
#     then the integration tests (real DNS lab, agents and orchestrator on loopback);
#  3. a bounded libFuzzer run of each parser fuzzer.
# usage: scripts/test.sh [--no-fuzz] [--unit-only]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
FUZZ=1
INTEGRATION=1
for a in "$@"; do
  case "$a" in
    --no-fuzz) FUZZ=0 ;;
    --unit-only) INTEGRATION=0 ;;
    *) echo "test.sh: unknown option $a" >&2; exit 2 ;;
  esac
done
cd "$ROOT"
"$ROOT/scripts/setup.sh" --test-deps --no-build
JOBS=$(nproc)

echo "== gcc build (-Werror) and unit tests"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$JOBS"
ctest --test-dir build --output-on-failure

echo "== deploy/terraform (offline: HCL format and consistency, rendered configurations pass -t)"
tests/deploy/check-terraform.sh build

if [ "$INTEGRATION" = 1 ]; then
  echo "== Debian packages (build, install, a cluster of the packaged daemons, purge; root only)"
  tests/package/test-package.sh
fi

echo "== clang build with ASan + UBSan"
cmake -S . -B build-asan -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug -DMPIC_SANITIZE=ON -DMPIC_FUZZ=ON >/dev/null
cmake --build build-asan -j"$JOBS"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:halt_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
ctest --test-dir build-asan --output-on-failure

if [ "$FUZZ" = 1 ]; then
  echo "== fuzzing (bounded)"
  work=$(mktemp -d)
  for f in build-asan/fuzz_*; do
    [ -x "$f" ] || continue
    name=$(basename "$f")
    seeds="$ROOT/tests/fuzz/corpus/$name"
    # New units go to the first (scratch) directory; the shipped seeds are only read.
    mkdir -p "$work/$name"
    "$f" -max_total_time=20 -rss_limit_mb=2048 -print_final_stats=0 "$work/$name" \
      $( [ -d "$seeds" ] && echo "$seeds" ) 2>"$work/$name.log" \
      || { tail -40 "$work/$name.log"; exit 1; }
    echo "$name: 20 s, no crash"
  done
  rm -rf "$work"
fi

if [ "$INTEGRATION" = 1 ]; then
  echo "== integration tests (sanitized daemons)"
  MPIC_BUILD_DIR="$ROOT/build-asan" /usr/bin/python3 -m pytest -p no:cacheprovider -q "$ROOT/tests/integration"
fi
