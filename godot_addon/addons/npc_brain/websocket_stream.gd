extends "byte_stream.gd"
## [code]ws://host:port[/code] (or wss://) through [WebSocketPeer], for web exports.
##
## The sidecar's relay ([code]npc-brain serve --ws[/code]) pipes raw ZMTP bytes inside binary
## WebSocket messages; message boundaries mean nothing, the bytes are one stream.

## Generous buffers: one engine step can release many events at once.
const BUFFER_BYTES := 1 << 20
const MAX_QUEUED_PACKETS := 4096

## Sent as the first message when the relay requires a token ([code]--ws-token-file[/code]).
var token: String = ""

var _url: String
var _peer := WebSocketPeer.new()
var _was_open: bool = false


func _init(url: String) -> void:
	_url = url
	_peer.inbound_buffer_size = BUFFER_BYTES
	_peer.outbound_buffer_size = BUFFER_BYTES
	_peer.max_queued_packets = MAX_QUEUED_PACKETS


func open() -> Error:
	var err := _peer.connect_to_url(_url)
	if err != OK:
		error_message = "cannot open %s (%s)" % [_url, error_string(err)]
	return err


func poll() -> Status:
	_peer.poll()
	match _peer.get_ready_state():
		WebSocketPeer.STATE_CONNECTING:
			return Status.CONNECTING
		WebSocketPeer.STATE_OPEN:
			if not _was_open and not token.is_empty():
				_peer.send_text(token)  # before any ZMTP byte, as the relay expects
			_was_open = true
			return Status.OPEN if error_message.is_empty() else Status.CLOSED
	if error_message.is_empty():
		var code := _peer.get_close_code()
		error_message = "%s %s (code %d%s)" % [
			_url, "closed" if _was_open else "refused or failed", code,
			", " + _peer.get_close_reason() if not _peer.get_close_reason().is_empty() else ""]
	return Status.CLOSED


func read_available() -> PackedByteArray:
	var out := PackedByteArray()
	while _peer.get_available_packet_count() > 0:
		var packet := _peer.get_packet()
		if _peer.was_string_packet():
			error_message = "the relay sent a text message; it must send binary ZMTP bytes"
			_peer.close(1003, "binary messages only")
			break
		out.append_array(packet)
	return out


func write(data: PackedByteArray) -> Error:
	if not error_message.is_empty():
		return ERR_CONNECTION_ERROR
	var err := _peer.send(data, WebSocketPeer.WRITE_MODE_BINARY)
	if err != OK:
		error_message = "send failed: %s" % error_string(err)
	return err


func close() -> void:
	_peer.close()
