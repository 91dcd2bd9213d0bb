#!/usr/bin/env bash
# Runs each libFuzzer target for a bounded time, seeded from fuzz/corpus/<target>/, growing a
# scratch corpus under BUILD_DIR. A crash is written to fuzz/crashes/; fix it, then add the
# input to fuzz/corpus/<target>/ as a regression file (replayed by `make test`).
# Usage: fuzz/run.sh BUILD_DIR [SECONDS]
set -euo pipefail
build=${1:-build-fuzz}; secs=${2:-60}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$here/crashes"
for t in form json_request authorization dkim dkim_key address raw_message smtp_reply smtp_session smtp_data template; do
  work="$build/corpus/$t"
  mkdir -p "$work"
  "$build/fuzz/${t}_fuzz" -max_total_time="$secs" -max_len=65536 -timeout=5 -rss_limit_mb=2048 \
    -artifact_prefix="$here/crashes/$t-" "$work" "$here/corpus/$t"
done
