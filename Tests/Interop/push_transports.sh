#!/usr/bin/env bash
# Runs push_transports_test.py against a fresh echo-server: SSE, long-polling,
# iframe streaming, POST /publish, static files and CORS, with Python's
# standard library as the independent client.
#
#   Tests/Interop/push_transports.sh [path/to/echo-server] [--tls CERT KEY]
#
# With --tls the server serves CERT and KEY (PEM) and every check runs over
# https:// (the client verifies the server against CERT).
set -euo pipefail
cd "$(dirname "$0")/../.."
SERVER=".build/release/echo-server"
[[ $# -gt 0 && $1 != --tls ]] && { SERVER="$1"; shift; }
TLS_ARGS=()
SCHEME=http
if [[ ${1:-} == --tls ]]; then
    [[ $# -eq 3 ]] || { echo "push_transports: --tls needs CERT and KEY" >&2; exit 2; }
    TLS_ARGS=(--tls-cert "$2" --tls-key "$3")
    SCHEME=https
    CAFILE="$2"
fi
WORK=$(mktemp -d)
PORT=$((20000 + RANDOM % 12000))  # below the ephemeral range
TOKEN="ci-token-$RANDOM"
trap 'kill $PID 2>/dev/null || true; rm -rf "$WORK"' EXIT

# A static directory with a file, and a link that points out of it.
mkdir -p "$WORK/static"
echo hello > "$WORK/static/hello.txt"
echo dots > "$WORK/static/..."  # names with nothing after their last dot
echo dot > "$WORK/static/trailing."
head -c 1048576 /dev/zero > "$WORK/static/big.bin"
echo secret > "$WORK/outside.txt"
ln -s "$WORK/outside.txt" "$WORK/static/escape"

"$SERVER" --host 127.0.0.1 --port "$PORT" --threads 2 --publish-token "$TOKEN" \
    --static "$WORK/static" --cors http://allowed.example "${TLS_ARGS[@]}" > "$WORK/server.log" 2>&1 &
PID=$!
for _ in $(seq 1 100); do
    grep -q "listening" "$WORK/server.log" 2>/dev/null && break
    sleep 0.1
done
grep -q "listening" "$WORK/server.log" || { cat "$WORK/server.log" >&2; exit 2; }
python3 Tests/Interop/push_transports_test.py "$SCHEME://127.0.0.1:$PORT" "$TOKEN" "$WORK/static" ${CAFILE:+"$CAFILE"}
