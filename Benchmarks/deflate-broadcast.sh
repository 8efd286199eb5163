#!/usr/bin/env bash
# permessage-deflate end to end, in one run: a JSON ticker feed (wsbench
# --payload ticker, 1 KiB quotes) broadcast to 10,000 subscribers, echo-server
# pinned to core 0 with one loop and wsbench to core 1 (lib/pinned-runs.sh).
# Three runs of the same rate ladder:
#   raw      echo-server without --deflate, subscribers offer nothing
#   offered  echo-server --deflate, subscribers offer nothing (what offering costs)
#   deflate  echo-server --deflate, every subscriber agrees (wsbench --deflate)
# and, per rung, bytes on the wire per delivery, deliveries/s, the server's
# CPU per delivery and latency. Then memory per idle connection with deflate
# agreed (Benchmarks/idle-memory.sh, whose holder offers what a browser does).
# Writes Benchmarks/results/deflate-broadcast.md and deflate-*.json.
#
# The rates are low on purpose: every delivery costs wsbench one inflate
# (about 39k instructions for 1 KiB, the gate's inflate-1KiB-ticker), so one
# client core inflates at most about 80,000 messages a second: from about 8
# msg/s into 10,000 subscribers the client, not the server, falls behind (it
# stops reading, and the server evicts its connections at the queue cap). At 2
# msg/s each delivery is its own write, which is where the server's CPU per
# delivery means something (DESIGN.md, "Measuring").
#
#   Benchmarks/deflate-broadcast.sh [-c 10000] [--rates 2,5] [-d 5s] [--no-idle]
set -euo pipefail
cd "$(dirname "$0")/.."
COUNT=10000
RATES=2,5
DURATION=5s
IDLE=1
while [[ $# -gt 0 ]]; do
    case "$1" in
        -c) COUNT="$2"; shift 2 ;;
        --rates) RATES="$2"; shift 2 ;;
        -d) DURATION="$2"; shift 2 ;;
        --no-idle) IDLE=0; shift ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "deflate-broadcast: unknown option $1" >&2; exit 2 ;;
    esac
done
source Benchmarks/lib/pinned-runs.sh

# 10,000 subscribers and one publisher, from 39 source addresses (each its own ephemeral ports).
LADDER=(-t 1 --scenario broadcast -c "$((COUNT + 1))" -s 1k --payload ticker --rates "$RATES" -d "$DURATION"
        --timeout 60s --bind 127.0.0.2-40)
start_server
run deflate-raw "${LADDER[@]}" "ws://127.0.0.1:$PORT/room/ticker"
start_server --deflate
run deflate-offered "${LADDER[@]}" "ws://127.0.0.1:$PORT/room/ticker"
start_server --deflate
run deflate-agreed "${LADDER[@]}" --deflate "ws://127.0.0.1:$PORT/room/ticker"

TABLE=$(python3 - "$OUT/deflate-raw.json" "$OUT/deflate-offered.json" "$OUT/deflate-agreed.json" <<'PY'
import json, sys
print("| run | deflate agreed | rate (msg/s) | deliveries/s | bytes per delivery | server µs per delivery | client CPU % | p50 ms | p99 ms | kept up |")
print("|---|---|---|---|---|---|---|---|---|---|")
for path in sys.argv[1:]:
    name = path.rsplit("/", 1)[-1][:-5].replace("deflate-", "")
    try:
        report = json.load(open(path))
    except (OSError, ValueError):
        print(f"| {name} | (no result) | | | | | | | | |")
        continue
    agreed = report.get("deflate_agreed") or {}
    agreed = ", ".join(f"{count:,} × {parameters}" for parameters, count in agreed.items()) or "none"
    for rung in (report.get("ladder") or {}).get("rungs", []):
        w = rung["window"]
        bpm = w.get("bytes_per_message") or 0
        us = w.get("server_us_per_message")
        lat = w.get("latency_ns") or {}
        print(f"| {name} | {agreed} | {w['rate']:g} | {w['received_per_second']:,.0f} | "
              f"{bpm:,.0f} | {us if us is not None else '–'} | {w.get('client_cpu_percent', '–')} | "
              f"{lat.get('p50', 0) / 1e6:.1f} | {lat.get('p99', 0) / 1e6:.1f} | "
              f"{'yes' if rung['passed'] else 'no: ' + rung['reason']} |")
PY
)
{ echo "### Summary"; echo; echo "$TABLE"; } >> "$SUMMARY"
echo >> "$SUMMARY"
if ((IDLE)); then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
    {
        echo "### Memory per idle connection (\`Benchmarks/idle-memory.sh -c $COUNT\`)"
        echo
        bash Benchmarks/idle-memory.sh -c "$COUNT"
        echo
    } >> "$SUMMARY"
fi
write_report "permessage-deflate on a JSON ticker feed, 10,000 subscribers" "$OUT/deflate-broadcast.md" \
    "Bytes per delivery are the frame bytes each subscriber received (headers included). \"raw\": the server without --deflate; \"offered\": --deflate, but no subscriber offers it; \"agreed\": every subscriber agreed, so each message is deflated once and the compressed frame goes to all 10,000. With deflate, latency includes the one wsbench thread inflating 10,000 copies of each message in one burst (about 12 µs each): a client's cost, which 10,000 real clients pay in parallel. Each run's own table first, then the summary of all three, then idle memory."
echo "$TABLE"
