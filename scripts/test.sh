#!/usr/bin/env bash
# Every test of mpic: installs what is missing, then
#  1. gcc build with -Werror, unit tests (cmocka via ctest), the offline deploy/terraform check,
#     the Debian packages (tests/package/test-package.sh);
#  2. clang build with AddressSanitizer + UndefinedBehaviorSanitizer: unit tests,
#     then the integration tests (real DNS lab, agents and orchestrator on loopback), then the
#     fault-injection suite (tests/faults: agents killed, hung or lying, resolvers failing, the
#     orchestrator restarted and its audit disk full, all under load; about 2 minutes);
#     then a smoke of the bench on the gcc build (seconds; fails on errors, never on times);
#  3. a bounded libFuzzer run of each parser fuzzer.
# The integration tests run at today's date, then those marked `phase` (their expectations change
# with the date) again with the daemons' clock at the dates around each BR change (PHASE_DATES).
# --date YYYY-MM-DD runs the whole integration suite once, with the daemons' clock at 00:00:00Z
# of that day (MPIC_TEST_CLOCK, daemon/clock.h; the sanitizer build has the test clock).
# usage: scripts/test.sh [--no-fuzz] [--unit-only] [--date YYYY-MM-DD]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
FUZZ=1
INTEGRATION=1
DATE=
# The day before and the day of the 2026-12-15 phase, and the day after the 2027-03-15 method sunsets.
PHASE_DATES="2026-12-14 2026-12-15 2027-03-16"
while [ $# -gt 0 ]; do
  case "$1" in
    --no-fuzz) FUZZ=0 ;;
    --unit-only) INTEGRATION=0 ;;
    --date) [ $# -ge 2 ] || { echo "test.sh: --date needs YYYY-MM-DD" >&2; exit 2; }; DATE=$2; shift ;;
    --date=*) DATE=${1#--date=} ;;
    *) echo "test.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
if [ -n "$DATE" ] && ! [[ $DATE =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}$ ]]; then
  echo "test.sh: --date $DATE: expected YYYY-MM-DD" >&2
  exit 2
fi
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
    dict="$ROOT/tests/fuzz/$name.dict"
    # New units go to the first (scratch) directory; the shipped seeds (tests/fuzz/seeds.py, minimised)
    # are only read. Crash files land in the scratch directory too.
    mkdir -p "$work/$name"
    LSAN_OPTIONS=suppressions="$ROOT/tests/fuzz/lsan.supp" "$f" -max_total_time=20 -rss_limit_mb=2048 -print_final_stats=0 -artifact_prefix="$work/" \
      $( [ -f "$dict" ] && echo "-dict=$dict" ) "$work/$name" \
      $( [ -d "$seeds" ] && echo "$seeds" ) 2>"$work/$name.log" \
      || { tail -40 "$work/$name.log"; exit 1; }
    echo "$name: 20 s, no crash ($(grep -o 'cov: [0-9]*' "$work/$name.log" | tail -1))"
  done
  rm -rf "$work"
fi

integration() {   # integration DATE|'' [PYTEST ARGS...] [--faults]: tests/integration, or tests/faults
  local date=$1 dir=$ROOT/tests/integration; shift
  if [ "${1:-}" = --faults ]; then dir=$ROOT/tests/faults; shift; fi
  MPIC_BUILD_DIR="$ROOT/build-asan" MPIC_TEST_CLOCK=${date:+${date}T00:00:00Z} \
    /usr/bin/python3 -m pytest -p no:cacheprovider -q "$@" "$dir"
}

if [ "$INTEGRATION" = 1 ]; then
  if [ -n "$DATE" ]; then
    echo "== integration tests (sanitized daemons), daemons' clock at $DATE"
    integration "$DATE"
    echo "== fault injection under load (sanitized daemons), daemons' clock at $DATE"
    integration "$DATE" --faults
  else
    echo "== integration tests (sanitized daemons)"
    integration ''
    for d in $PHASE_DATES; do
      echo "== date-dependent integration tests (-m phase), daemons' clock at $d"
      integration "$d" -m phase
    done
    echo "== fault injection under load (sanitized daemons; tests/faults, docs/reliability.md)"
    integration '' --faults
  fi

  echo "== bench smoke (bench/run.sh --smoke: every measurement once, no thresholds)"
  mkdir -p "$ROOT/bench/results"
  BUILD="$ROOT/build" "$ROOT/bench/run.sh" --smoke > "$ROOT/bench/results/smoke.log" 2>&1 \
    || { cat "$ROOT/bench/results/smoke.log"; exit 1; }
  tail -12 "$ROOT/bench/results/smoke.log"
fi
