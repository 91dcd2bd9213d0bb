#!/usr/bin/env bash
# API benchmark (not a test): signed requests per second and latency for a read and a write,
# Sesame against moto's server mode (the peer, see ../shared/peers/README.md), measured in the
# same run with the same C++ load generator, interleaved, medians of RUNS runs.
#
# Workloads:
#   read:  Sesame v2 GetAccount            | moto: v1 GetSendQuota (moto has no v2 GetAccount)
#   write: Sesame v2 CreateEmailTemplate   | moto: v1 CreateTemplate (moto has no v2 CreateEmailTemplate)
#   and, for a like-for-like ratio, both servers on v1 GetSendQuota and v1 CreateTemplate.
# Env: RUNS=3 CALLS=20000 SECS=10 CONNS=8 API_WORKERS=16 MOTO_PYTHON=python3 (a Python with moto installed)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd); root=$(dirname "$here")
BUILD=${BUILD:-$root/build}; RUNS=${RUNS:-3}; CALLS=${CALLS:-20000}; SECS=${SECS:-10}; CONNS=${CONNS:-8}
MOTO_PYTHON=${MOTO_PYTHON:-python3}
LOAD=$BUILD/bench/api_load; SESAME=$BUILD/src/sesame
work=$(mktemp -d /tmp/sesame-bench.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
# shellcheck source=bench/lib.sh
source "$here/lib.sh"


sport=$(free_port)
sesame_config "$work/data" "$sport" "worker_threads = ${API_WORKERS:-16}"$'\n' > "$work/sesame.toml"
"$SESAME" serve --config "$work/sesame.toml" 2>"$work/sesame.log" & pids+=($!)
sesame_pid=$!
wait_http "$sport" _sesame/health
akid=$(sed -n 's/aws_access_key_id = //p' "$work/data/credentials")
secret=$(sed -n 's/aws_secret_access_key = //p' "$work/data/credentials")

have_moto=0
if "$MOTO_PYTHON" -c 'import moto.server' 2>/dev/null; then
  mport=$(free_port)
  "$MOTO_PYTHON" -m moto.server -H 127.0.0.1 -p "$mport" >"$work/moto.log" 2>&1 & pids+=($!)
  moto_pid=$!
  wait_http "$mport" "" && have_moto=1
else
  echo "moto is not installed for $MOTO_PYTHON: Sesame figures only, no ratio"
fi

declare -A R P99 CPU
run() {  # name port workload pid
  local before after line
  before=$(cpu_ms "$4")
  line=$("$LOAD" "127.0.0.1:$2" "$3" "$CONNS" "$CALLS" "$SECS" "$akid" "$secret" "$1-$RANDOM$RANDOM" || true)
  after=$(cpu_ms "$4")
  local calls; calls=$(field calls "$line")
  echo "  $1: $line server_cpu_ms_per_call=$(awk -v a="$after" -v b="$before" -v n="$calls" 'BEGIN{printf "%.3f", (n>0)?(a-b)/n:0}')"
  R[$1]="${R[$1]:-} $(field calls_per_s "$line")"; P99[$1]="${P99[$1]:-} $(field p99_ms "$line")"
}

echo "# api_bench $(date -u +%FT%TZ) runs=$RUNS calls<=$CALLS seconds<=$SECS connections=$CONNS"
for i in $(seq 1 "$RUNS"); do
  echo "run $i"
  run sesame-v2-GetAccount "$sport" v2-get-account "$sesame_pid"
  run sesame-v2-CreateEmailTemplate "$sport" v2-create-template "$sesame_pid"
  run sesame-v1-GetSendQuota "$sport" v1-get-send-quota "$sesame_pid"
  run sesame-v1-CreateTemplate "$sport" v1-create-template "$sesame_pid"
  if [ "$have_moto" = 1 ]; then
    run moto-v1-GetSendQuota "$mport" v1-get-send-quota "$moto_pid"
    run moto-v1-CreateTemplate "$mport" v1-create-template "$moto_pid"
  fi
done

echo "SUMMARY (medians of $RUNS runs)"
for k in sesame-v2-GetAccount sesame-v2-CreateEmailTemplate sesame-v1-GetSendQuota sesame-v1-CreateTemplate moto-v1-GetSendQuota moto-v1-CreateTemplate; do
  [ -n "${R[$k]:-}" ] || continue
  # shellcheck disable=SC2086
  printf '  %-32s calls_per_s=%-10s p99_ms=%s\n' "$k" "$(median ${R[$k]})" "$(median ${P99[$k]})"
done
if [ "$have_moto" = 1 ]; then
  # shellcheck disable=SC2086
  ratio() { awk -v a="$(median ${R[$1]})" -v b="$(median ${R[$2]})" 'BEGIN{printf "%.1f", (b>0)?a/b:0}'; }
  echo "RATIO read  (Sesame v2 GetAccount / moto v1 GetSendQuota):        $(ratio sesame-v2-GetAccount moto-v1-GetSendQuota)x  (target >= 20x)"
  echo "RATIO write (Sesame v2 CreateEmailTemplate / moto v1 CreateTemplate): $(ratio sesame-v2-CreateEmailTemplate moto-v1-CreateTemplate)x  (target >= 20x)"
  echo "RATIO like-for-like read  (v1 GetSendQuota):  $(ratio sesame-v1-GetSendQuota moto-v1-GetSendQuota)x"
  echo "RATIO like-for-like write (v1 CreateTemplate): $(ratio sesame-v1-CreateTemplate moto-v1-CreateTemplate)x"
fi
