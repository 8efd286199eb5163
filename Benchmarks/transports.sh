#!/usr/bin/env bash
# One room of 1,000 subscribers, reached over each push transport in turn:
# WebSocket, Server-Sent Events, long-polling, then WebSocket and SSE mixed
# in the same room. Same publisher, same message size, same rate ladder, so
# the rows compare what the transport costs the server per delivery.
# Writes Benchmarks/results/transports.md and one JSON file per run.
#
#   Benchmarks/transports.sh [--quick]     (--quick: shorter runs, for a look)
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=5s
[[ "${1:-}" == "--quick" ]] && DURATION=2s
source Benchmarks/lib/pinned-runs.sh

# --allow-loss: a rung that falls behind is reported as such instead of ending the ladder.
LADDER=(-t 1 -c 1001 -s 64 --rates 100,1000,4000,7000 -d "$DURATION" --allow-loss)
start_server
run transport-websocket --scenario broadcast "${LADDER[@]}" ws://127.0.0.1:$PORT/room/ws
start_server
run transport-sse --scenario sse "${LADDER[@]}" ws://127.0.0.1:$PORT/room/sse
start_server
run transport-longpoll --scenario longpoll "${LADDER[@]}" ws://127.0.0.1:$PORT/room/poll
start_server
run transport-mixed --scenario sse --ws-subscribers 500 "${LADDER[@]}" ws://127.0.0.1:$PORT/room/mixed

TABLE=$(python3 Benchmarks/transport_table.py "$OUT"/transport-{websocket,sse,longpoll,mixed}.json)
write_report "Fan-out by transport: 1,000 subscribers in one room" "$OUT/transports.md" "$TABLE"
