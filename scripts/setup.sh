#!/usr/bin/env bash
# Installs every Debian package the build, the tests and the benchmarks need on a
# fresh Debian 12 (run as root). Idempotent: does nothing when all are present.
set -euo pipefail

PACKAGES=(
  # build
  build-essential pkg-config meson ninja-build
  liburing-dev node-llhttp libssl-dev libxxhash-dev librocksdb-dev nlohmann-json3-dev zlib1g-dev libexpat1-dev
  # unit tests, sanitizers, fuzzing
  libgtest-dev libgmock-dev clang-19 libclang-rt-19-dev
  # micro-benchmarks
  libbenchmark-dev
  # integration tests: real clients
  curl python3 python3-pytest python3-boto3 python3-cryptography awscli
  # stock clients (tests/integration/test_clients_*.py): s3cmd, rclone, Go v2 SDK (offline GOPATH)
  s3cmd rclone golang-go golang-github-aws-aws-sdk-go-v2-dev
  # macro benchmarks: anchors and load (scripts/bench-http.sh, scripts/bench.sh, db_bench for
  # scripts/bench-store.sh), plots, profiling
  nginx-light wrk fio openssl gnuplot-nox linux-perf rocksdb-tools
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

# node and npm for the AWS SDK for JavaScript v3 (tests/integration/clients/node). A machine
# that already has node from another source (which brings its own npm) keeps it.
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)

# The JS SDK modules, exactly as package-lock.json pins them, when missing or out of date.
install_node_modules() {
  local dir
  dir="$(cd "$(dirname "$0")/.." && pwd)/tests/integration/clients/node"
  if [[ ! -f "$dir/node_modules/.package-lock.json" || "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]]; then
    echo "setup.sh: npm ci in $dir" >&2
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  fi
}

if ((${#missing[@]} == 0)); then
  install_node_modules
  exit 0
fi

if [[ $(id -u) -ne 0 ]]; then
  echo "setup.sh: missing packages: ${missing[*]}" >&2
  echo "setup.sh: run as root (or install them) and try again" >&2
  exit 1
fi

echo "setup.sh: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
install_node_modules
# nginx-light's package starts the system nginx on port 80; our benchmarks start
# their own instance, so leave the system one stopped.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet nginx 2>/dev/null; then
  systemctl stop nginx || true
fi
