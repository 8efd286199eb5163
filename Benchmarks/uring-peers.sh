#!/usr/bin/env bash
# How much of what io_uring saves echo-server takes: its io_uring/epoll ratio
# of server CPU per message, beside the same ratio for two minimal C servers
# (Benchmarks/c-echo/: nothing on top of the backend, the same io_uring
# features), in one run. Where the C pair's ratio is no lower than
# echo-server's, what is missing of issue 20's 10% is the machine's, not the
# server's. Echo at 100 and 1,000 connections (per echoed message) and
# 1 → 10,000 at 2 msg/s (per delivery; the C servers relay each frame to
# every other connection); the four servers take turns in each repetition,
# each on a fresh process pinned to core 0, wsbench -t 1 --io epoll on core 1.
# Writes Benchmarks/results/uring-peers.md, uring-peers.json and one wsbench
# JSON file per run (uring-peers-SERVER-SCENARIO-REP.json), with what a system
# call costs on the server's core before and after (micro-bench syscall-cost).
#
#   Benchmarks/uring-peers.sh [--reps N] [--duration SECONDS]   (default 7 repetitions of 4 s)
#
# The runs are lib/uring-scenarios.sh's, as uring.sh's. Needs a C
# compiler, libssl-dev and liburing-dev (apt-get install liburing-dev).
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=4
REPS=7
while [[ $# -gt 0 ]]; do
    case "$1" in
        --reps) REPS="$2"; shift 2 ;;
        --duration) DURATION="$2"; shift 2 ;;
        *) echo "usage: Benchmarks/uring-peers.sh [--reps N] [--duration SECONDS]" >&2; exit 2 ;;
    esac
done
if [[ ! -r /usr/include/liburing.h ]]; then
    echo "uring-peers.sh: the C io_uring server needs liburing: apt-get install liburing-dev" >&2
    exit 3
fi
if [[ "$(cat /proc/sys/kernel/io_uring_disabled 2>/dev/null || echo 0)" != 0 ]]; then
    echo "uring-peers.sh: io_uring is disabled here (sysctl kernel.io_uring_disabled)" >&2
    exit 3
fi
source Benchmarks/lib/pinned-runs.sh
source Benchmarks/lib/uring-scenarios.sh

PEERS=.build/c-echo
mkdir -p "$PEERS"
for backend in epoll uring; do
    libraries=(-lcrypto)
    [[ $backend == uring ]] && libraries+=(-luring)
    cc -O2 -Wall -Wextra -Werror -o "$PEERS/echo-$backend" "Benchmarks/c-echo/echo-$backend.c" Benchmarks/c-echo/websocket.c Benchmarks/c-echo/listener.c "${libraries[@]}"
done

swift build -c release --product micro-bench >/dev/null
SYSCALL_BEFORE=$(syscall_ns)
rm -f "$OUT"/uring-peers-*.json
for ((rep = 1; rep <= REPS; rep++)); do
    for scenario in echo-100 echo-1000 broadcast-10000; do
        for server in c-epoll c-uring server-epoll server-uring; do
            next_port
            mode=()
            [[ $scenario == broadcast-* ]] && mode=(broadcast)
            case $server in
                c-*) start_pinned "$PEERS/echo-${server#c-}" "$PORT" "${mode[@]}" ;;
                server-*) start_pinned "$SERVER" --host 127.0.0.1 --port "$PORT" --threads 1 --io "${server#server-}" ;;
            esac
            run_scenario "uring-peers-$server-$scenario-$rep" "$scenario"
        done
    done
done

SYSCALL_AFTER=$(syscall_ns)
TABLE=$(python3 Benchmarks/uring_peers_table.py "$OUT" --json "$OUT/uring-peers.json" --syscall-ns "$SYSCALL_BEFORE" "$SYSCALL_AFTER")
INTRO="Taken with nothing else on the machine. The servers: \`c-epoll\` and \`c-uring\` are the minimal C
servers of \`Benchmarks/c-echo/\` (one thread; epoll level-triggered, one recv per readiness and one send per
connection per message; io_uring with SINGLE_ISSUER and DEFER_TASKRUN, multishot accept and receive into 2,048
provided 4 KiB buffers, registered files and ring descriptor, one io_uring_enter per pass; for broadcast both
relay each frame to every other connection, io_uring with one copy shared by all its sends); \`server-epoll\`
and \`server-uring\` are \`echo-server --threads 1 --io epoll|uring\`. Each repetition ran the four back to back
on fresh processes, $DURATION s windows ($((3 * DURATION)) s for broadcast), $REPS repetitions. Server CPU per echoed
message or per delivery comes from /proc/PID/stat; each io_uring/epoll ratio is the median of the
per-repetition ratios (each repetition's in parentheses). A system call (getppid, \`micro-bench syscall-cost\`
on core 0) cost $SYSCALL_BEFORE ns before the runs and $SYSCALL_AFTER ns after.

$TABLE"
write_report "io_uring against epoll: echo-server beside minimal C servers" "$OUT/uring-peers.md" "$INTRO"
