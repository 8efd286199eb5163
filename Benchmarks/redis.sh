#!/usr/bin/env bash
# The Redis client's pipelined throughput on one loop against a local
# redis-server: PUBLISH, INCR and the room publish script (INCR + XADD +
# PUBLISH) with 1, 16 and 256 commands in flight; redis-benchmark (Redis's
# own C client, one connection, the same pipeline depths) as the reference
# in the same run. Redis on core 0, the client on core 1.
#
#   Benchmarks/redis.sh [-d SECONDS] [--windows "1 16 256"] [--out FILE.md]
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_TO_RUN=5
WINDOWS="1 16 256"
OUT=""
while [[ $# -gt 0 ]]; do
    case "$1" in
        -d) SECONDS_TO_RUN="$2"; shift 2 ;;
        --windows) WINDOWS="$2"; shift 2 ;;
        --out) OUT="$2"; shift 2 ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "usage: $0 [-d SECONDS] [--windows \"1 16 256\"] [--out FILE.md]" >&2; exit 2 ;;
    esac
done
if ! command -v redis-server >/dev/null; then
    echo "redis.sh: installing redis-server" >&2
    apt-get update >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y redis-server >&2
fi
swift build -c release --product redis-bench >/dev/null
BIN=.build/release/redis-bench
PORT=$((20000 + RANDOM % 12000))  # below the ephemeral range
WORK=$(mktemp -d)
taskset -c 0 redis-server --port "$PORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$WORK" >"$WORK/redis.log" 2>&1 &
REDIS=$!
trap 'kill $REDIS 2>/dev/null || true; wait $REDIS 2>/dev/null || true; rm -rf "$WORK"' EXIT
for _ in $(seq 1 100); do redis-cli -p "$PORT" ping >/dev/null 2>&1 && break; sleep 0.05; done
redis-cli -p "$PORT" ping >/dev/null || { echo "redis.sh: redis-server did not start (see $WORK/redis.log)" >&2; exit 1; }

TABLE="| command | in flight | commands/s | client µs/command | redis µs/command | redis-benchmark commands/s |
|---|---|---|---|---|---|"
for command in publish incr script; do
    for window in $WINDOWS; do
        line=$(taskset -c 1 "$BIN" --url "redis://127.0.0.1:$PORT" --command "$command" --window "$window" \
            -d "$SECONDS_TO_RUN" --server-pid "$REDIS")
        echo "$line" >&2
        field() { sed -E "s|.*  $1 ([0-9.]+).*|\\1|" <<<"$line"; }
        reference="-"
        case "$command" in
            publish) reference=$(taskset -c 1 redis-benchmark -p "$PORT" -c 1 -P "$window" -n $((20000 * window > 400000 ? 400000 : 20000 * window)) -q \
                PUBLISH bench:room "$(head -c 64 /dev/zero | tr '\0' x)" | tr '\r' '\n' | grep -Eo '[0-9.]+ requests per second' | tail -1 | cut -d' ' -f1) ;;
            incr) reference=$(taskset -c 1 redis-benchmark -p "$PORT" -c 1 -P "$window" -n $((20000 * window > 400000 ? 400000 : 20000 * window)) -q \
                INCR bench:counter | tr '\r' '\n' | grep -Eo '[0-9.]+ requests per second' | tail -1 | cut -d' ' -f1) ;;
        esac
        TABLE+=$'\n'"| $command | $window | $(field 'commands/s') | $(field 'client µs/command') | $(field 'redis µs/command') | ${reference%.*} |"
    done
done
REPORT="# Redis client: pipelined throughput on one loop (preliminary)

$(date -u +%Y-%m-%dT%H:%MZ), commit $(git rev-parse --short HEAD)$(git diff --quiet || echo '+changes'), $(redis-server --version | cut -d' ' -f3), ${SECONDS_TO_RUN} s per row, 64-byte payloads.
Redis pinned to core 0, the client to core 1; \`script\` is INCR + XADD (MAXLEN ~ 1000) + PUBLISH in one EVALSHA.

$TABLE"
echo "$REPORT"
[[ -n "$OUT" ]] && echo "$REPORT" > "$OUT"
exit 0
