#!/usr/bin/env bash
# End-to-end benchmarks: wsbench against echo-server, each in its own
# process, the server pinned to core 0 with one loop and wsbench to core 1
# (the open-file limit is per process, so 10,000 connections fit).
# Writes Benchmarks/results/e2e.md and one JSON file per run.
#
#   Benchmarks/e2e.sh [--quick]     (--quick: shorter runs, for a look)
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=5s
[[ "${1:-}" == "--quick" ]] && DURATION=2s
source Benchmarks/lib/pinned-runs.sh

start_server
run echo-100 -t 1 -c 100 -d "$DURATION" ws://127.0.0.1:$PORT/echo
run echo-1000 -t 1 -c 1000 -d "$DURATION" ws://127.0.0.1:$PORT/echo
start_server
run echo-10000 -t 1 -c 10000 -d "$DURATION" --timeout 30s ws://127.0.0.1:$PORT/echo
start_server
run broadcast-1000 -t 1 --scenario broadcast -c 1001 -r 1000 -d "$DURATION" ws://127.0.0.1:$PORT/room/b1000
start_server
run broadcast-10000 -t 1 --scenario broadcast -c 10001 -s 100 --rates 2,10,100 -d "$DURATION" --timeout 30s ws://127.0.0.1:$PORT/room/b10000
start_server
run fanout-ladder -t 1 --scenario broadcast -c 1001 --rates 100,1000,2000,4000,7000,10000,12000,15000 -d "$DURATION" --allow-loss ws://127.0.0.1:$PORT/room/ladder
start_server
run connect-storm -t 1 --scenario connect -c 10000 ws://127.0.0.1:$PORT/echo
start_server
run room-sizes -t 1 --scenario broadcast -c 10000 --step 1000 --p95-limit 10s -r 10 -s 100 -d "$DURATION" --timeout 30s ws://127.0.0.1:$PORT/room/sizes
python3 Benchmarks/chart.py "$OUT/room-sizes.json" -o "$OUT/broadcast-latency.svg" >&2

write_report "End-to-end benchmarks" "$OUT/e2e.md"
