#!/usr/bin/env python3
"""Interop check of an echo server with an independent client (the PyPI `websockets` package).

    python3 Tests/Interop/echo_client.py ws://127.0.0.1:9001/
    python3 Tests/Interop/echo_client.py --cafile cert.pem wss://127.0.0.1:9443/

For each size in 0, 125, 126, 65535, 65536 and 16 MiB (the edges of the 7-bit, 16-bit and 64-bit
payload length encodings) it sends one text and one binary message of that many bytes (random,
fixed seed; the text is valid UTF-8 mixing 1- to 4-byte characters) and checks the echo is
identical and of the same type. Then a ping must be answered by a pong, and a close handshake
must end with close code 1000. Over wss:// the server's certificate must verify against --cafile
(or the system's roots) and the connection must use TLS 1.2 or 1.3 with ALPN http/1.1.
One line per check, then "N passed, M failed"; exit 1 on a failure.
"""
from __future__ import annotations

import argparse
import asyncio
import random
import ssl
import sys
import time

try:
    import websockets
except ImportError:
    sys.stderr.write(
        "echo_client.py needs the 'websockets' package (version 12 or later) for this python:\n"
        f"    {sys.executable} -m pip install 'websockets>=12'\n"
    )
    sys.exit(2)

try:  # websockets >= 13: the new asyncio implementation
    from websockets.asyncio.client import connect
except ImportError:  # websockets 12: the legacy one (same calls used here)
    from websockets import connect  # type: ignore[no-redef]

from websockets.exceptions import ConnectionClosed

MiB = 1 << 20
SIZES = [0, 125, 126, 65535, 65536, 16 * MiB]
MAX_SIZE = 16 * MiB + MiB  # largest message accepted from the server: 16 MiB + margin
SEED = 6455
TIMEOUT = 60.0  # default seconds for any one step (a 16 MiB round trip is well under it locally)

# Code point ranges by UTF-8 length (the 3-byte range skips the surrogates, see below).
_RANGES = {1: (0x20, 0x7F), 2: (0x80, 0x800), 3: (0x800, 0x10000 - 0x800), 4: (0x10000, 0x110000)}


def _random_char(rng: random.Random, n: int) -> str:
    lo, hi = _RANGES[n]
    cp = rng.randrange(lo, hi)
    if n == 3 and cp >= 0xD800:
        cp += 0x800  # step over U+D800..U+DFFF, which UTF-8 cannot encode
    return chr(cp)


_WEIGHTS = (4, 2, 2, 1)  # how often 1-, 2-, 3- and 4-byte characters are drawn
_CHUNK = 1 << 14  # characters per bulk chunk


def random_text(rng: random.Random, nbytes: int) -> str:
    """Random valid UTF-8 text of exactly nbytes bytes, mixing 1-, 2-, 3- and 4-byte characters."""
    parts = []
    left = nbytes
    # Bulk (fast for 16 MiB): random bytes mapped through a fresh random table of 256 characters
    # per chunk, so the text keeps changing while str.translate does the work in C.
    while left > 4 * _CHUNK:
        table = [_random_char(rng, n) for n in rng.choices((1, 2, 3, 4), _WEIGHTS, k=256)]
        chunk = rng.randbytes(_CHUNK).decode("latin-1").translate(table)
        parts.append(chunk)
        left -= len(chunk.encode("utf-8"))
    # The rest character by character, to land on exactly nbytes.
    for n in rng.choices((1, 2, 3, 4), _WEIGHTS, k=left // 2 + 1):
        if n > left:
            break
        parts.append(_random_char(rng, n))
        left -= n
    # Whatever is left (fewer bytes than the character drawn) is filled with ASCII.
    parts.extend(_random_char(rng, 1) for _ in range(left))
    text = "".join(parts)
    assert len(text.encode("utf-8")) == nbytes
    return text


def size_name(n: int) -> str:
    return f"{n // MiB} MiB" if n >= MiB and n % MiB == 0 else f"{n} bytes"


class Checks:
    def __init__(self) -> None:
        self.passed = 0
        self.failed = 0

    def ok(self, name: str, detail: str = "") -> None:
        self.passed += 1
        print(f"PASS {name}{': ' + detail if detail else ''}", flush=True)

    def fail(self, name: str, detail: str) -> None:
        self.failed += 1
        print(f"FAIL {name}: {detail}", flush=True)


def describe(msg: str | bytes) -> str:
    kind = "text" if isinstance(msg, str) else "binary"
    size = len(msg.encode("utf-8")) if isinstance(msg, str) else len(msg)
    return f"{kind} message of {size} bytes"


def tls_context(cafile: str | None) -> ssl.SSLContext:
    """Verifies the server's certificate (against cafile, e.g. a self-signed test certificate) and offers ALPN http/1.1."""
    context = ssl.create_default_context(cafile=cafile)
    context.set_alpn_protocols(["http/1.1"])
    return context


async def run(url: str, seed: int, timeout: float, cafile: str | None, deflate: bool = False) -> Checks:
    checks = Checks()
    rng = random.Random(seed)
    plan = [(f"echo {kind} {size_name(n)}", kind, n) for n in SIZES for kind in ("text", "binary")]
    secure = url.startswith("wss:")
    names = (["tls"] if secure else []) + [p[0] for p in plan] + ["ping/pong", "close 1000"]
    options = {"ssl": tls_context(cafile)} if secure else {}

    try:
        ws = await asyncio.wait_for(connect(url, max_size=MAX_SIZE, compression="deflate" if deflate else None,
                                            ping_interval=None, close_timeout=10, **options), timeout)
    except Exception as e:  # noqa: BLE001 - any failure to connect fails the check
        checks.fail("connect", f"{url}: {e.__class__.__name__}: {e}")
        for name in names:
            checks.fail(name, "not run (no connection)")
        return checks
    checks.ok("connect", url)
    if secure:
        tls = ws.transport.get_extra_info("ssl_object")
        version, alpn = tls.version(), tls.selected_alpn_protocol()
        if version in ("TLSv1.2", "TLSv1.3") and alpn == "http/1.1":
            checks.ok("tls", f"{version}, {tls.cipher()[0]}, ALPN {alpn}, certificate verified")
        else:
            checks.fail("tls", f"{version}, ALPN {alpn!r} (expected TLS 1.2 or 1.3 with ALPN 'http/1.1')")
    if deflate:
        # The client compresses what it sends and inflates what comes back, both ways through the server's codec.
        agreed = ws.response.headers.get("Sec-WebSocket-Extensions") or ""
        if agreed.startswith("permessage-deflate"):
            checks.ok("permessage-deflate agreed", agreed)
        else:
            checks.fail("permessage-deflate agreed", f"the server answered {agreed or 'no extension'}")

    done = 1 if secure else 0
    try:
        for name, kind, n in plan:
            msg: str | bytes = random_text(rng, n) if kind == "text" else rng.randbytes(n)
            t0 = time.monotonic()
            await asyncio.wait_for(ws.send(msg), timeout)
            echo = await asyncio.wait_for(ws.recv(), timeout)
            ms = (time.monotonic() - t0) * 1000
            done += 1
            if type(echo) is not type(msg):
                checks.fail(name, f"sent a {describe(msg)}, got back a {describe(echo)}")
            elif echo != msg:
                first = next((i for i, (a, b) in enumerate(zip(echo, msg)) if a != b),
                             min(len(echo), len(msg)))
                unit = "character" if isinstance(msg, str) else "byte"
                checks.fail(name, f"echo differs (sent {describe(msg)}, got {describe(echo)}; "
                                  f"first difference at {unit} {first})")
            else:
                checks.ok(name, f"{ms:.0f} ms")

        payload = rng.randbytes(16)
        pong_waiter = await asyncio.wait_for(ws.ping(payload), timeout)
        try:
            t0 = time.monotonic()
            await asyncio.wait_for(pong_waiter, min(10.0, timeout))
            checks.ok("ping/pong", f"{(time.monotonic() - t0) * 1000:.0f} ms")
        except asyncio.TimeoutError:
            checks.fail("ping/pong", f"no pong within {min(10.0, timeout):g} s")
        done += 1

        await asyncio.wait_for(ws.close(), timeout)
        code = ws.close_code
        if code == 1000:
            checks.ok("close 1000", f"server answered with {code}")
        else:
            checks.fail("close 1000", f"close code {code} (reason {ws.close_reason!r})")
        done += 1
    except (ConnectionClosed, asyncio.TimeoutError, OSError) as e:
        detail = (f"timed out ({timeout:g} s)" if isinstance(e, asyncio.TimeoutError)
                  else f"{e.__class__.__name__}: {e}")
        checks.fail(names[done], detail)
        for name in names[done + 1:]:
            checks.fail(name, "not run (after the failure above)")
        transport = getattr(ws, "transport", None)
        if transport is not None:
            transport.abort()  # don't wait for a stuck server
    return checks


def main() -> int:
    ap = argparse.ArgumentParser(description="Echo-server interop check with python websockets.")
    ap.add_argument("url", help="e.g. ws://127.0.0.1:9001/")
    ap.add_argument("--seed", type=int, default=SEED, help=f"random seed (default {SEED})")
    ap.add_argument("--timeout", type=float, default=TIMEOUT,
                    help=f"seconds allowed for each step (default {TIMEOUT:g})")
    ap.add_argument("--cafile", help="wss://: trust this certificate (PEM), e.g. the server's self-signed one")
    ap.add_argument("--deflate", action="store_true",
                    help="offer permessage-deflate (websockets' default offer) and require the server to accept it")
    args = ap.parse_args()
    print(f"websockets {websockets.__version__}, python {sys.version.split()[0]}, url {args.url}")
    checks = asyncio.run(run(args.url, args.seed, args.timeout, args.cafile, args.deflate))
    print(f"{checks.passed} passed, {checks.failed} failed")
    return 1 if checks.failed else 0


if __name__ == "__main__":
    sys.exit(main())
