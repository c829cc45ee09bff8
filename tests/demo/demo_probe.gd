extends Node
## Drives the demo village for tests/test_demo.py, which adds this script to the pack as an
## autoload (the demo itself carries no test code).
##
## It sends a wolf in, waits until enough villagers have decided and enough thought bubbles
## are on screen, pauses the game so nothing moves, asks the runner for a screenshot, notes
## where everything is on screen, then lets the food run out, a storm roll in and night
## fall, each time
## recording what every villager decides next (and what it was doing before). It prints it
## all as one [code]@@demo-report {json}[/code] line and quits:
## 0 when everything was seen, 1 (with FAIL lines) otherwise. The web runtime is a release
## build, so failures are printed, never asserted.

const SCREENSHOT_MARKER := "@@harness:screenshot"
const REPORT_PREFIX := "@@demo-report "
const MIN_DECIDED := 4
const MIN_BUBBLES := 3
const TIMEOUT_S := 150.0
## Villagers that must decide anew after each later event.
const MIN_REACTING := 3
const EVENT_TIMEOUT_S := 150.0

var _decided: Dictionary = {}
## When each villager's current thought appeared, in seconds of game time: the bubbles
## advance by frame delta, which a slow machine clamps, so wall-clock time would mislead.
var _shown_at: Dictionary = {}
var _game_time: float = 0.0
var _thoughts: int = 0
var _failed: bool = false
## The event being watched, and per event: villager -> [doing before, decision after].
var _event: String = "wolf"
var _reactions: Dictionary = {"wolf": {}}
var _doing_before: Dictionary = {}


func _init() -> void:
	process_mode = Node.PROCESS_MODE_ALWAYS  # keeps polling while the game is paused


func _ready() -> void:
	_run.call_deferred()


func _process(delta: float) -> void:
	if not get_tree().paused:
		_game_time += delta


func _run() -> void:
	var village := await _village()
	if village == null:
		_fail("the main scene is not the village")
		_finish()
		return
	for villager: Villager in village.villagers():
		villager.brain.thought_received.connect(_on_thought_received)
		villager.brain.decision_made.connect(_on_decision_made.bind(villager.brain.npc_name))
		villager.bubble.thought_shown.connect(_on_thought_shown.bind(villager.brain.npc_name))
	_note_activities(village)
	village.trigger_event("wolf")
	var deadline := Time.get_ticks_msec() + int(TIMEOUT_S * 1000.0)
	while not _scene_ready(village):
		if Time.get_ticks_msec() > deadline:
			_fail("after %.0f s: %d villagers decided, %d bubbles showing, %d thoughts" % [
					TIMEOUT_S, _decided.size(), _showing(village).size(), _thoughts])
			_finish()
			return
		await get_tree().process_frame
	get_tree().paused = true
	if not await _screenshot():
		_fail("the runner did not take the screenshot")
	var report := _report(village)
	get_tree().paused = false
	for event: String in ["food", "storm", "night"]:
		await _watch_event(village, event)
	report["events"] = _reactions
	report["log"] = Array(village.log_lines)
	print(REPORT_PREFIX + JSON.stringify(report))
	_finish()


## Triggers [param event] and waits until enough villagers decided what to do about it.
func _watch_event(village: Village, event: String) -> void:
	_note_activities(village)
	_event = event
	_reactions[event] = {}
	village.trigger_event(event)
	var deadline := Time.get_ticks_msec() + int(EVENT_TIMEOUT_S * 1000.0)
	while _reactions[event].size() < MIN_REACTING:
		if Time.get_ticks_msec() > deadline:
			_fail("after '%s' only %s decided" % [event, _reactions[event].keys()])
			return
		await get_tree().process_frame


func _note_activities(village: Village) -> void:
	for villager: Villager in village.villagers():
		_doing_before[villager.npc_name] = villager.activity


func _village() -> Village:
	for i: int in 600:
		if get_tree().current_scene != null:
			return get_tree().current_scene as Village
		await get_tree().process_frame
	return null


## Enough villagers decided, and enough bubbles are fully visible (between fade in and out).
func _scene_ready(village: Village) -> bool:
	if _decided.size() < MIN_DECIDED:
		return false
	var settled := 0
	for villager: Villager in _showing(village):
		var bubble := villager.bubble
		var shown: float = _game_time - float(_shown_at.get(villager.brain.npc_name, _game_time))
		var total := bubble.hold_time + bubble.time_per_char * bubble.current_thought().length()
		total += 2.0 * bubble.fade_time
		if shown > bubble.fade_time + 0.25 and shown < total - bubble.fade_time - 0.4:
			settled += 1
	return settled >= MIN_BUBBLES


func _showing(village: Village) -> Array[Villager]:
	var out: Array[Villager] = []
	for villager: Villager in village.villagers():
		if villager.bubble.is_showing():
			out.append(villager)
	return out


func _screenshot() -> bool:
	# Two drawn frames, so the current scene is on the canvas, not just in the tree.
	await RenderingServer.frame_post_draw
	await RenderingServer.frame_post_draw
	print(SCREENSHOT_MARKER)
	var deadline := Time.get_ticks_msec() + 60000
	while Time.get_ticks_msec() < deadline:
		await get_tree().process_frame
		# A JS bool arrives as an int here, and int == bool is a silent runtime error in the
		# release template, so compare strings.
		var taken := str(JavaScriptBridge.eval(
				"window.godotHarness.screenshotTaken ? 'taken' : ''", true))
		if taken == "taken":
			return true
	return false


## Screen positions and colours of what the test looks for in the PNG.
func _report(village: Village) -> Dictionary:
	var villagers: Array[Dictionary] = []
	for villager: Villager in village.villagers():
		var body := villager.get_global_transform_with_canvas() * Vector2(0, 4)
		villagers.append({
			"name": villager.brain.npc_name,
			"body": [body.x, body.y],
			"scale": villager.body_scale,
			"color": villager.body_color.to_html(false),
			"hidden": villager.in_hiding,
			"flashing": villager.is_hurt_flashing(),
			"bubble": _bubble_report(villager.bubble),
		})
	var wolf := {}
	if village.wolf != null:
		var at := village.wolf.get_global_transform_with_canvas() * Vector2(-4, 0)
		wolf = {"body": [at.x, at.y], "flashing": village.wolf.is_hurt_flashing()}
	var overlays: Array[Array] = []
	for control: Node in village.get_node("Hud").get_children():
		if control is Control:
			var rect := (control as Control).get_global_rect()
			overlays.append([rect.position.x, rect.position.y, rect.size.x, rect.size.y])
	var size := get_viewport().get_visible_rect().size
	return {
		"viewport": [size.x, size.y],
		"villagers": villagers,
		"wolf": wolf,
		"overlays": overlays,
		"decided": _decided,
		"thoughts": _thoughts,
		"log": Array(village.log_lines),
		"status": (village.get_node("Hud") as VillageHud).status_text,
	}


## The bubble's box on screen, where the layout placed it.
func _bubble_report(bubble: SpeechBubble) -> Dictionary:
	if not bubble.is_showing():
		return {}
	var screen := bubble.screen_rect()
	return {
		"rect": [screen.position.x, screen.position.y, screen.size.x, screen.size.y],
		"text": bubble.current_thought(),
		"background": bubble.background_color.to_html(false),
		"text_color": bubble.text_color.to_html(false),
	}


func _on_thought_received(_index: int, _text: String) -> void:
	_thoughts += 1


func _on_decision_made(action: String, target: String, _steps: PackedStringArray,
		npc_name: String) -> void:
	var what := action if target.is_empty() else "%s %s" % [action, target]
	_decided[npc_name] = what
	if not _reactions[_event].has(npc_name):
		_reactions[_event][npc_name] = [_doing_before.get(npc_name, ""), what]


func _on_thought_shown(_text: String, npc_name: String) -> void:
	_shown_at[npc_name] = _game_time


func _fail(message: String) -> void:
	print("FAIL ", message)
	_failed = true


func _finish() -> void:
	get_tree().quit(1 if _failed else 0)
