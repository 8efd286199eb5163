#!/usr/bin/env bash
# Instruction-count regression gate for the micro benchmarks (DESIGN.md, "Measuring").
#
# Wall-clock time on these shared machines moves by tens of percent from run
# to run; the instructions callgrind counts do not. Each benchmark runs twice
# under callgrind, N and 2N iterations after the same setup, and
# (I(2N) - I(N)) / N is its instructions per op: process start-up, setup and
# tear-down cancel out. More than 3% above Benchmarks/baseline.json fails the
# gate (exit 1); an improvement is printed, never failed.
#
#   Benchmarks/gate.sh                 compare every benchmark with the baseline
#   Benchmarks/gate.sh NAME...         only these
#   Benchmarks/gate.sh --accept        measure and write the baseline; commit it
#
# Counts depend on the compiler, glibc, zlib and valgrind: after upgrading any of
# them, re-accept (and say so in the commit). Options, or their variables:
#   --package-path DIR   MICRO_BENCH_PACKAGE_PATH  the package with micro-bench (default: this repo)
#   --scratch-path DIR   MICRO_BENCH_SCRATCH_PATH  its build directory (default: swift build's)
#   --tolerance PERCENT  GATE_TOLERANCE            default 3
#   --jobs J             GATE_JOBS                 valgrind runs at once (default 1: the cores are shared)
# Exit status: 0 pass, 1 regression (or a benchmark without a baseline), 2 the gate itself failed.
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="$(cd "$HERE/.." && pwd)"
BASELINE="$HERE/baseline.json"
PACKAGE="${MICRO_BENCH_PACKAGE_PATH:-$REPO}"
SCRATCH="${MICRO_BENCH_SCRATCH_PATH:-}"
TOLERANCE="${GATE_TOLERANCE:-3}"
JOBS="${GATE_JOBS:-1}"
ACCEPT=0
SELECTED=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        --accept) ACCEPT=1; shift ;;
        --package-path) PACKAGE="$2"; shift 2 ;;
        --scratch-path) SCRATCH="$2"; shift 2 ;;
        --tolerance) TOLERANCE="$2"; shift 2 ;;
        --jobs) JOBS="$2"; shift 2 ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        -*) echo "gate: unknown option $1" >&2; exit 2 ;;
        *) SELECTED+=("$1"); shift ;;
    esac
done
STARTED=$SECONDS

if ! command -v valgrind >/dev/null; then
    echo "gate: installing valgrind" >&2
    apt-get update >&2 && apt-get install -y valgrind >&2
fi

BUILD=(swift build -c release --product micro-bench --package-path "$PACKAGE")
[[ -n "$SCRATCH" ]] && BUILD+=(--scratch-path "$SCRATCH")
"${BUILD[@]}" >&2 || { echo "gate: build failed" >&2; exit 2; }
BIN="$("${BUILD[@]}" --show-bin-path)/micro-bench"

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
# valgrind 3.19 gives up on the DWARF 5 that Swift 6 emits, so it runs a copy
# without debug info: the same code, symbols kept.
if command -v strip >/dev/null; then
    strip --strip-debug -o "$WORK/micro-bench" "$BIN"
else
    cp "$BIN" "$WORK/micro-bench"
fi

# name -> N, items per op, item (from the benchmark itself: one source of truth).
declare -A ITERATIONS ITEMS ITEM
ORDER=()
while IFS=$'\t' read -r name iterations items item _; do
    ITERATIONS[$name]=$iterations ITEMS[$name]=$items ITEM[$name]=$item
    ORDER+=("$name")
done < <("$WORK/micro-bench" list)
[[ ${#SELECTED[@]} -eq 0 ]] && SELECTED=("${ORDER[@]}")
for name in "${SELECTED[@]}"; do
    [[ -n "${ITERATIONS[$name]:-}" ]] || { echo "gate: no benchmark named $name" >&2; exit 2; }
done

# Instructions of one `micro-bench measure NAME --iterations N` run, into $WORK/NAME.N.
# Hash seeds are fixed so no count depends on a random seed.
count() {
    local name="$1" iterations="$2" log="$WORK/$1.$2.log" out="$WORK/$1.$2.callgrind"
    if ! SWIFT_DETERMINISTIC_HASHING=1 valgrind --tool=callgrind --callgrind-out-file="$out" \
            "$WORK/micro-bench" measure "$name" --iterations "$iterations" >/dev/null 2>"$log"; then
        echo "gate: $name --iterations $iterations failed under valgrind:" >&2
        tail -20 "$log" >&2
        return 1
    fi
    # "Collected : 1234" (callgrind), else "I refs: 1,234" (the generic summary), else the
    # profile's own "summary:" / "totals:" line, in case the summary was silenced (-q).
    local total
    total=$(sed -n -E 's/^==[0-9]+== Collected : *([0-9]+).*/\1/p' "$log" | tail -1)
    [[ -n "$total" ]] || total=$(sed -n -E 's/^==[0-9]+== I +refs: *([0-9,]+).*/\1/p' "$log" | tail -1 | tr -d ,)
    [[ -n "$total" ]] || total=$(sed -n -E 's/^(summary|totals): *([0-9]+).*/\2/p' "$out" | tail -1)
    [[ "$total" =~ ^[0-9]+$ ]] || { echo "gate: no instruction count for $name in:" >&2; cat "$log" >&2; return 1; }
    echo "$total" >"$WORK/$name.$iterations"
    rm -f "$out"
}

running=0
for name in "${SELECTED[@]}"; do
    for iterations in "${ITERATIONS[$name]}" "$((2 * ITERATIONS[$name]))"; do
        count "$name" "$iterations" &
        running=$((running + 1))
        if [[ $running -ge $JOBS ]]; then
            wait -n || { wait; echo "gate: a measurement failed" >&2; exit 2; }
            running=$((running - 1))
        fi
    done
done
while [[ $running -gt 0 ]]; do
    wait -n || { wait; echo "gate: a measurement failed" >&2; exit 2; }
    running=$((running - 1))
done

declare -A NOW BASE
for name in "${SELECTED[@]}"; do
    n=${ITERATIONS[$name]}
    NOW[$name]=$(awk -v a="$(cat "$WORK/$name.$n")" -v b="$(cat "$WORK/$name.$((2 * n))")" -v n="$n" \
        'BEGIN { printf "%.1f", (b - a) / n }')
done

# The baseline's entries are the lines `"name": number` inside "instructionsPerOp".
if [[ -f "$BASELINE" ]]; then
    while read -r name value; do BASE[$name]=$value; done < <(
        awk '/"instructionsPerOp"/ { inside = 1; next }
             inside && /}/ { inside = 0 }
             inside && match($0, /"[^"]+": *[0-9.]+/) {
                 split(substr($0, RSTART, RLENGTH), kv, /": */); sub(/^"/, "", kv[1]); print kv[1], kv[2]
             }' "$BASELINE")
fi

if [[ $ACCEPT -eq 1 ]]; then
    for name in "${SELECTED[@]}"; do BASE[$name]=${NOW[$name]}; done
    commit="$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)"
    [[ -n "$(git -C "$REPO" status --porcelain -- Sources/CEpoll Sources/Reactor Sources/WebSocketCodec Sources/Broadcast Benchmarks/micro-bench 2>/dev/null)" ]] && commit="$commit+changes"
    {
        echo "{"
        echo "  \"about\": \"Instructions per op of each micro benchmark: callgrind counts of micro-bench measure NAME at N and 2N iterations, (I(2N) - I(N)) / N. Written by Benchmarks/gate.sh --accept, checked by Benchmarks/gate.sh (fails above +${TOLERANCE}%).\","
        echo "  \"accepted\": {\"date\": \"$(date -u +%Y-%m-%dT%H:%MZ)\", \"commit\": \"$commit\", \"swift\": \"$(swift --version 2>&1 | sed -n -E 's/.*Swift version ([^ ]+).*/\1/p' | head -1)\", \"valgrind\": \"$(valgrind --version)\", \"cpu\": \"$(sed -n -E 's/^model name[^:]*: *//p' /proc/cpuinfo | head -1)\"},"
        echo "  \"instructionsPerOp\": {"
        last=""
        for name in "${ORDER[@]}"; do [[ -n "${BASE[$name]:-}" ]] && last=$name; done
        for name in "${ORDER[@]}"; do
            [[ -n "${BASE[$name]:-}" ]] || continue
            comma=","; [[ "$name" == "$last" ]] && comma=""
            echo "    \"$name\": ${BASE[$name]}$comma"
        done
        echo "  }"
        echo "}"
    } >"$BASELINE.new"
    mv "$BASELINE.new" "$BASELINE"
fi

# The table, and the verdict.
status=0
echo "| benchmark | N | baseline instr/op | now instr/op | change | now per item | |"
echo "|---|---:|---:|---:|---:|---:|---|"
for name in "${SELECTED[@]}"; do
    now=${NOW[$name]} base=${BASE[$name]:-}
    per_item=""
    [[ ${ITEMS[$name]} -gt 1 ]] && per_item="$(awk -v v="$now" -v k="${ITEMS[$name]}" 'BEGIN { printf "%.2f", v / k }') per ${ITEM[$name]}"
    if [[ -z "$base" ]]; then
        verdict="NO BASELINE (run Benchmarks/gate.sh --accept)"; change="-"; status=1
    else
        # Parenthesized: in awk, `printf ... base > 0` would redirect to a file named 0.
        read -r change verdict < <(awk -v now="$now" -v base="$base" -v tol="$TOLERANCE" 'BEGIN {
            c = (base > 0) ? (now - base) / base * 100 : 0
            printf "%+.2f%% %s\n", c, (c > tol) ? "REGRESSION" : ((c < -tol) ? "improved" : "ok") }')
        [[ "$verdict" == REGRESSION ]] && status=1
    fi
    echo "| $name | ${ITERATIONS[$name]} | ${base:--} | $now | $change | $per_item | $verdict |"
done
echo
echo "gate: $((SECONDS - STARTED)) s; tolerance +${TOLERANCE}%; baseline $BASELINE"
if [[ $ACCEPT -eq 1 ]]; then
    echo "gate: baseline written; commit Benchmarks/baseline.json"
    exit 0
fi
if [[ $status -ne 0 ]]; then
    echo "gate: FAILED. If the change is intended, accept it: Benchmarks/gate.sh --accept" >&2
else
    echo "gate: passed"
fi
exit $status
