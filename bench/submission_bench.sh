#!/usr/bin/env bash
# SMTP submission benchmark (not a test): Postfix's smtp-source submits N messages of a
# 5 KiB body over SESS sessions (a new connection per message, as in ../shared/peers) to
# Sesame (trusted loopback network: no AUTH; DKIM RSA-2048 signing; durable commit;
# delivery to a loopback smtp-sink) and, in the same run, to Postfix + OpenDKIM relaying to
# the same sink. Reports accept and end-to-end rates with server CPU per message for both.
# It is delivery_bench.sh with INGRESS=smtp. Env: N=20000 RUNS=3 SESS=20 PEER=1.
here=$(cd "$(dirname "$0")" && pwd)
INGRESS=smtp N=${N:-20000} exec bash "$here/delivery_bench.sh"
