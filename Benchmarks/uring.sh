#!/usr/bin/env bash
# echo-server on io_uring against echo-server on epoll, in one run (issue 20):
# echo at 100 and 1,000 connections (server CPU per echoed message),
# 1 → 10,000 at 2 msg/s (server CPU per delivery, p99), 10,000 connections
# opened with at most 128 handshakes in flight (time, handshake p99, server
# CPU each) and the e2e fan-out ladder into 1,000. The server is pinned to
# core 0 with one loop, wsbench to core 1 on epoll (the same client for
# both); a fresh server for every run, the two backends taking turns, each
# scenario repeated and the median kept. Writes Benchmarks/results/uring.md,
# uring.json (the medians and the io_uring/epoll ratios) and one wsbench
# JSON file per run (uring-{epoll,uring}-SCENARIO-REP.json), with what a
# system call costs on the server's core before and after the runs
# (`micro-bench syscall-cost`), which the echo ratios move with.
#
#   Benchmarks/uring.sh [--quick] [--reps N]   (--quick: 2 s windows; default 5 s, 3 repetitions)
#
# The runs themselves are lib/uring-scenarios.sh's (the broadcast window is
# three times as long).
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=5
REPS=3
while [[ $# -gt 0 ]]; do
    case "$1" in
        --quick) DURATION=2; shift ;;
        --reps) REPS="$2"; shift 2 ;;
        *) echo "usage: Benchmarks/uring.sh [--quick] [--reps N]" >&2; exit 2 ;;
    esac
done
source Benchmarks/lib/pinned-runs.sh
source Benchmarks/lib/uring-scenarios.sh

if [[ -r /proc/sys/kernel/io_uring_disabled && "$(cat /proc/sys/kernel/io_uring_disabled)" != 0 ]]; then
    echo "uring.sh: io_uring is disabled here (sysctl kernel.io_uring_disabled); both runs would be epoll" >&2
    exit 3
fi

# io_uring's advantage is the system calls it saves, so the ratios are read beside what one costs.
swift build -c release --product micro-bench >/dev/null
SYSCALL_BEFORE=$(syscall_ns)

rm -f "$OUT"/uring-{epoll,uring}-*.json
for ((rep = 1; rep <= REPS; rep++)); do
    for scenario in echo-100 echo-1000 broadcast-10000 connect-10000 fanout-ladder; do
        for io in epoll uring; do
            name="uring-$io-$scenario-$rep"
            start_server --io "$io"
            run_scenario "$name" "$scenario"
        done
    done
done

SYSCALL_AFTER=$(syscall_ns)
TABLE=$(python3 Benchmarks/uring_table.py "$OUT" --json "$OUT/uring.json" --syscall-ns "$SYSCALL_BEFORE" "$SYSCALL_AFTER")
INTRO="Taken with nothing else on the machine (other work running beside it moves these ratios by more
than 10%: compare only figures from one quiet run). Each figure is the median of $REPS runs; the two backends took
turns, scenario by scenario, each on a fresh \`echo-server --threads 1 --io epoll|uring\`. For server CPU the
io_uring/epoll column is the median of the per-repetition ratios (the two runs of a repetition are back to back,
so drift between repetitions cancels), each repetition's ratio in parentheses; uring.json also has the ratio of
the medians. The broadcast window is $((3 * DURATION)) s (others $DURATION s). wsbench is the
same client for both (\`--io epoll\`). Server CPU comes from /proc/PID/stat (user and system time of
every thread, io_uring's workers included). The issue's targets: server CPU per echoed message at 100
and 1,000 connections and per delivery at 1 → 10,000 at 2 msg/s each at least 10% lower on io_uring;
handshake p99 at most 10 ms on either backend; the fan-out ladder no lower than on epoll.
A system call (getppid, \`micro-bench syscall-cost\` on core 0) cost $SYSCALL_BEFORE ns before the runs and
$SYSCALL_AFTER ns after: io_uring's advantage is the system calls it saves, so the echo ratios move with it.

$TABLE"
write_report "echo-server on io_uring against epoll" "$OUT/uring.md" "$INTRO"
