"""The rule-based NPC teacher (docs/teacher.md): rules as data, thoughts in a character's voice.

Each rule is a row: the facts it needs (`when`), the moves it prefers in order (`moves`)
and the thoughts that explain them (`say`). The first row whose facts hold and that has a
move the game offers decides; the thoughts are that row's, then "so I" + the move's
closing phrase (npc_brain.npc.actions.closing_phrase, shared with the sidecar's decoding
constraint). Thoughts state only facts the game sent, in the prompt's words and numbers, and
never talk about the action menu. Adding behaviour means adding rows (and facts).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property

from npc_brain.npc.actions import (
    VERB_BY_NAME,
    check_actions,
    closing_phrase,
    served_options,
    split_answer,
)
from npc_brain.npc.actions import refer as _refer
from npc_brain.npc.memory import recalled
from npc_brain.npc.roles import (
    CATEGORY_OF,
    FIERCE_TRAITS,
    FIGHTING_CATEGORIES,
    FOOD,
    HUNTING_CATEGORIES,
    MEDICINE,
    NIGHT_ROLES,
    PEOPLE,
    POTIONS,
    VOICE_TRAITS,
    WATCH_CATEGORIES,
    category,
    role_keys,
)
from npc_brain.npc.sayings import (
    CLOSE,
    HUNGRY,
    LAZY_TIRED,
    LOW_HEALTH,
    NEAR,
    THOUGHTS,
    TIRED,
    injured,
)
from npc_brain.npc.state import NPCState, Perception

# Thresholds (docs/teacher.md); those of the NPC's own stats and of danger live with their
# sayings.
STRONG = 70
BUY_GOLD = 10
CREATURES = ("enemy", "monster", "animal", "person")
ESCAPE_VERBS = ("escape", "flee", "leave")  # a goal to get away: follow whoever can lead out


def _a(noun: str) -> str:
    return f"an {noun}" if noun[:1] in "aeiou" else f"a {noun}"


def refer(p: Perception) -> str:
    return _refer(p.name)


def _names_person(phrase: str) -> bool:
    """Whether a goal's "to ..." names a person ("to Anna", "to the old man") rather than a
    place ("to the chapel")."""
    words = phrase.split()
    return bool(words) and (
        words[0][:1].isupper() or any(w in PEOPLE or w in CATEGORY_OF for w in words)
    )


class Facts:
    """Everything a rule may test or a thought may say, from the prompt-visible state."""

    def __init__(self, state: NPCState) -> None:
        self.state = state
        self._known: dict[str, bool] = {}  # fact -> has(fact): rules ask each many times
        self.category = category(state.role)
        self.traits = set(state.shown_traits())
        self.recalls = set(recalled(state.memory))
        seen = state.shown_entities()
        self.items = [k for k, _ in state.shown_inventory()]
        creatures = [p for p in seen if p.kind in CREATURES]
        self.threat = next((p for p in creatures if p.hostile), None)
        friends = [p for p in creatures if not p.hostile]
        self.person = next((p for p in friends if p.kind == "person"), None)
        self.injured = next((p for p in friends if injured(p.health)), None)
        self.prey = next((p for p in friends if p.kind == "animal"), None)
        self.food_seen = next((p for p in seen if p.kind == "food"), None)
        self.item_seen = next((p for p in seen if p.kind == "item"), None)
        self.water_seen = next((p for p in seen if p.kind == "water"), None)
        self.curio = next(
            (p for p in seen if p.kind not in ("person", "enemy") and not p.hostile), None
        )
        self.food_held = next((k for k in self.items if k in FOOD), None)
        self.potion = next((k for k in self.items if k in POTIONS), None)
        self.medicine = next((k for k in self.items if k in MEDICINE), None)
        self.near_person = next(
            (p for p in friends if p.kind == "person" and p.meters <= CLOSE), None
        )
        goal = f" {state.goal or ''} "
        named = [p for p in seen if not p.hostile and f" {p.name} " in goal]
        self.goal_person = next((p for p in named if p.kind == "person"), None)
        self.goal_item = next((p for p in named if p.kind in ("item", "food")), None)
        self.goal_thing = next((p for p in named if p.kind not in ("person", "item", "food")), None)
        self.goal_holds = any(f" {k} " in goal for k in self.items)
        self.goal_verb = (state.goal or "").split(" ")[0].lower()
        # "deliver the letter to Anna", "give Anna her ring": the goal names who gets it.
        self.goal_recipient = self.goal_verb == "give" or (
            " to " in goal and _names_person(goal.rsplit(" to ", 1)[1])
        )
        self.voice = self._voice()

    def _voice(self) -> str:
        if self.category == "child":
            return "timid"
        for voice, words in VOICE_TRAITS.items():
            if self.traits & set(words):
                return voice
        return "bold" if self.category in FIGHTING_CATEGORIES else "plain"

    @property
    def fierce(self) -> bool:
        return bool(self.traits & {"brave", *FIERCE_TRAITS})

    def has(self, fact: str) -> bool:
        """A named fact; "not_x" negates x. Facts about unset fields are false."""
        known = self._known
        if fact not in known:
            known[fact] = self._has(fact)
        return known[fact]

    def _has(self, fact: str) -> bool:
        if fact.startswith("not_"):
            return not self.has(fact[4:])
        if fact in self.traits or fact == f"role_{self.category}":
            return True
        if fact.startswith("recalls_"):
            return fact[8:] in self.recalls
        checks = self._checks
        if fact in checks:
            return checks[fact]
        if fact.startswith("sees_"):
            return getattr(self, fact[5:]) is not None
        if fact.startswith("holds_"):
            return getattr(self, fact[6:]) is not None
        return False

    @cached_property
    def _checks(self) -> dict[str, bool]:
        """The named facts, worked out once: rules ask for them thousands of times."""
        s, t = self.state, self.threat
        return {
            "threat_near": t is not None and t.meters <= NEAR,
            "threat_close": t is not None and t.meters <= CLOSE,
            "threat_far": t is not None and t.meters > NEAR,
            "threat_strong": t is not None and t.strength is not None and t.strength >= STRONG,
            "fighter": self.category in FIGHTING_CATEGORIES or self.fierce,
            "fierce": self.fierce,
            "hunts": self.category in HUNTING_CATEGORIES,
            "threat_person": t is not None and t.kind == "person",
            "watch": self.category in WATCH_CATEGORIES,
            "health_low": s.health is not None and s.health <= LOW_HEALTH,
            "health_known": s.health is not None,
            "hungry": s.hunger is not None and s.hunger >= HUNGRY,
            "tired": s.energy is not None
            and s.energy <= (LAZY_TIRED if "lazy" in self.traits else TIRED),
            "can_buy": s.gold is not None and s.gold >= BUY_GOLD,
            "poor": s.gold is not None and s.gold < BUY_GOLD,
            "night": s.time_of_day == "night",
            "at_home": "home" in (s.location or "").split(),
            "has_role": bool(s.role),
            "injured": self.injured is not None,
            "healer_like": self.category == "healer" or "kind" in self.traits,
            "taker": self.category == "thief" or "greedy" in self.traits,
            "dusk": s.time_of_day == "dusk",
            "works_nights": any(k in NIGHT_ROLES for k in role_keys(s.role)),
            "goal_person": self.goal_person is not None,
            "goal_item": self.goal_item is not None,
            "goal_thing": self.goal_thing is not None,
            "goal_holds": self.goal_holds,
            "goal_follow": self.goal_verb == "follow",
            "goal_give": self.goal_verb in ("deliver", "bring", "give", "take"),
            "goal_recipient": self.goal_recipient,
            "goal_escape": self.goal_verb in ESCAPE_VERBS,
            "goal_trade": self.goal_verb in ("sell", "buy", "trade"),
            "goal_guard": self.goal_verb in ("guard", "protect", "watch"),
            "goal_patrol": self.goal_verb == "patrol",
        }

    @cached_property
    def slots(self) -> dict[str, str]:
        """Values a thought template may use."""
        s, out = self.state, {}
        for key in ("health", "hunger", "energy", "gold"):
            if getattr(s, key) is not None:
                out[key] = str(getattr(s, key))
        if s.role:
            out["a_role"] = _a(s.role)
        for key in (
            "threat", "person", "near_person", "injured", "prey", "food_seen", "item_seen",
            "curio", "water_seen", "goal_item", "goal_thing",
        ):  # fmt: skip
            p = getattr(self, key)
            if p is not None:
                out[key] = refer(p)
                out[f"{key}_m"] = str(p.meters)
        if self.injured is not None:
            out["injured_health"] = str(self.injured.health)
        if self.goal_person is not None:
            out["goal_person"] = refer(self.goal_person)
        for key in ("food_held", "potion", "medicine"):
            if getattr(self, key):
                out[key] = getattr(self, key)
        return out

    @cached_property
    def plurals(self) -> list[str]:
        """The slot values that name things in the plural ("the berries")."""
        return [v for v in self.slots.values() if _plural(v)]


# ------------------------------------------------------------------------- the rules


@dataclass(frozen=True)
class Rule:
    """A row of the teacher: when these facts hold, try these moves, saying these thoughts.

    A move is a verb, or "verb:slot" for a target taken from Facts (`threat`, `person`, ...).
    """

    name: str
    when: tuple[str, ...]
    moves: tuple[str, ...]
    say: tuple[str, ...]


def R(name: str, when: str, moves: str, say: str) -> Rule:
    return Rule(name, tuple(when.split()), tuple(moves.split()), tuple(say.split()))


FLEE = "flee hide call_for_help"
FIGHT = "attack:threat call_for_help flee hide"
# Priority order: the first row that applies and has an offered move decides.
RULES: tuple[Rule, ...] = (
    R("danger/weak", "threat_near health_low", FLEE, "threat_near weak"),
    R("danger/coward", "threat_near cowardly", FLEE, "threat_near cowardly"),
    R("danger/child", "threat_near role_child", "call_for_help hide flee", "threat_near child"),
    R("danger/healer", "threat_near not_threat_close injured healer_like",
      "heal:injured", "threat_near patch_up"),
    R("danger/outmatched", "threat_near fighter threat_strong not_fierce",
      "call_for_help flee hide", "threat_near too_strong"),
    R("danger/brave", "threat_near brave", FIGHT, "threat_near brave"),
    R("danger/fierce", "threat_near fierce", FIGHT, "threat_near fierce"),
    R("danger/fight", "threat_near fighter has_role health_known not_health_low", FIGHT,
      "threat_near fighter strong_enough"),
    R("danger/fight", "threat_near fighter has_role", FIGHT, "threat_near fighter"),
    R("danger/thief", "threat_near role_thief", "hide flee wait", "threat_near stay_hidden"),
    R("danger/person", "threat_near threat_person", "call_for_help flee hide",
      "threat_near shout"),
    R("danger/close", "threat_close has_role", FLEE, "threat_near no_fighter too_close"),
    R("danger/close", "threat_close", FLEE, "threat_near too_close"),
    R("danger/hide", "threat_near has_role", "hide flee call_for_help",
      "threat_near no_fighter time_to_hide"),
    R("danger/hide", "threat_near", "hide flee call_for_help", "threat_near time_to_hide"),
    R("recall/danger", "recalls_danger", "flee call_for_help go_home", "recall_danger"),
    R("recall/retreat", "recalls_retreat", "flee go_home", "recall_retreat"),
    R("wounded/potion", "health_low holds_potion", "drink:potion", "hurt have_potion"),
    R("wounded/medicine", "health_low holds_medicine", "heal", "hurt have_medicine"),
    R("wounded", "health_low", "rest sleep", "hurt need_rest"),
    R("ally/healer", "injured role_healer", "heal:injured call_for_help", "ally_hurt healer"),
    R("ally/kind", "injured healer_like", "heal:injured call_for_help", "ally_hurt kind"),
    R("ally/loyal", "injured loyal", "call_for_help heal:injured", "ally_hurt loyal"),
    R("ally/medicine", "injured holds_medicine", "heal:injured call_for_help",
      "someone_hurt have_medicine"),
    R("ally", "injured", "call_for_help heal:injured", "someone_hurt get_help"),
    R("goal/escape", "goal_escape sees_near_person", "follow:near_person talk:near_person",
      "goal_escape"),
    R("far/coward", "threat_far cowardly", "hide flee", "threat_far cowardly"),
    R("far/fierce", "threat_far fierce", "attack:threat investigate:threat call_for_help",
      "threat_far fierce"),
    R("far/fighter", "threat_far fighter",
      "investigate:threat call_for_help patrol guard", "threat_far watchful"),
    R("far/thief", "threat_far role_thief", "hide wait", "threat_far stay_hidden"),
    R("far/graze", "threat_far role_beast sees_food_seen", "eat:food_seen", "threat_far snack"),
    R("far", "threat_far", "hide flee call_for_help", "threat_far time_to_hide"),
    R("recall/storm", "recalls_storm", "hide go_home rest", "recall_storm need_cover"),
    R("recall/thirst", "recalls_thirst sees_water_seen", "drink:water_seen",
      "recall_thirst thirsty"),
    R("hunger/held", "hungry holds_food_held", "eat:food_held", "hungry have_food"),
    R("hunger/seen", "hungry sees_food_seen", "eat:food_seen", "hungry food_there"),
    R("hunger/hunt", "hungry hunts sees_prey", "hunt:prey attack:prey", "hungry prey_there"),
    R("hunger/victim", "hungry role_predator sees_person", "attack:person", "hungry victim"),
    R("hunger/victim", "hungry role_monster sees_person", "attack:person", "hungry victim"),
    R("hunger/buy", "hungry can_buy sees_person", "trade:person", "hungry buy_food"),
    R("hunger/steal", "hungry taker poor sees_person", "steal:person", "hungry poor take_it"),
    R("hunger/beg", "hungry sees_person", "talk:person", "hungry beg"),
    R("hunger/search", "hungry", "wander", "hungry look_for_food"),
    R("tired/night", "tired night", "sleep rest", "tired night"),
    R("tired/lazy", "tired lazy", "rest sleep", "lazy_tired"),
    R("tired", "tired", "rest sleep", "tired"),
    R("recall/noise", "recalls_noise", "investigate:curio call_for_help", "recall_noise"),
    R("recall/curfew", "recalls_curfew", "go_home", "recall_curfew"),
    R("recall/orders", "recalls_orders", "work guard patrol", "recall_orders"),
    R("goal/fetch", "goal_item", "pick_up:goal_item investigate:goal_item", "goal_fetch"),
    R("goal/follow", "goal_person goal_follow", "follow:goal_person", "goal_person"),
    R("goal/give", "goal_person goal_give", "give:goal_person", "goal_give"),
    R("goal/meet", "goal_person", "talk:goal_person follow:goal_person", "goal_person"),
    R("goal/hand", "goal_holds sees_person not_goal_recipient", "give:person", "goal_hand"),
    R("goal/thing", "goal_thing", "investigate:goal_thing", "goal_thing"),
    R("goal/trade", "goal_trade sees_person", "trade:person", "goal_trade"),
    R("goal/guard", "goal_guard", "guard patrol", "goal_watch"),
    R("goal/patrol", "goal_patrol", "patrol guard", "goal_watch"),
    R("loot/thief", "sees_item_seen role_thief", "pick_up:item_seen", "loot thief"),
    R("loot/greedy", "sees_item_seen greedy", "pick_up:item_seen", "loot"),
    R("night/watch", "night watch", "patrol guard", "night night_watch"),
    R("night/thief", "night role_thief sees_person", "steal:person", "night mark"),
    R("night/work", "night works_nights", "work", "night night_work"),
    R("night/home", "night at_home", "sleep rest", "night at_home"),
    R("night/away", "night", "go_home sleep rest", "night far_home"),
    R("dusk/work", "dusk works_nights", "work", "dusk night_work"),
    R("dusk", "dusk not_watch not_at_home", "go_home", "dusk"),
    R("greedy/deal", "greedy sees_person not_role_thief", "trade:person", "greedy_deal"),
    R("curious", "curious sees_curio", "investigate:curio", "curious"),
    R("shy", "shy sees_person", "hide wait", "shy"),
    R("friendly", "friendly sees_person", "talk:person", "friendly"),
    R("loyal", "loyal sees_person", "follow:person talk:person", "loyal_follow"),
    R("lazy/watched", "lazy has_role sees_near_person not_role_child", "work", "watched"),
    R("lazy", "lazy", "rest wander wait", "lazy"),
    R("duty/follow", "role_companion sees_person", "follow:person", "companion"),
    R("duty/hunt", "hunts sees_prey", "hunt:prey attack:prey", "prey_near"),
    R("duty/prey", "role_monster sees_person", "attack:person", "victim"),
    R("duty/steal", "role_thief sees_person", "steal:person", "mark"),
    R("duty/gather", "role_gatherer sees_item_seen", "pick_up:item_seen", "gather"),
    R("duty/graze", "role_beast sees_food_seen", "eat:food_seen", "snack"),
    R("visitor/merchant", "sees_near_person role_merchant",
      "trade:near_person talk:near_person", "visitor"),
    R("visitor", "sees_near_person not_role_beast not_role_predator",
      "talk:near_person trade:near_person", "visitor"),
    R("duty/watch", "watch", "patrol guard", "duty_watch"),
    R("duty/trade", "role_merchant sees_person", "trade:person", "duty_customer"),
    R("duty/show", "role_entertainer sees_person", "talk:person play", "duty_show"),
    R("duty/play", "role_child", "play", "duty_play"),
    R("duty/work", "has_role not_role_child not_role_thief not_role_beast not_role_predator",
      "work", "duty_work"),
    R("thirst", "sees_water_seen", "drink:water_seen", "thirsty"),
    R("snack", "sees_food_seen", "eat:food_seen", "snack"),
    R("idle", "not_sees_threat", "work wait wander patrol rest", "quiet"),
    R("idle/alert", "", "work wait wander patrol rest", ""),
)  # fmt: skip
# When no row's move is offered: the least surprising offered move, in this order.
FALLBACK = (
    "wait", "wander", "work", "rest", "talk:person", "patrol", "guard", "investigate:curio",
    "play", "go_home", "trade:person", "follow:person", "pick_up:item_seen", "eat:food_held",
    "hide", "call_for_help", "give:person", "hunt:prey", "heal", "drink", "flee", "sleep",
    "attack:threat",
)  # fmt: skip
MAX_STEPS = 5


def _variant(voice: str, key: str) -> str:
    wordings = THOUGHTS[key]
    return wordings.get(voice, wordings["plain"])


def _option(move: str, facts: Facts, offered: set[str]) -> str | None:
    """The answer a move names, if the game offers it ("attack:threat" -> "attack wolf")."""
    verb, _, slot = move.partition(":")
    if verb not in offered:
        return None
    if not slot:
        return verb if not VERB_BY_NAME[verb].takes_target or VERB_BY_NAME[verb].optional else None
    target = getattr(facts, slot, None)
    name = target.name if isinstance(target, Perception) else target
    option = f"{verb} {name}" if name else None
    return option if option in offered else None


def _thoughts(rule: Rule, facts: Facts) -> list[str]:
    said = [_variant(facts.voice, key).format(**facts.slots) for key in rule.say]
    return [_agree(line, facts.plurals) for line in said] if facts.plurals else said


def _plural(name: str) -> bool:
    """A thing named in the plural ("the berries", "the hornets of the hills"); proper names
    are not."""
    words = re.split(r" (?:of|from|on|at|in|with|by|near) ", name)[0].split()
    head = words[-1] if words else ""
    return head[:1].islower() and head.endswith("s") and not head.endswith(("ss", "us", "is"))


def _agree(line: str, plurals: list[str]) -> str:
    """Make "is" after a plural name agree with it: "the berries are 4 m away"."""
    line = f" {line}"
    for name in plurals:
        line = line.replace(f" {name} is ", f" {name} are ")
    return line[1:]


def _said(rule: Rule | None, first: Rule | None, facts: Facts) -> list[str]:
    """A row's thoughts; a row without any (or no row) says what is going on: the first
    thought of the first row that holds ("the wolf is 4 m away", never "all is quiet")."""
    if rule is not None and rule.say:
        return _thoughts(rule, facts)[: MAX_STEPS - 1]
    return _thoughts(first, facts)[:1] if first else [_variant(facts.voice, "quiet")]


def teacher(state: NPCState, actions: list[str]) -> tuple[list[str], str]:
    """Decide like a designer expects: (thoughts, ANS). The ANS is one of served_options()."""
    actions = check_actions(actions)
    options = served_options(state, actions)
    if not options:
        raise ValueError("no answer is possible: every allowed verb needs a target none offers")
    offered = set(options) | set(actions)
    facts = Facts(state)
    first: Rule | None = None  # the most pressing row that holds, offered move or not
    for rule in RULES:
        if not all(facts.has(f) for f in rule.when):
            continue
        first = first or rule
        for move in rule.moves:
            answer = _option(move, facts, offered)
            if answer in options:
                return _close(_said(rule, first, facts), answer), answer
    answer = next((a for m in FALLBACK if (a := _option(m, facts, offered)) in options), options[0])
    # Say what is going on (only the situation: the row's reasons led to another move).
    return _close(_said(None, first, facts), answer), answer


def _close(thoughts: list[str], answer: str) -> list[str]:
    return [*thoughts, f"so I {closing_phrase(answer)}"]


def _verb(answer: str) -> str:
    return split_answer(answer)[0]


def said_lines(
    state: NPCState, actions: list[str], options: list[str]
) -> dict[str, tuple[str, ...]]:
    """Every thought the teacher would say on its way to any of the offered decisions, in
    the NPC's voice (closing thoughts aside), with the decisions it leads to: what it says
    when only that decision's verb is offered. A line is thereby true in context: a row's
    thoughts come only where no earlier row claims the decision ("not a fighter" is never
    said by a guard, whom a fighting row catches first). `actions` are canonical, `options`
    their served_options()."""
    offered = set(options) | set(actions)
    facts = Facts(state)
    holding = [rule for rule in RULES if all(facts.has(f) for f in rule.when)]
    first = holding[0] if holding else None
    leads: dict[str, dict[str, None]] = {}
    unreached = {_verb(o) for o in options}  # verbs no row has led to yet

    def lead(lines: list[str], answers: list[str]) -> None:
        for line in lines:
            leads.setdefault(line, {}).update(dict.fromkeys(answers))

    for rule in holding:
        answers = [a for m in rule.moves if (a := _option(m, facts, offered)) in options]
        reached = [a for a in answers if _verb(a) in unreached]
        if reached:
            lead(_said(rule, first, facts), reached)
            unreached -= {_verb(a) for a in reached}
    if unreached:  # a verb no row leads to: the teacher's fallback words
        lead(_said(None, first, facts), [o for o in options if _verb(o) in unreached])
    return {line: tuple(answers) for line, answers in leads.items()}
