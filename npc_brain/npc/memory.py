"""What an NPC recalls: the cues read from the game's `memory` lines.

A game logs what just happened to an NPC as free text ("the lab is on fire", "Captain: fall
back to the keep!"). The model is too small to read such prose reliably, so the sidecar reads
it: each of the last RECENT lines is matched against a table of cue patterns, and the prompt
shows only the cues found ("recalls danger, noise"). Lines without a cue, or that tell of
the past or of something harmless ("the flood two years ago", "lit the fire in the hearth"),
are ignored. The table is data: a cue is a row of patterns; adding a row (and the teacher's
row that acts on it) adds behaviour.
"""

from __future__ import annotations

import re
from functools import lru_cache

RECENT = 3  # memory lines read: the game appends, so the last ones are the newest

_SPEAKER = r"^[^:]{1,30}:(?=\s*\w)"  # "Captain: ...", "Station AI: ..."
_CHORES = (
    r"(?:sweep|clean|feed|stack|mend|fix|repair|wash|scrub|peel|chop|load|unload|count"
    r"|sharpen|harvest|weed|milk|muck|pump|coil|paint|repaint|dig|finish|open|fetch|carry"
    r"|haul|polish|sort|cook|bake|serve|restock|deliver|plant|water)"
)
_TOLD = (
    r"(?:told|asked|ordered|wants|needs) (?:me |us |you |him |her |them |the \w+ |it )?"
    r"(?:to|done|finished|ready|by)"
)
_BY = (
    r"(?:before|by|at)\b.{0,24}\b(?:dark|dusk|sundown|sunset|nightfall|night|midnight|supper"
    r"|dinner|vespers|curfew|the lamps|the gates|\d+)"
)

# Cue -> regular expressions, any of which in a (lowercased) line signals the cue; each
# matches whole words. The prompt lists cues in this order; a line may hold several, and the
# teacher's rows decide which one acts ("the stable is on fire, horses screaming": danger
# before noise; "Sergeant: fall back!": retreat before orders).
CUES: dict[str, tuple[str, ...]] = {
    "danger": (
        r"on fire", r"fire!", r"(?:caught|catching|catches) (?:fire|the)",
        r"fire (?:is )?(?:spread\w*|broke out|in the|coming|jumped|raging)",
        r"(?:wild|forest|house|brush|bush|grass|barn|ship|kitchen) ?fire", r"burning",
        r"burn(?:t|ed) down", r"flames?", r"ablaze", r"blaze", r"smoke", r"smoky", r"embers",
        r"sparks", r"explo\w*", r"blew up", r"blast", r"ruptur\w*", r"meltdown", r"collaps\w*",
        r"cav(?:e|ed|ing)[- ]in", r"gave way", r"giving way", r"coming down",
        r"(?:stones|rocks|plaster|debris|beams|timbers) (?:are )?(?:falling|snapping|cracking)",
        r"rock ?(?:fall|slide)", r"land ?slide", r"mud ?slide", r"avalanche", r"snow sliding",
        r"crumbling", r"cracking", r"shifting", r"snapp(?:ing|ed)", r"leaning", r"groan\w*",
        r"shaking", r"quake", r"earthquake", r"tremors?", r"flood\w*",
        r"(?:water|river|sea|tide) (?:is )?rising", r"rising (?:water|fast)", r"burst", r"dam",
        r"sinking", r"going (?:down|under)", r"taking on water", r"filling (?:up )?with",
        r"seawater", r"water at my", r"breach\w*", r"gas", r"leak(?:s|ing)?", r"toxic",
        r"poison(?:ed|ous| gas)", r"venom", r"tainted", r"fumes", r"chok(?:e|ing)", r"coughing",
        r"spores", r"bad air", r"oxygen", r"carbon monoxide", r"radiation", r"decompression",
        r"integrity", r"volcano", r"erupt\w*", r"lava", r"ash", r"alarms?(?! clock)", r"sirens?",
        r"klaxons?", r"detector", r"failing", r"calving", r"struck the reef", r"ran aground",
        r"drowning", r"trapped",
    ),
    "storm": (
        r"storm\w*", r"blizzard", r"sandstorm", r"thunder\w*", r"lightning", r"hail\w*", r"gale",
        r"hurricane", r"typhoon", r"tornado", r"monsoon", r"squall", r"sleet", r"downpour",
        r"pouring", r"whiteout", r"rains?", r"raining", r"snow\w*",
        r"(?:icy|strong|high|fierce|bitter) winds?",
        r"wind(?:s|'s)? (?:is |are )?(?:howling|picking up|rising|tearing|blowing|getting)",
        r"freezing", r"icy", r"getting (?:colder|heavier|worse)", r"temperature dropping",
        r"dark clouds", r"clouds piling", r"visibility", r"blasting my face", r"cold snap",
    ),
    "retreat": (
        r"retreat\w*", r"fall(?:ing)? back", r"pull(?:ing)? (?:out|back)", r"evacuat\w*",
        r"withdraw\w*", r"abandon\w*", r"run for (?:it|the|your)", r"flee", r"scatter",
        r"break off", r"disengage", r"regroup", r"clear out", r"everyone out", r"get out",
        r"abort", r"split up", r"battle(?:'s| is) lost",
        r"back to the (?:boats|ships|keep|walls|fort|fleet|inner)",
        r"return to the (?:fleet|fort|keep|ship|base)",
    ),
    "curfew": (
        r"curfew", rf"(?:home|back|in|inside|return\w*)\b.{{0,30}}\b{_BY}",
        r"(?:be|come|go|get|hurry|head|time to go) (?:home|inside|in)\b", r"home (?:before|by|for)",
        r"come inside", r"time to go in", r"calling (?:me|my name|us)", r"called me",
        r"(?:dinner|supper) bell", r"grounded", r"late again", r"tuck \w+ in", r"where are you",
    ),
    "orders": (
        _SPEAKER, _TOLD, r"ordered", r"orders", rf"(?:said|says),? (?:to )?{_CHORES}",
        r"(?<=, )(?:\w+ ){0,2}(?:said|says)\b", rf"^{_CHORES}\b", r"(?:said|says),? \w+ the",
        r"wants (?:the |\w+ ){1,4}(?:\w+ed|done|by|brought|swept|shelved)\b", r"or no \w+",
        r"or else", r"or sleep", r"or you're", r"double time", r"back to work", r"chores",
        r"must finish", r"has to be done", r"deadline", r"must be \w+ed",
        r"(?:said|says) (?:\w+ ){0,4}(?:must|has to|have to|needs? to|by (?:noon|tonight|dawn))",
    ),
    "noise": (
        r"nois\w*", r"sounds?", r"scream\w*", r"shriek\w*", r"howl\w*", r"footsteps?",
        r"scratch\w*", r"scraping", r"knock\w*", r"bang\w*", r"thud\w*", r"thump\w*", r"crash\w*",
        r"whisper\w*", r"rustl\w*", r"growl\w*", r"restless", r"spooked", r"panic", r"squawk\w*",
        r"squeal\w*", r"bleat\w*", r"barking", r"hiss\w*", r"clang\w*", r"clank\w*", r"rattl\w*",
        r"humming", r"beep\w*", r"tapping", r"crying", r"cry for help", r"cries", r"voices",
        r"shouting", r"gunshots?", r"breaking", r"slammed", r"splash", r"digging", r"hoofbeats",
        r"music", r"rang by itself", r"heard (?:a|an|something|someone|strange|noises?)",
        r"lights? (?:flicker\w*|moving|in the)", r"lantern light", r"motion sensor", r"tripped",
        r"crack", r"creak\w*", r"went quiet", r"moving (?:around|about)", r"something moving",
        r"strange", r"weird", r"odd", r"mysterious", r"unexplained",
    ),
    "thirst": (
        r"thirst\w*", r"parched", r"dehydrat\w*", r"(?:no|out of|without) (?:drinking )?water",
        r"water ran out", r"ran dry",
        r"(?:canteen|flask|waterskin|water pouch|water tank|barrels?)(?:'s| is| are)? "
        r"(?:empty|dry)",
        r"empty (?:canteen|flask|waterskin)", r"mouth (?:is )?dry", r"dry as", r"throat",
        r"tongue", r"(?:need|want|desperate for|kill for) (?:a |some )?(?:drink|sip|water|cup)",
        r"(?:haven't|hasn't|not|nothing|none) .{0,20}\b(?:drink|drunk|drank|water)",
        r"drank nothing", r"last (?:drop|of the water)", r"water rations",
    ),
}  # fmt: skip
# A line that tells of the past or of something harmless calls for no action now.
PAST = re.compile(
    r"\b(?:years?|months?|weeks?|decades?|ages|winters?|summers?|springs?|seasons?) (?:ago|back)"
    r"|\blong ago|\blast (?:year|spring|summer|autumn|fall|winter|month|week|season)\b"
    r"|\bof '?\d{2,4}\b|\bin \d{4}\b|\bonce upon|\bas a child|\bwhen i was\b|\bused to\b"
    r"|\bremember when|\bput out\b|\bis out now|\bwent out\b|\bis over\b|\bpassed(?! out)\b"
    r"|\bcalmed\b|\bdied down|\bfixed\b|\brepaired\b|\bstopped\b|\blifted\b|\bworked\b"
    r"|\bdrill\b|\bstory\b|\btale\b|\bbook\b|\bsong\b|\btold me about|\ball fine|\bjust the\b"
    r"|\blit the\b|\bhearth\b|\bfireplace\b|\bcampfire\b|\bbanked\b|\bi ordered\b"
    r"|\bordered (?:new|some)\b"
)


def _pattern(alternatives: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile(r"(?<![\w'])(?:" + "|".join(alternatives) + r")(?!\w)")


_PATTERNS = {cue: _pattern(alternatives) for cue, alternatives in CUES.items()}


def line_cues(line: str) -> list[str]:
    """The cues one memory line signals, in table order ("the barn is on fire" -> danger)."""
    text = line.lower().strip()
    if PAST.search(text):
        return []
    return [cue for cue, pattern in _PATTERNS.items() if pattern.search(text)]


def recalled(memory: list[str]) -> list[str]:
    """The cues of the last RECENT memory lines, in table order, each once."""
    return list(_recalled(tuple(memory[-RECENT:])))


@lru_cache(maxsize=4096)  # the prompt, the teacher and the checker each ask per request
def _recalled(lines: tuple[str, ...]) -> tuple[str, ...]:
    found = {cue for line in lines for cue in line_cues(line)}
    return tuple(cue for cue in CUES if cue in found)
