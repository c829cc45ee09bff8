extends Node
## The ZMTP client over WebSocketPeer and the sidecar's relay, against a real libzmq ROUTER
## that echoes every message and sends heartbeat PINGs (tests/test_godot_zmtp.py).

const Check := preload("res://tests/godot/check.gd")
const ByteStream := preload("res://addons/npc_brain/byte_stream.gd")
const WebSocketStream := preload("res://addons/npc_brain/websocket_stream.gd")
const ZmtpSession := preload("res://addons/npc_brain/zmtp_session.gd")
const ZmtpLink := preload("res://addons/npc_brain/zmtp_link.gd")

var _stream: ByteStream
var _session: ZmtpSession
var _status: ByteStream.Status = ByteStream.Status.CONNECTING
var _messages: Array = []
var _peer_types: Array = []


func run(check: Check) -> void:
	var url := Check.user_arg("url")
	check.is_true(url.begins_with("ws://"), "url argument given: '%s'" % url)
	await _check_session(check, url)
	await _check_link(check, url)
	await _check_link_failures(check)
	check.done()


func _check_session(check: Check, url: String) -> void:
	check.section("session over WebSocketPeer against libzmq")
	_stream = WebSocketStream.new(url)
	_session = ZmtpSession.new()
	_session.handshake_completed.connect(func(kind: String) -> void: _peer_types.append(kind))
	_session.message_received.connect(
			func(frames: Array[PackedByteArray]) -> void: _messages.append(Array(frames)))
	check.equal(_stream.open(), OK, "websocket opening")
	check.is_true(await _pump_until(_session.is_ready, 10.0), "handshake with libzmq")
	check.equal(_peer_types, ["ROUTER"], "peer is a ROUTER")
	check.equal(_session.peer_minor_version, 1, "libzmq speaks ZMTP 3.1")

	var hello: Array[PackedByteArray] = ["hello from godot".to_utf8_buffer()]
	check.is_true(_session.send_message(hello), "send short message")
	check.is_true(await _pump_until(func() -> bool: return _messages.size() >= 1, 5.0),
			"echo of the short message")
	check.equal(_messages.front(), Array(hello), "short message echoed intact")

	var big := PackedByteArray()
	big.resize(100_000)
	big.fill(0x78)
	var parts: Array[PackedByteArray] = ["part one".to_utf8_buffer(), PackedByteArray(), big]
	check.is_true(_session.send_message(parts), "send multipart with a long frame")
	check.is_true(await _pump_until(func() -> bool: return _messages.size() >= 2, 5.0),
			"echo of the multipart message")
	check.equal(_messages.back(), Array(parts), "multipart message echoed intact")

	# libzmq pings every 200 ms and drops a peer silent for 1 s: stay idle for 2 s.
	var pings_before := _session.pings_answered
	await _pump_until(func() -> bool: return false, 2.0)
	check.is_true(_session.pings_answered - pings_before >= 3,
			"answered %d heartbeat PINGs" % (_session.pings_answered - pings_before))
	check.equal(_status, ByteStream.Status.OPEN, "still connected after idling")
	check.equal(_session.send_ping(0, PackedByteArray()), true, "ping libzmq")
	check.is_true(await _pump_until(func() -> bool: return _session.pongs_received >= 1, 5.0),
			"libzmq answered our PING with PONG")
	var again: Array[PackedByteArray] = ["still here".to_utf8_buffer()]
	_session.send_message(again)
	check.is_true(await _pump_until(func() -> bool: return _messages.size() >= 3, 5.0),
			"echo after the idle period")
	_stream.close()


func _check_link(check: Check, url: String) -> void:
	check.section("ZmtpLink chooses WebSocketPeer for ws://")
	var link := ZmtpLink.new()
	var payloads: Array = []
	link.payload_received.connect(func(payload: PackedByteArray) -> void: payloads.append(payload))
	link.open(url)
	check.is_true(await _poll_until(link, link.is_ready, 10.0), "link ready")
	check.is_true(link.send("ping via link".to_utf8_buffer()), "link send")
	check.is_true(await _poll_until(link, func() -> bool: return payloads.size() == 1, 5.0),
			"link received the echo")
	check.equal(payloads, ["ping via link".to_utf8_buffer()], "link payload intact")
	link.close()
	check.equal(link.state, ZmtpLink.State.CLOSED, "link closed")


func _check_link_failures(check: Check) -> void:
	check.section("link failures are reported, never thrown")
	# tcp:// is valid but StreamPeerTCP cannot connect from a browser: it must fail cleanly.
	for address: String in ["nonsense", "tcp://127.0.0.1", "udp://127.0.0.1:5555",
			"ws://127.0.0.1:1/", "tcp://127.0.0.1:5555"]:
		var link := ZmtpLink.new()
		var reasons: Array = []
		link.closed.connect(func(reason: String) -> void: reasons.append(reason))
		link.open(address)
		var closed := func() -> bool: return link.state == ZmtpLink.State.CLOSED
		check.is_true(await _poll_until(link, closed, 10.0), "%s: closed" % address)
		check.equal(reasons.size(), 1, "%s: one closed signal" % address)
		print("  %s -> %s" % [address, reasons])
	check.is_true(ZmtpLink.stream_for("tcp://127.0.0.1:5555") != null, "tcp address parses")
	check.is_true(ZmtpLink.stream_for("ws://[::1]:5556/relay") != null, "ws IPv6 parses")
	check.is_true(ZmtpLink.stream_for("tcp://:5555") == null, "tcp without host rejected")
	check.is_true(ZmtpLink.stream_for("ws://host:99999") == null, "bad port rejected")


## Pumps bytes between the stream and the session each frame until [param done] is true.
func _pump_until(done: Callable, timeout_s: float) -> bool:
	var deadline := Time.get_ticks_msec() + int(timeout_s * 1000.0)
	while Time.get_ticks_msec() < deadline:
		await get_tree().process_frame
		_status = _stream.poll()
		if _status == ByteStream.Status.OPEN and _session.phase == ZmtpSession.Phase.IDLE:
			_session.start()
		_session.feed(_stream.read_available())
		var out := _session.take_output()
		if not out.is_empty():
			_stream.write(out)
		if _status == ByteStream.Status.CLOSED:
			print("stream closed: ", _stream.error_message)
			return done.call()
		if done.call():
			return true
	return false


func _poll_until(link: ZmtpLink, done: Callable, timeout_s: float) -> bool:
	var deadline := Time.get_ticks_msec() + int(timeout_s * 1000.0)
	while Time.get_ticks_msec() < deadline:
		await get_tree().process_frame
		link.poll()
		if done.call():
			return true
	return false
