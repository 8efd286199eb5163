#!/usr/bin/env bash
# The events layer against the raw path, in one run: a raw room publish
# (wsbench --scenario broadcast: /room/NAME?self=0) against an events emit
# to the same room (--scenario events: echo-server's 'publish' handler,
# socket.to(room).emit('message')), with the same publisher and message
# size: 1 → 1,000 at 1,000 msg/s, the e2e fan-out ladder into 1,000 (the
# highest rate kept up), and 1 → 10,000 at 2 msg/s. A fresh server for
# each run, raw and events taking turns. Writes Benchmarks/results/events.md,
# events.json (the rows and the events/raw ratio of server CPU per
# delivery) and one wsbench JSON file per run (events-{raw,emit}-*.json).
#
#   Benchmarks/events.sh [--quick]     (--quick: shorter runs, for a look)
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=5s
[[ "${1:-}" == "--quick" ]] && DURATION=2s
source Benchmarks/lib/pinned-runs.sh

LADDER=(-c 1001 --rates 100,1000,2000,4000,7000,10000,12000,15000 --allow-loss)
# 10,000 connections from 39 source addresses, each with its own ephemeral ports.
TEN_THOUSAND=(-c 10001 -r 2 --timeout 30s --bind 127.0.0.2-127.0.0.40)
for case in 1000 ladder 10000; do
    case $case in
        1000) ARGS=(-c 1001 -r 1000) ;;
        ladder) ARGS=("${LADDER[@]}") ;;
        10000) ARGS=("${TEN_THOUSAND[@]}") ;;
    esac
    start_server
    run "events-raw-$case" -t 1 --scenario broadcast -d "$DURATION" "${ARGS[@]}" "ws://127.0.0.1:$PORT/room/raw$case"
    start_server
    run "events-emit-$case" -t 1 --scenario events -d "$DURATION" "${ARGS[@]}" "ws://127.0.0.1:$PORT/room/emit$case"
done

TABLE=$(python3 Benchmarks/events_table.py "$OUT" --json "$OUT/events.json")
INTRO="**Preliminary**: taken on a shared, noisy machine; the lead's figures come from a quiet one.
Each pair: the same room size, publisher, 64-byte message and rate; \`raw publish\` is wsbench's broadcast
scenario (binary frames, /room/NAME), \`events emit\` its events scenario (the same message as the
argument of a 'publish' event; members get a 'message' event, a text frame of about 150 bytes).
\`events/raw\` is the ratio of server CPU per delivery (target: at most 1.10). From about 200 msg/s into
1,000 the server's core is saturated and its CPU per delivery is only 1 / deliveries per second: there,
compare the highest rate kept up and the latency; CPU per delivery compares at 100 msg/s into 1,000
(the ladder's first rung) and at 2 msg/s into 10,000.

$TABLE"
write_report "The events layer against a raw room publish" "$OUT/events.md" "$INTRO"
