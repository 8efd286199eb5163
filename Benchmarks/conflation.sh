#!/usr/bin/env bash
# Conflation under overload, in one run (issue 16): a ticker of 1,000 keys
# published to a room of 1,000 subscribers that all conflate by key
# (wsbench --scenario ticker: conflate=1, keyAt=24:8), echo-server
# --threads 1 pinned to core 0, wsbench -t 1 to core 1 (lib/pinned-runs.sh).
#  1. The highest rate the conflating room keeps up with when nobody is
#     slow (so nothing is conflated), and a plain broadcast room's for
#     reference (what conflate=1 costs every delivery): fixed ladders, as
#     e2e.sh's, so one rung a busy machine spoils does not end the climb.
#  2. At that rate, a fresh server each: (a) 1,000 full-speed subscribers;
#     (a') the 900 that stay full-speed in (b), alone; (b) those 900 and
#     100 more reading at a tenth of the rate.
# Per run: full-speed deliveries/s and p50/p99, the slow ones' staleness
# (age of an update when read) and skipped updates against the server's
# conflated count, server CPU per delivery, the server's peak resident
# memory (VmHWM) and what its kernel holds in the room's socket send
# buffers half-way through the window (ss -tm, which RSS does not show).
# Writes Benchmarks/results/conflation.md, conflation.json and one wsbench
# JSON file per run (conflation-*.json).
#
#   Benchmarks/conflation.sh [--quick] [--rate R]
#     --quick   shorter windows, for a look
#     --rate R  skip the search and run (a), (a') and (b) at R updates/s
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=10
LADDER_DURATION=3s
RATE=""
while [[ $# -gt 0 ]]; do
    case "$1" in
        --quick) DURATION=4; LADDER_DURATION=2s; shift ;;
        --rate) RATE="$2"; shift 2 ;;
        *) echo "usage: Benchmarks/conflation.sh [--quick] [--rate R]" >&2; exit 2 ;;
    esac
done
source Benchmarks/lib/pinned-runs.sh
MEMORY=$(mktemp -d)
trap 'kill $SERVER_PID 2>/dev/null || true; rm -f "$SUMMARY"; rm -rf "$MEMORY"' EXIT

KEYS=(--keys 1000)

# What the server holds for a run: its peak and current resident memory when
# the run is over, and its sockets' send-buffer bytes half-way through the window.
sample_send_buffers() {
    local name="$1" delay="$2"
    (sleep "$delay"; ss -tmnH "( sport = :$PORT )" > "$MEMORY/$name.ss" 2>/dev/null || true) &
}
record_memory() {
    local name="$1"
    grep -E '^(VmHWM|VmRSS):' "/proc/$SERVER_PID/status" > "$MEMORY/$name.status" 2>/dev/null || true
}

if [[ -z "$RATE" ]]; then
    start_server
    run conflation-plain-ladder -t 1 --scenario broadcast -c 1001 --rates 100,1000,2000,4000,7000,10000,12000,15000 \
        -d "$LADDER_DURATION" "ws://127.0.0.1:$PORT/room/quotes"
    start_server
    run conflation-ladder -t 1 --scenario ticker -c 1001 "${KEYS[@]}" --rates 500,1000,2000,4000,7000,10000,12000,15000 \
        -d "$LADDER_DURATION" "ws://127.0.0.1:$PORT/room/quotes"
    RATE=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["ladder"]["highest_kept_up_rate"] or "")' \
        "$OUT/conflation-ladder.json" 2>/dev/null || true)
    if [[ -z "$RATE" ]]; then
        echo "conflation: the conflating room kept up with no rate; see $OUT/conflation-ladder.json" >&2
        exit 1
    fi
fi
echo "== at $RATE updates/s" >&2

for case in all-fast fast-alone with-slow; do
    case $case in
        all-fast) ARGS=(-c 1001 --slow 0) ;;
        fast-alone) ARGS=(-c 901 --slow 0) ;;
        with-slow) ARGS=(-c 1001 --slow 100 --slow-speed 0.1) ;;
    esac
    start_server
    sample_send_buffers "$case" $((1 + DURATION / 2 + 1))
    run "conflation-$case" -t 1 --scenario ticker "${ARGS[@]}" "${KEYS[@]}" -r "$RATE" -d "${DURATION}s" --timeout 30s "ws://127.0.0.1:$PORT/room/quotes"
    record_memory "$case"
done

TABLE=$(python3 Benchmarks/conflation_table.py "$OUT" "$MEMORY" --json "$OUT/conflation.json")
INTRO="**Preliminary**: taken on a shared, noisy machine; the lead's figures come from a quiet one.
A ticker (\`wsbench --scenario ticker\`): one publisher sends updates of 1,000 keys (64-byte binary
frames, a random key each) to room \`quotes\`; every member joined with \`conflate=1\`. Slow subscribers
read at most a tenth of the publish rate, taking from their sockets no more than that, so the kernel's
buffers fill first and then the server holds the newest update of each key for them. Full-speed
subscribers must get every update (no loss, in order); every member must never get an older value of
a key after a newer one and must end holding the last value of every key (all runs passed unless the
table says otherwise). **Staleness** is the age of an update when a slow subscriber reads it (read time −
its intended send time), sampled while publishing goes on. Server CPU per delivery counts every
delivery, slow ones included; at the rate the room just keeps up with, the server's core is busy, so it
is close to 1 / deliveries per second (DESIGN.md, \"Reading fan-out figures\").

Reading the slow row: the server holds updates back for a member only once the kernel refuses bytes for
it, and the kernel first takes what the socket's send buffer grows to (up to tcp_wmem's 4 MiB; the
\"kernel send buffers\" column, which RSS does not show). At 64-byte updates and a tenth of the rate, a
slow subscriber takes about a minute to fall that far behind, so within the window the server may not
conflate anything (\"skipped / server conflated\" at 0) and its staleness is then the age of the window's
first updates. Once conflated, the floor is K / r: the newest value of each of the K keys goes out at
once and a reader of r updates a second needs K / r seconds to get through them (README, \"Tickers and
bullet comments\").

$TABLE"
write_report "Conflation: slow subscribers beside full-speed ones in a ticker room" "$OUT/conflation.md" "$INTRO"
