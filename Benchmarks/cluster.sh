#!/usr/bin/env bash
# Cross-node fan-out: one room of 9,000 WebSocket subscribers, three ways, in
# one run (README, "Rooms across nodes"; results in Benchmarks/results/cluster.md):
#   local  one echo-server, no Redis (the raw path)
#   redis  one echo-server with --redis (what the backend costs a node)
#   3x     three echo-servers with --redis, 3,000 subscribers each
# Each publishes the same messages (POST /publish, from every node) and
# room-check measures deliveries per second, latency, CPU per delivery per
# node and Redis's CPU, and checks every delivery (exactly once, one order).
#
#   Benchmarks/cluster.sh [--messages N] [--rate R] [--subscribers N] [--threads N] [--out FILE]
#
# Defaults: 2,000 messages at 500/s, 9,000 subscribers, one loop per node
# (--threads), results to Benchmarks/results/cluster.md. Needs a release build
# (swift build -c release) and redis-server. On a shared machine the figures
# are preliminary: compare the rows of one run, not runs.
set -euo pipefail
cd "$(dirname "$0")/.."

MESSAGES=2000 RATE=500 SUBSCRIBERS=9000 THREADS=1 OUT=Benchmarks/results/cluster.md BIN=.build/release
while [[ $# -gt 0 ]]; do
    case "$1" in
        --messages) MESSAGES="$2"; shift 2 ;;
        --rate) RATE="$2"; shift 2 ;;
        --subscribers) SUBSCRIBERS="$2"; shift 2 ;;
        --threads) THREADS="$2"; shift 2 ;;
        --out) OUT="$2"; shift 2 ;;
        --bin) BIN="$2"; shift 2 ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "cluster.sh: unknown option $1" >&2; exit 2 ;;
    esac
done
command -v redis-server >/dev/null || { echo "cluster.sh: needs redis-server (apt-get install redis-server)" >&2; exit 2; }
for tool in echo-server room-check; do
    [[ -x "$BIN/$tool" ]] || { echo "cluster.sh: $BIN/$tool is missing: swift build -c release" >&2; exit 2; }
done
ulimit -n 20000 2>/dev/null || true

WORK="$(mktemp -d /tmp/fanout-cluster-bench-XXXXXX)"
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

source Tests/lib/server-process.sh  # free_port

stop_all() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    PIDS=()
}

# run NAME NODES REDIS(yes/no): starts the servers, runs room-check, keeps its JSON.
run() {
    local name="$1" nodes="$2" redis="$3" redis_args=() check_args=() pids=()
    if [[ "$redis" == yes ]]; then
        local redis_port
        redis_port=$(free_port)
        redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no --dir "$WORK" >"$WORK/redis-$name.log" 2>&1 &
        PIDS+=($!)
        check_args+=(--redis-pid $!)
        until redis-cli -p "$redis_port" ping 2>/dev/null | grep -q PONG; do sleep 0.1; done
        redis_args=(--redis "redis://127.0.0.1:$redis_port")
    fi
    for node in $(seq "$nodes"); do
        local port
        port=$(free_port)
        "$BIN/echo-server" --host 127.0.0.1 --port "$port" --threads "$THREADS" --publish-token bench \
            --ping-interval 0 "${redis_args[@]}" ${redis_args:+--node-id "$name-$node"} >"$WORK/$name-$node.log" 2>&1 &
        PIDS+=($!)
        pids+=($!)
        check_args+=(--node "127.0.0.1:$port")
        until http_get "http://127.0.0.1:$port/stats" >/dev/null; do sleep 0.1; done
    done
    for pid in "${pids[@]}"; do check_args+=(--server-pid "$pid"); done
    echo "=== $name: $nodes node(s), $SUBSCRIBERS subscribers, $MESSAGES messages at $RATE/s" >&2
    "$BIN/room-check" "${check_args[@]}" --room bench --subscribers $((SUBSCRIBERS / nodes)) --publishers $((9 / nodes)) \
        --messages "$MESSAGES" --rate "$RATE" --token bench --threads 2 --drain-timeout 60 --json "$WORK/$name.json" >&2 \
        || echo "cluster.sh: $name did not pass its checks (see above)" >&2
    stop_all
}

run local 1 no
run redis 1 yes
run 3x 3 yes

python3 - "$WORK" "$OUT" "$MESSAGES" "$RATE" "$SUBSCRIBERS" "$THREADS" <<'EOF'
import json, os, sys, datetime, subprocess
work, out, messages, rate, subscribers, threads = sys.argv[1:]
rows = []
for name, label in (("local", "1 node, no Redis"), ("redis", "1 node, Redis"), ("3x", "3 nodes x %d, Redis" % (int(subscribers) // 3))):
    path = os.path.join(work, name + ".json")
    if not os.path.exists(path):
        rows.append(f"| {label} | (no result) | | | | | | |")
        continue
    r = json.load(open(path))
    per_node = ", ".join(f"{s['microsecondsPerDelivery']}" for s in r["servers"])
    cpu = sum(s["cpuSeconds"] for s in r["servers"])
    total = cpu / r["deliveries"] * 1e6 if r["deliveries"] else 0
    redis = f"{r['redisCpuSeconds']} s ({r['redisCpuSeconds'] / max(1, r['acknowledged']) * 1e6:.1f} µs/publish)" if r["redisCpuSeconds"] is not None else "-"
    verdict = "yes" if r["passed"] else "NO: " + "; ".join(r["failures"])
    rows.append(f"| {label} | {r['deliveriesPerSecond']:,.0f} | {r['latencyMs']['p50']} | {r['latencyMs']['p99']} | {per_node} | {total:.2f} | {redis} | {verdict} |")
READING = """
Reading it: every setup delivers the same messages to the same 9,000 subscribers; "exactly once,
one order" is room-check's verdict on every delivery. Server CPU per delivery is the nodes' CPU
over the run divided by their deliveries: at a rate the servers keep up with, it is mostly one
write per subscriber per loop pass, so a setup that batches fewer messages per pass (a lower
achieved rate) pays more per delivery; compare setups at the same achieved rate. Redis's CPU
includes its idle timers over the whole run; its cost per publish under load is
`Benchmarks/redis.sh`'s `script` row (about 7.7 µs). The publish rate of the whole cluster is
bounded by that (one Redis thread), its delivery rate by the nodes (each fans out to its own
members): see the README, "Rooms across nodes", for the limit and the next steps.
"""
load = open("/proc/loadavg").read().split()[0]
commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
text = f"""# Cross-node fan-out (preliminary)

`Benchmarks/cluster.sh --messages {messages} --rate {rate} --subscribers {subscribers} --threads {threads}`, commit {commit},
{datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M')} UTC, load average {load} at the end (2 shared cores: servers, Redis
and room-check on the same two cores; compare rows of one run).

| setup | deliveries/s | p50 ms | p99 ms | server CPU µs per delivery, per node | all nodes, µs per delivery | Redis CPU | exactly once, one order |
|---|---:|---:|---:|---|---:|---|---|
""" + "\n".join(rows) + "\n" + READING
os.makedirs(os.path.dirname(out) or ".", exist_ok=True)
open(out, "w").write(text)
print(text)
EOF
