"""WebSocket endpoint for web exports: relays raw bytes between a WebSocket and the ZMQ port.

Browsers cannot open TCP sockets, so a Godot web export connects here instead. For each
WebSocket connection the relay opens one TCP connection to the sidecar's ZeroMQ port and
copies bytes both ways: binary messages in, binary messages out. ZMTP runs end to end over
it (the game's own ZMTP client does the handshake), so the relay needs no ZeroMQ at all.
It runs its asyncio loop in a thread of its own beside the server loop.

Who gets in: browsers send the page's Origin, so pages not on the allowlist (by default
only loopback pages and clients that send no Origin, like a desktop export) are refused
with HTTP 403 before any byte reaches the sidecar. With a token, the first WebSocket
message must be that token. Near the descriptor limit new connections get HTTP 503.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import ssl
import threading
import time
from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from npc_brain.sidecar.auth import is_loopback_host, token_matches
from npc_brain.sidecar.fd_limit import descriptor_budget

log = logging.getLogger("npc_brain.sidecar.ws_relay")
CHUNK = 65536
UNSUPPORTED_DATA = 1003  # WebSocket close code for a text message
POLICY_VIOLATION = 1008  # wrong or missing token
UNREACHABLE = 1011
TOKEN_WAIT_S = 10.0
FDS_PER_CONNECTION = 3  # the WebSocket, the relay's TCP socket, the sidecar's end of it
# Pages served from this machine (any port), e.g. `npc-brain godot` web previews.
LOOPBACK_ORIGIN = re.compile(r"https?://(127(\.\d{1,3}){3}|localhost|\[::1\])(:\d{1,5})?")


def parse_host_port(address: str) -> tuple[str, int]:
    """`"127.0.0.1:5556"` or `"tcp://127.0.0.1:5555"` -> (host, port); wildcards -> loopback."""
    rest = address.split("://", 1)[-1]
    host, sep, port = rest.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"expected HOST:PORT, got {address!r}")
    host = host.strip("[]") or "127.0.0.1"
    return host, int(port)


def connect_host(host: str) -> str:
    """Where to reach a server bound to `host` from this machine."""
    return "127.0.0.1" if host in ("*", "0.0.0.0", "") else "::1" if host == "::" else host


def origin_allowed(origin: str | None, extra: Sequence[str]) -> bool:
    """No Origin (not a browser), a loopback page, or one of the configured origins."""
    if origin is None:
        return True
    return LOOPBACK_ORIGIN.fullmatch(origin) is not None or origin in extra


class WebSocketRelay:
    """`start()` listens and returns the bound (host, port); `stop()` closes everything.

    `origins`: exact extra Origins to accept (a game's own web host, e.g.
    `https://game.example`). `token`: required as the first message. `insecure`: allow a
    non-loopback listen address without a token. `ssl_context`: serve wss.
    """

    def __init__(
        self,
        listen: str,
        target: str,
        *,
        origins: Sequence[str] = (),
        token: str | None = None,
        insecure: bool = False,
        max_connections: int = 512,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.listen_host, self.listen_port = parse_host_port(listen)
        if not (token or insecure or is_loopback_host(self.listen_host)):
            raise ValueError(
                f"WebSocket address {listen} is reachable beyond this machine: set a token "
                "(--ws-token-file) or allow it with --insecure"
            )
        if not target.startswith("ipc://"):
            parse_host_port(target)  # a bad target should fail now, not per connection
        self.target = target
        self.origins = tuple(origins)
        self.token = token
        self.ssl_context = ssl_context
        # Each connection costs three descriptors; stay clear of the process's limit.
        self.max_connections = min(max_connections, descriptor_budget() // FDS_PER_CONNECTION)
        self.open_connections = 0
        self._last_refusal_log = 0.0
        self.address: tuple[str, int] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopped: asyncio.Future[None] | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    def start(self) -> tuple[str, int]:
        self._thread = threading.Thread(target=self._run, name="ws-relay", daemon=True)
        self._thread.start()
        self._ready.wait()
        if self._error is not None:
            raise OSError(f"cannot listen on {self.listen_host}:{self.listen_port}: {self._error}")
        assert self.address is not None
        return self.address

    def stop(self) -> None:
        loop, stopped = self._loop, self._stopped
        if loop is not None and stopped is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop may have just finished
                loop.call_soon_threadsafe(lambda: stopped.done() or stopped.set_result(None))
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # reported to start() or logged
            if not self._ready.is_set():
                self._error = exc
                self._ready.set()
            else:
                log.exception("WebSocket relay stopped")

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._loop.set_exception_handler(self._on_loop_error)
        self._stopped = self._loop.create_future()
        async with serve(
            self._relay,
            self.listen_host,
            self.listen_port,
            compression=None,  # ZMTP bytes gain nothing from deflate; keep latency low
            # The sidecar answers frames up to its transport cap with `too_large`.
            max_size=64 * 1024 * 1024 + 16,
            process_request=self._admit,
            ssl=self.ssl_context,
        ) as server:
            sock = next(iter(server.sockets))
            self.address = sock.getsockname()[:2]
            self._ready.set()
            await self._stopped

    def _admit(self, ws: ServerConnection, request: Request) -> Response | None:
        """Refuse foreign pages (403) and connections past the descriptor budget (503)."""
        origin = request.headers.get("Origin")
        if not origin_allowed(origin, self.origins):
            log.warning("WebSocket from %s refused: Origin %r", ws.remote_address, origin)
            return ws.respond(HTTPStatus.FORBIDDEN, "Origin not allowed\n")
        if self.open_connections >= self.max_connections:
            self._log_refusal(f"{self.open_connections} connections open")
            return ws.respond(HTTPStatus.SERVICE_UNAVAILABLE, "too many connections\n")
        return None

    async def _relay(self, ws: ServerConnection) -> None:
        self.open_connections += 1
        try:
            if self.token is None or await self._token_accepted(ws):
                await self._pump(ws)
        finally:
            self.open_connections -= 1

    async def _token_accepted(self, ws: ServerConnection) -> bool:
        assert self.token is not None
        with contextlib.suppress(ConnectionClosed, TimeoutError, asyncio.TimeoutError):
            first = await asyncio.wait_for(ws.recv(), TOKEN_WAIT_S)
            if token_matches(self.token, first):
                return True
            log.warning("WebSocket client %s refused: wrong token", ws.remote_address)
            await ws.close(POLICY_VIOLATION, "wrong token")
            return False
        await ws.close(POLICY_VIOLATION, "no token")
        return False

    async def _pump(self, ws: ServerConnection) -> None:
        try:
            reader, writer = await _open_target(self.target)
        except OSError as exc:
            log.warning("WebSocket client %s: sidecar port unreachable: %s", ws.remote_address, exc)
            await ws.close(UNREACHABLE, "sidecar unreachable")
            return
        log.info("WebSocket client %s connected", ws.remote_address)
        pumps = [
            asyncio.create_task(_ws_to_tcp(ws, writer)),
            asyncio.create_task(_tcp_to_ws(reader, ws)),
        ]
        try:
            await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in pumps:
                task.cancel()
            await asyncio.gather(*pumps, return_exceptions=True)
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
            await ws.close()
            log.info("WebSocket client %s disconnected", ws.remote_address)

    def _on_loop_error(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        # Out of descriptors, asyncio reports every failed accept() with a traceback;
        # one line now and then says the same without flooding the log.
        exc = context.get("exception")
        if isinstance(exc, OSError) and "accept" in str(context.get("message", "")):
            self._log_refusal(f"accept() failed: {exc.strerror or exc}")
            return
        loop.default_exception_handler(context)

    def _log_refusal(self, why: str) -> None:
        now = time.monotonic()
        if now - self._last_refusal_log >= 10.0:
            self._last_refusal_log = now
            log.warning("refusing new WebSocket connections: %s", why)


async def _open_target(target: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A byte stream to the sidecar's ZeroMQ endpoint (tcp://HOST:PORT or ipc://PATH)."""
    if target.startswith("ipc://"):
        return await asyncio.open_unix_connection(target.removeprefix("ipc://"))
    host, port = parse_host_port(target)
    return await asyncio.open_connection(connect_host(host), port)


async def _ws_to_tcp(ws: ServerConnection, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionClosed, OSError):
        async for message in ws:
            if isinstance(message, str):
                await ws.close(UNSUPPORTED_DATA, "binary messages only (ZMTP bytes)")
                return
            writer.write(message)
            await writer.drain()


async def _tcp_to_ws(reader: asyncio.StreamReader, ws: ServerConnection) -> None:
    with contextlib.suppress(ConnectionClosed, OSError):
        while data := await reader.read(CHUNK):
            await ws.send(data)
