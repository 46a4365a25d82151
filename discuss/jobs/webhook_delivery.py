"""Delivering one webhook body: the SSRF guard, the signed POST, the delivery log and retries.

Runs on the job runner only (never on the request path):

- queue mode (RQ on Redis): ``deliver_queued`` is one attempt; it raises when the attempt failed
  and more are allowed, and RQ's Retry schedules the next one with exponential backoff (the
  worker runs RQ's scheduler for that).
- thread mode (no Redis): ``deliver_with_backoff`` makes every attempt itself, sleeping between
  them. A process that exits mid-backoff loses the remaining attempts (the log shows
  ``retrying`` as the last row); use queue mode where that matters.

Every attempt writes one WebhookDelivery row: time, attempt, HTTP status, error, duration.
"""
from __future__ import annotations

import hashlib
import hmac
import http.client
import ipaddress
import socket
import ssl
import time
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import func, select

from discuss import metrics
from discuss.extensions import db
from discuss.locales import N_
from discuss.models import Webhook, WebhookDelivery

SIGNATURE_HEADER = "X-Discuss-Signature"
USER_AGENT = "discuss-webhooks/1"
MAX_RESPONSE_BYTES = 64 * 1024


class DeliveryRefused(Exception):
    """The URL points somewhere webhooks may not go (private, loopback, link-local...)."""


class DeliveryFailed(Exception):
    """One attempt failed and another will follow (raised for RQ's Retry)."""


def sign(secret: str, body: bytes) -> str:
    """``sha256=<hex HMAC-SHA256 of the raw body>``, the X-Discuss-Signature value."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def retry_delays() -> list[float]:
    """Seconds to wait before attempts 2..N: base, 3x base, 9x base... (10 s .. 13.5 min by default)."""
    config = current_app.config
    base = float(config["WEBHOOK_RETRY_BASE_SECONDS"])
    return [base * 3 ** n for n in range(max(int(config["WEBHOOK_MAX_ATTEMPTS"]), 1) - 1)]


# -- where a webhook may go -------------------------------------------------------------------

def _forbidden_address(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return (ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_multicast
            or ip.is_reserved or ip.is_unspecified)


def resolve_destination(url: str, allow_private: bool) -> tuple[str, int, str]:
    """(host, port, ip to connect to). Every address the name resolves to is checked, and the
    connection then goes to the checked address, so a DNS answer that changes between the
    check and the connection (rebinding) cannot reach an internal service."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise DeliveryRefused(N_("the URL must be http:// or https:// with a host name"))
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise DeliveryRefused(N_("cannot resolve %(host)s: %(error)s", host=parts.hostname, error=str(exc))) from None
    addresses = [ipaddress.ip_address(info[4][0].split("%", 1)[0]) for info in infos]
    if not allow_private:
        bad = [str(ip) for ip in addresses if _forbidden_address(ip)]
        if bad:
            raise DeliveryRefused(N_("%(host)s resolves to a private, loopback or link-local address (%(addresses)s); "
                                     "the site's settings do not allow that", host=parts.hostname, addresses=", ".join(bad)))
    return parts.hostname, port, str(addresses[0])


class _PinnedHTTP(http.client.HTTPConnection):
    def __init__(self, host: str, port: int, ip: str, timeout: float):
        super().__init__(host, port, timeout=timeout)
        self._ip = ip

    def connect(self) -> None:
        self.sock = socket.create_connection((self._ip, self.port), self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    def __init__(self, host: str, port: int, ip: str, timeout: float):
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._ip = ip

    def connect(self) -> None:
        sock = socket.create_connection((self._ip, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def post(url: str, body: bytes, headers: dict[str, str], *, allow_private: bool, timeout: float) -> int:
    """POST once; returns the HTTP status. Redirects are not followed (they could lead inside)."""
    host, port, ip = resolve_destination(url, allow_private)
    parts = urlsplit(url)
    connection_class = _PinnedHTTPS if parts.scheme == "https" else _PinnedHTTP
    connection = connection_class(host, port, ip, timeout)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        response.read(MAX_RESPONSE_BYTES)
        return response.status
    finally:
        connection.close()


# -- one attempt, logged ---------------------------------------------------------------------

def _headers(webhook: Webhook, delivery_id: str, event: str, body: bytes) -> dict[str, str]:
    return {"Content-Type": "application/json", "User-Agent": USER_AGENT, "X-Discuss-Event": event,
            "X-Discuss-Delivery": delivery_id, SIGNATURE_HEADER: sign(webhook.secret, body)}


def attempt(webhook_id: int, delivery_id: str, event: str, body: bytes, final: bool) -> str | None:
    """Make the next attempt of one delivery and log it. Returns the logged result ("delivered",
    "retrying" or "failed"), or None when the webhook is gone or switched off."""
    webhook = db.session.get(Webhook, webhook_id)
    if webhook is None or not webhook.is_active:
        return None
    allow_private = bool(webhook.site.effective_settings()["webhooks_allow_private"])
    status, error, started = None, None, time.monotonic()
    try:
        status = post(webhook.url, body, _headers(webhook, delivery_id, event, body),
                      allow_private=allow_private, timeout=float(current_app.config["WEBHOOK_TIMEOUT_SECONDS"]))
        if not 200 <= status < 300:
            error = f"HTTP {status}"
    except DeliveryRefused as exc:
        error, final = f"refused: {exc}", True  # retrying soon will not change the address
    except (OSError, http.client.HTTPException) as exc:
        error = f"{type(exc).__name__}: {exc}"[:500]
    result = "delivered" if error is None else ("failed" if final else "retrying")
    db.session.add(WebhookDelivery(webhook_id=webhook_id, delivery_id=delivery_id, event=event,
                                   attempt=attempts_made(delivery_id) + 1, result=result, status_code=status,
                                   error=error, duration_ms=int((time.monotonic() - started) * 1000)))
    db.session.commit()
    metrics.WEBHOOK_DELIVERIES.labels(result=result).inc()
    if error:
        current_app.logger.warning("webhook %s delivery %s: %s (%s)", webhook_id, delivery_id, error, result)
    return result


def attempts_made(delivery_id: str) -> int:
    return db.session.scalar(select(func.count(WebhookDelivery.id))
                             .where(WebhookDelivery.delivery_id == delivery_id)) or 0


def deliver_queued(webhook_id: int, delivery_id: str, event: str, body: bytes) -> str | None:
    """RQ job: one attempt. Raises DeliveryFailed so RQ's Retry runs the next one after its interval."""
    final = attempts_made(delivery_id) + 1 >= int(current_app.config["WEBHOOK_MAX_ATTEMPTS"])
    result = attempt(webhook_id, delivery_id, event, body, final)
    if result == "retrying":
        raise DeliveryFailed(f"webhook {webhook_id} delivery {delivery_id} failed; will retry")
    return result


def deliver_with_backoff(webhook_id: int, delivery_id: str, event: str, body: bytes) -> str | None:
    """Thread job: every attempt, with exponential backoff between them."""
    delays = retry_delays()
    result = None
    for number in range(len(delays) + 1):
        result = attempt(webhook_id, delivery_id, event, body, final=number == len(delays))
        if result != "retrying":
            return result
        db.session.remove()  # hold no database connection while sleeping
        time.sleep(delays[number])
    return result
