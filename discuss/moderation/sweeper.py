"""The sweeper: every comment that waits for a score gets routed with no human or CLI step.

A comment can be left waiting (pending, reason ``scoring_queued`` or ``scoring_unavailable``)
by a Redis outage when it was posted (never enqueued), a worker killed mid-job, a job that ran
out of retries, or, inline, a post whose scoring ran past its time budget while the model
stayed ready (nothing else would ever rescore it). Every ``SWEEP_SECONDS`` the sweeper scores
the comments that have waited at least that long with this process's model, and routes them
by the rules.

It runs in every queue worker (`flask discuss worker`) and, inline, in every web process once
its model is ready. It is idempotent and safe in several processes at once: ``route_scored``
claims each comment in its own transaction, so a comment is routed once even if two sweeps
meet; with Redis, one process per interval takes the turn, so the others don't score the same
comments for nothing. In queue mode it also publishes this worker's scorer state to Redis for
the web processes' ``/healthz``.
"""
from __future__ import annotations

import threading
from datetime import timedelta

from flask import Flask

from discuss.extensions import db
from discuss.jobs import scorer_state
from discuss.models import utcnow
from discuss.moderation.rescoring import rescore_pending
from discuss.scoring import ScorerState
from discuss.scoring.runtime import get_scoring

TURN_KEY = "discuss:sweep-turn"


class Sweeper:
    def __init__(self, app: Flask, interval_seconds: float, publish_state: bool = False):
        self.app = app
        self.interval = float(interval_seconds)
        self.publish_state = publish_state
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> "Sweeper":
        if self.interval > 0 and self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="discuss-sweeper", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self.publish_state:
            with self.app.app_context():
                scorer_state.withdraw()

    def _loop(self) -> None:
        self.publish()
        while not self._stop.wait(self.interval):
            self.publish()
            self.run_once()

    def publish(self) -> None:
        if not self.publish_state:
            return
        with self.app.app_context():
            scorer_state.publish(get_scoring().status(), ttl_seconds=max(10, 3 * self.interval))

    def run_once(self, min_age_seconds: float | None = None) -> dict[str, int] | None:
        """One sweep. Returns the rescoring counts, or None when this process did not sweep
        (model not ready, another process's turn, or the database away: the next round retries)."""
        with self.app.app_context():
            try:
                if get_scoring().state is not ScorerState.READY or not self._take_turn():
                    return None
                age = self.interval if min_age_seconds is None else min_age_seconds
                result = rescore_pending(waiting_since=utcnow() - timedelta(seconds=age))
                if any(result.values()):
                    self.app.logger.warning("sweeper routed comments left waiting for a score: %s", result)
                return result
            except Exception:  # noqa: BLE001 - never end the loop; the next round tries again
                self.app.logger.exception("sweep failed; trying again in %.0f s", self.interval)
                return None
            finally:
                db.session.remove()

    def _take_turn(self) -> bool:
        url = self.app.config.get("REDIS_URL")
        if not url:
            return True
        try:
            from redis import Redis

            client = Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
            return bool(client.set(TURN_KEY, scorer_state.worker_id(), nx=True, ex=max(1, int(self.interval) - 1)))
        except Exception:  # noqa: BLE001 - Redis away: sweep anyway; the claim keeps routing to once
            return True


def start_sweeper(app: Flask, publish_state: bool = False) -> Sweeper:
    return Sweeper(app, app.config.get("SWEEP_SECONDS", 30) or 0, publish_state).start()
