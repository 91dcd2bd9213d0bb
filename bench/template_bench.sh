#!/usr/bin/env bash
# Template benchmark (not a test), two parts, each against a peer measured in the same run:
#
# 1. Renders per second on one core of a realistic newsletter (about 5 KB of HTML, 20
#    variables, one {{#each}} over 10 items; bench/template_render.cpp writes it): Sesame's
#    renderer against handlebars.js 4.7.8 under node (bench/js/render_peer.mjs) with SES's
#    semantics (strict, noEscape). Both render the same input; the outputs must be identical.
#    Interleaved RUNS times; medians. Target: >= 200,000 renders/s.
# 2. Bulk sends of 50 destinations (each its own data, merged over the defaults), one
#    request at a time on one connection: Sesame's v2 SendBulkEmail and v1
#    SendBulkTemplatedEmail (deliver mode: rendered, DKIM-signed (RSA-2048), committed with
#    fsync and queued; the resolver points at a closed port, so delivery only defers and
#    does not compete for the CPU) against moto's v1 SendBulkTemplatedEmail (which neither
#    renders nor signs nor stores durably). Target: p99 < 50 ms.
# Env: RUNS=3 SECS=3 (per render run) CALLS=300 (per bulk run) MOTO_PYTHON=python3
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd); root=$(dirname "$here")
BUILD=${BUILD:-$root/build}; RUNS=${RUNS:-3}; SECS=${SECS:-3}; CALLS=${CALLS:-300}
MOTO_PYTHON=${MOTO_PYTHON:-python3}
SESAME=$BUILD/src/sesame; LOAD=$BUILD/bench/api_load; RENDER=$BUILD/bench/template_render
work=$(mktemp -d /tmp/sesame-tbench.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
# shellcheck source=bench/lib.sh
source "$here/lib.sh"

[ -d "$here/js/node_modules/handlebars" ] || (cd "$here/js" && npm ci --no-audit --no-fund --loglevel=error)

echo "# template_bench $(date -u +%FT%TZ) runs=$RUNS"
echo "## 1. renders per second, one core"
S=(); P=()
for i in $(seq 1 "$RUNS"); do
  s=$("$RENDER" "$work" "$SECS"); p=$(node "$here/js/render_peer.mjs" "$work" "$SECS")
  cmp -s "$work/sesame.out" "$work/peer.out" || { echo "outputs differ: Sesame and handlebars.js rendered different text" >&2; exit 1; }
  echo "  run $i sesame: $s"
  echo "  run $i handlebars.js: $p"
  S+=("$(field renders_per_s "$s")"); P+=("$(field renders_per_s "$p")")
done
sr=$(median "${S[@]}"); pr=$(median "${P[@]}")
echo "SUMMARY renders/s: sesame $sr handlebars.js $pr ratio $(awk -v a="$sr" -v b="$pr" 'BEGIN{printf "%.1f", a/b}')x (target >= 200000 renders/s: $(awk -v a="$sr" 'BEGIN{print (a>=200000)?"met":"NOT met"}'))"

echo "## 2. bulk sends, 50 destinations per request, one connection"
sport=$(free_port)
sesame_config "$work/data" "$sport" "$(printf '[dns]\nservers = ["127.0.0.1:%s"]\ntimeout_ms = 200\n' "$(free_port)")" > "$work/sesame.toml"
"$SESAME" serve --config "$work/sesame.toml" 2>"$work/sesame.log" & pids+=($!); sesame_pid=$!
wait_http "$sport" _sesame/health
akid=$(sed -n 's/aws_access_key_id = //p' "$work/data/credentials")
secret=$(sed -n 's/aws_secret_access_key = //p' "$work/data/credentials")
account=$(sed -n 's/.*created account \([0-9]\{12\}\).*/\1/p' "$work/sesame.log" | head -1)
[ -n "$account" ] || account=$(/usr/bin/python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("SELECT id FROM accounts ORDER BY created LIMIT 1").fetchone()[0])' "$work/data/sesame.db")
"$SESAME" account production --account "$account" --config "$work/sesame.toml" >/dev/null
"$SESAME" account quota --account "$account" --max-send-rate 1000000 --max-24-hour-send 100000000 --config "$work/sesame.toml" >/dev/null
export AWS_ACCESS_KEY_ID=$akid AWS_SECRET_ACCESS_KEY=$secret AWS_DEFAULT_REGION=us-east-1 AWS_PAGER="" \
  AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
aws sesv2 create-email-identity --email-identity bench.test --endpoint-url "http://127.0.0.1:$sport" >/dev/null
"$SESAME" identity verify --account "$account" bench.test --config "$work/sesame.toml" >/dev/null
/usr/bin/python3 - "$work" <<'PY'
import json, sys
w = sys.argv[1]
html = open(f"{w}/template.hbs").read()
content = {"Subject": "{{subject}}, {{user.firstName}}", "Html": html,
           "Text": "Hello {{user.firstName}},\n{{#each items}}{{title}}: {{price}} {{../currency}}\n{{/each}}"}
json.dump({"TemplateName": "bulk", "TemplateContent": content}, open(f"{w}/v2-template.json", "w"))
json.dump({"Template": {"TemplateName": "bulk", "SubjectPart": content["Subject"], "HtmlPart": html,
                        "TextPart": content["Text"]}}, open(f"{w}/v1-template.json", "w"))
PY
aws sesv2 create-email-template --cli-input-json "file://$work/v2-template.json" --endpoint-url "http://127.0.0.1:$sport" >/dev/null
BULK_DATA=$(cat "$work/data.json"); export BULK_DATA SEND_FROM=sender@bench.test

have_moto=0
if "$MOTO_PYTHON" -c 'import moto.server' 2>/dev/null; then
  mport=$(free_port)
  "$MOTO_PYTHON" -m moto.server -H 127.0.0.1 -p "$mport" >"$work/moto.log" 2>&1 & pids+=($!); moto_pid=$!
  wait_http "$mport" "" && have_moto=1
  aws ses verify-email-identity --email-address sender@bench.test --endpoint-url "http://127.0.0.1:$mport" >/dev/null
  aws ses create-template --cli-input-json "file://$work/v1-template.json" --endpoint-url "http://127.0.0.1:$mport" >/dev/null
else
  echo "moto is not installed for $MOTO_PYTHON: Sesame figures only, no ratio"
fi

declare -A R P50 P99
bulk() {  # name port workload pid
  local before after line calls
  before=$(cpu_ms "$4")
  line=$("$LOAD" "127.0.0.1:$2" "$3" 1 "$CALLS" 60 "$akid" "$secret" "$1-$RANDOM" || true)
  after=$(cpu_ms "$4")
  calls=$(field calls "$line")
  echo "  $1: $line server_cpu_ms_per_request=$(awk -v a="$after" -v b="$before" -v n="$calls" 'BEGIN{printf "%.2f", (n>0)?(a-b)/n:0}')"
  R[$1]="${R[$1]:-} $(field calls_per_s "$line")"; P50[$1]="${P50[$1]:-} $(field p50_ms "$line")"; P99[$1]="${P99[$1]:-} $(field p99_ms "$line")"
}
for i in $(seq 1 "$RUNS"); do
  echo "run $i"
  bulk sesame-v2-SendBulkEmail "$sport" v2-send-bulk "$sesame_pid"
  bulk sesame-v1-SendBulkTemplatedEmail "$sport" v1-send-bulk "$sesame_pid"
  [ "$have_moto" = 1 ] && bulk moto-v1-SendBulkTemplatedEmail "$mport" v1-send-bulk "$moto_pid"
done
echo "SUMMARY (medians of $RUNS runs; one request at a time)"
for k in sesame-v2-SendBulkEmail sesame-v1-SendBulkTemplatedEmail moto-v1-SendBulkTemplatedEmail; do
  [ -n "${R[$k]:-}" ] || continue
  # shellcheck disable=SC2086
  printf '  %-34s requests_per_s=%-8s p50_ms=%-8s p99_ms=%s\n' "$k" "$(median ${R[$k]})" "$(median ${P50[$k]})" "$(median ${P99[$k]})"
done
# shellcheck disable=SC2086
p99=$(median ${P99[sesame-v2-SendBulkEmail]})
echo "TARGET SendBulkEmail (50 destinations) p99 < 50 ms: ${p99} ms $(awk -v a="$p99" 'BEGIN{print (a<50)?"met":"NOT met"}')"
if [ "$have_moto" = 1 ]; then
  # shellcheck disable=SC2086
  echo "RATIO bulk requests/s (Sesame v1 / moto v1 SendBulkTemplatedEmail): $(awk -v a="$(median ${R[sesame-v1-SendBulkTemplatedEmail]})" -v b="$(median ${R[moto-v1-SendBulkTemplatedEmail]})" 'BEGIN{printf "%.1f", (b>0)?a/b:0}')x"
fi
