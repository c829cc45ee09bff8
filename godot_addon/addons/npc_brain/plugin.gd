@tool
extends EditorPlugin
## The editor side of NPC Brain: registers the [code]NPCBrain[/code] autoload and the
## npc_brain Project Settings, adds the "NPC Brain" bottom panel (the running game's thoughts
## and decisions, through the editor debugger) and starts or stops the sidecar.
## [NPCBrainAgent] and [SpeechBubble] are global classes and appear in the Create Node dialog.

const AUTOLOAD_NAME := "NPCBrain"
const Settings := preload("settings.gd")
const ThoughtLog := preload("editor/thought_log.gd")
const DebuggerPlugin := preload("editor/debugger_plugin.gd")
const BrainPanel := preload("editor/brain_panel.gd")
const SidecarProcess := preload("editor/sidecar_process.gd")

var _log: ThoughtLog
var _debugger: DebuggerPlugin
var _sidecar: SidecarProcess
var _panel: BrainPanel


func _enter_tree() -> void:
	Settings.register()
	_log = ThoughtLog.new()
	_sidecar = SidecarProcess.new()
	_debugger = DebuggerPlugin.new(_log)
	add_debugger_plugin(_debugger)
	_panel = BrainPanel.new()
	_panel.setup(_log, _sidecar)
	add_control_to_bottom_panel(_panel, "NPC Brain")


func _exit_tree() -> void:
	remove_control_from_bottom_panel(_panel)
	_panel.queue_free()
	remove_debugger_plugin(_debugger)
	_sidecar.stop()


func _enable_plugin() -> void:
	var folder: String = (get_script() as Script).resource_path.get_base_dir()
	add_autoload_singleton(AUTOLOAD_NAME, folder.path_join("brain_client.gd"))
	Settings.register()


func _disable_plugin() -> void:
	remove_autoload_singleton(AUTOLOAD_NAME)


## Called when the game is about to run from the editor: start the sidecar if the project
## asks for it (Project Settings > npc_brain/sidecar/start_on_play).
func _build() -> bool:
	if Settings.value(Settings.START_ON_PLAY) and not _sidecar.is_running():
		_sidecar.start(Settings.sidecar_command())
	return true
