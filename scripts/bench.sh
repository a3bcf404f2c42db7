#!/usr/bin/env bash
# S3 macro benchmark (issue 7): mamute under the load generator (bench/load, mamute-load) and
# its anchors, in one run on 127.0.0.1, every figure a ratio to an anchor measured in that run:
#   GET 0 B / 4 KiB / 1 MiB / 16 MiB   mamute (SigV4 header auth)  vs nginx static files,
#                                       both driven by mamute-load (--anchor-url for nginx)
#   PUT (durable) same sizes            vs fio: a file-per-object fsync'd store (4 KiB files,
#                                       create + write + fsync, same concurrency) and the
#                                       device's sequential write rate
#   LIST on a large bucket, mixed (warp's 45/30/15/10), multipart (skipped on 501)
#   hashing                             openssl speed (MD5, SHA-256) for PUT's per-byte cost
#   with --rgw: GET/PUT 0 B and 4 KiB, HEAD, mixed   vs Ceph RGW (radosgw, Beast frontend) on a
#                                       single-node Ceph cluster from Debian's packages, started
#                                       by scripts/bench-rgw.sh (installed on demand), each pair
#                                       run back to back with the same client and connections
#
#   scripts/bench.sh [--duration S] [--build DIR] [--out FILE] [--profile]
#                    [--rgw | --rgw-only] [--rgw-store bluestore|memstore] [--help]
# --out FILE (default docs/benchmarks.md): the section between the "bench.sh" markers is
# replaced (appended when absent); plots go to docs/img/. --profile records GET 4 KiB and PUT
# 4 KiB runs with perf and adds the hottest symbols. --rgw adds the Ceph RGW comparison (its
# own section, between the "bench.sh --rgw" markers); --rgw-only runs only that comparison
# and leaves the main section as it is. --rgw-store: the OSD's object store, bluestore on a
# sparse file in the temp dir (default: durable, as mamute's PUT) or memstore (RAM, not
# durable). The Ceph daemons are children of this script, configured under its temp dir, and
# killed on exit; a failed bring-up prints the daemon's log tail and makes the exit non-zero.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bench-lib.sh
duration=10
build=build/release
out=docs/benchmarks.md
profile=false
list_objects=10000
rgw=false
rgw_only=false
rgw_store=bluestore
while [[ $# -gt 0 ]]; do
  case $1 in
    --help | -h) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    --duration) duration=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --profile) profile=true; shift ;;
    --list-objects) list_objects=$2; shift 2 ;;
    --rgw) rgw=true; shift ;;
    --rgw-only) rgw=true; rgw_only=true; shift ;;
    --rgw-store)
      case ${2:-} in bluestore | memstore) rgw_store=$2 ;;
        *) echo "--rgw-store: bluestore or memstore" >&2; exit 2 ;; esac
      shift 2 ;;
    *) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
source scripts/bench-rgw.sh
if $rgw; then
  rgw_install
fi
scripts/setup.sh
scripts/build.sh "$build" --buildtype=release -Dtests=false -Dbenchmarks=true
load=$build/bench/load/mamute-load
if [[ ! -x $load ]]; then  # a build dir configured by bench-http.sh has -Dbenchmarks=false
  meson configure "$build" -Dbenchmarks=true >/dev/null
  ninja -C "$build" >/dev/null
fi
PY=/usr/bin/python3

bench_setup
mport=$(bench_free_port); aport=$(bench_free_port); nport=$(bench_free_port)
res=$work/res
mkdir -p "$res"
cut -d' ' -f1-3 /proc/loadavg > "$res/loadavg-start"  # the report says how busy the machine was

# --- nginx: static files of the same sizes, same worker count, access log off.
$rgw_only || bench_nginx "$work" "$nport" "$workers" 0 4096 1048576 16777216

# --- mamute: fresh data dir, one bucket and a credential scoped to it.
api_key="mk_bench_$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
MAMUTE_API_KEY=$api_key MAMUTE_ADMIN_PASSWORD=bench-password-not-secret \
  "$build/src/mamute" --data-dir "$work/data" --s3-listen 127.0.0.1:$mport \
  --api-listen 127.0.0.1:$aport --data-cores $workers --access-log=false --log-level=warn &
mpid=$!
bench_wait_healthy "$aport"
bucket=bench
bucket_id=$(curl -sf -X POST "http://127.0.0.1:$aport/storage/object-storage/buckets" \
  -H "X-API-Key: $api_key" -H 'content-type: application/json' \
  -d "{\"name\": \"$bucket\", \"storage_class\": \"Standard\"}" |
  $PY -c 'import json,sys; print(json.load(sys.stdin)["id"])')
cred=$(curl -sf -X POST "http://127.0.0.1:$aport/storage/object-storage/buckets/$bucket_id/credentials" \
  -H "X-API-Key: $api_key" -H 'content-type: application/json')
export AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY
AWS_ACCESS_KEY_ID=$($PY -c 'import json,sys; print(json.load(sys.stdin)["access_key_id"])' <<<"$cred")
AWS_SECRET_ACCESS_KEY=$($PY -c 'import json,sys; print(json.load(sys.stdin)["secret_access_key"])' <<<"$cred")

# run NAME ARGS...: one mamute-load run; the JSON goes to $res/NAME.json. A run with errors
# is kept (the report shows the errors instead of a figure), never reported as throughput.
run() {
  local name=$1
  shift
  echo "--- $name" >&2
  "$load" --no-progress --duration "${duration}s" --json "$res/$name.json" "$@" >&2 ||
    echo "{\"failed\": true}" > "$res/$name.json"
}
s3() {  # s3 NAME ARGS...: against mamute
  local name=$1
  shift
  run "$name" --endpoint "http://127.0.0.1:$mport" --bucket "$bucket" --prefix "$name/" "$@"
}
anchor_get() {  # anchor_get NAME SIZE CONNS [ARGS...]
  local name=$1 size=$2 conns=$3
  shift 3
  run "$name" --op get --anchor-url "http://127.0.0.1:$nport/$size" --concurrency "$conns" "$@"
}
conns_for() {  # connections per object size: many for small objects, few for large
  case $1 in 0 | 4096) echo 64 ;; 1048576) echo 16 ;; *) echo 8 ;; esac
}
objects_for() {
  case $1 in 0 | 4096) echo 1000 ;; 1048576) echo 64 ;; *) echo 16 ;; esac
}

report() {
  mkdir -p docs/img
  BENCH_RES=$res BENCH_OUT=$out BENCH_DURATION=$duration BENCH_WORKERS=$workers \
    BENCH_COMMIT=$(git rev-parse --short HEAD 2>/dev/null || echo '?') \
    BENCH_LIST_OBJECTS=$list_objects BENCH_RGW_ONLY=$rgw_only $PY scripts/bench_report.py
  echo "bench.sh: wrote $out" >&2
}

# Warm-up (not reported): the first seconds after start-up run slower on both servers.
s3 warmup --op get --size 4096 --concurrency 16 --objects 200 --duration 2s
$rgw_only || anchor_get warmup-nginx 4096 16 --duration 2s

# --- Ceph RGW, first, so that its daemons are gone before the main runs. Each small-object
# workload runs against mamute and then RGW back to back (rgw-m-* and rgw-r-*), with the
# Ceph daemons up for both: the same client, connections and background load.
rgw_ok=true
if $rgw; then
  cut -d' ' -f1-3 /proc/loadavg > "$res/rgw-loadavg-start"
  if rgw_start "$work/ceph" "$rgw_store"; then
    ceph-osd --version | awk '{print $3}' > "$res/rgw-version"
    echo "$rgw_store" > "$res/rgw-store"
    against_rgw() {  # against_rgw NAME ARGS...: a mamute-load run against radosgw
      local name=$1
      shift
      run "$name" --endpoint "$rgw_endpoint" --bucket "$rgw_bucket" --prefix "$name/" \
        --access-key "$rgw_access_key" --secret-key "$rgw_secret_key" "$@"
    }
    against_rgw rgw-warmup --op get --size 4096 --concurrency 16 --objects 200 --duration 2s
    for pair in "get-0 --op get --size 0" "get-4096 --op get --size 4096" \
      "put-0 --op put --size 0" "put-4096 --op put --size 4096" \
      "stat-4096 --op stat --size 4096" "mixed --op mixed --size 4096"; do
      read -r name args <<<"$pair"
      # shellcheck disable=SC2086  # $args is a list of options
      s3 "rgw-m-$name" $args --concurrency 64 --objects 1000 --payload unsigned
      # shellcheck disable=SC2086
      against_rgw "rgw-r-$name" $args --concurrency 64 --objects 1000 --payload unsigned
    done
    cut -d' ' -f1-3 /proc/loadavg > "$res/rgw-loadavg-end"
  else
    rgw_ok=false
    echo "bench.sh: Ceph RGW bring-up failed (above); no RGW figures" >&2
  fi
  rgw_stop
  if $rgw_only; then
    $rgw_ok || exit 1
    report
    exit 0
  fi
fi

sizes=(0 4096 1048576 16777216)
for size in "${sizes[@]}"; do
  c=$(conns_for "$size")
  s3 "get-$size" --op get --size "$size" --concurrency "$c" --objects "$(objects_for "$size")"
  anchor_get "nginx-get-$size" "$size" "$c"
done
# Cross-check with wrk (2 epoll threads, as scripts/bench-http.sh) on the same objects: a
# presigned URL (SigV4 verified on every request) against the same nginx file.
threads=$cores
for pair in "4096 64" "16777216 8"; do
  read -r size conns <<<"$pair"
  url=$("$load" --endpoint "http://127.0.0.1:$mport" --bucket "$bucket" --op get --size "$size" \
    --objects 1 --prefix "get-$size/" --no-prepare --print-url)
  echo "--- wrk-$size" >&2
  read -r m_rps m_p50 m_p99 < <(run_wrk "$url")
  read -r n_rps n_p50 n_p99 < <(run_wrk "http://127.0.0.1:$nport/$size")
  printf '{"conns": %s, "mamute": ["%s", "%s", "%s"], "nginx": ["%s", "%s", "%s"]}\n' "$conns" \
    "$m_rps" "$(to_ms "$m_p50")" "$(to_ms "$m_p99")" "$n_rps" "$(to_ms "$n_p50")" "$(to_ms "$n_p99")" \
    > "$res/wrk-$size.json"
done

# The client runs one thread per connection: the same pair with 8 connections shows how much
# the client's own CPU share moves the ratio.
s3 get-4096-c8 --op get --size 4096 --concurrency 8 --objects 1000 --prefix get-4096/ --no-prepare
anchor_get nginx-get-4096-c8 4096 8
for size in "${sizes[@]}"; do
  s3 "put-$size" --op put --size "$size" --concurrency "$(conns_for "$size")" --payload unsigned
done
s3 put-4096-signed --op put --size 4096 --concurrency 64 --payload signed
s3 put-1048576-chunked --op put --size 1048576 --concurrency 16 --payload chunked
s3 get-4096-presigned --op get --size 4096 --concurrency 64 --objects 1000 --presign
s3 stat-4096 --op stat --size 4096 --concurrency 64 --objects 1000
s3 list --op list --size 0 --concurrency 8 --objects "$list_objects"
s3 mixed --op mixed --size 4096 --concurrency 64 --objects 1000
s3 delete --op delete --size 0 --concurrency 64 --objects 5000
s3 multipart --op multipart --part-size 5MiB --parts 2 --concurrency 8

if $profile && command -v perf >/dev/null; then
  # The objects of the get-4096 run are there already: profile the steady state only.
  profile() {  # profile NAME ARGS...: one more mamute-load run with perf recording mamute
    local name=$1
    shift
    echo "--- profile: $name" >&2
    perf record -F 499 -g -o "$work/perf-$name.data" -p "$mpid" -- sleep "$duration" >/dev/null 2>&1 &
    local perf_pid=$!
    s3 "$name" "$@"
    wait "$perf_pid" || true
    perf report -i "$work/perf-$name.data" --no-children -g none --sort dso,symbol \
      --percent-limit 1.5 --stdio 2>/dev/null | grep -E '^ +[0-9.]+%' | head -20 |
      sed -E 's/[[:space:]]+(-[[:space:]]+-)?[[:space:]]*$//' > "$res/profile-$name.txt" || true
  }
  profile get-4096-profiled --op get --size 4096 --concurrency 64 --objects 1000 \
    --prefix get-4096/ --no-prepare
  profile put-4096-profiled --op put --size 4096 --concurrency 64 --payload unsigned
fi

# --- anchors that are not HTTP: the device (fio) and hashing (openssl speed).
fio_json() { fio --output-format=json "$@" 2>/dev/null; }
mkdir -p "$work/fio-obj"
# A file-per-object store: each object a new 4 KiB file, written and fsync'd, with as many
# writers as mamute had connections.
fio_json --name=file-per-object --directory="$work/fio-obj" --thread --numjobs=64 --nrfiles=4000 \
  --filesize=4k --bs=4k --rw=write --fsync=1 --create_on_open=1 --openfiles=1 \
  --file_service_type=sequential --fallocate=none --runtime="$duration" --group_reporting \
  > "$res/fio-objects.json" || echo '{}' > "$res/fio-objects.json"
rm -rf "$work/fio-obj"
# One writer, 4 KiB fdatasync'd appends: the device's sync latency.
fio_json --name=fdatasync --filename="$work/fio-sync" --bs=4k --size=256m --rw=write --fdatasync=1 \
  --runtime="$duration" --time_based > "$res/fio-fdatasync.json" || echo '{}' > "$res/fio-fdatasync.json"
rm -f "$work/fio-sync"
# Sequential 1 MiB writes through the page cache, fsync'd at the end.
fio_json --name=sequential --filename="$work/fio-seq" --bs=1m --size=2g --rw=write --end_fsync=1 \
  --runtime="$duration" > "$res/fio-seq.json" || echo '{}' > "$res/fio-seq.json"
rm -f "$work/fio-seq"
for alg in md5 sha256; do
  openssl speed -seconds 1 -bytes 16384 -mr -evp "$alg" 2>/dev/null | awk -F: '/^\+F:/ {print $4}' \
    > "$res/openssl-$alg.txt" || true
done

report
$rgw_ok
