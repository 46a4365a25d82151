"""The in-process rate-limit store used when there is no Redis (``DISCUSS_REDIS_URL`` unset).

limits' own ``memory://`` store starts a fresh ``threading.Timer`` on nearly every hit to sweep
expired keys 10 ms later. On the posting path that is three thread starts per comment (one per
limit), and each start waits for the new thread to run: profiled under gunicorn on a busy
2-core machine, that was about a fifth of a post's time. Its counters already expire lazily on
read (``get`` drops an expired key), so the sweep only keeps memory bounded: here it runs
inline, at most once a second, instead of on a thread.

The counts are per process, as with ``memory://``: with several workers and no Redis each
worker keeps its own. Set ``DISCUSS_REDIS_URL`` to share them (README "Scaling").
"""
from __future__ import annotations

import time

from limits.storage import MemoryStorage

SCHEME = "discuss-memory"
SWEEP_EVERY_SECONDS = 1.0


class SweepInlineMemoryStorage(MemoryStorage):
    STORAGE_SCHEME = [SCHEME]

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options: str):
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self.timer.cancel()  # the parent's first sweep thread; sweeps run inline from here on
        self._next_sweep = time.monotonic() + SWEEP_EVERY_SECONDS

    def __setstate__(self, state):
        super().__setstate__(state)
        self.timer.cancel()
        self._next_sweep = time.monotonic() + SWEEP_EVERY_SECONDS

    # MemoryStorage calls self.__schedule_expiry() (name-mangled) before each hit.
    def _MemoryStorage__schedule_expiry(self) -> None:  # noqa: N802 - overrides a mangled name
        now = time.monotonic()
        if now >= self._next_sweep:
            self._next_sweep = now + SWEEP_EVERY_SECONDS
            self._MemoryStorage__expire_events()
