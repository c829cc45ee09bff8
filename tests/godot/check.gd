extends RefCounted
## Test checks for the Godot web runtime, where the release template compiles [code]assert()[/code]
## out and most runtime errors are silent. Each failed check prints a [code]FAIL[/code] line;
## main.gd turns the totals into the exit code. A test calls [method done] as its last line so
## a run cut short by a silent runtime error is caught too.

## Printed by a test when the canvas should be captured (see tests/godot_runner.py).
const SCREENSHOT_MARKER := "@@harness:screenshot"

var passed: int = 0
var failed: int = 0
var finished: bool = false
var _section: String = ""


## Labels the following checks in failure messages.
func section(title: String) -> void:
	_section = title
	print("-- ", title)


func is_true(condition: bool, what: String) -> bool:
	if condition:
		passed += 1
	else:
		failed += 1
		print("FAIL [%s] %s" % [_section, what])
	return condition


## Deep, type-strict equality: 1 and 1.0 differ, NaN equals NaN, dictionaries by content.
func equal(actual: Variant, expected: Variant, what: String) -> bool:
	if same(actual, expected):
		passed += 1
		return true
	failed += 1
	print("FAIL [%s] %s: got %s (%s), expected %s (%s)" % [
		_section, what, _show(actual), type_string(typeof(actual)),
		_show(expected), type_string(typeof(expected)),
	])
	return false


func done() -> void:
	finished = true


## Asks the runner for a canvas screenshot and waits until it was taken (or [param timeout_s]).
func screenshot(tree: SceneTree, timeout_s: float = 60.0) -> bool:
	# Two drawn frames, so the current scene is on the canvas, not just in the tree.
	await RenderingServer.frame_post_draw
	await RenderingServer.frame_post_draw
	print(SCREENSHOT_MARKER)
	var deadline := Time.get_ticks_msec() + int(timeout_s * 1000.0)
	while Time.get_ticks_msec() < deadline:
		await tree.process_frame
		# Strings cross the bridge unchanged (a JS bool arrives as an int).
		var ack: Variant = JavaScriptBridge.eval(
				"window.godotHarness.screenshotTaken ? 'taken' : ''", true)
		if str(ack) == "taken":
			return true
	return is_true(false, "screenshot was not taken within %.0f s" % timeout_s)


static func same(a: Variant, b: Variant) -> bool:
	if typeof(a) != typeof(b):
		return false
	match typeof(a):
		TYPE_FLOAT:
			return (is_nan(a) and is_nan(b)) or a == b
		TYPE_ARRAY:
			return _same_array(a, b)
		TYPE_DICTIONARY:
			return _same_dict(a, b)
	return a == b


static func _same_array(a: Array, b: Array) -> bool:
	if a.size() != b.size():
		return false
	for i: int in a.size():
		if not same(a[i], b[i]):
			return false
	return true


static func _same_dict(a: Dictionary, b: Dictionary) -> bool:
	if a.size() != b.size():
		return false
	for key: Variant in a:
		if not b.has(key) or not same(a[key], b[key]):
			return false
	return true


static func _show(value: Variant) -> String:
	var text := var_to_str(value)
	return text if text.length() <= 200 else text.left(200) + "…"


## The value of the user argument [code]key=value[/code] given to the run, or "".
static func user_arg(key: String) -> String:
	for arg: String in OS.get_cmdline_user_args():
		if arg.begins_with(key + "="):
			return arg.substr(key.length() + 1)
	return ""
