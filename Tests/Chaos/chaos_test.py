#!/usr/bin/env python3
"""Hostile peers and faults against echo-server, each beside a healthy room
measured by wsbench (its p99 before, during and after the fault).

    python3 chaos_test.py --server .build/release/echo-server --wsbench .build/release/wsbench
                          [--room-size 10000] [--only slowloris,silent,...] [--report FILE]

Faults (each its own check; see the README's "Chaos suite"):
  slowloris   heads trickled a byte a second: 408 within the 10 s head timeout (+1 s tick)
  silent      connections that never send a byte: 408 within the head timeout
  huge-length frames declaring 2^63 bytes: close 1009 at once
  rst         connections reset in the middle of a frame: nothing leaks (/stats back to where it was)
  slow-reader a member of a --room-size room that stops reading: closed with 1008, the others lose nothing
  emfile      a server with 1,024 descriptors hit by 3,000 connections: it stays up, serves the
              connections it has, and accepts again once they go
  budget      a server with a 64 MiB memory budget and 500 clients each sending 1 MiB of an
              8 MiB message that never ends: what it holds stays within the budget (the rest
              get close 1013), its RSS grows by no more than about the budget, and it holds
              nothing once they go
  sigterm     SIGTERM under load: every WebSocket gets 1001, and every POST /publish answered 202
              before the signal reached every subscriber still connected, before its 1001
Prints one line per check, a table of what the server did and the healthy room's p99,
and `N passed, M failed`; exits 1 on any failure.
"""
import argparse
import http.client
import json
import os
import random
import resource
import selectors
import signal
import socket
import struct
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wsclient  # noqa: E402
from healthy_room import HealthyRoom, summarize  # noqa: E402

HOST = "127.0.0.1"
HEAD_TIMEOUT = 10  # echo-server's, README "Server behaviour and limits"
TOKEN = "chaos-token"
passed = failed = 0
table = []


def check(name, condition, detail=""):
    global passed, failed
    if condition:
        passed += 1
        print(f"PASS {name} {detail}".rstrip(), flush=True)
    else:
        failed += 1
        print(f"FAIL {name} {detail}".rstrip(), flush=True)
    return condition


class Server:
    """echo-server on a random port; `nofile` lowers its RLIMIT_NOFILE."""

    def __init__(self, binary, extra=(), nofile=None):
        self.port = random.randint(20000, 31999)
        self.log_path = f"/tmp/chaos-server-{self.port}.log"
        self.log = open(self.log_path, "w")

        def limit():
            os.setsid()
            if nofile:
                resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))
        command = [binary, "--host", HOST, "--port", str(self.port), "--threads", "2", "--publish-token", TOKEN, *extra]
        self.process = subprocess.Popen(command, stdout=self.log, stderr=subprocess.STDOUT, preexec_fn=limit)
        deadline = time.time() + 10
        while time.time() < deadline and "listening" not in open(self.log_path).read():
            time.sleep(0.05)
        if "listening" not in open(self.log_path).read():
            raise RuntimeError("echo-server did not start: " + open(self.log_path).read())

    def url(self, path):
        return f"ws://{HOST}:{self.port}{path}"

    def alive(self):
        return self.process.poll() is None

    def stats(self):
        connection = http.client.HTTPConnection(HOST, self.port, timeout=5)
        connection.request("GET", "/stats")
        data = connection.getresponse().read()
        connection.close()
        return json.loads(data)

    def output(self):
        return open(self.log_path).read()

    def stop(self):
        if self.alive():
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()
        os.unlink(self.log_path)


def wait_for(condition, seconds):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


def beside_healthy_room(name, args, server, fault, room_path="/room/healthy", members=None, rate=20, size=64, budget=20):
    """Runs `fault()` (which returns (checks passed, what the server did)) while wsbench measures a room."""
    members = members or args.healthy_size
    room = HealthyRoom(args.wsbench, server.url(room_path), members, rate, 5 + budget + 30, size).start()
    time.sleep(5)
    start = time.time()
    ok, behaviour = fault()
    end = time.time()
    report = room.finish(after=8)  # 8 s of "after", then wsbench is interrupted
    summary = summarize(room.p99_by_phase(start, end), end)
    lost = report["lost"] if report else None
    errors = report["errors"]["total"] if report else None
    check(f"{name}: the healthy room ({members} members) lost nothing and saw no error", lost == 0 and errors == 0,
          f"lost {lost}, errors {errors}")
    table.append((name, ok, behaviour, members, summary, end - start))


# --- Faults ---------------------------------------------------------------------------------------

def collect_answers(sockets, seconds):
    """Reads every socket until EOF (or `seconds`): {socket: (bytes, seconds until EOF or None)}."""
    selector = selectors.DefaultSelector()
    started = {}
    answers = {}
    for sock, opened in sockets:
        sock.setblocking(False)
        selector.register(sock, selectors.EVENT_READ)
        started[sock] = opened
        answers[sock] = [b"", None]
    deadline = time.time() + seconds
    while selector.get_map() and time.time() < deadline:
        for key, _ in selector.select(0.2):
            sock = key.fileobj
            try:
                chunk = sock.recv(4096)
            except (ConnectionResetError, BlockingIOError):
                chunk = b"" if not isinstance(sys.exc_info()[1], BlockingIOError) else None
            if chunk is None:
                continue
            if chunk:
                answers[sock][0] += chunk
            else:
                answers[sock][1] = time.time() - started[sock]
                selector.unregister(sock)
    return answers


def slowloris(server, count=200):
    def fault():
        sockets = []
        for _ in range(count):
            sock = socket.create_connection((HOST, server.port))
            sock.sendall(b"GET /echo HTTP/1.1\r\nHost: chaos\r\nX-Trickle: ")
            sockets.append((sock, time.time()))
        # One byte a second from every connection, from another thread, until the server answers.
        stop = threading.Event()

        def trickle():
            while not stop.wait(1):
                for sock, _ in sockets:
                    try:
                        sock.send(b"a")
                    except OSError:
                        pass
        threading.Thread(target=trickle, daemon=True).start()
        answers = collect_answers(sockets, HEAD_TIMEOUT + 5)
        stop.set()
        return judge_head_timeouts("slowloris", f"all {count} trickled heads", sockets, answers)
    return fault


def silent(server, count=500):
    def fault():
        sockets = [(socket.create_connection((HOST, server.port)), time.time()) for _ in range(count)]
        answers = collect_answers(sockets, HEAD_TIMEOUT + 5)
        return judge_head_timeouts("silent", f"all {count} silent connections", sockets, answers)
    return fault


def judge_head_timeouts(name, who, sockets, answers):
    """Every connection got 408 and was closed within the head timeout (one tick late at most); closes them."""
    count = len(sockets)
    got408 = [a for a in answers.values() if a[0].startswith(b"HTTP/1.1 408 ")]
    times = sorted(a[1] for a in answers.values() if a[1] is not None)
    ok = check(f"{name}: {who} got 408", len(got408) == count, f"({len(got408)})")
    ok &= check(f"{name}: each closed within the head timeout, one timer tick late at most",
                len(times) == count and HEAD_TIMEOUT - 0.5 <= times[0] and times[-1] <= HEAD_TIMEOUT + 1.5,
                f"(closed after {times[0]:.1f}-{times[-1]:.1f} s)" if times else "(none closed)")
    for sock, _ in sockets:
        sock.close()
    return ok, f"408 and close after {times[0]:.1f}-{times[-1]:.1f} s" if times else "no answer"


def huge_length(server, seconds=5):
    def fault():
        codes, delays, count = {}, [], 0
        deadline = time.time() + seconds
        while time.time() < deadline:
            for path in ("/echo", "/room/chaos-huge"):
                ws = wsclient.connect(HOST, server.port, path)
                sent = time.time()
                ws.sock.sendall(struct.pack("!BBQ", 0x82, 0xFF, 1 << 63) + os.urandom(4) + b"x" * 100)
                _, code = ws.read_until_close()
                delays.append(time.time() - sent)
                codes[code] = codes.get(code, 0) + 1
                count += 1
                ws.close()
        ok = check(f"huge-length: all {count} frames declaring 2^63 bytes were closed with 1009", codes == {1009: count}, str(codes))
        ok &= check("huge-length: at once", max(delays) < 1, f"(slowest {max(delays) * 1000:.0f} ms)")
        return ok, f"close 1009 within {max(delays) * 1000:.0f} ms ({count} frames)"
    return fault


def rst_mid_frame(server, seconds=5):
    def fault():
        before = server.stats()["server"]
        count = 0
        deadline = time.time() + seconds
        while time.time() < deadline:
            for path in ("/echo", "/room/chaos-rst"):
                ws = wsclient.connect(HOST, server.port, path)
                whole = wsclient.frame(2, os.urandom(1000))
                ws.sock.sendall(whole[:random.randint(1, len(whole) - 1)])
                wsclient.reset(ws.sock)
                count += 1
        settled = wait_for(lambda: server.stats()["server"]["connections"] <= before["connections"], 5)
        after = server.stats()["server"]
        ok = check(f"rst: after {count} resets mid-frame the connections gauge is back", settled,
                   f"({before['connections']} before, {after['connections']} after)")
        ok &= check("rst: the server is up", server.alive())
        return ok, f"{count} resets dropped, connections {before['connections']} → {after['connections']}, queued bytes {after['queuedBytes']}"
    return fault


def slow_reader(server):
    def fault():
        before = server.stats()["server"]["slowSubscriberEvictions"]
        # A small receive buffer so the server's queue, not the kernel's buffers, takes the backlog.
        ws = wsclient.connect(HOST, server.port, "/room/big", rcvbuf=4096)
        attached = time.time()
        # It still sends (unsolicited pongs, as a heartbeat may): a peer that only stopped reading,
        # not a dead one, which the ping/pong heartbeat would drop after 40 s, before the queue cap.
        stop = threading.Event()

        def keep_talking():
            while not stop.wait(5):
                try:
                    ws.send(10)
                except OSError:
                    return
        threading.Thread(target=keep_talking, daemon=True).start()
        evicted = wait_for(lambda: server.stats()["server"]["slowSubscriberEvictions"] > before, 150)
        stop.set()
        took = time.time() - attached
        check("slow-reader: the member that stopped reading was evicted", evicted, f"(after {took:.1f} s)")
        ws.sock.settimeout(10)
        messages, code = ws.read_until_close()
        ok = evicted and check("slow-reader: its last frame was close 1008", code == 1008,
                               f"(got {code} after {len(messages)} messages)")
        return ok, f"evicted {took:.1f} s after it stopped reading, close {code} after {len(messages)} queued messages"
    return fault


def emfile_storm(args, count=3000):
    server = Server(args.server, nofile=1024)
    try:
        def fault():
            sockets = []
            for _ in range(count):
                try:
                    sockets.append(socket.create_connection((HOST, server.port), timeout=2))
                except OSError:
                    break
            time.sleep(3)
            alive_during = server.alive()
            for sock in sockets:
                sock.close()
            recovered = wait_for(lambda: try_echo(server), 10)
            warned = "pausing accepts" in server.output()
            ok = check("emfile: the server stayed up through the storm", alive_during and server.alive())
            ok &= check("emfile: it said why on stderr", warned)
            ok &= check("emfile: it accepts and echoes again once the storm is gone", recovered)
            return ok, (f"{len(sockets)} connects held 3 s; accepts paused (stderr: {'yes' if warned else 'no'}), "
                        f"{'echoes again' if recovered else 'did NOT recover'} after they closed")
        beside_healthy_room("emfile", args, server, fault, members=min(args.healthy_size, 500))
    finally:
        server.stop()


def rss_bytes(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def warm_receive_buffers(server, connections=16, messages=48, size=64 << 10):
    """Echoes 48 MiB through the server first. On io_uring each loop receives into a fixed ring of
    buffers (8 MiB, allocated at start, in RSS once bytes have landed in them); warmed, the ring is
    in the baseline, and what the RSS grows by after it is what the clients made the server hold."""
    payload = os.urandom(size)
    for _ in range(connections):
        socket_ = wsclient.connect(HOST, server.port, "/echo")
        for _ in range(messages):
            socket_.send(0x2, payload)
            if socket_.read() != (0x2, payload):
                raise AssertionError("budget: the warm-up echo came back wrong")
        socket_.close()


def budget_partial_messages(args, clients=500, budget=64 << 20, sent=1 << 20):
    server = Server(args.server, extra=["--queue-cap", "65536", "--max-buffered-total", str(budget),
                                        "--max-message", str(budget // 8)])
    mib = 1 << 20
    try:
        def fault():
            warm_receive_buffers(server)
            baseline = rss_bytes(server.process.pid)
            peaks = {"rss": baseline, "held": 0}
            stop = threading.Event()

            def sample():
                while not stop.wait(0.05):
                    peaks["rss"] = max(peaks["rss"], rss_bytes(server.process.pid))
                    held = server.stats()["server"]
                    peaks["held"] = max(peaks["held"], held["heldInputBytes"] + held["heldReassemblyBytes"])
            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
            # Connected first: once the budget is full, new upgrades may get 503.
            sockets = [(wsclient.connect(HOST, server.port, "/echo").sock, 0) for _ in range(clients)]
            started = time.time()
            for sock, _ in sockets:
                # An 8 MiB frame (the most --max-message allows) of which 1 MiB comes, the rest never.
                head = struct.pack("!BBQ", 0x82, 0xFF, budget // 8) + os.urandom(4)
                try:
                    sock.sendall(head + b"x" * sent)
                except OSError:
                    pass  # refused and closed while sending
            sockets = [(sock, started) for sock, _ in sockets]
            answers = collect_answers(sockets, 5)  # the refused ones end; the others hold their part
            codes = {}
            for data, _ in answers.values():
                code = struct.unpack("!H", data[2:4])[0] if data[:1] == b"\x88" and len(data) >= 4 else None
                codes[code] = codes.get(code, 0) + 1
            time.sleep(0.5)
            held = server.stats()["server"]
            held_now = held["heldInputBytes"] + held["heldReassemblyBytes"]
            for sock, _ in sockets:
                sock.close()
            emptied = wait_for(lambda: server.stats()["server"]["heldInputBytes"] + server.stats()["server"]["heldReassemblyBytes"] == 0, 10)
            stop.set()
            sampler.join()
            grown = peaks["rss"] - baseline
            refused = codes.get(1013, 0)
            ok = check(f"budget: of {clients} clients each holding part of a message, those past the budget got 1013",
                       refused > 0 and refused + codes.get(None, 0) == clients and held["refusedMessages"] >= refused,
                       f"(closes {codes}, refusals counted {held['refusedMessages']})")
            # Passed by at most one read (256 KiB) and one reassembly buffer's doubling (here at most the
            # 1 MiB a client sends) per loop, for as long as a callback; /stats adds up the loops'
            # counts posted at different moments, so such a moment can show.
            ok &= check("budget: what it held stayed within the budget (one read and one doubling per loop over, at most)",
                        peaks["held"] <= budget + 2 * (256 * 1024 + sent) and held_now <= budget,
                        f"(peak {peaks['held'] / mib:.1f} MiB, then {held_now / mib:.1f} MiB, of {budget / mib:.0f} MiB)")
            ok &= check("budget: its RSS grew by no more than the budget and a quarter",
                        grown <= budget * 5 // 4, f"(+{grown / mib:.1f} MiB over {baseline / mib:.1f} MiB)")
            ok &= check("budget: it holds nothing once they are gone", emptied)
            return ok, (f"1013 to {refused} of {clients} clients; {peaks['held'] / mib:.1f} MiB held at most of a "
                        f"{budget / mib:.0f} MiB budget ({clients * sent / mib:.0f} MiB sent); RSS +{grown / mib:.1f} MiB; "
                        f"{'nothing held' if emptied else 'STILL HOLDING'} after they closed")
        beside_healthy_room("budget", args, server, fault, budget=15)
    finally:
        server.stop()


def try_echo(server):
    try:
        ws = wsclient.connect(HOST, server.port, "/echo", timeout=2)
        ws.send(1, b"still here")
        opcode, payload = ws.read()
        ws.close()
        return opcode == 1 and payload == b"still here"
    except (OSError, wsclient.Closed):
        return False


def sigterm_under_load(args, subscribers=100):
    """Not beside a healthy room that outlives it: the whole server goes. wsbench's room is the load."""
    server = Server(args.server)
    room = HealthyRoom(args.wsbench, server.url("/room/healthy"), args.healthy_size, 50, 60).start()
    time.sleep(1)
    members = [wsclient.connect(HOST, server.port, "/room/term") for _ in range(subscribers)]
    for ws in members:
        ws.sock.settimeout(15)
    results = [None] * subscribers

    def listen(index):
        results[index] = members[index].read_until_close()
    listeners = [threading.Thread(target=listen, args=(i,), daemon=True) for i in range(subscribers)]
    for thread in listeners:
        thread.start()
    acked = []  # (number, time the 202 arrived)
    stop = threading.Event()

    def publish():
        connection = http.client.HTTPConnection(HOST, server.port, timeout=5)
        number = 0
        while not stop.is_set():
            try:
                connection.request("POST", "/publish/term", body=f"m{number}",
                                   headers={"Authorization": f"Bearer {TOKEN}"})
                response = connection.getresponse()
                response.read()
            except (OSError, http.client.HTTPException):
                return
            if response.status == 202:
                acked.append((number, time.time()))
            number += 1
    publishers = [threading.Thread(target=publish, daemon=True) for _ in range(2)]
    for thread in publishers:
        thread.start()
    time.sleep(5)
    signalled = time.time()
    server.process.send_signal(signal.SIGTERM)
    try:
        status = server.process.wait(15)
    except subprocess.TimeoutExpired:
        status = None
    exited = time.time() - signalled
    stop.set()
    for thread in listeners + publishers:
        thread.join(10)
    report = room.finish()
    acked_numbers = sorted(n for n, when in acked if when < signalled)
    acked_before = {f"m{n}".encode() for n in acked_numbers}
    got1001 = sum(1 for r in results if r and r[1] == 1001)
    missing = [len(acked_before - set(r[0])) for r in results if r]
    missed = sorted({int(m[1:]) for r in results if r for m in acked_before - set(r[0])})
    # Which of the acknowledged ones went missing, counted back from the last (0: the last acknowledged).
    from_last = [acked_numbers.index(n) - len(acked_numbers) + 1 for n in missed]
    check("sigterm: the server exited with status 0 within the 5 s drain", status == 0 and exited < 6.5,
          f"(status {status}, {exited:.1f} s)")
    check(f"sigterm: all {subscribers} room members got close 1001", got1001 == subscribers, f"({got1001})")
    all_delivered = len(missing) == subscribers and max(missing) == 0
    check(f"sigterm: each got all {len(acked_before)} publishes acknowledged (202) before the signal, before its 1001",
          all_delivered, f"({sum(1 for m in missing if m)} members missed some; acknowledged ones missed, "
                         f"counted from the last acknowledged: {from_last})")
    wsbench_closes = report["closes_by_code"] if report else {}
    established = report["connection_counts"]["established"] if report else -1
    check(f"sigterm: all {established} wsbench connections got close 1001",
          wsbench_closes.get("1001") == established, str(wsbench_closes))
    summary = summarize(room.p99_by_phase(signalled, signalled), signalled)
    summary["p99_after_ms"] = None  # the server is gone
    delivered = ("all delivered" if all_delivered else
                 f"NOT all delivered: {sum(1 for m in missing if m)} members got 1001 before {len(missed)} of them")
    table.append(("sigterm", got1001 == subscribers and status == 0 and all_delivered,
                  f"exit {status} after {exited:.1f} s; 1001 to {got1001}/{subscribers} members and {wsbench_closes.get('1001', 0)}"
                  f"/{established} wsbench clients; {len(acked_before)} acknowledged publishes {delivered}",
                  args.healthy_size, summary, exited))
    for ws in members:
        ws.close()
    if os.path.exists(server.log_path):
        os.unlink(server.log_path)


# --- Main -----------------------------------------------------------------------------------------

def print_table():
    def ms(value):
        return "-" if value is None else f"{value:.1f}"
    lines = ["| fault | what the server did | healthy room | p99 before / during / after (ms) | p99 raised after the fault |",
             "|---|---|---|---|---|"]
    for name, ok, behaviour, members, s, _ in table:
        lines.append(f"| {name} {'✓' if ok else '✗'} | {behaviour} | {members} | "
                     f"{ms(s['p99_before_ms'])} / {ms(s['p99_during_ms'])} / {ms(s['p99_after_ms'])} | "
                     f"{s['elevated_after_fault_s']:.0f} s |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--server", required=True)
    parser.add_argument("--wsbench", required=True)
    parser.add_argument("--room-size", type=int, default=10000, help="the slow reader's room (default 10000)")
    parser.add_argument("--healthy-size", type=int, default=1000, help="the healthy room beside the other faults")
    parser.add_argument("--only", default="", help="comma-separated fault names")
    parser.add_argument("--report", help="also write the table (Markdown) here")
    args = parser.parse_args()
    only = set(filter(None, args.only.split(",")))
    resource.setrlimit(resource.RLIMIT_NOFILE, (20000, 20000))

    def wanted(name):
        return not only or name in only

    server = Server(args.server, extra=["--queue-cap", "65536"])
    try:
        for name, fault, budget in [("slowloris", slowloris(server), 16), ("silent", silent(server), 16),
                                    ("huge-length", huge_length(server), 6), ("rst", rst_mid_frame(server), 11)]:
            if wanted(name):
                beside_healthy_room(name, args, server, fault, budget=budget)
        if wanted("slow-reader"):
            # The measured room is the slow reader's own: the others must not notice it.
            # 16 KiB at 3 msg/s: about 4 MB, what the kernel's buffers and a 64 KiB queue cap hold, in 80 s.
            beside_healthy_room("slow-reader", args, server, slow_reader(server), room_path="/room/big",
                                members=args.room_size, rate=3, size=16384, budget=150)
        check("the server survived every fault", server.alive())
    finally:
        server.stop()
    if wanted("emfile"):
        emfile_storm(args)
    if wanted("budget"):
        budget_partial_messages(args)
    if wanted("sigterm"):
        sigterm_under_load(args)

    text = print_table()
    print("\n" + text + "\n")
    if args.report:
        with open(args.report, "w") as file:
            file.write(text + "\n")
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
