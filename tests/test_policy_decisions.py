"""decide() on its own: the decision each rule outcome turns into, with given scores.

These pin what mutation testing (setup.cfg [mutmut]) found the API tests did not: a closed
thread is refused (never held), a reject threshold names its labels, a turned-off scorer lets
the other rules decide, and a ban is one author's, not the site's.
"""
from __future__ import annotations

from discuss.extensions import db
from discuss.models import Ban, CommentStatus
from discuss.models.settings import merged_settings
from discuss.moderation.policy import ScoreSource, decide
from discuss.scoring.runtime import EXTENSION_KEY, ScoringService
from tests.factories import make_site, make_thread, make_user

CALM = {"toxicity": 0.02, "severe_toxicity": 0.01, "insult": 0.01, "threat": 0.01, "identity_attack": 0.01}


def _decide(thread, author, scores=None, source=None, **settings):
    return decide(settings=merged_settings(settings), thread=thread, author=author, text="Some words.",
                  html="<p>Some words.</p>", source=source or ScoreSource("given", scores or CALM))


def test_a_closed_thread_refuses_the_comment_with_its_reason(app):
    site = make_site()
    thread, author = make_thread(site, is_closed=True), make_user()
    decision = _decide(thread, author)
    assert decision.status is CommentStatus.REJECTED
    assert decision.reasons == ["thread_closed"] and decision.details.get("refused") is True


def test_a_reject_threshold_rejects_and_names_the_labels_that_crossed_it(app):
    site = make_site()
    thread, author = make_thread(site), make_user()
    decision = _decide(thread, author, {**CALM, "severe_toxicity": 0.97, "toxicity": 0.97})
    assert decision.status is CommentStatus.REJECTED
    assert decision.reasons == ["toxicity:severe_toxicity"]
    assert decision.toxicity_labels == ["severe_toxicity"]


def test_a_calm_comment_is_published_with_no_labels(app):
    site = make_site()
    decision = _decide(make_thread(site), make_user())
    assert decision.status is CommentStatus.PUBLISHED
    assert decision.reasons == [] and decision.toxicity_labels == []


def test_with_the_scorer_turned_off_the_other_rules_decide(app):
    """An operator who turned scoring off (SCORER_ENABLED=0) gets the word and link rules only:
    a comment is not held for want of scores that will never come."""
    app.extensions[EXTENSION_KEY] = ScoringService(None, "disabled")
    site = make_site()
    thread, author = make_thread(site), make_user()
    source = ScoreSource("inline")
    decision = _decide(thread, author, source=source)
    assert decision.status is CommentStatus.PUBLISHED and decision.scores is None
    assert source.error == "scoring_disabled"
    banned = _decide(thread, author, source=ScoreSource("inline"), banned_words=["words"])
    assert banned.status is CommentStatus.REJECTED


def test_a_ban_holds_back_only_the_banned_author(app):
    site = make_site()
    thread, banned, other = make_thread(site), make_user("Banned"), make_user("Other")
    db.session.add(Ban(site_id=site.id, user_id=banned.id))
    db.session.commit()
    assert _decide(thread, other).status is CommentStatus.PUBLISHED
    assert _decide(thread, banned).status is not CommentStatus.PUBLISHED
