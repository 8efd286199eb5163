#!/usr/bin/env python3
"""The push transports of echo-server, checked with independent clients
(http.client and raw sockets from the standard library).

    python3 push_transports_test.py http://127.0.0.1:PORT TOKEN STATIC_DIR

The server must run with `--publish-token TOKEN --static STATIC_DIR --cors http://allowed.example`.
STATIC_DIR must hold `hello.txt`, files named `...` and `trailing.`, `big.bin` (1 MiB of
zeros) and a symbolic link `escape` to a file outside it. The queue cap must be the default 1 MiB.
Prints one line per check and `N passed, M failed`; exits 1 on any failure.
"""
import http.client
import json
import select
import socket
import ssl
import sys
import threading
import time
import urllib.parse

BASE = urllib.parse.urlparse(sys.argv[1])
HOST, PORT = BASE.hostname, BASE.port
TOKEN = sys.argv[2]
# https://: every request and raw socket goes over TLS, verified against argv[4] (the server's certificate).
TLS = None
if BASE.scheme == "https":
    TLS = ssl.create_default_context(cafile=sys.argv[4] if len(sys.argv) > 4 else None)
    TLS.set_alpn_protocols(["http/1.1"])
passed = failed = 0


def open_socket(timeout=10, receive_buffer=None):
    """A connected socket to the server (TLS-wrapped over https://), optionally with a small receive buffer."""
    sock = socket.socket()
    sock.settimeout(timeout)
    if receive_buffer:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
    sock.connect((HOST, PORT))
    return TLS.wrap_socket(sock, server_hostname=HOST) if TLS else sock


def read_available(sock, size=65536):
    """What has arrived so far. One recv on plain TCP; over TLS a recv returns one record, so every
    record already here (and any arriving within 50 ms) is read."""
    data = sock.recv(size)
    while TLS and data and (sock.pending() or select.select([sock], [], [], 0.05)[0]):
        more = sock.recv(size)
        if not more:
            break
        data += more
    return data


def half_close(sock):
    """Ends our side with a FIN, requests sent. Over TLS too at the TCP level (Python cannot send a
    close_notify alone); the server reads either as the end of the client's requests."""
    socket.socket.shutdown(sock, socket.SHUT_WR)


class SealedClient:
    """A TLS client whose encryption runs on this thread: `seal` turns bytes into records that any
    thread may then send on `raw` while this one reads (an ssl.SSLSocket cannot be written from one
    thread while another reads it)."""

    def __init__(self, timeout):
        self.raw = socket.create_connection((HOST, PORT), timeout=timeout)
        self.incoming, self.outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        self.tls = TLS.wrap_bio(self.incoming, self.outgoing, server_hostname=HOST)
        while True:
            try:
                self.tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                self.raw.sendall(self.outgoing.read())
                data = self.raw.recv(65536)
                if not data:
                    raise EOFError("the server closed during the handshake")
                self.incoming.write(data)
        self.raw.sendall(self.outgoing.read())

    def seal(self, data):
        self.tls.write(data)
        return self.outgoing.read()

    def sendall(self, data):
        self.raw.sendall(self.seal(data))

    def recv(self, size):
        while True:
            try:
                return self.tls.read(size)
            except ssl.SSLWantReadError:
                data = self.raw.recv(1 << 20)
                if not data:
                    return b""
                self.incoming.write(data)
            except ssl.SSLZeroReturnError:
                return b""

    def close(self):
        self.raw.close()


def check(name, condition, detail=""):
    global passed, failed
    if condition:
        passed += 1
        print(f"PASS {name}")
    else:
        failed += 1
        print(f"FAIL {name} {detail}")


def http_connection(timeout=10):
    return (http.client.HTTPSConnection(HOST, PORT, timeout=timeout, context=TLS) if TLS
            else http.client.HTTPConnection(HOST, PORT, timeout=timeout))


def request(method, path, body=None, headers=None, timeout=10):
    connection = http_connection(timeout)
    connection.request(method, path, body=body, headers=headers or {})
    response = connection.getresponse()
    data = response.read()
    connection.close()
    return response, data


def publish(room, text, event=None):
    path = f"/publish/{room}" + (f"?event={event}" if event else "")
    response, _ = request("POST", path, body=text.encode(), headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status == 202, response.status


def stats():
    _, data = request("GET", "/stats")
    return json.loads(data)


def wait_for(condition, seconds=5):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def poll(room, since=None, wait=None):
    query = []
    if since is not None:
        query.append(f"since={since}")
    if wait is not None:
        query.append(f"wait={wait}")
    _, data = request("GET", f"/poll/{room}" + ("?" + "&".join(query) if query else ""), timeout=30)
    return json.loads(data)


class EventStream:
    """A raw SSE client: reads the chunked event stream off a socket."""

    def __init__(self, room, last_event_id=None):
        self.sock = open_socket()
        headers = f"GET /sse/{room} HTTP/1.1\r\nHost: {HOST}\r\nAccept: text/event-stream\r\n"
        if last_event_id is not None:
            headers += f"Last-Event-ID: {last_event_id}\r\n"
        self.sock.sendall((headers + "\r\n").encode())
        self.buffer = b""
        self.text = ""
        head = self._read_until(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200"), head
        assert b"text/event-stream" in head and b"Transfer-Encoding: chunked" in head, head

    def _read_until(self, marker):
        while marker not in self.buffer:
            data = self.sock.recv(65536)
            if not data:
                raise EOFError
            self.buffer += data
        index = self.buffer.index(marker) + len(marker)
        out, self.buffer = self.buffer[:index], self.buffer[index:]
        return out

    def _chunk(self):
        size = int(self._read_until(b"\r\n")[:-2], 16)
        while len(self.buffer) < size + 2:
            data = self.sock.recv(65536)
            if not data:
                raise EOFError
            self.buffer += data
        body, self.buffer = self.buffer[:size], self.buffer[size + 2:]
        return body.decode()

    def event(self):
        """The next event as a dict of its fields (data lines joined by newlines); skips comments and retry."""
        while True:
            while "\n\n" not in self.text:
                self.text += self._chunk()
            block, self.text = self.text.split("\n\n", 1)
            fields = {}
            for line in block.split("\n"):
                if line.startswith(":") or not line:
                    continue
                name, _, value = line.partition(": ")
                fields[name] = fields[name] + "\n" + value if name in fields else value
            if "data" in fields or "id" in fields:
                return fields

    def close(self):
        self.sock.close()


def test_long_poll_returns_at_once_on_publish():
    room = "lp-latency"
    last = poll(room)["last"]
    results = {}

    def waiter():
        start = time.time()
        results["answer"] = poll(room, since=last, wait=20)
        results["at"] = time.time()
        results["start"] = start

    thread = threading.Thread(target=waiter)
    thread.start()
    time.sleep(0.3)  # the poll is held
    published_at = time.time()
    publish(room, "now")
    thread.join(10)
    answer = results.get("answer", {})
    check("long-poll is held while there is nothing new", results.get("at", 0) >= published_at, str(results))
    latency = results.get("at", 99) - published_at
    check(f"long-poll answers as soon as a message is published ({latency * 1000:.1f} ms)",
          latency < 0.2 and [m["data"] for m in answer.get("messages", [])] == ["now"], str(answer))


def test_long_poll_never_skips():
    room = "lp-order"
    last = poll(room)["last"]
    stop = threading.Event()
    sent = []

    def publisher():
        count = 0
        while not stop.is_set() and count < 3000:
            count += 1
            publish(room, f"m{count}")
            sent.append(count)
            time.sleep(0.001)

    thread = threading.Thread(target=publisher)
    thread.start()
    received, polls, gaps = [], 0, 0
    since = last
    while polls < 1000:
        answer = poll(room, since=since, wait=5)
        polls += 1
        sequences = [m["seq"] for m in answer["messages"]]
        if sequences and sequences != list(range(since + 1, since + 1 + len(sequences))):
            gaps += 1
        if "gap" in answer:
            gaps += 1
        received += [m["data"] for m in answer["messages"]]
        since = answer["last"]
    stop.set()
    thread.join()
    # Everything published is in order and complete, up to where the polls stopped.
    expected = [f"m{n}" for n in range(1, len(received) + 1)]
    check(f"1000 long-polls while publishing: {len(received)} messages, none skipped or repeated",
          gaps == 0 and received == expected and polls == 1000, f"gaps={gaps} first mismatch at "
          + str(next((i for i, (a, b) in enumerate(zip(received, expected)) if a != b), None)))


def test_a_poll_ahead_of_the_room_is_answered_at_once():
    room = "lp-ahead"
    publish(room, "one")
    started = time.time()
    answer = poll(room, since=99, wait=20)
    check("a long-poll after a sequence the room has not reached gets the real last at once",
          answer["last"] == 1 and answer["messages"] == [] and time.time() - started < 2, str(answer))


def test_sse_resume_with_last_event_id():
    room = "sse-resume"
    stream = EventStream(room)
    time.sleep(0.2)
    for n in range(1, 6):
        publish(room, f"line one {n}\nline two {n}", event="tick")
    events = [stream.event() for _ in range(5)]
    stream.close()
    check("SSE delivers id, event and multi-line data", events[0].get("event") == "tick"
          and events[0].get("data") == "line one 1\nline two 1" and events[-1].get("data").startswith("line one 5"), str(events[:1]))
    last_id = int(events[-1]["id"])
    for n in range(6, 11):  # published while the client is away
        publish(room, f"missed {n}")
    resumed = EventStream(room, last_event_id=last_id)
    replay = [resumed.event() for _ in range(5)]
    publish(room, "live 11")
    live = resumed.event()
    resumed.close()
    check("SSE resume with Last-Event-ID delivers exactly the missed events, in order",
          [e["data"] for e in replay] == [f"missed {n}" for n in range(6, 11)]
          and [int(e["id"]) for e in replay] == list(range(last_id + 1, last_id + 6)) and live["data"] == "live 11",
          str(replay) + str(live))

    def first_read(extra_header=""):
        query = open_socket()
        query.sendall(f"GET /sse/{room}?lastEventId={last_id + 4} HTTP/1.1\r\nHost: x\r\n{extra_header}\r\n".encode())
        time.sleep(0.3)
        text = read_available(query).decode()
        query.close()
        return text

    text = first_read()
    check("SSE resume with ?lastEventId= as well", "missed 10" in text and "missed 9" not in text, text[-200:])
    # A Last-Event-ID that is not a sequence number does not hide a good ?lastEventId=.
    text = first_read("Last-Event-ID: abc\r\n")
    check("SSE: a foreign Last-Event-ID gives way to ?lastEventId=", "missed 10" in text and "missed 9" not in text, text[-200:])


def test_sse_gap_too_old():
    room = "sse-gap"
    for n in range(1, 1101):  # more than the room's history holds (1024 messages by default)
        publish(room, f"old {n}")
    stream = EventStream(room, last_event_id=1)
    event = stream.event()
    stream.close()
    check("SSE says plainly when the gap is too old", event.get("event") == "gap" and "oldestAvailable" in event.get("data", ""), str(event))


def test_disconnects_leave_nothing_behind():
    room = "leavers"
    timers_before = stats()["server"]["timers"]
    streams = [EventStream(room) for _ in range(10)]
    iframes = []
    for _ in range(10):
        sock = open_socket()
        sock.sendall(f"GET /iframe/{room} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        iframes.append(sock)
    last = poll(room)["last"]
    pollers = []
    for _ in range(5):
        sock = open_socket()
        sock.sendall(f"GET /poll/{room}?since={last}&wait=30 HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        pollers.append(sock)
    def holding():
        now = stats()
        return (now["rooms"].get(room, {}).get("subscribers") == 25 and now["server"]["openStreams"] >= 25
                and now["server"]["connections"] >= 25)
    held = wait_for(holding)
    check("25 streams and polls are counted while open", held, json.dumps(stats()))
    for stream in streams:
        stream.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")  # reset
        stream.close()
    for sock in iframes + pollers:
        sock.close()
    def released():
        now = stats()
        server = now["server"]
        # connections == 0: the snapshot is taken between two of these requests, so almost always without one.
        return (now["rooms"].get(room, {}).get("subscribers") == 0 and server["openStreams"] == 0
                and server["connections"] == 0 and server["queuedBytes"] == 0 and server["timers"] == timers_before)
    cleaned = wait_for(released)
    check(f"clients that go away leave no subscription, stream, connection, queued byte or timer behind "
          f"(timers stay at {timers_before})", cleaned, json.dumps(stats()["server"]))


def test_slow_stream_readers_are_closed():
    body = ("x" * 60000).encode()
    for kind in ("sse", "iframe"):
        room = f"slow-{kind}"
        before = stats()["server"]["slowSubscriberEvictions"]
        sock = open_socket(receive_buffer=4096)
        sock.sendall(f"GET /{kind}/{room} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        wait_for(lambda: stats()["rooms"].get(room, {}).get("subscribers") == 1)
        for _ in range(200):  # 12 MB: past the kernel's buffers, then past the 1 MiB a member may have queued
            request("POST", f"/publish/{room}", body=body, headers={"Authorization": f"Bearer {TOKEN}"})
        closed = wait_for(lambda: stats()["server"]["slowSubscriberEvictions"] == before + 1
                          and stats()["rooms"][room]["subscribers"] == 0 and stats()["server"]["queuedBytes"] == 0)
        sock.close()
        check(f"an {kind} reader that stopped reading is closed once, its queue released", closed, json.dumps(stats()["server"]))


def test_iframe_escaping():
    room = "frames"
    sock = open_socket()
    sock.sendall(f"GET /iframe/{room} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    time.sleep(0.2)
    publish(room, '</script><script>alert("x")</script>')
    time.sleep(0.3)
    data = read_available(sock).decode()
    sock.close()
    check("iframe stream is chunked text/html", "Content-Type: text/html" in data and "Transfer-Encoding: chunked" in data)
    check("no message can break out of the script", "<script>parent.push(" in data and "alert" in data
          and data.count("</script>") == 1, data[-200:])
    # The room name is in the document's title: it must not become markup either.
    sock = open_socket()
    sock.sendall(b"GET /iframe/%3Cimg%20src=x%20onerror=alert(1)%3E HTTP/1.1\r\nHost: x\r\n\r\n")
    time.sleep(0.2)
    data = read_available(sock).decode()
    sock.close()
    check("a room name in the iframe document is escaped", "<img" not in data and "&lt;img src=x onerror=alert(1)&gt;" in data,
          data[:300])


def test_static_files_and_traversal():
    response, body = request("GET", "/static/hello.txt")
    etag = response.getheader("ETag")
    check("static file with content type and ETag", response.status == 200 and body == b"hello\n"
          and response.getheader("Content-Type", "").startswith("text/plain") and etag is not None)
    response, _ = request("GET", "/static/hello.txt", headers={"If-None-Match": etag})
    check("If-None-Match gives 304", response.status == 304)
    for name, content in (("...", b"dots\n"), ("trailing.", b"dot\n")):
        response, body = request("GET", f"/static/{name}")
        check(f"a file named {name!r} is served as bytes (no extension)", response.status == 200 and body == content
              and response.getheader("Content-Type") == "application/octet-stream", str(response.status))
    for path in ["/static/../README.md", "/static/%2e%2e/README.md", "/static/..%2fREADME.md", "/static/a%2F..%2F..%2Fetc%2Fpasswd",
                 "/static/escape", "/static/./hello.txt%00.png"]:
        raw = open_socket()
        raw.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        answer = read_available(raw).decode(errors="replace")
        raw.close()
        status = answer.split(" ")[1] if " " in answer else "?"
        check(f"path traversal {path} refused ({status})", status in ("403", "404"), answer[:80])


def read_to_end(sock):
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data.decode(errors="replace")


def test_pipelining_keep_alive_and_head():
    for n in range(4):  # rooms whose home loop is, or is not, the connection's own
        room = f"pipelined-{n}"
        sock = open_socket()
        sock.sendall((f"HEAD /static/hello.txt HTTP/1.1\r\nHost: x\r\n\r\n"
                      f"GET /poll/{room} HTTP/1.1\r\nHost: x\r\n\r\n"
                      f"GET /poll/{room}?since=0 HTTP/1.1\r\nHost: x\r\n\r\n"
                      f"GET /static/hello.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").encode())
        answer = read_to_end(sock)
        sock.close()
        statuses = [line for line in answer.split("\r\n") if "HTTP/1.1 " in line]
        check(f"4 pipelined requests (HEAD, poll, poll, GET) answered in order on one connection ({room})",
              len(statuses) == 4 and answer.count('"messages":[]') == 2 and answer.endswith("\r\n\r\nhello\n")
              and answer.count("hello") == 1, answer[:400])
    # Behind a held long-poll: answered once the poll is.
    room = "pipelined-held"
    last = poll(room)["last"]
    sock = open_socket()
    sock.sendall((f"GET /poll/{room}?since={last}&wait=20 HTTP/1.1\r\nHost: x\r\n\r\n"
                  f"GET /static/hello.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").encode())
    time.sleep(0.3)
    publish(room, "release")
    answer = read_to_end(sock)
    sock.close()
    check("a request pipelined behind a held long-poll is answered after it",
          '"data":"release"' in answer and answer.index('"release"') < answer.index("hello\n")
          and answer.endswith("hello\n"), answer[-300:])
    response, body = request("HEAD", "/static/hello.txt")
    check("HEAD: the headers of GET, no body", response.status == 200 and body == b""
          and response.getheader("Content-Length") == "6")
    # On the push routes too: nothing opened, and the connection goes on with the next request.
    for path, content_type in (("/poll/heads?since=0", "application/json"), ("/sse/heads", "text/event-stream"),
                               ("/iframe/heads", "text/html; charset=utf-8")):
        connection = http_connection()
        connection.request("HEAD", path)
        head_response = connection.getresponse()
        head_body = head_response.read()
        connection.request("GET", "/static/hello.txt")
        after = connection.getresponse().read()
        connection.close()
        check(f"HEAD {path}: {content_type}, no body, the next request answered", head_response.status == 200
              and head_response.getheader("Content-Type") == content_type and head_body == b"" and after == b"hello\n",
              f"{head_response.status} {head_response.getheaders()} {head_body[:60]!r} then {after[:60]!r}")


def test_half_closed_clients():
    answered = both = 0
    for n in range(20):  # rooms on either loop: answered at once, or from the room's home loop
        room = f"half-{n}"
        sock = open_socket()
        sock.sendall(f"GET /poll/{room}?since=0 HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        half_close(sock)
        answered += read_to_end(sock).count('"messages":[]')
        sock.close()
        sock = open_socket()
        sock.sendall(f"GET /poll/{room}?since=0 HTTP/1.1\r\nHost: x\r\n\r\nGET /static/hello.txt HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        half_close(sock)
        answer = read_to_end(sock)
        both += answer.count("HTTP/1.1 200") == 2 and answer.endswith("hello\n")
        sock.close()
    check(f"a client that half-closes after its requests gets every answer ({answered}/20 polls, {both}/20 pairs)",
          answered == 20 and both == 20)
    room = "half-held"
    last = poll(room)["last"]
    sock = open_socket()
    sock.sendall(f"GET /poll/{room}?since={last}&wait=30 HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    wait_for(lambda: stats()["rooms"].get(room, {}).get("subscribers") == 1)
    half_close(sock)
    released = wait_for(lambda: stats()["rooms"][room]["subscribers"] == 0)
    sock.close()
    check("a held long-poll whose client half-closes is released at once", released)


def read_exactly(sock, count):
    data = bytearray()
    while len(data) < count:
        chunk = sock.recv(min(1 << 20, count - len(data)))
        if not chunk:
            break
        data += chunk
    return bytes(data)


def watch_queue_while(sender, seconds):
    """The largest /stats queuedBytes seen while `sender` runs (at most `seconds`)."""
    peak, deadline = 0, time.time() + seconds
    while sender.is_alive() and time.time() < deadline:
        peak = max(peak, stats()["server"]["queuedBytes"])
        time.sleep(0.1)
    return peak


def test_a_client_that_does_not_read_is_not_read_from():
    cap, mib = 1 << 20, 1 << 20
    # WebSocket echo: 48 messages of 1 MiB, nothing read until all are sent (or the sender is stuck).
    sock = SealedClient(30) if TLS else socket.create_connection((HOST, PORT), timeout=30)
    sock.sendall(b"GET /echo HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
    head = b""
    while b"\r\n\r\n" not in head:
        head += sock.recv(1)
    # A zero masking key is legal and leaves the payload as it is.
    frames = [bytes([0x82, 0xFF]) + mib.to_bytes(8, "big") + b"\0\0\0\0" + bytes([n]) * mib for n in range(48)]
    if TLS:  # sealed here; the sender thread only moves ciphertext
        frames = [sock.seal(frame) for frame in frames]
    send = sock.raw.sendall if TLS else sock.sendall
    sender = threading.Thread(target=lambda: [send(frame) for frame in frames])
    sender.start()
    peak = watch_queue_while(sender, 3)
    stuck = sender.is_alive()
    echoes = []
    for _ in range(48):
        header = read_exactly(sock, 10)
        payload = read_exactly(sock, int.from_bytes(header[2:10], "big"))
        echoes.append(payload[:1] * len(payload) == payload and len(payload) == mib and payload[0])
    sender.join()
    sock.close()
    check(f"an echo client that does not read is not read from (sender stuck: {stuck}, "
          f"peak queue {peak / mib:.1f} MiB), then gets all 48 echoes", stuck and peak <= cap + 2 * mib
          and echoes == list(range(48)), f"peak={peak}")
    # HTTP: 64 pipelined GETs of a 1 MiB file, read only after a while.
    sock = open_socket(timeout=30)
    requests = b"GET /static/big.bin HTTP/1.1\r\nHost: x\r\n\r\n" * 63 + b"GET /static/big.bin HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    sock.sendall(requests)  # 3 KB: the kernel takes it all at once
    idle = threading.Thread(target=time.sleep, args=(2,))
    idle.start()
    peak = watch_queue_while(idle, 3)
    data = bytearray()
    while chunk := sock.recv(1 << 20):
        data += chunk
    sock.close()
    check(f"64 pipelined 1 MiB answers are produced as the client reads (peak queue {peak / mib:.1f} MiB)",
          peak <= cap + 2 * mib and data.count(b"HTTP/1.1 200") == 64 and len(data) > 64 * mib, f"peak={peak}")


def test_http_limits_and_cors():
    for wait in ("inf", "1e400", "nan", "-1", "abc"):
        response, _ = request("GET", f"/poll/limits?since=0&wait={wait}")
        check(f"wait={wait}: 400, and the server lives on", response.status == 400 and stats()["server"] is not None)
    started = time.time()
    answer = poll("limits")
    threading.Thread(target=lambda: (time.sleep(0.3), publish("limits", "after a long wait"))).start()
    answer = poll("limits", since=answer["last"], wait="1e11")  # cut to the 60 s cap; answered by the publish
    check("wait=1e11 is cut to the cap, not a crash", [m["data"] for m in answer["messages"]] == ["after a long wait"]
          and time.time() - started < 5, str(answer))
    for lengths in (["2", "5"], ["+5"], ["5, 2"]):
        raw = open_socket()
        fields = "".join(f"Content-Length: {value}\r\n" for value in lengths)
        raw.sendall(f"POST /publish/smuggle HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n{fields}\r\nhello".encode())
        answer = read_to_end(raw)
        raw.close()
        check(f"Content-Length {lengths}: 400, nothing published", answer.startswith("HTTP/1.1 400")
              and "smuggle" not in stats()["rooms"], answer[:60])
    raw = open_socket()
    raw.sendall(b"GET /static/hello.txt HTTP/1.1\r\nHost: x\r\n\r\n\r\nGET /static/hello.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    answer = read_to_end(raw)
    raw.close()
    check("an empty line between pipelined requests is ignored", answer.count("HTTP/1.1 200") == 2, answer[:200])
    response, _ = request("PATCH", "/poll/x")
    check("405 for a wrong method", response.status == 405 and "GET" in (response.getheader("Allow") or ""))
    response, _ = request("POST", "/publish/x", body=b"x" * 70000, headers={"Authorization": f"Bearer {TOKEN}"})
    check("413 for an oversize body", response.status == 413)
    raw = open_socket()
    raw.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 9000 + b"\r\n\r\n")
    check("431 for an oversize head", raw.recv(100).startswith(b"HTTP/1.1 431"))
    raw.close()
    raw = open_socket()
    raw.sendall(b"GARBAGE\r\n\r\n")
    check("400 for a malformed request", raw.recv(100).startswith(b"HTTP/1.1 400"))
    raw.close()
    response, _ = request("GET", "/poll/x", headers={"Origin": "http://allowed.example"})
    check("CORS: an allowed origin is echoed", response.getheader("Access-Control-Allow-Origin") == "http://allowed.example")
    response, _ = request("GET", "/poll/x", headers={"Origin": "http://evil.example"})
    check("CORS: another origin gets no grant", response.getheader("Access-Control-Allow-Origin") is None)
    response, _ = request("OPTIONS", "/publish/x", headers={"Origin": "http://allowed.example", "Access-Control-Request-Method": "POST"})
    check("CORS preflight", response.status == 204 and "POST" in (response.getheader("Access-Control-Allow-Methods") or ""))


for test in [test_long_poll_returns_at_once_on_publish, test_long_poll_never_skips, test_sse_resume_with_last_event_id,
             test_a_poll_ahead_of_the_room_is_answered_at_once, test_sse_gap_too_old, test_disconnects_leave_nothing_behind, test_slow_stream_readers_are_closed, test_iframe_escaping,
             test_static_files_and_traversal, test_pipelining_keep_alive_and_head, test_half_closed_clients,
             test_a_client_that_does_not_read_is_not_read_from,
             test_http_limits_and_cors]:
    try:
        test()
    except Exception as error:  # a crash is a failure of that test, the others still run
        failed += 1
        print(f"FAIL {test.__name__}: {type(error).__name__}: {error}")

print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
