"""Whole-word matching for banned and suspect word lists.

Case- and accent-insensitive, and resistant to simple obfuscation: spaced or dotted letters
(``f.u.c.k``), look-alike letters and digits (``sh1t``, Cyrillic ``а`` for Latin ``a``) and
stretched letters (``fuuuck``). Whole words only, so "class" never matches "ass".
"""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# Look-alikes mapped to the Latin letter they imitate (after accents are stripped and case folded).
_LOOKALIKES = str.maketrans({
    "0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b", "9": "g",
    "@": "a", "$": "s", "!": "i", "|": "l", "+": "t", "€": "e", "£": "l",
    "а": "a", "в": "b", "е": "e", "ё": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p",
    "с": "c", "т": "t", "у": "y", "х": "x", "і": "i", "ј": "j", "ѕ": "s", "ԁ": "d", "ɡ": "g",
    "α": "a", "β": "b", "ε": "e", "ι": "i", "κ": "k", "ο": "o", "ρ": "p", "τ": "t", "υ": "u", "χ": "x",
    "ı": "i", "ɩ": "i", "ß": "ss", "æ": "ae", "œ": "oe", "ø": "o", "ł": "l", "đ": "d",
})
# Runs of single letters split by separators ("f.u.c.k", "f u c k", "f-u_c*k") become one word.
_SPACED_LETTERS = re.compile(r"(?<![a-z])(?:[a-z][\s.\-_*,'·•]+){2,}[a-z](?![a-z])")
_SEPARATORS = re.compile(r"[\s.\-_*,'·•]+")
_WORD = re.compile(r"[a-z]+")
_REPEATS = re.compile(r"(.)\1+")


def fold(text: str) -> str:
    """Lowercase, accents removed, look-alikes mapped to Latin letters."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return stripped.translate(_LOOKALIKES)


def words_of(text: str) -> list[str]:
    folded = _SPACED_LETTERS.sub(lambda m: _SEPARATORS.sub("", m.group(0)), fold(text))
    return _WORD.findall(folded)


def _squeeze(word: str) -> str:
    return _REPEATS.sub(r"\1", word)


@lru_cache(maxsize=256)
def _compile_list(entries: tuple[str, ...]) -> tuple[tuple[str, ...], ...]:
    return tuple(tuple(words_of(entry)) for entry in entries if words_of(entry))


def _word_matches(candidate: str, listed: str) -> bool:
    if candidate == listed:
        return True
    # "fuuuck" matches "fuck", but "as" must not match "ass": only stretched words count.
    return len(candidate) > len(listed) and _squeeze(candidate) == _squeeze(listed)


def find_listed_words(text: str, entries: list[str]) -> list[str]:
    """The list entries (as written in the list) that occur in the text as whole words or phrases."""
    if not entries:
        return []
    words = words_of(text)
    found: list[str] = []
    for entry, phrase in zip([e for e in entries if words_of(e)], _compile_list(tuple(entries))):
        size = len(phrase)
        for start in range(len(words) - size + 1):
            if all(_word_matches(words[start + i], phrase[i]) for i in range(size)):
                found.append(entry)
                break
    return found
