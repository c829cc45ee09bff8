class_name Wolf
extends Node2D
## A hungry wolf: comes in through the gate, hunts the nearest villager it can see, bites,
## and runs back to the forest when badly hurt or after a while. Drawn with shapes only.

## The wolf is gone: killed ([param defeated]) or back in the forest.
signal left(defeated: bool)

## How strong the villagers' brains are told it is (perception "strength", 0-100).
const STRENGTH := 60
## Prowling and running speeds, and how close it must be to bite, in metres (per second).
const SPEED := 3.9 * Village.PIXELS_PER_METER
const RETREAT_SPEED := 7.5 * Village.PIXELS_PER_METER
const BITE_RANGE := 1.75 * Village.PIXELS_PER_METER
const BITE_DAMAGE := 12.0
const BITE_INTERVAL := 1.6
## Below this health it gives up and runs.
const FLEE_HEALTH := 30.0
## Seconds it prowls before going back to the forest on its own.
const PATIENCE := 75.0
## Its shapes (65 px nose to tail) drawn 2 m long, to the metre scale the brains are told.
const DRAW_SCALE := 2.0 * Village.PIXELS_PER_METER / 65.0
const FUR := Color(0.45, 0.45, 0.5)
const FUR_DARK := Color(0.3, 0.3, 0.35)
const EYE := Color(0.95, 0.8, 0.1)

var village: Village
var health: float = 100.0
var retreating: bool = false

var _bite_cooldown: float = 0.0
var _prowled: float = 0.0
var _hurt_flash: float = 0.0
var _facing: float = 1.0


func _process(delta: float) -> void:
	_bite_cooldown = maxf(_bite_cooldown - delta, 0.0)
	_hurt_flash = maxf(_hurt_flash - delta, 0.0)
	_prowled += delta
	if retreating or _prowled > PATIENCE:
		retreating = true
		_retreat(delta)
	else:
		_hunt(delta)
	queue_redraw()


func _draw() -> void:
	var fur := FUR.lerp(Color.RED, 0.6) if is_hurt_flashing() else FUR
	draw_set_transform(Vector2.ZERO, 0.0, Vector2(_facing, 1.0) * DRAW_SCALE)
	_draw_ellipse(Vector2(0, 12), Vector2(24, 6), Color(0, 0, 0, 0.25))
	draw_colored_polygon(PackedVector2Array([
		Vector2(-22, -2), Vector2(-34, -10), Vector2(-30, 0), Vector2(-20, 4),
	]), FUR_DARK)
	_draw_ellipse(Vector2(-4, 0), Vector2(20, 9), fur)
	for leg_x: float in [-16.0, -8.0, 4.0, 11.0]:
		draw_line(Vector2(leg_x, 6), Vector2(leg_x, 13), FUR_DARK, 3.0)
	draw_colored_polygon(PackedVector2Array([
		Vector2(10, -8), Vector2(26, -6), Vector2(31, 0), Vector2(22, 4), Vector2(12, 2),
	]), fur)
	draw_colored_polygon(PackedVector2Array([
		Vector2(12, -8), Vector2(15, -17), Vector2(19, -7),
	]), FUR_DARK)
	draw_circle(Vector2(22, -3), 2.0, EYE)
	draw_set_transform(Vector2.ZERO)
	var bar := Rect2(-12, -14, 24, 3)
	draw_rect(bar, Color(0.1, 0.1, 0.1, 0.8))
	draw_rect(Rect2(bar.position, Vector2(bar.size.x * health / 100.0, bar.size.y)),
			Color(0.85, 0.15, 0.15))


## True for a moment after a blow, while the wolf is drawn flushed red.
func is_hurt_flashing() -> bool:
	return _hurt_flash > 0.0


## A villager struck it.
func take_hit(damage: float) -> void:
	if health <= 0.0:
		return
	health = maxf(health - damage, 0.0)
	_hurt_flash = 0.2
	if health <= 0.0:
		left.emit(true)
		queue_free()
	elif health <= FLEE_HEALTH:
		retreating = true


func _hunt(delta: float) -> void:
	var prey := village.nearest_prey(position)
	if prey == null:
		_walk(Village.INSIDE_GATE, SPEED * 0.5, delta)
		return
	var goal := prey.position
	if position.x < Village.INSIDE_GATE.x - 4.0:
		goal = Village.INSIDE_GATE  # the palisade: in through the gate
	if position.distance_to(prey.position) > BITE_RANGE:
		_walk(goal, SPEED, delta)
	elif _bite_cooldown <= 0.0:
		_bite_cooldown = BITE_INTERVAL
		prey.take_bite(BITE_DAMAGE)


func _retreat(delta: float) -> void:
	var goal := Village.WOLF_DEN if position.x < Village.INSIDE_GATE.x else Village.INSIDE_GATE
	if goal == Village.INSIDE_GATE and position.distance_to(goal) < 8.0:
		goal = Village.WOLF_DEN
	_walk(goal, RETREAT_SPEED, delta)
	if position.distance_to(Village.WOLF_DEN) < 8.0:
		left.emit(false)
		queue_free()


func _walk(goal: Vector2, speed: float, delta: float) -> void:
	var step := goal - position
	if step.length() < 1.0:
		return
	_facing = 1.0 if step.x >= 0.0 else -1.0
	position += step.limit_length(speed * delta)


func _draw_ellipse(center: Vector2, radii: Vector2, color: Color) -> void:
	draw_colored_polygon(Shapes.ellipse(center, radii, 20), color)
