extends Node
## The harness itself: user arguments arrive, and class_name scripts (one extending another by
## path) load from the pack's generated class cache. tests/test_godot_harness.py adds them.

const Check := preload("res://tests/godot/check.gd")


func run(check: Check) -> void:
	check.section("pack and arguments")
	check.is_true("marker=42" in OS.get_cmdline_user_args(), "user argument passed through")
	check.equal(OS.has_feature("web"), true, "running the web template")
	var derived := HarnessDerived.new()
	check.is_true(derived is HarnessBase, "class_name inheritance through the cache")
	check.equal(derived.greet(), "derived of base", "methods of both classes")
	derived.free()
	check.done()
