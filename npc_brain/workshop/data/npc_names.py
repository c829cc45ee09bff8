"""Names as designers write them, for the NPC situation generator.

A game sends whatever names its writers chose, so the model must copy a name rather than
recall one. Names come from everywhere: syllables invented here, first and family names of
many languages and common English words (Faker's tables), titles, epithets, descriptions
("old man", "crewman Dallas", "Morgause the Grey") and shaped things ("cave bear", "cheese
rind"). A word the tokenizer does not know is spelled byte by byte; such a word before a
known one ("crying child", "bloody dagger") is the shape the model garbled most, so real
words of every sort go before and after the pool's nouns.
"""

from __future__ import annotations

import importlib
import random
import re

from faker.providers.job.en_US import Provider as _Jobs
from faker.providers.lorem.en_US import Provider as _Lorem

from npc_brain.npc.roles import CATEGORY_OF, PEOPLE

ROLES = tuple(CATEGORY_OF)
ONSETS = ("b", "br", "d", "dr", "f", "g", "gr", "h", "k", "kr", "l", "m", "n", "p", "r", "s",
          "st", "t", "th", "v", "w", "z", "sh", "ch", "j", "y", "")  # fmt: skip
VOWELS = ("a", "e", "i", "o", "u", "ae", "ai", "ei", "ou", "y", "ia", "ee", "oo")
CODAS = ("", "", "n", "r", "l", "s", "th", "nd", "rk", "m", "x", "ck", "ll", "rn", "d", "ss",
         "tt", "mm", "gg", "er", "ir")  # fmt: skip
ACCENTS = str.maketrans("aeiouyn", "áéíöüýñ")
TITLES = ("Sir", "Lady", "Old", "Mother", "Father", "Brother", "Sister", "Captain", "Master",
          "Dame", "Lord", "Young", "Granny", "Uncle", "Auntie", "Mrs.", "Mr.", "Dr.", "Ms.",
          "Miss", "Frau", "Herr", "Madame", "Don", "Señor", "St.")  # fmt: skip
LATIN_LOCALES = ("en_US", "en_GB", "ga_IE", "de_DE", "fr_FR", "es_ES", "it_IT", "pt_BR",
                 "nl_NL", "sv_SE", "no_NO", "da_DK", "fi_FI", "pl_PL", "cs_CZ", "hu_HU",
                 "tr_TR")  # fmt: skip
OTHER_LOCALES = ("ru_RU", "el_GR", "ja_JP")
ADJECTIVES = ("grey", "old", "big", "young", "black", "red", "wounded", "hungry", "lame",
              "giant", "scarred", "lost", "white", "small", "dropped", "fresh", "rotten",
              "stale", "shiny", "rusty", "broken", "golden", "sick", "wild", "wet", "tiny",
              "heavy", "ancient", "cursed", "stolen", "abandoned", "half-eaten", "spare",
              "freshwater", "mossy", "burnt", "frozen", "silver", "muddy", "injured",
              "three-legged", "spotted", "striped", "enormous")  # fmt: skip
LOOKS = ("old", "young", "fat", "tall", "hooded", "tired", "lost", "drunk", "ragged", "rich",
         "poor", "little", "blind", "masked", "strange", "quiet", "angry", "wounded", "sick",
         "bearded", "one-eyed", "limping", "nervous", "cheerful", "sleepy", "armed")  # fmt: skip
EPITHETS = ("Grey", "Bold", "Red", "Wise", "Younger", "Elder", "Tall", "Cruel", "Kind",
            "Black", "Silent", "Fair", "Lame", "Mad", "Quick")  # fmt: skip
# Nouns designers put before a name ("town guard", "cave bear", "customs officer") and
# phrases after one ("cook from the inn", "sailor on shore leave").
MODIFIERS = ("town", "river", "cave", "sea", "forest", "mountain", "swamp", "night", "castle",
             "temple", "village", "marsh", "desert", "iron", "stone", "bone", "fire", "ice",
             "shadow", "storm", "border", "palace", "harbor", "mine", "city", "royal", "customs",
             "navy", "tax", "dock", "road", "barn", "field", "hill", "tomb", "plague", "sand",
             "frost", "moon", "camp", "tower", "market", "church", "farm", "dungeon")  # fmt: skip
TAILS = ("from the inn", "from the mill", "of the north", "on the road", "at the gate",
         "in red", "with a limp", "from the city", "on shore leave", "of the hills",
         "in the cellar", "by the well", "near the fire", "from the docks", "in a grey cloak",
         "with a lantern", "of the deep", "from next door", "on a cart", "in chains")  # fmt: skip
# A trade named for what it sells or keeps ("pie seller", "well keeper"): a person whose
# name says food, water or a thing.
WARES = ("pie", "fish", "bread", "apple", "ale", "wine", "cheese", "water", "well", "rope",
         "lamp", "sword", "barn", "inn", "salt", "meat", "honey", "milk", "herb", "flower",
         "fruit", "horse", "cattle", "boat", "tower", "gate", "mushroom", "potion")  # fmt: skip
TRADES = ("seller", "merchant", "keeper", "maker", "vendor", "monger", "boy", "girl", "wife",
          "man", "woman", "thief", "carrier", "master", "hand", "trader")  # fmt: skip
REAL_WORD = 0.4  # share of adjectives and modifiers that are any English word


def _person_names(locales: tuple[str, ...], table: str) -> tuple[str, ...]:
    names: set[str] = set()
    for locale in locales:
        provider = importlib.import_module(f"faker.providers.person.{locale}").Provider
        names.update(n for n in getattr(provider, table, ()) if re.fullmatch(r"\w+", n))
    return tuple(sorted(names))


FIRST_NAMES = _person_names(LATIN_LOCALES, "first_names")
LAST_NAMES = _person_names(LATIN_LOCALES, "last_names")
OTHER_SCRIPT_NAMES = _person_names(OTHER_LOCALES, "first_names")
# Any common word ("policy", "crime", "window"), but none that reads as talk of the menu.
WORDS = tuple(
    w for w in _Lorem.word_list if len(w) >= 4 and w not in ("option", "available", "allowed")
)
JOBS = tuple(  # "tax adviser", "fisheries officer": roles and trades the role table may lack
    j.lower() for j in _Jobs.jobs if re.fullmatch(r"[A-Za-z ]{1,24}", j) and len(j.split()) <= 3
)


def word(rng: random.Random) -> str:
    """An invented word: "brakor", "thimm", "oueth"."""
    n = rng.choice((1, 2, 2, 2, 3))
    w = "".join(rng.choice(ONSETS) + rng.choice(VOWELS) for _ in range(n)) + rng.choice(CODAS)
    return w[:9] or "Ob"


def person_name(rng: random.Random) -> str:
    """Any name a designer might use: real names of many languages, invented, titled,
    accented, other scripts, or a description ("old man", "crewman Dallas")."""
    r = rng.random()
    if r < 0.18:
        name = rng.choice(FIRST_NAMES)
        return f"{name} {rng.choice(LAST_NAMES)}" if rng.random() < 0.3 else name
    if r < 0.22:
        return rng.choice(OTHER_SCRIPT_NAMES)
    if r < 0.46:
        return _described(rng)
    name = word(rng).capitalize()
    if rng.random() < 0.15:
        name = name.translate(ACCENTS)
    if rng.random() < 0.2:
        name = f"{rng.choice(TITLES)} {name}"
    elif rng.random() < 0.1:
        name = f"{name} {word(rng).capitalize()}"
    return name


def _described(rng: random.Random) -> str:
    """A person named by looks or trade: "stranger", "old man", "crewman Dallas", "pie
    seller", "Morgause the Grey"."""
    r = rng.random()
    pool = rng.choices((PEOPLE, ROLES, JOBS), weights=(6, 2, 2))[0]
    noun = rng.choice(pool)
    if r < 0.25:
        return noun
    if r < 0.55:
        return f"{_either(rng, LOOKS)} {noun}"
    if r < 0.7:
        return f"{_either(rng, MODIFIERS)} {noun}"
    if r < 0.8:
        return f"{noun} {rng.choice((word(rng).capitalize(), rng.choice(FIRST_NAMES)))}"
    if r < 0.85:
        return f"{noun} {rng.choice(TAILS)}"
    if r < 0.93:
        return f"{rng.choice(WARES)} {rng.choice(TRADES)}"
    return f"{word(rng).capitalize()} the {rng.choice(EPITHETS)}"


def thing_name(rng: random.Random, pool: tuple[str, ...], parts: tuple[str, ...] = ()) -> str:
    """A creature or object as designers name them: a pool word, often with an adjective or
    a noun before it ("brown bear", "town guard"), a part after it ("cheese rind"), a phrase
    after it ("cook from the inn"), sometimes an invented or proper name."""
    r = rng.random()
    if r < 0.1:
        return word(rng).capitalize()  # "Vermithrax" the dragon, "Bessie" the cow
    base = word(rng) if r < 0.2 else rng.choice(pool)  # an invented creature or thing
    return _shaped(rng, base, parts)


def _shaped(rng: random.Random, base: str, parts: tuple[str, ...] = ()) -> str:
    r = rng.random()
    if r < 0.4:
        return base
    if r < 0.62:
        return f"{_either(rng, ADJECTIVES)} {base}"
    if r < 0.74:
        return f"{_either(rng, MODIFIERS)} {base}"
    if r < 0.8:
        return f"{_either(rng, ADJECTIVES)} {_either(rng, MODIFIERS)} {base}"
    if r < 0.9 and parts:
        return f"{base} {rng.choice((*parts, rng.choice(WORDS)))}"
    if r < 0.9:
        return f"{rng.choice(LOOKS)} {base}"
    return f"{base} {rng.choice(TAILS)}"


def _either(rng: random.Random, pool: tuple[str, ...]) -> str:
    """A word of `pool`, or any English word ("crime dog", "window wolf")."""
    return rng.choice(WORDS) if rng.random() < REAL_WORD else rng.choice(pool)
