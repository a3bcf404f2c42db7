#!/usr/bin/env bash
# Installs what is missing, builds, runs every test:
#   1. unit tests (debug-optimized build)
#   2. unit tests again under ASan + UBSan
#   3. integration tests: the real binary on 127.0.0.1 driven by real clients, including a
#      smoke run of the load generator (tests/integration/test_load_smoke.py)
#   4. the same integration tests against the ASan + UBSan server (zero reports)
#   5. every libFuzzer target for a short bounded time (scripts/fuzz.sh; clang-19)
# Ends with one summary line "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh || exit 1

PY=/usr/bin/python3   # Debian's, with python3-pytest / python3-boto3 (not a pyenv one on PATH)
passed=0
failed=0
step() {  # step NAME CMD...
  local name=$1
  shift
  echo "=== $name"
  if "$@"; then
    echo "=== $name: ok"
    passed=$((passed + 1))
  else
    echo "=== $name: FAILED"
    failed=$((failed + 1))
  fi
}

build() {
  scripts/build.sh "$@"
}
unit() {  # unit BUILD_DIR
  meson test -C "$1" --print-errorlogs --num-processes 2
}
unit_sanitized() {  # unit tests with sanitizer reports fatal
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    meson test -C "$1" --print-errorlogs --num-processes 2 --timeout-multiplier 3
}

step "build (debugoptimized)" build build/debug --buildtype=debugoptimized
step "unit tests" unit build/debug
step "build (asan+ubsan)" build build/asan --buildtype=debug -Db_sanitize=address,undefined \
  -Db_lundef=false -Dbenchmarks=false
step "unit tests (asan+ubsan)" unit_sanitized build/asan
if [[ -d tests/integration ]] && ls tests/integration/test_*.py >/dev/null 2>&1; then
  step "integration tests" env MAMUTE_BIN="$PWD/build/debug/src/mamute" \
    MAMUTE_LOAD_BIN="$PWD/build/debug/bench/load/mamute-load" \
    "$PY" -m pytest -q -p no:cacheprovider tests/integration
  # Sanitizer reports are not fatal in the server (a test would only see a dropped
  # connection); conftest.py fails the run if any server log holds one.
  step "integration tests (asan+ubsan server)" env MAMUTE_BIN="$PWD/build/asan/src/mamute" MAMUTE_SANITIZED=1 \
    MAMUTE_LOAD_BIN="$PWD/build/debug/bench/load/mamute-load" \
    MAMUTE_CRASH_ROUNDS=5 ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
    "$PY" -m pytest -q -p no:cacheprovider tests/integration
fi
step "fuzz (20 s per target)" scripts/fuzz.sh 20

echo
echo "test.sh: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
