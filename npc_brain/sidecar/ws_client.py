"""`WebSocketClient`: the blocking client's API through the sidecar's WebSocket relay.

The relay (`npc-brain serve --ws`) copies raw bytes between a WebSocket and the sidecar's
ZeroMQ port, so the client speaks ZMTP 3.0 itself, as a DEALER with the NULL mechanism: a
greeting, a READY command, then one frame per message (docs/protocol.md sections 9 and 10),
just as the Godot addon does. `ZmtpWebSocket` is that byte-level part.

    context = ssl.create_default_context(cafile="cert.pem")  # trusts a self-signed certificate
    with WebSocketClient("wss://example.net:5556/", token=token, ssl_context=context) as client:
        for event in client.decide(npc_state, ["attack", "flee", "eat"]):
            print(event)
"""

from __future__ import annotations

import contextlib
import ssl
import time
from urllib.parse import urlsplit

from websockets.exceptions import ConnectionClosed, InvalidStatus, WebSocketException
from websockets.sync.client import ClientConnection, connect
from websockets.typing import Origin

from npc_brain.sidecar.client import BlockingClient
from npc_brain.sidecar.protocol import DEFAULT_MAX_MESSAGE_BYTES

# ZMTP 3.0 greeting: signature (padding as libzmq's), version 3.0, mechanism NULL, as-server
# 0, filler.
SIGNATURE = b"\xff" + b"\x00" * 7 + b"\x01" + b"\x7f"
GREETING = SIGNATURE + b"\x03\x00" + b"NULL".ljust(20, b"\x00") + b"\x00" * 32
READY = b"\x05READY" + b"\x0bSocket-Type" + (6).to_bytes(4, "big") + b"DEALER"
LONG, COMMAND = 0x02, 0x04  # frame flags
HANDSHAKE_TIMEOUT = "no ZMTP handshake from the peer in time"
# How the relay closes a connection it will not serve (ws_relay.py).
RELAY_CLOSE_REASONS = {
    1003: "it accepts binary messages only",
    1008: "it refused the token (a wrong one, or none: pass token=)",
    1011: "it cannot reach the sidecar",
}


class ZmtpError(ConnectionError):
    """The peer does not speak ZMTP 3 with the NULL mechanism."""


def frame(body: bytes, command: bool = False) -> bytes:
    """One ZMTP frame: flags, a 1- or 8-byte size, the body."""
    flags = COMMAND if command else 0
    if len(body) <= 255:
        return bytes([flags, len(body)]) + body
    return bytes([flags | LONG]) + len(body).to_bytes(8, "big") + body


class ZmtpWebSocket:
    """A ZMTP 3.0 DEALER over an open WebSocket; the handshake runs in the constructor.

    Message boundaries on the WebSocket mean nothing (the relay copies a byte stream), so
    frames are reassembled from a buffer.
    """

    def __init__(self, ws: ClientConnection, timeout: float | None = None) -> None:
        self.ws = ws
        self._buffer = bytearray()
        deadline = None if timeout is None else time.monotonic() + timeout
        self.write(GREETING + frame(READY, command=True))
        greeting = self._read_greeting(deadline)
        if greeting[0] != 0xFF or greeting[9] != 0x7F or greeting[10] < 3:
            raise ZmtpError("the peer's greeting is not ZMTP 3")
        if greeting[12:32].rstrip(b"\x00") != b"NULL":
            raise ZmtpError("the peer wants a security mechanism other than NULL")
        ready = self._read_frame(deadline)
        if ready is None:
            raise TimeoutError(HANDSHAKE_TIMEOUT)
        flags, body = ready
        if not (flags & COMMAND and body.startswith(b"\x05READY")):
            raise ZmtpError("the peer did not send READY")

    def write(self, data: bytes) -> None:
        """Send raw ZMTP bytes as one binary WebSocket message."""
        self.ws.send(data)

    def send(self, body: bytes) -> None:
        """Send one single-frame message."""
        self.write(frame(body))

    def recv(self, timeout: float | None = None) -> bytes | None:
        """The next message frame's body (commands skipped); None if none came in time.

        Raises `ConnectionClosed` when the connection ends."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while (found := self._read_frame(deadline)) is not None:
            flags, body = found
            if not flags & COMMAND:
                return body
        return None

    def close(self) -> None:
        self.ws.close()

    def _read_greeting(self, deadline: float | None) -> bytes:
        while len(self._buffer) < 64:
            if not self._fill(deadline):
                raise TimeoutError(HANDSHAKE_TIMEOUT)
        greeting = bytes(self._buffer[:64])
        del self._buffer[:64]
        return greeting

    def _read_frame(self, deadline: float | None) -> tuple[int, bytes] | None:
        while (found := self._take_frame()) is None:
            if not self._fill(deadline):
                return None
        return found

    def _take_frame(self) -> tuple[int, bytes] | None:
        """The first whole frame in the buffer, removed from it; None if not all here yet."""
        if len(self._buffer) < 2:
            return None
        flags = self._buffer[0]
        head = 9 if flags & LONG else 2
        if len(self._buffer) < head:
            return None
        end = head + int.from_bytes(self._buffer[1:head], "big")
        if len(self._buffer) < end:
            return None
        body = bytes(self._buffer[head:end])
        del self._buffer[:end]
        return flags, body

    def _fill(self, deadline: float | None) -> bool:
        """Append the next WebSocket message to the buffer; False if none came in time."""
        left = None if deadline is None else max(0.0, deadline - time.monotonic())
        try:
            message = self.ws.recv(timeout=left)
        except TimeoutError:
            return False
        if isinstance(message, str):
            raise ZmtpError("the peer sent a text message; ZMTP travels in binary ones")
        self._buffer += message
        return True


def open_zmtp(
    url: str,
    *,
    token: str | None = None,
    ssl_context: ssl.SSLContext | None = None,
    origin: str | None = None,
    timeout: float = 30.0,
) -> ZmtpWebSocket:
    """Open a WebSocket to the relay, send the token if any, and run the ZMTP handshake."""
    deadline = time.monotonic() + timeout
    with contextlib.ExitStack() as on_failure:
        ws = on_failure.enter_context(  # entered, as websockets asks; closed if anything fails
            connect(
                url,
                ssl=ssl_context,
                origin=Origin(origin) if origin is not None else None,
                compression=None,  # as the relay: deflate gains nothing, costs latency
                open_timeout=timeout,
            )
        )
        if token is not None:
            ws.send(token)  # the relay wants it as the first message, before any ZMTP byte
        zmtp = ZmtpWebSocket(ws, max(0.0, deadline - time.monotonic()))
        on_failure.pop_all()  # it is the caller's to close from now on
    return zmtp


class WebSocketClient(BlockingClient):
    """`Client`'s API through the sidecar's WebSocket relay (`npc-brain serve --ws`).

    `url`: `ws://HOST:PORT/` or `wss://HOST:PORT/`. `token`: the relay's token
    (`--ws-token-file`), sent as the first message. `ssl_context`: for wss, e.g.
    `ssl.create_default_context(cafile="cert.pem")` to trust a self-signed certificate
    (default: the system's certificate authorities). `origin`: an Origin header to send;
    by default none, as a desktop game, which the relay always admits.

    The connection opens at the first request, and again at the first request after it
    dropped. A drop ends every request in flight at once with `ServerError` code
    `disconnected`; a connection that cannot be opened (refused, a wrong token, an untrusted
    certificate) ends the request that tried in the same way, with the reason.
    """

    def __init__(
        self,
        url: str,
        timeout: float = 30.0,
        *,
        token: str | None = None,
        ssl_context: ssl.SSLContext | None = None,
        origin: str | None = None,
        max_message_bytes: int | None = DEFAULT_MAX_MESSAGE_BYTES,
    ) -> None:
        scheme = urlsplit(url).scheme
        if scheme not in ("ws", "wss"):
            raise ValueError(f"expected a ws:// or wss:// URL, got {url!r}")
        if ssl_context is not None and scheme != "wss":
            raise ValueError("ssl_context goes with a wss:// URL")
        super().__init__(url, timeout, max_message_bytes)
        self.token = token
        self.ssl_context = ssl_context
        self.origin = origin
        self._zmtp: ZmtpWebSocket | None = None

    def close(self) -> None:
        if self._zmtp is not None:
            self._zmtp.close()
            self._zmtp = None

    def _prepare(self) -> str | None:
        while self._zmtp is not None and self._wait(0):
            pass  # events that arrived meanwhile, or news that the connection dropped
        if self._zmtp is not None:
            return None
        try:
            self._zmtp = open_zmtp(
                self.address,
                token=self.token,
                ssl_context=self.ssl_context,
                origin=self.origin,
                timeout=self.timeout,
            )
        except (OSError, WebSocketException) as exc:
            return self._reason(exc)
        return None

    def _send(self, payload: bytes) -> None:
        if self._zmtp is None:
            return  # only `cancel` gets here: the drop already ended every request
        try:
            self._zmtp.send(payload)
        except (OSError, WebSocketException) as exc:
            self._lost(exc)

    def _wait(self, timeout_s: float) -> bool:
        if self._zmtp is None:
            return False
        try:
            body = self._zmtp.recv(timeout_s)
        except (OSError, WebSocketException) as exc:
            self._lost(exc)
            return True
        if body is None:
            return False
        self._route(body)
        return True

    def _lost(self, exc: Exception) -> None:
        self.close()
        self._fail_pending(self._reason(exc))

    def _reason(self, exc: Exception) -> str:
        """Why the connection to the relay failed or ended, in words."""
        where = self.address
        if isinstance(exc, ConnectionClosed):
            code = exc.rcvd.code if exc.rcvd is not None else None
            if code in RELAY_CLOSE_REASONS:
                return f"the relay at {where} closed the connection: {RELAY_CLOSE_REASONS[code]}"
            return f"the connection to {where} dropped (the relay or the sidecar stopped)"
        if isinstance(exc, InvalidStatus):
            status = exc.response.status_code
            body = (exc.response.body or b"").decode(errors="replace").strip()
            return f"the relay at {where} refused the connection: HTTP {status} {body}".strip()
        if isinstance(exc, ssl.SSLCertVerificationError):
            hint = "to trust a self-signed one, pass ssl_context with its certificate as cafile"
            return f"cannot open {where}: certificate not trusted ({exc.verify_message}); {hint}"
        if isinstance(exc, TimeoutError):
            return f"cannot open {where}: no answer within {self.timeout} s"
        return f"the connection to {where} failed: {exc}"
