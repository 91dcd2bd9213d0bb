#!/usr/bin/env bash
# Runs each libFuzzer target for a bounded time over its corpus (new finds go to
# fuzz/corpus/<target>/ when they add coverage). Usage: fuzz/run.sh BUILD_DIR [SECONDS]
set -euo pipefail
build=${1:-build-fuzz}; secs=${2:-60}
here=$(cd "$(dirname "$0")" && pwd)
for t in form json_request authorization; do
  mkdir -p "$here/corpus/$t"
  "$build/fuzz/${t}_fuzz" -max_total_time="$secs" -max_len=65536 -timeout=5 "$here/corpus/$t"
done
