"""A minimal RFC 6455 client over raw sockets, for tests that must misbehave
on purpose: standard library only, blocking sockets with timeouts."""
import base64
import hashlib
import os
import socket
import struct

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class Closed(Exception):
    """The peer ended the TCP connection (EOF or reset)."""


def connect(host, port, path, timeout=10.0, rcvbuf=None, source=None):
    """A WebSocket after its 101, or raises. `rcvbuf` shrinks SO_RCVBUF before connecting."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    if source:
        sock.bind((source, 0))
    sock.settimeout(timeout)
    sock.connect((host, port))
    key = base64.b64encode(os.urandom(16))
    sock.sendall(b"GET " + path.encode() + b" HTTP/1.1\r\nHost: " + f"{host}:{port}".encode()
                 + b"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + key
                 + b"\r\nSec-WebSocket-Version: 13\r\n\r\n")
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(4096)
        if not chunk:
            raise Closed("closed during the handshake")
        head += chunk
    status_line = head.split(b"\r\n", 1)[0]
    if b" 101 " not in status_line + b" ":
        raise Closed(f"handshake refused: {status_line!r}")
    accept = base64.b64encode(hashlib.sha1(key + GUID).digest())
    if b"Sec-WebSocket-Accept: " + accept not in head:
        raise Closed("wrong Sec-WebSocket-Accept")
    return WebSocket(sock, head.split(b"\r\n\r\n", 1)[1])


def frame(opcode, payload=b"", fin=True, mask=True, length=None):
    """A frame; `length` overrides the declared payload length (for lying headers)."""
    n = len(payload) if length is None else length
    first = (0x80 if fin else 0) | opcode
    bit = 0x80 if mask else 0
    if n < 126:
        head = struct.pack("!BB", first, bit | n)
    elif n <= 0xFFFF:
        head = struct.pack("!BBH", first, bit | 126, n)
    else:
        head = struct.pack("!BBQ", first, bit | 127, n)
    if not mask:
        return head + payload
    key = os.urandom(4)
    return head + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))


class WebSocket:
    def __init__(self, sock, pending=b""):
        self.sock = sock
        self.pending = pending

    def send(self, opcode, payload=b""):
        self.sock.sendall(frame(opcode, payload))

    def _fill(self, count):
        while len(self.pending) < count:
            try:
                chunk = self.sock.recv(65536)
            except ConnectionResetError as error:
                raise Closed("reset") from error
            if not chunk:
                raise Closed("eof")
            self.pending += chunk

    def read(self):
        """(opcode, payload) of the next frame from the server (unmasked, unfragmented here)."""
        self._fill(2)
        first, second = self.pending[0], self.pending[1]
        n, offset = second & 0x7F, 2
        if n == 126:
            self._fill(4)
            n, offset = struct.unpack("!H", self.pending[2:4])[0], 4
        elif n == 127:
            self._fill(10)
            n, offset = struct.unpack("!Q", self.pending[2:10])[0], 10
        self._fill(offset + n)
        payload = self.pending[offset:offset + n]
        self.pending = self.pending[offset + n:]
        return first & 0x0F, payload

    def read_until_close(self):
        """Messages (text payloads) until a close frame: (messages, close code or None if the TCP connection just ended)."""
        messages = []
        try:
            while True:
                opcode, payload = self.read()
                if opcode == 8:
                    return messages, struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005
                if opcode in (1, 2):
                    messages.append(payload)
        except (Closed, socket.timeout, OSError):
            return messages, None

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def reset(sock):
    """Closes with an RST instead of a FIN (SO_LINGER with a zero timeout)."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()
