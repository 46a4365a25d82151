"""Whole-word matching for banned and suspect word lists.

Case- and accent-insensitive, and resistant to common obfuscation:

- spaced or dotted letters (``f.u.c.k``, ``f u c k``) and separators inside a word (``fu-ck``);
- punctuation around a word (``idiot!``, ``(idiot)``), which is never read as a look-alike;
- look-alike letters, digits and symbols (``sh1t``, ``$hit``, ``a$$``, Cyrillic ``а`` for ``a``);
- masks: ``*``, ``#`` and ``@`` standing for one letter each (``f*ck``, ``sh#t``, ``f@ck``);
- stretched letters (``fuuuck``);
- common inflections: ``-s``, ``-es`` (after s, x, z, ch, sh), ``-ed``, ``-ing`` (``idiots``,
  ``bitches``, ``fucking``, ``spammed``).

Whole words only, so "class" never matches "ass" and "Scunthorpe" never matches its insides.
"""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# Look-alike letters from other scripts, mapped to the Latin letter they imitate (after accents
# are stripped and case folded). Always letters, so they are mapped everywhere.
_LETTER_LOOKALIKES = {
    "а": "a", "в": "b", "е": "e", "ё": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p",
    "с": "c", "т": "t", "у": "y", "х": "x", "і": "i", "ј": "j", "ѕ": "s", "ԁ": "d", "ɡ": "g",
    "α": "a", "β": "b", "ε": "e", "ι": "i", "κ": "k", "ο": "o", "ρ": "p", "τ": "t", "υ": "u", "χ": "x",
    "ı": "i", "ɩ": "i", "ß": "ss", "æ": "ae", "œ": "oe", "ø": "o", "ł": "l", "đ": "d",
}
# Digits and symbols that imitate letters: read as letters only inside a word, so the "!" of
# "idiot!" stays punctuation while the one in "sh!t" is an i.
_SYMBOL_LOOKALIKES = {
    "0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b", "9": "g",
    "@": "a", "$": "s", "!": "i", "|": "l", "+": "t", "€": "e", "£": "l",
}
_LOOKALIKES = str.maketrans({**_SYMBOL_LOOKALIKES, **_LETTER_LOOKALIKES})
_LETTERS_ONLY = str.maketrans(_LETTER_LOOKALIKES)
_SYMBOLS = str.maketrans(_SYMBOL_LOOKALIKES)
MASK = "*"
_MASKS = str.maketrans({"#": MASK, "@": MASK})

_LETTER = r"[^\W\d_]"
# Runs of single letters split by separators ("f.u.c.k", "f u c k", "f-u_c*k") become one word.
_SPACED_LETTERS = re.compile(rf"(?<!{_LETTER})(?:{_LETTER}[\s.\-_*,'·•]+){{2,}}{_LETTER}(?!{_LETTER})")
_SEPARATORS = re.compile(r"[\s.\-_*,'·•]+")
# Inside a word: characters that join its parts ("fu-ck", "fu.ck") and are simply dropped.
_JOINERS = re.compile(r"[.\-_'’·•,~^]+")
# Characters that end one word and start another even without a space ("idiot,you", "end.Next").
_BREAKS = re.compile(r"[^\w*#@$!|+€£]+|_+")
_WORD = re.compile(rf"{_LETTER}+")
_REPEATS = re.compile(r"(.)\1+")
_SIBILANT_ENDINGS = ("s", "x", "z", "ch", "sh")
MIN_STEM = 3


def fold(text: str) -> str:
    """Lowercase, accents removed, look-alikes (letters, digits, symbols) mapped to Latin letters."""
    return _strip_accents(text).translate(_LOOKALIKES)


def _strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _strip_edges(token: str) -> str:
    start, end = 0, len(token)
    while start < end and not _is_letter(token[start]):
        start += 1
    while end > start and not _is_letter(token[end - 1]):
        end -= 1
    return token[start:end]


def _is_letter(ch: str) -> bool:
    return ch.isalpha()


def _candidates(token: str) -> list[str]:
    """What one whitespace-separated token may be read as, most literal first."""
    found: list[str] = []

    def add(word: str) -> None:
        word = _JOINERS.sub("", word)
        if word and any(_is_letter(ch) for ch in word) and word not in found:
            if all(_is_letter(ch) or ch == MASK for ch in word):
                found.append(word)

    inner = _strip_edges(token)          # punctuation around the word is punctuation
    add(inner.translate(_SYMBOLS))        # "sh!t", "a$s"
    add(token.translate(_SYMBOLS))        # "$hit", "a$$": symbols at the edges as letters
    add(inner.translate(_MASKS).translate(_SYMBOLS))  # "f@ck", "sh#t": @ and # as masks
    for part in _BREAKS.split(token):     # "idiot,you": each part on its own
        add(_strip_edges(part).translate(_SYMBOLS))
    return found


def _tokens(text: str) -> list[list[str]]:
    folded = _strip_accents(text).translate(_LETTERS_ONLY)
    folded = _SPACED_LETTERS.sub(lambda m: _SEPARATORS.sub("", m.group(0)), folded)
    tokens = [_candidates(raw) for raw in folded.split()]
    return [candidates for candidates in tokens if candidates]


def words_of(text: str) -> list[str]:
    """The words of ``text`` as matching reads them (one reading per word)."""
    return [candidates[0] for candidates in _tokens(text)]


def _squeeze(word: str) -> str:
    return _REPEATS.sub(r"\1", word)


@lru_cache(maxsize=256)
def _compile_list(entries: tuple[str, ...]) -> tuple[tuple[str, ...], ...]:
    return tuple(tuple(_WORD.findall(fold(entry))) for entry in entries)


def _stems(word: str) -> list[str]:
    """Readings of ``word`` without a common inflection (each at least MIN_STEM letters)."""
    stems: list[str] = []
    for suffix in ("ings", "ing"):
        if word.endswith(suffix) and len(word) - len(suffix) >= MIN_STEM:
            stem = word[: -len(suffix)]
            stems += [stem, stem + "e"]                 # "fucking", "hating"
    if word.endswith("ed") and len(word) - 2 >= MIN_STEM:
        stems += [word[:-2], word[:-1]]                 # "spammed", "hated"
    if word.endswith("es") and len(word) - 2 >= MIN_STEM and word[:-2].endswith(_SIBILANT_ENDINGS):
        stems.append(word[:-2])                          # "bitches", "asses"
    if word.endswith("s") and not word.endswith("ss") and len(word) - 1 >= MIN_STEM:
        stems.append(word[:-1])                          # "idiots"
    return stems


def _same_word(candidate: str, listed: str) -> bool:
    if candidate == listed:
        return True
    # "fuuuck" matches "fuck", but "as" must not match "ass": only stretched words count.
    return len(candidate) > len(listed) and _squeeze(candidate) == _squeeze(listed)


def _masked_match(candidate: str, listed: str) -> bool:
    """Each mask stands for exactly one letter; at least one real letter must be shown."""
    if len(candidate) != len(listed) or candidate.count(MASK) == len(candidate):
        return False
    return all(c == MASK or c == l for c, l in zip(candidate, listed))


def _word_matches(candidate: str, listed: str) -> bool:
    if MASK in candidate:
        return _masked_match(candidate, listed)
    if _same_word(candidate, listed):
        return True
    return any(_same_word(stem, listed) for stem in _stems(candidate))


def _token_matches(candidates: list[str], listed: str) -> bool:
    return any(_word_matches(candidate, listed) for candidate in candidates)


def find_listed_words(text: str, entries: list[str]) -> list[str]:
    """The list entries (as written in the list) that occur in the text as whole words or phrases."""
    if not entries:
        return []
    tokens = _tokens(text)
    found: list[str] = []
    for entry, phrase in zip(entries, _compile_list(tuple(entries))):
        size = len(phrase)
        if not size:
            continue
        for start in range(len(tokens) - size + 1):
            if all(_token_matches(tokens[start + i], phrase[i]) for i in range(size)):
                found.append(entry)
                break
    return found
