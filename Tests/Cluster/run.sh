#!/usr/bin/env bash
# Rooms across nodes, on a real redis-server and three echo-server processes
# (README, "Rooms across nodes"). What must hold:
#   1. fan-out: 3 x 1,000 WebSocket subscribers of one room receive 10,000
#      messages published from all three nodes, exactly once each and in one
#      order (the order of the sequences the 202s carried);
#   2. move: a client that comes back on another node with its last sequence
#      gets exactly what it missed (SSE Last-Event-ID, long-polling since=);
#   3. outage: Redis killed (SIGKILL) and restarted mid-stream: no acknowledged
#      publish lost, none refused delivered, the nodes resubscribe, and /stats
#      shows the outage and its length.
#
#   Tests/Cluster/run.sh [--bin DIR] [--quick] [--only fanout|move|outage]
#
# --bin: where echo-server and room-check are (default .build/release; build
# them with swift build -c release). --quick: a tenth of the messages in the
# fan-out. --only: that check alone.
# Redis runs with appendonly yes and appendfsync always: an acknowledged
# publish is on disk before its 202, which is what "no acknowledged publish
# lost" across a crash needs. Without redis-server the script says how to
# install it and exits 0 (skipped); .ci/run installs it.
set -euo pipefail
cd "$(dirname "$0")/../.."

BIN=.build/release
QUICK=0
ONLY=""
while [[ $# -gt 0 ]]; do
    case "$1" in
        --bin) BIN="$2"; shift 2 ;;
        --quick) QUICK=1; shift ;;
        --only) ONLY="$2"; shift 2 ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "cluster: unknown option $1" >&2; exit 2 ;;
    esac
done

if ! command -v redis-server >/dev/null; then
    echo "cluster: SKIPPED: these tests start a real Redis: install it with 'apt-get install redis-server' (Debian's package); .ci/run installs it" >&2
    exit 0
fi
for tool in echo-server room-check; do
    [[ -x "$BIN/$tool" ]] || { echo "cluster: $BIN/$tool is missing: swift build -c release" >&2; exit 2; }
done

# Each node holds 1,000 subscribers and more: above a 1,024-descriptor default.
ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

WORK="$(mktemp -d /tmp/fanout-cluster-XXXXXX)"
PIDS=()
REDIS_PID=""
cleanup() {
    for pid in "${PIDS[@]}" $REDIS_PID; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

source Tests/lib/server-process.sh  # free_port

REDIS_PORT=$(free_port)
cat >"$WORK/redis.conf" <<EOF
port $REDIS_PORT
bind 127.0.0.1
dir $WORK
logfile $WORK/redis.log
save ""
appendonly yes
appendfsync always
EOF
start_redis() {
    redis-server "$WORK/redis.conf" &
    REDIS_PID=$!
    for _ in $(seq 100); do
        redis-cli -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG && return 0
        sleep 0.1
    done
    echo "cluster: redis-server did not start (see $WORK/redis.log)" >&2
    cat "$WORK/redis.log" >&2
    exit 1
}
start_redis

TOKEN=cluster-test
PORTS=()
for node in 1 2 3; do
    port=$(free_port)
    "$BIN/echo-server" --host 127.0.0.1 --port "$port" --threads 2 --publish-token "$TOKEN" \
        --redis "redis://127.0.0.1:$REDIS_PORT" --node-id "node$node" >"$WORK/node$node.log" 2>&1 &
    PIDS+=($!)
    PORTS+=("$port")
done
for port in "${PORTS[@]}"; do
    for _ in $(seq 100); do
        http_get "http://127.0.0.1:$port/stats" >/dev/null && break
        sleep 0.1
    done
done
NODES=()
for port in "${PORTS[@]}"; do NODES+=(--node "127.0.0.1:$port"); done

backend() {  # backend FIELD PORT: a field of /stats' "backend"
    http_get "http://127.0.0.1:$2/stats" | python3 -c "import json, sys; print(json.load(sys.stdin)['backend']['$1'])"
}

MESSAGES=10000
[[ $QUICK -eq 1 ]] && MESSAGES=1000

wanted() { [[ -z "$ONLY" || "$ONLY" == "$1" ]]; }

if wanted fanout; then
echo "=== cluster 1: 3 nodes x 1,000 subscribers, $MESSAGES messages from all three nodes"
"$BIN/room-check" "${NODES[@]}" --room fanout --subscribers 1000 --publishers 4 --messages "$MESSAGES" --rate 2000 \
    --token "$TOKEN" --threads 2 --json "$WORK/fanout.json"
fi

if wanted move; then
echo "=== cluster 2: a client moves to another node with its last sequence"
python3 Tests/Cluster/move_check.py --token "$TOKEN" "${PORTS[@]}"
fi

wanted outage || { echo "cluster: PASSED ($ONLY)"; exit 0; }
echo "=== cluster 3: Redis killed and restarted mid-stream"
# 4,000 messages at 400/s: Redis is killed once 400 were acknowledged, however fast this machine is.
acknowledged() {
    local total=0
    for port in "${PORTS[@]}"; do
        total=$((total + $(http_get "http://127.0.0.1:$port/stats" | python3 -c "import json, sys; print(json.load(sys.stdin)['backend']['publishes']['acknowledged'])")))
    done
    echo "$total"
}
# Some data, so that the restarted Redis spends a while loading it (answering LOADING), as a real one does.
redis-cli -p "$REDIS_PORT" eval "for i = 1, 200000 do redis.call('SET', 'pad:' .. i, 'xxxxxxxxxxxxxxxx') end return 1" 0 >/dev/null
BEFORE=$(acknowledged)
"$BIN/room-check" "${NODES[@]}" --room outage --subscribers 200 --publishers 2 --messages 4000 --rate 400 \
    --token "$TOKEN" --threads 2 --drain-timeout 60 --json "$WORK/outage.json" &
CHECK=$!
for _ in $(seq 600); do [[ $(($(acknowledged) - BEFORE)) -ge 400 ]] && break; sleep 0.1; done
echo "cluster: $(($(acknowledged) - BEFORE)) publishes acknowledged; SIGKILL to redis-server (pid $REDIS_PID), restarting it in 2 s"
kill -9 "$REDIS_PID"
wait "$REDIS_PID" 2>/dev/null || true
sleep 2
start_redis
status=0
wait "$CHECK" || status=$?
python3 - "$WORK/outage.json" <<'EOF'
import json, sys
result = json.load(open(sys.argv[1]))
print(f"cluster: during the outage {result['refused']} publishes were refused (503) and {result['unknown']} had an unknown outcome (504), {result['unknownDelivered']} of those delivered everywhere")
if result["refused"] + result["unknown"] == 0:
    sys.exit("cluster: no publish met the outage: the kill came too late or too early")
EOF
[[ $status -eq 0 ]] || { echo "cluster: the outage check failed" >&2; exit 1; }
for port in "${PORTS[@]}"; do
    # Statistics are refreshed every second: wait for the reconnection to show.
    for _ in $(seq 50); do [[ "$(backend state "$port")" == up && "$(backend outages "$port")" -ge 1 ]] && break; sleep 0.2; done
    state=$(backend state "$port") outages=$(backend outages "$port") length=$(backend lastOutageSeconds "$port")
    resyncs=$(backend resynchronizations "$port")
    echo "cluster: node on :$port: state $state, outages $outages, the last $length s, resynchronizations $resyncs"
    [[ "$state" == up && "$outages" -ge 1 && "$resyncs" -ge 1 ]] || { echo "cluster: the node did not report its outage and reconnection" >&2; exit 1; }
    python3 -c "import sys; sys.exit(0 if float('$length') >= 1.5 else 'cluster: the outage lasted about 2 s; the node says $length s')"
done
echo "cluster: PASSED"
