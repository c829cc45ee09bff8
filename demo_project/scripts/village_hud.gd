class_name VillageHud
extends CanvasLayer
## The HUD: time of day, granary, brain connection, the log of decisions, and buttons for
## the player's events (also on the keys W, F and N). Built from default-theme controls.

const LOG_LINES := 8

## The brain connection line, e.g. "Brain: connected to ws://127.0.0.1:5556".
var status_text: String:
	get:
		return _status.text

var _clock: Label
var _status: Label
var _log: Label
var _night_button: Button

@onready var village: Village = get_parent() as Village


func _ready() -> void:
	_build_status_panel()
	_build_log_panel()
	_build_buttons()
	village.logged.connect(_on_logged)
	village.period_changed.connect(_on_period_changed)
	NPCBrain.connection_state_changed.connect(_on_connection_state_changed)
	_on_connection_state_changed(NPCBrain.get_connection_state())
	_on_period_changed(village.period)


func _process(_delta: float) -> void:
	_clock.text = "Day %d  %s  (%s)   Granary: %d bread" % [
		village.day, village.clock_text(), village.period, village.granary_food]


func _build_status_panel() -> void:
	var panel := _panel(Control.PRESET_TOP_LEFT, Vector2(8, 8))
	var rows := VBoxContainer.new()
	panel.add_child(rows)
	_clock = Label.new()
	rows.add_child(_clock)
	_status = Label.new()
	_status.add_theme_font_size_override("font_size", 13)
	rows.add_child(_status)


func _build_log_panel() -> void:
	var panel := _panel(Control.PRESET_BOTTOM_LEFT, Vector2(8, -8))
	panel.custom_minimum_size = Vector2(330, 0)
	var rows := VBoxContainer.new()
	panel.add_child(rows)
	var title := Label.new()
	title.text = "What the villagers decided"
	title.add_theme_color_override("font_color", Color(1.0, 0.85, 0.45))
	rows.add_child(title)
	_log = Label.new()
	_log.add_theme_font_size_override("font_size", 12)
	rows.add_child(_log)


func _build_buttons() -> void:
	var bar := HBoxContainer.new()
	bar.add_theme_constant_override("separation", 8)
	add_child(bar)
	bar.set_anchors_and_offsets_preset(Control.PRESET_CENTER_BOTTOM, Control.PRESET_MODE_MINSIZE,
			8)
	_add_button(bar, "A wolf comes [W]", "wolf")
	_add_button(bar, "Food runs out [F]", "food")
	_add_button(bar, "A storm rolls in [S]", "storm")
	_night_button = _add_button(bar, "Night falls [N]", "night")
	bar.grow_horizontal = Control.GROW_DIRECTION_BOTH
	bar.grow_vertical = Control.GROW_DIRECTION_BEGIN


func _add_button(bar: HBoxContainer, text: String, event: String) -> Button:
	var button := Button.new()
	button.text = text
	button.focus_mode = Control.FOCUS_NONE  # keys stay with the village
	button.pressed.connect(village.trigger_event.bind(event))
	bar.add_child(button)
	return button


func _panel(preset: Control.LayoutPreset, offset: Vector2) -> PanelContainer:
	var panel := PanelContainer.new()
	var style := StyleBoxFlat.new()
	style.bg_color = Color(0.05, 0.06, 0.1, 0.72)
	style.set_corner_radius_all(6)
	style.set_content_margin_all(8)
	panel.add_theme_stylebox_override("panel", style)
	add_child(panel)
	panel.set_anchors_and_offsets_preset(preset, Control.PRESET_MODE_MINSIZE)
	panel.position += offset
	panel.grow_vertical = (Control.GROW_DIRECTION_BEGIN if preset == Control.PRESET_BOTTOM_LEFT
			else Control.GROW_DIRECTION_END)
	return panel


func _on_logged(_line: String) -> void:
	_log.text = "\n".join(village.log_lines.slice(-LOG_LINES))


func _on_period_changed(period: String) -> void:
	_night_button.text = "Day breaks [N]" if period == "night" else "Night falls [N]"


func _on_connection_state_changed(state: int) -> void:
	var where: String = NPCBrain.address
	match state:
		NPCBrain.ConnectionState.CONNECTED:
			_status.text = "Brain: connected to %s" % where
		NPCBrain.ConnectionState.CONNECTING:
			_status.text = "Brain: connecting to %s..." % where
		_:
			var why: String = NPCBrain.last_error
			_status.text = "Brain: offline, retrying %s%s" % [where,
					"" if why.is_empty() else " (%s)" % why]
