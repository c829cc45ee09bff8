extends Node
## MsgPack against byte vectors produced by Python's msgpack (tests/test_godot_msgpack.py).

const Check := preload("res://tests/godot/check.gd")
const Vectors := preload("res://tests/generated/msgpack_vectors.gd")

## Encodings longer than this are checked here byte for byte but not printed back to Python.
const MAX_PRINTED_BYTES := 4096
## Strict prefixes of vectors up to this size are all decoded and must all fail.
const MAX_PREFIX_SCAN := 400


func run(check: Check) -> void:
	_check_roundtrip(check)
	_check_non_canonical(check)
	_check_malformed(check)
	_check_truncations(check)
	_check_godot_types(check)
	_check_unencodable(check)
	check.done()


func _check_roundtrip(check: Check) -> void:
	check.section("encode and decode match Python")
	for case: Array in Vectors.roundtrip():
		var name: String = case[0]
		var expected_bytes: PackedByteArray = case[2]
		var encoded := MsgPack.encode(case[1])
		check.equal(encoded, expected_bytes, "encode(%s)" % name)
		var result := MsgPack.decode(expected_bytes)
		check.equal(result.error, "", "decode(%s) error" % name)
		check.equal(result.ok, true, "decode(%s) ok" % name)
		check.equal(result.value, case[1], "decode(%s) value" % name)
		if encoded.size() <= MAX_PRINTED_BYTES:
			print("@@encoded %s %s" % [name.replace(" ", "_"), Marshalls.raw_to_base64(encoded)])


func _check_non_canonical(check: Check) -> void:
	check.section("decode wider forms and float32")
	for case: Array in Vectors.non_canonical():
		var result := MsgPack.decode(case[1])
		check.equal(result.ok, true, "decode(%s) ok (%s)" % [case[0], result.error])
		check.equal(result.value, case[2], "decode(%s) value" % case[0])


func _check_malformed(check: Check) -> void:
	check.section("malformed input fails cleanly")
	for case: Array in Vectors.malformed():
		var result := MsgPack.decode(case[1])
		check.equal(result.ok, false, "decode(%s) must fail" % case[0])
		check.equal(result.value, null, "decode(%s) value on failure" % case[0])
		check.is_true(not String(result.error).is_empty(), "decode(%s) explains" % case[0])


func _check_truncations(check: Check) -> void:
	check.section("every truncation fails cleanly")
	var accepted := 0
	var scanned := 0
	for case: Array in Vectors.roundtrip():
		var full: PackedByteArray = case[2]
		if full.size() > MAX_PREFIX_SCAN:
			continue
		for cut: int in full.size():
			scanned += 1
			if MsgPack.decode(full.slice(0, cut)).ok:
				accepted += 1
				print("accepted truncation %d/%d of %s" % [cut, full.size(), case[0]])
	check.equal(accepted, 0, "truncated vectors accepted")
	check.is_true(scanned > 1000, "scanned %d truncations" % scanned)


func _check_godot_types(check: Check) -> void:
	check.section("Godot types encode as their protocol meaning")
	for case: Array in Vectors.godot_types():
		check.equal(MsgPack.encode(case[1]), case[2], "encode(%s)" % case[0])


func _check_unencodable(check: Check) -> void:
	check.section("objects cannot be encoded")
	check.equal(MsgPack.encode(RefCounted.new()), PackedByteArray(), "encode(RefCounted)")
	check.equal(MsgPack.encode({"npc": [Callable()]}), PackedByteArray(), "encode(Callable)")
