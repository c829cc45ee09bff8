extends Node
## Entry scene of the GDScript test pack: runs the test script named by the user argument
## [code]test=res://...gd[/code], then quits with 0 only if every check passed and the test
## reached its end.

const Check := preload("res://tests/godot/check.gd")


func _ready() -> void:
	var path := Check.user_arg("test")
	var script := load(path) as GDScript if ResourceLoader.exists(path) else null
	if script == null or not script.can_instantiate():
		print("FAIL cannot load test script '%s'" % path)
		get_tree().quit(2)
		return
	var test: Node = script.new()
	test.name = path.get_file().get_basename()
	add_child(test)
	var check := Check.new()
	await test.run(check)
	if not check.finished:
		check.is_true(false, "test stopped before its end (a silent runtime error?)")
	print("@@harness:result passed=%d failed=%d" % [check.passed, check.failed])
	get_tree().quit(0 if check.failed == 0 else 1)
