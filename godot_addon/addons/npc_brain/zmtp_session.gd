extends RefCounted
## ZMTP 3.1 DEALER session with NULL security, independent of any socket.
##
## Feed it the bytes that arrive with [method feed], send what [method take_output] returns,
## and it emits [signal handshake_completed] and [signal message_received]. It speaks the
## greeting, the READY handshake with [code]Socket-Type[/code], short and long frames,
## multipart messages and answers PING with PONG (RFC 37, ZMTP 3.1; 3.0 peers work too).
## Any protocol violation emits [signal failed] once and the session stops.

## The peer's greeting and READY were accepted; messages may flow.
signal handshake_completed(peer_socket_type: String)
## One complete (possibly multipart) message arrived.
signal message_received(frames: Array[PackedByteArray])
## The peer broke the protocol or sent ERROR; the session is dead.
signal failed(reason: String)

enum Phase { IDLE, GREETING, HANDSHAKE, READY, FAILED }

const SOCKET_TYPE := "DEALER"
## Socket types a DEALER may talk to (RFC 28).
const COMPATIBLE_PEERS: Array[String] = ["ROUTER", "DEALER", "REP"]
const GREETING_SIZE := 64
const FLAG_MORE := 0x01
const FLAG_LONG := 0x02
const FLAG_COMMAND := 0x04
const FLAG_RESERVED := 0xf8
## Largest frame accepted; guards memory against a broken or hostile peer.
const MAX_FRAME_BYTES := 16 * 1024 * 1024

var phase: Phase = Phase.IDLE
## Minor version from the peer's greeting (1 = ZMTP 3.1, which knows PING).
var peer_minor_version: int = 0
var failure: String = ""
## PINGs answered with PONG so far (diagnostics and tests).
var pings_answered: int = 0
## PONGs received for our PINGs so far.
var pongs_received: int = 0

var _inbox := PackedByteArray()
var _read_pos: int = 0
var _outbox := PackedByteArray()
var _parts: Array[PackedByteArray] = []


## The 64-byte greeting: signature, version 3.1, mechanism NULL, as-server 0, filler.
static func greeting() -> PackedByteArray:
	var out := PackedByteArray([0xff, 0, 0, 0, 0, 0, 0, 0, 1, 0x7f, 3, 1])
	out.append_array("NULL".to_ascii_buffer())
	out.resize(GREETING_SIZE)
	return out


## One frame: flags, 1- or 8-byte big-endian size, body.
static func encode_frame(body: PackedByteArray, more: bool, command: bool) -> PackedByteArray:
	var flags := (FLAG_MORE if more else 0) | (FLAG_COMMAND if command else 0)
	var out := PackedByteArray()
	if body.size() > 255:
		out.append(flags | FLAG_LONG)
		for shift: int in range(56, -8, -8):
			out.append((body.size() >> shift) & 0xff)
	else:
		out.append(flags)
		out.append(body.size())
	out.append_array(body)
	return out


## A command frame: name length, name, data.
static func encode_command(command_name: String, data: PackedByteArray) -> PackedByteArray:
	var body := PackedByteArray([command_name.length()])
	body.append_array(command_name.to_ascii_buffer())
	body.append_array(data)
	return encode_frame(body, false, true)


## READY with the given properties (name -> value bytes), in the order given.
static func encode_ready(properties: Dictionary) -> PackedByteArray:
	var data := PackedByteArray()
	for key: String in properties:
		var value: PackedByteArray = properties[key]
		data.append(key.length())
		data.append_array(key.to_ascii_buffer())
		for shift: int in [24, 16, 8, 0]:
			data.append((value.size() >> shift) & 0xff)
		data.append_array(value)
	return encode_command("READY", data)


## Parses READY/metadata properties; returns null when they are malformed.
static func decode_properties(data: PackedByteArray) -> Variant:
	var properties := {}
	var pos := 0
	while pos < data.size():
		var name_size := data[pos]
		var value_at := pos + 1 + name_size + 4
		if name_size == 0 or value_at > data.size():
			return null
		var key := data.slice(pos + 1, pos + 1 + name_size).get_string_from_ascii()
		var value_size := 0
		for i: int in range(value_at - 4, value_at):
			value_size = (value_size << 8) | data[i]
		if value_at + value_size > data.size():
			return null
		properties[key] = data.slice(value_at, value_at + value_size)
		pos = value_at + value_size
	return properties


## Queues the greeting; call once, right after the byte stream opened.
func start() -> void:
	if phase == Phase.IDLE:
		phase = Phase.GREETING
		_outbox.append_array(greeting())


func is_ready() -> bool:
	return phase == Phase.READY


## Consumes bytes from the peer, emitting signals for what they complete.
func feed(data: PackedByteArray) -> void:
	if phase == Phase.IDLE or phase == Phase.FAILED:
		return
	_inbox.append_array(data)
	if phase == Phase.GREETING:
		_read_greeting()
	while phase == Phase.HANDSHAKE or phase == Phase.READY:
		if not _read_frame():
			break
	# Drop consumed bytes now and then rather than after every frame.
	if _read_pos > 65536 or _read_pos == _inbox.size():
		_inbox = _inbox.slice(_read_pos)
		_read_pos = 0


## Queues one message (one frame per part). Returns false unless the session is ready.
func send_message(frames: Array[PackedByteArray]) -> bool:
	if phase != Phase.READY or frames.is_empty():
		return false
	for i: int in frames.size():
		_outbox.append_array(encode_frame(frames[i], i < frames.size() - 1, false))
	return true


## Queues a PING (ZMTP 3.1 peers only); any traffic back shows the peer is alive.
func send_ping(ttl_deciseconds: int = 0, context := PackedByteArray()) -> bool:
	if phase != Phase.READY or peer_minor_version < 1:
		return false
	var data := PackedByteArray([(ttl_deciseconds >> 8) & 0xff, ttl_deciseconds & 0xff])
	data.append_array(context)
	_outbox.append_array(encode_command("PING", data))
	return true


## Bytes to write to the stream, removed from the session.
func take_output() -> PackedByteArray:
	var out := _outbox
	_outbox = PackedByteArray()
	return out


func _available() -> int:
	return _inbox.size() - _read_pos


func _fail(reason: String) -> void:
	if phase == Phase.FAILED:
		return
	phase = Phase.FAILED
	failure = reason
	_inbox = PackedByteArray()
	_read_pos = 0
	failed.emit(reason)


func _read_greeting() -> void:
	# The signature alone already tells a ZMTP peer from anything else.
	if _available() >= 10 and (_inbox[0] != 0xff or (_inbox[9] & 0x01) == 0):
		_fail("peer is not speaking ZMTP (bad greeting signature)")
		return
	if _available() < GREETING_SIZE:
		return
	var greet := _inbox.slice(0, GREETING_SIZE)
	_read_pos = GREETING_SIZE
	if greet[10] < 3:
		_fail("peer speaks ZMTP %d.%d; 3.0 or later is required" % [greet[10], greet[11]])
		return
	var mechanism := greet.slice(12, 32).get_string_from_ascii()
	if mechanism != "NULL":
		_fail("peer wants security mechanism '%s'; only NULL is supported" % mechanism)
		return
	peer_minor_version = greet[11] if greet[10] == 3 else 1
	phase = Phase.HANDSHAKE
	_outbox.append_array(encode_ready({"Socket-Type": SOCKET_TYPE.to_ascii_buffer()}))


## Reads one frame if complete; returns false when more bytes are needed or on failure.
func _read_frame() -> bool:
	var header := _header_size()
	if header == 0:
		return false
	var flags := _inbox[_read_pos]
	var size := _read_be(_read_pos + 1, header - 1)
	if size < 0 or size > MAX_FRAME_BYTES:
		_fail("frame of %d bytes exceeds the %d byte limit" % [size, MAX_FRAME_BYTES])
		return false
	if _available() < header + size:
		return false
	var body := _inbox.slice(_read_pos + header, _read_pos + header + size)
	_read_pos += header + size
	if flags & FLAG_COMMAND:
		if flags & FLAG_MORE:
			_fail("command frame with the MORE flag")
		else:
			_on_command(body)
	elif phase != Phase.READY:
		_fail("message frame before the handshake finished")
	else:
		_on_message_frame(body, (flags & FLAG_MORE) != 0)
	return phase != Phase.FAILED


## Size of the next frame's header (flags + size field) once it is all here, else 0.
func _header_size() -> int:
	if _available() < 1:
		return 0
	var flags := _inbox[_read_pos]
	if flags & FLAG_RESERVED:
		_fail("frame flags 0x%02x use reserved bits" % flags)
		return 0
	var header := 9 if flags & FLAG_LONG else 2
	return header if _available() >= header else 0


## Big-endian unsigned integer of [param width] bytes at [param at] in the inbox.
func _read_be(at: int, width: int) -> int:
	var value := 0
	for i: int in width:
		value = (value << 8) | _inbox[at + i]
	return value


func _on_command(body: PackedByteArray) -> void:
	if body.is_empty() or body[0] == 0 or body.size() < 1 + body[0]:
		_fail("malformed command frame")
		return
	var command_name := body.slice(1, 1 + body[0]).get_string_from_ascii()
	var data := body.slice(1 + body[0])
	match command_name:
		"READY":
			_on_ready(data)
		"ERROR":
			var reason := data.slice(1, 1 + data[0]).get_string_from_utf8() \
					if data.size() > 0 else ""
			_fail("peer sent ERROR: %s" % reason)
		"PING":
			if phase == Phase.READY and data.size() >= 2:
				_outbox.append_array(encode_command("PONG", data.slice(2, 2 + 16)))
				pings_answered += 1
		"PONG":
			pongs_received += 1
		_:
			pass  # commands a DEALER has no use for (SUBSCRIBE, CANCEL...)


func _on_ready(data: PackedByteArray) -> void:
	if phase != Phase.HANDSHAKE:
		_fail("unexpected READY after the handshake")
		return
	var properties: Variant = decode_properties(data)
	if properties == null:
		_fail("malformed READY properties")
		return
	var socket_type: String = (properties as Dictionary).get(
			"Socket-Type", PackedByteArray()).get_string_from_ascii()
	if socket_type not in COMPATIBLE_PEERS:
		_fail("a DEALER cannot talk to a '%s' socket" % socket_type)
		return
	phase = Phase.READY
	handshake_completed.emit(socket_type)


func _on_message_frame(body: PackedByteArray, more: bool) -> void:
	_parts.append(body)
	if more:
		return
	var frames := _parts
	_parts = []
	message_received.emit(frames)
