"""WebSocket endpoint for web exports: relays raw bytes between a WebSocket and the ZMQ port.

Browsers cannot open TCP sockets, so a Godot web export connects here instead. For each
WebSocket connection the relay opens one TCP connection to the sidecar's ZeroMQ port and
copies bytes both ways: binary messages in, binary messages out. ZMTP runs end to end over
it (the game's own ZMTP client does the handshake), so the relay needs no ZeroMQ at all.
It runs its asyncio loop in a thread of its own beside the server loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading

from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

log = logging.getLogger("npc_brain.sidecar.ws_relay")
CHUNK = 65536
UNSUPPORTED_DATA = 1003  # WebSocket close code for a text message
UNREACHABLE = 1011


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


class WebSocketRelay:
    """`start()` listens and returns the bound (host, port); `stop()` closes everything."""

    def __init__(self, listen: str, target: str) -> None:
        self.listen_host, self.listen_port = parse_host_port(listen)
        host, self.target_port = parse_host_port(target)
        self.target_host = connect_host(host)
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
        self._stopped = self._loop.create_future()
        async with serve(
            self._relay,
            self.listen_host,
            self.listen_port,
            compression=None,  # ZMTP bytes gain nothing from deflate; keep latency low
            max_size=1 << 20,
        ) as server:
            sock = next(iter(server.sockets))
            self.address = sock.getsockname()[:2]
            self._ready.set()
            await self._stopped

    async def _relay(self, ws: ServerConnection) -> None:
        try:
            reader, writer = await asyncio.open_connection(self.target_host, self.target_port)
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
