#!/usr/bin/env bash
# client.js against the events testbed, under Node 20 and in headless Chromium:
# each transport forced in turn, automatic fallback (WebSocket refused; WebSocket
# and SSE refused), a forced transport the server refuses, heartbeats; plus the
# Node tests against scripted servers (node_fixture_test.js), which need no testbed.
#
#   Tests/Events/run.sh --server-cmd '.build/release/events-testbed --port {port} --cors "*"'
#
# '{port}' is replaced by a free port. Four testbeds are started from the command,
# with nothing, `--no-websocket`, `--no-websocket --no-sse` and
# `--ping-interval-ms 200 --ping-timeout-ms 800` appended; each must print
# `events-testbed listening on HOST:PORT` once ready. All are stopped on exit.
# Exit status: 0 when every check passed, 1 when one failed, 2 on a setup error.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly SCRIPT_DIR
# shellcheck source=../lib/server-process.sh
source "$SCRIPT_DIR/../lib/server-process.sh"
SERVER_CMD=""
ONLY=""
QUIET=0
STARTUP_TIMEOUT=60
NODE="${NODE:-node}"
PYTHON="${PYTHON:-python3}"
VENV="${XDG_CACHE_HOME:-$HOME/.cache}/fanout-events/venv"

usage() {
    cat <<EOF
usage: $(basename "$0") --server-cmd CMD [--only fixtures|node|chromium] [--quiet] [--startup-timeout S]

  --server-cmd CMD      starts an events testbed (run by bash), '{port}' replaced by a free port
  --only WHAT           run only the scripted-server tests, the Node runs or the Chromium runs
  --quiet               print failures and summaries, not every passed check
  --startup-timeout S   seconds a testbed may take to say it listens (default $STARTUP_TIMEOUT)
Uses \$NODE (Node 20 or later) and \$PYTHON; the Chromium driver needs 'websockets>=12',
installed when missing into $VENV (nothing global).
EOF
}

die() { echo "events: error: $*" >&2; exit 2; }

while (($#)); do
    case "$1" in
        --server-cmd) SERVER_CMD="${2:?--server-cmd needs a value}"; shift 2 ;;
        --only) ONLY="${2:?--only needs a value}"; shift 2 ;;
        --quiet) QUIET=1; shift ;;
        --startup-timeout) STARTUP_TIMEOUT="${2:?}"; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; die "unknown argument: $1" ;;
    esac
done
[[ -z $ONLY || $ONLY =~ ^(fixtures|node|chromium)$ ]] || die "--only takes fixtures, node or chromium"
[[ $STARTUP_TIMEOUT =~ ^[0-9]+$ ]] || die "--startup-timeout is whole seconds"
if [[ $ONLY != fixtures ]]; then
    [[ -n $SERVER_CMD ]] || { usage >&2; die "give --server-cmd"; }
    [[ $SERVER_CMD == *"{port}"* ]] || die "--server-cmd needs a {port} placeholder"
fi

command -v "$NODE" >/dev/null || die "Node is missing (Node 20 or later; Debian: apt-get install -y nodejs)"
node_major="$("$NODE" -p 'process.versions.node.split(".")[0]')"
((node_major >= 20)) || die "Node $node_major is too old: the client tests need Node 20 or later"

# The Chromium driver's Python: one with websockets >= 12, or a private venv with it.
chromium_python() {
    local has='import sys, websockets; sys.exit(int(websockets.__version__.split(".")[0]) < 12)'
    if "$PYTHON" -c "$has" 2>/dev/null; then echo "$PYTHON"; return; fi
    if ! "$VENV/bin/python" -c "$has" 2>/dev/null; then
        echo "events: installing websockets>=12 into $VENV" >&2
        "$PYTHON" -m venv "$VENV" >&2 || die "could not create $VENV (Debian: apt-get install -y python3-venv)"
        PIP_DISABLE_PIP_VERSION_CHECK=1 "$VENV/bin/python" -m pip install --quiet 'websockets>=12' >&2 \
            || die "could not install websockets into $VENV"
    fi
    echo "$VENV/bin/python"
}

SERVER_PIDS=()
LOGS=()
stop_all() {
    local pid
    for pid in "${SERVER_PIDS[@]}"; do SERVER_PID="$pid"; stop_server; done
    SERVER_PIDS=()
    rm -f "${LOGS[@]}"
}
trap stop_all EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() {
    "$PYTHON" - <<'EOF'
import random, socket
for _ in range(200):
    port = random.randint(20000, 31999)
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            continue
        print(port)
        break
EOF
}

# start_testbed NAME EXTRA_FLAGS: starts one testbed; sets BASE to its http origin.
start_testbed() {
    local name="$1" flags="$2" port cmd log pid line deadline
    port="$(free_port)"
    [[ -n $port ]] || die "no free port in 20000-31999"
    cmd="${SERVER_CMD//\{port\}/$port}${flags:+ $flags}"
    log="$(mktemp)"
    LOGS+=("$log")
    echo "events: starting testbed $name: $cmd" >&2
    setsid bash -c "$cmd" </dev/null >"$log" 2>&1 &
    pid=$!
    SERVER_PIDS+=("$pid")
    deadline=$((SECONDS + STARTUP_TIMEOUT))
    until line="$(grep -m1 -o 'events-testbed listening on [^ ]*' "$log")"; do
        if ! kill -0 "$pid" 2>/dev/null; then
            sed 's/^/server: /' "$log" >&2
            die "testbed $name exited before it listened"
        fi
        ((SECONDS < deadline)) || { sed 's/^/server: /' "$log" >&2; die "testbed $name did not print 'events-testbed listening on HOST:PORT' within ${STARTUP_TIMEOUT}s"; }
        sleep 0.1
    done
    line="${line##* }"
    [[ $line =~ ^(.+):([0-9]+)$ ]] || die "testbed $name: cannot read HOST:PORT from '$line'"
    local host="${BASH_REMATCH[1]}"
    [[ $host == 0.0.0.0 || $host == "::" || $host == "[::]" ]] && host=127.0.0.1
    BASE="http://$host:${BASH_REMATCH[2]}"
}

FAILED=()
filter() { if ((QUIET)); then grep -v '^PASS' || true; else cat; fi; }

# step LABEL COMMAND...: runs one test program; a non-zero exit is a failure.
step() {
    local label="$1" statuses=()
    shift
    echo "=== $label" >&2
    # errexit is off inside a || list, so the statuses are read right after the pipeline.
    { "$@" 2>&1 | filter; statuses=("${PIPESTATUS[@]}"); } || true
    ((statuses[0] == 0)) || FAILED+=("$label (exit ${statuses[0]})")
}

node_run() {
    local label="$1"
    shift
    step "node: $label" timeout 300 "$NODE" --experimental-websocket "$SCRIPT_DIR/node_client_test.js" "$@"
}

if [[ -z $ONLY || $ONLY == fixtures ]]; then
    step "node: scripted servers" timeout 300 "$NODE" --experimental-websocket "$SCRIPT_DIR/node_fixture_test.js"
fi

if [[ $ONLY != fixtures ]]; then
    start_testbed "default" ""; PLAIN="$BASE"
    start_testbed "no-websocket" "--no-websocket"; NO_WS="$BASE"
    start_testbed "polling only" "--no-websocket --no-sse"; POLL_ONLY="$BASE"
    start_testbed "short pings" "--ping-interval-ms 200 --ping-timeout-ms 800"; PINGS="$BASE"
    HEARTBEAT=(--ping-interval 200 --ping-timeout 800)
fi

if [[ -z $ONLY || $ONLY == node ]]; then
    for transport in websocket sse polling; do
        node_run "$transport forced" --base "$PLAIN" --transports "$transport" --expect "$transport"
    done
    node_run "automatic, WebSocket allowed" --base "$PLAIN" --transports auto --expect websocket
    node_run "automatic, WebSocket refused" --base "$NO_WS" --transports auto --expect sse
    node_run "automatic, WebSocket and SSE refused" --base "$POLL_ONLY" --transports auto --expect polling
    node_run "websocket forced but refused" --base "$NO_WS" --transports websocket --suite refused
    node_run "sse forced but refused" --base "$POLL_ONLY" --transports sse --suite refused
    for transport in websocket sse polling; do
        node_run "$transport heartbeats" --base "$PINGS" --transports "$transport" --suite heartbeat "${HEARTBEAT[@]}"
    done
fi

if [[ -z $ONLY || $ONLY == chromium ]]; then
    if ! command -v chromium >/dev/null; then
        echo "events: installing Debian's chromium" >&2
        (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null \
            || die "Chromium is missing and could not be installed (apt-get install -y chromium)"
    fi
    runs=()
    for transport in websocket sse polling; do runs+=(--run "base=$PLAIN,transports=$transport"); done
    runs+=(--run "base=$PLAIN,transports=auto,expect=websocket")
    runs+=(--run "base=$NO_WS,transports=auto,expect=sse")
    runs+=(--run "base=$POLL_ONLY,transports=auto,expect=polling")
    runs+=(--run "base=$NO_WS,transports=websocket,suite=refused")
    for transport in websocket sse polling; do
        runs+=(--run "base=$PINGS,transports=$transport,suite=heartbeat,pingInterval=200,pingTimeout=800")
    done
    step "chromium" timeout 900 "$(chromium_python)" "$SCRIPT_DIR/chromium_client_test.py" "${runs[@]}"
fi

for pid in "${SERVER_PIDS[@]}"; do
    kill -0 "$pid" 2>/dev/null || FAILED+=("a testbed (pid $pid) exited during the tests")
done
if ((${#FAILED[@]})); then
    printf 'events: FAIL: %s\n' "${FAILED[@]}" >&2
    exit 1
fi
echo "events: every check passed" >&2
