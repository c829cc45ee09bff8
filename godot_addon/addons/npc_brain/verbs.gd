extends RefCounted
## The sidecar's canonical verbs (docs/protocol.md), in its order. A game verb outside this
## list must be declared in [member NPCBrainAgent.aliases] as game verb -> canonical verb.

const CANONICAL: PackedStringArray = [
	"attack", "flee", "hide", "call_for_help", "eat", "drink", "sleep", "rest", "heal", "trade",
	"talk", "patrol", "guard", "follow", "investigate", "pick_up", "give", "work", "wander",
	"steal", "hunt", "go_home", "play", "wait",
]


## The verbs an agent may list: the canonical ones and the game verbs of [param aliases].
static func known(aliases: Dictionary) -> PackedStringArray:
	var out := CANONICAL.duplicate()
	for game_verb: Variant in aliases:
		if str(game_verb) not in out:
			out.append(str(game_verb))
	return out


## Entries of [param actions] the sidecar would refuse, in order, each once.
static func unknown(actions: PackedStringArray, aliases: Dictionary) -> PackedStringArray:
	var allowed := known(aliases)
	var out := PackedStringArray()
	for verb: String in actions:
		if verb not in allowed and verb not in out:
			out.append(verb)
	return out


## Aliases whose canonical side is not a canonical verb, as "game -> canonical".
static func bad_aliases(aliases: Dictionary) -> PackedStringArray:
	var out := PackedStringArray()
	for game_verb: Variant in aliases:
		if str(aliases[game_verb]) not in CANONICAL:
			out.append("%s -> %s" % [game_verb, aliases[game_verb]])
	return out
