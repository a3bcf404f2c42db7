#!/usr/bin/env bash
# Installs what is missing, builds a release and starts mamute on its embedded
# defaults: data in ./data, S3 on 127.0.0.1:9000, management API on 127.0.0.1:9001.
# Extra arguments go to mamute (see `build/release/src/mamute --help`).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
echo "run.sh: building release..." >&2
scripts/build.sh build/release --buildtype=release -Dtests=false -Dbenchmarks=false
cat >&2 <<'MSG'

mamute is starting (Ctrl-C to stop).

  S3 endpoint        http://127.0.0.1:9000   (path-style, region us-east-1)
  Management API     http://127.0.0.1:9001   (GET /healthz, GET /metrics)
  Data directory     ./data

The first start on an empty ./data prints the admin password and the project
API key once (or set MAMUTE_API_KEY / MAMUTE_ADMIN_PASSWORD beforehand). Then:

  export MAMUTECLOUD_API_KEY=<the key printed below>
  curl -X POST http://127.0.0.1:9001/storage/object-storage/buckets \
    -H "X-API-Key: $MAMUTECLOUD_API_KEY" -H "content-type: application/json" \
    -d '{"name": "my-app-uploads", "storage_class": "Standard"}'
  curl -X POST http://127.0.0.1:9001/storage/object-storage/buckets/<BUCKET_ID>/credentials \
    -H "X-API-Key: $MAMUTECLOUD_API_KEY" -H "content-type: application/json"
  # then any S3 client: endpoint http://127.0.0.1:9000, region us-east-1, path-style,
  # with the access_key_id / secret_access_key from the last answer.

  curl -s http://127.0.0.1:9001/healthz
  curl -s http://127.0.0.1:9001/metrics | head

See docs/s3.md for the S3 operations served (others answer 501 NotImplemented).

MSG
exec build/release/src/mamute "$@"
