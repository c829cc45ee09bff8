extends Node
## NPCBrain, NPCBrainAgent and SpeechBubble against a real `npc-brain serve --ws` through its
## WebSocket relay (tests/test_godot_e2e.py prepares the sidecar and acts on "@@cue" lines).

const Check := preload("res://tests/godot/check.gd")
const Request := preload("res://tests/generated/e2e_request.gd")
const BrainClient := preload("res://addons/npc_brain/brain_client.gd")
## Seconds allowed for the sidecar to come back (a Python + torch start on a busy machine).
const RESTART_WAIT_S := 240.0

var _brain: BrainClient
var _request: Dictionary = {}
var _steps: Dictionary = {}
var _decisions: Dictionary = {}
var _answers: Dictionary = {}
var _failures: Dictionary = {}
var _pongs: Dictionary = {}
var _states: Array = []
var _connects: int = 0
var _disconnects: int = 0


func run(check: Check) -> void:
	_request = Request.request()
	_brain = get_node_or_null(^"/root/NPCBrain") as BrainClient
	if not check.is_true(_brain != null, "the NPCBrain autoload is running"):
		check.done()
		return
	check.equal(_brain.address, BrainClient.DEFAULT_WEB_ADDRESS, "web default address")
	_listen()
	_brain.reconnect_max_delay = 1.0
	# A loaded CI machine may take minutes to restart a Python sidecar; nothing may expire.
	_brain.request_timeout = 600.0
	_brain.address = Check.user_arg("url")
	await _check_connect_and_ping(check)
	await _check_decision(check)
	await _check_agent(check)
	await _check_failures_and_cancel(check)
	await _check_graceful_restart(check)
	await _check_crash_while_in_flight(check)
	check.done()


func _listen() -> void:
	_brain.connection_state_changed.connect(func(state: int) -> void: _states.append(state))
	_brain.connected.connect(func() -> void: _connects += 1)
	_brain.disconnected.connect(func() -> void: _disconnects += 1)
	_brain.step_received.connect(_on_step)
	_brain.decision_received.connect(func(id: String, d: Dictionary) -> void: _decisions[id] = d)
	_brain.answer_received.connect(func(id: String, a: Dictionary) -> void: _answers[id] = a)
	_brain.pong_received.connect(func(id: String, info: Dictionary) -> void: _pongs[id] = info)
	_brain.request_failed.connect(
			func(id: String, code: String, message: String) -> void: _failures[id] = [code, message])


func _on_step(request_id: String, index: int, text: String) -> void:
	if not _steps.has(request_id):
		_steps[request_id] = []
	_steps[request_id].append([index, text])


func _check_connect_and_ping(check: Check) -> void:
	check.section("connect and ping")
	check.is_true(await _wait(_brain.is_brain_connected, 20.0), "connected to the relay")
	check.equal(_states.slice(0, 2), [BrainClient.ConnectionState.CONNECTING,
			BrainClient.ConnectionState.CONNECTED], "state went CONNECTING -> CONNECTED")
	check.equal(_connects, 1, "connected emitted once")
	var id := _brain.ping()
	check.is_true(await _wait(func() -> bool: return _pongs.has(id), 10.0), "pong received")
	check.equal(_pongs.get(id, {}).get("protocol"), 1, "protocol version 1")
	check.is_true(_brain.max_message_bytes > 0, "limit learnt from pong")


func _check_decision(check: Check) -> void:
	check.section("decision with streamed thoughts")
	var id := _decide()
	check.is_true(await _wait(_finished(id), 60.0), "decision arrived")
	check.equal(_failures.get(id), null, "no failure")
	var decision: Dictionary = _decisions.get(id, {})
	var texts := _check_step_sequence(check, id)
	check.equal(texts, PackedStringArray(_request.steps), "thoughts equal the reference run")
	check.equal(decision.get("steps"), texts, "decision repeats the streamed thoughts")
	check.is_true(str(decision.get("action")) in _request.actions, "action is an allowed verb")
	check.equal(typeof(decision.get("target")), TYPE_STRING, "target is a String")
	for i: int in texts.size():
		print("@@step %d %s" % [i, Marshalls.raw_to_base64(texts[i].to_utf8_buffer())])
	print("@@decision ", Marshalls.raw_to_base64(JSON.stringify(decision).to_utf8_buffer()))


func _check_agent(check: Check) -> void:
	check.section("NPCBrainAgent feeding a SpeechBubble")
	var npc := Node2D.new()
	add_child(npc)
	var bubble := SpeechBubble.new()
	bubble.position = Vector2(0, -40)
	npc.add_child(bubble)
	var agent := NPCBrainAgent.new()
	agent.npc_name = "Bram"
	agent.role = "guard"
	agent.actions = PackedStringArray(_request.actions)
	agent.temperature = _request.options.temperature
	agent.sampling_seed = _request.options.seed
	agent.max_tokens = _request.options.max_tokens
	agent.bubble = bubble
	npc.add_child(agent)
	var thoughts: Array = []
	var made: Array = []
	var shown: Array = []
	bubble.thought_shown.connect(func(text: String) -> void: shown.append(text))
	agent.thought_received.connect(func(i: int, t: String) -> void: thoughts.append([i, t]))
	agent.decision_made.connect(func(action: String, target: String,
			steps: PackedStringArray) -> void: made.append([action, target, steps]))
	var id := agent.think(_request.npc)
	check.is_true(not id.is_empty() and agent.is_thinking(), "thinking")
	check.is_true(await _wait(func() -> bool: return not made.is_empty(), 60.0), "decision made")
	check.equal(agent.is_thinking(), false, "done thinking")
	var expected: Array = []
	for i: int in _request.steps.size():
		expected.append([i, _request.steps[i]])
	check.equal(thoughts, expected, "thought_received in order, same as the reference")
	if not made.is_empty():
		check.equal(made[0][2], PackedStringArray(_request.steps), "decision_made steps")
		check.is_true(made[0][0] in _request.actions, "decision_made action allowed")
	check.is_true(not shown.is_empty(), "the bubble showed a thought")
	if not shown.is_empty():
		check.equal(shown[0], String(_request.steps[0]).strip_edges(), "first thought first")
	check.is_true(bubble.is_showing(), "the bubble is still showing thoughts")
	npc.queue_free()


func _check_failures_and_cancel(check: Check) -> void:
	check.section("failures and cancel")
	var bad := _brain.request_decision(_request.npc, ["dance"])
	check.is_true(await _wait(_finished(bad), 10.0), "unknown verb answered")
	check.equal(_failures.get(bad, [""])[0], "invalid_field", "unknown verb -> invalid_field")
	var unencodable := _brain.request_decision({"id": RefCounted.new()}, _request.actions)
	check.is_true(await _wait(_finished(unencodable), 2.0), "unencodable request reported")
	check.equal(_failures.get(unencodable, [""])[0], "encode_failed", "encode_failed")
	var cancelled := _decide()
	check.equal(_brain.cancel(cancelled), true, "cancel accepted")
	check.equal(_brain.cancel(cancelled), false, "second cancel is a no-op")
	await get_tree().create_timer(1.5).timeout
	check.equal(_finished(cancelled).call(), false, "no signal after cancel")
	check.equal(_brain.pending_count(), 0, "nothing left pending")
	var question := _brain.request_generate("What is 2 + 3?", {"max_tokens": 200})
	check.is_true(await _wait(_finished(question), 30.0), "generate ends")
	print("generate -> ", _answers.get(question, _failures.get(question)))


func _check_graceful_restart(check: Check) -> void:
	check.section("sidecar restart (SIGTERM): a request made while it is down goes through")
	var drops := _disconnects
	print("@@cue restart")
	check.is_true(await _wait(func() -> bool: return _disconnects > drops, 30.0),
			"disconnected emitted")
	check.equal(_brain.is_brain_connected(), false, "state is not connected")
	var id := _decide()
	check.is_true(_brain.is_pending(id), "request queued while disconnected")
	check.is_true(await _wait(_finished(id), RESTART_WAIT_S), "decision after the restart")
	check.is_true(_decisions.has(id), "it is a decision: %s" % [_failures.get(id)])
	check.equal(_connects, 2, "connected emitted again")


func _check_crash_while_in_flight(check: Check) -> void:
	check.section("sidecar crash (SIGKILL) with a request in flight: it is sent again")
	print("@@cue freeze")
	await get_tree().create_timer(1.0).timeout
	var id := _decide()
	await get_tree().create_timer(0.7).timeout
	check.is_true(_brain.is_pending(id), "in flight while the sidecar is frozen")
	check.equal(_steps.get(id, []), [], "no thought while frozen")
	var drops := _disconnects
	print("@@cue crash_and_restart")
	check.is_true(await _wait(func() -> bool: return _disconnects > drops, 30.0),
			"disconnected after the crash")
	check.is_true(_brain.is_pending(id), "still pending, not dropped")
	check.is_true(await _wait(_finished(id), RESTART_WAIT_S), "finished after the restart")
	check.is_true(_decisions.has(id), "it is a decision: %s" % [_failures.get(id)])
	var texts := _check_step_sequence(check, id)
	check.equal(texts, PackedStringArray(_request.steps), "every thought exactly once")
	check.equal(_decisions.get(id, {}).get("steps"), texts, "decision steps")
	check.equal(_connects, 3, "third connection")


func _decide() -> String:
	return _brain.request_decision(_request.npc, _request.actions, _request.options)


## Checks a request's thoughts came with index 0, 1, 2... and returns their texts.
func _check_step_sequence(check: Check, id: String) -> PackedStringArray:
	var texts := PackedStringArray()
	var indexes: Array = []
	for step: Array in _steps.get(id, []):
		indexes.append(step[0])
		texts.append(step[1])
	check.equal(indexes, range(texts.size()), "thought indexes 0..n-1 in order")
	return texts


func _finished(id: String) -> Callable:
	return func() -> bool:
		return _decisions.has(id) or _answers.has(id) or _failures.has(id)


func _wait(done: Callable, timeout_s: float) -> bool:
	var deadline := Time.get_ticks_msec() + int(timeout_s * 1000.0)
	while not done.call():
		if Time.get_ticks_msec() > deadline:
			return false
		await get_tree().process_frame
	return true
