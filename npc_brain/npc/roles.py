"""What the teacher knows about roles and things: role categories, food words, voices.

A designer's role is any word. Common game roles map to a category that sets the NPC's
duty and courage; a role the table does not know is a commoner (works if it can, else waits),
so an unknown role never changes a decision into something odd.
"""

from __future__ import annotations

# Category -> roles. The categories decide duty, courage and who keeps watch at night.
ROLE_CATEGORIES: dict[str, tuple[str, ...]] = {
    "fighter": (
        "guard", "soldier", "knight", "warrior", "mercenary", "captain", "watchman",
        "sheriff", "ranger", "paladin", "sentry", "squire", "gladiator", "bodyguard",
        "wizard", "mage", "sorcerer", "witch hunter", "monster hunter",
    ),
    "hunter": ("hunter", "trapper", "huntress", "poacher"),
    "healer": (
        "healer", "priest", "priestess", "cleric", "doctor", "nurse", "herbalist", "monk",
        "nun", "physician", "apothecary", "druid", "midwife", "shaman",
    ),
    "merchant": (
        "merchant", "shopkeeper", "trader", "peddler", "vendor", "innkeeper", "barkeep",
        "tavern keeper", "fishmonger", "jeweler", "pawnbroker", "quartermaster",
    ),
    "worker": (
        "farmer", "blacksmith", "villager", "miner", "fisherman", "baker", "carpenter",
        "ferryman", "woodcutter", "miller", "cook", "tailor", "gravedigger", "stablehand",
        "lighthouse keeper", "shepherd", "mason", "brewer", "weaver", "servant", "maid",
        "butcher", "potter", "scribe", "scholar", "librarian", "alchemist", "sailor",
        "dockworker", "gardener", "beekeeper", "cobbler", "tanner", "innkeeper's wife",
        "courier", "lumberjack", "fisherwoman", "milkmaid", "stonecutter", "ropemaker",
        "lamplighter",
    ),
    "thief": ("thief", "pickpocket", "smuggler", "rogue", "cutpurse", "burglar", "con artist"),
    "entertainer": ("bard", "jester", "minstrel", "musician", "dancer", "storyteller", "juggler"),
    "child": ("child", "kid", "boy", "girl", "orphan", "urchin", "apprentice boy"),
    "ruler": ("mayor", "noble", "lord", "lady", "king", "queen", "elder", "chief", "baron"),
    "companion": ("companion", "follower", "sidekick", "pet", "familiar", "hound", "henchman"),
    "gatherer": ("scavenger", "forager", "collector", "treasure hunter", "looter", "prospector"),
    "monster": (
        "goblin", "orc", "troll", "ogre", "lich", "necromancer", "skeleton", "zombie", "ghoul",
        "vampire", "werewolf", "demon", "alien", "kraken", "giant", "wraith", "golem", "imp",
        "cultist", "minotaur", "cyclops", "gargoyle", "bandit", "raider", "pirate", "brigand",
    ),
    "predator": (
        "wolf", "bear", "lion", "tiger", "shark", "spider", "giant spider", "snake", "hawk",
        "eagle", "owl", "cat", "fox", "crocodile", "panther", "dragon", "wyvern", "lynx",
    ),
    "beast": (
        "rat", "goat", "seagull", "gull", "crow", "pig", "cow", "sheep", "horse", "dog", "duck",
        "chicken", "rabbit", "deer", "mouse", "donkey", "mule", "raven", "squirrel", "boar",
    ),
}  # fmt: skip
CATEGORY_OF: dict[str, str] = {r: c for c, roles in ROLE_CATEGORIES.items() for r in roles}
# Roles that keep watch at night and patrol by day.
WATCH_CATEGORIES = ("fighter",)
# Roles that fight a near threat (with a fierce trait such as "brave", anyone does).
FIGHTING_CATEGORIES = ("fighter", "hunter", "monster", "predator")
# Roles that hunt prey when hungry.
HUNTING_CATEGORIES = ("hunter", "monster", "predator")
# Roles whose work is in the evening and at night: dusk and night do not send them home.
NIGHT_ROLES = ("lighthouse keeper", "lamplighter", "innkeeper", "barkeep", "tavern keeper",
               "bard", "minstrel", "musician", "dancer", "storyteller", "jester",
               "night watchman")  # fmt: skip
# Words that name a person by what they are ("stranger", "old man", "crewman Dallas").
PEOPLE = ("man", "woman", "stranger", "traveller", "boy", "girl", "merchant", "farmer",
          "pilgrim", "beggar", "figure", "sailor", "patrol", "crewman", "peasant", "hunter",
          "visitor", "child", "customer", "prisoner", "monk", "knight", "guard", "soldier",
          "villager", "apprentice", "neighbour", "courier", "widow", "stranger", "newcomer",
          "watch patrol", "fisherman", "maid", "scout", "old-timer")  # fmt: skip
FIERCE_TRAITS = ("aggressive", "fierce", "savage", "bloodthirsty", "violent", "ruthless")


def category(role: str | None) -> str:
    """A role's category: the whole role, else its words in order ("goblin chief" is a
    goblin, "dwarf miner" a miner); unknown or unset roles are commoners."""
    return next((CATEGORY_OF[k] for k in role_keys(role) if k in CATEGORY_OF), "commoner")


def may_attack(role: str | None, kind: str | None) -> bool:
    """Whether an NPC of `role` attacks a peaceful creature of `kind` (None: not peaceful):
    monsters and predators prey on people, hunters on animals, nobody else on either."""
    preys = {"person": ("monster", "predator"), "animal": HUNTING_CATEGORIES}.get(kind or "")
    return preys is None or category(role) in preys


def role_keys(role: str | None) -> tuple[str, ...]:
    """What a role is looked up by: the whole role, then its words in order."""
    role = role or ""
    return (role, *role.split())


FOOD = (
    "bread", "apple", "cheese", "meat", "fish", "berries", "carrot", "pie", "stew", "loaf",
    "sausage", "ham", "egg", "eggs", "porridge", "soup", "honey cake", "pear", "plum",
    "mushrooms", "jerky", "rations", "biscuit", "turnip", "potato", "onion", "roast chicken",
    "smoked fish", "dried meat", "cake", "grapes", "nuts", "rice", "dumplings", "pastry",
)  # fmt: skip
MEDICINE = ("herbs", "bandage", "bandages", "salve", "healing herbs", "medicine")
POTIONS = ("potion", "healing potion", "health potion", "elixir")

# Traits that change decisions; any other trait is shown but only colours the wording.
DECISION_TRAITS = (
    "brave", "cowardly", "greedy", "loyal", "lazy", "curious", "kind", "friendly", "shy",
)  # fmt: skip

# Voices: how a personality words the same facts (docs/teacher.md).
VOICE_TRAITS: dict[str, tuple[str, ...]] = {
    "timid": ("cowardly", "shy", "timid", "nervous", "fearful", "anxious"),
    "bold": ("brave", "bold", "fearless", "proud", "fierce", "reckless"),
    "gruff": ("grumpy", "greedy", "rude", "cruel", "bitter", "stern"),
    "warm": ("kind", "friendly", "loyal", "gentle", "cheerful", "generous", "honest"),
}
