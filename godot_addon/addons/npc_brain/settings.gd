extends RefCounted
## The addon's Project Settings (Project Settings > General > Npc Brain): names, defaults and
## inspector hints. The plugin registers them; the [code]NPCBrain[/code] autoload reads them,
## falling back to the defaults here when a project never enabled the plugin.

## Where the sidecar listens on desktop and mobile; empty: tcp://127.0.0.1:5555.
const ADDRESS := "npc_brain/connection/address"
## Where a web export connects (the sidecar's WebSocket relay); empty: ws://127.0.0.1:5556.
const WEB_ADDRESS := "npc_brain/connection/web_address"
const AUTO_CONNECT := "npc_brain/connection/auto_connect"
const REQUEST_TIMEOUT := "npc_brain/connection/request_timeout"
## Used by requests that set no temperature ([member NPCBrainAgent.temperature] below 0).
const DEFAULT_TEMPERATURE := "npc_brain/generation/default_temperature"
## Report failures with push_warning, once per cause.
const WARNINGS := "npc_brain/debug/push_warnings"
## Send thoughts and decisions to the editor's NPC Brain panel while the game runs from it.
const SEND_TO_EDITOR := "npc_brain/debug/send_to_editor"
## Start the sidecar when the game is run from the editor (desktop editors only).
const START_ON_PLAY := "npc_brain/sidecar/start_on_play"
## The program that runs the sidecar: npc-brain on PATH, or a path to a bundled sidecar.
const COMMAND := "npc_brain/sidecar/command"
const ARGUMENTS := "npc_brain/sidecar/arguments"
## The standalone sidecar ([code]npc-brain build-sidecar[/code]) an exported desktop game starts
## when nothing answers at its tcp:// address, and stops when the game exits: a path relative
## to the folder of the game's executable, or absolute; [code].exe[/code] is added on Windows.
## Empty: never start one.
const BUNDLED_PATH := "npc_brain/sidecar/bundled_path"

## name -> [default, type, hint, hint_string, basic]
static func specs() -> Dictionary:
	return {
		ADDRESS: ["", TYPE_STRING, PROPERTY_HINT_PLACEHOLDER_TEXT, "tcp://127.0.0.1:5555", true],
		WEB_ADDRESS: ["", TYPE_STRING, PROPERTY_HINT_PLACEHOLDER_TEXT, "ws://127.0.0.1:5556",
				false],
		AUTO_CONNECT: [true, TYPE_BOOL, PROPERTY_HINT_NONE, "", false],
		REQUEST_TIMEOUT: [60.0, TYPE_FLOAT, PROPERTY_HINT_RANGE, "1,600,0.5,suffix:s", false],
		DEFAULT_TEMPERATURE: [0.0, TYPE_FLOAT, PROPERTY_HINT_RANGE, "0,2,0.05", true],
		WARNINGS: [true, TYPE_BOOL, PROPERTY_HINT_NONE, "", false],
		SEND_TO_EDITOR: [true, TYPE_BOOL, PROPERTY_HINT_NONE, "", false],
		START_ON_PLAY: [false, TYPE_BOOL, PROPERTY_HINT_NONE, "", true],
		COMMAND: ["npc-brain", TYPE_STRING, PROPERTY_HINT_GLOBAL_FILE, "", true],
		ARGUMENTS: [PackedStringArray(["serve"]), TYPE_PACKED_STRING_ARRAY, PROPERTY_HINT_NONE,
				"", false],
		BUNDLED_PATH: ["npc_brain_sidecar/npc-brain-sidecar", TYPE_STRING, PROPERTY_HINT_NONE, "",
				true],
	}


## Adds every setting missing from the project, with its default, hint and revert value.
static func register() -> void:
	var all := specs()
	for setting: String in all:
		var spec: Array = all[setting]
		if not ProjectSettings.has_setting(setting):
			ProjectSettings.set_setting(setting, spec[0])
		ProjectSettings.set_initial_value(setting, spec[0])
		ProjectSettings.add_property_info({
			"name": setting, "type": spec[1], "hint": spec[2], "hint_string": spec[3],
		})
		ProjectSettings.set_as_basic(setting, spec[4])


## The project's value of [param setting], or its default when the project has none.
static func value(setting: String) -> Variant:
	return ProjectSettings.get_setting(setting, specs()[setting][0])


## The sidecar's command line from the settings: [program, arguments...].
static func sidecar_command() -> PackedStringArray:
	var line := PackedStringArray([str(value(COMMAND))])
	line.append_array(value(ARGUMENTS))
	return line


## The standalone sidecar's executable from [constant BUNDLED_PATH], resolved beside the game's
## executable; "" when the setting is empty.
static func bundled_sidecar_path() -> String:
	var path := str(value(BUNDLED_PATH)).strip_edges()
	if path.is_empty():
		return ""
	if OS.has_feature("windows") and not path.ends_with(".exe"):
		path += ".exe"
	if path.is_relative_path():
		path = OS.get_executable_path().get_base_dir().path_join(path)
	return path
