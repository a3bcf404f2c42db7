#!/usr/bin/env bash
# Store benchmarks (issue #3), each a ratio against an anchor measured in the same run:
#   - durable 4 KiB (and 64 KiB) PUTs through ObjectIo + CommitQueue vs a file-per-object
#     store (create + write + fsync + rename + dir fsync) at the same concurrency;
#   - durable 4 KiB PUTs vs RocksDB's own synced-write rate with 8 writers (db_bench
#     fillrandom --sync --threads=8, Debian rocksdb-tools), 100 B and 4 KiB values;
#   - 16 MiB PUTs through ObjectIo (8 in flight), buffered, with write-behind and with O_DIRECT,
#     vs fio's sequential write (1 MiB blocks, fsync at the end: bench.sh's anchor),
#     alternated, median of 3 each;
#   - 16 MiB GETs through ObjectIo (XXH3 verified) vs fio's sequential read of 8 files of
#     16 MiB, same block size and depth, from the page cache and cold, median of 3 each;
#   - RocksDB synced writes: one writer (db_bench fillsync's shape) vs group commit;
#   - a delimiter listing of 1M keys under 1,000 prefixes vs a full scan (p50/p99 and CPU p50
#     over 200 runs; store_bench --runs to change), through the directory index and through the
#     seek path, alternated, with their ratio;
#   - the 4 KiB PUT with and without directory-index maintenance (on/off/on/off);
#   - buffered vs O_DIRECT writes of large objects (fio), the O_DIRECT decision in docs/storage.md.
#   scripts/bench-store.sh [--dir DIR] [--seconds S] [--concurrency C] [--keys N] [--out FILE]
# DIR must be on the disk being measured (default: a temp dir under /var/tmp, not a tmpfs).
set -euo pipefail
cd "$(dirname "$0")/.."
dir=""
seconds=5
conc=32
keys=1000000
out=/dev/stdout
build=${BUILD_DIR:-build/release}
while [[ $# -gt 0 ]]; do
  case $1 in
    --dir) dir=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --concurrency) conc=$2; shift 2 ;;
    --keys) keys=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
if [[ -z ${BUILD_DIR:-} ]]; then
  scripts/setup.sh
  scripts/build.sh "$build" --buildtype=release -Dtests=false
fi
ninja -C "$build" bench/store/store_bench >/dev/null
work=$(mktemp -d "${dir:-/var/tmp}/mamute-bench-store.XXXXXX")
trap 'rm -rf "$work"' EXIT

fs=$(df -T "$work" | awk 'NR==2 {print $2 " on " $1}')
{
  echo "$(date -u +%Y-%m-%d), commit $(git rev-parse --short HEAD), $(nproc) cores" \
       "($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), kernel $(uname -r), $fs."
  echo
  put_out=$("$build/bench/store/store_bench" "$work" put --seconds "$seconds" --concurrency "$conc")
  echo "$put_out"
  echo
  # RocksDB's own synced-write rate, 8 writer threads (db_bench fillrandom --sync), right after
  # the PUT run on the same disk; the 4 KiB PUT rate above against it.
  put4k=$(awk -F'|' '$2 ~ /^ 4096 B/ {gsub(/ /, "", $3); print $3}' <<<"$put_out")
  if command -v db_bench >/dev/null; then
    echo "| RocksDB db_bench fillrandom --sync=1 --threads=8 ($seconds s each) | db_bench ops/s | mamute 4 KiB PUT ops/s | ratio |"
    echo "|---|---:|---:|---:|"
    for vs in 100 4096; do
      rm -rf "$work/dbbench"
      ops=$(db_bench --benchmarks=fillrandom --sync=1 --threads=8 --value_size=$vs --key_size=16 \
              --num=10000000 --duration="$seconds" --compression_type=none --db="$work/dbbench" \
              2>/dev/null | awk '/^fillrandom/ {for (i = 1; i < NF; ++i) if ($(i+1) == "ops/sec") print $i}')
      printf '| %s B values | %.0f | %s | %.2fx |\n' "$vs" "${ops:-0}" "${put4k:-?}" \
        "$(python3 -c "print(${put4k:-0} / max(${ops:-0}, 1e-9))")"
    done
    rm -rf "$work/dbbench"
  else
    echo "db_bench not installed (Debian rocksdb-tools): the RocksDB anchor is skipped"
  fi
  echo
  if command -v fio >/dev/null; then
    # ObjectIo buffered (the default), buffered with write-behind, and with O_DIRECT
    # (--direct-io; preallocated), each against fio's sequential write, alternated round by
    # round so the four share the minutes.
    echo "| 16 MiB PUT vs sequential write ($seconds s each, alternated, median of 3) | MiB/s | ratio to fio |"
    echo "|---|---:|---:|"
    lp=(); lw=(); ld=(); fs=()
    large() {
      "$build/bench/store/store_bench" "$work" large --sizes 16777216 --concurrency 8 \
        --seconds "$seconds" "$@" | awk -F'|' '{gsub(/ MiB\/s| /, "", $4); print $4}'
      rm -rf "$work/large"
    }
    for round in 1 2 3; do
      lp+=("$(large --direct-io 0)")
      lw+=("$(large --direct-io 0 --write-behind 1)")
      ld+=("$(large --direct-io 1)")
      f=$(fio --name=seq --filename="$work/fio-seq" --bs=1m --size=2g --rw=write --end_fsync=1 \
            --runtime="$seconds" --output-format=json 2>/dev/null |
          python3 -c 'import json,sys; print(json.load(sys.stdin)["jobs"][0]["write"]["bw"]/1024)')
      rm -f "$work/fio-seq"
      fs+=("$f")
    done
    med() { printf '%s\n' "$@" | sort -g | sed -n 2p; }
    ml=$(med "${lp[@]}"); mw=$(med "${lw[@]}"); md=$(med "${ld[@]}"); mf=$(med "${fs[@]}")
    printf '| mamute ObjectIo, 16 MiB PUTs, 8 in flight, buffered (runs: %s) | %.1f | %.2fx |\n' "${lp[*]}" "$ml" \
      "$(python3 -c "print($ml / max($mf, 1e-9))")"
    printf '| mamute ObjectIo, 16 MiB PUTs, 8 in flight, buffered + write-behind (runs: %s) | %.1f | %.2fx |\n' "${lw[*]}" "$mw" \
      "$(python3 -c "print($mw / max($mf, 1e-9))")"
    printf '| mamute ObjectIo, 16 MiB PUTs, 8 in flight, O_DIRECT (runs: %s) | %.1f | %.2fx |\n' "${ld[*]}" "$md" \
      "$(python3 -c "print($md / max($mf, 1e-9))")"
    printf '| fio sequential write, 1 MiB blocks, end fsync (runs: %s) | %.1f | 1.00x |\n' \
      "$(printf '%.0f ' "${fs[@]}")" "$mf"
    echo
  fi
  if command -v fio >/dev/null; then
    # 16 MiB GETs (ObjectIo: 256 KiB reads on the ring, 2 ahead per GET, XXH3 over every byte)
    # vs fio reading 8 files of 16 MiB with the same block size and depth, from the page cache
    # and cold (mamute drops each file's cache before its GET; fio invalidates per loop).
    echo "| 16 MiB GET vs sequential read (8 in flight, alternated, median of 3) | mamute MiB/s | fio MiB/s | ratio |"
    echo "|---|---:|---:|---:|"
    gw=(); gc=(); fw=(); fc=()
    for round in 1 2 3; do
      gres=$("$build/bench/store/store_bench" "$work" large-get --sizes 16777216 --concurrency 8 \
              --seconds "$seconds")
      gw+=("$(awk -F'|' '/page cache,/ {gsub(/ MiB\/s| /, "", $4); print $4}' <<<"$gres")")
      gc+=("$(awk -F'|' '/cold/ {gsub(/ MiB\/s| /, "", $4); print $4}' <<<"$gres")")
      rm -rf "$work/large-get"
      mkdir -p "$work/fio-read"
      for inv in 0 1; do
        b=$(fio --name=seqr --directory="$work/fio-read" --rw=read --bs=256k --size=16m --numjobs=8 \
              --ioengine=io_uring --iodepth=2 --loops=8 --invalidate=$inv --group_reporting \
              --output-format=json 2>/dev/null |
            python3 -c 'import json,sys; print(json.load(sys.stdin)["jobs"][0]["read"]["bw"]/1024)')
        if [[ $inv == 0 ]]; then fw+=("$b"); else fc+=("$b"); fi
      done
      rm -rf "$work/fio-read"
    done
    for kind in warm cold; do
      if [[ $kind == warm ]]; then m=$(med "${gw[@]}"); f=$(med "${fw[@]}"); what="page cache"
      else m=$(med "${gc[@]}"); f=$(med "${fc[@]}"); what="cold (cache dropped per GET / per fio loop)"; fi
      printf '| %s | %.1f | %.1f | %.2fx |\n' "$what" "$m" "$f" "$(python3 -c "print($m / max($f, 1e-9))")"
    done
    echo
  fi
  "$build/bench/store/store_bench" "$work" fillsync --seconds "$seconds" --concurrency "$conc"
  echo
  "$build/bench/store/store_bench" "$work" list --keys "$keys" --prefixes 1000
  echo
  # Large-object writes as ObjectIo issues them: 256 KiB writes (its chunk size), 4 in flight
  # (its 1 MiB window) through io_uring, fsync at the end; buffered vs O_DIRECT, alternated.
  if command -v fio >/dev/null; then
    echo "| Large-object write, fio io_uring, 4 in flight, 256 KiB blocks, 256 MiB + fsync | MiB/s | CPU usr+sys % | ratio to buffered |"
    echo "|---|---:|---:|---:|"
    declare -A bw cpu
    for round in 1 2; do
      for mode in buffered direct; do
        d=0; [[ $mode == direct ]] && d=1
        json=$(fio --name=w --directory="$work" --rw=write --bs=256k --size=256m --ioengine=io_uring \
                   --iodepth=4 --direct=$d --end_fsync=1 --output-format=json 2>/dev/null)
        read -r b c < <(python3 -c 'import json,sys; j=json.load(sys.stdin)["jobs"][0]; print(j["write"]["bw"]/1024, j["usr_cpu"]+j["sys_cpu"])' <<<"$json")
        bw[$mode]="${bw[$mode]:-} $b"; cpu[$mode]="${cpu[$mode]:-} $c"
        rm -f "$work"/w.*
      done
    done
    best() { tr ' ' '\n' | grep -v '^$' | sort -g | tail -1; }
    bb=$(best <<<"${bw[buffered]}"); bd=$(best <<<"${bw[direct]}")
    cb=$(best <<<"${cpu[buffered]}"); cd=$(best <<<"${cpu[direct]}")
    printf '| buffered (page cache, then fsync) | %.0f | %.1f | 1.00x |\n' "$bb" "$cb"
    printf '| O_DIRECT | %.0f | %.1f | %.2fx |\n' "$bd" "$cd" "$(python3 -c "print($bd/$bb)")"
    echo
    echo "(best of 2 alternating runs each; CPU is fio's own, highest of the runs)"
  else
    echo "fio not installed: large-object buffered vs O_DIRECT skipped"
  fi
} > "$out"
