@tool
extends VBoxContainer
## The "NPC Brain" bottom panel: the game's connection, the sidecar's start/stop, and the
## stream of every NPC's requests; select one to read its state, actions and full trace.

const ThoughtLog := preload("thought_log.gd")
const SidecarProcess := preload("sidecar_process.gd")
const Settings := preload("../settings.gd")
const ALL_NPCS := "All NPCs"
const STATES := ["disconnected", "connecting", "connected"]

var _log: ThoughtLog
var _sidecar: SidecarProcess
var _dirty: bool = true
var _status: Label
var _sidecar_button: Button
var _filter: OptionButton
var _list: ItemList
var _detail: TextEdit


func setup(log_model: ThoughtLog, sidecar: SidecarProcess) -> void:
	_log = log_model
	_sidecar = sidecar
	_log.updated.connect(func() -> void: _dirty = true)
	_sidecar.state_changed.connect(func(_running: bool) -> void: _dirty = true)


func _ready() -> void:
	name = "NPCBrain"
	custom_minimum_size = Vector2(0, 220)
	_build_toolbar()
	var split := HSplitContainer.new()
	split.size_flags_vertical = Control.SIZE_EXPAND_FILL
	add_child(split)
	_list = ItemList.new()
	_list.custom_minimum_size = Vector2(320, 0)
	_list.item_selected.connect(func(_index: int) -> void: _show_selected())
	split.add_child(_list)
	_detail = TextEdit.new()
	_detail.editable = false
	_detail.wrap_mode = TextEdit.LINE_WRAPPING_BOUNDARY
	_detail.size_flags_horizontal = Control.SIZE_EXPAND_FILL
	_detail.placeholder_text = "Run the game and select a request to see why the NPC chose it."
	split.add_child(_detail)


func _process(_delta: float) -> void:
	# Thoughts stream in fast; the panel redraws at most once a frame, only when visible.
	if _dirty and is_visible_in_tree() and _log != null:
		_dirty = false
		_refresh()


func _build_toolbar() -> void:
	var bar := HBoxContainer.new()
	add_child(bar)
	_status = Label.new()
	_status.size_flags_horizontal = Control.SIZE_EXPAND_FILL
	bar.add_child(_status)
	_filter = OptionButton.new()
	_filter.item_selected.connect(func(_index: int) -> void: _dirty = true)
	bar.add_child(_filter)
	var clear := Button.new()
	clear.text = "Clear"
	clear.pressed.connect(func() -> void: _log.clear())
	bar.add_child(clear)
	_sidecar_button = Button.new()
	_sidecar_button.pressed.connect(_toggle_sidecar)
	bar.add_child(_sidecar_button)


func _toggle_sidecar() -> void:
	if _sidecar.is_running():
		_sidecar.stop()
	else:
		_sidecar.start(Settings.sidecar_command())
	_dirty = true


func _refresh() -> void:
	_status.text = _status_text()
	_sidecar_button.text = "Stop sidecar" if _sidecar.is_running() else "Start sidecar"
	_sidecar_button.tooltip_text = " ".join(Settings.sidecar_command())
	var chosen := _selected_npc()
	_filter.clear()
	_filter.add_item(ALL_NPCS)
	for npc_id: String in _log.npcs():
		_filter.add_item(npc_id)
		if npc_id == chosen:
			_filter.select(_filter.item_count - 1)
	var selected_id := _selected_request()
	_list.clear()
	for entry: Dictionary in _log.entries(_selected_npc()):
		_list.add_item(_log.summary(entry.id))
		_list.set_item_metadata(_list.item_count - 1, entry.id)
		if entry.id == selected_id:
			_list.select(_list.item_count - 1)
	_show_selected()


func _status_text() -> String:
	var sidecar := "sidecar running (pid %d)" % _sidecar.pid if _sidecar.is_running() else (
			"sidecar not started here" if _sidecar.last_error.is_empty() else _sidecar.last_error)
	if _log.connection.is_empty():
		return "Game not running · " + sidecar
	var state := int(_log.connection.get("state", 0))
	var text := "Game %s to %s" % [STATES[clampi(state, 0, 2)], _log.connection.get("address")]
	var error := str(_log.connection.get("error", ""))
	if state != 2 and not error.is_empty():
		text += " (%s)" % error
	return text + " · " + sidecar


func _selected_npc() -> String:
	if _filter.selected <= 0:
		return ""
	return _filter.get_item_text(_filter.selected)


func _selected_request() -> String:
	var picked := _list.get_selected_items()
	return str(_list.get_item_metadata(picked[0])) if not picked.is_empty() else ""


func _show_selected() -> void:
	var id := _selected_request()
	var text := _log.trace_text(id) if not id.is_empty() else ""
	if _detail.text != text:
		_detail.text = text
