extends Node
## SpeechBubble drawing (captured for tests/test_godot_bubble.py), timing, queueing and the
## 3D screen-space anchor.

const Check := preload("res://tests/godot/check.gd")
const CLEAR_COLOR := Color(0.08, 0.1, 0.14)
const NPC_COLOR := Color(0.2, 0.7, 0.3)
const FIRST_THOUGHT := "A wolf is close and hostile; I should warn the village first."


func run(check: Check) -> void:
	RenderingServer.set_default_clear_color(CLEAR_COLOR)
	await _check_drawing(check)
	await _check_timing_and_queue(check)
	await _check_3d_anchor(check)
	check.done()


func _check_drawing(check: Check) -> void:
	check.section("a thought drawn over an NPC")
	var npc := Polygon2D.new()
	npc.color = NPC_COLOR
	var body := PackedVector2Array()
	for i: int in 16:
		body.append(Vector2.from_angle(TAU * i / 16.0) * 14.0)
	npc.polygon = body
	npc.position = Vector2(240, 200)
	add_child(npc)
	var bubble := SpeechBubble.new()
	bubble.position = Vector2(0, -20)
	bubble.hold_time = 120.0  # steady while a slow machine takes the screenshot
	npc.add_child(bubble)
	bubble.show_thought(FIRST_THOUGHT)
	bubble.show_thought("Then I will guard the gate.")
	check.equal(bubble.current_thought(), FIRST_THOUGHT, "first thought shows at once")
	await get_tree().create_timer(bubble.fade_time + 0.2).timeout
	check.is_true(await check.screenshot(get_tree()), "screenshot taken")
	npc.queue_free()


func _check_timing_and_queue(check: Check) -> void:
	check.section("one thought after another, oldest dropped when too many wait")
	var bubble := SpeechBubble.new()
	bubble.hold_time = 0.1
	bubble.time_per_char = 0.0
	bubble.fade_time = 0.05
	bubble.max_queued = 2
	add_child(bubble)
	var shown: Array = []
	var emptied := [false]
	bubble.thought_shown.connect(func(text: String) -> void: shown.append(text))
	bubble.emptied.connect(func() -> void: emptied[0] = true)
	for text: String in ["one", "two", "three", "four", " ", "five"]:
		bubble.show_thought(text)
	check.equal(shown, ["one"], "only the first shows at once")
	var deadline := Time.get_ticks_msec() + 5000
	while not emptied[0] and Time.get_ticks_msec() < deadline:
		await get_tree().process_frame
	check.equal(shown, ["one", "four", "five"], "shown in order; blank skipped, oldest dropped")
	check.equal(emptied[0], true, "emptied after the last one")
	check.equal(bubble.is_showing(), false, "hidden when empty")
	bubble.show_thought("again")
	bubble.clear()
	check.equal(bubble.is_showing(), false, "clear() hides at once")
	for text: String in ["old one", "old two", "old three"]:
		bubble.show_thought(text)
	bubble.drop_queued()
	check.equal(bubble.current_thought(), "old one", "drop_queued() keeps the thought on screen")
	check.equal(bubble.queued(), PackedStringArray(), "drop_queued() forgets the waiting ones")
	bubble.queue_free()


func _check_3d_anchor(check: Check) -> void:
	check.section("3D anchor follows the camera projection")
	var camera := Camera3D.new()
	add_child(camera)
	camera.make_current()
	var target := Node3D.new()
	add_child(target)
	target.position = Vector3(1.0, 0.0, -6.0)
	var bubble := SpeechBubble.new()
	bubble.follow_3d = target
	add_child(bubble)
	await get_tree().process_frame
	await get_tree().process_frame
	var expected := camera.unproject_position(target.global_position + bubble.offset_3d)
	check.is_true(bubble.global_position.distance_to(expected) < 0.5,
			"at %s, expected %s" % [bubble.global_position, expected])
	check.equal(bubble.visible, true, "visible in front of the camera")
	target.position = Vector3(0.0, 0.0, 6.0)
	await get_tree().process_frame
	check.equal(bubble.visible, false, "hidden behind the camera")
	camera.queue_free()
	target.queue_free()
	bubble.queue_free()
