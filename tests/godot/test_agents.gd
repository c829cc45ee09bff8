extends Node
## Agents against a real sidecar (tests/test_godot_agents.py): each request has one owner,
## failures warn once per cause, the autoload reads the project's npc_brain settings, and the
## inspector's configuration warnings name what is wrong.

const Check := preload("res://tests/godot/check.gd")
const BrainClient := preload("res://addons/npc_brain/brain_client.gd")
const Settings := preload("res://addons/npc_brain/settings.gd")
const ThoughtLog := preload("res://addons/npc_brain/editor/thought_log.gd")
const BrainRequest := preload("res://addons/npc_brain/brain_request.gd")
const BrainPanel := preload("res://addons/npc_brain/editor/brain_panel.gd")
const SidecarProcess := preload("res://addons/npc_brain/editor/sidecar_process.gd")
const ACTIONS: PackedStringArray = ["attack", "flee", "eat", "call_for_help"]

var _brain: BrainClient
var _log := ThoughtLog.new()
var _agent_requests: Dictionary = {}


func run(check: Check) -> void:
	_brain = get_node_or_null(^"/root/NPCBrain") as BrainClient
	if not check.is_true(_brain != null, "the NPCBrain autoload is running"):
		check.done()
		return
	# What the editor's panel would receive, through the same message encoding.
	_brain.debug_sink = func(kind: String, data: Dictionary) -> void:
		var message := BrainClient.debug_message(kind, data)
		_log.capture_message(message[0], message[1])
	_check_settings_read(check)
	if not check.is_true(await _wait(_brain.is_brain_connected, 60.0), "connected to the relay"):
		check.done()
		return
	await _check_one_owner(check)
	await _check_refusals_warn_once(check)
	await _check_unreachable_warns_once(check)
	_check_thought_log(check)
	_check_configuration_warnings(check)
	_check_settings_registered(check)
	_check_new_question_drops_old_thoughts(check)
	_check_rerun_replaces_thoughts(check)
	_check_memory(check)
	check.done()


func _check_settings_read(check: Check) -> void:
	check.section("Project Settings read by the autoload")
	check.equal(_brain.address, Check.user_arg("url"), "address from npc_brain/connection/web_address")
	check.equal(_brain.default_temperature, 0.7, "default temperature from the settings")
	check.equal(_brain.request_timeout, 90.0, "request timeout from the settings")
	var request := _brain.decide({"id": "x", "name": "X"}, ["wait"], {"max_tokens": 5})
	check.equal(request.message.get("temperature"), 0.7, "a request without one gets it")
	var own := _brain.decide({"id": "x", "name": "X"}, ["wait"], {"temperature": 0.0})
	check.equal(own.message.get("temperature"), 0.0, "an explicit temperature wins")
	_brain.cancel(request.id)
	_brain.cancel(own.id)


func _check_one_owner(check: Check) -> void:
	check.section("one request, one owner")
	var agents: Array[NPCBrainAgent] = []
	var heard: Dictionary = {}
	var made: Dictionary = {}
	for who: String in ["Bram", "Mira", "Pip"]:
		var agent := NPCBrainAgent.new()
		agent.npc_name = who
		agent.actions = ACTIONS
		agent.temperature = 1.0
		agent.sampling_seed = agents.size() + 3
		agent.max_tokens = 120
		add_child(agent)
		heard[who] = []
		agent.thought_received.connect(
				func(i: int, text: String) -> void: heard[who].append([i, text]))
		agent.decision_made.connect(func(_a: String, _t: String, steps: PackedStringArray) -> void:
			made[who] = steps)
		agents.append(agent)
	check.equal(_brain.step_received.get_connections().size(), 0,
			"agents do not listen to the autoload's broadcast")
	var requests: Dictionary = {}
	for agent: NPCBrainAgent in agents:
		var id := agent.think({"health": 80, "perception": [
			{"name": "wolf", "kind": "animal", "distance": 4, "hostile": true}]})
		requests[agent.npc_name] = _brain.get_request(id)
	check.is_true(await _wait(func() -> bool: return made.size() == 3, 120.0),
			"all three decided")
	for who: String in requests:
		var own: PackedStringArray = requests[who].steps
		var texts := PackedStringArray()
		for step: Array in heard[who]:
			texts.append(step[1])
		check.equal(texts, own, "%s heard exactly its own thoughts" % who)
		check.equal(made.get(who), own, "%s's decision carries them" % who)
		check.equal(requests[who].npc_id(), who.to_snake_case(), "%s owns its request" % who)
	_agent_requests = requests
	var distinct := {}
	for who: String in requests:
		distinct["|".join(requests[who].steps)] = true
	check.is_true(distinct.size() > 1, "the three streams differ (so mixing would show)")
	for agent: NPCBrainAgent in agents:
		agent.queue_free()


func _check_refusals_warn_once(check: Check) -> void:
	check.section("a refused request: decision_failed each time, one warning")
	var agent := NPCBrainAgent.new()
	agent.npc_name = "Typo"
	agent.actions = ["atack"]
	add_child(agent)
	var failures: Array = []
	agent.decision_failed.connect(func(code: String, _m: String) -> void: failures.append(code))
	for i: int in 3:
		agent.think({"health": 50})
		check.is_true(await _wait(func() -> bool: return failures.size() > i, 30.0),
				"failure %d reported" % i)
	check.equal(failures, ["invalid_field", "invalid_field", "invalid_field"],
			"decision_failed unchanged: every time, with the sidecar's code")
	print("@@refusals-done")
	agent.queue_free()


func _check_unreachable_warns_once(check: Check) -> void:
	check.section("sidecar unreachable: one warning per outage")
	var url := _brain.address
	var drops := [0]
	var count_drop := func(state: int) -> void:
		if state == BrainClient.ConnectionState.DISCONNECTED:
			drops[0] += 1
	_brain.connection_state_changed.connect(count_drop)
	_brain.reconnect_max_delay = 0.3
	_brain.address = Check.user_arg("dead_url")
	check.is_true(await _wait(func() -> bool: return drops[0] >= 4, 60.0),
			"several failed attempts")
	print("@@unreachable-done")
	_brain.address = url
	check.is_true(await _wait(_brain.is_brain_connected, 60.0), "back once it is reachable")
	_brain.connection_state_changed.disconnect(count_drop)


func _check_thought_log(check: Check) -> void:
	check.section("the panel's stream of thoughts per NPC")
	check.equal(_log.npcs(), PackedStringArray(["bram", "mira", "pip", "typo", "x"]),
			"every NPC that asked, by id")
	check.equal(_log.connection.get("state"), 2.0, "connection state streamed (connected)")
	for who: String in _agent_requests:
		var request: BrainRequest = _agent_requests[who]
		var entries := _log.entries(who.to_snake_case())
		check.equal(entries.size(), 1, "%s: one request" % who)
		var entry := _log.entry(request.id)
		check.equal(entry.get("steps"), request.steps, "%s: its thoughts, in order" % who)
		check.equal(entry.get("status"), "done", "%s: done" % who)
		check.equal(entry.get("message", {}).get("actions"), Array(ACTIONS), "%s: actions" % who)
		var trace := _log.trace_text(request.id)
		check.is_true(trace.contains("Actions: attack, flee, eat, call_for_help"), trace)
		for i: int in request.steps.size():
			var line := "  %d. %s" % [i + 1, request.steps[i]]
			check.is_true(trace.contains(line), "%s: trace shows '%s'" % [who, line])
		var action := str(entry.get("result", {}).get("action"))
		check.is_true(_log.summary(request.id).begins_with("%s: %s" % [who, action]),
				_log.summary(request.id))
	var typo := _log.entries("typo")
	check.equal(typo.size(), 3, "the refused agent: three requests")
	if not typo.is_empty():
		check.equal(typo[0].status, "failed", "failed")
		check.equal(_log.summary(typo[0].id), "Typo: failed (invalid_field)", "summary")
		check.is_true(_log.trace_text(typo[0].id).contains("Failed: invalid_field: "), "why")
	check.equal(_log.entries("x").map(func(e: Dictionary) -> String: return e.status),
			["cancelled", "cancelled"], "cancelled requests shown as such")
	await _check_panel(check)
	_log.clear()
	check.equal(_log.entries().size(), 0, "cleared for a new run")


## The editor panel's controls run in the game runtime too (only its plugin needs the editor).
func _check_panel(check: Check) -> void:
	check.section("the NPC Brain panel shows the stream")
	var panel := BrainPanel.new()
	panel.setup(_log, SidecarProcess.new())
	add_child(panel)
	await get_tree().process_frame
	await get_tree().process_frame
	check.equal(panel._list.item_count, _log.entries().size(), "one row per request")
	check.is_true(panel._status.text.begins_with("Game connected to ws://"), panel._status.text)
	check.equal(panel._sidecar_button.text, "Start sidecar", "sidecar not started here")
	var bram := range(panel._filter.item_count).filter(
			func(i: int) -> bool: return panel._filter.get_item_text(i) == "bram")
	check.equal(bram.size(), 1, "bram in the NPC filter")
	if bram.size() == 1:
		panel._filter.select(bram[0])
		panel._filter.item_selected.emit(bram[0])
		await get_tree().process_frame
		check.equal(panel._list.item_count, 1, "filtered to Bram's request")
		panel._list.select(0)
		panel._list.item_selected.emit(0)
		var id: String = _agent_requests["Bram"].id
		check.equal(panel._detail.text, _log.trace_text(id), "the selected request's trace")
	panel.queue_free()


func _check_configuration_warnings(check: Check) -> void:
	check.section("configuration warnings")
	var npc := Node2D.new()
	add_child(npc)
	var agent := NPCBrainAgent.new()
	agent.actions = ["eat", "atack", "chop_wood", "eat", "atack"]
	agent.aliases = {"chop_wood": "work", "sing": "perform"}
	npc.add_child(agent)
	var not_a_bubble := Node2D.new()
	not_a_bubble.name = "Label"
	npc.add_child(not_a_bubble)
	agent.bubble_path = ^"../Label"
	var problems := agent.configuration_problems()
	check.equal(problems.size(), 3, "three problems: %s" % [problems])
	check.is_true(problems.size() > 0 and problems[0].begins_with("Unknown verbs in actions: atack."),
			"the typo named once: %s" % [problems])
	check.is_true(problems.size() > 1 and "sing -> perform" in problems[1], "bad alias named")
	check.is_true(problems.size() > 2 and "does not lead to a SpeechBubble" in problems[2],
			"bad bubble path named")
	var bubble := SpeechBubble.new()
	bubble.name = "Bubble"
	npc.add_child(bubble)
	agent.bubble_path = ^""
	check.is_true(agent.configuration_problems()[-1].contains("bubble_path is empty"),
			"an unwired bubble is pointed out")
	agent.bubble_path = ^"../Bubble"
	agent.actions = ["eat", "chop_wood"]
	agent.aliases = {"chop_wood": "work"}
	check.equal(agent.configuration_problems(), PackedStringArray(), "a correct agent: none")
	agent.actions = []
	check.equal(agent.configuration_problems().size(), 1, "no actions is a problem")
	var hint := {"name": "actions", "hint": PROPERTY_HINT_NONE, "hint_string": ""}
	agent.aliases = {"chop_wood": "work"}
	agent._validate_property(hint)
	check.equal(hint.hint, PROPERTY_HINT_TYPE_STRING, "actions picked from a list")
	check.is_true(str(hint.hint_string).ends_with("go_home,play,wait,chop_wood"),
			"known verbs then aliases: %s" % hint.hint_string)
	npc.queue_free()


func _check_settings_registered(check: Check) -> void:
	check.section("settings registered as the plugin does it")
	Settings.register()
	check.equal(ProjectSettings.get_setting(Settings.WEB_ADDRESS), Check.user_arg("url"),
			"a configured value is kept")
	check.equal(ProjectSettings.get_setting(Settings.START_ON_PLAY), false, "a default is added")
	check.equal(ProjectSettings.property_get_revert(Settings.COMMAND), "npc-brain",
			"revert value is the default")
	check.equal(Settings.sidecar_command(), PackedStringArray(["npc-brain", "serve"]),
			"sidecar command line")
	check.equal(Settings.value(Settings.BUNDLED_PATH), "npc_brain_sidecar/npc-brain-sidecar",
			"the standalone sidecar's default path")
	var beside := OS.get_executable_path().get_base_dir().path_join(
			"npc_brain_sidecar/npc-brain-sidecar")
	check.equal(Settings.bundled_sidecar_path(), beside, "found beside the game's executable")
	check.is_true(not _brain._start_bundled_sidecar(), "a web export never starts one")


func _check_new_question_drops_old_thoughts(check: Check) -> void:
	check.section("a new question drops the old one's waiting thoughts")
	var agent := _agent_with_bubble()
	for text: String in ["the wolf is 4 m away", "I am scared", "so I flee"]:
		agent.bubble.show_thought(text)
	agent.think({"health": 80})
	check.equal(agent.bubble.current_thought(), "the wolf is 4 m away", "the shown one finishes")
	check.equal(agent.bubble.queued(), PackedStringArray(), "the waiting ones are dropped")
	agent.cancel()
	agent.queue_free()


func _check_rerun_replaces_thoughts(check: Check) -> void:
	check.section("a broker's re-run replaces the thoughts shown so far")
	var agent := _agent_with_bubble()
	var heard: Array = []
	var restarts: Array[int] = [0]
	var made: Array = []
	agent.thought_received.connect(func(i: int, text: String) -> void: heard.append([i, text]))
	agent.thoughts_restarted.connect(func() -> void: restarts[0] += 1)
	agent.decision_made.connect(func(action: String, _t: String, steps: PackedStringArray) -> void:
		made.append([action, steps]))
	var id := agent.think({"health": 80})
	var request: BrainRequest = agent._request
	# The events a broker sends when the worker running this request died after two thoughts
	# (tests/test_broker.py checks the broker marks them so), fed before the sidecar's own.
	for event: Dictionary in [
		{"type": "step", "id": id, "index": 0, "text": "the wolf is near"},
		{"type": "step", "id": id, "index": 1, "text": "I am scared"},
		{"type": "step", "id": id, "index": 0, "text": "the wolf is 4 m away", "rerun": 1},
		{"type": "step", "id": id, "index": 1, "text": "so I flee", "rerun": 1},
		{"type": "decision", "id": id, "action": "flee", "target": null, "rerun": 1,
			"steps": ["the wolf is 4 m away", "so I flee"], "raw": ""},
	]:
		_brain._on_payload_received(MsgPack.encode(event))
	check.equal(restarts[0], 1, "one restart heard")
	check.equal(heard.size(), 4, "every thought of both runs reaches the agent")
	check.equal(request.steps, PackedStringArray(["the wolf is 4 m away", "so I flee"]),
			"the request keeps only the re-run's thoughts")
	check.equal(agent.bubble.current_thought(), "the wolf is near", "the shown one finishes")
	check.equal(agent.bubble.queued(), PackedStringArray(["the wolf is 4 m away", "so I flee"]),
			"the first run's waiting thought is dropped")
	check.equal(made.size(), 1, "one decision")
	if made.size() == 1:
		check.equal(made[0][1], PackedStringArray(["the wolf is 4 m away", "so I flee"]),
				"the decision carries the re-run's thoughts")
	agent.queue_free()


func _check_memory(check: Check) -> void:
	check.section("remember() logs what happened and think() sends it")
	var agent := _agent_with_bubble()
	agent.remember("  fed the hens  ")
	agent.remember("   ")
	check.equal(agent.memory, PackedStringArray(["fed the hens"]), "trimmed, blank lines dropped")
	for i: int in NPCBrainAgent.MEMORY_LINES + 2:
		agent.remember("line %d" % i)
	agent.remember("x".repeat(200))
	check.equal(agent.memory.size(), NPCBrainAgent.MEMORY_LINES, "only the newest kept")
	check.equal(agent.memory[0], "line 3", "the oldest go first")
	check.equal(agent.memory[-1].length(), NPCBrainAgent.MEMORY_CHARS, "long lines cut")
	agent.remember("the barn is on fire")
	agent.think({"health": 80})
	var sent: Dictionary = agent._request.message["npc"]
	check.equal(sent.get("memory", [])[-1], "the barn is on fire", "think() sends the memory")
	agent.think({"memory": ["all quiet"]})
	sent = agent._request.message["npc"]
	check.equal(sent.get("memory"), ["all quiet"], "a state's own memory wins")
	agent.forget()
	agent.think({"health": 80})
	check.is_true(not agent._request.message["npc"].has("memory"), "forget() clears it")
	agent.cancel()
	agent.queue_free()


func _wait(done: Callable, timeout_s: float) -> bool:
	var deadline := Time.get_ticks_msec() + int(timeout_s * 1000.0)
	while not done.call():
		if Time.get_ticks_msec() > deadline:
			return false
		await get_tree().process_frame
	return true


func _agent_with_bubble() -> NPCBrainAgent:
	var agent := NPCBrainAgent.new()
	agent.actions = ACTIONS
	add_child(agent)
	agent.bubble = SpeechBubble.new()
	agent.add_child(agent.bubble)
	return agent
