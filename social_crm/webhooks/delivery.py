"""One delivery attempt: claim, send (no transaction open), record the outcome.

Claim: a conditional UPDATE moves the delivery to "sending" only if it is due
(``next_attempt_at`` passed) and in a claimable state, and pushes ``next_attempt_at`` by a lease;
so two copies of the task (a redelivered message, the sweeper) never send the same attempt
twice, and a worker that died mid-attempt is replaced once its lease has run out. The outcome
is written only by the claimant (``attempts`` must still be the claimed number).

Outcomes:
* 2xx: delivered; the endpoint's failure streak is reset.
* network error, timeout, 408, 429, 5xx: retried with exponential backoff and jitter
  (``WEBHOOK_RETRY_BASE_SECONDS`` × 2^(attempt−1), × 0.5–1.0, capped at 6 h), never sooner than
  the receiver's ``Retry-After``; after ``WEBHOOK_MAX_ATTEMPTS`` attempts: failed.
* another 3xx/4xx: failed at once (the receiver refused this request; redirects are not
  followed, as they could point at our own network); a URL that resolves to a non-public
  address (SSRF guard): failed at once.
* ``WEBHOOK_DISABLE_AFTER`` failed deliveries in a row disable the endpoint and notify the
  tenant admins once (until it is enabled again).
"""

from __future__ import annotations

import ipaddress
import json
import random
import socket
import time
from dataclasses import dataclass
from datetime import timedelta
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.db.models import F
from django.utils import timezone

from listening import crypto
from social_crm.tenancy.models import Tenant
from social_crm.tenancy.scope import tenant_context

from .models import CLAIMABLE, DeliveryStatus, WebhookDelivery
from .signing import signed_headers

EXCERPT_CHARS = 1000
MAX_BACKOFF_SECONDS = 6 * 3600
RETRY_STATUS = frozenset({408, 429})


class UnsafeURL(ValueError):
    """The URL's host is not a public address (SSRF guard)."""


class HostNotFound(UnsafeURL):
    """The host does not resolve: refused when saving, retried when delivering (DNS may recover)."""


def check_public_url(url: str) -> None:
    """Refuse a URL whose host resolves to a loopback, private, link-local (cloud metadata),
    reserved or multicast address, unless WEBHOOK_ALLOW_PRIVATE_HOSTS (on-premises receivers,
    the tests' local receiver). Checked when the URL is saved and again before every attempt.
    An unresolvable name raises HostNotFound."""
    if settings.WEBHOOK_ALLOW_PRIVATE_HOSTS:
        return
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UnsafeURL("Only http and https URLs with a host can receive webhooks.")
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(parts.hostname, parts.port or 443)}
    except (socket.gaierror, UnicodeError) as exc:
        raise HostNotFound(f"The host {parts.hostname} cannot be resolved.") from exc
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%")[0])
        if not ip.is_global or ip.is_multicast:
            raise UnsafeURL(f"{parts.hostname} points at a non-public address ({ip}): refused.")


@dataclass(frozen=True)
class Claimed:
    delivery_id: int
    attempt: int
    url: str
    body: bytes
    headers: dict[str, str]


def body_for(event, tenant_slug: str) -> bytes:
    payload = {"id": str(event.event_id), "type": event.type, "created_at": event.created_at.isoformat(),
               "tenant": tenant_slug, "data": event.data}
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def claim(tenant_id: int, delivery_id: int) -> Claimed | None:
    """Take the delivery's next attempt, or None (not due, done, or taken by another worker).
    An endpoint that is disabled or gone makes the delivery "skipped"."""
    now = timezone.now()
    lease = timedelta(seconds=2 * settings.WEBHOOK_TIMEOUT_SECONDS + 30)
    with tenant_context(tenant_id):
        taken = (WebhookDelivery.objects.filter(tenant_id=tenant_id, pk=delivery_id, status__in=CLAIMABLE,
                                                next_attempt_at__lte=now)
                 .update(status=DeliveryStatus.SENDING, attempts=F("attempts") + 1, next_attempt_at=now + lease,
                         updated_at=now))
        if not taken:
            return None
        delivery = WebhookDelivery.objects.select_related("event", "endpoint").get(tenant_id=tenant_id, pk=delivery_id)
        endpoint = delivery.endpoint
        if not endpoint.is_active:
            WebhookDelivery.objects.filter(tenant_id=tenant_id, pk=delivery_id).update(
                status=DeliveryStatus.SKIPPED, next_attempt_at=None, attempts=F("attempts") - 1,
                last_error="The endpoint is disabled.", updated_at=now)
            return None
        secret = crypto.decrypt(endpoint.secret_encrypted)["secret"]
        body = body_for(delivery.event, Tenant.objects.get(pk=tenant_id).slug)
        headers = signed_headers(secret, event_id=str(delivery.event.event_id), event_type=delivery.event.type,
                                 delivery_id=delivery.pk, body=body)
        return Claimed(delivery.pk, delivery.attempts, endpoint.url, body, headers)


@dataclass
class Outcome:
    code: int | None = None
    excerpt: str = ""
    error: str = ""
    ms: int = 0
    retry_after: float | None = None
    refused: bool = False  # by our SSRF guard, before any request: never retried

    @property
    def ok(self) -> bool:
        return self.code is not None and 200 <= self.code < 300

    @property
    def retryable(self) -> bool:
        return self.code is None or self.code in RETRY_STATUS or self.code >= 500


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (moment - timezone.now()).total_seconds()) if moment.tzinfo else None


def send(claimed: Claimed) -> Outcome:
    """POST the signed body. Never raises: every failure is an Outcome."""
    started = time.monotonic()
    try:
        check_public_url(claimed.url)
    except HostNotFound as exc:
        return Outcome(code=None, error=str(exc))
    except UnsafeURL as exc:
        return Outcome(code=None, error=str(exc), refused=True)
    try:
        with requests.post(claimed.url, data=claimed.body, headers=claimed.headers, allow_redirects=False,
                           timeout=settings.WEBHOOK_TIMEOUT_SECONDS, stream=True) as response:
            raw = response.raw.read(4 * EXCERPT_CHARS, decode_content=True) or b""
            outcome = Outcome(code=response.status_code, excerpt=raw.decode("utf-8", "replace")[:EXCERPT_CHARS],
                              retry_after=_retry_after(response.headers.get("Retry-After")))
            if not outcome.ok:
                outcome.error = f"HTTP {response.status_code}"
    except requests.RequestException as exc:
        outcome = Outcome(code=None, error=f"{type(exc).__name__}: {exc}"[:1000])
    outcome.ms = int((time.monotonic() - started) * 1000)
    return outcome


def backoff_seconds(attempt: int, retry_after: float | None = None) -> float:
    delay = min(MAX_BACKOFF_SECONDS, settings.WEBHOOK_RETRY_BASE_SECONDS * 2 ** (attempt - 1))
    delay *= random.uniform(0.5, 1.0)  # noqa: S311 (jitter, not a secret)
    if retry_after is not None and retry_after > delay:
        delay = min(float(retry_after), 24 * 3600)
    return delay


def record(tenant_id: int, claimed: Claimed, outcome: Outcome) -> tuple[str, float | None]:
    """Write the attempt's outcome (only if this worker still holds the claim). Returns the new
    status and, for a retry, the delay before the next attempt."""
    from .actions import endpoint_record_outcome

    now = timezone.now()
    if outcome.ok:
        status, delay = DeliveryStatus.SUCCEEDED, None
    elif outcome.retryable and not outcome.refused and claimed.attempt < settings.WEBHOOK_MAX_ATTEMPTS:
        status, delay = DeliveryStatus.RETRYING, backoff_seconds(claimed.attempt, outcome.retry_after)
    else:
        status, delay = DeliveryStatus.FAILED, None
    entry = {"attempt": claimed.attempt, "at": now.isoformat(), "code": outcome.code, "ms": outcome.ms,
             "error": outcome.error[:300]}
    with tenant_context(tenant_id):
        delivery = (WebhookDelivery.objects.select_for_update()
                    .filter(tenant_id=tenant_id, pk=claimed.delivery_id, status=DeliveryStatus.SENDING,
                            attempts=claimed.attempt).first())
        if delivery is None:  # our lease ran out and another worker took the attempt over
            return "lost", None
        delivery.status = status
        delivery.response_code, delivery.response_excerpt = outcome.code, outcome.excerpt
        delivery.duration_ms, delivery.last_error = outcome.ms, outcome.error
        delivery.history = [*delivery.history, entry][-50:]
        delivery.next_attempt_at = now + timedelta(seconds=delay) if delay is not None else None
        delivery.delivered_at = now if outcome.ok else None
        delivery.updated_at = now
        delivery.save()
        if status in (DeliveryStatus.SUCCEEDED, DeliveryStatus.FAILED):
            endpoint_record_outcome(tenant_id, endpoint_id=delivery.endpoint_id, ok=outcome.ok, error=outcome.error)
    return status, delay
