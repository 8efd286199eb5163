#!/usr/bin/env bash
# The chat store's write path (chatstore-bench run): messages/s stored with
# PRAGMA synchronous FULL and NORMAL, group commit on and off (one transaction
# per message), with 100 and then 1,000 senders each waiting for its
# acknowledgement before sending again. Files go to a directory on the
# repository's file system (fsync costs what it costs there), removed after.
# Writes Benchmarks/results/chatstore.md. Preliminary on a shared machine:
# compare the rows of one run with each other.
#
#   Benchmarks/chatstore.sh [--seconds S]
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_RUN=3
while [[ $# -gt 0 ]]; do
    case "$1" in
        --seconds) SECONDS_PER_RUN="$2"; shift 2 ;;
        *) echo "usage: $0 [--seconds S]" >&2; exit 2 ;;
    esac
done
swift build -c release --product chatstore-bench >/dev/null
BIN=.build/release/chatstore-bench
DIR=$(mktemp -d .build/chatstore-bench.XXXXXX)
trap 'rm -rf "$DIR"' EXIT
OUT=Benchmarks/results/chatstore.md
{
    echo "# Chat store: messages stored per second"
    echo
    echo "\`Benchmarks/chatstore.sh --seconds $SECONDS_PER_RUN\` on $(date -u +%Y-%m-%d), commit $(git rev-parse --short HEAD), $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)),"
    echo "file system $(df -T "$DIR" | awk 'NR == 2 { print $2 }'), SQLite $(pkg-config --modversion sqlite3), load average $(cut -d' ' -f1-3 /proc/loadavg)."
    echo "Each row: a fresh file, N senders each sending a 64-byte public message when the store acknowledged its"
    echo "last (after COMMIT), for $SECONDS_PER_RUN s. \"ack\" is enqueue to completion. Group commit off is"
    echo "\`maxBatchSize = 1\`: one transaction, and with FULL one fsync, per message."
    for senders in 100 1000; do
        echo
        echo "## $senders senders"
        echo
        "$BIN" run --dir "$DIR" --seconds "$SECONDS_PER_RUN" --in-flight "$senders"
    done
} > "$OUT"
cat "$OUT"
echo "wrote $OUT" >&2
