#!/usr/bin/env bash
# What TLS costs against plain TCP, in one run: echo at 100 and 1,000
# connections (server CPU per message), the fan-out ladder to 1,000
# subscribers (highest rate kept up, CPU per delivery), each plain then over
# TLS on a fresh server, and memory per idle connection at 10,000
# (Benchmarks/idle-memory.sh, which has the TLS rows). The server is pinned
# to core 0 with one loop, wsbench to core 1 (Benchmarks/lib/pinned-runs.sh).
# wsbench speaks TLS too, so at high rates the client may be the limit: its
# CPU is in the table.
# Writes Benchmarks/results/tls.md and one JSON file per run (tls-*.json).
#
#   Benchmarks/tls.sh [--quick]     (--quick: shorter runs, and idle memory at 2,000)
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=5s
IDLE=10000
[[ "${1:-}" == "--quick" ]] && { DURATION=2s; IDLE=2000; }
source Benchmarks/lib/pinned-runs.sh

CERTS=$(mktemp -d)
trap 'kill $SERVER_PID 2>/dev/null || true; rm -f "$SUMMARY"; rm -rf "$CERTS"' EXIT
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=localhost \
    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" -keyout "$CERTS/key.pem" -out "$CERTS/cert.pem" 2>/dev/null
TLS=(--tls-cert "$CERTS/cert.pem" --tls-key "$CERTS/key.pem")

# Plain, then TLS, for each measure: the same server flags otherwise, so the pairs compare.
for mode in plain tls; do
    if [[ $mode == tls ]]; then start_server "${TLS[@]}"; URL=wss; CLIENT=(--insecure); else start_server; URL=ws; CLIENT=(); fi
    run "tls-echo-100-$mode" -t 1 -c 100 -d "$DURATION" "${CLIENT[@]}" "$URL://127.0.0.1:$PORT/echo"
    run "tls-echo-1000-$mode" -t 1 -c 1000 -d "$DURATION" "${CLIENT[@]}" "$URL://127.0.0.1:$PORT/echo"
done
LADDER=(-t 1 --scenario broadcast -c 1001 --rates 100,1000,2000,4000,7000,10000,12000,15000 -d "$DURATION" --allow-loss)
start_server
run tls-ladder-plain "${LADDER[@]}" "ws://127.0.0.1:$PORT/room/ladder"
start_server "${TLS[@]}"
run tls-ladder-tls "${LADDER[@]}" --insecure "wss://127.0.0.1:$PORT/room/ladder"
kill "$SERVER_PID" 2>/dev/null || true

echo "== idle memory, $IDLE connections" >&2
MEMORY=$(bash Benchmarks/idle-memory.sh -c "$IDLE")
TABLE=$(python3 Benchmarks/tls_table.py "$OUT")
write_report "TLS against plain TCP" "$OUT/tls.md" "$TABLE

Memory per idle connection, $IDLE held (\`Benchmarks/idle-memory.sh -c $IDLE\`; not pinned):

$MEMORY

Certificate: ECDSA P-256, self-signed (\`openssl req\`); TLS 1.3 with TLS_AES_256_GCM_SHA384 between echo-server and wsbench."
