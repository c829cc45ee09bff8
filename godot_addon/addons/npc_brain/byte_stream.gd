extends RefCounted
## A non-blocking, ordered byte pipe that ZMTP runs over.
##
## Implementations: [code]tcp_stream.gd[/code] (StreamPeerTCP, desktop and mobile) and
## [code]websocket_stream.gd[/code] (WebSocketPeer to the sidecar's relay, web exports).
## Nothing here ever blocks: call [method poll] once per frame, then read and write.

enum Status { CONNECTING, OPEN, CLOSED }

## Why the stream closed or could not open, for logs and signals.
var error_message: String = ""


## Starts connecting; [constant OK] means the attempt is under way.
func open() -> Error:
	error_message = "open() is not implemented by this stream"
	return ERR_UNAVAILABLE


## Advances the connection and reports where it stands.
func poll() -> Status:
	return Status.CLOSED


## Everything received since the last call (possibly empty).
func read_available() -> PackedByteArray:
	return PackedByteArray()


## Queues [param _data] for sending; an error means the stream is unusable.
func write(_data: PackedByteArray) -> Error:
	return ERR_UNAVAILABLE


func close() -> void:
	pass
