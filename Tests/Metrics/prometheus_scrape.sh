#!/usr/bin/env bash
# A real Prometheus scrapes echo-server's /metrics: the target must be up, with
# no scrape error, and every series the README lists must arrive.
#
#   Tests/Metrics/prometheus_scrape.sh [path/to/echo-server]
set -euo pipefail
cd "$(dirname "$0")/../.."
source Tests/lib/server-process.sh
SERVER="${1:-.build/release/echo-server}"
if ! command -v prometheus >/dev/null; then
    echo "metrics: installing Debian's prometheus" >&2
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq prometheus) >/dev/null
fi
WORK=$(mktemp -d)
PROMETHEUS_PID=""
cleanup() {
    stop_server
    [[ -n $PROMETHEUS_PID ]] && kill "$PROMETHEUS_PID" 2>/dev/null && wait "$PROMETHEUS_PID" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

SERVER_PORT=$((20000 + RANDOM % 6000))
PROMETHEUS_PORT=$((26000 + RANDOM % 6000))
setsid "$SERVER" --host 127.0.0.1 --port "$SERVER_PORT" --threads 2 > "$WORK/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 100); do port_open 127.0.0.1 "$SERVER_PORT" && break; sleep 0.1; done
cat > "$WORK/prometheus.yml" <<YAML
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: fanout
    static_configs:
      - targets: ["127.0.0.1:$SERVER_PORT"]
YAML
prometheus --config.file="$WORK/prometheus.yml" --storage.tsdb.path="$WORK/data" \
    --web.listen-address="127.0.0.1:$PROMETHEUS_PORT" > "$WORK/prometheus.log" 2>&1 &
PROMETHEUS_PID=$!

python3 - "$PROMETHEUS_PORT" "$SERVER_PORT" <<'PY'
import json, sys, time, urllib.request, urllib.parse
prom, server = sys.argv[1], sys.argv[2]
def get(path):
    with urllib.request.urlopen(f"http://127.0.0.1:{prom}{path}", timeout=5) as r:
        return json.load(r)
# Some traffic, so counters move: a few requests to the server.
for _ in range(3):
    urllib.request.urlopen(f"http://127.0.0.1:{server}/stats", timeout=5).read()
expected = ["fanout_connections", "fanout_sessions", "fanout_open_websockets", "fanout_open_streams", "fanout_queued_bytes",
            "fanout_timers", "fanout_loop_lag_seconds", "fanout_handshakes_total", "fanout_sessions_opened_total",
            "fanout_messages_received_total", "fanout_http_responses_total", "fanout_protocol_errors_total",
            "fanout_moved_requests_total", "fanout_received_bytes_total", "fanout_sent_bytes_total", "fanout_evictions_total",
            "fanout_rooms", "fanout_room_members", "fanout_published_total", "fanout_deliveries_total",
            "fanout_not_delivered_total", "fanout_room_evictions_total", "fanout_history_messages", "fanout_history_bytes",
            "fanout_memory_budget_bytes", "fanout_memory_held_bytes", "fanout_memory_refusals_total"]
deadline = time.time() + 60
problem = "prometheus did not answer"
while time.time() < deadline:
    try:
        targets = get("/api/v1/targets")["data"]["activeTargets"]
        if targets and targets[0]["health"] == "up" and targets[0]["lastScrape"] != "0001-01-01T00:00:00Z":
            names = set(get("/api/v1/label/__name__/values")["data"])
            missing = [name for name in expected if name not in names]
            responses = get("/api/v1/query?" + urllib.parse.urlencode({"query": "fanout_http_responses_total"}))["data"]["result"]
            if not missing and responses and float(responses[0]["value"][1]) >= 3:
                print(f"metrics: prometheus scraped {len(expected)} series from /metrics, target up, last error: "
                      f"{targets[0]['lastError'] or 'none'}")
                sys.exit(0)
            problem = f"missing series: {missing}" if missing else "fanout_http_responses_total not counted yet"
        elif targets:
            problem = f"target {targets[0]['health']}: {targets[0]['lastError']}"
    except Exception as error:
        problem = str(error)
    time.sleep(0.5)
print(f"metrics: FAILED: {problem}", file=sys.stderr)
sys.exit(1)
PY
