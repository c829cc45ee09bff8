@tool
@icon("res://addons/npc_brain/icons/npc_brain_agent.svg")
class_name NPCBrainAgent
extends Node
## Gives one NPC a mind: sends its state to the sidecar and reports its thoughts and choice.
##
## Add it as a child of the NPC, fill in the exports, connect the signals, and call
## [method think] whenever something changes for the NPC. Thoughts stream in through
## [signal thought_received] (and into [member bubble] when set); the final choice comes as
## [signal decision_made]. One thought process at a time: [method think] cancels the previous,
## and so does leaving the scene tree.
## [codeblock]
## @onready var brain: NPCBrainAgent = $NPCBrainAgent
##
## func _on_wolf_seen() -> void:
##     brain.think({"health": health, "hunger": hunger, "energy": energy,
##             "perception": [{"name": "wolf", "kind": "animal", "distance": 4, "hostile": true}]})
## [/codeblock]
## Needs the [code]NPCBrain[/code] autoload (enable the npc_brain plugin). Each think is a
## request of its own ([method NPCBrain.decide]): this agent hears its own thoughts only.
## The inspector offers the known verbs for [member actions] and warns about unknown verbs,
## a missing autoload and a bubble path that leads nowhere.

## One line of inner monologue, as soon as the model finished it.
signal thought_received(index: int, text: String)
## The thoughts so far are void and start again at index 0 (a broker re-ran the request on
## another worker); the thoughts still waiting in [member bubble] are dropped.
signal thoughts_restarted
## The choice: [param action] is one of [member actions], [param target] the perceived
## entity or inventory item it aims at ("" when none), [param steps] every thought in order.
signal decision_made(action: String, target: String, steps: PackedStringArray)
## No decision this time; [param code] as in [signal NPCBrain.request_failed], plus
## [code]no_brain[/code] (autoload missing) and [code]no_actions[/code].
signal decision_failed(code: String, message: String)

const BrainClient := preload("brain_client.gd")
const BrainRequest := preload("brain_request.gd")
const Verbs := preload("verbs.gd")
const AUTOLOAD_SETTING := "autoload/NPCBrain"
## Most lines [member memory] keeps, and most characters per line (docs/protocol.md §8).
const MEMORY_LINES := 16
const MEMORY_CHARS := 120

static var _warned_no_brain: bool = false

## Display name sent to the model (defaults to the parent node's name).
@export var npc_name: String = ""
## What the NPC is in the world, e.g. "guard", "farmer", "merchant".
@export var role: String = ""
## Personality words the model weighs, e.g. "brave", "greedy", "timid".
@export var traits: PackedStringArray = PackedStringArray()
## Verbs this NPC may choose from (canonical verbs such as attack, flee, eat, sleep, trade,
## or game verbs declared in [member aliases]); the inspector lists them.
@export var actions: PackedStringArray = PackedStringArray():
	set(value):
		actions = value
		_update_warnings()
## Game verb -> canonical verb, e.g. {"chop_wood": "work"}; decisions report the game verb.
@export var aliases: Dictionary = {}:
	set(value):
		aliases = value
		notify_property_list_changed()  # the verb list offered for actions changes
		_update_warnings()
## A [SpeechBubble] that shows each thought as it arrives (optional).
@export var bubble_path: NodePath:
	set(value):
		bubble_path = value
		_update_warnings()

@export_group("Generation")
## 0 = always the most likely thought (deterministic); higher = more varied; below 0 uses
## Project Settings > npc_brain/generation/default_temperature.
@export_range(-1.0, 2.0, 0.05) var temperature: float = -1.0
## Most thoughts before the decision; 0 keeps the sidecar's default.
@export_range(0, 16) var max_steps: int = 0
## Token budget for the whole trace; 0 keeps the sidecar's default.
@export_range(0, 512) var max_tokens: int = 0
## Fixed seed for reproducible sampling; -1 for none.
@export var sampling_seed: int = -1

## Set from [member bubble_path] on ready; may also be assigned in code.
var bubble: SpeechBubble
## What happened to this NPC, oldest first, as [method remember] logged it; sent as the
## state's memory unless the state given to [method think] has its own.
var memory: PackedStringArray = PackedStringArray()
## The last [signal NPCBrain.decision_received] dictionary (action, target, steps, raw...).
var last_decision: Dictionary = {}

var _brain: BrainClient
var _request: BrainRequest


func _enter_tree() -> void:
	if not Engine.is_editor_hint():
		_brain = get_node_or_null(^"/root/NPCBrain") as BrainClient


func _ready() -> void:
	if bubble == null and not bubble_path.is_empty():
		bubble = get_node_or_null(bubble_path) as SpeechBubble


func _exit_tree() -> void:
	cancel()
	_brain = null


func _validate_property(property: Dictionary) -> void:
	if property.name == "actions":
		# Each entry is picked from the known verbs (any text may still be typed in code).
		property.hint = PROPERTY_HINT_TYPE_STRING
		property.hint_string = "%d/%d:%s" % [TYPE_STRING, PROPERTY_HINT_ENUM,
				",".join(Verbs.known(aliases))]


func _get_configuration_warnings() -> PackedStringArray:
	return configuration_problems()


## What would keep this agent from thinking, in words (the inspector shows them as warnings).
func configuration_problems() -> PackedStringArray:
	var problems := PackedStringArray()
	if not ProjectSettings.has_setting(AUTOLOAD_SETTING):
		problems.append("The NPCBrain autoload is missing: enable the NPC Brain plugin in "
				+ "Project > Project Settings > Plugins.")
	if actions.is_empty():
		problems.append("No actions: list the verbs this NPC may choose from.")
	var unknown := Verbs.unknown(actions, aliases)
	if not unknown.is_empty():
		problems.append("Unknown verbs in actions: %s. Pick known verbs, or declare game " % [
				", ".join(unknown)] + "verbs in aliases (game verb -> known verb).")
	var bad := Verbs.bad_aliases(aliases)
	if not bad.is_empty():
		problems.append("Aliases must map to a known verb: %s." % ", ".join(bad))
	if not bubble_path.is_empty() and not get_node_or_null(bubble_path) is SpeechBubble:
		problems.append("bubble_path (%s) does not lead to a SpeechBubble." % bubble_path)
	elif bubble_path.is_empty() and bubble == null and _sibling_bubble() != null:
		problems.append("The NPC has a SpeechBubble (%s) but bubble_path is empty: set it to " % [
				_sibling_bubble().name] + "show the thoughts there.")
	return problems


func _sibling_bubble() -> SpeechBubble:
	if get_parent() == null:
		return null
	for sibling: Node in get_parent().get_children():
		if sibling is SpeechBubble:
			return sibling
	return null


## Asks the brain what to do now. [param state] is the NPC's state (docs/protocol.md §8:
## health, hunger, energy, gold, inventory, perception, time_of_day, location, goal,
## memory); when empty, [method gather_state] provides it. id, name, role, traits and
## memory (from [method remember]) come from this node unless [param state] sets them.
## Nothing else is filled in: a stat the game does not send stays unknown to the model, so
## no thought can claim it. Returns the request id, or "" when the request could not be
## made (then [signal decision_failed] follows).
func think(state: Dictionary = {}) -> String:
	cancel()
	var npc := describe()
	npc.merge(state if not state.is_empty() else gather_state(), true)
	if _brain == null:
		var why := "the NPCBrain autoload is missing: enable the npc_brain plugin"
		if not _warned_no_brain:
			_warned_no_brain = true
			push_warning("NPCBrainAgent: " + why)
		decision_failed.emit.call_deferred("no_brain", why)
		return ""
	if actions.is_empty():
		decision_failed.emit.call_deferred("no_actions", "%s has no actions to choose from" % name)
		return ""
	_request = _brain.decide(npc, Array(actions), _options())
	_request.step_received.connect(_on_step_received)
	_request.thoughts_restarted.connect(_on_thoughts_restarted)
	_request.finished.connect(_on_decision_received)
	_request.failed.connect(_on_request_failed)
	return _request.id


## Override to report the NPC's current state when [method think] gets none.
func gather_state() -> Dictionary:
	return {}


## Logs what just happened to this NPC, e.g. "the barn is on fire" or "Captain: fall back
## to the keep!". The brain reads the newest lines for what the NPC recalls (danger, a
## storm, an order, a noise, a promise to be home, thirst) and acts on it; other lines
## change nothing. Keeps the last [constant MEMORY_LINES] lines.
func remember(line: String) -> void:
	var text := line.strip_edges().left(MEMORY_CHARS)
	if text.is_empty():
		return
	memory.append(text)
	if memory.size() > MEMORY_LINES:
		memory = memory.slice(memory.size() - MEMORY_LINES)


## Forgets everything [method remember] logged.
func forget() -> void:
	memory.clear()


## The fixed part of the NPC's state: id, name, and role, traits and memory when set.
func describe() -> Dictionary:
	var display_name := npc_name
	if display_name.is_empty():
		display_name = str(get_parent().name) if get_parent() != null else str(name)
	var npc := {"id": display_name.to_snake_case(), "name": display_name}
	if not role.is_empty():
		npc["role"] = role
	if not traits.is_empty():
		npc["traits"] = Array(traits)
	if not memory.is_empty():
		npc["memory"] = Array(memory)
	return npc


## True between [method think] and its decision or failure.
func is_thinking() -> bool:
	return _request != null


## Abandons the current thought process, if any; no signal follows for it, and its thoughts
## still waiting in [member bubble] are dropped (the one on screen finishes).
func cancel() -> void:
	if _request != null and _brain != null:
		_brain.cancel(_request.id)
	_request = null
	if bubble != null:
		bubble.drop_queued()


func _options() -> Dictionary:
	var options := {}
	if not aliases.is_empty():
		options.aliases = aliases
	if temperature >= 0.0:
		options.temperature = temperature
	if max_steps > 0:
		options.max_steps = max_steps
	if max_tokens > 0:
		options.max_tokens = max_tokens
	if sampling_seed >= 0:
		options.seed = sampling_seed
	return options


func _update_warnings() -> void:
	if Engine.is_editor_hint() and is_inside_tree():
		update_configuration_warnings()


func _on_step_received(index: int, text: String) -> void:
	thought_received.emit(index, text)
	if bubble != null:
		bubble.show_thought(text)


func _on_thoughts_restarted() -> void:
	if bubble != null:
		bubble.drop_queued()
	thoughts_restarted.emit()


func _on_decision_received(decision: Dictionary) -> void:
	_request = null
	last_decision = decision
	decision_made.emit(str(decision.get("action", "")), str(decision.get("target", "")),
			decision.get("steps", PackedStringArray()))


func _on_request_failed(code: String, message: String) -> void:
	_request = null
	decision_failed.emit(code, message)
