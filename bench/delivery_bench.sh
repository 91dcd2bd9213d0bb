#!/usr/bin/env bash
# End-to-end delivery benchmark (not a test). In one invocation, interleaved, RUNS times:
#   Sesame:   signed v2 SendEmail requests (bench/api_load, CONNS connections) -> accepted ->
#             DKIM RSA-2048 signed -> committed -> delivered by the delivery engine
#   Postfix + OpenDKIM (milter, RSA-2048): smtp-source (SESS sessions) -> relay
# both to Postfix's smtp-sink on loopback, N messages of a 5 KiB body to one recipient.
# Each run's line shows client_cpu, smtp-source's own CPU ms per message (the same work on any
# server): a gauge of this shared host's speed at the time (A/B: divide CPU/msg by it).
# Reports messages/s end to end (until the sink counted N) and the server's CPU ms per
# message (steadier than rates on this shared VM), then Sesame's accept p99 at RATE_P99
# requests/s, then (MEMORY=1) RSS per queued message with QUEUED messages waiting for an
# unreachable destination. Postfix's configuration follows ../shared/peers/postfix.sh.
# Env: N=10000 RUNS=3 SESS=20 CONNS=$SESS (the same concurrency for both) RATE_P99=1000 P99_SECS=10 MEMORY=1 QUEUED=200000
#      PEER=0 skips Postfix (quick iterations on Sesame alone; no ratio)
#      REPLAY=1 (default): each load connection signs its first request and replays its bytes
#      (the issue allows a replayable pre-signed request); Sesame verifies every one. 0: sign each.
#      API_WORKERS=16 MX_CONNS=8: Sesame's [api] worker_threads and [delivery] max_connections_per_domain
#      SESAME_EXTRA_TOML: appended to Sesame's config (experiments, e.g. $'[store]\ndurable = false')
#      INGRESS=smtp: Sesame is fed by smtp-source too (SMTP submission from a trusted loopback
#      network, no AUTH, as Postfix's mynetworks), and the accept rate (N / time until
#      smtp-source had a 250 for every message) is reported beside e2e for both; the API p99
#      and memory parts are skipped (bench/submission_bench.sh).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd); root=$(dirname "$here")
BUILD=${BUILD:-$root/build}; N=${N:-10000}; RUNS=${RUNS:-3}; SESS=${SESS:-20}; CONNS=${CONNS:-$SESS}
INGRESS=${INGRESS:-api}; [ "$INGRESS" = smtp ] && { MEMORY=0; RATE_P99=0; }
REPLAY=${REPLAY:-1}; RATE_P99=${RATE_P99:-1000}; P99_SECS=${P99_SECS:-10}; MEMORY=${MEMORY:-1}; QUEUED=${QUEUED:-200000}; PEER=${PEER:-1}
LOAD=$BUILD/bench/api_load; SESAME=${SESAME:-$BUILD/src/sesame}; PY=/usr/bin/python3
for b in /usr/sbin/postfix /usr/sbin/smtp-source /usr/sbin/smtp-sink /usr/sbin/opendkim /usr/sbin/opendkim-genkey /usr/sbin/dnsmasq; do
  [ -x "$b" ] || { echo "missing $b: make bench installs postfix opendkim opendkim-tools dnsmasq-base" >&2; exit 1; }
done
# Not under /tmp: OpenDKIM refuses a key whose path has a world-writable directory.
work=$(mktemp -d "$BUILD/delivery-bench.XXXXXX"); chmod 755 "$work"
pids=(); master_pid=""
stop_pid() { kill "$1" 2>/dev/null || true; for _ in $(seq 1 100); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done; kill -9 "$1" 2>/dev/null || true; }
stop_postfix() { [ -n "$master_pid" ] && stop_pid "$master_pid"; master_pid=""; }
cleanup() { stop_postfix; for p in "${pids[@]}"; do stop_pid "$p"; done; [ -s "$work/sesame.log" ] && { echo "sesame log (tail):"; tail -5 "$work/sesame.log"; }; rm -rf "$work"; }
trap cleanup EXIT
free_port() { $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 1 200); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done; echo "port $1 did not open" >&2; return 1; }
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
now() { date +%s.%N; }
cpu() { $PY "$here/cpu_tree.py" "$@"; }
# Context switches (voluntary + involuntary) of all a process's threads so far.
ctxsw() { cat /proc/"$1"/task/*/status 2>/dev/null | awk '/ctxt_switches/ {n += $2} END {print n+0}'; }
sink_count() { tail -c 200 "$1" 2>/dev/null | tr '\r' '\n' | sed -n 's/.*mesg=\([0-9]*\).*/\1/p' | tail -1; }
wait_sink() {  # count_file n timeout_s -> 0 when reached
  local deadline=$(( $(date +%s) + $3 ))
  while [ "$(date +%s)" -lt "$deadline" ]; do [ "$(sink_count "$1")" -ge "$2" ] 2>/dev/null && return 0; sleep 0.05; done
  return 1
}
SINK=$(free_port); SINK_PID=""
start_sink() { : > "$work/sink.count"; /usr/sbin/smtp-sink -u nobody -c "127.0.0.1:$SINK" 1024 > "$work/sink.count" 2>&1 & SINK_PID=$!; pids+=($SINK_PID); wait_port "$SINK"; }
stop_sink() { stop_pid "$SINK_PID"; }

# --- Sesame: dnsmasq publishes sink.test MX -> 127.0.0.1; sender domain verified with Easy DKIM (2048).
DNS=$(free_port); SPORT=$(free_port); SMTPP=$(free_port); TRUSTED=""
cat > "$work/dnsmasq.conf" <<CONF
no-resolv
no-hosts
bind-interfaces
listen-address=127.0.0.1
port=$DNS
local=/#/
# Answers carry a TTL, as real DNS does (dnsmasq gives its own records TTL 0 by default).
local-ttl=300
mx-host=sink.test,mx.sink.test,10
host-record=mx.sink.test,127.0.0.1
CONF
/usr/sbin/dnsmasq --keep-in-foreground --conf-file="$work/dnsmasq.conf" --pid-file= --user=root --log-facility=- >/dev/null 2>&1 & pids+=($!)
start_sesame() {  # data_dir mx_port
  cat > "$work/sesame.toml" <<TOML
data_dir = "$1"
log_level = "warn"
hostname = "mta.bench.test"
[api]
listen = "127.0.0.1:$SPORT"
worker_threads = ${API_WORKERS:-16}
[dns]
servers = ["127.0.0.1:$DNS"]
[delivery]
mx_port = $2
max_connections_per_domain = ${MX_CONNS:-8}
[smtp]
submission_listen = "$([ "$INGRESS" = smtp ] && echo "127.0.0.1:$SMTPP")"
submission_tls_listen = ""
$TRUSTED
${SESAME_EXTRA_TOML:-}
TOML
  "$SESAME" serve --config "$work/sesame.toml" 2>>"$work/sesame.log" & SESAME_PID=$!; pids+=($SESAME_PID)
  wait_port "$SPORT"
}
start_sesame "$work/data" "$SINK"
acct=$(sed -n 's/aws_access_key_id = //p' "$work/data/credentials")
secret=$(sed -n 's/aws_secret_access_key = //p' "$work/data/credentials")
account=$("$SESAME" account create --name probe --config "$work/sesame.toml" >/dev/null 2>&1; $PY - "$work/data/sesame.db" <<'PYEOF'
import sqlite3, sys
print(sqlite3.connect(sys.argv[1]).execute("SELECT id FROM accounts ORDER BY created LIMIT 1").fetchone()[0])
PYEOF
)
"$SESAME" account production --account "$account" --config "$work/sesame.toml" >/dev/null
"$SESAME" account quota --account "$account" --max-send-rate 1000000 --max-24-hour-send 100000000 --config "$work/sesame.toml" >/dev/null
AWS_ACCESS_KEY_ID=$acct AWS_SECRET_ACCESS_KEY=$secret AWS_DEFAULT_REGION=us-east-1 \
  aws sesv2 create-email-identity --email-identity bench.test --endpoint-url "http://127.0.0.1:$SPORT" >/dev/null
"$SESAME" identity verify --account "$account" bench.test --config "$work/sesame.toml" >/dev/null
if [ "$INGRESS" = smtp ]; then  # loopback submits as this account without AUTH
  stop_pid "$SESAME_PID"
  TRUSTED=$(printf 'trusted_networks = ["127.0.0.0/8"]\ntrusted_account = "%s"' "$account")
  start_sesame "$work/data" "$SINK"; wait_port "$SMTPP"
fi
source_run() {  # port n -> seconds until smtp-source had a 250 for every message
  local t0 TIMEFORMAT='%U %S'; t0=$(now)
  # smtp-source's own CPU time goes to source.time: its work per message is the same for
  # every server, so it shows how fast this shared host ran at the time (client_cpu below).
  { time timeout 600 /usr/sbin/smtp-source -s "$SESS" -m "$2" -l 5120 -N -f sender@bench.test -t rcpt@sink.test \
    -S "bench message" -M client.bench.test "127.0.0.1:$1" > "$work/source.log" 2>&1 || echo "  smtp-source failed: $(tail -2 "$work/source.log")" >&2; } 2> "$work/source.time"
  awk -v a="$t0" -v b="$(now)" 'BEGIN{printf "%.3f", b-a}'
}
client_cpu() {  # n -> smtp-source's CPU ms per message in the last source_run
  awk -v n="$1" 'NF == 2 {printf "%.3f", ($1 + $2) * 1000 / n}' "$work/source.time" 2>/dev/null
}

sesame_run() {  # n -> "e2e_s cpu_ms_per_msg accept_line"
  local n=$1 c0 c1 t0 t1 line s0 s1
  start_sink
  c0=$(cpu "$SESAME_PID"); s0=$(ctxsw "$SESAME_PID"); t0=$(now)
  if [ "$INGRESS" = smtp ]; then line="accept_s=$(source_run "$SMTPP" "$n") client_cpu=$(client_cpu "$n")"
  else line=$(REPLAY=$REPLAY SEND_TO=rcpt@sink.test SEND_FROM=sender@bench.test "$LOAD" "127.0.0.1:$SPORT" v2-send-email "$CONNS" "$n" 600 "$acct" "$secret" "r$RANDOM" || true); fi
  wait_sink "$work/sink.count" "$n" 300 || echo "  sesame: sink got $(sink_count "$work/sink.count")/$n" >&2
  t1=$(now); c1=$(cpu "$SESAME_PID"); s1=$(ctxsw "$SESAME_PID")
  stop_sink
  echo "$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f", b-a}') $(awk -v a="$c0" -v b="$c1" -v n="$n" 'BEGIN{printf "%.3f", (b-a)/n}') ctxsw_per_msg=$(awk -v a="$s0" -v b="$s1" -v n="$n" 'BEGIN{printf "%.1f", (b-a)/n}') $line"
}

# --- Postfix + OpenDKIM, a private instance under $work/postfix (loopback only).
PSMTPD=$(free_port); PMILTER=$(free_port); W="$work/postfix"
setup_postfix() {
  mkdir -p "$W/etc" "$W/spool" "$W/data" "$W/log" "$W/dkim"; chown postfix "$W/data"
  cat > "$W/etc/main.cf" <<MAIN
compatibility_level = 3.6
queue_directory = $W/spool
data_directory = $W/data
mail_owner = postfix
setgid_group = postdrop
maillog_file_prefixes = /var, /dev/stdout, $W/log
maillog_file = $W/log/maillog
myhostname = mta.bench.test
mydomain = bench.test
myorigin = bench.test
inet_interfaces = loopback-only
inet_protocols = ipv4
smtp_bind_address = 127.0.0.1
mynetworks = 127.0.0.0/8
mydestination =
relay_domains =
local_recipient_maps =
alias_maps =
alias_database =
local_transport = error:5.7.1 local delivery disabled (benchmark)
relayhost = [127.0.0.1]:$SINK
transport_maps = inline:{ *=smtp:[127.0.0.1]:$SINK }
smtp_dns_support_level = disabled
notify_classes =
smtpd_relay_restrictions = permit_mynetworks, reject
smtpd_recipient_restrictions = permit_mynetworks, reject
smtp_tls_security_level = none
smtpd_tls_security_level = none
biff = no
smtpd_milters = inet:127.0.0.1:$PMILTER
non_smtpd_milters = inet:127.0.0.1:$PMILTER
milter_default_action = tempfail
milter_protocol = 6
MAIN
  cat > "$W/etc/master.cf" <<MASTER
127.0.0.1:$PSMTPD inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
MASTER
  /usr/sbin/opendkim-genkey -b 2048 -h rsa-sha256 -d bench.test -s bench -D "$W/dkim"
  chmod 600 "$W/dkim/bench.private"
  cat > "$W/dkim/opendkim.conf" <<CONF
Syslog                  no
Mode                    s
Domain                  bench.test
Selector                bench
KeyFile                 $W/dkim/bench.private
Socket                  inet:$PMILTER@127.0.0.1
InternalHosts           127.0.0.1
Canonicalization        relaxed/relaxed
SignatureAlgorithm      rsa-sha256
OversignHeaders         From
CONF
  /usr/sbin/opendkim -f -x "$W/dkim/opendkim.conf" > "$W/log/opendkim.log" 2>&1 & DKIM_PID=$!; pids+=($DKIM_PID)
  wait_port "$PMILTER"
  /usr/sbin/postfix -c "$W/etc" start >/dev/null 2>&1 || { tail -20 "$W/log/maillog" >&2; exit 1; }
  for _ in $(seq 1 50); do [ -s "$W/spool/pid/master.pid" ] && break; sleep 0.1; done
  master_pid=$(tr -d ' \n' < "$W/spool/pid/master.pid")
  wait_port "$PSMTPD"
}
postfix_run() {  # n -> "e2e_s cpu_ms_per_msg"
  local n=$1 c0 c1 t0 t1
  start_sink
  c0=$(cpu "$master_pid" "$DKIM_PID"); t0=$(now)
  local accept_s; accept_s=$(source_run "$PSMTPD" "$n"); accept_s="$accept_s client_cpu=$(client_cpu "$n")"
  wait_sink "$work/sink.count" "$n" 300 || echo "  postfix: sink got $(sink_count "$work/sink.count")/$n" >&2
  t1=$(now); c1=$(cpu "$master_pid" "$DKIM_PID")
  stop_sink
  echo "$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f", b-a}') $(awk -v a="$c0" -v b="$c1" -v n="$n" 'BEGIN{printf "%.3f", (b-a)/n}') accept_s=$accept_s"
}
[ "$PEER" = 1 ] && setup_postfix

echo "# delivery_bench N=$N RUNS=$RUNS sesame_conns=$CONNS postfix_sessions=$SESS body=5120B $(date -u +%FT%TZ)"
echo "warm-up (1000 each)"; sesame_run 1000 >/dev/null; [ "$PEER" = 1 ] && postfix_run 1000 >/dev/null
S_RATE=(); S_CPU=(); P_RATE=(); P_CPU=(); S_ACC=(); P_ACC=(); R_E2E=(); R_ACC=()
acc_rate() { local a; a=$(printf '%s\n' "$@" | sed -n 's/^accept_s=//p'); [ -n "$a" ] && awk -v n="$N" -v s="$a" 'BEGIN{printf "%.0f", n/s}'; }
for i in $(seq 1 "$RUNS"); do
  set -- $(sesame_run "$N")
  s_rate=$(awk -v n="$N" -v s="$1" 'BEGIN{printf "%.0f", n/s}'); S_RATE+=("$s_rate"); S_CPU+=("$2")
  s_acc=$(acc_rate "${@:3}" || true); [ -n "$s_acc" ] && S_ACC+=("$s_acc")
  echo "run $i sesame:  e2e ${s_rate} msg/s  cpu ${2} ms/msg  ${s_acc:+accept ${s_acc} msg/s  }${*:3}"
  [ "$PEER" = 1 ] || continue
  set -- $(postfix_run "$N")
  p_rate=$(awk -v n="$N" -v s="$1" 'BEGIN{printf "%.0f", n/s}'); P_RATE+=("$p_rate"); P_CPU+=("$2")
  p_acc=$(acc_rate "${@:3}"); P_ACC+=("$p_acc")
  R_E2E+=("$(awk -v a="$s_rate" -v b="$p_rate" 'BEGIN{printf "%.2f", a/b}')")
  [ -n "$s_acc" ] && R_ACC+=("$(awk -v a="$s_acc" -v b="$p_acc" 'BEGIN{printf "%.2f", a/b}')")
  echo "run $i postfix+opendkim: e2e ${p_rate} msg/s  cpu ${2} ms/msg  accept ${p_acc} msg/s  ${4:-}  ratio e2e $(awk -v a="$s_rate" -v b="$p_rate" 'BEGIN{printf "%.1f", a/b}')x${s_acc:+ accept $(awk -v a="$s_acc" -v b="$p_acc" 'BEGIN{printf "%.1f", a/b}')x}"
done
sr=$(median "${S_RATE[@]}")
if [ "$PEER" = 1 ]; then pr=$(median "${P_RATE[@]}"); echo "SUMMARY ($INGRESS) e2e msg/s: sesame $sr (cpu $(median "${S_CPU[@]}") ms/msg) postfix+opendkim $pr (cpu $(median "${P_CPU[@]}") ms/msg) ratio $(awk -v a="$sr" -v b="$pr" 'BEGIN{printf "%.1f", a/b}')x"
else echo "SUMMARY ($INGRESS) e2e msg/s: sesame $sr (cpu $(median "${S_CPU[@]}") ms/msg)"; fi
if [ "${#S_ACC[@]}" -gt 0 ]; then
  sa=$(median "${S_ACC[@]}")
  if [ "$PEER" = 1 ]; then pa=$(median "${P_ACC[@]}"); echo "SUMMARY ($INGRESS) accept msg/s: sesame $sa postfix+opendkim $pa ratio $(awk -v a="$sa" -v b="$pa" 'BEGIN{printf "%.1f", a/b}')x"
  else echo "SUMMARY ($INGRESS) accept msg/s: sesame $sa"; fi
fi
# The ratios of the runs themselves: each pair ran back to back, so a change in the host's
# speed between runs (this shared VM drifts by +-15 %) moves both arms of a pair alike.
if [ "${#R_E2E[@]}" -gt 0 ]; then
  echo "SUMMARY ($INGRESS) median of the per-run ratios: e2e $(printf '%.1f' "$(median "${R_E2E[@]}")")x${R_ACC:+ accept $(printf '%.1f' "$(median "${R_ACC[@]}")")x}"
fi
stop_postfix

# --- Sesame accept latency at a fixed rate.
if [ "$RATE_P99" -gt 0 ]; then
start_sink
line=$(RATE=$RATE_P99 SEND_TO=rcpt@sink.test SEND_FROM=sender@bench.test "$LOAD" "127.0.0.1:$SPORT" v2-send-email 32 $((RATE_P99 * P99_SECS)) $((P99_SECS + 30)) "$acct" "$secret" "p$RANDOM" || true)
echo "ACCEPT at ${RATE_P99}/s for ${P99_SECS}s: $line"
wait_sink "$work/sink.count" $((RATE_P99 * P99_SECS)) 120 || true
stop_sink
fi

# --- Memory: QUEUED messages waiting for an unreachable destination (nothing listens on the MX port).
if [ "$MEMORY" = 1 ]; then
  stop_pid "$SESAME_PID"
  DEAD=$(free_port)
  # Inside [delivery] (appending at the end would land in whichever table comes last).
  sed -i "s/^mx_port = .*/mx_port = $DEAD\nretry_base_seconds = 3600\nretry_max_interval_seconds = 3600/" "$work/sesame.toml"
  "$SESAME" serve --config "$work/sesame.toml" 2>>"$work/sesame.log" & SESAME_PID=$!; pids+=($SESAME_PID)
  wait_port "$SPORT"
  rss0=$(awk '/VmRSS/{print $2}' "/proc/$SESAME_PID/status")
  SEND_TO=rcpt@sink.test SEND_FROM=sender@bench.test "$LOAD" "127.0.0.1:$SPORT" v2-send-email "$CONNS" "$QUEUED" 1200 "$acct" "$secret" "m$RANDOM" >/dev/null || true
  sleep 5
  rss1=$(awk '/VmRSS/{print $2}' "/proc/$SESAME_PID/status")
  queued=$($PY - "$work/data/sesame.db" <<'PYEOF'
import sqlite3, sys
print(sqlite3.connect(sys.argv[1]).execute("SELECT COUNT(*) FROM recipients WHERE state IN ('queued','deferred')").fetchone()[0])
PYEOF
)
  echo "MEMORY queued=$queued rss_before=${rss0}KiB rss_after=${rss1}KiB per_queued=$(awk -v a="$rss0" -v b="$rss1" -v n="$queued" 'BEGIN{printf "%.0f", (n>0)?(b-a)*1024/n:0}') bytes"
  # After a restart, every one is still there and scheduled.
  stop_pid "$SESAME_PID"
  "$SESAME" serve --config "$work/sesame.toml" 2>>"$work/sesame.log" & SESAME_PID=$!; pids+=($SESAME_PID)
  wait_port "$SPORT"; sleep 2
  echo "MEMORY after restart: rss=$(awk '/VmRSS/{print $2}' "/proc/$SESAME_PID/status")KiB"
fi
