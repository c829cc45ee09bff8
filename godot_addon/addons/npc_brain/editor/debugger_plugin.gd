@tool
extends EditorDebuggerPlugin
## Receives the [code]npc_brain:*[/code] messages the running game's [code]NPCBrain[/code]
## autoload sends through the editor debugger, into the panel's [ThoughtLog].

const ThoughtLog := preload("thought_log.gd")

var thought_log: ThoughtLog


func _init(log_model: ThoughtLog) -> void:
	thought_log = log_model


func _has_capture(capture: String) -> bool:
	return capture == ThoughtLog.CAPTURE


func _capture(message: String, data: Array, _session_id: int) -> bool:
	return thought_log.capture_message(message, data)


func _setup_session(session_id: int) -> void:
	# A new run of the game: start from an empty stream.
	get_session(session_id).started.connect(thought_log.clear)
