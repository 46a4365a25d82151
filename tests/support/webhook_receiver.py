"""A real HTTP server that receives webhooks and checks their signatures, as a publisher's would."""
from __future__ import annotations

import pytest

import hashlib
import hmac
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    path: str
    status: int  # what the receiver answered

    @property
    def json(self) -> dict:
        return json.loads(self.body)

    @property
    def event(self) -> str:
        return self.headers["X-Discuss-Event"]


@dataclass
class Receiver:
    """``fail_first``: answer 500 to that many requests, then 200. ``delay``: seconds before answering."""

    secret: str = ""
    fail_first: int = 0
    delay: float = 0.0
    requests: list[Received] = field(default_factory=list)
    port: int = 0
    _cond: threading.Condition = field(default_factory=threading.Condition)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/discuss"

    def signature_ok(self, item: Received) -> bool:
        """What the README tells publishers to do: HMAC-SHA256 of the raw body, compared in constant time."""
        expected = "sha256=" + hmac.new(self.secret.encode(), item.body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, item.headers.get("X-Discuss-Signature", ""))

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self.requests) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"expected {count} webhook requests, got {len(self.requests)}")
                self._cond.wait(left)
            return list(self.requests)

    def stays_at(self, count: int, wait: float = 0.5) -> bool:
        time.sleep(wait)
        return len(self.requests) == count

    def _record(self, item: Received) -> None:
        with self._cond:
            self.requests.append(item)
            self._cond.notify_all()


def start_receiver(receiver: Receiver) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (http.server's naming)
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if receiver.delay:
                time.sleep(receiver.delay)
            status = 500 if len(receiver.requests) < receiver.fail_first else 200
            item = Received(headers=dict(self.headers.items()), body=body, path=self.path, status=status)
            if status == 200 and receiver.secret and not receiver.signature_ok(item):
                item.status = status = 401  # a real receiver refuses a bad signature
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")
            receiver._record(item)

        def log_message(self, *args):  # keep test output quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    receiver.port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def receiver():
    """A real local webhook receiver on 127.0.0.1, shut down after the test."""
    box = Receiver()
    server = start_receiver(box)
    yield box
    server.shutdown()
    server.server_close()
