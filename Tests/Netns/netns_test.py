#!/usr/bin/env python3
"""Network faults between clients and echo-server, each on its side of a veth
pair in its own network namespace. Runs in the client namespace; reaches the
server's namespace with `ip netns exec` (to start the server, read /stats and
change its nftables rules). Started by Tests/Netns/run.sh, which makes the
namespaces and removes them afterwards.

    ip netns exec CLIENT_NS python3 netns_test.py --server-ns NS --veth IFNAME --address ADDR
                                                  --server BIN --wsbench BIN

Checks (loss and delay against a server with the default heartbeat and --head-timeout 60, the partition
against a fast heartbeat):
  loss       nftables drops N% of the packets each way (`numgen random mod 100 < N`): wsbench's
             room loses, repeats and reorders nothing, and echoes of random payloads come back
             byte for byte, in order (TCP retransmits; nothing the protocol promised is lost)
  partition  all packets dropped for longer than the heartbeat (a server with --ping-interval 2 --pong-timeout 2):
             the server evicts every peer within the heartbeat timeout (/stats heartbeatEvictions);
             once the rules are removed, every client notices and reconnects, and hears the room again
  delay      through a delaying, re-segmenting TCP proxy: nothing lost or reordered, echoes intact,
             latency raised by about the delay
Prints one line per check and `N passed, M failed`; exits 1 on any failure.
"""
import argparse
import hashlib
import json
import os
import random
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Chaos"))
import wsclient  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
passed = failed = 0
notes = []


def check(name, condition, detail=""):
    global passed, failed
    if condition:
        passed += 1
        print(f"PASS {name} {detail}".rstrip(), flush=True)
    else:
        failed += 1
        print(f"FAIL {name} {detail}".rstrip(), flush=True)
    return condition


class ServerSide:
    """The server's namespace: echo-server, its /stats, its nftables table."""

    TABLE = "fanout_netns_test"

    def __init__(self, args, options=()):
        self.args = args
        self.port = random.randint(20000, 31999)
        self.log_path = f"/tmp/netns-server-{self.port}.log"
        command = ["ip", "netns", "exec", args.server_ns, args.server, "--host", "0.0.0.0", "--port", str(self.port),
                   "--threads", "2", *options]
        self.process = subprocess.Popen(command, stdout=open(self.log_path, "w"), stderr=subprocess.STDOUT)
        deadline = time.time() + 10
        while time.time() < deadline and "listening" not in open(self.log_path).read():
            time.sleep(0.05)
        if "listening" not in open(self.log_path).read():
            raise RuntimeError("echo-server did not start: " + open(self.log_path).read())

    def run(self, command, stdin=None):
        return subprocess.run(["ip", "netns", "exec", self.args.server_ns, *command], input=stdin,
                              capture_output=True, text=True, check=True).stdout

    def stats(self):
        script = f"import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:{self.port}/stats', timeout=5).read().decode())"
        return json.loads(self.run(["python3", "-c", script]))["server"]

    def rules(self, rule):
        """Replaces the test's table with one whose input and output chains apply `rule` on the veth."""
        self.heal()
        veth = self.args.veth
        self.run(["nft", "-f", "-"], stdin=f"""
table inet {self.TABLE} {{
    chain input {{ type filter hook input priority 0; policy accept; iifname "{veth}" {rule}; }}
    chain output {{ type filter hook output priority 0; policy accept; oifname "{veth}" {rule}; }}
}}
""")

    def heal(self):
        subprocess.run(["ip", "netns", "exec", self.args.server_ns, "nft", "delete", "table", "inet", self.TABLE],
                       capture_output=True)

    def stop(self):
        self.heal()
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        os.unlink(self.log_path)


def wsbench_room(args, url, extra=()):
    """A wsbench broadcast run's JSON report."""
    path = f"/tmp/netns-wsbench-{os.getpid()}.json"
    command = [args.wsbench, "--scenario", "broadcast", "-c", "100", "-r", "50", "-t", "1", "-d", "10s",
               "--timeout", "60s", "--json", path, *extra, url]
    subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=200)
    with open(path) as file:
        report = json.load(file)
    os.unlink(path)
    return report


def echo_integrity(host, port, messages=300, seed=7):
    """Sends random payloads of 0 B to 256 KiB on /echo, a few in flight; True when each comes back exactly, in order."""
    rng = random.Random(seed)
    ws = wsclient.connect(host, port, "/echo", timeout=30)
    payloads = [rng.randbytes(rng.choice([0, 1, 125, 126, 1000, 65535, 65536, 200_000, 262_144])) for _ in range(messages)]
    problems = []

    def receive():
        for index, payload in enumerate(payloads):
            try:
                opcode, echoed = ws.read()
                while opcode in (9, 10):  # a ping or pong between the echoes
                    opcode, echoed = ws.read()
            except (wsclient.Closed, OSError) as error:
                problems.append(f"message {index}: {error}")
                return
            if opcode != 2 or hashlib.sha256(echoed).digest() != hashlib.sha256(payload).digest():
                problems.append(f"message {index} came back altered ({len(echoed)} of {len(payload)} bytes)")
                return
    reader = threading.Thread(target=receive)
    reader.start()
    for payload in payloads:
        ws.send(2, payload)
    reader.join(120)
    ws.close()
    return not problems and not reader.is_alive(), problems[:1]


class RoomClient(threading.Thread):
    """A room member that behaves: answers pings, pings the server when it has heard nothing for 1 s,
    and reconnects (every 0.5 s until it can) when 3 s pass without a byte from the server."""

    def __init__(self, host, port, room):
        super().__init__(daemon=True)
        self.host, self.port, self.room = host, port, room
        self.connections = 0
        self.messages = []
        self.stop = threading.Event()
        self.connected = threading.Event()

    def run(self):
        while not self.stop.is_set():
            try:
                ws = wsclient.connect(self.host, self.port, f"/room/{self.room}", timeout=2)
            except (OSError, wsclient.Closed):
                time.sleep(0.5)
                continue
            self.connections += 1
            self.connected.set()
            ws.sock.settimeout(1)
            heard = time.time()
            while not self.stop.is_set():
                try:
                    opcode, payload = ws.read()
                    heard = time.time()
                    if opcode == 9:
                        ws.send(10, payload)
                    elif opcode in (1, 2):
                        self.messages.append(payload)
                    elif opcode == 8:
                        break
                except socket.timeout:
                    if time.time() - heard > 3:
                        break  # the server is gone, or the path to it
                    try:
                        ws.send(9, b"are you there")
                    except OSError:
                        break
                except (wsclient.Closed, OSError):
                    break
            self.connected.clear()
            ws.close()


def loss(args, server, percent):
    server.rules(f"numgen random mod 100 < {percent} drop")
    try:
        report = wsbench_room(args, f"ws://{args.address}:{server.port}/room/lossy")
        window = report.get("measured", {})
        check(f"loss {percent}%: the room lost, repeated and reordered nothing",
              report["lost"] == 0 and report["duplicated"] == 0 and report["reordered"] == 0,
              f"(lost {report['lost']}, dup {report['duplicated']}, reord {report['reordered']}; "
              f"{window.get('received', 0)} deliveries, p99 {window.get('latency_ns', {}).get('p99', 0) / 1e6:.0f} ms)")
        check(f"loss {percent}%: no connection failed", report["errors"]["total"] == 0,
              f"{report['errors']['by_kind']} (heartbeat evictions {server.stats()['heartbeatEvictions']})")
        intact, problems = echo_integrity(args.address, server.port)
        check(f"loss {percent}%: 300 echoes of 0 B-256 KiB came back byte for byte, in order", intact, str(problems))
        notes.append(f"loss {percent}%: p99 {window.get('latency_ns', {}).get('p99', 0) / 1e6:.0f} ms")
    finally:
        server.heal()


def partition(args, server, members=20, seconds=10):
    clients = [RoomClient(args.address, server.port, "partitioned") for _ in range(members)]
    for client in clients:
        client.start()
    check(f"partition: {members} members connected", all(c.connected.wait(10) for c in clients))
    time.sleep(3)  # a few heartbeats answered first
    before = server.stats()
    cut = time.time()
    server.rules("drop")
    evicted_at = None
    while time.time() - cut < seconds:
        if server.stats()["heartbeatEvictions"] - before["heartbeatEvictions"] >= members:
            evicted_at = time.time() - cut
            break
        time.sleep(0.2)
    after = server.stats()
    # Silent 2 s → ping; 2 s more → evicted; each timer up to one 1 s tick late; /stats is refreshed
    # every 250 ms and read here through `ip netns exec python3` every 200 ms: 1.5 s for seeing it.
    limit = 2 + 2 + 2 + 1.5
    check(f"partition: the server evicted all {members} unreachable peers within the heartbeat timeout",
          evicted_at is not None and evicted_at <= limit,
          f"({after['heartbeatEvictions'] - before['heartbeatEvictions']} evicted, "
          f"{'after %.1f s' % evicted_at if evicted_at else 'not all'}; limit {limit} s)")
    check("partition: no WebSocket left open on the server", after["openWebSockets"] == 0, f"({after['openWebSockets']})")
    time.sleep(max(0, cut + seconds - time.time()))
    server.heal()
    healed = time.time()
    reconnected = all(wait_until(lambda c=c: c.connections >= 2 and c.connected.is_set(), 15) for c in clients)
    took = time.time() - healed
    check(f"partition: after healing, all {members} clients reconnected", reconnected, f"(within {took:.1f} s)")
    time.sleep(0.5)
    publish(args, server, "partitioned", b"after the partition")
    heard = wait_until(lambda: all(c.messages and c.messages[-1] == b"after the partition" for c in clients), 5)
    check("partition: every reconnected member hears the room again", heard)
    notes.append(f"partition: evicted after {evicted_at:.1f} s, reconnected {took:.1f} s after healing"
                 if evicted_at else "partition: not evicted")
    for client in clients:
        client.stop.set()


def publish(args, server, room, body):
    ws = wsclient.connect(args.address, server.port, f"/room/{room}?self=0")
    ws.send(1, body)
    ws.close()


def wait_until(condition, seconds):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


def delay(args, server, delay_ms="10-60"):
    port = random.randint(20000, 31999)
    proxy = subprocess.Popen([sys.executable, os.path.join(HERE, "delay_proxy.py"), "--listen", f"127.0.0.1:{port}",
                              "--to", f"{args.address}:{server.port}", "--delay-ms", delay_ms],
                             stdout=subprocess.PIPE, text=True)
    try:
        proxy.stdout.readline()
        report = wsbench_room(args, f"ws://127.0.0.1:{port}/room/delayed")
        window = report.get("measured", {})
        p50 = window.get("latency_ns", {}).get("p50", 0) / 1e6
        check(f"delay {delay_ms} ms: the room lost, repeated and reordered nothing",
              report["lost"] == 0 and report["duplicated"] == 0 and report["reordered"] == 0 and report["errors"]["total"] == 0,
              f"(lost {report['lost']}, dup {report['duplicated']}, reord {report['reordered']}, errors {report['errors']['total']})")
        low = float(delay_ms.split("-")[0])
        check(f"delay {delay_ms} ms: latency carries the delay both ways (p50 at least {2 * low:.0f} ms)", p50 >= 2 * low,
              f"(p50 {p50:.0f} ms)")
        intact, problems = echo_integrity("127.0.0.1", port, messages=100)
        check(f"delay {delay_ms} ms: 100 echoes re-segmented at random came back byte for byte, in order", intact, str(problems))
        notes.append(f"delay {delay_ms} ms: p50 {p50:.0f} ms")
    finally:
        proxy.terminate()
        proxy.wait()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    for name in ("--server-ns", "--veth", "--address", "--server", "--wsbench"):
        parser.add_argument(name, required=True)
    parser.add_argument("--loss", type=int, default=10, help="percent of packets dropped each way (default 10)")
    args = parser.parse_args()
    # Loss and delay against the default heartbeat (30 s, 10 s): a 2 s pong timeout can run out
    # while TCP retransmits a lost ping or pong under heavy loss, which is the heartbeat doing its job.
    # The same goes for the 10 s request-head timeout: at 10% loss each way a head that TCP has to
    # resend three or four times in a row (its timer backing off from 1 s, or 3 s after a lost SYN)
    # arrives after it and gets 408; CI met that once in 100 connections. With 60 s (and wsbench's
    # handshake timeout at 60 s) it takes five or six losses in a row.
    server = ServerSide(args, options=("--head-timeout", "60"))
    try:
        loss(args, server, args.loss)
        delay(args, server)
        check("the server is still up after loss and delay", server.process.poll() is None)
    finally:
        server.stop()
    server = ServerSide(args, options=("--ping-interval", "2", "--pong-timeout", "2"))
    try:
        partition(args, server)
    finally:
        server.stop()
    print("; ".join(notes))
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
