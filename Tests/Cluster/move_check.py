#!/usr/bin/env python3
"""A client that moves to another node with its last sequence gets exactly
what it missed, then what follows (README, "Rooms across nodes").

    move_check.py --token TOKEN PORT1 PORT2 PORT3

Over Server-Sent Events (Last-Event-ID) and long-polling (?since=), against
three echo-server nodes sharing one Redis: a node that never had the room
(the missed messages come from the room's Redis stream), and a node whose own
history no longer reaches back far enough (older ones from the stream, the
rest from its history). Exit status 0 when every check holds.
"""
import http.client
import json
import socket
import sys
import time

HOST = "127.0.0.1"


def publish(port, token, room, text):
    connection = http.client.HTTPConnection(HOST, port, timeout=10)
    connection.request("POST", f"/publish/{room}", body=text.encode(),
                       headers={"Authorization": f"Bearer {token}", "Content-Type": "text/plain"})
    response = connection.getresponse()
    body = response.read().decode()
    connection.close()
    if response.status != 202:
        raise SystemExit(f"move_check: publish to {room} on :{port} answered {response.status}: {body}")
    return json.loads(body)["seq"]


class EventStream:
    """GET /sse/ROOM, read event by event (id and data)."""

    def __init__(self, port, room, last_event_id=None):
        self.connection = http.client.HTTPConnection(HOST, port, timeout=10)
        headers = {"Last-Event-ID": str(last_event_id)} if last_event_id is not None else {}
        self.connection.request("GET", f"/sse/{room}", headers=headers)
        self.response = self.connection.getresponse()
        if self.response.status != 200:
            raise SystemExit(f"move_check: /sse/{room} on :{port} answered {self.response.status}")

    def next_event(self, timeout=10):
        self.connection.sock.settimeout(timeout)
        event = {}
        while True:
            line = self.response.readline().decode()
            if line == "":
                raise SystemExit("move_check: the event stream ended")
            line = line.rstrip("\n")
            if line == "":
                if "data" in event or "event" in event:
                    return event
                event = {}
                continue
            if line.startswith(":") or line.startswith("retry:"):
                continue
            field, _, value = line.partition(": ")
            event[field] = event.get(field, "") + value if field != "data" else value

    def expect_silence(self, seconds=1.0):
        try:
            event = self.next_event(timeout=seconds)
        except (socket.timeout, TimeoutError):
            return
        raise SystemExit(f"move_check: an event nobody published: {event}")

    def close(self):
        self.connection.close()


def expect_events(stream, first, last, room, prefix):
    for sequence in range(first, last + 1):
        event = stream.next_event()
        if event.get("id") != str(sequence) or event.get("data") != f"{prefix}{sequence}":
            raise SystemExit(f"move_check: {room}: expected id {sequence} data {prefix}{sequence}, got {event}")


def stats(port):
    connection = http.client.HTTPConnection(HOST, port, timeout=10)
    connection.request("GET", "/stats")
    body = json.loads(connection.getresponse().read())
    connection.close()
    return body["backend"]


def main():
    arguments = sys.argv[1:]
    if len(arguments) != 5 or arguments[0] != "--token":
        raise SystemExit(__doc__)
    token = arguments[1]
    one, two, three = (int(port) for port in arguments[2:])
    room = f"move-{int(time.time() * 1000)}"

    # 1. A client on node 1 sees 1..12, then drops; 13..30 are published meanwhile.
    watcher = EventStream(one, room)
    time.sleep(0.5)  # node 1 listens to the room
    for sequence in range(1, 21):
        assert publish(two, token, room, f"m{sequence}") == sequence
    expect_events(watcher, 1, 12, room, "m")
    watcher.close()
    for sequence in range(21, 31):
        assert publish(three, token, room, f"m{sequence}") == sequence
    replays_before = stats(three)["sequencing"]["backendReplays"]

    # 2. It comes back on node 3, which never had the room: 13..30 from the stream, then live.
    mover = EventStream(three, room, last_event_id=12)
    expect_events(mover, 13, 30, room, "m")
    assert publish(one, token, room, "m31") == 31
    expect_events(mover, 31, 31, room, "m")
    mover.expect_silence()
    mover.close()
    if stats(three)["sequencing"]["backendReplays"] <= replays_before:
        raise SystemExit("move_check: node 3 did not answer the resume from the stream")
    print(f"move_check: SSE, moved to a node without the room: got 13..31 exactly ({room})")

    # 3. Long-polling on node 2 from sequence 25.
    connection = http.client.HTTPConnection(HOST, two, timeout=10)
    connection.request("GET", f"/poll/{room}?since=25")
    answer = json.loads(connection.getresponse().read())
    connection.close()
    got = [(message["seq"], message["data"]) for message in answer["messages"]]
    if got != [(sequence, f"m{sequence}") for sequence in range(26, 32)] or answer["last"] != 31:
        raise SystemExit(f"move_check: poll since 25 on node 2: {answer}")
    print("move_check: long-polling on another node since 25: got 26..31 exactly")

    # 4. Node 1 keeps a member of a busy room: its history holds the last 1,024 messages only.
    busy = room + "-busy"
    keeper = EventStream(one, busy)
    time.sleep(0.5)
    for sequence in range(1, 1101):
        publish(one, token, busy, f"b{sequence}")
    expect_events(keeper, 1, 1100, busy, "b")
    late = EventStream(one, busy, last_event_id=10)
    expect_events(late, 11, 1100, busy, "b")
    late.expect_silence()
    late.close()
    keeper.close()
    print("move_check: resume from before a node's history: 11..76 from the stream, then its history, exactly")
    print("move_check: PASSED")


if __name__ == "__main__":
    main()
