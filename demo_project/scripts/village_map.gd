class_name VillageMap
extends Node2D
## The ground, buildings and night sky of the village, drawn with shapes and the default font
## (no textures). The darkness of night covers the ground only, so villagers and their
## thought bubbles stay readable.

const GRASS := Color(0.37, 0.56, 0.29)
const GRASS_DARK := Color(0.3, 0.48, 0.24)
const ROAD := Color(0.62, 0.5, 0.34)
const WOOD := Color(0.45, 0.3, 0.17)
const WALL := Color(0.86, 0.78, 0.62)
const ROOF := Color(0.66, 0.27, 0.2)
const LEAF := Color(0.16, 0.36, 0.17)
const WATER := Color(0.25, 0.5, 0.78)
const STONE := Color(0.55, 0.55, 0.58)
const SOIL := Color(0.45, 0.33, 0.2)
const CROP := Color(0.55, 0.75, 0.25)
const NIGHT := Color(0.03, 0.05, 0.2)
const LABEL := Color(1, 1, 1, 0.9)
## Houses: [rect, label]; a villager's home_position is the door under its house.
const HOUSES := [
	[Rect2(200, 150, 120, 80), "Barracks"],
	[Rect2(760, 160, 120, 85), "Mira's house"],
	[Rect2(930, 150, 120, 80), "Healer"],
	[Rect2(1090, 250, 120, 90), "Farmhouse"],
	[Rect2(350, 460, 110, 80), "Pip's home"],
]

var _grass_tufts := PackedVector2Array()
var _trees := PackedVector2Array()

@onready var village: Village = get_parent() as Village


func _ready() -> void:
	var rng := RandomNumberGenerator.new()
	rng.seed = 7  # the same village every time
	for i: int in 160:
		_grass_tufts.append(Vector2(rng.randf_range(0, 1280), rng.randf_range(0, 720)))
	for x: int in range(30, 1280, 55):
		_trees.append(Vector2(x + rng.randf_range(-12, 12), rng.randf_range(25, 70)))
	for y: int in range(120, 720, 60):
		_trees.append(Vector2(rng.randf_range(20, 110), y + rng.randf_range(-15, 15)))
	village.world_changed.connect(queue_redraw)


func _draw() -> void:
	draw_rect(Rect2(0, 0, 1280, 720), GRASS)
	for tuft: Vector2 in _grass_tufts:
		draw_line(tuft, tuft + Vector2(-2, -6), GRASS_DARK, 1.5)
		draw_line(tuft, tuft + Vector2(2, -5), GRASS_DARK, 1.5)
	_draw_roads()
	_draw_pond()
	_draw_field()
	_draw_palisade()
	for house: Array in HOUSES:
		_draw_house(house[0], house[1])
	_draw_market()
	_draw_granary()
	_draw_well()
	for tree: Vector2 in _trees:
		_draw_tree(tree)
	var dark := village.darkness()
	if dark > 0.0:
		draw_rect(Rect2(0, 0, 1280, 720), Color(NIGHT, dark))
	_draw_campfire(dark)
	_draw_scale_bar()


func _draw_roads() -> void:
	draw_line(Vector2(0, 380), Vector2(1280, 380), ROAD, 34.0)
	draw_line(Vector2(640, 380), Vector2(640, 720), ROAD, 28.0)
	draw_line(Vector2(640, 380), Vector2(640, 300), ROAD, 28.0)


func _draw_pond() -> void:
	_draw_ellipse(Village.POND, Vector2(80, 38), WATER.darkened(0.2))
	_draw_ellipse(Village.POND, Vector2(72, 32), WATER)
	_label(Village.POND + Vector2(0, 5), "Pond")


func _draw_field() -> void:
	var field := Village.FIELD
	draw_rect(field, SOIL)
	for row: int in range(int(field.position.y) + 15, int(field.end.y), 22):
		draw_line(Vector2(field.position.x + 10, row), Vector2(field.end.x - 10, row), CROP, 6.0)
	_label(Vector2(field.get_center().x, field.end.y + 16), "Field")


func _draw_palisade() -> void:
	var x := Village.GATE.x - 10.0
	for y: int in range(100, 720, 14):
		if absf(y - Village.GATE.y) < 40.0:
			continue
		draw_rect(Rect2(x, y, 10, 12), WOOD)
	for side: float in [-1.0, 1.0]:
		draw_rect(Rect2(x - 6, Village.GATE.y + side * 44.0 - 12.0, 22, 24), WOOD.darkened(0.3))
	_label(Village.GATE + Vector2(10, -60), "Gate")


func _draw_house(rect: Rect2, title: String) -> void:
	draw_rect(Rect2(rect.position + Vector2(6, 6), rect.size), Color(0, 0, 0, 0.2))
	draw_rect(rect, WALL)
	draw_colored_polygon(PackedVector2Array([
		rect.position + Vector2(-10, 0),
		Vector2(rect.get_center().x, rect.position.y - 40),
		Vector2(rect.end.x + 10, rect.position.y),
	]), ROOF)
	var door := Rect2(rect.get_center().x - 10, rect.end.y - 32, 20, 32)
	draw_rect(door, WOOD)
	draw_rect(Rect2(rect.position + Vector2(12, 18), Vector2(20, 16)), Color(0.95, 0.9, 0.55))
	draw_rect(Rect2(Vector2(rect.end.x - 32, rect.position.y + 18), Vector2(20, 16)),
			Color(0.95, 0.9, 0.55))
	if title == "Healer":
		draw_rect(Rect2(rect.get_center().x - 3, rect.position.y - 30, 6, 18), Color.WHITE)
		draw_rect(Rect2(rect.get_center().x - 9, rect.position.y - 24, 18, 6), Color.WHITE)
	_label(Vector2(rect.get_center().x, rect.end.y + 14), title)


func _draw_market() -> void:
	var stall := Rect2(Village.MARKET - Vector2(55, 30), Vector2(110, 45))
	draw_rect(stall, WOOD)
	for i: int in 6:
		var x := stall.position.x + i * stall.size.x / 6.0
		var color := Color(0.85, 0.2, 0.2) if i % 2 == 0 else Color(0.96, 0.94, 0.88)
		draw_colored_polygon(PackedVector2Array([
			Vector2(x, stall.position.y), Vector2(x + stall.size.x / 6.0, stall.position.y),
			Vector2(x + stall.size.x / 6.0 + 4, stall.position.y - 22), Vector2(x + 4,
					stall.position.y - 22),
		]), color)
	for i: int in 3:
		draw_circle(stall.position + Vector2(25 + i * 30, 30), 8.0, Color(0.9, 0.6, 0.2))
	_label(Vector2(Village.MARKET.x, stall.end.y + 14), "Market")


func _draw_granary() -> void:
	var door := Village.GRANARY_DOOR
	var body := Rect2(door.x - 45, door.y - 80, 90, 80)
	draw_rect(body, Color(0.7, 0.55, 0.3))
	draw_colored_polygon(PackedVector2Array([
		body.position + Vector2(-8, 0), Vector2(door.x, body.position.y - 34),
		Vector2(body.end.x + 8, body.position.y),
	]), Color(0.55, 0.4, 0.2))
	draw_rect(Rect2(door.x - 12, door.y - 30, 24, 30), WOOD)
	_label(door + Vector2(0, 16), "Granary: %d bread" % village.granary_food)


func _draw_well() -> void:
	draw_circle(Village.WELL, 20.0, STONE)
	draw_circle(Village.WELL, 13.0, WATER.darkened(0.3))
	draw_line(Village.WELL + Vector2(-20, -4), Village.WELL + Vector2(-20, -30), WOOD, 3.0)
	draw_line(Village.WELL + Vector2(20, -4), Village.WELL + Vector2(20, -30), WOOD, 3.0)
	draw_line(Village.WELL + Vector2(-24, -30), Village.WELL + Vector2(24, -30), WOOD, 4.0)
	_label(Village.WELL + Vector2(0, 36), "Well")


func _draw_tree(at: Vector2) -> void:
	draw_rect(Rect2(at + Vector2(-4, 6), Vector2(8, 16)), WOOD)
	draw_circle(at, 20.0, LEAF)
	draw_circle(at + Vector2(-8, -6), 12.0, LEAF.lightened(0.12))


func _draw_campfire(dark: float) -> void:
	var fire := Village.CAMPFIRE
	if dark > 0.0:
		for ring: int in 4:
			draw_circle(fire, 90.0 - ring * 20.0, Color(1.0, 0.6, 0.2, dark * 0.12))
	draw_line(fire + Vector2(-14, 8), fire + Vector2(14, -2), WOOD, 5.0)
	draw_line(fire + Vector2(-14, -2), fire + Vector2(14, 8), WOOD, 5.0)
	var flicker := 2.0 * sin(Time.get_ticks_msec() / 120.0)
	draw_colored_polygon(PackedVector2Array([
		fire + Vector2(-9, 2), fire + Vector2(0, -22 - flicker), fire + Vector2(9, 2),
	]), Color(1.0, 0.55, 0.1))
	draw_colored_polygon(PackedVector2Array([
		fire + Vector2(-4, 2), fire + Vector2(0, -11 - flicker), fire + Vector2(4, 2),
	]), Color(1.0, 0.9, 0.3))


## 10 m as the brains are told distances (Village.PIXELS_PER_METER), bottom right.
func _draw_scale_bar() -> void:
	var length := 10.0 * Village.PIXELS_PER_METER
	var start := Vector2(1280 - 24 - length, 706)
	var bar_color := Color(1, 1, 1, 0.85)
	draw_line(start, start + Vector2(length, 0), bar_color, 2.0)
	for x: float in [0.0, length / 2.0, length]:
		draw_line(start + Vector2(x, -4), start + Vector2(x, 2), bar_color, 2.0)
	_label(start + Vector2(length / 2.0, -8), "10 m")


func _label(center: Vector2, text: String) -> void:
	draw_string(ThemeDB.fallback_font, center + Vector2(-60, 0), text,
			HORIZONTAL_ALIGNMENT_CENTER, 120, 12, LABEL)


func _draw_ellipse(center: Vector2, radii: Vector2, color: Color) -> void:
	draw_colored_polygon(Shapes.ellipse(center, radii, 24), color)
