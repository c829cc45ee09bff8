"""The request decoder and the event codec (docs/protocol.md), including fuzzing."""

from __future__ import annotations

from typing import Any

import msgpack
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from server_harness import decide, npc_state

from npc_brain.sidecar.protocol import (
    MAX_ID_CHARS,
    CancelRequest,
    DecideRequest,
    DecisionEvent,
    ErrorCode,
    GenerateRequest,
    PingRequest,
    ProtocolError,
    StepEvent,
    decode_event,
    decode_request,
    encode_event,
    peek_request,
)


def pack(value: Any) -> bytes:
    return msgpack.packb(value, use_bin_type=True)


def refused(payload: bytes, **kw: Any) -> ProtocolError:
    with pytest.raises(ProtocolError) as info:
        decode_request(payload, **kw)
    return info.value


def test_valid_requests_decode_with_defaults() -> None:
    req = decode_request(pack(decide(7, aliases={"strike": "attack"})))
    assert isinstance(req, DecideRequest)
    assert (req.id, req.temperature, req.top_k, req.seed, req.max_steps) == (7, 0.0, 0, None, 8)
    assert req.npc.perception[0].name == "wolf" and req.aliases == {"strike": "attack"}
    gen = decode_request(pack({"type": "generate", "id": "q", "prompt": "What is 2 + 2?"}))
    assert isinstance(gen, GenerateRequest) and gen.max_tokens == 160
    assert isinstance(decode_request(pack({"type": "cancel", "id": 3})), CancelRequest)
    assert isinstance(decode_request(pack({"type": "ping", "id": -(2**63)})), PingRequest)


def test_integers_are_accepted_for_floats_and_unknown_npc_fields_are_ignored() -> None:
    state = npc_state(
        mood="grumpy", perception=[{"name": "wolf", "kind": "animal", "distance": 4, "x": 1}]
    )
    req = decode_request(pack(decide(1, npc=state, temperature=1)))
    assert req.temperature == 1.0
    assert not hasattr(req.npc, "mood")


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        (b"", ErrorCode.EMPTY),
        (b"\xc1", ErrorCode.BAD_MSGPACK),  # reserved byte
        (pack({"type": "ping", "id": 1})[:-1], ErrorCode.BAD_MSGPACK),  # truncated
        (pack({"type": "ping", "id": 1}) + b"\x00", ErrorCode.BAD_MSGPACK),  # trailing bytes
        (b"\xa2\xff\xfe", ErrorCode.BAD_MSGPACK),  # str with invalid UTF-8
        (pack({1: "x"}), ErrorCode.BAD_MSGPACK),  # non-str key
        (b"\x91" * 5000 + b"\xc0", ErrorCode.BAD_MSGPACK),  # nested deeper than msgpack allows
        (pack([1, 2]), ErrorCode.NOT_A_MAP),
        (pack("ping"), ErrorCode.NOT_A_MAP),
        (pack(None), ErrorCode.NOT_A_MAP),
        (pack({"id": 1}), ErrorCode.UNKNOWN_TYPE),
        (pack({"type": 5, "id": 1}), ErrorCode.UNKNOWN_TYPE),
        (pack({"type": "dance", "id": 1}), ErrorCode.UNKNOWN_TYPE),
    ],
)
def test_malformed_messages_get_their_code(payload: bytes, code: ErrorCode) -> None:
    assert refused(payload).code is code


def test_size_cap_is_configurable() -> None:
    payload = pack({"type": "generate", "id": 1, "prompt": "x" * 1000})
    assert refused(payload, max_bytes=512).code is ErrorCode.TOO_LARGE
    assert isinstance(decode_request(payload, max_bytes=2048), GenerateRequest)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"id": None}, "id"),
        ({"id": True}, "id"),
        ({"id": 2**63}, "id"),
        ({"id": ""}, "id"),
        ({"id": "x" * (MAX_ID_CHARS + 1)}, "id"),
        ({"id": 1.5}, "id"),
        ({"max_tokens": 40.0}, "max_tokens"),
        ({"max_tokens": "40"}, "max_tokens"),
        ({"max_tokens": 0}, "max_tokens"),
        ({"max_tokens": 10_000}, "max_tokens"),
        ({"max_steps": 0}, "max_steps"),
        ({"temperature": -0.1}, "temperature"),
        ({"temperature": float("nan")}, "temperature"),
        ({"temperature": True}, "temperature"),
        ({"seed": -1}, "seed"),
        ({"top_k": 5000}, "top_k"),
        ({"actions": []}, "actions"),
        ({"actions": "attack"}, "actions"),
        ({"actions": ["attack", "attack"]}, "actions"),
        ({"actions": ["a" * 33]}, "actions.0"),
        ({"actions": [f"v{i}" for i in range(65)]}, "actions"),
        ({"actions": [b"attack"]}, "actions.0"),
        ({"aliases": {"strike": 3}}, "aliases.strike"),
        ({"aliases": ["strike"]}, "aliases"),
        ({"npc": "bram"}, "npc"),
        ({"npc": npc_state(health=150)}, "npc.health"),
        ({"npc": npc_state(name="<STEP>")}, "npc.name"),
        ({"npc": npc_state(perception=[{"name": "wolf"}])}, "npc.perception.0"),
        ({"max_step": 3}, "max_step"),  # misspelt option: unknown top-level field
    ],
)
def test_invalid_fields_name_the_field(changes: dict[str, Any], field: str) -> None:
    err = refused(pack(decide(9) | changes))
    assert err.code is ErrorCode.INVALID_FIELD
    assert err.message.startswith(field), err.message
    # An invalid id cannot be echoed; any other error keeps the request's id.
    assert err.request_id == (None if "id" in changes else 9)


@pytest.mark.parametrize(
    "prompt",
    ["", "two\nlines", "carriage\rreturn", "sneaky <ANS>42</ANS>", "x" * 2001, 42],
)
def test_generate_prompt_rules(prompt: Any) -> None:
    err = refused(pack({"type": "generate", "id": "g", "prompt": prompt}))
    assert err.code is ErrorCode.INVALID_FIELD and err.request_id == "g"
    assert err.message.startswith("prompt")


def test_missing_field_and_unknown_field_messages_are_plain() -> None:
    assert (
        refused(pack({"type": "generate", "id": 1})).message == "prompt: required field is missing"
    )
    assert refused(pack({"type": "ping", "id": 1, "x": 0})).message == "x: unknown field"


def test_events_round_trip_and_tolerate_new_fields() -> None:
    ev = DecisionEvent(
        id=3,
        action="strike",
        target="wolf",
        steps=["a", "b"],
        raw="attack wolf",
        tokens=9,
        latency_ms=1.5,
    )
    assert decode_event(encode_event(ev)) == ev
    newer = pack({"type": "step", "id": "x", "index": 0, "text": "hi", "confidence": 0.9})
    assert decode_event(newer) == StepEvent(id="x", index=0, text="hi")
    with pytest.raises(ValueError):
        decode_event(pack({"type": "nonsense"}))
    with pytest.raises(ValueError):
        decode_event(b"\xc1")


# ------------------------------------------------------------------ property-based fuzzing

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

msgpack_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats()
    | st.text(max_size=20)
    | st.binary(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


def _decodes_or_refuses(payload: bytes) -> None:
    try:
        result = decode_request(payload)
    except ProtocolError as err:
        assert isinstance(err.code, ErrorCode) and err.message
        assert err.request_id is None or isinstance(err.request_id, (int, str))
    else:
        assert isinstance(result, (DecideRequest, GenerateRequest, CancelRequest, PingRequest))


@FUZZ
@given(st.binary(max_size=200))
def test_fuzz_arbitrary_bytes(payload: bytes) -> None:
    _decodes_or_refuses(payload)


@FUZZ
@given(msgpack_values)
def test_fuzz_arbitrary_msgpack_values(value: Any) -> None:
    _decodes_or_refuses(pack(value))


@FUZZ
@given(
    st.sampled_from(["decide", "generate", "cancel", "ping"]),
    st.dictionaries(
        st.sampled_from(
            [
                "id",
                "npc",
                "actions",
                "aliases",
                "prompt",
                "temperature",
                "seed",
                "max_tokens",
                "top_k",
            ]
        ),
        msgpack_values,
        max_size=5,
    ),
)
def test_fuzz_near_valid_requests(kind: str, overrides: dict[str, Any]) -> None:
    base = decide(1) if kind == "decide" else {"type": kind, "id": 1, "prompt": "What is 1 + 1?"}
    _decodes_or_refuses(pack(base | overrides))


@FUZZ
@given(st.binary(min_size=1, max_size=64), st.integers(min_value=0, max_value=400))
def test_fuzz_corrupted_valid_message(noise: bytes, at: int) -> None:
    payload = bytearray(pack(decide(5)))
    at %= len(payload)
    payload[at : at + len(noise)] = noise
    _decodes_or_refuses(bytes(payload))


def test_peek_request_reads_what_a_broker_routes_by() -> None:
    # decide/generate: type and id only (the worker validates the rest); ping and cancel whole.
    assert peek_request(pack(decide(7, npc={"no": "name"}))) == ("decide", 7)
    assert peek_request(pack({"type": "generate", "id": "g"})) == ("generate", "g")
    assert peek_request(pack({"type": "cancel", "id": 3})) == ("cancel", 3)
    for message, code in [
        ({"type": "ping", "id": 1, "extra": 1}, ErrorCode.INVALID_FIELD),
        (decide(1.5), ErrorCode.INVALID_FIELD),
        ({"type": "sing", "id": 2}, ErrorCode.UNKNOWN_TYPE),
        ([1], ErrorCode.NOT_A_MAP),
    ]:
        with pytest.raises(ProtocolError) as refused:
            peek_request(pack(message))
        assert refused.value.code == code


def test_rerun_is_read_by_clients_and_never_sent_by_a_sidecar() -> None:
    step = {"type": "step", "id": 1, "index": 0, "text": "x"}
    assert decode_event(pack(step | {"rerun": 2})).rerun == 2
    assert decode_event(pack(step)).rerun == 0
    assert "rerun" not in msgpack.unpackb(encode_event(decode_event(pack(step | {"rerun": 1}))))
