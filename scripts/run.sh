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

Try it:
  curl -s http://127.0.0.1:9001/healthz
  curl -s http://127.0.0.1:9001/metrics | head

Status of this build: the HTTP foundation is in place; S3 operations answer
501 NotImplemented (XML) and management routes beyond health/metrics answer 501
until they land (see the open issues and docs/).

MSG
exec build/release/src/mamute "$@"
