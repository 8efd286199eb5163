#!/usr/bin/env bash
# wsbench's own receive path, without sockets: the frames echo-server sends a
# subscriber (unmasked binary, valid header, consecutive sequence numbers)
# handed from the loop's receive buffer to the same callback the reactor
# calls after recv(), tracked, counted and timed as in a live run. wsbench
# must outrun the server: the bar is 10 million 64-byte frames a second on
# one core. Pinned to core 1, like wsbench in the end-to-end runs.
#
#   Benchmarks/client-receive.sh [--frames N] [--size BYTES] [--per-read N] [--scenario broadcast|sse|events]
#
# --per-read N hands over N frames per call (default: as many as fill the
# reactor's 256 KiB receive buffer); 1 shows the cost of a read that brings
# one frame, as at low rates to many subscribers (the recv itself not included).
# --scenario sse feeds an SSE subscriber's chunks (one event each), events
# the events protocol's room packets (the same text message inside): the
# same line for each shows what their parsing adds to a WebSocket frame's.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product wsbench >/dev/null
BIN=.build/release/wsbench
if [[ $# -gt 0 ]]; then
    exec taskset -c 1 "$BIN" --receive-benchmark "$@"
fi
taskset -c 1 "$BIN" --receive-benchmark --frames 100000000
taskset -c 1 "$BIN" --receive-benchmark --frames 20000000 --per-read 16
taskset -c 1 "$BIN" --receive-benchmark --frames 5000000 --per-read 1
taskset -c 1 "$BIN" --receive-benchmark --frames 20000000 --scenario sse
taskset -c 1 "$BIN" --receive-benchmark --frames 20000000 --scenario events
