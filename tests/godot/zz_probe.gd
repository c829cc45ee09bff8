extends Node

const Check := preload("res://tests/godot/check.gd")


func run(check: Check) -> void:
	print("a ", JavaScriptBridge.eval("1+1", true))
	print("b ", JavaScriptBridge.eval("window.godotHarness.screenshotTaken === true", true))
	var v: Variant = JavaScriptBridge.eval("window.godotHarness.screenshotTaken === true", true)
	print("c ", typeof(v))
	print("d ", v == true)
	print("e ", Engine.has_singleton("JavaScriptBridge"), " ", OS.has_feature("web"))
	check.done()
