@tool
extends EditorPlugin
## Registers the [code]NPCBrain[/code] autoload while the plugin is enabled.
## [NPCBrainAgent] and [SpeechBubble] are global classes and appear in the Create Node dialog.

const AUTOLOAD_NAME := "NPCBrain"


func _enable_plugin() -> void:
	var folder: String = (get_script() as Script).resource_path.get_base_dir()
	add_autoload_singleton(AUTOLOAD_NAME, folder.path_join("brain_client.gd"))


func _disable_plugin() -> void:
	remove_autoload_singleton(AUTOLOAD_NAME)
