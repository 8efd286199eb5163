# wsbench against echo-server, each in its own process (the open-file limit
# is per process): the server pinned to core 0 with one loop, wsbench to
# core 1. Sourced by the scripts that run wsbench against a server (see
# Benchmarks/README.md), not run.
#
# After sourcing: start_server [ECHO-SERVER-FLAGS...] restarts the server on
# a fresh port ($PORT) (start_pinned does the same for any server command,
# after next_port); syscall_ns prints what a system call costs on core 0
# (once micro-bench is built);
# run NAME WSBENCH-ARGS... appends one run's table to
# $SUMMARY and writes $OUT/NAME.json; write_report TITLE FILE [INTRO] puts
# the summary under a header that says how the figures were taken, with the
# text INTRO (markdown) before the run tables.

swift build -c release --product echo-server >/dev/null
SERVER=.build/release/echo-server
if [[ -z "${WSBENCH:-}" ]]; then
    swift build -c release --product wsbench >/dev/null
    WSBENCH=.build/release/wsbench
fi
OUT=Benchmarks/results
mkdir -p "$OUT"
SUMMARY=$(mktemp)
SERVER_PID=""
trap 'kill $SERVER_PID 2>/dev/null || true; rm -f "$SUMMARY"' EXIT

start_server() {
    next_port
    start_pinned "$SERVER" --host 127.0.0.1 --port "$PORT" --threads 1 "$@"
}

# Picks the port the next server listens on ($PORT), below the ephemeral range.
next_port() {
    PORT=$((20000 + RANDOM % 12000))
}

# start_pinned COMMAND...: stops the last server and starts COMMAND, which
# must listen on 127.0.0.1:$PORT, on core 0; returns once it accepts.
start_pinned() {
    [[ -n "$SERVER_PID" ]] && { kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; }
    taskset -c 0 "$@" >/dev/null 2>&1 &
    SERVER_PID=$!
    local tries
    for ((tries = 0; tries < 50; tries++)); do
        timeout 1 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1"' _ "$PORT" 2>/dev/null && return 0
        kill -0 "$SERVER_PID" 2>/dev/null || break
        sleep 0.1
    done
    echo "$1 did not come up on port $PORT" >&2
    exit 1
}

# What a system call (getppid) costs now on the server's core, in ns
# (build micro-bench first: a failed build inside $(...) would go unnoticed).
syscall_ns() {
    taskset -c 0 .build/release/micro-bench syscall-cost
}

run() {
    local name="$1"; shift
    echo "== $name" >&2
    rm -f "$OUT/$name.json"  # a run that fails must not leave an older result to be read as this one's
    {
        echo "### $name"
        echo
        echo '```'
        echo "wsbench $*" | sed "s/127.0.0.1:[0-9]*/127.0.0.1:PORT/"
        taskset -c 1 "$WSBENCH" "$@" --server-pid "$SERVER_PID" --json "$OUT/$name.json" 2>/dev/null || echo "(exit $?)"
        echo '```'
        echo
    } >> "$SUMMARY"
}

write_report() {
    local title="$1" file="$2" intro="${3:-}" script
    script=$(basename "$0")
    {
        echo "# $title"
        echo
        echo "\`Benchmarks/$script\` on $(date -u +%Y-%m-%d), commit $(git rev-parse --short HEAD), $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)):"
        echo "echo-server \`--threads 1\` pinned to core 0, wsbench \`-t 1\` pinned to core 1, separate processes."
        echo "Server CPU per delivery (\`srv us\`) comes from /proc/PID/stat over the measured window; client CPU is"
        echo "wsbench's own (a client near 100% of its core was the limit, not the server). Latency is from each"
        echo "message's intended send time (open loop), so a stall shows."
        echo
        [[ -n "$intro" ]] && printf '%s\n\n' "$intro"
        cat "$SUMMARY"
    } > "$file"
    echo "wrote $file" >&2
}
