class_name Village
extends Node2D
## The demo village: the clock, the granary, the wolf and the events the player triggers.
##
## Villagers ask the village what they can see ([method perceive]) and where they are
## ([method location_of]); the village tells every villager when something happens
## ([signal event_happened]) so each one asks its brain what to do about it.
## Keys: W a wolf comes, F the food runs out, S a storm rolls in, N night falls (or day
## breaks).

## Something every villager should hear about, e.g. "a wolf came out of the forest".
signal event_happened(text: String)
## A line for the HUD's log (decisions and what came of them).
signal logged(line: String)
## The time of day moved on to [param period]: "dawn", "day", "dusk" or "night".
signal period_changed(period: String)
## The clock moved on, the granary changed or the wolf moved: redraw what depends on them.
signal world_changed

const PIXELS_PER_METER := 16.0
## Villagers notice things this close.
const PERCEPTION_METERS := 30.0
## A hostile creature this close is a danger (the brain's own threshold, docs/teacher.md).
const DANGER_METERS := 15.0
## Game hours that pass in one real second: a day lasts four minutes.
const HOURS_PER_SECOND := 0.1
const FOOD_ITEMS: PackedStringArray = ["bread", "apple", "cheese"]
const GRANARY_FOOD := "bread"
const WORLD_RECT := Rect2(170, 110, 1090, 590)
const GATE := Vector2(150, 380)
const INSIDE_GATE := Vector2(190, 380)
const WOLF_DEN := Vector2(40, 380)
const GRANARY_DOOR := Vector2(735, 560)
const WELL := Vector2(540, 450)
const POND := Vector2(1180, 160)
const CAMPFIRE := Vector2(450, 330)
const MARKET := Vector2(640, 300)
const FIELD := Rect2(900, 470, 340, 200)
const LANDMARKS := {
	"gate": GATE,
	"market": MARKET,
	"square": WELL,
	"farm": Vector2(1070, 440),
	"forest": Vector2(60, 60),
}
const LOG_KEEP := 12

@export_range(0.0, 24.0, 0.25) var start_hour: float = 7.5
@export_range(0, 99) var granary_food: int = 12:
	set = set_granary_food

var hour: float = 0.0
var day: int = 1
var period: String = ""
var wolf: Wolf = null
var log_lines: PackedStringArray = PackedStringArray()

var _redraw_timer: float = 0.0

@onready var villagers_node: Node2D = $Villagers


func _enter_tree() -> void:
	# Before the children's _ready: the HUD and villagers read the clock from the start.
	hour = start_hour
	period = period_at(hour)
	_apply_brain_address()


func _process(delta: float) -> void:
	_advance_clock(delta)
	_redraw_timer -= delta
	if _redraw_timer <= 0.0:
		_redraw_timer = 0.25
		world_changed.emit()


func _unhandled_input(event: InputEvent) -> void:
	var key := event as InputEventKey
	if key == null or not key.pressed or key.echo:
		return
	match key.keycode:
		KEY_W:
			trigger_event("wolf")
		KEY_F:
			trigger_event("food")
		KEY_S:
			trigger_event("storm")
		KEY_N:
			trigger_event("night")


## Starts one of the player's events: "wolf", "food" (the food runs out), "storm" (news
## every villager remembers, and the brain reads for what it recalls) or "night" (night
## falls; at night, day breaks instead).
func trigger_event(kind: String) -> void:
	match kind:
		"wolf":
			spawn_wolf()
		"food":
			run_out_of_food()
		"storm":
			announce("a storm is rolling in, the wind is rising")
		"night":
			if period == "night":
				_set_hour(6.0)
			else:
				_set_hour(20.0)


func spawn_wolf() -> void:
	if wolf != null:
		return
	wolf = Wolf.new()
	wolf.name = "Wolf"
	wolf.village = self
	wolf.position = WOLF_DEN
	wolf.left.connect(_on_wolf_left)
	add_child(wolf)
	announce("a wolf came out of the forest")


func run_out_of_food() -> void:
	granary_food = 0
	for villager: Villager in villagers():
		for item: String in FOOD_ITEMS:
			villager.inventory.erase(item)
	announce("the food ran out")


## Tells everybody: logs [param text] and emits [signal event_happened].
func announce(text: String) -> void:
	log_line("** " + text)
	event_happened.emit(text)


func log_line(text: String) -> void:
	var line := "%s %s" % [clock_text(), text]
	print(line)
	log_lines.append(line)
	if log_lines.size() > LOG_KEEP:
		log_lines.remove_at(0)
	logged.emit(line)


func log_decision(villager: Villager, action: String, target: String) -> void:
	var what := action if target.is_empty() else "%s %s" % [action, target]
	log_line("%s: %s" % [villager.npc_name, what])


## Fighters come running: every villager who may attack heads for [param caller].
func call_for_help(caller: Villager) -> void:
	announce("%s called for help" % caller.npc_name)
	for villager: Villager in villagers():
		if villager != caller and villager.can_fight():
			villager.answer_call(caller)


func villagers() -> Array[Villager]:
	var out: Array[Villager] = []
	for child: Node in villagers_node.get_children():
		if child is Villager:
			out.append(child)
	return out


func villager_named(npc_name: String) -> Villager:
	for villager: Villager in villagers():
		if villager.npc_name == npc_name:
			return villager
	return null


## Where the thing called [param entity_name] is, or [param fallback] when it is gone.
func position_of(entity_name: String, fallback: Vector2) -> Vector2:
	var villager := villager_named(entity_name)
	if villager != null:
		return villager.position
	if entity_name == "wolf" and wolf != null:
		return wolf.position
	match entity_name:
		GRANARY_FOOD:
			return GRANARY_DOOR
		"well":
			return WELL
		"pond":
			return POND
	return fallback


## What [param viewer] notices now, as protocol perception entries (docs/protocol.md §8).
func perceive(viewer: Villager) -> Array[Dictionary]:
	var seen: Array[Dictionary] = []
	for other: Villager in villagers():
		if other != viewer and not other.in_hiding:
			var person := _entity(viewer, other.npc_name, "person", other.position)
			if other.health < 60.0:
				person["health"] = roundi(other.health)
			seen.append(person)
	if wolf != null and wolf.health > 0.0:
		var beast := _entity(viewer, "wolf", "animal", wolf.position)
		beast["hostile"] = true
		beast["health"] = roundi(wolf.health)
		beast["strength"] = Wolf.STRENGTH
		seen.append(beast)
	if granary_food > 0:
		seen.append(_entity(viewer, GRANARY_FOOD, "food", GRANARY_DOOR))
	seen.append(_entity(viewer, "well", "water", WELL))
	seen.append(_entity(viewer, "pond", "water", POND))
	var near: Array[Dictionary] = []
	for entry: Dictionary in seen:
		if entry.distance <= PERCEPTION_METERS:
			near.append(entry)
	return near


## "home" near the villager's own house, else the nearest landmark's name.
func location_of(villager: Villager) -> String:
	if villager.position.distance_to(villager.home_position) < 60.0:
		return "home"
	var best := ""
	var best_distance := INF
	for place: String in LANDMARKS:
		var distance := villager.position.distance_to(LANDMARKS[place])
		if distance < best_distance:
			best = place
			best_distance = distance
	return best


func meters(a: Vector2, b: Vector2) -> float:
	return a.distance_to(b) / PIXELS_PER_METER


## The nearest villager the wolf can see (hidden ones are safe), or null.
func nearest_prey(from: Vector2) -> Villager:
	var best: Villager = null
	for villager: Villager in villagers():
		if villager.in_hiding:
			continue
		if best == null or from.distance_to(villager.position) < from.distance_to(best.position):
			best = villager
	return best


## Memory lines the brain may read: the last few events, newest last.
func recent_events(count: int) -> PackedStringArray:
	var out := PackedStringArray()
	for line: String in log_lines.slice(-count):
		if line.contains("** "):
			out.append(line.get_slice("** ", 1))
	return out


func set_granary_food(value: int) -> void:
	granary_food = maxi(value, 0)
	world_changed.emit()


func clock_text() -> String:
	var minutes := int(hour * 60.0) % (24 * 60)
	return "%02d:%02d" % [minutes / 60, minutes % 60]


## 0 by day, up to 0.6 at night, fading through dawn and dusk.
func darkness() -> float:
	if hour >= 20.0 or hour < 5.0:
		return 0.6
	if hour < 7.0:
		return 0.6 * (7.0 - hour) / 2.0
	if hour >= 18.0:
		return 0.6 * (hour - 18.0) / 2.0
	return 0.0


## The protocol's time words for an hour (npc_brain/npc/state.py hour_to_time).
static func period_at(at_hour: float) -> String:
	var h := int(at_hour) % 24
	if h >= 5 and h < 7:
		return "dawn"
	if h >= 7 and h < 18:
		return "day"
	if h >= 18 and h < 20:
		return "dusk"
	return "night"


func _advance_clock(delta: float) -> void:
	_set_hour(hour + delta * HOURS_PER_SECOND)


func _set_hour(value: float) -> void:
	if value >= 24.0:
		value -= 24.0
	if value < hour:
		day += 1  # past midnight, or skipped ahead to the next morning
	hour = value
	var now := period_at(hour)
	if now == period:
		return
	period = now
	period_changed.emit(period)
	var news := {
		"dawn": "day broke",
		"day": "the sun is up",
		"dusk": "the sun is setting",
		"night": "night fell",
	}
	announce(news[period])


func _entity(viewer: Villager, entity_name: String, kind: String, at: Vector2) -> Dictionary:
	var distance := snappedf(meters(viewer.position, at), 0.1)
	return {"name": entity_name, "kind": kind, "distance": distance, "hostile": false}


func _on_wolf_left(defeated: bool) -> void:
	wolf = null
	announce("the wolf was killed" if defeated else "the wolf ran back into the forest")


func _apply_brain_address() -> void:
	# The demo page passes the sidecar's WebSocket relay as a user argument (npc-brain demo).
	for arg: String in OS.get_cmdline_user_args():
		if arg.begins_with("brain="):
			NPCBrain.address = arg.trim_prefix("brain=")
