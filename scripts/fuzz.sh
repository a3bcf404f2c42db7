#!/usr/bin/env bash
# Builds the libFuzzer targets (clang-19, ASan + UBSan + fuzzer coverage) and runs each one
# for a bounded time on its checked-in seed corpus.
#   scripts/fuzz.sh [SECONDS_PER_TARGET=60] [TARGET...]
# New inputs found go to build/fuzz/corpora/<target>/ (not into the checked-in seeds);
# a crash leaves build/fuzz/artifacts/<target>/crash-* and fails the script: turn it into a
# regression test and a seed under tests/fuzz/corpora/<target>/.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
seconds=${1:-60}
shift || true
dir=build/fuzz
if [[ ! -f $dir/build.ninja ]]; then
  CC=clang-19 CXX=clang++-19 meson setup "$dir" --buildtype=debugoptimized -Dfuzz=true -Dtests=false \
    -Dbenchmarks=false -Db_sanitize=address,undefined -Db_lundef=false >/dev/null
fi
ninja -C "$dir" -j"$(nproc)" >/dev/null
targets=("$@")
if ((${#targets[@]} == 0)); then
  for f in tests/fuzz/*_fuzz.cc; do targets+=("$(basename "$f" .cc)"); done
fi
status=0
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
for t in "${targets[@]}"; do
  mkdir -p "$dir/corpora/$t" "$dir/artifacts/$t" "tests/fuzz/corpora/$t"
  echo "fuzz.sh: $t for ${seconds}s"
  if ! "$dir/tests/fuzz/$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
      -print_final_stats=1 -artifact_prefix="$dir/artifacts/$t/" \
      "$dir/corpora/$t" "tests/fuzz/corpora/$t" >"$dir/$t.log" 2>&1; then
    echo "fuzz.sh: $t FAILED (log: $dir/$t.log; artifacts: $dir/artifacts/$t/)" >&2
    tail -40 "$dir/$t.log" >&2
    status=1
  else
    grep -E "^stat::number_of_executed_units|^stat::new_units_added" "$dir/$t.log" | tr '\n' ' '
    echo
  fi
done
exit $status
