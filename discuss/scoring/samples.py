"""Sample comments for the agreement check, `flask discuss model check`, tests and benchmarks: fixed ones in the
shapes production sees, and ``generate_comments``, a reproducible mix of news-comment lengths (median ~50 words).
"""
from __future__ import annotations

import random

SAMPLE_COMMENTS: tuple[str, ...] = (
    "Great article, thanks.",
    "This is the dumbest thing I have read all week, and the author should be ashamed.",
    "I disagree with the council's decision, but I understand why they made it given the budget.",
    "You are an idiot and everyone on this thread knows it.",
    "Does anyone know when the road works on Main Street are supposed to finish?",
    "Shut up. Nobody asked for your stupid opinion, you clown.",
    "The numbers in the third paragraph don't match the chart; could the editors check?",
    "I hope something terrible happens to you and your family.",
    "Merci pour cet article très intéressant — à quand la suite ?",
    "lol",
    "People like you are the reason this country is going down the drain, pathetic losers all of you.",
    "My grandmother lived in that building for forty years. It is sad to see it torn down, but the "
    "new library will serve the neighbourhood well, and the architects seem to have listened to the "
    "residents during the consultation.",
    "What a load of garbage. Fire the reporter.",
    "Thank you for covering the school board meeting; local journalism like this matters.",
    ("I have been reading this paper for twenty years and I have never seen such a one-sided piece. "
     "The reporter quotes three people who agree with the mayor and not a single resident of the "
     "affected streets. ") * 6,
    "Kill the bill, not the messenger.",
)

_SUBJECTS = ["The mayor", "This council", "The reporter", "My neighbour", "The new policy", "Everyone here",
             "The school board", "The police chief", "Your argument", "This article", "The government",
             "The developer", "Local businesses", "The referee", "The governor", "People like you"]
_VERBS = ["clearly ignores", "completely misunderstands", "finally addresses", "keeps avoiding",
          "should explain", "never mentions", "wastes money on", "deserves credit for", "lies about",
          "makes a fair point about", "has no idea about", "is right about", "got wrong"]
_OBJECTS = ["the budget", "the housing crisis", "traffic on Main Street", "the new stadium", "property taxes",
            "the flooding last spring", "public transport", "the school closures", "crime downtown",
            "the hospital waiting lists", "the recycling program", "the election results", "the pension fund"]
_TAILS = ["", "", "", " and that is a disgrace", ", which is typical", " as usual", ", honestly",
          ", and I say that as a lifelong resident", ", you absolute clown", " and nobody cares",
          ", what a joke", ", thank you for reporting this", " and it makes me furious",
          ", shame on all of them", ", idiots", ", good job"]
_OPENERS = ["", "", "Honestly, ", "Frankly, ", "Well, ", "Sorry but ", "Wow. ", "As usual, ", "Look, "]


def _sentence(rng: random.Random) -> str:
    opener, subject = rng.choice(_OPENERS), rng.choice(_SUBJECTS)
    if opener:
        subject = subject[0].lower() + subject[1:]
    return (opener + subject + " " + rng.choice(_VERBS) + " " + rng.choice(_OBJECTS)
            + rng.choice(_TAILS) + rng.choice([".", ".", ".", "!", "?", "!!"]))


def generate_comment(rng: random.Random, words: int) -> str:
    parts: list[str] = []
    count = 0
    while count < words:
        sentence = _sentence(rng)
        parts.append(sentence)
        count += len(sentence.split())
    return " ".join(parts)


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
    rng = random.Random(seed + 1)
    return [generate_comment(rng, words) for words in comment_lengths(n, seed)]


def agreement_comments() -> list[str]:
    """What a fast recipe is checked on against fp32: the fixed samples plus 48 generated comments. The max
    difference grows with the inputs checked (on trained weights 16 showed a third of 112's), hence more."""
    return list(SAMPLE_COMMENTS) + generate_comments(48, seed=5)
