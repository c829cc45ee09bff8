"""The sidecar: a ZeroMQ ROUTER that streams each STEP line of every NPC's trace as an event.

One thread does everything, in a loop: read every waiting message (without blocking),
run one batched engine step, send the events it produced (without blocking). A separate
engine thread would buy nothing here: the engine step is the work, the machine has two
cores that torch already uses inside the step, and libzmq's own I/O thread keeps accepting
and buffering bytes while a step runs, so the socket stays responsive. A new request
therefore waits at most one engine step (a few ms) before it joins the batch, and there is
no lock anywhere. See docs/protocol.md for the wire format.
"""

from __future__ import annotations

import logging
import threading
import time
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

import zmq
from pydantic import BaseModel, Field

from npc_brain.nrm.checkpoint import DEFAULT_MODEL_DIR, load_tokenizer
from npc_brain.nrm.engine import Engine
from npc_brain.nrm.runtime import Runtime, load_runtime
from npc_brain.nrm.tokenizer import Tokenizer
from npc_brain.sidecar.protocol import (
    DEFAULT_MAX_MESSAGE_BYTES,
    PROTOCOL_VERSION,
    TERMINAL_EVENTS,
    CancelRequest,
    ErrorCode,
    Event,
    PingRequest,
    PongEvent,
    ProtocolError,
    Request,
    decode_request,
    encode_event,
    error_event,
)
from npc_brain.sidecar.scheduler import Envelope, Outgoing, Scheduler

if TYPE_CHECKING:
    from npc_brain.nrm.model import NRMModel

log = logging.getLogger("npc_brain.sidecar.server")
DEFAULT_BIND = "tcp://127.0.0.1:5555"


def package_version() -> str:
    try:
        return metadata.version("npc-brain")
    except metadata.PackageNotFoundError:  # running from a source tree that was never installed
        return "unknown"


class ServerConfig(BaseModel):
    bind: str = DEFAULT_BIND
    max_message_bytes: int = Field(DEFAULT_MAX_MESSAGE_BYTES, ge=256, le=16 * 1024 * 1024)
    max_in_flight: int = Field(256, ge=1)
    max_queue: int = Field(4096, ge=1)
    max_batch: int = Field(256, ge=1, le=4096)
    # Events queued for one client before it counts as gone (ZeroMQ's send high-water mark).
    max_queued_events: int = Field(10_000, ge=1)
    # Kernel send buffer per connection in bytes; 0 keeps the OS default (tests shrink it).
    send_buffer: int = Field(0, ge=0)
    # Messages read between two engine steps, so a flood cannot stall generation.
    reads_per_step: int = Field(512, ge=1)


class Server:
    """Bind with `bind()`, run `serve_forever()` in one thread, `stop()` from any thread."""

    def __init__(
        self,
        model: Runtime | NRMModel,
        tokenizer: Tokenizer,
        config: ServerConfig | None = None,
        model_name: str = "model",
    ) -> None:
        self.config = config or ServerConfig()
        self.tokenizer = tokenizer
        self.model_name = model_name
        self.params = model.num_params()
        self.backend = getattr(model, "backend", "torch")
        self.version = package_version()
        cfg = self.config
        self.scheduler = Scheduler(
            lambda: Engine(model, tokenizer, max_batch=cfg.max_batch),
            max_in_flight=cfg.max_in_flight,
            max_queue=cfg.max_queue,
        )
        self._ctx: zmq.Context | None = None
        self._sock: zmq.Socket | None = None
        self._stopping = threading.Event()
        self.endpoint: str | None = None

    @classmethod
    def from_model_dir(
        cls,
        model_dir: str | Path | None,
        config: ServerConfig | None = None,
        backend: str = "auto",
    ) -> Server:
        runtime = load_runtime(model_dir, backend)
        tok = load_tokenizer(model_dir)
        name = Path(model_dir).name if model_dir is not None else DEFAULT_MODEL_DIR.name
        return cls(runtime, tok, config, model_name=name)

    # ------------------------------------------------------------ lifecycle

    def bind(self) -> str:
        """Create and bind the ROUTER; returns the actual endpoint (port `*` or 0 is resolved)."""
        cfg = self.config
        self._ctx = zmq.Context()
        sock = self._ctx.socket(zmq.ROUTER)
        # Sends to a vanished peer raise EHOSTUNREACH instead of vanishing silently, which is
        # how we learn to cancel its requests.
        sock.setsockopt(zmq.ROUTER_MANDATORY, 1)
        sock.setsockopt(zmq.SNDHWM, cfg.max_queued_events)
        sock.setsockopt(zmq.RCVHWM, 100_000)
        # Payloads over the cap still get a `too_large` error; absurd ones (over 4x) make
        # libzmq drop the connection before buffering them.
        sock.setsockopt(zmq.MAXMSGSIZE, max(4 * cfg.max_message_bytes, 1 << 20))
        sock.setsockopt(zmq.LINGER, 200)
        if cfg.send_buffer:
            sock.setsockopt(zmq.SNDBUF, cfg.send_buffer)
        try:
            sock.bind(cfg.bind)  # port 0 or * picks a free port
        except zmq.ZMQError as exc:
            sock.close(0)
            self._ctx.term()
            raise OSError(f"cannot bind {cfg.bind}: {exc}") from None
        self._sock = sock
        self.endpoint = sock.getsockopt_string(zmq.LAST_ENDPOINT)
        return self.endpoint

    def stop(self) -> None:
        """Ask the loop to finish; in-flight requests end with `shutting_down`."""
        self._stopping.set()

    def serve_forever(self) -> None:
        if self._sock is None:
            self.bind()
        sock = self._sock
        assert sock is not None and self._ctx is not None
        try:
            while not self._stopping.is_set():
                # With work in flight, read whatever waits (non-blocking) between steps;
                # when idle, block briefly so stop() is noticed within 50 ms.
                if self.scheduler.busy:
                    self._read_waiting()
                    self._step()
                elif sock.poll(50, zmq.POLLIN):
                    self._read_waiting()
        finally:
            self.close()

    def close(self) -> None:
        """End every request in flight with `shutting_down` and release the socket."""
        if self._sock is None or self._ctx is None:
            return
        self._send_all(
            self.scheduler.fail_all(ErrorCode.SHUTTING_DOWN, "the sidecar is shutting down")
        )
        self._sock.close()
        self._ctx.term()
        self._sock = self._ctx = None

    # ------------------------------------------------------------ input

    def _read_waiting(self) -> None:
        sock = self._sock
        assert sock is not None
        for _ in range(self.config.reads_per_step):
            try:
                frames = sock.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                return
            self._handle(frames, time.perf_counter())

    def _handle(self, frames: list[bytes], received: float) -> None:
        envelope, payload = _envelope(frames)
        if payload is None:
            n = len(frames) - 1
            message = f"expected one payload frame after an optional empty delimiter, got {n}"
            self._send(envelope, error_event(ErrorCode.BAD_FRAMES, message))
            return
        request_id = None
        try:
            request = decode_request(payload, self.config.max_message_bytes)
            request_id = request.id
            self._dispatch(envelope, request, received)
        except ProtocolError as exc:
            self._send(envelope, error_event(exc.code, exc.message, exc.request_id))
        except Exception:  # a bug must cost one request, never the sidecar
            log.exception("unexpected fault while handling a message")
            self._send(
                envelope, error_event(ErrorCode.INTERNAL, "unexpected server fault", request_id)
            )

    def _dispatch(self, envelope: Envelope, request: Request, received: float) -> None:
        client = envelope[0]
        if isinstance(request, PingRequest):
            self._send(envelope, self._pong(client, request.id))
        elif isinstance(request, CancelRequest):
            job = self.scheduler.cancel(client, request.id)
            message = f"request {request.id!r} was cancelled"
            self._send(job.envelope, error_event(ErrorCode.CANCELLED, message, request.id))
        else:
            self.scheduler.submit(request, envelope, received)

    def _pong(self, client: bytes, request_id: int | str) -> PongEvent:
        s = self.scheduler
        return PongEvent(
            id=request_id,
            protocol=PROTOCOL_VERSION,
            version=self.version,
            model=self.model_name,
            params=self.params,
            in_flight=s.in_flight(client),
            active=s.active,
            queued=s.queued,
            max_in_flight=s.max_in_flight,
            max_message_bytes=self.config.max_message_bytes,
        )

    # ------------------------------------------------------------ output

    def _step(self) -> None:
        try:
            out = self.scheduler.step()
        except Exception:
            log.exception("scheduler fault; failing every request in flight")
            out = self.scheduler.fail_all(ErrorCode.INTERNAL, "unexpected server fault")
        self._send_all(out)

    def _send_all(self, out: list[Outgoing]) -> None:
        for envelope, event in out:
            self._send(envelope, event)

    def _send(self, envelope: Envelope, event: Event) -> None:
        terminal = event.type in TERMINAL_EVENTS
        if len(envelope) > 1 and not terminal:
            return  # REQ clients get only the terminal event
        if terminal:
            _log_terminal(envelope[0], event)
        sock = self._sock
        assert sock is not None
        try:
            sock.send_multipart([*envelope, encode_event(event)], zmq.NOBLOCK)
        except zmq.Again:
            self._client_gone(envelope[0], "is not reading its events")
        except zmq.ZMQError as exc:
            if exc.errno != zmq.EHOSTUNREACH:
                raise
            self._client_gone(envelope[0], "disconnected")

    def _client_gone(self, client: bytes, why: str) -> None:
        dropped = self.scheduler.drop_client(client)
        if dropped:
            log.warning("client %s %s: cancelled its %d request(s)", client.hex(), why, dropped)


def _envelope(frames: list[bytes]) -> tuple[Envelope, bytes | None]:
    """Routing frames to reply with, and the payload (None when the shape is wrong)."""
    client, body = frames[0], frames[1:]
    if len(body) == 1:
        return (client,), body[0]
    if body and body[0] == b"":
        return (client, b""), (body[1] if len(body) == 2 else None)
    return (client,), None


def _log_terminal(client: bytes, event: Event) -> None:
    if event.type == "pong":
        log.debug("ping id=%r client=%s", event.id, client.hex())
    elif event.type == "decision":
        log.info(
            "decide id=%r client=%s tokens=%d latency_ms=%.1f steps=%d -> %s%s",
            event.id, client.hex(), event.tokens, event.latency_ms, len(event.steps),
            event.action, f" {event.target}" if event.target else "",
        )  # fmt: skip
    elif event.type == "answer":
        log.info(
            "generate id=%r client=%s tokens=%d latency_ms=%.1f steps=%d -> %r",
            event.id, client.hex(), event.tokens, event.latency_ms, len(event.steps), event.text,
        )  # fmt: skip
    else:
        log.info(
            "error id=%r client=%s code=%s: %s", event.id, client.hex(), event.code, event.message
        )


__all__ = ["DEFAULT_BIND", "Server", "ServerConfig"]
