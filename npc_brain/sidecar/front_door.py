"""What a sidecar and a broker both do with a client's message before reading it:
take the ROUTER envelope apart, refuse an empty or oversized payload, limit pings."""

from __future__ import annotations

import os
import tempfile

import zmq

from npc_brain.sidecar.protocol import ErrorCode, ProtocolError

Envelope = tuple[bytes, ...]  # routing frames: (identity,) for DEALER, (identity, b"") for REQ


class PingLimiter:
    """A token bucket per client: `rate` pings a second, bursts of up to `rate`."""

    MAX_CLIENTS = 4096  # buckets kept before idle (full) ones are forgotten

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self._buckets: dict[bytes, tuple[float, float]] = {}  # client -> (tokens, time)

    def allow(self, client: bytes, now: float) -> bool:
        tokens, then = self._buckets.get(client, (self.rate, now))
        tokens = min(self.rate, tokens + (now - then) * self.rate)
        if len(self._buckets) >= self.MAX_CLIENTS:
            self._forget_idle(now)
        if tokens < 1.0:
            self._buckets[client] = (tokens, now)
            return False
        self._buckets[client] = (tokens - 1.0, now)
        return True

    def _forget_idle(self, now: float) -> None:
        refill = 1.0  # a bucket untouched this long is full again: forgetting it changes nothing
        self._buckets = {c: b for c, b in self._buckets.items() if now - b[1] < refill}


def split_envelope(frames: list[zmq.Frame]) -> tuple[Envelope, zmq.Frame | None]:
    """Routing frames to reply with, and the payload (None when the shape is wrong)."""
    client, body = frames[0].bytes, frames[1:]
    if len(body) == 1:
        return (client,), body[0]
    if body and len(body[0]) == 0:
        return (client, b""), (body[1] if len(body) == 2 else None)
    return (client,), None


def payload_bytes(frame: zmq.Frame, max_bytes: int) -> bytes:
    """The payload as bytes, refusing an oversized one before it is copied."""
    size = len(frame)
    if not size:
        raise ProtocolError(ErrorCode.EMPTY, "empty message")
    if size > max_bytes:
        raise ProtocolError(
            ErrorCode.TOO_LARGE, f"message is {size} bytes; the limit is {max_bytes}"
        )
    return frame.bytes


def bind_relay_endpoint(sock: zmq.Socket) -> tuple[str, tempfile.TemporaryDirectory[str] | None]:
    """Also bind `sock` (a CURVE server) where only this machine's WebSocket relay can
    reach it, speaking NULL: an IPC socket in an owner-only directory (returned, to clean
    up), or a loopback port where IPC is unavailable."""
    sock.curve_server = False  # options apply per bind: this endpoint speaks NULL
    directory = None
    if zmq.has("ipc") and os.name == "posix":
        directory = tempfile.TemporaryDirectory(prefix="npc-brain-")
        sock.bind(f"ipc://{directory.name}/relay")
    else:
        sock.bind("tcp://127.0.0.1:0")
    return sock.getsockopt_string(zmq.LAST_ENDPOINT), directory


__all__ = ["Envelope", "PingLimiter", "bind_relay_endpoint", "payload_bytes", "split_envelope"]
