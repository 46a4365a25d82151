"""Queue mode's scorer state, shared through Redis so the web processes can tell the truth.

In queue mode the web processes never load the model: the RQ workers do. Each worker publishes
its scorer's status under its own key with a short expiry, refreshed by its sweeper loop, so a
worker that dies simply drops out. ``/healthz`` on any web process reads every worker's entry.
"""
from __future__ import annotations

import json
import os
import socket
import time

from flask import current_app

KEY_PREFIX = "discuss:scorer-state:"


def _redis():
    from redis import Redis

    return Redis.from_url(current_app.config["REDIS_URL"], socket_timeout=2, socket_connect_timeout=2)


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def publish(status: dict, ttl_seconds: int) -> bool:
    """Write this worker's scorer status; False (not raised) when Redis is away."""
    entry = {"worker": worker_id(), "published_at": time.time(), **status}
    try:
        _redis().set(KEY_PREFIX + entry["worker"], json.dumps(entry), ex=max(1, int(ttl_seconds)))
        return True
    except Exception as exc:  # noqa: BLE001 - Redis down: the entry expires, /healthz says so
        current_app.logger.warning("could not publish the scorer state: %s", exc)
        return False


def withdraw() -> None:
    try:
        _redis().delete(KEY_PREFIX + worker_id())
    except Exception:  # noqa: BLE001 - it expires by itself
        pass


def workers_status() -> dict:
    """The scorer as the web processes should report it in queue mode: "ready" when at least
    one live worker has its model ready, else the best state a worker reports, "no_workers"
    when none has published lately, or "unknown" when Redis cannot be read."""
    try:
        client = _redis()
        keys = sorted(client.scan_iter(match=KEY_PREFIX + "*", count=100))
        entries = [json.loads(raw) for raw in client.mget(keys) if raw] if keys else []
    except Exception as exc:  # noqa: BLE001 - health must answer
        return {"state": "unknown", "mode": "queue", "error": f"redis: {type(exc).__name__}", "workers": []}
    workers = [{"worker": e.get("worker"), "state": e.get("state"), "model": e.get("model"),
                "backend": e.get("backend"), "error": e.get("error"),
                "age_seconds": round(time.time() - float(e.get("published_at", 0)), 1)} for e in entries]
    states = {w["state"] for w in workers}
    for state in ("ready", "loading", "failed", "disabled"):
        if state in states:
            break
    else:
        state = "no_workers"
    return {"state": state, "mode": "queue", "workers": workers}
