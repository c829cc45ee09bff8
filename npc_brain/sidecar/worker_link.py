"""A sidecar's connection to a broker (`npc-brain serve --worker ADDR`).

The sidecar connects a DEALER to the broker's back end instead of binding a ROUTER and
otherwise runs unchanged: this link hands it each request as `[route, payload]` frames,
the shape a ROUTER gives it (`route` stands in for the client), and wraps each event it
sends. It also keeps the registration alive: READY on connecting (repeated each interval
until the broker welcomes it), then a heartbeat every interval, and a fresh READY (on a
fresh connection when the broker fell silent) when the broker asks for one. Either way
the requests the worker held are dropped: the broker has already re-run them elsewhere
or ended them (docs/scaling.md).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import zmq

from npc_brain.sidecar import worker_protocol as wp
from npc_brain.sidecar.client import CurveClientKeys

log = logging.getLogger("npc_brain.sidecar.server")


class WorkerLink:
    """One DEALER to the broker; not thread-safe (the server loop drives it)."""

    def __init__(
        self,
        address: str,
        info: wp.WorkerInfo,
        on_reset: Callable[[], None],
        curve: CurveClientKeys | None = None,
        heartbeat_s: float = wp.HEARTBEAT_S,
        liveness: int = wp.LIVENESS,
        max_frame_bytes: int = 64 * 1024 * 1024,
    ) -> None:
        self.address = address
        self.info = info
        self.on_reset = on_reset  # drops every request the worker holds
        self.curve = curve
        self.heartbeat_s = heartbeat_s
        self.liveness = liveness
        self.max_frame_bytes = max_frame_bytes
        self.registered = False
        self._ctx = zmq.Context()
        self._sock: zmq.Socket | None = None
        self._heard = self._next_beat = 0.0
        self._lost_logged = False

    # ------------------------------------------------------------ connection

    def open(self) -> None:
        """A new DEALER to the broker, and READY (queued until the connection is up)."""
        if self._sock is not None:
            self._sock.close(0)  # messages still queued on it are stale now
        sock = self._ctx.socket(zmq.DEALER)
        sock.setsockopt(zmq.LINGER, 500)  # time for a last DISCONNECT to leave
        sock.setsockopt(zmq.SNDHWM, 100_000)  # events of every request pass this one pipe
        sock.setsockopt(zmq.MAXMSGSIZE, self.max_frame_bytes)
        if self.curve is not None:
            self.curve.apply(sock)
        try:
            sock.connect(self.address)
        except zmq.ZMQError:
            sock.close(0)
            self._sock = None
            raise
        self._sock = sock
        self.registered = False
        now = time.monotonic()
        self._heard, self._next_beat = now, now + self.heartbeat_s
        self._send(wp.command(wp.READY, wp.encode_info(self.info)))

    def close(self) -> None:
        """Tell the broker this worker is leaving (it re-runs what was in flight here)."""
        if self._sock is not None:
            self._send(wp.command(wp.DISCONNECT))
            self._sock.close()
            self._sock = None
        self._ctx.term()

    @property
    def socket(self) -> zmq.Socket:
        assert self._sock is not None, "open() first"
        return self._sock

    # ------------------------------------------------------------ traffic

    def recv(self) -> list[Any] | None:
        """The next request as `[route, payload]` frames; None when nothing waits."""
        while True:
            try:
                frames = self.socket.recv_multipart(zmq.NOBLOCK, copy=False)
            except zmq.Again:
                return None
            self._heard = time.monotonic()
            message = wp.parse(frames)
            if message is None:
                log.warning("ignoring a message from the broker in an unknown format")
                continue
            name, rest = message
            if name == wp.REQUEST and len(rest) == 2:
                return rest
            self._on_command(name)

    def _on_command(self, name: bytes) -> None:
        if name == wp.WELCOME:
            self.registered = True
            self._lost_logged = False
            log.info("registered with the broker at %s", self.address)
        elif name == wp.DISCONNECT and self.registered:
            # Sent before our READY arrived (a broker restart, a lost registration) when
            # we are not registered yet: those are stale and ignored.
            log.warning("the broker at %s let this worker go; registering again", self.address)
            self._reset()

    def send(self, route: bytes, payload: bytes, terminal: bool) -> None:
        flag = wp.TERMINAL if terminal else wp.STEP
        if not self._send(wp.command(wp.EVENT, route, flag, payload)):
            log.warning("the broker at %s stopped reading; reconnecting", self.address)
            self._reset(reopen=True)

    def _send(self, frames: list[bytes]) -> bool:
        try:
            self.socket.send_multipart(frames, zmq.NOBLOCK)
        except zmq.Again:
            return False
        return True

    def tick(self) -> None:
        """Heartbeat when due; reconnect when the broker has been silent too long."""
        now = time.monotonic()
        if now >= self._next_beat:
            # Until welcomed, READY is the heartbeat: the first one may have gone to a
            # broker that was stopping.
            beat = wp.HEARTBEAT if self.registered else wp.READY
            frames = [wp.encode_info(self.info)] if beat == wp.READY else []
            self._send(wp.command(beat, *frames))
            self._next_beat = now + self.heartbeat_s
        if now - self._heard > self.heartbeat_s * self.liveness:
            if not self._lost_logged:
                log.warning("no word from the broker at %s; reconnecting", self.address)
                self._lost_logged = True
            self._reset(reopen=True)

    def _reset(self, reopen: bool = False) -> None:
        self.on_reset()
        if reopen:
            self.open()
        else:
            self.registered = False
            self._send(wp.command(wp.READY, wp.encode_info(self.info)))
