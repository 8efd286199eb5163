#!/usr/bin/env bash
# Interop check of an echo server against the Python `websockets` client (echo_client.py).
#
#   Tests/Interop/run.sh --server-cmd '.build/release/echo-server --port {port} --host 127.0.0.1'
#   Tests/Interop/run.sh --url ws://127.0.0.1:9001/
#   Tests/Interop/run.sh --tls-cafile cert.pem --server-cmd '... --tls-cert cert.pem --tls-key key.pem'   (wss://)
#
# '{port}' in the server command is replaced by a free port; the server is stopped on exit.
# Exit status: echo_client.py's (0 all checks passed, 1 a check failed), 2 on a setup error.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly SCRIPT_DIR
# shellcheck source=../lib/server-process.sh
source "$SCRIPT_DIR/../lib/server-process.sh"
PYTHON="${PYTHON:-python3}"
URL=""
SERVER_CMD=""
CAFILE=""
STARTUP_TIMEOUT=30
CLIENT_ARGS=()

usage() {
    cat <<EOF
usage: $(basename "$0") (--url ws://HOST:PORT/ | --server-cmd CMD) [--startup-timeout S] [-- CLIENT_ARGS]

  --url URL             check an already running server
  --server-cmd CMD      start the server with CMD (run by bash), '{port}' replaced by a free port;
                        its output goes to stderr prefixed with 'server: '; stopped on exit
  --startup-timeout S   seconds to wait until the server accepts connections (default $STARTUP_TIMEOUT)
  --tls-cafile FILE     the server speaks TLS: connect with wss:// and verify its certificate
                        against FILE (e.g. the self-signed one it serves)
  -- CLIENT_ARGS        passed on to echo_client.py (e.g. --seed 7)
Uses \$PYTHON (default python3); installs 'websockets>=12' for it with pip if missing.
EOF
}

die() { echo "interop: error: $*" >&2; exit 2; }

while (($#)); do
    case "$1" in
        --url) URL="${2:?--url needs a value}"; shift 2 ;;
        --server-cmd) SERVER_CMD="${2:?--server-cmd needs a value}"; shift 2 ;;
        --startup-timeout) STARTUP_TIMEOUT="${2:?}"; shift 2 ;;
        --tls-cafile) CAFILE="${2:?--tls-cafile needs a file}"; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        --) shift; CLIENT_ARGS=("$@"); break ;;
        *) usage >&2; die "unknown argument: $1" ;;
    esac
done
[[ -n $URL || -n $SERVER_CMD ]] || { usage >&2; die "give --url or --server-cmd"; }
[[ -n $URL && -n $SERVER_CMD ]] && die "give only one of --url and --server-cmd"
[[ $STARTUP_TIMEOUT =~ ^[0-9]+$ ]] || die "--startup-timeout is whole seconds"

# websockets >= 12 for the client
if ! "$PYTHON" -c 'import sys, websockets; sys.exit(int(websockets.__version__.split(".")[0]) < 12)' \
        2>/dev/null; then
    echo "interop: installing websockets>=12 for $("$PYTHON" -c 'import sys; print(sys.executable)')" >&2
    PIP_DISABLE_PIP_VERSION_CHECK=1 "$PYTHON" -m pip install --quiet 'websockets>=12' \
        || die "could not install websockets (try: $PYTHON -m pip install 'websockets>=12')"
fi

trap stop_server EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [[ -n $SERVER_CMD ]]; then
    [[ $SERVER_CMD == *"{port}"* ]] || die "--server-cmd needs a {port} placeholder"
    host=127.0.0.1
    port="$("$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    cmd="${SERVER_CMD//\{port\}/$port}"
    echo "interop: starting server: $cmd" >&2
    setsid bash -c "$cmd" </dev/null > >(sed -u 's/^/server: /' >&2) 2>&1 &
    SERVER_PID=$!
    if [[ -n $CAFILE ]]; then URL="wss://$host:$port/"; else URL="ws://$host:$port/"; fi
else
    [[ $URL =~ ^wss?://(\[[^]]+\]|[^/:]+)(:([0-9]+))? ]] || die "--url must look like ws://HOST:PORT/"
    host="${BASH_REMATCH[1]}"; host="${host#[}"; host="${host%]}"
    port="${BASH_REMATCH[3]:-}"
    [[ -n $port ]] || { [[ $URL == wss:* ]] && port=443 || port=80; }
fi

deadline=$((SECONDS + STARTUP_TIMEOUT))
until port_open "$host" "$port"; do
    if [[ -n $SERVER_PID ]] && ! kill -0 "$SERVER_PID" 2>/dev/null; then
        status=0; wait "$SERVER_PID" || status=$?; SERVER_PID=""
        die "the server exited (status $status) before accepting connections"
    fi
    ((SECONDS < deadline)) || die "nothing accepts connections on $host:$port after ${STARTUP_TIMEOUT}s"
    sleep 0.1
done

rc=0
[[ -n $CAFILE ]] && CLIENT_ARGS=(--cafile "$CAFILE" "${CLIENT_ARGS[@]}")
"$PYTHON" "$SCRIPT_DIR/echo_client.py" "$URL" "${CLIENT_ARGS[@]}" || rc=$?
if [[ -n $SERVER_PID ]] && ! kill -0 "$SERVER_PID" 2>/dev/null; then
    echo "interop: FAIL: the server exited during the check" >&2
    ((rc)) || rc=1
fi
exit "$rc"
