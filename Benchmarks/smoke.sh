#!/usr/bin/env bash
# End-to-end smoke runs for CI: wsbench against echo-server with 1,000
# connections for a few seconds: echo, WebSocket broadcast, rooms whose
# subscribers come half over WebSocket, half over SSE or long-polling, and a
# room of events sessions (publish → message). Any loss, duplicate,
# reordering or connection error fails (wsbench exits non-zero); the figures
# are printed for the log. Not a speed gate: the machines are noisy.
#
#   Benchmarks/smoke.sh [--tls CERT KEY]
#
# With --tls the server serves CERT and KEY and every run goes over wss://
# (wsbench --insecure: the certificate is a self-signed test one).
set -euo pipefail
cd "$(dirname "$0")/.."
TLS_ARGS=()
SCHEME=ws
CLIENT_ARGS=()
if [[ ${1:-} == --tls ]]; then
    [[ $# -eq 3 ]] || { echo "smoke: --tls needs CERT and KEY" >&2; exit 2; }
    TLS_ARGS=(--tls-cert "$2" --tls-key "$3")
    SCHEME=wss
    CLIENT_ARGS=(--insecure)
fi
# One product per call: given several --product flags, swift build builds only the last.
swift build -c release --product echo-server >/dev/null
swift build -c release --product wsbench >/dev/null
PORT=$((20000 + RANDOM % 12000))  # below the ephemeral range
.build/release/echo-server --host 127.0.0.1 --port "$PORT" --threads 1 "${TLS_ARGS[@]}" >/dev/null 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
sleep 0.5
WSBENCH=(.build/release/wsbench -t 1 -d 3s --warmup 1s --server-pid "$SERVER" "${CLIENT_ARGS[@]}")
echo "== echo, 1,000 connections, closed loop"
"${WSBENCH[@]}" -c 1000 "$SCHEME://127.0.0.1:$PORT/echo" 2>/dev/null
echo "== broadcast, 1 publisher to 1,000 subscribers, 1,000 msg/s"
"${WSBENCH[@]}" --scenario broadcast -c 1001 -r 1000 "$SCHEME://127.0.0.1:$PORT/room/smoke" 2>/dev/null
echo "== one room, 500 SSE and 500 WebSocket subscribers, 1,000 msg/s"
"${WSBENCH[@]}" --scenario sse -c 1001 --ws-subscribers 500 -r 1000 "$SCHEME://127.0.0.1:$PORT/room/smoke-sse" 2>/dev/null
echo "== one room, 500 long-polling and 500 WebSocket subscribers, 1,000 msg/s"
"${WSBENCH[@]}" --scenario longpoll -c 1001 --ws-subscribers 500 -r 1000 "$SCHEME://127.0.0.1:$PORT/room/smoke-poll" 2>/dev/null
echo "== events: 1 publisher to 1,000 sessions in one room, 1,000 msg/s"
"${WSBENCH[@]}" --scenario events -c 1001 -r 1000 "$SCHEME://127.0.0.1:$PORT/room/smoke-events" 2>/dev/null
