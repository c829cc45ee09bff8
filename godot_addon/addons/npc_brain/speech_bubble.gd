@icon("res://addons/npc_brain/icons/speech_bubble.svg")
class_name SpeechBubble
extends Node2D
## A thought bubble: shows lines of text one after another, each with a fade in and out.
##
## Put it under an NPC where the bubble's tail should point (e.g. at [code](0, -40)[/code],
## just above the head) and call [method show_thought], or let an [NPCBrainAgent] feed it.
## Drawn with shapes and the project's default font, no textures; every colour, size and
## timing is an export. In a 3D scene, set [member follow_3d]: the bubble then tracks that
## node's screen position through the active camera.
##
## Bubbles of nearby NPCs never overlap: every frame the bubbles showing in one viewport are
## laid out together, the lowest first, each one moved up (or down, near the top edge) just
## clear of those already placed, and all kept inside the visible screen; the tail then points
## from the box to its NPC. [member avoid_overlap] turns this off for one bubble.

## A thought became visible.
signal thought_shown(text: String)
## The last queued thought faded out.
signal emptied

## Every SpeechBubble in the tree, for the shared layout.
const GROUP := &"npc_brain_speech_bubbles"

## The frame of the last layout pass, shared by all bubbles: one pass per frame lays out all.
static var _laid_out_frame: int = -1

@export_group("Timing")
## Seconds a thought stays fully visible at the least.
@export_range(0.1, 10.0, 0.05) var hold_time: float = 1.4
## Extra reading time per character, in seconds.
@export_range(0.0, 0.2, 0.005) var time_per_char: float = 0.03
## Seconds of fade in and of fade out.
@export_range(0.0, 2.0, 0.05) var fade_time: float = 0.2
## Thoughts waiting beyond this many are dropped, oldest first, so the bubble keeps up.
@export_range(1, 64) var max_queued: int = 6

@export_group("Layout")
## Move out of the way of other bubbles and stay on screen.
@export var avoid_overlap: bool = true
## Least space between two bubbles and between a bubble and the screen edge, in pixels.
@export_range(0.0, 64.0, 1.0) var spacing: float = 4.0

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
var _box_size: Vector2 = Vector2.ZERO
## Where the layout moved the box, in screen pixels from its usual place over the NPC.
var _shift: Vector2 = Vector2.ZERO
## Tails are drawn one layer below every box, so a long one never covers another bubble.
var _tail_layer := Node2D.new()


func _init() -> void:
	z_index = 100
	_tail_layer.z_index = -1
	_tail_layer.draw.connect(_draw_tail)
	add_child(_tail_layer, false, Node.INTERNAL_MODE_FRONT)


func _enter_tree() -> void:
	add_to_group(GROUP)


func _process(delta: float) -> void:
	if follow_3d != null:
		_follow_camera()
	if Engine.get_process_frames() != _laid_out_frame:
		_laid_out_frame = Engine.get_process_frames()
		SpeechBubble.lay_out(get_tree().get_nodes_in_group(GROUP))
	if _current.is_empty():
		return
	_elapsed += delta
	if _elapsed >= _duration:
		_next()
	queue_redraw()


func _draw() -> void:
	_tail_layer.queue_redraw()
	if _current.is_empty():
		return
	var alpha := _alpha()
	var used_font := _font()
	var rect := _local_box()
	_box(alpha).draw(get_canvas_item(), rect)
	var baseline := rect.position + padding + Vector2(0.0, used_font.get_ascent(font_size))
	draw_multiline_string(used_font, baseline, _current, HORIZONTAL_ALIGNMENT_LEFT,
			max_width - 2.0 * padding.x, font_size, -1, _faded(text_color, alpha))


## The box on screen (canvas pixels) as drawn now, after the layout; empty when hidden.
func screen_rect() -> Rect2:
	if _current.is_empty():
		return Rect2()
	return Rect2(_anchor_rect().position + _shift, _box_size)


## Lays out every showing bubble of [param bubbles], viewport by viewport (called once a
## frame by the bubbles themselves; call it after moving NPCs to update at once).
static func lay_out(bubbles: Array) -> void:
	var by_viewport := {}
	for node: Node in bubbles:
		var bubble := node as SpeechBubble
		if bubble == null:
			continue
		bubble._shift = Vector2.ZERO
		if bubble.avoid_overlap and bubble.is_showing() and bubble.is_visible_in_tree():
			var viewport := bubble.get_viewport()
			if not by_viewport.has(viewport):
				by_viewport[viewport] = []
			by_viewport[viewport].append(bubble)
	for viewport: Viewport in by_viewport:
		_lay_out_on(by_viewport[viewport], viewport.get_visible_rect())


static func _lay_out_on(bubbles: Array, screen: Rect2) -> void:
	# Lowest NPC first: it keeps its place, the ones above it make room.
	bubbles.sort_custom(func(a: SpeechBubble, b: SpeechBubble) -> bool:
		return a._anchor_rect().end.y > b._anchor_rect().end.y)
	var placed: Array[Rect2] = []
	for bubble: SpeechBubble in bubbles:
		var rect := bubble._placed(bubble._anchor_rect(), placed, screen)
		bubble._shift = rect.position - bubble._anchor_rect().position
		bubble.queue_redraw()
		placed.append(rect)


## [param rect] moved clear of [param placed] and inside [param screen]: up, or beside the
## bubble in the way, whichever moves it least; down when neither fits.
func _placed(rect: Rect2, placed: Array[Rect2], screen: Rect2) -> Rect2:
	var inner := screen.grow(-spacing)
	var start := _clamped(rect, inner)
	var starts: Array[Rect2] = [start]
	var hit := _first_hit(start.grow(spacing * 0.99), placed)
	if hit.size != Vector2.ZERO:
		var left := Vector2(hit.position.x - start.size.x - spacing, start.position.y)
		var right := Vector2(hit.end.x + spacing, start.position.y)
		starts.append(_clamped(Rect2(left, start.size), inner))
		starts.append(_clamped(Rect2(right, start.size), inner))
	var best := Rect2()
	var best_move := INF
	for candidate: Rect2 in starts:
		var up := _climbed(candidate, placed, inner)
		var move := up.position.distance_to(start.position)
		if up.size != Vector2.ZERO and move < best_move:
			best = up
			best_move = move
	if best.size != Vector2.ZERO:
		return best
	var down := start
	for i: int in placed.size() + 1:
		hit = _first_hit(down.grow(spacing * 0.99), placed)
		if hit.size == Vector2.ZERO or down.end.y > inner.end.y:
			break
		down.position.y = hit.end.y + spacing
	return _clamped(down, inner)


## [param rect] moved up until clear of [param placed]; empty when it would leave [param area].
func _climbed(rect: Rect2, placed: Array[Rect2], area: Rect2) -> Rect2:
	var up := rect
	for i: int in placed.size() + 1:
		var hit := _first_hit(up.grow(spacing * 0.99), placed)
		if hit.size == Vector2.ZERO:
			return up
		up.position.y = hit.position.y - up.size.y - spacing
		if up.position.y < area.position.y:
			break
	return Rect2()


static func _first_hit(rect: Rect2, placed: Array[Rect2]) -> Rect2:
	for other: Rect2 in placed:
		if other.intersects(rect):
			return other
	return Rect2()


static func _clamped(rect: Rect2, area: Rect2) -> Rect2:
	var out := rect
	out.position.x = clampf(out.position.x, area.position.x, maxf(area.end.x - out.size.x,
			area.position.x))
	out.position.y = clampf(out.position.y, area.position.y, maxf(area.end.y - out.size.y,
			area.position.y))
	return out


## The box where it would be without the layout, in screen (canvas) pixels.
func _anchor_rect() -> Rect2:
	var anchor := get_global_transform_with_canvas().origin
	return Rect2(anchor + Vector2(-_box_size.x / 2.0, -tail_size.y - _box_size.y), _box_size)


## The box in this node's coordinates, after the layout's shift.
func _local_box() -> Rect2:
	var shift := get_global_transform_with_canvas().affine_inverse().basis_xform(_shift)
	return Rect2(Vector2(-_box_size.x / 2.0, -tail_size.y - _box_size.y) + shift, _box_size)


func _font() -> Font:
	return font if font != null else ThemeDB.fallback_font


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


## Forgets the thoughts waiting their turn; the one on screen keeps its time. An NPC that
## starts thinking anew calls it, so no thought of the old question shows after the new one.
func drop_queued() -> void:
	_queue.clear()


## The thoughts waiting their turn, oldest first.
func queued() -> PackedStringArray:
	return _queue.duplicate()


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
	var text_size := _font().get_multiline_string_size(
			line, HORIZONTAL_ALIGNMENT_LEFT, max_width - 2.0 * padding.x, font_size)
	_box_size = text_size + 2.0 * padding
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


## From the box edge nearest the NPC to the NPC (the node's origin), wherever the box went.
func _draw_tail() -> void:
	var rect := _local_box()
	var tip := Vector2.ZERO
	if _current.is_empty() or rect.has_point(tip):
		return
	var alpha := _alpha()
	var below := tip.y >= rect.end.y
	var edge_y := rect.end.y if below else rect.position.y
	var inset := float(border_width) if below else -float(border_width)
	var half := tail_size.x / 2.0
	var x := clampf(tip.x, rect.position.x + corner_radius + half,
			rect.end.x - corner_radius - half)
	var left := Vector2(x - half, edge_y - inset)
	var right := Vector2(x + half, edge_y - inset)
	_tail_layer.draw_colored_polygon(PackedVector2Array([left, right, tip]),
			_faded(background_color, alpha))
	if border_width > 0:
		var edge := _faded(border_color, alpha)
		_tail_layer.draw_line(Vector2(x - half, edge_y), tip, edge, border_width, true)
		_tail_layer.draw_line(Vector2(x + half, edge_y), tip, edge, border_width, true)


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
