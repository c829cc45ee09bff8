"""MsgPack (godot_addon/.../msgpack.gd) against Python's msgpack, in the real Godot runtime.

Python produces every byte vector; GDScript must encode each value to exactly those bytes,
decode the bytes back to exactly that value (type-strict), reject malformed input cleanly, and
its own encodings (printed as base64) must decode in Python to the original values.
"""

from __future__ import annotations

import base64
import math
import struct

import msgpack
from godot_harness import GdExpr, assert_passed, gd_literal, gd_vector_script, run_gdscript_test

NESTED_REQUEST = {
    "type": "decide",
    "id": "4f1a-7",
    "npc": {
        "id": "bram",
        "name": "Bram",
        "role": "guard",
        "traits": ["brave", "loyal"],
        "health": 80,
        "hunger": 35,
        "energy": 62,
        "gold": 12,
        "inventory": {"bread": 2, "sword": 1},
        "perception": [
            {"name": "wolf", "kind": "enemy", "distance": 4.5, "hostile": True, "health": 40},
        ],
        "time_of_day": "night",
        "location": "gate",
        "goal": None,
        "memory": ["a wolf howled"],
    },
    "actions": ["attack", "flee", "call_for_help"],
    "temperature": 0.0,
}

# (name, value[, GDScript expression building the same value when a literal is too big]).
ROUNDTRIP: list[tuple] = [
    ("nil", None),
    ("false", False),
    ("true", True),
    ("zero", 0),
    ("positive fixint max", 127),
    ("uint8 min", 128),
    ("uint8 max", 255),
    ("uint16 min", 256),
    ("uint16 max", 65535),
    ("uint32 min", 65536),
    ("uint32 max", 2**32 - 1),
    ("uint64 min", 2**32),
    ("int64 max", 2**63 - 1),
    ("negative fixint -1", -1),
    ("negative fixint min", -32),
    ("int8 -33", -33),
    ("int8 min", -128),
    ("int16 -129", -129),
    ("int16 min", -32768),
    ("int32 -32769", -32769),
    ("int32 min", -(2**31)),
    ("int64 below int32", -(2**31) - 1),
    ("int64 min", -(2**63)),
    ("float 0.0", 0.0),
    ("float -0.0", -0.0),
    ("float 1.5", 1.5),
    ("float 0.1", 0.1),
    ("float pi", math.pi),
    ("float denormal", 5e-324),
    ("float max", 1.7976931348623157e308),
    ("float inf", math.inf),
    ("float -inf", -math.inf),
    ("float nan", math.nan),
    ("str empty", ""),
    ("fixstr", "wolf"),
    ("fixstr max", "a" * 31),
    ("str8 min", "a" * 32),
    ("str8 max", "b" * 255),
    ("str16 min", "c" * 256),
    ("str16 max", "d" * 65535, GdExpr('"d".repeat(65535)')),
    ("str32", "e" * 65536, GdExpr('"e".repeat(65536)')),
    ("str utf-8", "Grüße, 狼が来た 🐺"),
    ("str escapes", 'line1\nline2\t"quoted" back\\slash'),
    ("bin empty", b""),
    ("bin8", bytes(range(200))),
    ("bin8 max", bytes(255)),
    ("bin16", bytes(range(256)) * 2),
    ("bin32", bytes(range(256)) * 256),
    ("fixarray empty", []),
    ("fixarray mixed", [1, "two", 3.0, None, True, b"\x01"]),
    ("fixarray max", list(range(15))),
    ("array16 min", list(range(16))),
    ("array16 max", list(range(65535)), GdExpr("range(65535)")),
    ("array32", list(range(65536)), GdExpr("range(65536)")),
    ("fixmap empty", {}),
    ("fixmap step event", {"type": "step", "id": "r1", "index": 0, "text": "the wolf is close"}),
    ("map16", {f"k{i}": i for i in range(16)}),
    ("map32", {f"k{i}": i for i in range(65536)}, GdExpr("big_map(65536)")),
    ("map int keys", {1: "one", -2: "minus two"}),
    ("map bin value", {"blob": b"\x00\xff"}),
    ("nested request", NESTED_REQUEST),
]

BIG_MAP_SOURCE = """
static func big_map(count: int) -> Dictionary:
\tvar map := {}
\tfor i: int in count:
\t\tmap["k%d" % i] = i
\treturn map
"""

# Valid msgpack that Python never emits for these values (wider forms, float32): decode only.
NON_CANONICAL: list[tuple[str, bytes]] = [
    ("float32 1.5", msgpack.packb(1.5, use_single_float=True)),
    ("float32 0.1", msgpack.packb(0.1, use_single_float=True)),
    ("float32 -inf", msgpack.packb(-math.inf, use_single_float=True)),
    ("wide uint8", b"\xcc\x05"),
    ("wide uint16", b"\xcd\x00\x05"),
    ("wide uint32", b"\xce\x00\x00\x00\x05"),
    ("wide uint64", b"\xcf" + struct.pack(">Q", 5)),
    ("wide int8", b"\xd0\x05"),
    ("wide int16", b"\xd1\xff\xff"),
    ("wide int32", b"\xd2\x00\x00\x00\x05"),
    ("wide int64", b"\xd3" + struct.pack(">q", -1)),
    ("wide str8", b"\xd9\x03abc"),
    ("wide str32", b"\xdb\x00\x00\x00\x02hi"),
    ("wide bin32", b"\xc6\x00\x00\x00\x01\x07"),
    ("wide array32", b"\xdd\x00\x00\x00\x02\x01\x02"),
    ("wide map16", b"\xde\x00\x01\xa1k\xc3"),
    ("nesting at the depth limit (64)", b"\x91" * 64 + b"\xc0"),
]

# Must come back with ok=false and an error message, never a crash or hang.
MALFORMED: list[tuple[str, bytes]] = [
    ("empty input", b""),
    ("reserved 0xc1", b"\xc1"),
    ("fixext1", b"\xd4\x01\x00"),
    ("ext8", b"\xc7\x01\x05\x00"),
    ("str longer than input", b"\xd9\x05ab"),
    ("bin longer than input", b"\xc6\xff\xff\xff\xff\x00"),
    ("array claims 4G items", b"\xdd\xff\xff\xff\xff\xc0"),
    ("map claims 4G pairs", b"\xdf\xff\xff\xff\xff\xc0"),
    ("map missing value", b"\x81\xa1k"),
    ("invalid utf-8", b"\xa2\xc3\x28"),
    ("overlong utf-8", b"\xa2\xc0\xaf"),
    ("utf-8 surrogate", b"\xa3\xed\xa0\x80"),
    ("utf-8 above U+10FFFF", b"\xa4\xf4\x90\x80\x80"),
    ("truncated utf-8", b"\xa1\xe2"),
    ("trailing bytes", b"\xc0\xc0"),
    ("uint64 above int64", msgpack.packb(2**64 - 1)),
    ("nesting past the depth limit", b"\x91" * 65 + b"\xc0"),
    ("hostile nesting", b"\x91" * 100_000),
]

# Godot-only types and the bytes Python gives for their protocol meaning.
GODOT_TYPES: list[tuple[str, str, bytes]] = [
    ("Vector2", "Vector2(1.5, -2.0)", msgpack.packb([1.5, -2.0])),
    ("Vector2i", "Vector2i(3, -4)", msgpack.packb([3, -4])),
    ("Vector3", "Vector3(0.5, 1.0, 2.0)", msgpack.packb([0.5, 1.0, 2.0])),
    ("Vector3i", "Vector3i(1, 2, 300)", msgpack.packb([1, 2, 300])),
    ("StringName", '&"attack"', msgpack.packb("attack")),
    ("NodePath", 'NodePath("Village/Bram")', msgpack.packb("Village/Bram")),
    ("PackedStringArray", 'PackedStringArray(["flee", "hide"])', msgpack.packb(["flee", "hide"])),
    ("PackedInt32Array", "PackedInt32Array([1, 300, -5])", msgpack.packb([1, 300, -5])),
    ("PackedInt64Array", "PackedInt64Array([4294967296])", msgpack.packb([2**32])),
    ("PackedFloat32Array", "PackedFloat32Array([0.25])", msgpack.packb([0.25])),
    ("PackedFloat64Array", "PackedFloat64Array([0.1])", msgpack.packb([0.1])),
]


def _unpack(data: bytes) -> object:
    return msgpack.unpackb(data, raw=False, strict_map_key=False)


def _same(a: object, b: object) -> bool:
    """Type-strict deep equality (True != 1, 1 != 1.0, nan == nan)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return (math.isnan(a) and math.isnan(b)) or a == b
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return a == b


def _vectors() -> bytes:
    roundtrip = []
    for name, value, *expr in ROUNDTRIP:
        gd_value = expr[0] if expr else value
        roundtrip.append([name, gd_value, msgpack.packb(value)])
    non_canonical = [[name, data, _unpack(data)] for name, data in NON_CANONICAL]
    godot_types = [[name, GdExpr(expr), data] for name, expr, data in GODOT_TYPES]
    return gd_vector_script(
        {
            "roundtrip": gd_literal(roundtrip),
            "non_canonical": gd_literal(non_canonical),
            "malformed": gd_literal([list(case) for case in MALFORMED]),
            "godot_types": gd_literal(godot_types),
        },
        BIG_MAP_SOURCE,
    )


def test_python_agrees_on_the_malformed_vectors() -> None:
    # The vectors the GDScript decoder must reject are ones Python's msgpack rejects as well,
    # except ext types (valid msgpack the protocol never uses), the limit of Godot's value
    # model (int64) and our nesting guard.
    godot_limits = {"fixext1", "ext8", "uint64 above int64", "nesting past the depth limit"}
    for name, data in MALFORMED:
        if name in godot_limits:
            continue
        try:
            _unpack(data)
        except (ValueError, msgpack.ExtraData, msgpack.FormatError, msgpack.StackError):
            continue
        raise AssertionError(f"Python's msgpack accepted malformed vector {name!r}")


def test_msgpack_in_godot_matches_python() -> None:
    encoded: dict[str, bytes] = {}

    def collect(line: str) -> None:
        if line.startswith("@@encoded "):
            _, name, data = line.split(" ", 2)
            encoded[name] = base64.b64decode(data)

    result = run_gdscript_test(
        "test_msgpack.gd",
        extra_files={"res://tests/generated/msgpack_vectors.gd": _vectors()},
        on_print=collect,
        timeout_s=120,
    )
    assert_passed(result)
    # Godot -> Python: every small value Godot encoded decodes in Python to the original.
    small = {name.replace(" ", "_"): value for name, value, *_ in ROUNDTRIP}
    small = {k: v for k, v in small.items() if k in encoded}
    assert len(small) >= 40, sorted(encoded)
    for key, value in small.items():
        assert _same(_unpack(encoded[key]), value), key
