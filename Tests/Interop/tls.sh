#!/usr/bin/env bash
# TLS as an independent client sees it (the openssl command, curl, Python):
# TLS 1.3 negotiated with ALPN http/1.1, TLS 1.2 accepted, TLS 1.0 and 1.1
# refused, SNI choosing between two certificates, plain HTTP to the TLS port
# answered with a 400 and a close, a handshake that never starts dropped
# after --tls-handshake-timeout, 50 messages of one pass reaching a room's
# TLS subscriber in one record, and SIGHUP reloading the certificates while
# an open connection goes on.
#
#   Tests/Interop/tls.sh [path/to/echo-server]
#
# Makes its own throwaway certificates with `openssl req` (Debian: openssl).
set -euo pipefail
cd "$(dirname "$0")/../.."
SERVER="${1:-.build/release/echo-server}"
command -v openssl >/dev/null || { echo "tls: the openssl command is needed: apt-get install openssl" >&2; exit 2; }
WORK=$(mktemp -d)
PID=""
trap '[[ -n $PID ]] && kill $PID 2>/dev/null; rm -rf "$WORK"' EXIT
passed=0 failed=0
check() {  # check NAME CONDITION-STATUS [DETAIL]
    if [[ $2 == 0 ]]; then
        passed=$((passed + 1)); echo "PASS $1"
    else
        failed=$((failed + 1)); echo "FAIL $1${3:+: $3}"
    fi
}

certificate() {  # certificate FILE-BASE NAME...: ECDSA P-256, self-signed, the names as subjectAltName DNS entries
    local base=$1 names="" name
    shift
    for name in "$@"; do names+="${names:+,}DNS:$name"; done
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj "/CN=$1" \
        -addext "subjectAltName=$names,IP:127.0.0.1" -keyout "$base.key" -out "$base.pem" 2>/dev/null
}
certificate "$WORK/first" localhost
certificate "$WORK/second" localhost
certificate "$WORK/other" other.test
cp "$WORK/first.pem" "$WORK/live.pem"
cp "$WORK/first.key" "$WORK/live.key"

PORT=$((20000 + RANDOM % 12000))  # below the ephemeral range
"$SERVER" --host 127.0.0.1 --port "$PORT" --threads 2 --tls-handshake-timeout 1 \
    --tls-cert "$WORK/live.pem" --tls-key "$WORK/live.key" \
    --tls-cert "$WORK/other.pem" --tls-key "$WORK/other.key" > "$WORK/server.log" 2>&1 &
PID=$!
for _ in $(seq 1 100); do grep -q listening "$WORK/server.log" && break; sleep 0.1; done
grep -q listening "$WORK/server.log" || { cat "$WORK/server.log" >&2; exit 2; }

# From here on a failing command is a failed check, not the end of the script.
set +e

# hello OPTIONS...: the s_client session summary, the client reading nothing and closing at once.
hello() { openssl s_client -connect "127.0.0.1:$PORT" "$@" </dev/null 2>&1 || true; }

out=$(hello -alpn http/1.1 -CAfile "$WORK/first.pem" -servername localhost)
grep -q "^New, TLSv1.3" <<<"$out"; check "TLS 1.3 negotiated by default" $? "$(grep -m1 '^New' <<<"$out")"
grep -q "^ALPN protocol: http/1.1" <<<"$out"; check "ALPN selects http/1.1" $?
grep -q "Verify return code: 0 (ok)" <<<"$out"; check "the certificate verifies against itself as CA" $?
out=$(hello -tls1_2 -CAfile "$WORK/first.pem")
grep -q "^New, TLSv1.2" <<<"$out"; check "TLS 1.2 accepted" $? "$(grep -m1 '^New' <<<"$out")"
for version in "tls1 TLS 1.0" "tls1_1 TLS 1.1"; do
    # SECLEVEL=0 so the client really offers the old version; the server must refuse it.
    out=$(hello "-${version%% *}" -cipher 'DEFAULT@SECLEVEL=0')
    ! grep -q "^New, TLSv1" <<<"$out" && grep -qi "protocol version" <<<"$out"
    check "${version#* } refused (alert: protocol version)" $? "$(grep -m1 -i 'error\|^New' <<<"$out")"
done
out=$(hello -servername other.test -CAfile "$WORK/other.pem")
grep -q "^subject=CN = other.test" <<<"$out" && grep -q "Verify return code: 0 (ok)" <<<"$out"
check "SNI other.test gets its own certificate" $? "$(grep -m1 '^subject' <<<"$out")"
out=$(hello -servername unknown.test)
grep -q "^subject=CN = localhost" <<<"$out"; check "an unknown name gets the first certificate" $? "$(grep -m1 '^subject' <<<"$out")"

answer=$(curl -s --max-time 5 "http://127.0.0.1:$PORT/" -w ' status=%{http_code}' || true)
[[ $answer == *"use https:// or wss://"*"status=400" ]]; check "plain HTTP to the TLS port: a 400 that says why, then the end" $? "$answer"
answer=$(curl -s --max-time 5 --cacert "$WORK/first.pem" "https://localhost:$PORT/stats" --resolve "localhost:$PORT:127.0.0.1" || true)
[[ $answer == '{"server":'* ]]; check "https:// GET /stats (curl, verified)" $? "$answer"

python3 - "$PORT" <<'PY'; check "a handshake that never starts is dropped after --tls-handshake-timeout (1 s)" $?
import socket, sys, time
sock = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
started = time.monotonic()
data = sock.recv(100)
elapsed = time.monotonic() - started
print(f"    closed after {elapsed:.2f} s, {len(data)} bytes")
sys.exit(0 if data == b"" and 0.9 < elapsed < 4 else 1)
PY

python3 - "$PORT" <<'PY'; check "events over https://: session POSTs that land on the other loop move there, TLS session and all" $?
import http.client, json, ssl, sys, time
port = int(sys.argv[1])
context = ssl._create_unverified_context()
def connection():
    return http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=5)
def post(client, sid, packet):
    client.request("POST", "/events/send?sid=" + sid, body=json.dumps(packet), headers={"Content-Type": "text/plain"})
    answer = client.getresponse()
    answer.read()
    return answer.status
polls = connection()
polls.request("GET", "/events/poll?room=r")
sid = json.loads(polls.getresponse().read().decode().strip())["sid"]
statuses = []
for index in range(20):  # fresh connections, spread over both loops by the kernel
    client = connection()
    statuses.append(post(client, sid, {"type": "connect", "ns": "/"} if index == 0 else
                                      {"type": "event", "ns": "/", "event": "echo", "args": [index], "ack": index}))
    statuses.append(post(client, sid, {"type": "pong"}))  # the moved connection keeps serving
    client.close()
polls.request("GET", "/events/poll?sid=" + sid)
acks = [line for line in polls.getresponse().read().decode().split("\n") if '"type":"ack"' in line]
time.sleep(0.6)
stats = connection()
stats.request("GET", "/stats")
moved = json.loads(stats.getresponse().read())["server"]["movedRequests"]
print(f"  {statuses.count(204)} of 40 POSTs answered 204, {len(acks)} acks, {moved} requests moved")
sys.exit(0 if statuses.count(204) == 40 and len(acks) == 19 and moved > 0 else 1)
PY
python3 - "$PORT" <<'PY'; check "broadcast: 50 messages published in one pass reach a TLS subscriber in one record" $?
# The subscriber's TLS runs on memory BIOs, so the records the server sends can be counted.
import socket, ssl, sys, time
port = int(sys.argv[1])
context = ssl.create_default_context()
context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
upgrade = (b"GET /room/records?self=0 HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
raw = socket.create_connection(("127.0.0.1", port), timeout=10)
incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
tls = context.wrap_bio(incoming, outgoing)
records, partial, plain = [], b"", b""
def pull():
    global partial
    data = raw.recv(65536)
    assert data, "the server closed"
    partial += data
    while len(partial) >= 5 and len(partial) >= 5 + int.from_bytes(partial[3:5], "big"):
        length = int.from_bytes(partial[3:5], "big")
        records.append(length)
        partial = partial[5 + length:]
    incoming.write(data)
while True:
    try:
        tls.do_handshake(); break
    except ssl.SSLWantReadError:
        raw.sendall(outgoing.read()); pull()
raw.sendall(outgoing.read())
tls.write(upgrade); raw.sendall(outgoing.read())
def read_until(enough):
    global plain
    while not enough(plain):
        try:
            plain += tls.read(65536)
        except ssl.SSLWantReadError:
            pull()
read_until(lambda data: b"\r\n\r\n" in data)
assert plain.startswith(b"HTTP/1.1 101"), plain[:40]
plain = plain[plain.index(b"\r\n\r\n") + 4:]
publisher = context.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10))
publisher.sendall(upgrade)
assert publisher.recv(4096).startswith(b"HTTP/1.1 101")
time.sleep(0.3)  # both members; the subscriber's session tickets have come
read_until(lambda data: True)
records.clear()
# 50 masked text frames of 64 bytes (mask 0), in one write: one record, one read, one pass on the server.
publisher.sendall(b"".join(bytes([0x81, 0x80 | 64, 0, 0, 0, 0]) + b"%02d" % n + b"m" * 62 for n in range(50)))
read_until(lambda data: len(data) >= 50 * 66)
assert plain[:50 * 66] == b"".join(bytes([0x81, 64]) + b"%02d" % n + b"m" * 62 for n in range(50)), "the frames, in order"
print(f"    {len(records)} record(s) of {records} bytes for 50 frames")
sys.exit(0 if len(records) == 1 else 1)
PY

# SIGHUP: an open wss:// connection goes on; new handshakes get the new certificate; a bad file keeps the old.
python3 - "$PORT" "$WORK/first.pem" > "$WORK/open-connection.log" 2>&1 <<'PY' &
import asyncio, ssl, sys
try:  # websockets >= 13
    from websockets.asyncio.client import connect
except ImportError:  # websockets 12
    from websockets import connect
async def main():
    context = ssl.create_default_context(cafile=sys.argv[2])
    async with connect(f"wss://localhost:{sys.argv[1]}/echo", ssl=context) as ws:
        print("open", flush=True)
        for n in range(10):
            await ws.send(f"message {n}")
            assert await asyncio.wait_for(ws.recv(), 5) == f"message {n}"
            await asyncio.sleep(0.2)
    print("10 echoes", flush=True)
asyncio.run(main())
PY
OPEN=$!
for _ in $(seq 1 50); do grep -q "open" "$WORK/open-connection.log" 2>/dev/null && break; sleep 0.1; done
cp "$WORK/second.pem" "$WORK/live.pem"
cp "$WORK/second.key" "$WORK/live.key"
kill -HUP "$PID"
sleep 0.5
out=$(hello -CAfile "$WORK/second.pem" -servername localhost)
grep -q "Verify return code: 0 (ok)" <<<"$out"; check "SIGHUP: new handshakes get the renewed certificate" $? "$(grep -m1 'Verify return' <<<"$out")"
echo "not a key" > "$WORK/live.key"
kill -HUP "$PID"
sleep 0.5
grep -q "certificates not reloaded, the old ones stay in use: $WORK/live.key" "$WORK/server.log"
check "SIGHUP with a bad key: the old certificates stay, stderr says which file" $? "$(tail -1 "$WORK/server.log")"
out=$(hello -CAfile "$WORK/second.pem" -servername localhost)
grep -q "Verify return code: 0 (ok)" <<<"$out"; check "...and are still served" $?
wait "$OPEN"
status=$?
check "an open wss:// connection goes on through both reloads" $status "$(cat "$WORK/open-connection.log")"
kill -0 "$PID" 2>/dev/null; check "the server is still running" $?
echo "$passed passed, $failed failed"
exit $((failed > 0))
