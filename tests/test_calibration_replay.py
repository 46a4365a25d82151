"""Calibration, replay and suggested thresholds on a known set of scores and decisions.

Every expected number below was counted by hand from the eight comments in ROWS (see the
comment beside each row); the tests check the code against those counts.
"""
from __future__ import annotations

import pytest
from hypothesis import example, given, strategies as st

from discuss.extensions import db
from discuss.models import CommentStatus, ModerationEvent, Role
from tests.dashboard_support import make_staff, sign_in
from tests.factories import make_comment, make_site, make_thread
from discuss.models.settings import merged_settings
from discuss.moderation.calibration import band_of, calibrate
from discuss.moderation.replay import (ReplayRow, outcome, outcomes, recall_and_holds, replay, stored_reasons,
                                       suggest_thresholds)

CURRENT = merged_settings({"hold_thresholds": {"toxicity": 0.8, "insult": 0.7, "threat": 1.0,
                                               "identity_attack": 1.0, "severe_toxicity": 1.0},
                           "reject_thresholds": {"severe_toxicity": 0.95}})


def s(tox, insult, severe=0.0):
    return {"toxicity": tox, "insult": insult, "severe_toxicity": severe}


ROWS = [
    ReplayRow(1, s(0.90, 0.10), (), "rejected"),                     # held (toxicity); moderator rejected
    ReplayRow(2, s(0.50, 0.75), (), "approved"),                     # held (insult); approved
    ReplayRow(3, s(0.30, 0.20)),                                     # published; nobody looked
    ReplayRow(4, s(0.85, 0.10), (), "approved"),                     # held (toxicity); approved
    ReplayRow(5, s(0.60, 0.20), (), "rejected"),                     # published, then removed
    ReplayRow(6, s(0.20, 0.10, 0.97)),                               # rejected (severe >= 0.95)
    ReplayRow(7, s(0.75, 0.00), ("banned_word",), "rejected"),       # rejected by a banned word
    ReplayRow(8, s(0.10, 0.00), ("premoderation:site",), "approved"),  # held by pre-moderation
]


def with_hold(**hold):
    return merged_settings({**CURRENT, "hold_thresholds": {**CURRENT["hold_thresholds"], **hold}})


def test_outcome_uses_the_rules_in_order():
    assert [outcome(r, CURRENT) for r in ROWS] == [
        "held", "held", "published", "held", "published", "rejected", "rejected", "held"]


def test_stored_reasons_keep_only_what_thresholds_do_not_decide():
    assert stored_reasons(["toxicity:insult", "links:too_many", "banned_word", "scoring_unavailable",
                           "nudge:acknowledged", "reject:spam", "premoderation:user"]) == (
        "links:too_many", "banned_word", "premoderation:user")


def test_replay_counts_each_change_and_who_decided_it():
    result = replay(ROWS, CURRENT, with_hold(toxicity=0.55, insult=0.8))
    # row 2 (insult 0.75 < 0.8, tox 0.5 < 0.55) leaves the queue; row 5 (tox 0.6 >= 0.55) enters it
    assert result.transitions == {
        "held->published": {"total": 1, "rejected_by_moderator": 0, "approved_by_moderator": 1, "undecided": 0},
        "published->held": {"total": 1, "rejected_by_moderator": 1, "approved_by_moderator": 0, "undecided": 0},
    }
    assert (result.comments, result.changed) == (8, 2)
    assert (result.held_before, result.held_after, result.reviews_delta) == (4, 4, 0)  # rows 1,2,4,8 / 1,4,5,8
    assert (result.moderator_rejected_caught, result.moderator_rejected_let_through) == (1, 0)
    assert (result.approved_no_longer_held, result.approved_newly_held) == (1, 0)
    assert [(x["id"], x["before"], x["after"], x["moderator"]) for x in result.sample] == [
        (2, "held", "published", "approved"), (5, "published", "held", "rejected")]


def test_replay_counts_toxic_comments_let_through_and_reviews_saved():
    result = replay(ROWS, CURRENT, with_hold(toxicity=0.95))
    # rows 1 (0.90) and 4 (0.85) are no longer held; row 1 was rejected by a moderator
    assert result.transitions["held->published"] == {"total": 2, "rejected_by_moderator": 1,
                                                     "approved_by_moderator": 1, "undecided": 0}
    assert result.moderator_rejected_let_through == 1
    assert result.as_json()["reviews"] == {"held_before": 4, "held_after": 2, "added": 0, "saved": 2}


def test_replay_with_the_same_thresholds_changes_nothing():
    result = replay(ROWS, CURRENT, CURRENT)
    assert result.changed == 0 and result.transitions == {} and result.sample == []


def test_a_reject_threshold_moves_held_to_rejected():
    proposed = merged_settings({**CURRENT, "reject_thresholds": {"severe_toxicity": 0.95, "toxicity": 0.88}})
    result = replay(ROWS, CURRENT, proposed)
    assert result.transitions == {"held->rejected": {"total": 1, "rejected_by_moderator": 1,
                                                     "approved_by_moderator": 0, "undecided": 0}}


def test_calibration_matches_hand_counts():
    report = calibrate(ROWS, CURRENT)
    assert (report["decisions"], report["moderator_rejected"], report["moderator_approved"]) == (6, 3, 3)
    # overall: rows 1, 2, 4, 7, 8 flagged; 1 and 7 rejected by moderators
    assert report["overall"] == {"flagged": 5, "flagged_and_rejected": 2, "precision": 0.4,
                                 "recall": pytest.approx(2 / 3)}
    assert report["trusted"] is False and "too few to trust" in report["trust_note"]
    labels = {entry["label"]: entry for entry in report["labels"]}
    tox = labels["toxicity"]
    assert (tox["decisions"], tox["caught"], tox["caught_and_rejected"]) == (6, 2, 1)  # rows 1 and 4 caught
    assert tox["precision"] == 0.5 and tox["recall"] == pytest.approx(1 / 3)
    assert [(b["decisions"], b["rejected"]) for b in tox["reliability"]] == [
        (0, 0), (1, 0), (0, 0), (0, 0), (0, 0), (1, 0), (1, 1), (1, 1), (1, 0), (1, 1)]
    assert tox["reliability"][6]["rate"] == 1.0 and tox["reliability"][0]["rate"] is None
    insult = labels["insult"]
    assert (insult["caught"], insult["caught_and_rejected"], insult["precision"], insult["recall"]) == (1, 0, 0.0, 0.0)


def test_bands_put_edges_in_the_upper_band():
    assert [band_of(v) for v in (0.0, 0.099, 0.1, 0.3, 0.7, 0.6, 0.9999, 1.0)] == [0, 0, 1, 3, 7, 6, 9, 9]


def test_calibration_is_trusted_with_enough_decisions():
    rows = [ReplayRow(i, s(0.9 if i % 2 else 0.1, 0.0), (), "rejected" if i % 2 else "approved") for i in range(60)]
    report = calibrate(rows, CURRENT)
    assert report["trusted"] is True and report["trust_note"] is None
    assert report["overall"]["precision"] == 1.0 and report["overall"]["recall"] == 1.0


def test_suggested_thresholds_for_full_recall():
    suggestions = suggest_thresholds(ROWS, CURRENT, 1.0)
    # insult: the other labels miss only row 5 (insult 0.20) -> 0.2; toxicity: they miss rows 1 and 5,
    # both needed -> the lower of their toxicity scores, 0.6
    assert suggestions["insult"]["threshold"] == 0.2
    assert suggestions["toxicity"]["threshold"] == 0.6
    assert suggestions["toxicity"]["recall"] == 1.0 and suggestions["toxicity"]["holds_among_decided"] == 5
    assert recall_and_holds(ROWS, with_hold(toxicity=0.6)) == (1.0, 5)
    # a hair higher and row 5 escapes: the suggestion is the highest threshold that keeps the target
    assert recall_and_holds(ROWS, with_hold(toxicity=0.601))[0] == pytest.approx(2 / 3)


def test_suggested_thresholds_for_a_lower_target():
    suggestions = suggest_thresholds(ROWS, CURRENT, 0.6)   # 2 of the 3 rejections are enough
    assert suggestions["insult"]["threshold"] == 1.0       # toxicity and the banned word already get 2
    assert suggestions["toxicity"]["threshold"] == 0.9     # row 1 alone is enough
    assert suggestions["toxicity"]["recall"] == pytest.approx(2 / 3)


def test_no_rejections_no_suggestion():
    rows = [ReplayRow(1, s(0.2, 0.1), (), "approved")]
    assert suggest_thresholds(rows, CURRENT, 0.9)["toxicity"]["threshold"] is None


# -- the same set stored in the database, through the API ------------------------------------------


# (row, status now, moderator decided, reasons now, reasons of the pipeline's decision)
STORED = {1: (CommentStatus.REJECTED, True, ["reject:abuse"], ["toxicity:toxicity"]),
          2: (CommentStatus.PUBLISHED, True, [], ["toxicity:insult"]),
          3: (CommentStatus.PUBLISHED, False, [], []),
          4: (CommentStatus.PUBLISHED, True, [], ["toxicity:toxicity"]),
          5: (CommentStatus.REJECTED, True, ["reject:spam"], []),
          6: (CommentStatus.REJECTED, False, ["toxicity:severe_toxicity"], ["toxicity:severe_toxicity"]),
          7: (CommentStatus.REJECTED, True, ["reject:spam"], ["banned_word"]),
          8: (CommentStatus.PUBLISHED, True, [], ["premoderation:site"])}


@pytest.fixture
def stored_rows(app, client):
    site = make_site(**{k: CURRENT[k] for k in ("hold_thresholds", "reject_thresholds")})
    thread = make_thread(site)
    ids = {}
    for row in ROWS:
        status, decided, reasons, pipeline = STORED[row.comment_id]
        comment = make_comment(thread, body=f"Comment {row.comment_id}", status=status, reasons=reasons,
                               scores=row.scores, moderator_decided=decided)
        db.session.add(ModerationEvent(site_id=site.id, comment_id=comment.id, actor_label="pipeline",
                                       action="create", reasons=pipeline))
        ids[row.comment_id] = comment.id
    db.session.commit()
    sign_in(client, make_staff("admin@example.com", Role.ADMIN))
    return ids


def test_replay_api_gives_the_hand_counted_answer(client, stored_rows):
    response = client.post("/api/v1/moderation/sites/news/replay",
                           json={"hold_thresholds": {"toxicity": 0.55, "insult": 0.8}, "sample": 5})
    assert response.status_code == 200
    body = response.get_json()
    assert (body["comments"], body["changed"]) == (8, 2)
    assert body["transitions"]["held->published"]["approved_by_moderator"] == 1
    assert body["transitions"]["published->held"]["rejected_by_moderator"] == 1
    assert body["toxic"] == {"let_through": 0, "caught": 1}
    assert body["proposed"]["hold_thresholds"]["toxicity"] == 0.55
    assert [(s["id"], s["excerpt"]) for s in body["sample"]] == [
        (stored_rows[2], "Comment 2"), (stored_rows[5], "Comment 5")]


def test_calibration_api_matches_the_pure_computation(client, stored_rows):
    body = client.get("/api/v1/moderation/sites/news/calibration?target_recall=1").get_json()
    assert (body["decisions"], body["moderator_rejected"]) == (6, 3)
    assert body["overall"]["flagged"] == 5 and body["overall"]["flagged_and_rejected"] == 2
    assert body["suggested"]["toxicity"]["threshold"] == 0.6 and body["suggested"]["insult"]["threshold"] == 0.2
    assert body["trusted"] is False


@pytest.mark.parametrize("body,field", [({"hold_thresholds": {"toxicity": 2}}, "hold_thresholds"),
                                        ({"from": "yesterday"}, "from"),
                                        ({"from": "2026-12-02", "to": "2026-11-01"}, "from"),
                                        ({"sample": -1}, "sample"), ({"thresholds": {}}, "thresholds")])
def test_replay_refuses_bad_input(client, stored_rows, body, field):
    response = client.post("/api/v1/moderation/sites/news/replay", json=body)
    assert response.status_code == 400
    assert field in response.get_json()["error"]["fields"]


def test_replay_is_for_staff_of_the_site(client, stored_rows):
    sign_in(client, make_staff("mod@example.com", Role.MODERATOR, []))
    assert client.post("/api/v1/moderation/sites/news/replay", json={}).status_code == 404


def test_grouped_replay_equals_replaying_every_comment(client, app):
    """The SQL grouping is exact: the same counts as running the rules on each comment, moderator
    verdicts and the pipeline's stored reasons of decided comments included."""
    import random

    from discuss.models.types import utcnow
    from discuss.moderation.replay_data import load_groups, load_rows, proposed_settings
    from discuss.moderation.replay import threshold_points

    rng = random.Random(5)
    site = make_site(**{k: CURRENT[k] for k in ("hold_thresholds", "reject_thresholds")})
    thread = make_thread(site)
    extra = [[], [], [], ["banned_word"], ["links:too_many"], ["premoderation:site", "suspect_word"]]
    for i in range(120):
        scores = {label: rng.choice([0.1, 0.55, 0.6, 0.7, 0.75, 0.8, 0.85, 0.95, 0.97, rng.random()])
                  for label in ("toxicity", "insult", "severe_toxicity", "threat")}
        if i % 7 == 0:
            scores.pop("threat")
        reasons = rng.choice(extra)
        if i % 4 == 0:  # decided by a moderator: the pipeline's reasons live on in its audit row only
            rejected = i % 8 == 0
            comment = make_comment(thread, body=f"c{i}", scores=scores, moderator_decided=True,
                                   status=CommentStatus.REJECTED if rejected else CommentStatus.PUBLISHED,
                                   reasons=["reject:spam"] if rejected else [])
            db.session.add(ModerationEvent(site_id=site.id, comment_id=comment.id, actor_label="pipeline",
                                           action="create", reasons=reasons))
            db.session.commit()
        else:
            make_comment(thread, body=f"c{i}", reasons=reasons, scores=scores)
    make_comment(thread, body="never scored", scores=None, status=CommentStatus.PENDING,
                 reasons=["scoring_unavailable"])
    since, until = utcnow().replace(hour=0, minute=0, second=0, microsecond=0), utcnow().replace(year=2100)
    proposed = proposed_settings(site, {"hold_thresholds": {"toxicity": 0.6, "insult": 0.75, "threat": 0.55},
                                        "reject_thresholds": {"severe_toxicity": 0.85}})
    current = site.effective_settings()
    groups = load_groups(site.id, since, until, threshold_points(current, proposed))
    per_comment = load_rows(site.id, since, until)
    assert sum(g.count for g in groups) == len(per_comment) == 120 and len(groups) < 120
    grouped, single = replay(groups, current, proposed), replay(per_comment, current, proposed)
    assert grouped.changed > 10
    assert grouped.transitions == single.transitions
    assert (grouped.held_before, grouped.held_after) == (single.held_before, single.held_after)
    assert (grouped.moderator_rejected_caught, grouped.moderator_rejected_let_through) == (
        single.moderator_rejected_caught, single.moderator_rejected_let_through)
    assert sum(t["rejected_by_moderator"] + t["approved_by_moderator"] for t in grouped.transitions.values()) > 0


LABELS = ("toxicity", "insult", "severe_toxicity")
score = st.floats(min_value=0, max_value=1, allow_nan=False)


@given(rows=st.lists(st.tuples(st.fixed_dictionaries({}, optional={label: score for label in LABELS}),
                               st.sampled_from([(), ("banned_word",), ("suspect_word",), ("links:too_many",)])),
                     max_size=30),
       hold=st.fixed_dictionaries({}, optional={label: st.one_of(st.none(), score) for label in LABELS}),
       reject=st.fixed_dictionaries({}, optional={label: st.one_of(st.none(), score) for label in LABELS}))
@example(rows=[({"toxicity": 0.5}, ()), ({"toxicity": 0.4}, ())], hold={"toxicity": 0.5}, reject={})  # on the line
def test_outcomes_of_many_rows_equal_each_rows_own_outcome(rows, hold, reject):
    """``outcomes`` runs the rules once per kind of row; the answers must be each row's own."""
    settings = merged_settings({"hold_thresholds": hold, "reject_thresholds": reject})
    replay_rows = [ReplayRow(i, scores, reasons) for i, (scores, reasons) in enumerate(rows)]
    assert outcomes(replay_rows, settings) == [outcome(r, settings) for r in replay_rows]
