#!/usr/bin/env bash
# What the memory budget's accounting costs: this tree's echo-server against
# another build of it (the commit before the budget), case by case, taking
# turns, a fresh server for each run (pinned as in e2e.sh). The cases touch
# each place the budget counts: small echoes (every read asks whether the
# reader holds anything), 200 KB echoes (each arrives in pieces: reassembled,
# counted per read, checked against the budget), and a room publish to 1,000
# (deliveries: untouched unless a member queues). Writes
# Benchmarks/results/budget.md and one wsbench JSON file per run.
#
#   Benchmarks/budget.sh BASELINE-ECHO-SERVER [--quick]
#
# BASELINE-ECHO-SERVER: a release echo-server built from the commit to compare
# with, e.g. git archive efcc82a | tar -x -C /tmp/base && (cd /tmp/base &&
# swift build -c release --product echo-server), then /tmp/base/.build/release/echo-server.
set -euo pipefail
cd "$(dirname "$0")/.."
[[ $# -ge 1 && -x "$1" ]] || { echo "usage: $0 BASELINE-ECHO-SERVER [--quick]" >&2; exit 2; }
BASELINE=$(realpath "$1")
DURATION=5s
[[ "${2:-}" == "--quick" ]] && DURATION=2s
source Benchmarks/lib/pinned-runs.sh
BUDGET_SERVER=$SERVER

for case in echo-100 echo-200k broadcast-1000; do
    case $case in
        echo-100) ARGS=(-c 100) ROUTE=/echo ;;
        echo-200k) ARGS=(-c 20 -s 200k) ROUTE=/echo ;;
        broadcast-1000) ARGS=(--scenario broadcast -c 1001 -r 1000) ROUTE=/room/b ;;
    esac
    for build in baseline budget; do
        if [[ $build == baseline ]]; then SERVER=$BASELINE; else SERVER=$BUDGET_SERVER; fi
        start_server
        run "budget-$case-$build" -t 1 -d "$DURATION" "${ARGS[@]}" "ws://127.0.0.1:$PORT$ROUTE"
    done
done
SERVER=$BUDGET_SERVER

TABLE=$(python3 - "$OUT" <<'PY'
import json, os, sys
out = sys.argv[1]
print("| case | build | messages/s | p50 | p99 | server µs/message | budget/baseline |")
print("|---|---|---:|---:|---:|---:|---:|")
for case in ["echo-100", "echo-200k", "broadcast-1000"]:
    runs = {}
    for build in ["baseline", "budget"]:
        path = os.path.join(out, f"budget-{case}-{build}.json")
        runs[build] = json.load(open(path))["measured"] if os.path.exists(path) else None
    for build in ["baseline", "budget"]:
        m = runs[build]
        if m is None:
            print(f"| {case} | {build} | (no result) | | | | |")
            continue
        ratio = ""
        if build == "budget" and runs["baseline"] and runs["baseline"]["server_us_per_message"]:
            ratio = f"{m['server_us_per_message'] / runs['baseline']['server_us_per_message']:.3f}"
        lat = m["latency_ns"]
        print(f"| {case} | {build} | {m['received_per_second']:,.0f} | {lat['p50'] / 1e6:.2f} ms | {lat['p99'] / 1e6:.2f} ms "
              f"| {m['server_us_per_message']:.3f} | {ratio} |")
PY
)
INTRO="**Preliminary**: a shared, noisy 2-core machine; compare the ratio within this run only. \`baseline\` is
\`$BASELINE\` (the tree before the budget), \`budget\` this tree's echo-server.
Server µs per message: per echo (echo cases), per delivery (broadcast).

$TABLE"
write_report "The memory budget's accounting against the build before it" "$OUT/budget.md" "$INTRO"
