"""Banned and suspect word matching (issue 15): table-driven, in English, German, French and
Spanish. Each row is (list, text, expected entries found)."""
from __future__ import annotations

import pytest

from discuss.moderation.words import find_listed_words

EN = ["fuck", "idiot", "shit", "ass", "bitch", "spam", "hate", "cunt", "tit", "cock", "hell", "shut up"]
DE = ["scheisse", "arschloch", "idiot"]
FR = ["connard", "putain", "con"]
ES = ["mierda", "pendejo", "puta"]

MATCHES = [
    # punctuation around and inside words
    (EN, "you idiot!", ["idiot"]),
    (EN, "(idiot)", ["idiot"]),
    (EN, "idiot,you", ["idiot"]),
    (EN, "what an idiot...", ["idiot"]),
    (EN, "'idiot'?!", ["idiot"]),
    (EN, "fu-ck that", ["fuck"]),
    (EN, "fu.ck that", ["fuck"]),
    (EN, "what the f.u.c.k", ["fuck"]),
    (EN, "F U C K this", ["fuck"]),
    # masks
    (EN, "f*ck off", ["fuck"]),
    (EN, "f**k off", ["fuck"]),
    (EN, "sh*t happens", ["shit"]),
    (EN, "sh#t happens", ["shit"]),
    (EN, "f@ck off", ["fuck"]),
    (EN, "b!tch", ["bitch"]),
    # look-alikes
    (EN, "$hit", ["shit"]),
    (EN, "a$$", ["ass"]),
    (EN, "you 1d10t", ["idiot"]),
    (EN, "іdіot with Cyrillic i", ["idiot"]),
    (EN, "Ιdiot with a Greek iota", ["idiot"]),
    (EN, "Ｆｕｃｋ", ["fuck"]),
    # repeated letters
    (EN, "fuuuuuck", ["fuck"]),
    (EN, "idiooooot!!!", ["idiot"]),
    # inflections
    (EN, "idiots, all of them", ["idiot"]),
    (EN, "bitches", ["bitch"]),
    (EN, "fucking hell", ["fuck", "hell"]),
    (EN, "they fucked up", ["fuck"]),
    (EN, "spammed again", ["spam"]),
    (EN, "hating it", ["hate"]),
    (EN, "smart asses", ["ass"]),
    (EN, "shut    up now", ["shut up"]),
    (EN, "SHUT UP!", ["shut up"]),
    # German
    (DE, "So eine Scheiße!", ["scheisse"]),
    (DE, "Sch31ß3", ["scheisse"]),
    (DE, "Du Arschloch.", ["arschloch"]),
    (DE, "A.r.s.c.h.l.o.c.h", ["arschloch"]),
    (DE, "Idioten? Nein: Idiots.", ["idiot"]),
    # French
    (FR, "Quel connard !", ["connard"]),
    (FR, "Ces connards", ["connard"]),
    (FR, "P.U.T.A.I.N", ["putain"]),
    (FR, "put@in", ["putain"]),
    (FR, "c*nnard", ["connard"]),
    (FR, "« con »", ["con"]),
    # Spanish
    (ES, "¡Mierda!", ["mierda"]),
    (ES, "m1erd@", ["mierda"]),
    (ES, "pendejos", ["pendejo"]),
    (ES, "p3nd3j0", ["pendejo"]),
    (ES, "¿puta?", ["puta"]),
]

# Scunthorpe-style: listed words inside longer words, or words that merely look alike.
NO_MATCH = [
    (EN, "Scunthorpe United"),
    (EN, "a classic assessment of the class"),
    (EN, "as I said, pass the glass"),
    (EN, "title and constitution"),
    (EN, "cocktail hour at the hellenic shellfish bar"),
    (EN, "hello there, shitake mushrooms"),
    (EN, "spammer-free hatchback"),
    (EN, "****"),
    (EN, "5 * 3 = 15"),
    (EN, "I'll be at 4 and 1 more"),
    (DE, "Das ist mir scheißegal"),
    (DE, "Idiotensicher"),
    (FR, "Le conseil contre la réputation"),
    (FR, "une conversation"),
    (ES, "computadora en disputa"),
    (ES, "imputado"),
]


@pytest.mark.parametrize("entries, text, expected", MATCHES, ids=[row[1] for row in MATCHES])
def test_listed_words_are_found_through_obfuscation(entries, text, expected):
    assert find_listed_words(text, entries) == expected


@pytest.mark.parametrize("entries, text", NO_MATCH, ids=[row[1] for row in NO_MATCH])
def test_no_false_positives_inside_longer_words(entries, text):
    assert find_listed_words(text, entries) == []


def test_entries_come_back_as_written():
    assert find_listed_words("FUCK", ["Fuck"]) == ["Fuck"]
    assert find_listed_words("nothing here", []) == []
    assert find_listed_words("f*ck", ["", "  ", "fuck"]) == ["fuck"]
