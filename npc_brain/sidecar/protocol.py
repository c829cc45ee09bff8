"""Wire messages of the sidecar: pydantic models, error codes, msgpack decode/encode.

docs/protocol.md is the normative spec; this module implements it. Requests are checked
strictly (wrong types are errors, unknown top-level fields are errors); events are parsed
leniently on the client side (unknown fields ignored) so newer servers stay compatible.
"""

from __future__ import annotations

import re
from enum import Enum
from importlib import metadata
from typing import Annotated, Any, Literal

import msgpack
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    StrictStr,
    TypeAdapter,
    ValidationError,
    field_validator,
)

from npc_brain.npc.state import NPCState
from npc_brain.nrm.trace import ANS, ANS_END, INST, INST_END, STEP, THINK, THINK_END

PROTOCOL_VERSION = 1
DEFAULT_MAX_MESSAGE_BYTES = 65536
MAX_ID_CHARS = 64
MAX_VERB_CHARS = 32
MAX_ACTIONS = 64
MAX_PROMPT_CHARS = 2000
MAX_TOKENS_LIMIT = 512
MAX_STEPS_LIMIT = 16
CONTROL_TAGS = (INST, INST_END, THINK, THINK_END, STEP, ANS, ANS_END)


def package_version() -> str:
    """The npc-brain version `pong` reports."""
    try:
        return metadata.version("npc-brain")
    except metadata.PackageNotFoundError:  # running from a source tree that was never installed
        return "unknown"


class ErrorCode(str, Enum):
    """Stable codes of `error` events (docs/protocol.md section 6)."""

    BAD_FRAMES = "bad_frames"
    EMPTY = "empty"
    TOO_LARGE = "too_large"
    BAD_MSGPACK = "bad_msgpack"
    NOT_A_MAP = "not_a_map"
    UNKNOWN_TYPE = "unknown_type"
    INVALID_FIELD = "invalid_field"
    DUPLICATE_ID = "duplicate_id"
    TOO_MANY_REQUESTS = "too_many_requests"
    SERVER_BUSY = "server_busy"
    UNKNOWN_ID = "unknown_id"
    PROMPT_TOO_LONG = "prompt_too_long"
    CANCELLED = "cancelled"
    NO_ANSWER = "no_answer"
    SHUTTING_DOWN = "shutting_down"
    RATE_LIMITED = "rate_limited"
    INTERNAL = "internal"
    # Sent by a broker only: the worker generating the request vanished and the request
    # could not be re-run on another one (docs/protocol.md section 13).
    WORKER_LOST = "worker_lost"
    # Never sent by the sidecar: the Python client ends a request with it when the
    # connection drops (server gone, or a frame over the transport cap), or, over a
    # WebSocket, cannot be opened.
    DISCONNECTED = "disconnected"


RequestId = (
    Annotated[StrictInt, Field(ge=-(2**63), le=2**63 - 1)]
    | Annotated[StrictStr, Field(min_length=1, max_length=MAX_ID_CHARS)]
)
_ID_ADAPTER: TypeAdapter[int | str] = TypeAdapter(RequestId)


class ProtocolError(Exception):
    """A request the sidecar refuses; becomes an `error` event for its client."""

    def __init__(self, code: ErrorCode, message: str, request_id: int | str | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.request_id = request_id


# ---------------------------------------------------------------- requests


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: RequestId


# Same rule as NPC text: verbs reach the prompt, the answer and the log, so tag brackets
# and control characters (line breaks, ANSI escapes) could forge any of them.
_FORBIDDEN = re.compile(r"[<>\x00-\x1f\x7f-\x9f]")


def _plain(text: str) -> str:
    if _FORBIDDEN.search(text):
        raise ValueError("must not contain '<', '>' or control characters")
    return text


Verb = Annotated[StrictStr, Field(min_length=1, max_length=MAX_VERB_CHARS), AfterValidator(_plain)]


class _Sampling(_Request):
    temperature: Annotated[float, Field(strict=True, ge=0.0, le=2.0)] = 0.0
    top_k: Annotated[StrictInt, Field(ge=0, le=2048)] = 0
    seed: Annotated[StrictInt, Field(ge=0, le=2**63 - 1)] | None = None
    max_tokens: Annotated[StrictInt, Field(ge=1, le=MAX_TOKENS_LIMIT)] = 160
    max_steps: Annotated[StrictInt, Field(ge=1, le=MAX_STEPS_LIMIT)] = 8


class DecideRequest(_Sampling):
    type: Literal["decide"]
    npc: NPCState
    actions: Annotated[list[Verb], Field(min_length=1, max_length=MAX_ACTIONS)]
    aliases: Annotated[dict[Verb, Verb], Field(max_length=MAX_ACTIONS)] = Field(
        default_factory=dict
    )

    @field_validator("actions")
    @classmethod
    def _distinct(cls, actions: list[str]) -> list[str]:
        seen: set[str] = set()
        for verb in actions:
            if verb in seen:
                raise ValueError(f"{verb!r} is listed twice")
            seen.add(verb)
        return actions


class GenerateRequest(_Sampling):
    type: Literal["generate"]
    prompt: Annotated[StrictStr, Field(min_length=1, max_length=MAX_PROMPT_CHARS)]

    @field_validator("prompt")
    @classmethod
    def _one_plain_line(cls, prompt: str) -> str:
        if "\n" in prompt or "\r" in prompt:
            raise ValueError("must be a single line")
        tags = [t for t in CONTROL_TAGS if t in prompt]
        if tags:
            raise ValueError(f"must not contain control tags ({', '.join(tags)})")
        return prompt


class CancelRequest(_Request):
    type: Literal["cancel"]


class PingRequest(_Request):
    type: Literal["ping"]


Request = DecideRequest | GenerateRequest | CancelRequest | PingRequest
REQUEST_MODELS: dict[str, type[BaseModel]] = {
    "decide": DecideRequest,
    "generate": GenerateRequest,
    "cancel": CancelRequest,
    "ping": PingRequest,
}

# ---------------------------------------------------------------- events


class _Event(BaseModel):
    # Lenient on purpose: a client must accept fields added by newer servers.
    model_config = ConfigDict(extra="ignore", frozen=True)

    type: str
    id: int | str | None
    # Set by a broker on every event of a request it re-runs on another worker after the
    # first one vanished: 1 for the first re-run. A sidecar never sends it (excluded from
    # dumps); clients read it, 0 when absent.
    rerun: int = Field(0, exclude=True)


class StepEvent(_Event):
    type: Literal["step"] = "step"
    id: int | str
    index: int
    text: str


class DecisionEvent(_Event):
    type: Literal["decision"] = "decision"
    id: int | str
    action: str
    target: str | None
    steps: list[str]
    raw: str
    tokens: int
    latency_ms: float


class AnswerEvent(_Event):
    type: Literal["answer"] = "answer"
    id: int | str
    text: str
    steps: list[str]
    raw: str
    tokens: int
    latency_ms: float


class ErrorEvent(_Event):
    type: Literal["error"] = "error"
    id: int | str | None
    code: str
    message: str


class PongEvent(_Event):
    type: Literal["pong"] = "pong"
    id: int | str
    protocol: int
    # Left out by a sidecar reachable beyond loopback without authentication.
    version: str | None = None
    model: str | None = None
    params: int | None = None
    in_flight: int
    active: int
    queued: int
    max_in_flight: int
    max_message_bytes: int


Event = StepEvent | DecisionEvent | AnswerEvent | ErrorEvent | PongEvent
EVENT_MODELS: dict[str, type[_Event]] = {
    "step": StepEvent,
    "decision": DecisionEvent,
    "answer": AnswerEvent,
    "error": ErrorEvent,
    "pong": PongEvent,
}
TERMINAL_EVENTS = frozenset({"decision", "answer", "error", "pong"})


def error_event(code: ErrorCode, message: str, request_id: int | str | None = None) -> ErrorEvent:
    return ErrorEvent(id=request_id, code=code.value, message=message)


# ---------------------------------------------------------------- codec


def unpack(payload: bytes) -> Any:
    """One msgpack value; raises ValueError for anything that is not exactly that."""
    try:
        return msgpack.unpackb(
            payload, raw=False, strict_map_key=True, use_list=True, object_pairs_hook=_str_keys
        )
    except (ValueError, TypeError, msgpack.UnpackException) as exc:
        # msgpack reports truncation, trailing bytes, bad UTF-8, deep nesting and
        # non-str keys with several ValueError subclasses (and TypeError for some ext data).
        name = type(exc).__name__
        raise ValueError(f"{name}: {exc}" if str(exc) else name) from None


def _str_keys(pairs: list[tuple[Any, Any]]) -> dict[str, Any]:
    # strict_map_key still lets bin keys through; the protocol allows str keys only.
    for key, _ in pairs:
        if not isinstance(key, str):
            raise ValueError(f"map keys must be str, got {_msgpack_kind(key)}")
    return dict(pairs)


def decode_request(payload: bytes, max_bytes: int = DEFAULT_MAX_MESSAGE_BYTES) -> Request:
    """Validate one request payload or raise ProtocolError with the right code."""
    data = _request_map(payload, max_bytes)
    return _validate(data, _request_model(data))


def peek_request(
    payload: bytes, max_bytes: int = DEFAULT_MAX_MESSAGE_BYTES
) -> tuple[str, int | str]:
    """(type, id) of a request, checked as far as a broker needs to route it.

    `ping` and `cancel` are validated whole; `decide` and `generate` only up to a valid id,
    the worker that runs them checks the rest. Raises ProtocolError like decode_request.
    """
    data = _request_map(payload, max_bytes)
    model = _request_model(data)
    kind: str = data["type"]
    request_id = readable_id(data.get("id"))
    if request_id is None or kind in ("ping", "cancel"):
        request_id = _validate(data, model).id
    return kind, request_id


def _request_map(payload: bytes, max_bytes: int) -> dict[str, Any]:
    if not payload:
        raise ProtocolError(ErrorCode.EMPTY, "empty message")
    if len(payload) > max_bytes:
        raise ProtocolError(
            ErrorCode.TOO_LARGE, f"message is {len(payload)} bytes; the limit is {max_bytes}"
        )
    try:
        data = unpack(payload)
    except ValueError as exc:
        raise ProtocolError(ErrorCode.BAD_MSGPACK, f"not a msgpack value ({exc})"[:300]) from None
    if not isinstance(data, dict):
        raise ProtocolError(ErrorCode.NOT_A_MAP, f"expected a map, got {_msgpack_kind(data)}")
    return data


def _request_model(data: dict[str, Any]) -> type[BaseModel]:
    kind = data.get("type")
    model = REQUEST_MODELS.get(kind) if isinstance(kind, str) else None
    if model is None:
        known = ", ".join(REQUEST_MODELS)
        raise ProtocolError(
            ErrorCode.UNKNOWN_TYPE,
            f"type {_short(kind)} is not one of: {known}",
            readable_id(data.get("id")),
        )
    return model


def _validate(data: dict[str, Any], model: type[BaseModel]) -> Request:
    try:
        return model.model_validate(data)  # type: ignore[return-value]
    except ValidationError as exc:
        request_id = readable_id(data.get("id"))
        raise ProtocolError(ErrorCode.INVALID_FIELD, describe(exc), request_id) from None


def readable_id(value: Any) -> int | str | None:
    """The request id if it is a valid one, else None (for error events)."""
    if value is None:
        return None
    try:
        return _ID_ADAPTER.validate_python(value)
    except ValidationError:
        return None


def describe(exc: ValidationError, limit: int = 3) -> str:
    """`field.path: problem` for the first few errors, without echoing input values."""
    parts = []
    for err in exc.errors(include_url=False, include_input=False)[:limit]:
        loc = ".".join(str(p) for p in err["loc"]) or "message"
        msg = {"extra_forbidden": "unknown field", "missing": "required field is missing"}.get(
            err["type"], err["msg"]
        )
        parts.append(f"{loc}: {msg}")
    more = exc.error_count() - limit
    if more > 0:
        parts.append(f"and {more} more")
    return "; ".join(parts)[:500]


def _msgpack_kind(value: Any) -> str:
    names = {list: "an array", str: "a str", bytes: "a bin", bool: "a bool", int: "an int"}
    names.update({float: "a float", type(None): "nil"})
    return names.get(type(value), type(value).__name__)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def encode_event(event: Event) -> bytes:
    return msgpack.packb(event.model_dump(), use_bin_type=True)


def encode_request(request: dict[str, Any]) -> bytes:
    return msgpack.packb(request, use_bin_type=True)


def decode_event(payload: bytes) -> Event:
    """Parse one sidecar event (client side); raises ValueError on garbage."""
    data = unpack(payload)
    kind = data.get("type") if isinstance(data, dict) else None
    model = EVENT_MODELS.get(kind) if isinstance(kind, str) else None
    if model is None:
        raise ValueError(f"not a sidecar event: {_short(data)}")
    return model.model_validate(data)  # type: ignore[return-value]


__all__ = [
    "PROTOCOL_VERSION",
    "AnswerEvent",
    "CancelRequest",
    "DecideRequest",
    "DecisionEvent",
    "ErrorCode",
    "ErrorEvent",
    "Event",
    "GenerateRequest",
    "PingRequest",
    "PongEvent",
    "ProtocolError",
    "Request",
    "StepEvent",
    "decode_event",
    "decode_request",
    "encode_event",
    "encode_request",
    "peek_request",
]
