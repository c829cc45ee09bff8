extends RefCounted
## What the editor's NPC Brain panel shows: every request the running game made, grouped by
## NPC, each with its request (state, actions), its thoughts as they streamed and how it ended.
##
## Fed with the debugger messages the [code]NPCBrain[/code] autoload sends
## ([method capture_message]); no editor API, so the game's runtime can test it.

## Something changed: a request came, a thought streamed in, a request ended, or the connection.
signal updated

## Requests kept per NPC; older ones are dropped first.
const KEEP_PER_NPC := 40
const CAPTURE := "npc_brain"

## The game's link to the sidecar: [code]state[/code] (NPCBrain.ConnectionState),
## [code]address[/code], [code]error[/code]; empty until the game reports it.
var connection: Dictionary = {}

var _entries: Dictionary = {}
var _order: Array[String] = []


## Takes one debugger message ([code]npc_brain:KIND[/code], [code][data][/code]); false when
## it is not one of ours.
func capture_message(message: String, data: Array) -> bool:
	if message.get_slice(":", 0) != CAPTURE or data.is_empty() or not data[0] is Dictionary:
		return false
	capture(message.get_slice(":", 1), data[0])
	return true


## Takes one event: "request", "step", "restart", "result", "failure", "cancelled" or "state".
func capture(kind: String, data: Dictionary) -> void:
	if kind == "state":
		connection = data.duplicate()
		updated.emit()
		return
	var id := str(data.get("id", ""))
	if kind == "request":
		_add(id, data)
	elif not _entries.has(id):
		return  # began before the panel listened
	var entry: Dictionary = _entries[id]
	match kind:
		"step":
			entry.steps.append(str(data.get("text", "")))
		"restart":
			entry.steps.clear()
			entry["rerun"] = int(data.get("rerun", 1))
		"result":
			entry.status = "done"
			entry.result = data.get("result", {})
		"failure":
			entry.status = "failed"
			entry.code = str(data.get("code", ""))
			entry.error = str(data.get("message", ""))
		"cancelled":
			entry.status = "cancelled"
	updated.emit()


## Forgets every request (a new run of the game starts).
func clear() -> void:
	_entries.clear()
	_order.clear()
	connection = {}
	updated.emit()


## The NPCs seen, by id, sorted.
func npcs() -> PackedStringArray:
	var seen := {}
	for id: String in _order:
		seen[_entries[id].npc_id] = true
	var out := PackedStringArray(seen.keys())
	out.sort()
	return out


## Requests oldest first, of one NPC when [param npc_id] is given.
func entries(npc_id: String = "") -> Array[Dictionary]:
	var out: Array[Dictionary] = []
	for id: String in _order:
		if npc_id.is_empty() or _entries[id].npc_id == npc_id:
			out.append(_entries[id])
	return out


## One request: id, kind, npc_id, npc_name, message, steps, status ("thinking", "done",
## "failed", "cancelled"), result, code, error. Empty when unknown.
func entry(id: String) -> Dictionary:
	return _entries.get(id, {})


## One line for the list: who, and what came of it.
func summary(id: String) -> String:
	var e := entry(id)
	if e.is_empty():
		return ""
	var who: String = e.npc_name if not e.npc_name.is_empty() else e.kind
	match e.status:
		"done":
			var result: Dictionary = e.result
			var what := str(result.get("action", result.get("text", "ok")))
			var target := str(result.get("target", ""))
			return "%s: %s" % [who, what if target.is_empty() else what + " " + target]
		"failed":
			return "%s: failed (%s)" % [who, e.code]
		"cancelled":
			return "%s: cancelled" % who
	return "%s: thinking (%d thoughts)" % [who, e.steps.size()]


## The whole story of one request, for the detail view: state, actions, thoughts, outcome.
func trace_text(id: String) -> String:
	var e := entry(id)
	if e.is_empty():
		return ""
	var message: Dictionary = e.message
	var lines := PackedStringArray(["Request %s (%s)" % [id, e.kind]])
	if message.has("npc"):
		lines.append("State: " + JSON.stringify(message.npc))
	if message.has("actions"):
		lines.append("Actions: " + ", ".join(PackedStringArray(message.actions)))
	if message.has("prompt"):
		lines.append("Prompt: " + str(message.prompt))
	for key: String in ["aliases", "temperature", "seed", "max_steps", "max_tokens"]:
		if message.has(key):
			lines.append("%s: %s" % [key.capitalize(), JSON.stringify(message[key])])
	lines.append("Thoughts:" if not e.has("rerun") else
			"Thoughts (re-run %d on another worker, the first run's are dropped):" % e.rerun)
	for i: int in e.steps.size():
		lines.append("  %d. %s" % [i + 1, e.steps[i]])
	match e.status:
		"done":
			lines.append("Result: " + JSON.stringify(_without_steps(e.result)))
		"failed":
			lines.append("Failed: %s: %s" % [e.code, e.error])
		"cancelled":
			lines.append("Cancelled by the game.")
		_:
			lines.append("Still thinking...")
	return "\n".join(lines)


func _add(id: String, data: Dictionary) -> void:
	var message: Dictionary = data.get("message", {})
	var npc: Variant = message.get("npc")
	var npc_name := str(npc.get("name", "")) if npc is Dictionary else ""
	var npc_id := str(data.get("npc_id", ""))
	if npc_id.is_empty():
		npc_id = "(%s)" % data.get("kind", "request")
	_entries[id] = {
		"id": id, "kind": str(data.get("kind", "")), "npc_id": npc_id, "npc_name": npc_name,
		"message": message, "steps": PackedStringArray(), "status": "thinking",
		"result": {}, "code": "", "error": "",
	}
	_order.append(id)
	_trim(npc_id)


func _trim(npc_id: String) -> void:
	var mine := entries(npc_id)
	for i: int in maxi(mine.size() - KEEP_PER_NPC, 0):
		_entries.erase(mine[i].id)
		_order.erase(mine[i].id)


static func _without_steps(result: Dictionary) -> Dictionary:
	var out := result.duplicate()
	out.erase("steps")
	return out
