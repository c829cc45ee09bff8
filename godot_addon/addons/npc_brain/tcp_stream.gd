extends "byte_stream.gd"
## [code]tcp://host:port[/code] through [StreamPeerTCP]. Web exports cannot open TCP
## sockets: they use [code]websocket_stream.gd[/code] and the sidecar's relay instead.

var _host: String
var _port: int
var _peer := StreamPeerTCP.new()
## Bytes the kernel has not taken yet; sent on later polls so a write never blocks.
var _unsent := PackedByteArray()
var _connected_once: bool = false


## [param host] should be an IP address: a name is resolved synchronously by the engine.
func _init(host: String, port: int) -> void:
	_host = host
	_port = port


func open() -> Error:
	var err := _peer.connect_to_host(_host, _port)
	if err != OK:
		error_message = "cannot connect to %s:%d (%s)" % [_host, _port, error_string(err)]
	return err


func poll() -> Status:
	_peer.poll()
	match _peer.get_status():
		StreamPeerTCP.STATUS_CONNECTING:
			return Status.CONNECTING
		StreamPeerTCP.STATUS_CONNECTED:
			if not _connected_once:
				_connected_once = true
				_peer.set_no_delay(true)
			_flush()
			return Status.OPEN if error_message.is_empty() else Status.CLOSED
	if error_message.is_empty():
		error_message = "connection to %s:%d %s" % [
			_host, _port, "closed" if _connected_once else "refused or failed"]
	return Status.CLOSED


func read_available() -> PackedByteArray:
	var count := _peer.get_available_bytes()
	if count <= 0:
		return PackedByteArray()
	var result: Array = _peer.get_partial_data(count)
	if result[0] != OK:
		error_message = "read failed: %s" % error_string(result[0])
		return PackedByteArray()
	return result[1]


func write(data: PackedByteArray) -> Error:
	if not error_message.is_empty():
		return ERR_CONNECTION_ERROR
	_unsent.append_array(data)
	_flush()
	return OK if error_message.is_empty() else ERR_CONNECTION_ERROR


func close() -> void:
	_peer.disconnect_from_host()
	_unsent = PackedByteArray()


func _flush() -> void:
	if _unsent.is_empty() or _peer.get_status() != StreamPeerTCP.STATUS_CONNECTED:
		return
	var result: Array = _peer.put_partial_data(_unsent)
	if result[0] != OK:
		error_message = "write failed: %s" % error_string(result[0])
		return
	_unsent = _unsent.slice(result[1])
