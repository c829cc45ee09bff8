extends Node
## The addon as unpacked from its Asset Library zip (tests/test_asset_zip.py builds the project
## from the zip alone): Godot's own zip reader agrees with what was unpacked, plugin.cfg carries
## the package version, and the plugin's autoload and nodes get a real decision from a sidecar.

const Check := preload("res://tests/godot/check.gd")
const ADDON_DIR := "res://addons/npc_brain"
const ZIP_PATH := "res://npc_brain_addon.zip"


func run(check: Check) -> void:
	_check_zip(check)
	_check_plugin_cfg(check)
	await _check_decision(check)
	check.done()


func _check_zip(check: Check) -> void:
	check.section("Godot's zip reader")
	var zip := ZIPReader.new()
	if not check.equal(zip.open(ZIP_PATH), OK, "ZIPReader opens the zip"):
		return
	var files := zip.get_files()
	check.is_true(files.has("addons/npc_brain/plugin.cfg"), "the zip holds plugin.cfg")
	for path: String in files:
		check.is_true(path.begins_with("addons/npc_brain/") or path == "addons/",
				"%s stays inside addons/npc_brain/" % path)
		if not path.ends_with("/"):
			check.equal(zip.read_file(path), FileAccess.get_file_as_bytes("res://" + path),
					"%s is unpacked as zipped" % path)
	zip.close()


func _check_plugin_cfg(check: Check) -> void:
	check.section("plugin.cfg")
	var cfg := ConfigFile.new()
	check.equal(cfg.load(ADDON_DIR.path_join("plugin.cfg")), OK, "plugin.cfg parses")
	check.equal(cfg.get_value("plugin", "name", ""), "NPC Brain", "plugin name")
	check.equal(cfg.get_value("plugin", "version", ""), Check.user_arg("version"),
			"version is the package's")
	var script := ADDON_DIR.path_join(str(cfg.get_value("plugin", "script", "")))
	check.is_true(FileAccess.file_exists(script), "the plugin script %s is there" % script)
	for name: String in ["README.md", "LICENSE", "icon.svg"]:
		check.is_true(FileAccess.file_exists(ADDON_DIR.path_join(name)), "%s is there" % name)


func _check_decision(check: Check) -> void:
	check.section("a decision through the unpacked plugin")
	var brain := get_node_or_null(^"/root/NPCBrain")
	if not check.is_true(brain != null, "the NPCBrain autoload is running"):
		return
	brain.request_timeout = 600.0  # a loaded machine may be slow; nothing may expire
	brain.connect_to_brain(Check.user_arg("brain"))
	var agent := NPCBrainAgent.new()
	agent.npc_name = "Bram"
	agent.role = "guard"
	agent.actions = PackedStringArray(["attack", "flee"])
	add_child(agent)
	var made: Array = []
	var failed: Array = []
	agent.decision_made.connect(func(action: String, target: String,
			steps: PackedStringArray) -> void: made.append([action, target, steps]))
	agent.decision_failed.connect(
			func(code: String, message: String) -> void: failed.append([code, message]))
	agent.think({"health": 80,
			"perception": [{"name": "wolf", "kind": "animal", "distance": 4, "hostile": true}]})
	var finished := func() -> bool: return not made.is_empty() or not failed.is_empty()
	check.is_true(await _wait(finished, 240.0), "the agent finished thinking")
	check.equal(failed, [], "no failure")
	if made.is_empty():
		return
	check.is_true(made[0][0] in ["attack", "flee"], "decided on an allowed verb: %s" % [made[0]])
	check.is_true(not (made[0][2] as PackedStringArray).is_empty(), "with thoughts")
	print("@@decision ", made[0])


func _wait(done: Callable, timeout_s: float) -> bool:
	var deadline := Time.get_ticks_msec() + int(timeout_s * 1000.0)
	while not done.call():
		if Time.get_ticks_msec() > deadline:
			return false
		await get_tree().process_frame
	return true
