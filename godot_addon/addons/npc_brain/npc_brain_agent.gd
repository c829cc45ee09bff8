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
## Needs the [code]NPCBrain[/code] autoload (enable the npc_brain plugin).

## One line of inner monologue, as soon as the model finished it.
signal thought_received(index: int, text: String)
## The choice: [param action] is one of [member actions], [param target] the perceived
## entity or inventory item it aims at ("" when none), [param steps] every thought in order.
signal decision_made(action: String, target: String, steps: PackedStringArray)
## No decision this time; [param code] as in [signal NPCBrain.request_failed], plus
## [code]no_brain[/code] (autoload missing) and [code]no_actions[/code].
signal decision_failed(code: String, message: String)

const BrainClient := preload("brain_client.gd")

## Display name sent to the model (defaults to the parent node's name).
@export var npc_name: String = ""
## What the NPC is in the world, e.g. "guard", "farmer", "merchant".
@export var role: String = ""
## Personality words the model weighs, e.g. "brave", "greedy", "timid".
@export var traits: PackedStringArray = PackedStringArray()
## Verbs this NPC may choose from (canonical verbs such as attack, flee, eat, sleep, trade,
## or game verbs declared in [member aliases]).
@export var actions: PackedStringArray = PackedStringArray()
## Game verb -> canonical verb, e.g. {"chop_wood": "work"}; decisions report the game verb.
@export var aliases: Dictionary = {}
## A [SpeechBubble] that shows each thought as it arrives (optional).
@export var bubble_path: NodePath

@export_group("Generation")
## 0 = always the most likely thought (deterministic); higher = more varied.
@export_range(0.0, 2.0, 0.05) var temperature: float = 0.0
## Most thoughts before the decision; 0 keeps the sidecar's default.
@export_range(0, 16) var max_steps: int = 0
## Token budget for the whole trace; 0 keeps the sidecar's default.
@export_range(0, 512) var max_tokens: int = 0
## Fixed seed for reproducible sampling; -1 for none.
@export var sampling_seed: int = -1

## Set from [member bubble_path] on ready; may also be assigned in code.
var bubble: SpeechBubble
## The last [signal NPCBrain.decision_received] dictionary (action, target, steps, raw...).
var last_decision: Dictionary = {}

var _brain: BrainClient
var _request_id: String = ""


func _enter_tree() -> void:
	_brain = get_node_or_null(^"/root/NPCBrain") as BrainClient
	if _brain == null:
		return
	_brain.step_received.connect(_on_step_received)
	_brain.decision_received.connect(_on_decision_received)
	_brain.request_failed.connect(_on_request_failed)


func _ready() -> void:
	if bubble == null and not bubble_path.is_empty():
		bubble = get_node_or_null(bubble_path) as SpeechBubble


func _exit_tree() -> void:
	cancel()
	if _brain != null:
		_brain.step_received.disconnect(_on_step_received)
		_brain.decision_received.disconnect(_on_decision_received)
		_brain.request_failed.disconnect(_on_request_failed)
		_brain = null


## Asks the brain what to do now. [param state] is the NPC's state (docs/protocol.md §8:
## health, hunger, energy, gold, inventory, perception, time_of_day, location, goal,
## memory); when empty, [method gather_state] provides it. id, name, role and traits come
## from this node unless [param state] sets them. Nothing else is filled in: a stat the game
## does not send stays unknown to the model, so no thought can claim it. Returns the
## request id, or "" when the request could not be made (then [signal decision_failed]
## follows).
func think(state: Dictionary = {}) -> String:
	cancel()
	var npc := describe()
	npc.merge(state if not state.is_empty() else gather_state(), true)
	if _brain == null:
		decision_failed.emit.call_deferred("no_brain",
				"the NPCBrain autoload is missing: enable the npc_brain plugin")
		return ""
	if actions.is_empty():
		decision_failed.emit.call_deferred("no_actions", "%s has no actions to choose from" % name)
		return ""
	_request_id = _brain.request_decision(npc, Array(actions), _options())
	return _request_id


## Override to report the NPC's current state when [method think] gets none.
func gather_state() -> Dictionary:
	return {}


## The fixed part of the NPC's state: id, name, and role and traits when set.
func describe() -> Dictionary:
	var display_name := npc_name
	if display_name.is_empty():
		display_name = str(get_parent().name) if get_parent() != null else str(name)
	var npc := {"id": display_name.to_snake_case(), "name": display_name}
	if not role.is_empty():
		npc["role"] = role
	if not traits.is_empty():
		npc["traits"] = Array(traits)
	return npc


## True between [method think] and its decision or failure.
func is_thinking() -> bool:
	return not _request_id.is_empty()


## Abandons the current thought process, if any; no signal follows for it.
func cancel() -> void:
	if not _request_id.is_empty() and _brain != null:
		_brain.cancel(_request_id)
	_request_id = ""


func _options() -> Dictionary:
	var options := {}
	if not aliases.is_empty():
		options.aliases = aliases
	if temperature > 0.0:
		options.temperature = temperature
	if max_steps > 0:
		options.max_steps = max_steps
	if max_tokens > 0:
		options.max_tokens = max_tokens
	if sampling_seed >= 0:
		options.seed = sampling_seed
	return options


func _on_step_received(request_id: String, index: int, text: String) -> void:
	if request_id != _request_id:
		return
	thought_received.emit(index, text)
	if bubble != null:
		bubble.show_thought(text)


func _on_decision_received(request_id: String, decision: Dictionary) -> void:
	if request_id != _request_id:
		return
	_request_id = ""
	last_decision = decision
	decision_made.emit(str(decision.get("action", "")), str(decision.get("target", "")),
			decision.get("steps", PackedStringArray()))


func _on_request_failed(request_id: String, code: String, message: String) -> void:
	if request_id != _request_id:
		return
	_request_id = ""
	decision_failed.emit(code, message)
