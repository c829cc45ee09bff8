extends Node
## ZMTP session framing against byte vectors built from the spec (tests/test_godot_zmtp.py).

const Check := preload("res://tests/godot/check.gd")
const Vectors := preload("res://tests/generated/zmtp_vectors.gd")
const ZmtpSession := preload("res://addons/npc_brain/zmtp_session.gd")

var _v: Dictionary = {}


func run(check: Check) -> void:
	_v = Vectors.bytes()
	_check_encoders(check)
	for bytewise: bool in [false, true]:
		_check_handshake_and_messages(check, bytewise)
	_check_ping(check)
	_check_sending(check)
	_check_failures(check)
	check.done()


func _check_encoders(check: Check) -> void:
	check.section("encoders")
	check.equal(ZmtpSession.greeting(), _v.our_greeting, "greeting")
	var props := {"Socket-Type": "DEALER".to_ascii_buffer()}
	check.equal(ZmtpSession.encode_ready(props), _v.our_ready, "READY")
	check.equal(ZmtpSession.encode_frame("hello".to_ascii_buffer(), false, false),
			_v.short_message, "short frame")
	check.equal(ZmtpSession.encode_frame(_v.long_body, false, false), _v.long_message,
			"long frame")
	var decoded: Variant = ZmtpSession.decode_properties(
			(_v.peer_ready as PackedByteArray).slice(8))
	check.equal(decoded, {"Socket-Type": "ROUTER".to_ascii_buffer(),
			"Identity": PackedByteArray()}, "READY properties")


func _check_handshake_and_messages(check: Check, bytewise: bool) -> void:
	check.section("handshake and messages, fed %s" % ("byte by byte" if bytewise else "whole"))
	var session := ZmtpSession.new()
	var log := _Recorder.new(session)
	session.start()
	check.equal(session.take_output(), _v.our_greeting, "greeting sent first")
	_feed(session, _v.peer_greeting, bytewise)
	check.equal(session.take_output(), _v.our_ready, "READY sent after the peer's greeting")
	check.equal(session.peer_minor_version, 1, "peer speaks 3.1")
	check.equal(session.is_ready(), false, "not ready before the peer's READY")
	_feed(session, _v.peer_ready, bytewise)
	check.equal(log.peer_types, ["ROUTER"], "handshake completed with the ROUTER")
	check.equal(session.is_ready(), true, "ready")
	var stream := PackedByteArray()
	for key: String in ["short_message", "subscribe_command", "long_message",
			"multipart_message"]:
		stream.append_array(_v[key])
	_feed(session, stream, bytewise)
	check.equal(log.messages.size(), 3, "three messages (the command is skipped)")
	if log.messages.size() == 3:
		check.equal(log.messages[0], ["hello".to_ascii_buffer()], "short message")
		check.equal(log.messages[1], [_v.long_body], "long message")
		check.equal(log.messages[2], ["a".to_ascii_buffer(), PackedByteArray(),
				"xyz".to_ascii_buffer()], "multipart message")
	check.equal(log.failures, [], "no failure")
	check.equal(session.take_output(), PackedByteArray(), "nothing else sent")


func _check_ping(check: Check) -> void:
	check.section("PING is answered with PONG")
	var session := _ready_session(_v.peer_greeting)
	session.feed(_v.ping)
	check.equal(session.take_output(), _v.pong, "PONG echoes the context")
	session.feed(_v.ping_long_context)
	check.equal(session.take_output(), _v.pong_long_context, "16-byte context")
	check.equal(session.pings_answered, 2, "pings answered")
	session.feed(_v.pong)
	check.equal(session.pongs_received, 1, "PONG counted")
	check.equal(session.take_output(), PackedByteArray(), "nothing sent for a PONG")
	check.equal(session.send_ping(0, PackedByteArray()), true, "3.1 peer may be pinged")
	var ping_out := session.take_output()
	check.equal(ping_out.slice(0, 7), PackedByteArray([0x04, 7, 4, 80, 73, 78, 71]),
			"PING command header")
	var old_peer := _ready_session(_v.peer_greeting_30)
	check.equal(old_peer.peer_minor_version, 0, "3.0 peer detected")
	check.equal(old_peer.send_ping(0, PackedByteArray()), false, "3.0 peers are not pinged")


func _check_sending(check: Check) -> void:
	check.section("sending")
	var idle := ZmtpSession.new()
	var frames: Array[PackedByteArray] = ["hello".to_ascii_buffer()]
	check.equal(idle.send_message(frames), false, "no sending before the handshake")
	var session := _ready_session(_v.peer_greeting)
	check.equal(session.send_message(frames), true, "send short")
	check.equal(session.take_output(), _v.short_message, "short frame bytes")
	var long_frames: Array[PackedByteArray] = [_v.long_body]
	session.send_message(long_frames)
	check.equal(session.take_output(), _v.long_message, "long frame bytes")
	var parts: Array[PackedByteArray] = ["a".to_ascii_buffer(), PackedByteArray(),
			"xyz".to_ascii_buffer()]
	session.send_message(parts)
	check.equal(session.take_output(), _v.multipart_message, "multipart bytes")


func _check_failures(check: Check) -> void:
	check.section("protocol violations fail once and stop the session")
	var greeted: PackedByteArray = _v.peer_greeting
	var handshaken := greeted.duplicate()
	handshaken.append_array(_v.peer_ready)
	var cases := [
		["not ZMTP", PackedByteArray(), _v.http_response, "signature"],
		["ZMTP 2", PackedByteArray(), _v.greeting_v2, "3.0 or later"],
		["PLAIN security", PackedByteArray(), _v.greeting_plain, "PLAIN"],
		["PUB peer", greeted, _v.ready_pub, "PUB"],
		["malformed READY", greeted, _v.ready_malformed, "malformed READY"],
		["message before READY", greeted, _v.short_message, "before the handshake"],
		["reserved flag bits", handshaken, _v.reserved_flags, "reserved"],
		["MORE on a command", handshaken, _v.more_on_command, "MORE"],
		["oversized frame", handshaken, _v.huge_frame_header, "limit"],
		["peer ERROR", handshaken, _v.error_command, "oops"],
	]
	for case: Array in cases:
		var session := ZmtpSession.new()
		var log := _Recorder.new(session)
		session.start()
		session.feed(case[1])
		session.feed(case[2])
		session.feed(_v.short_message)
		check.equal(log.failures.size(), 1, "%s: one failure" % case[0])
		if log.failures.size() == 1:
			check.is_true(String(log.failures[0]).contains(case[3]),
					"%s: reason '%s' mentions '%s'" % [case[0], log.failures[0], case[3]])
		check.equal(session.phase, ZmtpSession.Phase.FAILED, "%s: session failed" % case[0])
		check.equal(log.messages.size(), 0, "%s: no message after failing" % case[0])


func _ready_session(peer_greeting: PackedByteArray) -> ZmtpSession:
	var session := ZmtpSession.new()
	session.start()
	session.feed(peer_greeting)
	session.feed(_v.peer_ready)
	session.take_output()
	return session


static func _feed(session: ZmtpSession, data: PackedByteArray, bytewise: bool) -> void:
	if not bytewise:
		session.feed(data)
		return
	for i: int in data.size():
		session.feed(data.slice(i, i + 1))


## Records what a session emits.
class _Recorder:
	extends RefCounted

	var peer_types: Array = []
	var messages: Array = []
	var failures: Array = []

	func _init(session: ZmtpSession) -> void:
		session.handshake_completed.connect(func(kind: String) -> void: peer_types.append(kind))
		session.message_received.connect(_on_message)
		session.failed.connect(func(reason: String) -> void: failures.append(reason))

	func _on_message(frames: Array[PackedByteArray]) -> void:
		messages.append(Array(frames))
