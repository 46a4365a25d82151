"""The toxicity nudge round trip, and comments never lost when the scorer fails."""
import threading

from sqlalchemy import func, select

from discuss.extensions import db
from discuss.models import Comment, CommentStatus, ModerationEvent
from discuss.scoring.runtime import ScoringService, get_scoring
from discuss.moderation.rescoring import rescore_pending
from tests.factories import make_site
from tests.support.api import post_comment, read_thread
from tests.support.scorers import FakeScorer


def test_nudge_warns_instead_of_holding_and_stores_nothing(client, app):
    make_site()
    response = post_comment(client, "You idiot")
    assert response.status_code == 422
    error = response.json["error"]
    assert error["code"] == "toxicity_warning" and error["labels"] == ["toxicity", "insult"]
    assert error["warning_token"]
    assert db.session.scalar(select(func.count(Comment.id))) == 0


def test_posting_anyway_after_nudge_holds_and_records_it(client, app):
    make_site()
    warning = post_comment(client, "You idiot").json["error"]
    response = post_comment(client, "You idiot", acknowledge_warning=True, warning_token=warning["warning_token"])
    assert response.status_code == 202
    stored = db.session.get(Comment, response.json["comment"]["id"])
    assert stored.status is CommentStatus.PENDING
    assert stored.reasons == ["toxicity:toxicity", "toxicity:insult", "nudge:acknowledged"]
    assert (stored.warned, stored.rephrased_after_warning) == (True, False)


def test_rephrasing_after_nudge_is_recorded(client, app):
    make_site()
    warning = post_comment(client, "You idiot").json["error"]
    response = post_comment(client, "I strongly disagree with you", warning_token=warning["warning_token"])
    assert response.status_code == 201
    stored = db.session.get(Comment, response.json["comment"]["id"])
    assert (stored.warned, stored.rephrased_after_warning) == (True, True)


def test_forged_warning_token_records_nothing(client, app):
    make_site()
    response = post_comment(client, "Polite words", warning_token="forged")
    stored = db.session.get(Comment, response.json["comment"]["id"])
    assert (stored.warned, stored.rephrased_after_warning) == (False, False)


def test_sites_can_turn_the_nudge_off(client, app):
    make_site(toxicity_nudge=False)
    assert post_comment(client, "You idiot").status_code == 202


def _post_and_get(app, body="Fine words"):
    response = post_comment(app.test_client(), body)
    return response, db.session.get(Comment, response.json["comment"]["id"])


def test_scorer_raising_holds_comment_as_scoring_unavailable(make_app):
    app = make_app(SCORER=FakeScorer(fail=True))
    with app.app_context():
        make_site()
        response, stored = _post_and_get(app)
        assert response.status_code == 202
        assert (stored.status, stored.reasons, stored.scores) == (CommentStatus.PENDING, ["scoring_unavailable"], None)
        db.session.remove()


def test_scorer_over_time_budget_holds_comment(make_app):
    app = make_app(SCORER=FakeScorer(delay=1.0), SCORING_TIMEOUT_MS=100)
    with app.app_context():
        make_site()
        response, stored = _post_and_get(app)
        assert response.status_code == 202 and stored.reasons == ["scoring_unavailable"]
        db.session.remove()


def test_model_still_loading_holds_then_rescore_routes_once(make_app):
    release = threading.Event()
    keyword_scorer = FakeScorer()

    def slow_loader():
        release.wait(10)
        return keyword_scorer

    app = make_app(SCORER=None, SCORER_ENABLED=False)  # the test installs its own service below
    with app.app_context():
        service = ScoringService(slow_loader, "test")
        app.extensions["discuss.scoring"] = service
        service.start()
        make_site(toxicity_nudge=False)
        clean_response, clean = _post_and_get(app, "Nice reporting")
        toxic_response, toxic = _post_and_get(app, "What an idiot")
        assert clean_response.status_code == toxic_response.status_code == 202
        assert read_thread(app.test_client()).json["thread"]["published_count"] == 0
        assert get_scoring().status()["state"] == "loading"

        release.set()
        assert service.wait_ready(10)
        assert rescore_pending() == {"published": 1, "pending": 1, "rejected": 0, "skipped": 0, "failed": 0}
        db.session.expire_all()
        assert (clean.status, clean.reasons) == (CommentStatus.PUBLISHED, [])
        assert (toxic.status, toxic.reasons) == (CommentStatus.PENDING, ["toxicity:toxicity", "toxicity:insult"])
        assert read_thread(app.test_client()).json["thread"]["published_count"] == 1
        # A second run finds nothing to do: nothing is routed or counted twice.
        assert rescore_pending()["published"] == 0
        events = db.session.scalars(select(ModerationEvent.action).where(ModerationEvent.comment_id == clean.id))
        assert list(events) == ["create", "rescore"]
        db.session.remove()


def test_rescore_leaves_moderator_decisions_alone(make_app):
    app = make_app(SCORER=FakeScorer(fail=True))
    with app.app_context():
        make_site()
        _, stored = _post_and_get(app)
        stored.moderator_decided = True
        stored.status = CommentStatus.REJECTED
        db.session.commit()
        app.extensions["discuss.scoring"] = ScoringService.from_scorer(FakeScorer())
        assert rescore_pending()["published"] == 0
        db.session.expire_all()
        assert stored.status is CommentStatus.REJECTED
        db.session.remove()


def test_healthz_reports_scorer_state_without_failing(make_app):
    app = make_app(SCORER=None, SCORER_ENABLED=False)  # the test installs its own service below
    with app.app_context():
        app.extensions["discuss.scoring"] = ScoringService(lambda: (_ for _ in ()).throw(OSError("no weights")), "x")
        app.extensions["discuss.scoring"].start()
        get_scoring().wait_ready(0.5)
        response = app.test_client().get("/healthz")
        assert response.status_code == 200
        assert response.json["scorer"]["state"] == "failed" and "no weights" in response.json["scorer"]["error"]
        db.session.remove()
