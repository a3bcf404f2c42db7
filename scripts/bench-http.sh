#!/usr/bin/env bash
# HTTP foundation benchmark: mamute's trivial route against nginx serving a static
# file of the same size, same worker count, same load (wrk), in one run.
#   scripts/bench-http.sh [--duration S] [--connections N] [--out FILE]
# Writes a Markdown section (figures and ratios) to FILE (default: stdout).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bench-lib.sh
duration=10
conns=64
out=/dev/stdout
while [[ $# -gt 0 ]]; do
  case $1 in
    --duration) duration=$2; shift 2 ;;
    --connections) conns=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
scripts/setup.sh
scripts/build.sh build/release --buildtype=release -Dtests=false -Dbenchmarks=false

bench_setup
mport=$(bench_free_port); aport=$(bench_free_port); nport=$(bench_free_port)
threads=$((cores > 1 ? cores : 1))

# nginx: same number of workers, static files of the same sizes, access log off.
bench_nginx "$work" "$nport" "$workers" 0 4096 16777216

api_key="mk_bench_$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
MAMUTE_API_KEY=$api_key MAMUTE_ADMIN_PASSWORD=bench-password-not-secret \
build/release/src/mamute --data-dir "$work/data" --s3-listen 127.0.0.1:$mport --api-listen 127.0.0.1:$aport \
  --data-cores $workers --test-routes=true --access-log=false --log-level=warn &
mpid=$!
bench_wait_healthy "$aport"

s3_presigned_get() {  # SIZE → a presigned GET URL of an object of SIZE bytes in a fresh bucket
  local size=$1 bucket_json cred_json
  bucket_json=$(curl -sf -X POST "http://127.0.0.1:$aport/storage/object-storage/buckets" -H "X-API-Key: $api_key" \
    -H 'content-type: application/json' -d "{\"name\": \"bench-$size\", \"storage_class\": \"Standard\"}")
  local bucket_id
  bucket_id=$(/usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])' <<<"$bucket_json")
  cred_json=$(curl -sf -X POST "http://127.0.0.1:$aport/storage/object-storage/buckets/$bucket_id/credentials" \
    -H "X-API-Key: $api_key" -H 'content-type: application/json')
  BENCH_CRED=$cred_json BENCH_PORT=$mport BENCH_SIZE=$size /usr/bin/python3 - <<'PY'
import json, os, boto3
from botocore.config import Config
c = json.loads(os.environ["BENCH_CRED"])
size = int(os.environ["BENCH_SIZE"])
s3 = boto3.client("s3", endpoint_url="http://127.0.0.1:%s" % os.environ["BENCH_PORT"], region_name="us-east-1",
                  aws_access_key_id=c["access_key_id"], aws_secret_access_key=c["secret_access_key"],
                  config=Config(s3={"addressing_style": "path"}, signature_version="s3v4"))
bucket = "bench-%d" % size
s3.put_object(Bucket=bucket, Key="obj", Body=b"x" * size)
print(s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "obj"}, ExpiresIn=3600))
PY
}

{
  echo "### HTTP foundation: trivial route vs nginx static file"
  echo
  echo "$(date -u +%Y-%m-%d), commit $(git rev-parse --short HEAD 2>/dev/null || echo '?'), $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), kernel $(uname -r)."
  echo "wrk -t$threads -c$conns -d${duration}s on 127.0.0.1; mamute with $workers data shard(s) (+1 management shard), nginx with $workers worker(s), access logs off."
  echo
  echo "| Response | mamute req/s | nginx req/s | ratio | mamute p50 / p99 (ms) | nginx p50 / p99 (ms) |"
  echo "|---|---:|---:|---:|---:|---:|"
  for size in 0 4096; do
    read -r m_rps m_p50 m_p99 < <(run_wrk "http://127.0.0.1:$mport/_test/bytes?n=$size")
    read -r n_rps n_p50 n_p99 < <(run_wrk "http://127.0.0.1:$nport/$size")
    ratio=$(awk -v a="$m_rps" -v b="$n_rps" 'BEGIN { printf "%.2f", a / b }')
    echo "| $size B trivial route | $m_rps | $n_rps | ${ratio}x | $(to_ms "$m_p50") / $(to_ms "$m_p99") | $(to_ms "$n_p50") / $(to_ms "$n_p99") |"
  done
  # S3 GetObject of a 4 KiB object with SigV4 (a presigned URL: every request is verified,
  # the credential looked up, the object read) against nginx's static 4 KiB file.
  url=$(s3_presigned_get 4096)
  read -r m_rps m_p50 m_p99 < <(run_wrk "$url")
  read -r n_rps n_p50 n_p99 < <(run_wrk "http://127.0.0.1:$nport/4096")
  ratio=$(awk -v a="$m_rps" -v b="$n_rps" 'BEGIN { printf "%.2f", a / b }')
  echo "| 4096 B S3 GetObject, SigV4 presigned | $m_rps | $n_rps | ${ratio}x | $(to_ms "$m_p50") / $(to_ms "$m_p99") | $(to_ms "$n_p50") / $(to_ms "$n_p99") |"
  # 16 MiB: streamed from a data file through the ring (XXH3-verified) vs nginx sendfile.
  url=$(s3_presigned_get 16777216)
  read -r m_rps m_p50 m_p99 < <(conns=8 run_wrk "$url")
  read -r n_rps n_p50 n_p99 < <(conns=8 run_wrk "http://127.0.0.1:$nport/16777216")
  ratio=$(awk -v a="$m_rps" -v b="$n_rps" 'BEGIN { printf "%.2f", a / b }')
  mbs=$(awk -v a="$m_rps" 'BEGIN { printf "%.0f", a * 16 }')
  nbs=$(awk -v a="$n_rps" 'BEGIN { printf "%.0f", a * 16 }')
  echo "| 16 MiB S3 GetObject, SigV4 presigned, 8 connections | $m_rps ($mbs MiB/s) | $n_rps ($nbs MiB/s) | ${ratio}x | $(to_ms "$m_p50") / $(to_ms "$m_p99") | $(to_ms "$n_p50") / $(to_ms "$n_p99") |"
  echo
} > "$out"
