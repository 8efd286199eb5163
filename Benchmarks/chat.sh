#!/usr/bin/env bash
# chat-server with 1,000 users in one room (the chat room, every message to
# everyone): messages/s stored and delivered, latency from send to delivery
# (p50/p99) and to the acknowledgement, with storage off (--no-store), with
# --sync normal and with --sync full (the default), in one run. The server is
# pinned to core 0 with one loop (its SQLite threads share that core), the
# load client (chat-bench, Swift, on the Reactor) to core 1. Each mode starts
# on a fresh database on the repository's file system (fsync costs what it
# costs there), removed after. Writes Benchmarks/results/chat.md.
# Preliminary on a shared machine: compare the rows of one run with each other.
#
#   Benchmarks/chat.sh [--users N] [--rates R1,R2,...] [--seconds S]
set -euo pipefail
cd "$(dirname "$0")/.."
USERS=1000
RATES=100,250,500,1000,2000
STEP_SECONDS=5
while [[ $# -gt 0 ]]; do
    case "$1" in
        --users) USERS="$2"; shift 2 ;;
        --rates) RATES="$2"; shift 2 ;;
        --seconds) STEP_SECONDS="$2"; shift 2 ;;
        *) echo "usage: $0 [--users N] [--rates R1,R2,...] [--seconds S]" >&2; exit 2 ;;
    esac
done
swift build -c release --product chat-server >/dev/null
swift build -c release --product chat-bench >/dev/null
ulimit -n 20000
DIR=$(mktemp -d .build/chat-bench.XXXXXX)
SERVER_PID=""
stop() {
    [[ -n $SERVER_PID ]] || return 0
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
}
trap 'stop; rm -rf "$DIR"' EXIT

# run LABEL CHAT-SERVER-FLAGS...: one mode's table.
run() {
    local label="$1" port tries
    shift
    rm -f "$DIR"/chat.db*
    port=$((20000 + RANDOM % 12000))  # below the ephemeral range
    taskset -c 0 .build/release/chat-server --host 127.0.0.1 --port "$port" --threads 1 --db "$DIR/chat.db" "$@" >"$DIR/server.log" 2>&1 &
    SERVER_PID=$!
    for ((tries = 0; tries < 100; tries++)); do
        grep -q listening "$DIR/server.log" && break
        sleep 0.1
    done
    grep -q listening "$DIR/server.log" || { cat "$DIR/server.log" >&2; exit 1; }
    echo
    echo "## $label"
    echo
    echo "\`chat-server --threads 1 $*\`, $(sed -n 's/.*loop(s)[^;]*; \(.*\); open.*/\1/p' "$DIR/server.log"):"
    echo
    taskset -c 1 .build/release/chat-bench --port "$port" --users "$USERS" --rates "$RATES" --seconds "$STEP_SECONDS" \
        --server-pid "$SERVER_PID" || echo "(chat-bench exit $?)"
    stop
}

OUT=Benchmarks/results/chat.md
{
    echo "# chat-server: $USERS users in one room"
    echo
    echo "\`Benchmarks/chat.sh --users $USERS --rates $RATES --seconds $STEP_SECONDS\` on $(date -u +%Y-%m-%d), commit $(git rev-parse --short HEAD),"
    echo "$(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), file system $(df -T "$DIR" | awk 'NR == 2 { print $2 }'),"
    echo "SQLite $(pkg-config --modversion sqlite3), load average $(cut -d' ' -f1-3 /proc/loadavg) at the start."
    echo "chat-server \`--threads 1\` pinned to core 0 (its store's writer and reader threads too), chat-bench pinned to core 1."
    echo "$USERS users enter the chat room (in no named room, so each message goes to all of them, the sender too); then, for"
    echo "$STEP_SECONDS s per rate, they send short messages (\`bench T STEP\`, about 30 characters) in turn at the total rate, open loop, each stamped with its"
    echo "scheduled send time. *stored* = acknowledged (after COMMIT) per second; *delivered / expected* = deliveries received"
    echo "within 2 s after the step over acknowledged × users; latencies from the scheduled send to each delivery and to the"
    echo "acknowledgement. Server and client CPU are % of one core over the sending window."
    run "storage off (--no-store)" --no-store
    run "--sync normal: no fsync at commit" --sync normal
    run "--sync full (the default): an fsync per commit" --sync full
} > "$OUT"
cat "$OUT"
echo "wrote $OUT" >&2
