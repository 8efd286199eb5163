#!/usr/bin/env bash
# TCP echo through the Reactor alone: server pinned to core 0, load on core 1,
# 64-byte messages, closed loop (one in flight per connection).
#
#   Benchmarks/tcp-echo.sh [-c 100] [-d 5]
set -euo pipefail
cd "$(dirname "$0")/.."
CONNECTIONS=100
SECONDS_TO_RUN=5
while [[ $# -gt 0 ]]; do
    case "$1" in
        -c) CONNECTIONS="$2"; shift 2 ;;
        -d) SECONDS_TO_RUN="$2"; shift 2 ;;
        *) echo "usage: $0 [-c N] [-d SECONDS]" >&2; exit 2 ;;
    esac
done
swift build -c release --product reactor-bench >/dev/null
BIN=.build/release/reactor-bench
PORT=$((20000 + RANDOM % 12000))  # below the ephemeral range
taskset -c 0 "$BIN" serve --port "$PORT" --threads 1 >/dev/null &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
sleep 0.5
taskset -c 1 "$BIN" load --port "$PORT" -c "$CONNECTIONS" -s 64 -d "$SECONDS_TO_RUN" --server-pid "$SERVER"
