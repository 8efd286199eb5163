#!/usr/bin/env bash
# chat-server as its users use it, and what it promises when killed:
#   - two users in headless Chromium (names, public, Red, @private, joined/left,
#     the newest 20 after a reload, friend chat with a second tab, a flood
#     refused with its reason, XSS in a name and a message shown as text);
#   - kill -9 during a stream of acknowledged messages, restart on the same
#     file: every acknowledged message in the history, in order, none twice.
#
#   Tests/Chat/run.sh [--server .build/release/chat-server] [--screenshots DIR]
#
# --screenshots saves both users' pages there (the README's are docs/chat-*.png).
# Needs Debian's chromium (installed with apt-get when missing), Python 3 with
# websockets (pip-installed when missing) and Node 20. Exit status: 0 when every
# check passed, 1 when one failed, 2 on a setup error.
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=../lib/server-process.sh
source Tests/lib/server-process.sh
SERVER=.build/release/chat-server
SCREENSHOTS=()
while (($#)); do
    case "$1" in
        --server) SERVER="${2:?--server needs a path}"; shift 2 ;;
        --screenshots) SCREENSHOTS=(--screenshots "${2:?--screenshots needs a directory}"); shift 2 ;;
        -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
        *) echo "chat: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
done
[[ -x $SERVER ]] || { echo "chat: no $SERVER; build it with: swift build -c release --product chat-server" >&2; exit 2; }
command -v node >/dev/null || { echo "chat: Node 20 is missing (Debian: apt-get install -y nodejs)" >&2; exit 2; }
if ! command -v chromium >/dev/null; then
    echo "chat: installing Debian's chromium" >&2
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null
fi
python3 -c 'import websockets' 2>/dev/null || python3 -m pip install --quiet 'websockets>=12'

WORK=$(mktemp -d)
trap 'stop_server; rm -rf "$WORK"' EXIT
PORT=$((20000 + RANDOM % 12000))  # below the ephemeral range
setsid "$SERVER" --host 127.0.0.1 --port "$PORT" --db "$WORK/chat.db" > "$WORK/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 100); do grep -q listening "$WORK/server.log" && break; sleep 0.1; done
grep -q listening "$WORK/server.log" || { cat "$WORK/server.log" >&2; echo "chat: the server did not start" >&2; exit 2; }

status=0
python3 Tests/Chat/chromium_chat_test.py "http://127.0.0.1:$PORT" "${SCREENSHOTS[@]}" || status=1
stop_server
node --experimental-websocket --no-warnings Tests/Chat/crash_test.js --server "$SERVER" || status=1
exit $status
