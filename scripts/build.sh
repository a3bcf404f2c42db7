#!/usr/bin/env bash
# Configures (once) and builds one build directory.
#   scripts/build.sh DIR [meson setup options...]
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:?build dir}
shift
if [[ ! -f "$dir/build.ninja" ]]; then
  meson setup "$dir" "$@" >/dev/null
fi
ninja -C "$dir" -j"$(nproc)" >/dev/null
