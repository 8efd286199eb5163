#!/usr/bin/env bash
# User-space memory per idle connection: the server's RSS growth while
# `reactor-bench hold` keeps N connections open, divided by N (after a
# warm-up of 2,500 connections that stay open). The server and
# the holder are separate processes (the open-file limit is per process).
# The warm-up is larger than an io_uring loop's 2,048 receive buffers, which
# are taken in turn (one per upgrade request): after it all of them are
# resident, so that fixed 8 MiB is not spread over the measured connections.
#
#   Benchmarks/idle-memory.sh [-c 10000]
#
# Measures: plain TCP (reactor-bench serve), a WebSocket (echo-server /echo)
# and a WebSocket in a room (echo-server /room/idle), the same two WebSocket
# rows with permessage-deflate agreed (echo-server --deflate; the holder offers
# what a browser offers), then the first three over TLS (a throwaway ECDSA
# P-256 certificate; the holder accepts it unverified). Prints a Markdown table.
set -euo pipefail
cd "$(dirname "$0")/.."

COUNT=10000
[[ "${1:-}" == "-c" ]] && COUNT="$2"
swift build -c release --product reactor-bench >/dev/null
swift build -c release --product echo-server >/dev/null
BIN=.build/release
CERTS=$(mktemp -d)
trap 'rm -rf "$CERTS"' EXIT
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=localhost \
    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" -keyout "$CERTS/key.pem" -out "$CERTS/cert.pem" 2>/dev/null
TLS=(--tls-cert "$CERTS/cert.pem" --tls-key "$CERTS/key.pem")

rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }

measure() {  # name, server command..., then -- hold arguments
    local name="$1"; shift
    local server=() hold=()
    while [[ "$1" != "--" ]]; do server+=("$1"); shift; done
    shift; hold=("$@")
    local port=$((20000 + RANDOM % 12000))  # below the ephemeral range
    "${server[@]}" --port "$port" --threads 1 >/dev/null 2>&1 &
    local server_pid=$!
    sleep 0.5
    # Warm up first, so code paging in, one-time allocations and the ring's
    # receive buffers are not charged to the measured connections.
    local warm; warm=$(mktemp)
    "$BIN/reactor-bench" hold --port "$port" -c 2500 -d 200 "${hold[@]}" >"$warm" 2>&1 &
    local warm_pid=$!
    for _ in $(seq 1 600); do grep -q held "$warm" && break; sleep 0.1; done  # TLS handshakes take a while
    sleep 0.5
    local before; before=$(rss_kib "$server_pid")
    local log; log=$(mktemp)
    "$BIN/reactor-bench" hold --port "$port" -c "$COUNT" -d 150 "${hold[@]}" >"$log" 2>&1 &
    local hold_pid=$!
    for _ in $(seq 1 600); do grep -q held "$log" && break; sleep 0.2; done  # TLS handshakes take a while
    sleep 1
    local after; after=$(rss_kib "$server_pid")
    local held; held=$(grep -o 'held [0-9]*' "$log" | awk '{print $2}')
    local agreed; agreed=$(grep -o '[0-9]* with an extension' "$log" | awk '{print $1}')
    kill "$hold_pid" "$warm_pid" "$server_pid" 2>/dev/null || true
    wait "$hold_pid" "$warm_pid" "$server_pid" 2>/dev/null || true
    rm -f "$log" "$warm"
    printf '| %s | %s | %s | %s | %s | %s |\n' "$name" "${held:-0}" "${agreed:-0}" "$before" "$after" "$(( (after - before) * 1024 / ${held:-1} ))"
}

OFFER="permessage-deflate; client_max_window_bits"
echo "| connection kind | held | with permessage-deflate | server RSS before (KiB) | after (KiB) | bytes per connection |"
echo "|---|---|---|---|---|---|"
measure "TCP (reactor-bench serve)" "$BIN/reactor-bench" serve -- 
measure "WebSocket, echo (echo-server /echo)" "$BIN/echo-server" -- --upgrade /echo
measure "WebSocket in a room (echo-server /room/idle)" "$BIN/echo-server" -- --upgrade /room/idle
measure "WebSocket, echo, deflate agreed (echo-server --deflate /echo)" "$BIN/echo-server" --deflate -- --upgrade /echo --extensions "$OFFER"
measure "WebSocket in a room, deflate agreed (echo-server --deflate /room/idle)" "$BIN/echo-server" --deflate -- --upgrade /room/idle --extensions "$OFFER"
# 64 handshakes at a time: OpenSSL's buffers during a handshake (about 37 KiB each) would otherwise
# raise the heap's high-water mark with the number in flight, and RSS would show that peak, not idle.
measure "TLS (reactor-bench serve)" "$BIN/reactor-bench" serve "${TLS[@]}" -- --tls insecure --in-flight 64
measure "WebSocket over TLS, echo (echo-server /echo)" "$BIN/echo-server" "${TLS[@]}" -- --upgrade /echo --tls insecure --in-flight 64
measure "WebSocket over TLS in a room (echo-server /room/idle)" "$BIN/echo-server" "${TLS[@]}" -- --upgrade /room/idle --tls insecure --in-flight 64
