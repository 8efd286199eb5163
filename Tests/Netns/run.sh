#!/usr/bin/env bash
# Network faults between clients and echo-server (netns_test.py says which and
# what is checked): a client and a server network namespace joined by a veth
# pair, loss and a healing partition by nftables rules in the server's
# namespace, delay and re-segmentation by a small TCP proxy in the client's.
# Needs root, iproute2, nftables and python3 (installed when missing, on Debian).
# The namespaces, and with them the veth pair and every rule, are removed on
# exit, failed or not.
#
#   Tests/Netns/run.sh [--loss PERCENT]
#
# The addresses are 198.18.0.1 (server) and 198.18.0.2 (client), from the
# range set aside for benchmarks (RFC 2544); they exist only inside the two
# namespaces, which have no other route.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [[ $(id -u) -ne 0 ]]; then
    echo "Tests/Netns/run.sh: needs root (ip netns, nft); run it as root or with sudo" >&2
    exit 2
fi
for tool in ip:iproute2 nft:nftables; do
    if ! command -v "${tool%%:*}" >/dev/null; then
        echo "installing ${tool#*:}"
        apt-get install -y "${tool#*:}" >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y "${tool#*:}" >/dev/null; }
    fi
done
# One product per call: given two --product flags, swift build builds only the last one.
for product in echo-server wsbench; do swift build -c release --product "$product" >/dev/null; done

id="$$"
server_ns="fanout-srv-$id"
client_ns="fanout-cli-$id"
veth_server="fs$id"
veth_client="fc$id"
checker=""
cleanup() {
    if [[ -n "$checker" ]]; then kill -TERM "$checker" 2>/dev/null || true; wait "$checker" 2>/dev/null || true; fi
    for ns in "$server_ns" "$client_ns"; do
        if ip netns list | grep -qw "$ns"; then
            # Whatever still runs in it (the server, a proxy) goes first.
            for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
            ip netns delete "$ns" 2>/dev/null || true
        fi
    done
    ip link delete "$veth_client" 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM  # through the EXIT trap

ip netns add "$server_ns"
ip netns add "$client_ns"
ip link add "$veth_client" type veth peer name "$veth_server"
ip link set "$veth_server" netns "$server_ns"
ip link set "$veth_client" netns "$client_ns"
ip -n "$server_ns" addr add 198.18.0.1/30 dev "$veth_server"
ip -n "$client_ns" addr add 198.18.0.2/30 dev "$veth_client"
for ns in "$server_ns" "$client_ns"; do ip -n "$ns" link set lo up; done
ip -n "$server_ns" link set "$veth_server" up
ip -n "$client_ns" link set "$veth_client" up

ulimit -n 20000
# In the background, waited for: a signal to this script then runs the cleanup at once.
ip netns exec "$client_ns" python3 Tests/Netns/netns_test.py --server-ns "$server_ns" --veth "$veth_server" \
    --address 198.18.0.1 --server .build/release/echo-server --wsbench .build/release/wsbench "$@" &
checker=$!
status=0
wait "$checker" || status=$?
checker=""
exit "$status"
