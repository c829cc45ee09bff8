class_name Villager
extends Node2D
## A villager's body: needs that change over time, and the decisions of its [NPCBrainAgent]
## (the child node "Brain") carried out in the world (walk, eat, sleep, fight, flee, hide,
## trade, heal...).
##
## The villager calls its brain down ([method NPCBrainAgent.think] with [method snapshot]) when
## something changes (an event, a need crossing a threshold, the wolf coming close, the last
## action finished), never every frame, and hears back through the brain's signals. Every
## distance is in metres ([constant Village.PIXELS_PER_METER]), as the brain is told.

## The villager started carrying out a decision.
signal action_started(action: String, target: String)

const WALK_SPEED := 5.0 * Village.PIXELS_PER_METER
const RUN_SPEED := 8.5 * Village.PIXELS_PER_METER
## Close enough to touch, talk or hand something over (2 m).
const REACH := 2.0 * Village.PIXELS_PER_METER
## A question is asked again when the wolf, within danger range, came this much closer while
## the brain was thinking, so thoughts speak of where it is, not where it was.
const STALE_METERS := 4.0
## An adult's shapes (32 px from feet to the top of the head) drawn 1.7 m tall.
const DRAW_SCALE := 1.7 * Village.PIXELS_PER_METER / 32.0
## Seconds the "!" over the head shows after an event.
const STARTLE_TIME := 1.5
## Fewest seconds between two questions to the brain about ordinary things.
const THINK_GAP := 2.5
const HUNGRY := 70.0
const TIRED := 20.0
const WOUNDED := 30.0
const SKIN := Color(0.96, 0.8, 0.65)
const OUTLINE := Color(0.12, 0.1, 0.1)

## The colour of the villager's clothes (also how tests find it on screen).
@export var body_color: Color = Color(0.3, 0.4, 0.8)
## 1 for adults; children are drawn smaller.
@export_range(0.5, 1.5, 0.05) var body_scale: float = 1.0
@export var home_position: Vector2 = Vector2.ZERO
@export var work_position: Vector2 = Vector2.ZERO
@export_range(0.0, 100.0) var health: float = 100.0
@export_range(0.0, 100.0) var hunger: float = 20.0
@export_range(0.0, 100.0) var energy: float = 80.0
## Hunger gained per game hour.
@export_range(0.0, 20.0) var hunger_rate: float = 3.0
@export var gold: int = 10
@export var inventory: Dictionary = {}
## Damage per blow when fighting.
@export_range(0.0, 50.0) var strength: float = 10.0

var village: Village
## The villager's name, as its brain knows it.
var npc_name: String:
	get:
		return brain.npc_name
## The brain's verbs as designed in the scene; the brain is offered those allowed right now.
var designed_actions: PackedStringArray
## Inside a house: the wolf cannot see it, nor can the others.
var in_hiding: bool = false
var sleeping: bool = false
var activity: String = ""
var activity_target: String = ""

## Verb -> what starts it (action, target), one per verb the demo villagers use.
var _handlers: Dictionary = {}
## What the current activity does every frame.
var _tick: Callable
var _timer: float = 0.0
var _goal: Vector2 = Vector2.ZERO
var _arrived: bool = false
var _waypoints: Array[Vector2] = []
var _think_wanted: bool = true
var _think_cooldown: float = 0.0
var _help_cooldown: float = 0.0
var _danger_near: bool = false
var _bitten_flash: float = 0.0
var _shout: float = 0.0
var _startled: float = 0.0
## How far the wolf was when the brain was last asked (INF: not seen then).
var _wolf_meters_asked: float = INF

@onready var brain: NPCBrainAgent = $Brain
@onready var bubble: SpeechBubble = $Bubble


func _ready() -> void:
	village = get_parent().get_parent() as Village
	_think_cooldown = randf_range(0.2, 1.5)  # the villagers do not all speak at once
	designed_actions = brain.actions.duplicate()
	_handlers = {
		"attack": _begin_attack, "flee": _begin_flee, "hide": _begin_hide,
		"call_for_help": _begin_call_for_help, "eat": _begin_eat, "sleep": _begin_sleep,
		"rest": _begin_rest, "heal": _begin_heal, "trade": _begin_meet.bind(_do_trade),
		"talk": _begin_meet.bind(_do_talk), "give": _begin_meet.bind(_do_give),
		"follow": _begin_meet.bind(_do_follow), "patrol": _begin_patrol,
		"guard": _begin_guard, "investigate": _begin_investigate, "work": _begin_work,
		"wander": _begin_wander, "play": _begin_play, "go_home": _begin_go_home,
		"wait": _begin_wait,
	}
	brain.decision_made.connect(_on_decision_made)
	brain.decision_failed.connect(_on_decision_failed)
	village.event_happened.connect(_on_event_happened)


func _process(delta: float) -> void:
	_update_needs(delta)
	_watch_for_danger()
	if not activity.is_empty():
		_tick.call(delta)
	_maybe_think(delta)
	_bitten_flash = maxf(_bitten_flash - delta, 0.0)
	_shout = maxf(_shout - delta, 0.0)
	_startled = maxf(_startled - delta, 0.0)
	_help_cooldown = maxf(_help_cooldown - delta, 0.0)
	modulate.a = 0.4 if in_hiding else 1.0
	queue_redraw()


func _draw() -> void:
	draw_set_transform(Vector2.ZERO, 0.0, Vector2.ONE * body_scale * DRAW_SCALE)
	_draw_ellipse(Vector2(0, 14), Vector2(11, 4), Color(0, 0, 0, 0.25))
	var cloth := body_color.lerp(Color.RED, 0.7) if is_hurt_flashing() else body_color
	var body := PackedVector2Array([Vector2(-10, 13), Vector2(10, 13), Vector2(6, -5),
			Vector2(-6, -5)])
	draw_colored_polygon(body, cloth)
	draw_polyline(body + PackedVector2Array([body[0]]), OUTLINE, 1.0, true)
	draw_circle(Vector2(0, -12), 7.0, SKIN)
	draw_arc(Vector2(0, -12), 7.0, 0.0, TAU, 20, OUTLINE, 1.0, true)
	_draw_role_mark()
	draw_set_transform(Vector2.ZERO)
	var font := ThemeDB.fallback_font
	draw_string(font, Vector2(-40, 30), npc_name, HORIZONTAL_ALIGNMENT_CENTER, 80, 12,
			Color.WHITE)
	_draw_need_bar(36, health, Color(0.85, 0.2, 0.2))
	_draw_need_bar(40, 100.0 - hunger, Color(0.95, 0.6, 0.1))
	_draw_need_bar(44, energy, Color(0.3, 0.6, 1.0))
	if sleeping:
		draw_string(font, Vector2(10, -22), "z z", HORIZONTAL_ALIGNMENT_LEFT, -1, 14, Color.WHITE)
	if _shout > 0.0:
		draw_string(font, Vector2(-24, -26), "HELP!", HORIZONTAL_ALIGNMENT_CENTER, 48, 14,
				Color(1, 0.3, 0.2))
	elif _startled > 0.0:
		draw_string(font, Vector2(-12, -24), "!", HORIZONTAL_ALIGNMENT_CENTER, 24, 18,
				Color(1, 0.85, 0.2))


## The state the brain reads (docs/protocol.md §8); the brain adds id, name, role, traits.
func snapshot() -> Dictionary:
	var memory := village.recent_events(4)
	return {
		"health": roundi(health),
		"hunger": roundi(hunger),
		"energy": roundi(energy),
		"gold": gold,
		"inventory": inventory.duplicate(),
		"perception": village.perceive(self),
		"time_of_day": village.period,
		"location": village.location_of(self),
		"memory": Array(memory),
	}


## Verbs the brain may pick now: the designed ones, less calling for help again right away.
func allowed_actions(designed: PackedStringArray) -> PackedStringArray:
	var out := PackedStringArray()
	for verb: String in designed:
		if verb == "call_for_help" and _help_cooldown > 0.0:
			continue
		out.append(verb)
	return out


## True for a moment after a bite, while the villager is drawn flushed red.
func is_hurt_flashing() -> bool:
	return _bitten_flash > 0.0


func can_fight() -> bool:
	return "attack" in designed_actions and health > WOUNDED and not sleeping


## Someone called for help: run to them, then ask the brain what to do there.
func answer_call(caller: Villager) -> void:
	_stop_activity()
	_start("answer_call", _do_answer_call, caller.npc_name)
	_goal = caller.position


## Asks the brain soon; [param urgent] asks now, dropping a question still in flight.
func request_think(urgent: bool = false) -> void:
	_think_wanted = true
	if urgent:
		_think_cooldown = 0.0
		brain.cancel()


func take_bite(damage: float) -> void:
	health = maxf(health - damage, 0.0)
	_bitten_flash = 0.25
	if sleeping or in_hiding:
		_stop_activity()
	if health <= WOUNDED and health + damage > WOUNDED:
		village.log_line("%s is badly hurt" % npc_name)
	request_think(not brain.is_thinking())


func _update_needs(delta: float) -> void:
	var hours := delta * Village.HOURS_PER_SECOND
	var was_hungry := hunger >= HUNGRY
	var was_tired := energy <= TIRED
	hunger = minf(hunger + hunger_rate * hours, 100.0)
	var energy_rate := -3.0
	match activity:
		"sleep":
			energy_rate = 25.0 if sleeping else -3.0
		"rest":
			energy_rate = 10.0
		"work", "patrol", "flee", "attack", "play":
			energy_rate = -6.0
	energy = clampf(energy + energy_rate * hours, 0.0, 100.0)
	if activity in ["sleep", "rest"]:
		health = minf(health + 2.0 * hours, 100.0)
	if hunger >= 95.0:
		health = maxf(health - 2.0 * hours, 1.0)
	if (hunger >= HUNGRY and not was_hungry) or (energy <= TIRED and not was_tired):
		request_think()


func _watch_for_danger() -> void:
	var wolf := village.wolf
	var meters := village.meters(position, wolf.position) if wolf != null else INF
	var near := meters <= Village.DANGER_METERS
	if near and not _danger_near:
		request_think(true)
	elif near and brain.is_thinking() and meters < _wolf_meters_asked - STALE_METERS:
		request_think(true)  # close, and much closer than the brain was told: ask afresh
	_danger_near = near


func _maybe_think(delta: float) -> void:
	_think_cooldown = maxf(_think_cooldown - delta, 0.0)
	if activity.is_empty() and not brain.is_thinking():
		_think_wanted = true  # nothing to do: ask what next
	if not _think_wanted or _think_cooldown > 0.0 or brain.is_thinking():
		return
	_think_wanted = false
	_think_cooldown = THINK_GAP
	var wolf := village.wolf
	_wolf_meters_asked = village.meters(position, wolf.position) if wolf != null else INF
	brain.actions = allowed_actions(designed_actions)
	brain.think(snapshot())


## Every event startles the villager ("!") and makes it think again at once.
func _on_event_happened(_text: String) -> void:
	_startled = STARTLE_TIME
	request_think(true)


func _on_decision_made(action: String, target: String, _steps: PackedStringArray) -> void:
	village.log_decision(self, action, target)
	_stop_activity()
	var begin: Callable = _handlers.get(action, _begin_wait)
	begin.call(action, target)
	action_started.emit(action, target)


func _on_decision_failed(code: String, message: String) -> void:
	village.log_line("%s could not think (%s): %s" % [npc_name, code, message])
	_stop_activity()
	_begin_wait("wait", "")
	_think_cooldown = 3.0


# --- carrying out decisions: _begin_<kind> starts it, _do_<kind> runs it every frame.

func _start(kind: String, tick: Callable, target: String, seconds: float = 0.0) -> void:
	activity = kind
	_tick = tick
	activity_target = target
	_timer = seconds
	_arrived = false
	_goal = position


func _stop_activity() -> void:
	activity = ""
	activity_target = ""
	in_hiding = false
	sleeping = false
	_waypoints.clear()


## Done: the next question to the brain comes from [method _maybe_think].
func _finish() -> void:
	_stop_activity()


func _begin_attack(_action: String, target: String) -> void:
	_start("attack", _do_attack, target)


func _do_attack(delta: float) -> void:
	var wolf := village.wolf
	if wolf == null or not is_instance_valid(wolf):
		_finish()  # killed or gone; a retreating wolf is chased to the gate
		return
	if not _walk_to(wolf.position, RUN_SPEED, delta, REACH):
		return
	_timer -= delta
	if _timer <= 0.0:
		_timer = 1.0
		wolf.take_hit(strength)


func _begin_flee(_action: String, _target: String) -> void:
	_start("flee", _do_flee, "", 4.0)
	var threat := village.wolf.position if village.wolf != null else Village.GATE
	var away := (position - threat).normalized()
	if away == Vector2.ZERO:
		away = Vector2.RIGHT
	_goal = _clamp_to_world(position + away * 16.0 * Village.PIXELS_PER_METER)


func _do_flee(delta: float) -> void:
	_timer -= delta
	if _walk_to(_goal, RUN_SPEED, delta) or _timer <= 0.0:
		_finish()


func _begin_hide(_action: String, _target: String) -> void:
	_start("hide", _do_hide, "", 30.0)
	_goal = home_position


func _do_hide(delta: float) -> void:
	if not _walk_to(_goal, RUN_SPEED, delta):
		return
	in_hiding = true
	_timer -= delta
	if village.wolf == null or _timer <= 0.0:
		_finish()


func _begin_call_for_help(_action: String, _target: String) -> void:
	_start("call_for_help", _do_call_for_help, "", 1.5)
	_shout = 1.5
	_help_cooldown = 20.0
	village.call_for_help(self)


func _do_call_for_help(delta: float) -> void:
	_timer -= delta
	if _timer <= 0.0:
		_finish()


func _do_answer_call(delta: float) -> void:
	if _walk_to(_goal, RUN_SPEED, delta, REACH):
		_finish()


func _begin_eat(_action: String, target: String) -> void:
	_start("eat", _do_eat, target, 2.0)
	if int(inventory.get(target, 0)) > 0:
		_goal = position
	elif target == Village.GRANARY_FOOD and village.granary_food > 0:
		_goal = Village.GRANARY_DOOR
	else:
		village.log_line("%s finds no %s" % [npc_name, target])
		_finish()


func _do_eat(delta: float) -> void:
	if not _walk_to(_goal, WALK_SPEED, delta):
		return
	_timer -= delta
	if _timer > 0.0:
		return
	if int(inventory.get(activity_target, 0)) > 0:
		inventory[activity_target] = int(inventory[activity_target]) - 1
		if inventory[activity_target] == 0:
			inventory.erase(activity_target)
	elif village.granary_food > 0:
		village.granary_food -= 1
	else:
		_finish()
		return
	hunger = maxf(hunger - 45.0, 0.0)
	village.log_line("%s ate %s (hunger %d)" % [npc_name, activity_target, hunger])
	_finish()


func _begin_sleep(_action: String, _target: String) -> void:
	_start("sleep", _do_sleep, "")
	_goal = home_position


func _do_sleep(delta: float) -> void:
	if not _walk_to(_goal, WALK_SPEED, delta):
		return
	sleeping = true
	var rested := energy >= 95.0 and village.period != "night"
	if rested or (village.period in ["dawn", "day"] and energy >= 60.0):
		_finish()


func _begin_rest(_action: String, _target: String) -> void:
	_start("rest", _do_rest, "", 6.0)


func _do_rest(delta: float) -> void:
	_timer -= delta
	if _timer <= 0.0:
		_finish()


func _begin_heal(_action: String, target: String) -> void:
	_start("heal", _do_heal, target, 2.0)


func _do_heal(delta: float) -> void:
	var patient := village.villager_named(activity_target)
	if patient == null:
		patient = self
	if not _walk_to(patient.position, WALK_SPEED, delta, REACH):
		return
	_timer -= delta
	if _timer > 0.0:
		return
	var herbs := int(inventory.get("herbs", 0))
	if herbs > 0:
		inventory["herbs"] = herbs - 1
	patient.health = minf(patient.health + (40.0 if herbs > 0 else 15.0), 100.0)
	village.log_line("%s healed %s (health %d)" % [npc_name, patient.npc_name,
			patient.health])
	_finish()


## trade, talk, give and follow all start by walking up to the other villager.
func _begin_meet(action: String, target: String, tick: Callable) -> void:
	_start(action, tick, target, 8.0 if action == "follow" else 2.5)


func _do_trade(delta: float) -> void:
	var other := _meet(delta)
	if other != null and _timer <= 0.0:
		_trade_with(other)
		_finish()


func _do_talk(delta: float) -> void:
	if _meet(delta) != null and _timer <= 0.0:
		_finish()


func _do_give(delta: float) -> void:
	var other := _meet(delta)
	if other == null or _timer > 0.0:
		return
	var food := _food_held()
	if not food.is_empty():
		inventory[food] = int(inventory[food]) - 1
		if inventory[food] == 0:
			inventory.erase(food)
		other.inventory[food] = int(other.inventory.get(food, 0)) + 1
		village.log_line("%s gave %s %s" % [npc_name, other.npc_name, food])
	_finish()


func _do_follow(delta: float) -> void:
	var other := village.villager_named(activity_target)
	_timer -= delta
	if other == null or _timer <= 0.0:
		_finish()
		return
	_walk_to(other.position, WALK_SPEED, delta, REACH * 1.5)


## Walks up to the target villager; counts the meeting time down once there.
func _meet(delta: float) -> Villager:
	var other := village.villager_named(activity_target)
	if other == null or other.in_hiding:
		_finish()
		return null
	if _walk_to(other.position, WALK_SPEED, delta, REACH):
		_timer -= delta
	return other


func _trade_with(other: Villager) -> void:
	var bought := _food_held_by(other)
	var sold := _food_held()
	if gold >= 10 and not bought.is_empty():
		_move_food(other, self, bought)
		gold -= 10
		other.gold += 10
		village.log_line("%s bought %s from %s" % [npc_name, bought, other.npc_name])
	elif other.gold >= 10 and not sold.is_empty():
		_move_food(self, other, sold)
		other.gold -= 10
		gold += 10
		village.log_line("%s sold %s to %s" % [npc_name, sold, other.npc_name])
	else:
		village.log_line("%s and %s found nothing to trade" % [npc_name,
				other.npc_name])


func _begin_patrol(_action: String, _target: String) -> void:
	_start("patrol", _do_patrol, "")
	_waypoints = [Village.INSIDE_GATE, Village.WELL + Vector2(0, -60), Village.MARKET
			+ Vector2(0, 60), Village.INSIDE_GATE + Vector2(30, 30)]


func _do_patrol(delta: float) -> void:
	if _waypoints.is_empty():
		_finish()
	elif _walk_to(_waypoints[0], WALK_SPEED, delta):
		_waypoints.remove_at(0)


func _begin_guard(_action: String, _target: String) -> void:
	_start("guard", _do_guard, "", 10.0)
	_goal = work_position


func _do_guard(delta: float) -> void:
	if _walk_to(_goal, WALK_SPEED, delta):
		_timer -= delta
		if _timer <= 0.0:
			_finish()


func _begin_investigate(_action: String, target: String) -> void:
	_start("investigate", _do_investigate, target, 2.0)


func _do_investigate(delta: float) -> void:
	var spot := village.position_of(activity_target, position)
	if _walk_to(spot, WALK_SPEED, delta, REACH * 1.5):
		_timer -= delta
		if _timer <= 0.0:
			_finish()


func _begin_work(_action: String, _target: String) -> void:
	_start("work", _do_work, "", 12.0)
	_goal = work_position


## Farmers fill the granary, merchants earn gold, healers gather herbs.
func _do_work(delta: float) -> void:
	if not _walk_to(_goal, WALK_SPEED, delta):
		return
	var before := ceili(_timer / 4.0)
	_timer -= delta
	if ceili(_timer / 4.0) < before:
		match brain.role:
			"farmer":
				village.granary_food += 1
			"merchant":
				gold += 3
			"healer":
				inventory["herbs"] = mini(int(inventory.get("herbs", 0)) + 1, 5)
	if _timer <= 0.0:
		_finish()


func _begin_wander(_action: String, _target: String) -> void:
	_start("wander", _do_wander, "")
	var meters := randf_range(5.0, 11.0)
	_goal = _clamp_to_world(position + Vector2.from_angle(randf() * TAU) * meters
			* Village.PIXELS_PER_METER)


func _do_wander(delta: float) -> void:
	if _walk_to(_goal, WALK_SPEED * 0.7, delta):
		_finish()


func _begin_play(_action: String, _target: String) -> void:
	_start("play", _do_play, "", 8.0)
	_goal = position


func _do_play(delta: float) -> void:
	_timer -= delta
	if _walk_to(_goal, RUN_SPEED * 0.8, delta):
		_goal = _clamp_to_world(Village.WELL + Vector2.from_angle(randf() * TAU) * 4.5
				* Village.PIXELS_PER_METER)
	if _timer <= 0.0:
		_finish()


func _begin_go_home(_action: String, _target: String) -> void:
	_start("go_home", _do_go_home, "")
	_goal = home_position


func _do_go_home(delta: float) -> void:
	if _walk_to(_goal, WALK_SPEED, delta):
		_finish()


func _begin_wait(_action: String, _target: String) -> void:
	_start("wait", _do_wait, "", 4.0)


func _do_wait(delta: float) -> void:
	_timer -= delta
	if _timer <= 0.0:
		_finish()


## Moves toward [param goal] at [param speed] pixels a second; true once within
## [param within] pixels.
func _walk_to(goal: Vector2, speed: float, delta: float, within: float = 4.0) -> bool:
	var step := goal - position
	if step.length() <= within:
		_arrived = true
		return true
	position += step.limit_length(speed * delta)
	return false


func _clamp_to_world(point: Vector2) -> Vector2:
	var area := Village.WORLD_RECT
	return point.clamp(area.position, area.end)


func _food_held() -> String:
	return _food_held_by(self)


func _food_held_by(who: Villager) -> String:
	for item: String in Village.FOOD_ITEMS:
		if int(who.inventory.get(item, 0)) > 0:
			return item
	return ""


static func _move_food(from: Villager, to: Villager, item: String) -> void:
	from.inventory[item] = int(from.inventory[item]) - 1
	if from.inventory[item] == 0:
		from.inventory.erase(item)
	to.inventory[item] = int(to.inventory.get(item, 0)) + 1


func _draw_role_mark() -> void:
	match brain.role:
		"guard":
			draw_colored_polygon(PackedVector2Array([Vector2(-8, -14), Vector2(8, -14),
					Vector2(6, -21), Vector2(-6, -21)]), Color(0.65, 0.67, 0.72))
			draw_line(Vector2(13, 12), Vector2(13, -26), Color(0.45, 0.3, 0.15), 2.0)
			draw_colored_polygon(PackedVector2Array([Vector2(10, -26), Vector2(16, -26),
					Vector2(13, -33)]), Color(0.8, 0.82, 0.85))
		"merchant":
			draw_circle(Vector2(-11, 6), 5.0, Color(0.85, 0.7, 0.2))
			draw_string(ThemeDB.fallback_font, Vector2(-14, 10), "$",
					HORIZONTAL_ALIGNMENT_LEFT, -1, 10, OUTLINE)
		"farmer":
			draw_colored_polygon(PackedVector2Array([Vector2(-13, -15), Vector2(13, -15),
					Vector2(4, -23), Vector2(-4, -23)]), Color(0.93, 0.82, 0.4))
		"healer":
			draw_rect(Rect2(-1.5, -2, 3, 11), Color(0.9, 0.1, 0.15))
			draw_rect(Rect2(-5, 2, 10, 3), Color(0.9, 0.1, 0.15))
		"child":
			draw_line(Vector2(-6, -18), Vector2(-9, -24), Color(0.55, 0.35, 0.15), 2.0)
			draw_line(Vector2(6, -18), Vector2(9, -24), Color(0.55, 0.35, 0.15), 2.0)


func _draw_need_bar(y: float, value: float, color: Color) -> void:
	draw_rect(Rect2(-15, y, 30, 3), Color(0, 0, 0, 0.5))
	draw_rect(Rect2(-15, y, 30.0 * clampf(value, 0.0, 100.0) / 100.0, 3), color)


func _draw_ellipse(center: Vector2, radii: Vector2, color: Color) -> void:
	draw_colored_polygon(Shapes.ellipse(center, radii, 16), color)
