class_name Shapes
extends RefCounted
## Shape helpers shared by the village's drawings (everything is drawn, no textures).


## The corners of an ellipse outline, for draw_colored_polygon().
static func ellipse(center: Vector2, radii: Vector2, segments: int) -> PackedVector2Array:
	var points := PackedVector2Array()
	for i: int in segments:
		var angle := TAU * i / float(segments)
		points.append(center + Vector2(cos(angle) * radii.x, sin(angle) * radii.y))
	return points
