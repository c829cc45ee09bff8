extends Node
## The NPCBrain client sends the relay's token first (tests/test_hardening_godot.py runs
## a sidecar whose WebSocket relay requires one): with it a ping is answered, without it the
## relay closes the link with status 1008.

const Check := preload("res://tests/godot/check.gd")
const BrainClient := preload("res://addons/npc_brain/brain_client.gd")

var _pongs: Dictionary = {}
var _closed_reasons: Array = []


func run(check: Check) -> void:
	var url := Check.user_arg("url")
	var token := Check.user_arg("token")
	check.is_true(not token.is_empty(), "token argument given")
	await _check_with_token(check, url, token)
	await _check_with_wrong_token(check, url)
	check.done()


func _check_with_token(check: Check, url: String, token: String) -> void:
	check.section("the right token opens the relay")
	var brain := _brain(url, token)
	var request_id := brain.ping()
	var answered := func() -> bool: return _pongs.has(request_id)
	check.is_true(await _wait_until(answered, 60.0), "pong through a token-checked relay")
	check.equal(int(_pongs.get(request_id, {}).get("protocol", 0)), 1, "pong protocol")
	brain.queue_free()


func _check_with_wrong_token(check: Check, url: String) -> void:
	check.section("a wrong token is refused")
	var brain := _brain(url, "not-the-token-at-all")
	brain.disconnected.connect(func() -> void: _closed_reasons.append("disconnected"))
	var refused := func() -> bool: return brain.last_error.contains("1008")
	check.is_true(await _wait_until(refused, 30.0), "closed with 1008: '%s'" % brain.last_error)
	check.is_true(not brain.is_brain_connected(), "never connected")
	brain.queue_free()


func _brain(url: String, token: String) -> BrainClient:
	var brain := BrainClient.new()
	brain.ws_token = token
	brain.address = url
	brain.pong_received.connect(func(id: String, info: Dictionary) -> void: _pongs[id] = info)
	add_child(brain)
	return brain


func _wait_until(done: Callable, timeout_s: float) -> bool:
	var deadline := Time.get_ticks_msec() + int(timeout_s * 1000.0)
	while Time.get_ticks_msec() < deadline:
		await get_tree().process_frame
		if done.call():
			return true
	return false
