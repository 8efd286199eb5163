#!/usr/bin/env bash
# push-demo's five clocks in headless Chromium: all must advance for 5 s.
#
#   Tests/Demo/clock_page.sh [--tls CERT KEY] [SCREENSHOT.png]
#
# With --tls, push-demo serves CERT and KEY and the page is loaded over https://
# (every clock then goes over TLS; Chromium runs with --ignore-certificate-errors).
set -euo pipefail
cd "$(dirname "$0")/../.."
if ! command -v chromium >/dev/null; then
    echo "clock_page: installing Debian's chromium" >&2
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null
fi
python3 -c 'import websockets' 2>/dev/null || python3 -m pip install --quiet 'websockets>=12'
TLS_ARGS=()
SCHEME=http
if [[ ${1:-} == --tls ]]; then
    [[ $# -ge 3 ]] || { echo "clock_page: --tls needs CERT and KEY" >&2; exit 2; }
    TLS_ARGS=(--tls-cert "$2" --tls-key "$3")
    SCHEME=https
    shift 3
fi
PORT=$((20000 + RANDOM % 12000))  # below the ephemeral range
LOG=$(mktemp)
.build/release/push-demo --host 127.0.0.1 --port "$PORT" "${TLS_ARGS[@]}" > "$LOG" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null || true; rm -f "$LOG"' EXIT
for _ in $(seq 1 100); do grep -q listening "$LOG" && break; sleep 0.1; done
python3 Tests/Demo/clock_page_test.py "$SCHEME://127.0.0.1:$PORT/" "$@"
