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
swift build -c release --product echo-server >/dev/null
SERVER=.build/release/echo-server
if [[ -z "${WSBENCH:-}" ]]; then
    swift build -c release --product wsbench >/dev/null
    WSBENCH=.build/release/wsbench
fi
OUT=Benchmarks/results
mkdir -p "$OUT"
SUMMARY=$(mktemp)
trap 'kill $SERVER_PID 2>/dev/null || true; rm -f "$SUMMARY"' EXIT
SERVER_PID=""

start_server() {
    [[ -n "$SERVER_PID" ]] && { kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; }
    PORT=$((20000 + RANDOM % 12000))  # below the ephemeral range
    taskset -c 0 "$SERVER" --host 127.0.0.1 --port "$PORT" --threads 1 "$@" >/dev/null 2>&1 &
    SERVER_PID=$!
    sleep 0.5
}

# run NAME WSBENCH-ARGS... : one wsbench run, its table appended to the summary.
run() {
    local name="$1"; shift
    echo "== $name" >&2
    {
        echo "### $name"
        echo
        echo '```'
        echo "wsbench $*" | sed "s/--server-pid [0-9]*/--server-pid \$SERVER_PID/; s/127.0.0.1:[0-9]*/127.0.0.1:PORT/"
        taskset -c 1 "$WSBENCH" "$@" --server-pid "$SERVER_PID" --json "$OUT/$name.json" 2>/dev/null || echo "(exit $?)"
        echo '```'
        echo
    } >> "$SUMMARY"
}

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

{
    echo "# End-to-end benchmarks"
    echo
    echo "\`Benchmarks/e2e.sh\` on $(date -u +%Y-%m-%d), commit $(git rev-parse --short HEAD), $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)):"
    echo "echo-server \`--threads 1\` pinned to core 0, wsbench \`-t 1\` pinned to core 1, separate processes."
    echo "Server CPU per delivery comes from /proc/PID/stat over the measured window; client CPU is wsbench's own"
    echo "(a client near 100% of its core was the limit, not the server). Latency is from each message's"
    echo "intended send time (open loop), so a stall shows."
    echo
    cat "$SUMMARY"
} > "$OUT/e2e.md"
echo "wrote $OUT/e2e.md" >&2
