"""The no-Redis rate-limit store: counts like limits' memory store, without a thread per hit."""
from __future__ import annotations

import threading
import time
from unittest import mock

from limits import parse
from limits.storage import MemoryStorage, storage_from_string
from limits.strategies import FixedWindowRateLimiter

from discuss.ratelimit_storage import SCHEME, SweepInlineMemoryStorage


def _timer_starts(storage) -> int:
    """Timer threads started over 10 hits spaced like requests (more than limits' 10 ms sweep delay)."""
    with mock.patch.object(threading.Timer, "start", autospec=True) as start:
        for _ in range(10):
            storage.incr("post:1.2.3.4", expiry=60)
            time.sleep(0.02)
    return start.call_count


def test_hits_start_no_timer_thread_where_limits_memory_store_starts_them():
    assert _timer_starts(SweepInlineMemoryStorage()) == 0
    assert _timer_starts(MemoryStorage()) > 0  # what the store exists to avoid


def test_limit_is_enforced_and_its_window_expires():
    storage = storage_from_string(f"{SCHEME}://")
    assert isinstance(storage, SweepInlineMemoryStorage)
    limiter, limit = FixedWindowRateLimiter(storage), parse("3/second")
    assert [limiter.hit(limit, "reader") for _ in range(4)] == [True, True, True, False]
    time.sleep(1.1)
    assert limiter.hit(limit, "reader")


def test_app_without_redis_uses_it(make_app):
    assert make_app(REDIS_URL=None).config["RATELIMIT_STORAGE_URI"] == f"{SCHEME}://"
