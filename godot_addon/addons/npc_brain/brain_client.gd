extends Node
## The [code]NPCBrain[/code] autoload: the game's one connection to the npc-brain sidecar.
##
## Registered by the plugin as the autoload [code]NPCBrain[/code]. It connects by itself
## (to [member address], from Project Settings > npc_brain), reconnects with backoff, and turns
## the sidecar's event stream into signals. Most games use [NPCBrainAgent] nodes instead.
## [method decide] returns a request object whose signals carry only that request's events:
## [codeblock]
## var request := NPCBrain.decide(
##     {"id": "bram", "name": "Bram", "role": "guard", "health": 80, "hunger": 20, "energy": 70},
##     ["attack", "flee", "call_for_help"])
## request.step_received.connect(func(i, text): print(text))
## request.finished.connect(func(d): print(d.action, " ", d.target))
## [/codeblock]
## The autoload's own signals below see every request (for logs and tools).
## A failure is also reported once per cause with [method @GlobalScope.push_warning] (the
## sidecar unreachable, a request refused and why), so it shows even when nothing listens.
## An exported desktop game starts the standalone sidecar shipped beside it when nothing answers
## (Project Settings > npc_brain/sidecar/bundled_path) and stops it when the game exits.
## No request is lost silently: one in flight when the link drops is sent again after the
## reconnect (at most [member max_resends] times), and every request ends in exactly one of
## [signal decision_received], [signal answer_received], [signal pong_received] or
## [signal request_failed], unless the game cancels it. After a resend, [signal step_received]
## resumes at the first index not delivered yet. Wire format: docs/protocol.md.
## Failure codes are the sidecar's (docs/protocol.md §6) plus [code]connection_lost[/code],
## [code]timeout[/code], [code]disconnected[/code], [code]encode_failed[/code] and
## [code]too_large[/code] raised here.

## [param state] is a [enum ConnectionState] value.
signal connection_state_changed(state: int)
## The link to the sidecar is up (after each successful connect or reconnect).
signal connected
## The link dropped; reconnecting starts on its own while [member auto_connect] is on.
signal disconnected
## One line of a request's inner monologue; [param index] counts from 0 without gaps.
signal step_received(request_id: String, index: int, text: String)
## The end of a [method request_decision]: [code]action[/code] (the verb as listed),
## [code]target[/code] ("" when none), [code]steps[/code] ([PackedStringArray]),
## [code]raw[/code], [code]tokens[/code], [code]latency_ms[/code].
signal decision_received(request_id: String, decision: Dictionary)
## The end of a [method request_generate]: [code]text[/code], [code]steps[/code],
## [code]raw[/code], [code]tokens[/code], [code]latency_ms[/code].
signal answer_received(request_id: String, answer: Dictionary)
## The reply to [method ping]: [code]protocol[/code], [code]version[/code], [code]model[/code],
## [code]params[/code], queue figures and limits.
signal pong_received(request_id: String, info: Dictionary)
## A request ended without a result; [param code] is stable, [param message] readable.
signal request_failed(request_id: String, code: String, message: String)
## The sidecar rejected a message it could not attribute to any request (no id).
signal server_error_received(code: String, message: String)

enum ConnectionState { DISCONNECTED, CONNECTING, CONNECTED }

const DEFAULT_TCP_ADDRESS := "tcp://127.0.0.1:5555"
const DEFAULT_WEB_ADDRESS := "ws://127.0.0.1:5556"
const MsgPackCodec := preload("msgpack.gd")
const ZmtpLink := preload("zmtp_link.gd")
const BrainRequest := preload("brain_request.gd")
const Settings := preload("settings.gd")
## Prefix of the messages sent to the editor's NPC Brain panel through the debugger.
const DEBUG_CAPTURE := "npc_brain"
## Option keys that cannot be overridden through the [code]options[/code] dictionary.
const RESERVED_KEYS: Array[String] = ["type", "id", "npc", "actions", "prompt"]
## How often one game starts the bundled sidecar again after it stopped answering.
const MAX_SIDECAR_STARTS := 3

## Where the sidecar listens: [code]tcp://host:port[/code] (desktop, mobile) or
## [code]ws://host:port[/code] (its WebSocket relay, the only way out of a web export).
## Changing it reconnects.
var address: String = DEFAULT_WEB_ADDRESS if OS.has_feature("web") else DEFAULT_TCP_ADDRESS:
	set = set_address
## Connect on the first frame and reconnect after every drop.
var auto_connect: bool = true
## First reconnect delay in seconds; doubles after each failed attempt.
var reconnect_min_delay: float = 0.25
## Longest reconnect delay in seconds.
var reconnect_max_delay: float = 5.0
## How often one request may be sent again after the link dropped before it fails with
## [code]connection_lost[/code].
var max_resends: int = 3
## Seconds a request may go without any event (or wait for a connection) before it fails
## with [code]timeout[/code].
var request_timeout: float = 60.0
## Largest request accepted (the sidecar's limit; updated from every pong).
var max_message_bytes: int = 65536
## Token the sidecar's WebSocket relay requires ([code]npc-brain serve --ws-token-file[/code]),
## sent as the first message on ws:// and wss:// links. Empty sends none.
var ws_token: String = ""
## Why the link last closed or failed to open.
var last_error: String = ""
## Temperature of requests whose options set none (Project Settings:
## npc_brain/generation/default_temperature); 0 is greedy.
var default_temperature: float = 0.0
## Report failures with [method @GlobalScope.push_warning], once per cause.
var warnings_enabled: bool = true
## Receives [code](kind: String, data: Dictionary)[/code] for every request, thought, result,
## failure and connection change. By default, while the game runs from the editor, it sends
## them to the editor's NPC Brain panel; an empty Callable turns that off.
var debug_sink: Callable

var _state: ConnectionState = ConnectionState.DISCONNECTED
var _link: ZmtpLink
var _pending: Dictionary = {}
var _id_prefix: String = "%06x" % (randi() & 0xffffff)
var _id_counter: int = 0
var _failed_attempts: int = 0
var _next_attempt_ms: int = 0
var _warned: Dictionary = {}
var _sidecar_pid: int = -1
var _sidecar_starts: int = 0


func _init() -> void:
	process_mode = Node.PROCESS_MODE_ALWAYS
	apply_project_settings()
	if EngineDebugger.is_active() and Settings.value(Settings.SEND_TO_EDITOR):
		debug_sink = _send_to_editor


func _process(_delta: float) -> void:
	var now := Time.get_ticks_msec()
	if _link != null:
		_link.poll()
	elif auto_connect and now >= _next_attempt_ms:
		_open_link()
	_expire_requests(now)


func _exit_tree() -> void:
	if _link != null:
		_link.close("the game is closing")
	# A bundled sidecar started here stops by itself once this process has exited (--exit-with):
	# OS.kill would end only the launcher of a one-file build, leaving its server running.


## Asks the sidecar to choose one of [param actions] for the NPC described by [param npc]
## (docs/protocol.md §8: id and name required; role, traits, health, hunger, energy,
## gold, perception, inventory... optional, and left out when unknown). [param options]
## may hold [code]aliases[/code], [code]temperature[/code], [code]top_k[/code],
## [code]seed[/code], [code]max_tokens[/code], [code]max_steps[/code]. Returns the request
## id used by every signal about it.
func request_decision(npc: Dictionary, actions: Array, options: Dictionary = {}) -> String:
	return decide(npc, actions, options).id


## As [method request_decision], but returns the request itself: its signals
## ([code]step_received[/code], [code]finished[/code], [code]failed[/code]) carry this
## request's events only, so each NPC hears its own thoughts and nobody else's.
func decide(npc: Dictionary, actions: Array, options: Dictionary = {}) -> BrainRequest:
	return _submit({"type": "decide", "id": "", "npc": npc, "actions": actions}, options)


## Free reasoning on a raw instruction such as [code]"What is 17 + 25?"[/code]; ends with
## [signal answer_received]. [param options] as for [method request_decision], minus aliases.
func request_generate(prompt: String, options: Dictionary = {}) -> String:
	return _submit({"type": "generate", "id": "", "prompt": prompt}, options).id


## Liveness check; ends with [signal pong_received] carrying the sidecar's facts.
func ping() -> String:
	return _submit({"type": "ping", "id": ""}, {}).id


## Stops a request; no further signal is emitted for it. Returns false for an unknown id.
func cancel(request_id: String) -> bool:
	var request: BrainRequest = _pending.get(request_id)
	if request == null:
		return false
	_pending.erase(request_id)
	request.done = true
	_debug("cancelled", {"id": request_id})
	if request.sent and _link != null and _link.is_ready():
		_link.send(MsgPackCodec.encode({"type": "cancel", "id": request_id}))
	return true


func cancel_all() -> void:
	for request_id: String in _pending.keys():
		cancel(request_id)


## The request object of a pending [param request_id], or null.
func get_request(request_id: String) -> BrainRequest:
	return _pending.get(request_id)


## True while [param request_id] waits for its final event.
func is_pending(request_id: String) -> bool:
	return _pending.has(request_id)


func pending_count() -> int:
	return _pending.size()


## The current [enum ConnectionState].
func get_connection_state() -> ConnectionState:
	return _state


func is_brain_connected() -> bool:
	return _state == ConnectionState.CONNECTED


## Connects now (to [param new_address] if given) and keeps reconnecting.
func connect_to_brain(new_address: String = "") -> void:
	auto_connect = true
	_failed_attempts = 0
	_next_attempt_ms = 0
	if not new_address.is_empty() and new_address != address:
		address = new_address
	elif _link == null:
		_open_link()


## Closes the link and stops reconnecting; requests still waiting fail with
## [code]disconnected[/code].
func disconnect_from_brain() -> void:
	auto_connect = false
	if _link != null:
		_link.close("disconnect_from_brain() was called")
	for request: BrainRequest in _pending.values():
		_fail(request, "disconnected", "disconnect_from_brain() was called")


func set_address(value: String) -> void:
	if value == address:
		return
	address = value
	if _link != null:
		_link.close("address changed to %s" % value)
	_failed_attempts = 0
	_next_attempt_ms = 0


## Reads Project Settings > npc_brain (the plugin registers them; defaults when absent).
func apply_project_settings() -> void:
	var key := Settings.WEB_ADDRESS if OS.has_feature("web") else Settings.ADDRESS
	var configured := str(Settings.value(key))
	if not configured.is_empty():
		address = configured
	auto_connect = Settings.value(Settings.AUTO_CONNECT)
	request_timeout = Settings.value(Settings.REQUEST_TIMEOUT)
	default_temperature = Settings.value(Settings.DEFAULT_TEMPERATURE)
	warnings_enabled = Settings.value(Settings.WARNINGS)


func _submit(message: Dictionary, options: Dictionary) -> BrainRequest:
	_id_counter += 1
	var request_id := "%s-%d" % [_id_prefix, _id_counter]
	message["id"] = request_id
	for key: Variant in options:
		if str(key) not in RESERVED_KEYS:
			message[key] = options[key]
	if message.type != "ping" and default_temperature > 0.0 and not message.has("temperature"):
		message["temperature"] = default_temperature
	var payload := MsgPackCodec.encode(message)
	var request := BrainRequest.new(request_id, message["type"], message, payload)
	_debug("request", {"id": request_id, "kind": request.kind, "npc_id": request.npc_id(),
			"message": message})
	if payload.is_empty():
		_fail_soon(request, "encode_failed",
				"the request holds a value msgpack cannot carry (an Object or Callable?)")
	elif payload.size() > max_message_bytes:
		_fail_soon(request, "too_large",
				"request is %d bytes; the sidecar accepts %d" % [payload.size(), max_message_bytes])
	else:
		request.deadline_ms = Time.get_ticks_msec() + int(request_timeout * 1000.0)
		_pending[request_id] = request
		_send(request)
	return request


## Failing before the caller even has the request would be unobservable: fail on the next idle.
func _fail_soon(request: BrainRequest, code: String, message: String) -> void:
	_end_with_failure.call_deferred(request, code, message)


func _send(request: BrainRequest) -> void:
	if _link != null and _link.is_ready() and _link.send(request.payload):
		request.sent = true
		request.deadline_ms = Time.get_ticks_msec() + int(request_timeout * 1000.0)


func _open_link() -> void:
	_link = ZmtpLink.new()
	_link.ws_token = ws_token
	_link.opened.connect(_on_link_opened)
	_link.closed.connect(_on_link_closed.bind(_link))
	_link.payload_received.connect(_on_payload_received)
	_set_state(ConnectionState.CONNECTING)
	_link.open(address)


func _set_state(value: ConnectionState) -> void:
	if value != _state:
		_state = value
		_debug("state", {"state": value, "address": address, "error": last_error})
		connection_state_changed.emit(value)


func _on_link_opened() -> void:
	_failed_attempts = 0
	last_error = ""
	_warned.erase("unreachable")  # the next outage is a new cause
	_set_state(ConnectionState.CONNECTED)
	connected.emit()
	for request: BrainRequest in _pending.values():
		if not request.sent:
			_send(request)


func _on_link_closed(reason: String, link: ZmtpLink) -> void:
	if link != _link:
		return
	_link = null
	last_error = reason
	var was_connected := _state == ConnectionState.CONNECTED
	var starting := not was_connected and _start_bundled_sidecar()
	if not was_connected and auto_connect and not starting:
		_warn_once("unreachable", "cannot reach the sidecar at %s (%s); start it with " % [
			address, reason] + "`npc-brain serve`, or check Project Settings > npc_brain")
	for request: BrainRequest in _pending.values():
		if request.sent:
			_resend_later(request, reason)
	var delay := minf(reconnect_max_delay, reconnect_min_delay * pow(2.0, _failed_attempts))
	_failed_attempts = mini(_failed_attempts + 1, 30)
	_next_attempt_ms = Time.get_ticks_msec() + int(delay * randf_range(0.8, 1.0) * 1000.0)
	_set_state(ConnectionState.DISCONNECTED)
	if was_connected:
		disconnected.emit()


## In an exported desktop game with nothing answering at a tcp:// address, starts the bundled
## sidecar unless one started here still runs. True while that sidecar runs (it is loading).
func _start_bundled_sidecar() -> bool:
	if _sidecar_pid > 0 and OS.is_process_running(_sidecar_pid):
		return true
	var exported_desktop := (OS.has_feature("template") and OS.has_feature("pc")
			and not OS.has_feature("web"))
	if not exported_desktop or not address.begins_with("tcp://"):
		return false
	var path := Settings.bundled_sidecar_path()
	if path.is_empty() or _sidecar_starts >= MAX_SIDECAR_STARTS or not FileAccess.file_exists(path):
		return false
	_sidecar_starts += 1
	# --exit-with: it also stops by itself once this game has exited, even after a crash.
	var arguments := ["--bind", address, "--quiet", "--exit-with", str(OS.get_process_id())]
	_sidecar_pid = OS.create_process(path, PackedStringArray(arguments))
	if _sidecar_pid <= 0:
		_warn_once("sidecar_start", "could not start the bundled sidecar %s" % path)
		return false
	_failed_attempts = 0  # it loads in a second or two: retry soon
	return true


## The request's reply can no longer come on this link: send it again later, within limits.
func _resend_later(request: BrainRequest, reason: String) -> void:
	request.sent = false
	request.resends += 1
	if request.resends > max_resends:
		_fail(request, "connection_lost",
				"sent %d times, the link dropped each time (%s)" % [request.resends, reason])


func _fail(request: BrainRequest, code: String, message: String) -> void:
	if _pending.erase(request.id):
		_end_with_failure(request, code, message)


func _end_with_failure(request: BrainRequest, code: String, message: String) -> void:
	request.done = true
	if code != "disconnected":
		_warn_once("%s: %s" % [code, message], "a request failed (%s): %s" % [code, message])
	_debug("failure", {"id": request.id, "code": code, "message": message})
	request.failed.emit(code, message)
	request_failed.emit(request.id, code, message)


## The result of [param request]: its own signal first, then the autoload's.
func _finish(request: BrainRequest, event: Dictionary) -> void:
	_pending.erase(request.id)
	request.done = true
	var result := _normalised_result(event)
	_debug("result", {"id": request.id, "result": result})
	request.finished.emit(result)
	match request.kind:
		"decide":
			decision_received.emit(request.id, result)
		"generate":
			answer_received.emit(request.id, result)
		"ping":
			pong_received.emit(request.id, event)


## One warning per cause for the life of the game (per outage for "unreachable").
func _warn_once(cause: String, text: String) -> void:
	if warnings_enabled and not _warned.has(cause):
		_warned[cause] = true
		push_warning("NPCBrain: " + text)


func _debug(kind: String, data: Dictionary) -> void:
	if debug_sink.is_valid():
		debug_sink.call(kind, data)


func _send_to_editor(kind: String, data: Dictionary) -> void:
	var message := debug_message(kind, data)
	EngineDebugger.send_message(message[0], message[1])


## The debugger message for one event: [name, [data]] with plain values only, as the editor's
## NPC Brain panel receives it.
static func debug_message(kind: String, data: Dictionary) -> Array:
	return ["%s:%s" % [DEBUG_CAPTURE, kind], [_debuggable(data)]]


## Packed arrays and the like as plain values, so the debugger and logs carry them as sent.
static func _debuggable(value: Dictionary) -> Dictionary:
	var parsed: Variant = JSON.parse_string(JSON.stringify(value))
	return parsed if parsed is Dictionary else {}


func _expire_requests(now: int) -> void:
	for request: BrainRequest in _pending.values():
		if now <= request.deadline_ms:
			continue
		if request.sent and _link != null and _link.is_ready():
			_link.send(MsgPackCodec.encode({"type": "cancel", "id": request.id}))
		var why := "no reply" if request.sent else "no connection to %s" % address
		_fail(request, "timeout", "%s within %.0f s" % [why, request_timeout])


func _on_payload_received(payload: PackedByteArray) -> void:
	var result := MsgPackCodec.decode(payload)
	if not result.ok or typeof(result.value) != TYPE_DICTIONARY:
		push_warning("NPCBrain: ignoring an undecodable event (%s)" % result.error)
		return
	var event: Dictionary = result.value
	var kind := str(event.get("type", ""))
	if event.get("id") == null:
		if kind == "error":
			server_error_received.emit(str(event.get("code", "")), str(event.get("message", "")))
		return
	var request: BrainRequest = _pending.get(str(event.id))
	if request == null:
		return  # finished, cancelled, or the echo of a cancel
	request.deadline_ms = Time.get_ticks_msec() + int(request_timeout * 1000.0)
	match kind:
		"step":
			_on_step(request, event)
		"decision", "answer":
			_finish(request, event)
		"pong":
			max_message_bytes = int(event.get("max_message_bytes", max_message_bytes))
			_finish(request, event)
		"error":
			_on_error(request, event)


func _on_step(request: BrainRequest, event: Dictionary) -> void:
	var rerun: Variant = event.get("rerun", 0)
	if typeof(rerun) == TYPE_INT and rerun > request.rerun:
		# A re-run may think other thoughts (sampling): what was shown is replaced, not extended.
		request.rerun = rerun
		request.steps.clear()
		_debug("restart", {"id": request.id, "rerun": rerun})
		request.thoughts_restarted.emit()
	var index: Variant = event.get("index")
	if typeof(index) != TYPE_INT or index < request.steps.size():
		return  # already delivered before a resend
	var text := str(event.get("text", ""))
	request.steps.append(text)
	_debug("step", {"id": request.id, "index": index, "text": text})
	request.step_received.emit(index, text)
	step_received.emit(request.id, index, text)


func _on_error(request: BrainRequest, event: Dictionary) -> void:
	var code := str(event.get("code", "internal"))
	var message := str(event.get("message", ""))
	if code == "shutting_down":
		# The sidecar is restarting: the request goes again once it is back.
		_resend_later(request, message)
	elif code != "unknown_id":
		_fail(request, code, message)


static func _normalised_result(event: Dictionary) -> Dictionary:
	var result := event.duplicate()
	result.erase("type")
	result.erase("id")
	if result.has("target") and result.target == null:
		result.target = ""
	var steps := PackedStringArray()
	for step: Variant in event.get("steps", []):
		steps.append(str(step))
	result.steps = steps
	return result

