"""Sample comments (agreement check, `model check`, tests, benchmarks): fixed ones in the shapes production sees,
and ``generate_comments``, a reproducible mix of news-comment lengths. Texts and sentence parts: samples.json."""
from __future__ import annotations

import json
import random
from pathlib import Path

_DATA = json.loads((Path(__file__).with_name("samples.json")).read_text(encoding="utf-8"))
SAMPLE_COMMENTS: tuple[str, ...] = tuple(_DATA["comments"])


def _sentence(rng: random.Random) -> str:
    opener, subject = rng.choice(_DATA["openers"]), rng.choice(_DATA["subjects"])
    if opener:
        subject = subject[0].lower() + subject[1:]
    return (opener + subject + " " + rng.choice(_DATA["verbs"]) + " " + rng.choice(_DATA["objects"])
            + rng.choice(_DATA["tails"]) + rng.choice([".", ".", ".", "!", "?", "!!"]))


def comment_lengths(n: int, seed: int = 7) -> list[int]:
    """Word counts like a news site's comments: median ~50, ~8% over 150, a few past 300."""
    rng = random.Random(seed)
    lengths = []
    for _ in range(n):
        roll = rng.random()
        if roll < 0.12:
            lengths.append(rng.randint(2, 12))      # "lol", "Great article"
        elif roll < 0.92:
            lengths.append(max(8, int(rng.lognormvariate(3.95, 0.45))))  # median ~52 words
        else:
            lengths.append(rng.randint(150, 380))   # the long rant
    return lengths


def generate_comments(n: int, seed: int = 7) -> list[str]:
    rng, comments = random.Random(seed + 1), []
    for words in comment_lengths(n, seed):
        parts: list[str] = []
        while sum(len(part.split()) for part in parts) < words:
            parts.append(_sentence(rng))
        comments.append(" ".join(parts))
    return comments


def agreement_comments() -> list[str]:
    """What a fast recipe is checked on against fp32: the fixed samples plus 48 generated comments. The max
    difference grows with the inputs checked (on trained weights 16 showed a third of 112's), hence more."""
    return list(SAMPLE_COMMENTS) + generate_comments(48, seed=5)
