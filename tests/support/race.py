"""A rescoring worker in a process of its own, held mid-scoring, for the two-process race tests
(tests/test_rescoring_race.py). Module level so a spawned process can import it."""
from __future__ import annotations

from discuss import create_app
from discuss.moderation.rescoring import score_and_route
from tests.conftest import _base_config
from tests.support.scorers import FakeScorer


def route_in_own_process(database_uri: str, comment_id: int, scoring, go, results) -> None:
    """``score_and_route`` as a queue worker runs it; the scorer sets ``scoring`` and waits for ``go``, so the
    test decides what happens between the worker reading the comment and routing it."""
    def hold() -> None:
        scoring.set()
        go.wait(60)

    app = create_app(_base_config(database_uri) | {"SCORER": FakeScorer(gate=hold)})
    with app.app_context():
        try:
            results.put(score_and_route(comment_id))
        except Exception as exc:  # noqa: BLE001 - the parent reports it
            results.put(f"error: {type(exc).__name__}: {exc}")
