#!/usr/bin/env bash
# Wall-clock micro benchmarks: runs `micro-bench run` (all, or the NAMEs given)
# and writes Benchmarks/results/micro.json and micro.md, headed with the
# machine, commit and date. Each figure is the best of several runs; on a
# shared machine compare them as ratios within one run. Regressions are caught
# by Benchmarks/gate.sh, which counts instructions instead.
#
#   Benchmarks/run-micro.sh [NAME...]
#
# Options, or their variables (as for gate.sh):
#   --package-path DIR   MICRO_BENCH_PACKAGE_PATH  the package with micro-bench (default: this repo)
#   --scratch-path DIR   MICRO_BENCH_SCRATCH_PATH  its build directory (default: swift build's)
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="$(cd "$HERE/.." && pwd)"
RESULTS="$HERE/results"
PACKAGE="${MICRO_BENCH_PACKAGE_PATH:-$REPO}"
SCRATCH="${MICRO_BENCH_SCRATCH_PATH:-}"
NAMES=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        --package-path) PACKAGE="$2"; shift 2 ;;
        --scratch-path) SCRATCH="$2"; shift 2 ;;
        -*) echo "run-micro: unknown option $1" >&2; exit 2 ;;
        *) NAMES+=("$1"); shift ;;
    esac
done

BUILD=(swift build -c release --product micro-bench --package-path "$PACKAGE")
[[ -n "$SCRATCH" ]] && BUILD+=(--scratch-path "$SCRATCH")
"${BUILD[@]}" >&2
BIN="$("${BUILD[@]}" --show-bin-path)/micro-bench"

mkdir -p "$RESULTS"
RAW="$(mktemp)"
TABLE="$(mktemp)"
trap 'rm -f "$RAW" "$TABLE"' EXIT
"$BIN" run "${NAMES[@]}" --json "$RAW" >"$TABLE"

DATE="$(date -u +%Y-%m-%dT%H:%MZ)"
COMMIT="$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)"
[[ -n "$(git -C "$REPO" status --porcelain -- Sources/CEpoll Sources/Reactor Sources/WebSocketCodec Sources/Broadcast Benchmarks/micro-bench 2>/dev/null)" ]] && COMMIT="$COMMIT+changes"
CPU="$(sed -n -E 's/^model name[^:]*: *//p' /proc/cpuinfo | head -1)"
CORES="$(nproc)"
SWIFT="$(swift --version 2>&1 | sed -n -E 's/.*Swift version ([^ ]+).*/\1/p' | head -1)"
LOAD="$(cut -d' ' -f1-3 /proc/loadavg)"

{
    echo "{"
    echo "  \"date\": \"$DATE\", \"commit\": \"$COMMIT\", \"cpu\": \"$CPU\", \"cores\": $CORES, \"swift\": \"$SWIFT\", \"loadAverage\": \"$LOAD\","
    echo "  \"results\": $(sed '2,$s/^/  /' "$RAW")"
    echo "}"
} >"$RESULTS/micro.json"

{
    echo "# Micro benchmarks (wall clock)"
    echo
    echo "\`Benchmarks/run-micro.sh\` on $DATE, commit $COMMIT, $CPU, $CORES cores (shared; load average $LOAD), Swift $SWIFT."
    echo "Best of 5 runs of at least 0.2 s each; GB/s is payload bytes (10^9) per second. Publishes go to local"
    echo "subscribers on one loop, through a sink that does a server's lookups but no system call; the per-delivery"
    echo "figure includes the loop pass of each publish. Instruction counts, which the gate compares, are in"
    echo "\`Benchmarks/baseline.json\`."
    echo
    cat "$TABLE"
} >"$RESULTS/micro.md"

cat "$RESULTS/micro.md"
echo "run-micro: wrote $RESULTS/micro.json and $RESULTS/micro.md" >&2
