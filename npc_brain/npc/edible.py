"""Whether a held item can be eaten or drunk, by the words of its name.

A designer's inventory holds tools, letters and potions beside food, and `eat`/`drink` may
target any held item, so without this an NPC could decide to "eat the letter" or "drink the
rope". An item is judged by its head word ("sack of grain" -> grain, "healing potion" ->
potion): one known not to be eaten at all, or known to be the other kind (a drink is not
eaten, bread is not drunk), is no target; a name we do not know stays one, since games name
their food freely ("sweetroll", "lembas").
"""

from __future__ import annotations


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


DRINKS = _words(
    "water ale beer wine mead milk tea coffee juice potion elixir tonic brew cider grog rum"
    " whisky whiskey vodka sake kvass lemonade cocoa nectar draught spirit cola soda drink"
    " waterskin canteen flask"
)
FOODS = _words(
    "bread apple cheese meat fish berry carrot pie stew loaf sausage ham egg porridge cake"
    " pear plum mushroom jerky ration biscuit turnip potato onion chicken date fig grape"
    " nut seed grain rice bean corn cabbage pumpkin herring fruit vegetable steak bacon"
    " cookie candy sweet muffin bun pastry tart dumpling noodle pasta pizza sandwich salad"
    " jam honey orange banana melon tomato lettuce radish beet rind crust"
)
# Things no one eats or drinks: tools, weapons, clothes, documents, valuables, materials.
INEDIBLE = _words(
    "sword axe hammer key letter map book spellbook scroll rope coin ring shield bow arrow"
    " dagger knife spear staff wand torch lantern lamp marble stone rock gem jewel incense"
    " candle cloth silk wool leather pelt fur plank wood log nail tool pickaxe shovel hoe"
    " rake net hook needle thread feather ore iron ingot brick coal gunpowder bomb bullet"
    " ammo pistol rifle gun crowbar wrench battery lockpick badge medal note journal diary"
    " parchment paper crate chest box bag purse pouch necklace amulet talisman idol statue"
    " toy doll ball lute flute drum bell helmet armor armour boot cloak hat glove mask"
    " bandage salve ointment soap perfume keycard phone radio laptop tablet clipboard pen"
    " pencil ink quill brush mirror comb rod pipe barrel fuel lumber tent blanket"
    " compass telescope ticket card photo crystal orb"
)


def head_word(item: str) -> str:
    """The word an item's name is about: "sack of grain" -> "grain", "old map" -> "map"."""
    words = item.lower().rpartition(" of ")[2].split()
    return words[-1] if words else ""


def _forms(word: str) -> set[str]:
    """The word and its likely singulars ("berries" -> berry, "arrows" -> arrow)."""
    forms = {word}
    if word.endswith("ies"):
        forms.add(word[:-3] + "y")
    if word.endswith("es"):
        forms.add(word[:-2])
    if word.endswith("s"):
        forms.add(word[:-1])
    return forms


# Drinks held in something: one drinks from them, as from a well.
VESSELS = _words("waterskin canteen flask")


def drunk_whole(name: str) -> bool:
    """Whether a drink target is the drink itself ("the ale", "the healing potion") rather
    than where it is drunk from ("the well", "the oasis", "the waterskin")."""
    return bool(_forms(head_word(name)) & (DRINKS - VESSELS))


def can_take(verb: str, item: str) -> bool:
    """Whether `verb` ("eat" or "drink") may take the held `item`."""
    forms = _forms(head_word(item))
    other = DRINKS if verb == "eat" else FOODS
    return not forms & (INEDIBLE | other)
