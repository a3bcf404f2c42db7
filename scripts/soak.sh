#!/usr/bin/env bash
# Crash soak: the SIGKILL crash test (tests/integration/test_crash.py) for as long as asked.
# Each round: concurrent PUTs (inline and file-backed), overwrites and DELETEs on two data dirs,
# SIGKILL at a random moment, offline fsck (no record without its data), restart (recovery),
# every acknowledged write read back byte-exact, graceful stop, fsck clean.
#   scripts/soak.sh [--minutes N] [--threads T] [--seed S] [--bin PATH]
# Default: 10 minutes with build/debug/src/mamute. Exit 0 when every round passed; the failing
# round, its seed and the server logs otherwise (kept under the printed pytest temp dir).
set -euo pipefail
cd "$(dirname "$0")/.."
minutes=10
threads=6
seed=""
bin=${MAMUTE_BIN:-}
while [[ $# -gt 0 ]]; do
  case $1 in
    --minutes) minutes=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --seed) seed=$2; shift 2 ;;
    --bin) bin=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
if [[ -z $bin ]]; then
  scripts/setup.sh
  scripts/build.sh build/debug --buildtype=debugoptimized
  bin=$PWD/build/debug/src/mamute
fi
export MAMUTE_BIN=$bin
export MAMUTE_CRASH_SECONDS=$((minutes * 60))
export MAMUTE_CRASH_THREADS=$threads
[[ -n $seed ]] && export MAMUTE_CRASH_SEED=$seed
exec /usr/bin/python3 -m pytest -q -s -p no:cacheprovider tests/integration/test_crash.py
