#!/usr/bin/env bash
# What permessage-deflate saves on room messages of each size, and what deflating
# one costs: JSON ticker quotes (wsbench --payload ticker) and chat lines, each
# deflated on its own as a room message is. Writes Benchmarks/results/deflate-sizes.md.
# The size below which DeflateFrameEncoder sends plain without trying
# (defaultMinimumPayloadSize) was chosen from this table; times are preliminary
# on a shared machine, the sizes are exact.
#
#   Benchmarks/deflate-sizes.sh [--samples N]
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product wsbench >/dev/null
OUT=Benchmarks/results/deflate-sizes.md
{
    echo "# permessage-deflate: bytes saved by message size"
    echo
    echo "$(date -u +%Y-%m-%dT%H:%MZ), commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown),"
    echo "$(sed -n -E 's/^model name[^:]*: *//p' /proc/cpuinfo | head -1), load $(cut -d' ' -f1-3 /proc/loadavg)."
    echo
    taskset -c 1 .build/release/wsbench --deflate-sizes "$@"
} >"$OUT.tmp"
mv "$OUT.tmp" "$OUT"
cat "$OUT"
