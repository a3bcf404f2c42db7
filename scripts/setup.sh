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
  # macro benchmarks: anchors and load (scripts/bench-http.sh, scripts/bench.sh), plots, profiling
  nginx-light wrk fio openssl gnuplot-nox linux-perf
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]} == 0)); then
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
# nginx-light's package starts the system nginx on port 80; our benchmarks start
# their own instance, so leave the system one stopped.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet nginx 2>/dev/null; then
  systemctl stop nginx || true
fi
