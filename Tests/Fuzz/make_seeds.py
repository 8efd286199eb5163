#!/usr/bin/env python3
"""Writes the seed corpora under Tests/Fuzz/Corpus/ from inputs the XCTest suites use.

Each seed is the target's configuration bytes followed by the data (each
target's header comment gives its layout): frame-reader [role][max message]
[threshold][split], http-head and client-handshake [head limit][split]. Run it
again after changing a target's input layout; the seeds are small and committed.
"""
import hashlib
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
MASK = bytes([0x37, 0xFA, 0x21, 0x3D])


def frame(opcode, payload, fin=True, mask=MASK, length_form=None):
    first = (0x80 if fin else 0) | opcode
    mask_bit = 0x80 if mask else 0
    n = len(payload)
    form = length_form or (7 if n < 126 else 16 if n <= 0xFFFF else 64)
    if form == 7:
        head = bytes([first, mask_bit | n])
    elif form == 16:
        head = bytes([first, mask_bit | 126]) + struct.pack(">H", n)
    else:
        head = bytes([first, mask_bit | 127]) + struct.pack(">Q", n)
    if mask:
        payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        head += mask
    return head + payload


def close(code, reason=b""):
    return struct.pack(">H", code) + reason


def frame_reader_seeds():
    # config: role (0 server, 1 client), max message index, threshold index, split seed
    # max message choices: 0, 1, 20, 125, 126, 300, 65535, 65536, 1 MiB; thresholds: 2, 14, 64, 131, 1024, 65536
    hello = b"Hello"
    text = "κόσμε🎉".encode() * 5
    seeds = {
        "rfc-hello-masked": (0, 8, 5, 0, frame(1, hello)),
        "rfc-hello-unmasked-client": (1, 8, 5, 0, frame(1, hello, mask=None)),
        "fragmented-with-ping": (0, 8, 2, 1, frame(1, b"Hel", fin=False) + frame(9, b"p")
                                 + frame(0, b"lo", fin=False) + frame(10, b"") + frame(0, b"!", fin=True)),
        "utf8-split-across-fragments": (0, 8, 5, 3, frame(1, text[:5], fin=False) + frame(0, text[5:])),
        "binary-16bit": (0, 8, 2, 7, frame(2, bytes(range(256)) * 2)),
        "binary-64bit-nonminimal": (0, 8, 2, 9, frame(2, bytes(300), length_form=64)),
        "close-going-away": (0, 8, 5, 0, frame(8, close(1001, b"bye"))),
        "close-empty": (1, 8, 5, 0, frame(8, b"", mask=None)),
        "too-big-at-limit": (0, 5, 2, 0, frame(2, bytes(300)) + frame(2, bytes(301))),
        "too-big-fragments": (0, 2, 1, 2, frame(2, bytes(15), fin=False) + frame(0, bytes(15))),
        "length-2-63": (0, 8, 5, 0, bytes([0x82, 0xFF]) + struct.pack(">Q", 1 << 63) + MASK),
        "bad-utf8": (0, 8, 5, 1, frame(1, b"\xce\xba\xff")),
        "unmasked-from-client": (0, 8, 5, 0, frame(1, hello, mask=None)),
        "reserved-bits": (0, 8, 5, 0, bytes([0xC1]) + frame(1, hello)[1:]),
        "bad-close-code": (0, 8, 5, 0, frame(8, close(1005))),
        "streamed-text": (0, 8, 2, 5, frame(1, text * 4)),
    }
    return {name: bytes(cfg) + data for name, (*cfg, data) in seeds.items()}


UPGRADE = (b"GET /chat/room?id=7&x=y HTTP/1.1\r\nHost: example.com:8080\r\nUpgrade: websocket\r\n"
           b"Connection: keep-alive, Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
           b"Origin: http://example.com\r\nSec-WebSocket-Protocol: Chat.v2, superchat\r\n"
           b"Sec-WebSocket-Protocol: third\r\nSec-WebSocket-Version: 13\r\nX-Empty:\r\n"
           b"X-Spaces: \t padded value \t\r\n\r\n")


def http_head_seeds():
    # config: head limit (0: 8192, 1: 64, 2: 300, 3: 1024), split seed
    heads = {
        "upgrade": UPGRADE,
        "upgrade-then-frame": UPGRADE + frame(1, b"hi"),
        "plain-get": b"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
        "publish": b"POST /publish/demo HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello",
        "http10": b"GET /x HTTP/1.0\r\n\r\n",
        "http2": b"GET / HTTP/2.0\r\nHost: a\r\n\r\n",
        "bare-lf": b"GET / HTTP/1.1\nHost: a\n\n",
        "obs-fold": b"GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n",
        "no-version-13": UPGRADE.replace(b"Version: 13", b"Version: 8"),
        "bad-key": UPGRADE.replace(b"dGhlIHNhbXBsZSBub25jZQ==", b"short"),
        "post-upgrade": UPGRADE.replace(b"GET", b"POST", 1),
        "slowloris-prefix": b"GET / HTTP/1.1\r\nX-a: " + b"b" * 40,
    }
    seeds = {name: bytes([0, 0]) + head for name, head in heads.items()}
    seeds["oversize-64"] = bytes([1, 3]) + UPGRADE
    seeds["byte-by-byte"] = bytes([2, 1]) + UPGRADE
    return seeds


def client_handshake_seeds():
    ok = (b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
          b"Sec-WebSocket-Accept: @ACCEPT@\r\n\r\n")
    responses = {
        "accepted": ok,
        "accepted-then-frame": ok + frame(1, b"hi", mask=None),
        "wrong-accept": ok.replace(b"@ACCEPT@", b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo="),
        "forbidden": b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n",
        "no-upgrade": ok.replace(b"Upgrade: websocket\r\n", b""),
        "garbage": b"SSH-2.0-OpenSSH\r\n\r\n",
        "no-reason": ok.replace(b"101 Switching Protocols", b"101"),
    }
    seeds = {name: bytes([0, 0]) + body for name, body in responses.items()}
    seeds["byte-by-byte"] = bytes([0, 1]) + ok
    return seeds


def write(target, seeds):
    directory = os.path.join(HERE, "Corpus", target)
    os.makedirs(directory, exist_ok=True)
    for name, data in seeds.items():
        with open(os.path.join(directory, name), "wb") as f:
            f.write(data)
    print(f"{target}: {len(seeds)} seeds")


if __name__ == "__main__":
    write("frame-reader", frame_reader_seeds())
    write("http-head", http_head_seeds())
    write("client-handshake", client_handshake_seeds())
