extends RefCounted
## The sidecar started from the editor (desktop editors): one process at a time, its command
## line from Project Settings > npc_brain/sidecar.

## The process started ([param pid]) or stopped.
signal state_changed(running: bool)

var pid: int = -1
## Why the last start failed ("" after a good start).
var last_error: String = ""


func is_running() -> bool:
	return pid > 0 and OS.is_process_running(pid)


## Starts [param command] ([program, arguments...]) unless one started here still runs.
func start(command: PackedStringArray) -> Error:
	if is_running():
		return OK
	if command.is_empty() or command[0].strip_edges().is_empty():
		last_error = "no sidecar command: set npc_brain/sidecar/command in Project Settings"
		return ERR_INVALID_PARAMETER
	var program := command[0]
	if program.begins_with("res://") or program.begins_with("user://"):
		program = ProjectSettings.globalize_path(program)
	pid = OS.create_process(program, command.slice(1))
	if pid <= 0:
		last_error = "could not start %s (is it installed and on PATH?)" % " ".join(command)
		pid = -1
		push_warning("NPC Brain: " + last_error)
		return ERR_CANT_CREATE
	last_error = ""
	state_changed.emit(true)
	return OK


func stop() -> void:
	if pid > 0 and OS.is_process_running(pid):
		OS.kill(pid)
	if pid > 0:
		pid = -1
		state_changed.emit(false)
