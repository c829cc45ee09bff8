"""Frames between a broker's back end (ROUTER) and its workers (DEALER).

The ZeroMQ guide's load-balancing broker with Paranoid Pirate heartbeats (RFC 6/PPP),
framed like Majordomo (RFC 7/MDP): every message starts with a protocol frame and a
one-byte command. Clients never see these frames; docs/scaling.md describes the exchange.

    worker -> broker   READY      info (msgpack map: capacity, model, ...), until WELCOME
    broker -> worker   WELCOME                      the READY was accepted
    broker -> worker   REQUEST    route, payload    a client's request (payload as sent)
    worker -> broker   EVENT      route, flag, payload   one event (flag TERMINAL or STEP)
    both ways          HEARTBEAT                    "still here", every heartbeat interval
    both ways          DISCONNECT                   worker: leaving; broker: re-register

`route` names one request on the broker (an 8-byte ticket); the worker uses it where a
sidecar uses the client's identity, so its scheduler and events work unchanged.
"""

from __future__ import annotations

from typing import Any

import msgpack
from pydantic import BaseModel, ConfigDict, Field, ValidationError

HEADER = b"NPCW1"
READY = b"\x01"
WELCOME = b"\x02"
REQUEST = b"\x03"
EVENT = b"\x04"
HEARTBEAT = b"\x05"
DISCONNECT = b"\x06"
COMMANDS = {READY, WELCOME, REQUEST, EVENT, HEARTBEAT, DISCONNECT}

TERMINAL = b"\x01"
STEP = b"\x00"

# Defaults for both sides: each side counts the other lost after LIVENESS silent intervals.
# Generous on purpose: a worker beats between batch steps, and a step on a starved CPU can
# take seconds; a worker that dies is noticed at once anyway (its connection closes).
HEARTBEAT_S = 1.0
LIVENESS = 10


class WorkerInfo(BaseModel):
    """What a worker announces in READY."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    capacity: int = Field(ge=1, le=65536)  # generation slots (its --max-batch)
    model: str | None = None
    version: str | None = None
    params: int | None = None
    backend: str | None = None
    host: str | None = None  # for the broker's log: which machine and process this is
    pid: int | None = None


def encode_info(info: WorkerInfo) -> bytes:
    return msgpack.packb(info.model_dump(), use_bin_type=True)


def decode_info(payload: bytes) -> WorkerInfo:
    """Raises ValueError on anything that is not a READY map."""
    try:
        return WorkerInfo.model_validate(msgpack.unpackb(payload, raw=False))
    except (ValueError, TypeError, ValidationError, msgpack.UnpackException) as exc:
        raise ValueError(f"bad READY from a worker: {exc}") from None


def route_of(ticket: int) -> bytes:
    return ticket.to_bytes(8, "big")


def ticket_of(route: bytes) -> int | None:
    return int.from_bytes(route, "big") if len(route) == 8 else None


def command(name: bytes, *frames: bytes) -> list[bytes]:
    return [HEADER, name, *frames]


def parse(frames: list[Any]) -> tuple[bytes, list[Any]] | None:
    """(command, remaining frames as given: bytes or zmq.Frame) of a well-formed message."""
    if len(frames) < 2 or _bytes(frames[0]) != HEADER:
        return None
    name = _bytes(frames[1])
    return (name, frames[2:]) if name in COMMANDS else None


def _bytes(frame: Any) -> bytes:
    return frame if isinstance(frame, bytes) else frame.bytes
