extends RefCounted
## One request to the sidecar, with its own signals: whoever made it hears about it, and only it.
##
## Returned by [method NPCBrain.decide] (and used inside the autoload for every request).
## Exactly one of [signal finished] or [signal failed] ends it, unless it is cancelled; then
## nothing more is emitted.
## [codeblock]
## var request := NPCBrain.decide(npc, ["attack", "flee"])
## request.step_received.connect(func(i, text): print(i, " ", text))
## request.finished.connect(func(decision): print(decision.action))
## [/codeblock]

## One line of the inner monologue; [param index] counts from 0 without gaps.
signal step_received(index: int, text: String)
## The result: the decision, answer or pong dictionary (see [signal NPCBrain.decision_received]).
signal finished(result: Dictionary)
## No result; [param code] as in [signal NPCBrain.request_failed].
signal failed(code: String, message: String)
## The thoughts start again from index 0: a broker re-ran the request on another worker
## after its first one was lost (docs/protocol.md §13). Thoughts shown so far are void.
signal thoughts_restarted

## The id every event about this request carries.
var id: String
## "decide", "generate" or "ping".
var kind: String
## The message as sent (npc, actions, options...), for debugging tools.
var message: Dictionary
## Thoughts received so far, in order.
var steps: PackedStringArray = PackedStringArray()
## True once a terminal event or [method NPCBrain.cancel] ended it.
var done: bool = false
## How many times a broker re-ran it (0: never).
var rerun: int = 0

var payload: PackedByteArray
var sent: bool = false
var resends: int = 0
var deadline_ms: int = 0


func _init(request_id: String, request_kind: String, body: Dictionary,
		bytes: PackedByteArray) -> void:
	id = request_id
	kind = request_kind
	message = body
	payload = bytes


## The request's owner: the [code]npc.id[/code] of a decide request, else "".
func npc_id() -> String:
	var npc: Variant = message.get("npc")
	return str(npc.get("id", "")) if npc is Dictionary else ""
