#!/usr/bin/env bash
# A soak: echo-server holding a room of CONNECTIONS WebSockets, one of them
# publishing RATE messages a second, for DURATION; wsbench samples the
# server's and its own RSS and descriptors and the latency every INTERVAL,
# fails on any loss and unless memory and descriptors stay flat within 2%
# after the warm-up, and writes the samples and a chart:
#   Benchmarks/results/soak-CONNECTIONS.{csv,json,svg} and soak-CONNECTIONS.txt (the table)
#
#   Benchmarks/soak.sh                       # the one-hour soak: 10,000 connections, 2 msg/s, a sample a minute,
#                                            # the first 20 minutes not judged
#   Benchmarks/soak.sh 90s 1000 200 5s 30s   # DURATION CONNECTIONS RATE INTERVAL WARM-UP (CI's short soak)
#
# The warm-up is 20 minutes by default, not wsbench's 10%: the room's history
# fills at the publish rate (about 2,000 messages, some 8 MiB of server RSS
# for 64-byte messages; 17 minutes at 2 msg/s) and the soak judges what comes
# after. Long: .ci/nightly runs it, not .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."
duration="${1:-1h}"
connections="${2:-10000}"
rate="${3:-2}"
interval="${4:-60s}"
warmup="${5:-20m}"

# One product per call: given two --product flags, swift build builds only the last one.
for product in echo-server wsbench; do swift build -c release --product "$product" >/dev/null; done
ulimit -n 20000 2>/dev/null || true
PORT=$((20000 + RANDOM % 12000))  # below the ephemeral range
.build/release/echo-server --host 127.0.0.1 --port "$PORT" --threads 1 >/dev/null 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true; wait $SERVER 2>/dev/null || true' EXIT
sleep 0.5
kill -0 "$SERVER" 2>/dev/null || { echo "soak.sh: echo-server did not start" >&2; exit 1; }

out="Benchmarks/results/soak-$connections"
mkdir -p Benchmarks/results
bind=()
# Past ~28,000 ephemeral ports per source address, spread the connections over several.
if (( connections > 20000 )); then bind=(--bind 127.0.0.2-127.0.0.40); fi
echo "soak: $connections connections, $rate msg/s, $duration, a sample every $interval (server pid $SERVER)"
set +e
.build/release/wsbench --scenario broadcast -c "$connections" -r "$rate" -t 1 --ramp 2000 "${bind[@]}" \
    --soak "$duration" --sample-interval "$interval" --soak-warmup "$warmup" --server-pid "$SERVER" \
    --json "$out.json" --soak-csv "$out.csv" "ws://127.0.0.1:$PORT/room/soak" 2>/dev/null | tee "$out.txt"
status=${PIPESTATUS[0]}
set -e
if [[ -s "$out.csv" ]]; then
    python3 Benchmarks/soak_chart.py "$out.csv" -o "$out.svg" \
        --warmup "$warmup" --title "Soak: $connections WebSockets in one room, $rate msg/s, $duration (echo-server --threads 1)"
fi
kill -0 "$SERVER" 2>/dev/null || { echo "soak.sh: echo-server died during the soak" >&2; exit 1; }
exit "$status"
