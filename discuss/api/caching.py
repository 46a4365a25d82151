"""HTTP caching of the public reads (thread pages, counts): who may keep an answer, and for how long.

Anonymous reads are the same for everyone, so browsers, a caching proxy (nginx ``proxy_cache``)
or a CDN may keep them: ``Cache-Control: public, max-age=N, stale-while-revalidate=M`` with
``N`` the site's ``cache_max_age_seconds`` and a strong ``ETag``, so a cache or a browser that
asks again with ``If-None-Match`` gets a 304 (for a thread page, before the page is built).
Answers that carry anything about the caller (a bearer token, a staff session) are never public:
``discuss.security`` turns them into ``private, no-store`` whatever a view said, so no view can
hand one reader's data to a shared cache by mistake.
"""
from __future__ import annotations

import hashlib
import json
import math
import re
import threading
import time
from typing import Any, Callable, Iterable

from flask import Response, current_app, request
from redis import Redis
from redis.exceptions import RedisError
from werkzeug.http import parse_etags, unquote_etag

from discuss import metrics

from discuss.api.helpers import raw_json
from discuss.models import Site


def public_cache_control(site: Site) -> str:
    max_age = int(site.effective_settings().get("cache_max_age_seconds") or 0)
    if max_age <= 0:  # keep it, but ask every time (a 304 when unchanged)
        return "public, no-cache"
    stale = current_app.config["CACHE_STALE_WHILE_REVALIDATE_SECONDS"]
    return f"public, max-age={max_age}, stale-while-revalidate={stale}"


def _mark_public(response: Response, site: Site, etag: str) -> Response:
    response.set_etag(etag)
    response.headers["Cache-Control"] = public_cache_control(site)
    # Shared caches may not reuse an answer for a request with credentials unless told it is
    # public; it is, so the variant must be keyed on them (an Authorization request gets its own).
    response.vary.update(("Origin", "Authorization"))
    return response


def not_modified(site: Site, etag: str) -> Response | None:
    """A 304 when the caller already holds ``etag`` (weak comparison, as RFC 9110 asks for
    If-None-Match: a proxy that compresses may have weakened the tag)."""
    if not request.if_none_match.contains_weak(etag):
        return None
    return _mark_public(Response(status=304), site, etag)


def public_page(encoded: bytes, site: Site, etag: str) -> Response:
    return _mark_public(raw_json(encoded), site, etag)


def public_json(body: dict[str, Any], site: Site) -> Response:
    """A public answer whose ETag is the hash of its bytes (cheap answers: counts)."""
    encoded = json.dumps(body, separators=(",", ":")).encode()
    etag = hashlib.sha256(encoded).hexdigest()[:32]
    return not_modified(site, etag) or public_page(encoded, site, etag)


# -- per-process micro-cache in front of Flask ---------------------------------------------------

class PublicReads:
    """WSGI middleware: a repeated anonymous read (same path, query, Origin and host) is answered
    from this process's memory for ``PUBLIC_READ_CACHE_SECONDS`` (1 s), with the bytes and headers
    Flask answered it with, before routing, sessions, hooks and the database: under a spike, one
    request per URL per second per process costs a query. Only answers marked public are kept
    (never one to a request with a token or the session cookie, never one that sets a cookie), and
    any write through this process clears it, so a reader's own post shows at once. With
    ``DISCUSS_REDIS_URL`` (several processes or instances), every write also bumps one shared
    counter and a kept answer is served only while the counter has not moved, so a write through
    any instance is in the next read through every other one (one Redis GET per read; if Redis
    cannot be read the answer is built afresh). Without Redis, another process's writes show
    within the TTL (well inside the HTTP max-age that caches use anyway)."""

    PATHS = ("/api/v1/comments", "/api/v1/counts")
    READ_ONLY_POSTS = ("/api/v1/counts", "/api/v1/preview")  # POSTs that change nothing
    MAX_ITEMS = 10_000

    def __init__(self, wsgi_app, app):
        self.wsgi_app = wsgi_app
        self.ttl = float(app.config["PUBLIC_READ_CACHE_SECONDS"] or 0)
        self.cookie = app.config["SESSION_COOKIE_NAME"] + "="
        self.items: dict[tuple, tuple[float, str, list, bytes, str, int]] = {}
        self.lock = threading.Lock()
        self.shared = SharedGeneration(app.config.get("REDIS_URL"))

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD")
        if method != "GET":
            if method in ("HEAD", "OPTIONS") or environ.get("PATH_INFO") in self.READ_ONLY_POSTS:
                return self.wsgi_app(environ, start_response)
            self.items.clear()  # a write in this process: its readers see it at once
            try:
                return self.wsgi_app(environ, start_response)
            finally:
                self.shared.bump()  # after the view committed: every other process's next read
        if (self.ttl <= 0 or environ.get("PATH_INFO") not in self.PATHS or "HTTP_AUTHORIZATION" in environ
                or self.cookie in environ.get("HTTP_COOKIE", "")):
            return self.wsgi_app(environ, start_response)
        key = (environ["PATH_INFO"], environ.get("QUERY_STRING", ""), environ.get("HTTP_ORIGIN"),
               environ.get("HTTP_HOST"), environ.get("wsgi.url_scheme"))
        generation = self.shared.read()
        if generation is None:  # Redis configured but unreadable: no way to know, build afresh
            return self.wsgi_app(environ, start_response)
        item = self.items.get(key)
        if item is not None and item[5] == generation and time.monotonic() - item[0] < self.ttl:
            return self._answer(environ, start_response, item[1], self._aged(item[2], item[0]), *item[3:5])
        return self._fill(key, environ, start_response, generation)

    def _answer(self, environ, start_response, endpoint: str, headers: list, body: bytes, etag: str):
        if etag and parse_etags(environ.get("HTTP_IF_NONE_MATCH")).contains_weak(etag):
            metrics.REQUESTS.labels(endpoint=endpoint, method="GET", status="304").inc()
            start_response("304 NOT MODIFIED", [(k, v) for k, v in headers if k not in _BODY_HEADERS])
            return [b""]
        metrics.REQUESTS.labels(endpoint=endpoint, method="GET", status="200").inc()
        start_response("200 OK", headers)
        return [body]

    @staticmethod
    def _aged(headers: list, stored: float) -> list:
        """The stored headers with max-age reduced by the answer's age in memory (rounded up), so a
        cache downstream never keeps it past the site's max-age counted from when it was built."""
        age = math.ceil(time.monotonic() - stored)
        if age <= 0:
            return headers
        aged = []
        for name, value in headers:
            match = _MAX_AGE.match(value) if name == "Cache-Control" else None
            if match:
                value = f"public, max-age={max(int(match.group(1)) - age, 0)}{match.group(2)}"
            aged.append((name, value))
        return aged

    def _fill(self, key: tuple, environ: dict, start_response: Callable, generation: int) -> Iterable[bytes]:
        seen: dict = {}

        def capture(status, headers, exc_info=None):
            seen["status"], seen["headers"] = status, headers
            return start_response(status, headers, exc_info)

        result = self.wsgi_app(environ, capture)
        headers = seen.get("headers") or []
        named = {k.lower(): v for k, v in headers}
        if (not seen.get("status", "").startswith("200") or not named.get("cache-control", "").startswith("public")
                or "set-cookie" in named):
            return result
        try:
            body = b"".join(result)
        finally:
            if hasattr(result, "close"):
                result.close()
        endpoint = "api.list_comments" if key[0].endswith("/comments") else "api.counts_get"
        with self.lock:
            if len(self.items) >= self.MAX_ITEMS:
                self.items.clear()
            # Kept under the counter read BEFORE it was built: a write committed meanwhile moved the
            # counter, so this answer is never served after it.
            self.items[key] = (time.monotonic(), endpoint, headers, body, unquote_etag(named.get("etag"))[0] or "",
                               generation)
        return [body]


class SharedGeneration:
    """One Redis counter that every write bumps, read before each kept answer is served. Without
    Redis it always reads 0 (one process's own writes clear its memory directly)."""

    KEY = "discuss:public-reads:generation"

    def __init__(self, url: str | None):
        self.client = Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5) if url else None

    def read(self) -> int | None:
        if self.client is None:
            return 0
        try:
            return int(self.client.get(self.KEY) or 0)
        except (RedisError, ValueError):
            return None

    def bump(self) -> None:
        if self.client is not None:
            try:
                self.client.incr(self.KEY)
            except RedisError:
                pass  # readers then find Redis unreadable too, or see the TTL end


_BODY_HEADERS = ("Content-Type", "Content-Length")
_MAX_AGE = re.compile(r"public, max-age=(\d+)(.*)")


def install_public_reads(app) -> None:
    app.wsgi_app = PublicReads(app.wsgi_app, app)
