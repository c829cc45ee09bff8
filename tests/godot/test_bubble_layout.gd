extends Node
## Bubbles of NPCs standing close together, and of NPCs at the screen's edges, laid out by
## SpeechBubble (captured for tests/test_godot_bubble.py, which checks the pixels).

const Check := preload("res://tests/godot/check.gd")
const CLEAR_COLOR := Color(0.08, 0.1, 0.14)
## NPC position, thought, bubble background.
const CROWD := [
	[Vector2(230, 170), "The wolf is close; I must warn the others.", Color(1.0, 0.82, 0.82)],
	[Vector2(246, 178), "Bread first, then the market.", Color(0.82, 1.0, 0.82)],
	[Vector2(238, 160), "I should hide behind the well.", Color(0.82, 0.88, 1.0)],
	[Vector2(254, 168), "Who is shouting over there?", Color(1.0, 1.0, 0.75)],
	[Vector2(470, 40), "Right at the edge of the world.", Color(0.95, 0.82, 1.0)],
	[Vector2(8, 14), "Top left corner, no room above.", Color(0.8, 1.0, 1.0)],
]


func run(check: Check) -> void:
	RenderingServer.set_default_clear_color(CLEAR_COLOR)
	check.section("nearby bubbles laid out apart and on screen")
	var bubbles: Array[SpeechBubble] = []
	for spec: Array in CROWD:
		var npc := Node2D.new()
		npc.position = spec[0]
		add_child(npc)
		var bubble := SpeechBubble.new()
		bubble.position = Vector2(0, -16)
		bubble.hold_time = 120.0  # steady while a slow machine takes the screenshot
		bubble.font_size = 12
		bubble.max_width = 150.0
		bubble.background_color = spec[2]
		npc.add_child(bubble)
		bubble.show_thought(spec[1])
		bubbles.append(bubble)
	await get_tree().create_timer(0.5).timeout
	var screen := get_viewport().get_visible_rect()
	var rects: Array = []
	for i: int in bubbles.size():
		var rect := bubbles[i].screen_rect()
		check.is_true(screen.encloses(rect), "bubble %d on screen: %s" % [i, rect])
		for j: int in i:
			check.is_true(not rect.intersects(bubbles[j].screen_rect()),
					"bubbles %d and %d apart" % [j, i])
		rects.append([rect.position.x, rect.position.y, rect.size.x, rect.size.y,
				bubbles[i].background_color.to_html(false)])
	var lowest := bubbles[1].screen_rect()
	check.is_true(lowest.position.y < CROWD[1][0].y - 16.0, "the lowest keeps its place above")
	print("@@bubbles ", JSON.stringify(rects))
	check.is_true(await check.screenshot(get_tree()), "screenshot taken")
	bubbles[0].avoid_overlap = false
	SpeechBubble.lay_out(get_tree().get_nodes_in_group(SpeechBubble.GROUP))
	check.equal(bubbles[0].screen_rect().position.y,
			CROWD[0][0].y - 16.0 - bubbles[0].tail_size.y - bubbles[0].screen_rect().size.y,
			"avoid_overlap off: over its NPC")
	check.done()
