class_name SpeechBubble
extends Node2D
## A thought bubble: shows lines of text one after another, each with a fade in and out.
##
## Put it under an NPC where the bubble's tail should point (e.g. at [code](0, -40)[/code],
## just above the head) and call [method show_thought], or let an [NPCBrainAgent] feed it.
## Drawn with shapes and the project's default font, no textures; every colour, size and
## timing is an export. In a 3D scene, set [member follow_3d]: the bubble then tracks that
## node's screen position through the active camera.

## A thought became visible.
signal thought_shown(text: String)
## The last queued thought faded out.
signal emptied

@export_group("Timing")
## Seconds a thought stays fully visible at the least.
@export_range(0.1, 10.0, 0.05) var hold_time: float = 1.4
## Extra reading time per character, in seconds.
@export_range(0.0, 0.2, 0.005) var time_per_char: float = 0.03
## Seconds of fade in and of fade out.
@export_range(0.0, 2.0, 0.05) var fade_time: float = 0.2
## Thoughts waiting beyond this many are dropped, oldest first, so the bubble keeps up.
@export_range(1, 64) var max_queued: int = 6

@export_group("Look")
## Font for the text; empty uses the project's default font.
@export var font: Font
@export_range(6, 64) var font_size: int = 14
## Widest the text may get before it wraps, in pixels.
@export_range(40.0, 1000.0, 1.0) var max_width: float = 220.0
@export var padding: Vector2 = Vector2(10, 6)
@export_range(0, 32) var corner_radius: int = 8
## Width and height of the tail under the bubble.
@export var tail_size: Vector2 = Vector2(12, 10)
@export var background_color: Color = Color(1.0, 1.0, 0.97, 0.95)
@export var border_color: Color = Color(0.16, 0.18, 0.24)
@export_range(0, 8) var border_width: int = 2
@export var text_color: Color = Color(0.1, 0.1, 0.14)

@export_group("3D")
## A 3D node to hover over; the bubble follows its projection on screen.
@export var follow_3d: Node3D
## Offset from [member follow_3d]'s origin, in its world units (above the head).
@export var offset_3d: Vector3 = Vector3(0.0, 2.0, 0.0)

var _queue: PackedStringArray = PackedStringArray()
var _current: String = ""
var _elapsed: float = 0.0
var _duration: float = 0.0


func _init() -> void:
	z_index = 100


func _process(delta: float) -> void:
	if follow_3d != null:
		_follow_camera()
	if _current.is_empty():
		return
	_elapsed += delta
	if _elapsed >= _duration:
		_next()
	queue_redraw()


func _draw() -> void:
	if _current.is_empty():
		return
	var alpha := _alpha()
	var used_font := font if font != null else ThemeDB.fallback_font
	var text_width := max_width - 2.0 * padding.x
	var text_size := used_font.get_multiline_string_size(
			_current, HORIZONTAL_ALIGNMENT_LEFT, text_width, font_size)
	var size := text_size + 2.0 * padding
	var rect := Rect2(Vector2(-size.x / 2.0, -tail_size.y - size.y), size)
	_draw_tail(rect, alpha)
	_box(alpha).draw(get_canvas_item(), rect)
	var baseline := rect.position + padding + Vector2(0.0, used_font.get_ascent(font_size))
	draw_multiline_string(used_font, baseline, _current, HORIZONTAL_ALIGNMENT_LEFT,
			text_width, font_size, -1, _faded(text_color, alpha))


## Queues [param text]; it shows as soon as the thoughts before it have had their time.
func show_thought(text: String) -> void:
	var line := text.strip_edges()
	if line.is_empty():
		return
	if _current.is_empty():
		_begin(line)
		return
	_queue.append(line)
	while _queue.size() > max_queued:
		_queue.remove_at(0)


## Hides the bubble and forgets every queued thought.
func clear() -> void:
	_queue.clear()
	_current = ""
	queue_redraw()


func is_showing() -> bool:
	return not _current.is_empty()


## The thought on screen now ("" when hidden).
func current_thought() -> String:
	return _current


func _begin(line: String) -> void:
	_current = line
	_elapsed = 0.0
	_duration = hold_time + time_per_char * line.length() + 2.0 * fade_time
	queue_redraw()
	thought_shown.emit(line)


func _next() -> void:
	if _queue.is_empty():
		_current = ""
		queue_redraw()
		emptied.emit()
		return
	var line := _queue[0]
	_queue.remove_at(0)
	_begin(line)


func _alpha() -> float:
	if fade_time <= 0.0:
		return 1.0
	var fade_in := _elapsed / fade_time
	var fade_out := (_duration - _elapsed) / fade_time
	return clampf(minf(fade_in, fade_out), 0.0, 1.0)


func _box(alpha: float) -> StyleBoxFlat:
	var box := StyleBoxFlat.new()
	box.bg_color = _faded(background_color, alpha)
	box.border_color = _faded(border_color, alpha)
	box.set_border_width_all(border_width)
	box.set_corner_radius_all(corner_radius)
	box.anti_aliasing = true
	return box


func _draw_tail(rect: Rect2, alpha: float) -> void:
	var bottom := rect.end.y
	var half := tail_size.x / 2.0
	var tip := Vector2.ZERO
	var left := Vector2(-half, bottom - border_width)
	var right := Vector2(half, bottom - border_width)
	draw_colored_polygon(PackedVector2Array([left, right, tip]), _faded(background_color, alpha))
	if border_width > 0:
		var edge := _faded(border_color, alpha)
		draw_line(Vector2(-half, bottom), tip, edge, border_width, true)
		draw_line(Vector2(half, bottom), tip, edge, border_width, true)


func _follow_camera() -> void:
	var camera := get_viewport().get_camera_3d()
	var point := follow_3d.global_position + offset_3d
	if camera == null or camera.is_position_behind(point):
		visible = false
		return
	visible = true
	global_position = camera.unproject_position(point)


static func _faded(color: Color, alpha: float) -> Color:
	return Color(color, color.a * alpha)
