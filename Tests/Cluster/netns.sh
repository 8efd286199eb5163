#!/usr/bin/env bash
# Rooms across nodes through a network's faults: Redis, each of three
# echo-server nodes and the checker each in its own network namespace
# (ip netns), joined by veth pairs to a bridge in a hub namespace (nothing
# is added to the host's own network). While room-check publishes and checks
# (every acknowledged message everywhere exactly once, in one order):
#   - node 2 reaches Redis through Tests/Netns/delay_proxy.py, 30 ms each way (latency;
#     tc netem is not available on these kernels);
#   - node 3's packets to and from Redis are dropped at random, 5% each way
#     (nftables `numgen random`);
#   - node 1 is cut off from Redis (nftables drop) for 20 s, then healed: long
#     enough for its connection to be declared dead (health check, 5 s, then
#     no reply in 10 s), so it reconnects and fetches what it missed.
# Then node 1's /stats must show the outage.
#
#   Tests/Cluster/netns.sh [--bin DIR]
#
# Needs root (CAP_NET_ADMIN), iproute2, nftables, redis-server, python3 and a
# release build. Not part of .ci/run (it needs those privileges); about a minute.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=.build/release
while [[ $# -gt 0 ]]; do
    case "$1" in
        --bin) BIN="$2"; shift 2 ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "netns: unknown option $1" >&2; exit 2 ;;
    esac
done
for tool in ip nft redis-server python3; do
    command -v "$tool" >/dev/null || { echo "netns: needs $tool (apt-get install iproute2 nftables redis-server python3)" >&2; exit 2; }
done
for tool in echo-server room-check; do
    [[ -x "$BIN/$tool" ]] || { echo "netns: $BIN/$tool is missing: swift build -c release" >&2; exit 2; }
done
ulimit -n 20000 2>/dev/null || true

ID="fo17-$$"   # namespace names are the host's: unique per run
HUB="$ID-hub" SUBNET=10.77.0
WORK="$(mktemp -d /tmp/fanout-netns-XXXXXX)"
NAMESPACES=()
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    for ns in "${NAMESPACES[@]}"; do ip netns del "$ns" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT

ip netns add "$HUB" || { echo "netns: cannot create a network namespace (root, CAP_NET_ADMIN?)" >&2; exit 2; }
NAMESPACES+=("$HUB")
ip -n "$HUB" link add br0 type bridge
ip -n "$HUB" link set br0 up

# attach NAME LAST-OCTET: a namespace with a veth to the hub's bridge, address $SUBNET.OCTET.
attach() {
    local ns="$ID-$1" octet="$2"
    ip netns add "$ns"
    NAMESPACES+=("$ns")
    ip link add "v$octet-$$" type veth peer name eth0 netns "$ns"
    ip link set "v$octet-$$" netns "$HUB"
    ip -n "$HUB" link set "v$octet-$$" master br0 up
    ip -n "$ns" addr add "$SUBNET.$octet/24" dev eth0
    ip -n "$ns" link set eth0 up
    ip -n "$ns" link set lo up
}
attach redis 2
attach node1 11
attach node2 12
attach node3 13
attach client 20
run_in() { local ns="$ID-$1"; shift; ip netns exec "$ns" "$@"; }
# Background processes are started with `ip netns exec` itself (it execs the command), so $! is theirs.

REDIS="$SUBNET.2"
ip netns exec "$ID-redis" redis-server --port 6379 --bind "$REDIS" --protected-mode no --save '' --appendonly yes --appendfsync always --dir "$WORK" \
    --logfile "$WORK/redis.log" &
PIDS+=($!)
# Node 2's way to Redis: a proxy in Redis's namespace adding 30 ms each way.
ip netns exec "$ID-redis" python3 Tests/Netns/delay_proxy.py --listen "$REDIS:6380" --to "$REDIS:6379" --delay-ms 30 &
PIDS+=($!)
for _ in $(seq 100); do run_in client python3 -c "import socket; socket.create_connection(('$REDIS', 6380), 1)" 2>/dev/null && break; sleep 0.1; done

TOKEN=netns-test
NODE_PIDS=()
for node in 1 2 3; do
    port=6379
    [[ $node -eq 2 ]] && port=6380
    ip netns exec "$ID-node$node" "$BIN/echo-server" --host "$SUBNET.1$node" --port 9001 --threads 2 --publish-token "$TOKEN" \
        --redis "redis://$REDIS:$port" --node-id "node$node" >"$WORK/node$node.log" 2>&1 &
    PIDS+=($!)
    NODE_PIDS+=($!)
done
stats() {  # stats NODE FIELD: a field of node's /stats "backend"
    run_in client python3 -c "import json, urllib.request
print(json.load(urllib.request.urlopen('http://$SUBNET.1$1:9001/stats', timeout=5))['backend']['$2'])"
}
for node in 1 2 3; do
    for _ in $(seq 100); do [[ "$(stats "$node" state 2>/dev/null)" == up ]] && break; sleep 0.1; done
    [[ "$(stats "$node" state)" == up ]] || {
        echo "netns: node $node did not reach Redis: $(stats "$node" lastError)" >&2
        cat "$WORK/node$node.log" "$WORK/redis.log" >&2
        exit 1
    }
done
echo "netns: Redis, three nodes and the checker in their own namespaces; node 2 through a 30 ms proxy"

# Node 3: 5% of packets to and from Redis dropped, for the whole run.
run_in node3 nft -f - <<EOF
table inet loss {
    chain in { type filter hook input priority 0; policy accept; ip saddr $REDIS numgen random mod 100 < 5 drop; }
    chain out { type filter hook output priority 0; policy accept; ip daddr $REDIS numgen random mod 100 < 5 drop; }
}
EOF
echo "netns: node 3 loses 5% of its packets to and from Redis"

ip netns exec "$ID-client" "$BIN/room-check" --node "$SUBNET.11:9001" --node "$SUBNET.12:9001" --node "$SUBNET.13:9001" --room faults \
    --subscribers 300 --publishers 2 --messages 6000 --rate 150 --token "$TOKEN" --threads 2 --drain-timeout 60 \
    --json "$WORK/faults.json" &
CHECK=$!
sleep 5
run_in node1 nft -f - <<EOF
table inet partition {
    chain in { type filter hook input priority 0; policy accept; ip saddr $REDIS drop; }
    chain out { type filter hook output priority 0; policy accept; ip daddr $REDIS drop; }
}
EOF
echo "netns: node 1 cut off from Redis for 20 s"
sleep 20
run_in node1 nft delete table inet partition
echo "netns: node 1's partition healed"
status=0
wait "$CHECK" || status=$?
python3 - "$WORK/faults.json" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
print(f"netns: {r['acknowledged']} acknowledged, {r['refused']} refused (503), {r['unknown']} unknown (504, {r['unknownDelivered']} delivered everywhere); p99 {r['latencyMs']['p99']} ms")
EOF
[[ $status -eq 0 ]] || { echo "netns: room-check failed under the faults" >&2; exit 1; }
for _ in $(seq 50); do [[ "$(stats 1 outages)" -ge 1 && "$(stats 1 state)" == up ]] && break; sleep 0.2; done
echo "netns: node 1: state $(stats 1 state), outages $(stats 1 outages), the last $(stats 1 lastOutageSeconds) s; last error: $(stats 1 lastError)"
echo "netns: node 3: outages $(stats 3 outages), fills $(run_in client python3 -c "import json, urllib.request
print(json.load(urllib.request.urlopen('http://$SUBNET.13:9001/stats', timeout=5))['backend']['sequencing']['fills'])")"
[[ "$(stats 1 outages)" -ge 1 && "$(stats 1 state)" == up ]] || { echo "netns: node 1 did not report its outage" >&2; exit 1; }
echo "netns: PASSED"
