"""A rejected comment gets its own answer (issue 15), and the site chooses whether it says why."""
from __future__ import annotations

import pytest

from discuss.api.comments import HELD_MESSAGE
from discuss.moderation.feedback import QUIET_MESSAGE
from tests.factories import make_site
from tests.support.api import post_comment


def test_a_rejection_is_not_answered_like_a_hold(client, app):
    make_site(banned_words=["casino"], suspect_words=["crypto"])
    held = post_comment(client, "Ask me about crypto")
    assert held.status_code == 202 and held.json["message"] == HELD_MESSAGE
    rejected = post_comment(client, "Visit my casino!", name="Bo")
    assert rejected.status_code == 200 and rejected.json["status"] == "rejected"
    assert rejected.json["message"] == QUIET_MESSAGE != HELD_MESSAGE
    assert "reasons" not in rejected.json


@pytest.mark.parametrize("text, reason, phrase", [
    ("Visit my casino!", "banned_word", "a word this site does not allow"),
    ("You idiot", "toxicity:insult", "likely to be hurtful"),
])
def test_a_site_may_say_why(client, app, scorer, text, reason, phrase):
    make_site(banned_words=["casino"], rejection_feedback="explain", reject_thresholds={"insult": 0.5},
              toxicity_nudge=False)
    response = post_comment(client, text)
    assert response.status_code == 200 and response.json["status"] == "rejected"
    assert phrase in response.json["message"] and reason in response.json["reasons"]
    assert "casino" not in response.json["message"]  # the list itself is never read out
