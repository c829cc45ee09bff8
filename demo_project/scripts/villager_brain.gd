class_name VillagerBrain
extends NPCBrainAgent
## The [NPCBrainAgent] of one [Villager]: its state comes from the villager's body and the
## village around it ([method gather_state]); role, traits and actions are the exports set in
## village.tscn.

var _designed_actions: PackedStringArray


func _ready() -> void:
	super()
	_designed_actions = actions.duplicate()


## Asks the brain with the verbs allowed right now (the designed ones, less any the villager
## may not use again yet).
func think_now() -> String:
	actions = (get_parent() as Villager).allowed_actions(_designed_actions)
	return think()


func gather_state() -> Dictionary:
	return (get_parent() as Villager).snapshot()
