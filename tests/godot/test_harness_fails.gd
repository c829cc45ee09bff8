extends Node
## Must fail twice, so tests/test_godot_harness.py can show the harness notices: a failed
## check, then a runtime error that silently ends the test early (release template).

const Check := preload("res://tests/godot/check.gd")


func run(check: Check) -> void:
	check.equal(1, 1.0, "an int is not a float")
	var flag: Variant = 1
	if flag == true:  # int == bool: a runtime error that ends this function at once
		print("unreachable")
	check.done()
