extends RefCounted
## One ZMTP DEALER connection to the sidecar over the byte stream its address names.
##
## [code]tcp://host:port[/code] uses StreamPeerTCP, [code]ws://host:port[/path][/code] (and
## wss://) the WebSocket relay. Call [method poll] every frame: it never blocks. A link is used
## once; after [signal closed] make a new one to reconnect.

## The ZMTP handshake finished; [method send] works from now on.
signal opened
## One single-frame message arrived (the npc-brain protocol uses exactly one frame).
signal payload_received(payload: PackedByteArray)
## The link is finished: connect failure, peer gone, protocol error or [method close].
signal closed(reason: String)

enum State { IDLE, CONNECTING, HANDSHAKING, READY, CLOSED }

const ByteStream := preload("byte_stream.gd")
const TcpStream := preload("tcp_stream.gd")
const WebSocketStream := preload("websocket_stream.gd")
const ZmtpSession := preload("zmtp_session.gd")

## Seconds allowed from open() to the end of the handshake.
var connect_timeout: float = 5.0
## Seconds of silence before a PING asks the peer to show it is alive (ZMTP 3.1 peers).
var heartbeat_interval: float = 2.5
## Seconds of silence after which the peer counts as gone (a frozen or half-open link).
var heartbeat_timeout: float = 10.0
## Token for the WebSocket relay (ws:// and wss:// only); empty sends none.
var ws_token: String = ""

var state: State = State.IDLE
var address: String = ""

var _stream: ByteStream
var _session := ZmtpSession.new()
var _opened_at_ms: int = 0
var _last_heard_ms: int = 0
var _last_ping_ms: int = 0


## The byte stream for [param url], or null when it is not tcp://, ws:// or wss://
## with a host and a port.
static func stream_for(url: String) -> ByteStream:
	var scheme := url.get_slice("://", 0).to_lower()
	var rest := url.get_slice("://", 1)
	if not url.contains("://"):
		return null
	if scheme == "ws" or scheme == "wss":
		var authority := rest.get_slice("/", 0)
		return WebSocketStream.new(url) if _port_of(authority) > 0 else null
	if scheme == "tcp" and _port_of(rest) > 0:
		var host := rest.substr(0, rest.rfind(":")).trim_prefix("[").trim_suffix("]")
		return TcpStream.new(host, _port_of(rest)) if not host.is_empty() else null
	return null


static func _port_of(authority: String) -> int:
	var colon := authority.rfind(":")
	if colon <= 0:
		return 0
	var port := authority.substr(colon + 1)
	return port.to_int() if port.is_valid_int() and port.to_int() in range(1, 65536) else 0


## Starts connecting to [param url]; failures are reported through [signal closed].
func open(url: String) -> void:
	if state != State.IDLE:
		return
	address = url
	state = State.CONNECTING
	_opened_at_ms = Time.get_ticks_msec()
	_stream = stream_for(url)
	if _stream == null:
		_finish("invalid address '%s': use tcp://HOST:PORT or ws://HOST:PORT" % url)
		return
	var web_stream := _stream as WebSocketStream
	if web_stream != null:
		web_stream.token = ws_token
	_session.handshake_completed.connect(_on_handshake_completed)
	_session.message_received.connect(_on_message_received)
	_session.failed.connect(_on_session_failed)
	if _stream.open() != OK:
		_finish(_stream.error_message)


func is_ready() -> bool:
	return state == State.READY


## Sends one message frame; false when the link is not ready (nothing was queued).
func send(payload: PackedByteArray) -> bool:
	var frames: Array[PackedByteArray] = [payload]
	if state != State.READY or not _session.send_message(frames):
		return false
	_flush()
	return state == State.READY


## Drives the stream and the session; call once per frame.
func poll() -> void:
	if state == State.IDLE or state == State.CLOSED:
		return
	var status := _stream.poll()
	if status == ByteStream.Status.CONNECTING:
		_check_connect_timeout()
		return
	if state == State.CONNECTING and status == ByteStream.Status.OPEN:
		state = State.HANDSHAKING
		_last_heard_ms = Time.get_ticks_msec()
		_session.start()
	var data := _stream.read_available()
	if not data.is_empty():
		_last_heard_ms = Time.get_ticks_msec()
		_session.feed(data)
	if state == State.CLOSED:
		return
	if status == ByteStream.Status.CLOSED:
		_finish(_stream.error_message)
		return
	_check_connect_timeout()
	_check_heartbeat()
	_flush()


func close(reason: String = "closed by the game") -> void:
	if state != State.IDLE and state != State.CLOSED:
		_finish(reason)


func _flush() -> void:
	var out := _session.take_output()
	if not out.is_empty() and _stream.write(out) != OK:
		_finish(_stream.error_message)


func _check_connect_timeout() -> void:
	var waited := Time.get_ticks_msec() - _opened_at_ms
	if state != State.READY and waited > int(connect_timeout * 1000.0):
		_finish("no ZMTP handshake with %s within %.1f s" % [address, connect_timeout])


func _check_heartbeat() -> void:
	if state != State.READY:
		return
	var now := Time.get_ticks_msec()
	var silent := now - _last_heard_ms
	if silent > int(heartbeat_timeout * 1000.0) and _session.peer_minor_version >= 1:
		_finish("the sidecar stopped answering (%.1f s silent)" % (silent / 1000.0))
	elif silent > int(heartbeat_interval * 1000.0) \
			and now - _last_ping_ms > int(heartbeat_interval * 1000.0):
		_last_ping_ms = now
		# TTL 0: a TTL would make libzmq drop us if we stay quiet while it streams to us.
		_session.send_ping(0)


func _finish(reason: String) -> void:
	if state == State.CLOSED:
		return
	state = State.CLOSED
	if _stream != null:
		_stream.close()
	closed.emit(reason if not reason.is_empty() else "connection closed")


func _on_handshake_completed(_peer_socket_type: String) -> void:
	state = State.READY
	opened.emit()


func _on_message_received(frames: Array[PackedByteArray]) -> void:
	if frames.size() != 1:
		push_warning("NPCBrain: ignoring a %d-frame message from %s" % [frames.size(), address])
		return
	payload_received.emit(frames[0])


func _on_session_failed(reason: String) -> void:
	_finish("ZMTP error from %s: %s" % [address, reason])
