class_name MsgPack
extends RefCounted
## MessagePack encoder and decoder in pure GDScript.
##
## Covers the types the npc-brain protocol uses: nil, bool, every int width, float32/64,
## str, bin, array and map. Encoding picks the smallest form, exactly as Python's
## [code]msgpack.packb[/code] does, so bytes match byte for byte.
## [codeblock]
## var bytes := MsgPack.encode({"type": "ping", "id": "r1"})
## var result := MsgPack.decode(bytes)
## if result.ok:
##     print(result.value)
## else:
##     push_warning(result.error)
## [/codeblock]
## Godot-side mapping: [String]/[StringName]/[NodePath] encode as str, [PackedByteArray] as
## bin, other packed arrays and [Vector2]/[Vector3] (and their int forms) as arrays, float
## always as float64. Decoding gives [int], [float], [String], [PackedByteArray], [Array] and
## [Dictionary]. Malformed input never crashes: [method decode] reports it in [code]error[/code].

## Deepest array/map nesting [method decode] accepts (guards the call stack).
const MAX_DEPTH := 64
const INT64_MAX := 9223372036854775807


## Encodes [param value]; returns an empty array (and pushes an error) for a type msgpack
## cannot carry, such as an [Object]. Valid msgpack is never empty.
static func encode(value: Variant) -> PackedByteArray:
	var out := PackedByteArray()
	var problem := _encode_into(out, value, 0)
	if not problem.is_empty():
		push_error("MsgPack.encode: " + problem)
		return PackedByteArray()
	return out


## Decodes one complete msgpack value occupying all of [param bytes].
## Returns [code]{"ok": bool, "value": Variant, "error": String}[/code].
static func decode(bytes: PackedByteArray) -> Dictionary:
	var reader := _Reader.new(bytes)
	var value: Variant = reader.read_value(0)
	if reader.error.is_empty() and reader.pos != bytes.size():
		reader.fail("%d trailing bytes after the value" % (bytes.size() - reader.pos))
	if not reader.error.is_empty():
		return {"ok": false, "value": null, "error": reader.error}
	return {"ok": true, "value": value, "error": ""}


static func _encode_into(out: PackedByteArray, value: Variant, depth: int) -> String:
	if depth > MAX_DEPTH:
		return "nesting deeper than %d" % MAX_DEPTH
	match typeof(value):
		TYPE_NIL:
			out.append(0xc0)
		TYPE_BOOL:
			out.append(0xc3 if value else 0xc2)
		TYPE_INT:
			_encode_int(out, value)
		TYPE_FLOAT:
			out.append(0xcb)
			_append_be(out, _float64_bits(value), 8)
		TYPE_STRING, TYPE_STRING_NAME, TYPE_NODE_PATH:
			_encode_str(out, str(value).to_utf8_buffer())
		TYPE_PACKED_BYTE_ARRAY:
			_encode_bin(out, value)
		TYPE_ARRAY, TYPE_PACKED_INT32_ARRAY, TYPE_PACKED_INT64_ARRAY, \
		TYPE_PACKED_FLOAT32_ARRAY, TYPE_PACKED_FLOAT64_ARRAY, TYPE_PACKED_STRING_ARRAY:
			return _encode_array(out, Array(value), depth)
		TYPE_VECTOR2, TYPE_VECTOR2I:
			return _encode_array(out, [value.x, value.y], depth)
		TYPE_VECTOR3, TYPE_VECTOR3I:
			return _encode_array(out, [value.x, value.y, value.z], depth)
		TYPE_DICTIONARY:
			return _encode_map(out, value, depth)
		_:
			return "cannot encode a value of type %s" % type_string(typeof(value))
	return ""


static func _encode_int(out: PackedByteArray, value: int) -> void:
	if value >= 0:
		if value < 0x80:
			out.append(value)
		elif value <= 0xff:
			out.append(0xcc)
			out.append(value)
		elif value <= 0xffff:
			out.append(0xcd)
			_append_be(out, value, 2)
		elif value <= 0xffffffff:
			out.append(0xce)
			_append_be(out, value, 4)
		else:
			out.append(0xcf)
			_append_be(out, value, 8)
	elif value >= -32:
		out.append(value & 0xff)
	elif value >= -0x80:
		out.append(0xd0)
		out.append(value & 0xff)
	elif value >= -0x8000:
		out.append(0xd1)
		_append_be(out, value, 2)
	elif value >= -0x80000000:
		out.append(0xd2)
		_append_be(out, value, 4)
	else:
		out.append(0xd3)
		_append_be(out, value, 8)


static func _encode_str(out: PackedByteArray, utf8: PackedByteArray) -> void:
	var size := utf8.size()
	if size < 32:
		out.append(0xa0 | size)
	elif size <= 0xff:
		out.append(0xd9)
		out.append(size)
	elif size <= 0xffff:
		out.append(0xda)
		_append_be(out, size, 2)
	else:
		out.append(0xdb)
		_append_be(out, size, 4)
	out.append_array(utf8)


static func _encode_bin(out: PackedByteArray, data: PackedByteArray) -> void:
	var size := data.size()
	if size <= 0xff:
		out.append(0xc4)
		out.append(size)
	elif size <= 0xffff:
		out.append(0xc5)
		_append_be(out, size, 2)
	else:
		out.append(0xc6)
		_append_be(out, size, 4)
	out.append_array(data)


static func _encode_array(out: PackedByteArray, items: Array, depth: int) -> String:
	_append_header(out, items.size(), 0x90, 0xdc)
	for item: Variant in items:
		var problem := _encode_into(out, item, depth + 1)
		if not problem.is_empty():
			return problem
	return ""


static func _encode_map(out: PackedByteArray, map: Dictionary, depth: int) -> String:
	_append_header(out, map.size(), 0x80, 0xde)
	for key: Variant in map:
		var problem := _encode_into(out, key, depth + 1)
		if problem.is_empty():
			problem = _encode_into(out, map[key], depth + 1)
		if not problem.is_empty():
			return problem
	return ""


## Array/map header: fix form below 16 entries, then the 16- and 32-bit forms.
static func _append_header(out: PackedByteArray, size: int, fix_tag: int, tag16: int) -> void:
	if size < 16:
		out.append(fix_tag | size)
	elif size <= 0xffff:
		out.append(tag16)
		_append_be(out, size, 2)
	else:
		out.append(tag16 + 1)
		_append_be(out, size, 4)


static func _append_be(out: PackedByteArray, value: int, width: int) -> void:
	for i: int in range(width - 1, -1, -1):
		out.append((value >> (8 * i)) & 0xff)


static func _float64_bits(value: float) -> int:
	var raw := PackedByteArray()
	raw.resize(8)
	raw.encode_double(0, value)
	return raw.decode_s64(0)


## Cursor over the input; the first error stops decoding and is kept in [member error].
class _Reader:
	extends RefCounted

	var bytes: PackedByteArray
	var pos: int = 0
	var error: String = ""

	func _init(data: PackedByteArray) -> void:
		bytes = data

	func fail(message: String) -> void:
		if error.is_empty():
			error = "%s (at byte %d)" % [message, pos]

	func read_value(depth: int) -> Variant:
		if depth > MAX_DEPTH:
			fail("nesting deeper than %d" % MAX_DEPTH)
			return null
		if not _has(1):
			fail("unexpected end of input")
			return null
		var tag := bytes[pos]
		pos += 1
		var value: Variant
		if tag < 0x80:
			value = tag
		elif tag >= 0xe0:
			value = tag - 0x100
		elif tag <= 0x8f:
			value = _read_map(tag & 0x0f, depth)
		elif tag <= 0x9f:
			value = _read_array(tag & 0x0f, depth)
		elif tag <= 0xbf:
			value = _read_str(tag & 0x1f)
		else:
			value = _read_tagged(tag, depth)
		return value

	func _read_tagged(tag: int, depth: int) -> Variant:
		var value: Variant = null
		match tag:
			0xc0:
				value = null
			0xc2, 0xc3:
				value = tag == 0xc3
			0xc4, 0xc5, 0xc6:
				value = _read_bin(_read_uint(1 << (tag - 0xc4)))
			0xca, 0xcb:
				value = _read_float(4 if tag == 0xca else 8)
			0xcc, 0xcd, 0xce:
				value = _read_uint(1 << (tag - 0xcc))
			0xcf:
				value = _read_uint(8)
				if value < 0:
					fail("uint64 value above the int64 range")
			0xd0, 0xd1, 0xd2, 0xd3:
				value = _read_int(1 << (tag - 0xd0))
			0xd9, 0xda, 0xdb:
				value = _read_str(_read_uint(1 << (tag - 0xd9)))
			0xdc, 0xdd:
				value = _read_array(_read_uint(2 << (tag - 0xdc)), depth)
			0xde, 0xdf:
				value = _read_map(_read_uint(2 << (tag - 0xde)), depth)
			0xc1:
				fail("reserved type byte 0xc1")
			_:
				fail("unsupported ext type byte 0x%02x" % tag)
		return value

	func _has(count: int) -> bool:
		return count >= 0 and pos + count <= bytes.size()

	## Big-endian unsigned read; an 8-byte value above int64 comes back negative.
	func _read_uint(width: int) -> int:
		if not _has(width):
			fail("unexpected end of input")
			return 0
		var value := 0
		for i: int in width:
			value = (value << 8) | bytes[pos + i]
		pos += width
		return value

	func _read_int(width: int) -> int:
		var value := _read_uint(width)
		if width < 8 and value >= 1 << (8 * width - 1):
			value -= 1 << (8 * width)
		return value

	func _read_float(width: int) -> float:
		if not _has(width):
			fail("unexpected end of input")
			return 0.0
		var raw := bytes.slice(pos, pos + width)
		raw.reverse()
		pos += width
		return raw.decode_float(0) if width == 4 else raw.decode_double(0)

	func _read_bin(size: int) -> PackedByteArray:
		if not error.is_empty() or not _has(size):
			fail("bin longer than the input")
			return PackedByteArray()
		var data := bytes.slice(pos, pos + size)
		pos += size
		return data

	func _read_str(size: int) -> String:
		var raw := _read_bin(size)
		if not error.is_empty():
			return ""
		if not _is_utf8(raw):
			fail("str is not valid UTF-8")
			return ""
		return raw.get_string_from_utf8()

	func _read_array(size: int, depth: int) -> Array:
		var items: Array = []
		# Each element takes at least one byte: reject impossible counts before looping.
		if not error.is_empty() or not _has(size):
			fail("array longer than the input")
			return items
		for i: int in size:
			items.append(read_value(depth + 1))
			if not error.is_empty():
				return []
		return items

	func _read_map(size: int, depth: int) -> Dictionary:
		var map := {}
		if not error.is_empty() or not _has(2 * size):
			fail("map longer than the input")
			return map
		for i: int in size:
			var key: Variant = read_value(depth + 1)
			var value: Variant = read_value(depth + 1)
			if not error.is_empty():
				return {}
			map[key] = value
		return map

	## Strict UTF-8 check (no overlongs, surrogates or code points above U+10FFFF), so bad
	## bytes give a clean error instead of an engine parse error and a mangled string.
	static func _is_utf8(raw: PackedByteArray) -> bool:
		var i := 0
		var size := raw.size()
		while i < size:
			var lead := raw[i]
			if lead < 0x80:
				i += 1
				continue
			var extra := 0
			var low := 0x80
			var high := 0xbf
			if lead >= 0xc2 and lead <= 0xdf:
				extra = 1
			elif lead >= 0xe0 and lead <= 0xef:
				extra = 2
				if lead == 0xe0:
					low = 0xa0
				elif lead == 0xed:
					high = 0x9f
			elif lead >= 0xf0 and lead <= 0xf4:
				extra = 3
				if lead == 0xf0:
					low = 0x90
				elif lead == 0xf4:
					high = 0x8f
			else:
				return false
			if i + extra >= size:
				return false
			var second := raw[i + 1]
			if second < low or second > high:
				return false
			for k: int in range(2, extra + 1):
				if raw[i + k] < 0x80 or raw[i + k] > 0xbf:
					return false
			i += extra + 1
		return true
