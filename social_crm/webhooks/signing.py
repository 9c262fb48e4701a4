"""How a delivery is signed (Stripe-like), and the reference check a receiver runs.

    X-SocialCRM-Event-Id:  the event's UUID: the same on every attempt and every replay
    X-SocialCRM-Event:     the event type, e.g. mention.stored
    X-SocialCRM-Timestamp: Unix seconds when this attempt was signed
    X-SocialCRM-Signature: v1=<hex HMAC-SHA256(secret, f"{timestamp}.{raw body}")>

A receiver recomputes the HMAC over the timestamp, a dot and the raw body bytes, compares in
constant time, and refuses a timestamp older than its tolerance (we document 5 minutes) so a
captured request cannot be replayed later; it drops an event id it already processed.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

SECRET_PREFIX = "whsec_"
TOLERANCE_SECONDS = 300  # what we tell receivers; each attempt is signed afresh


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "v1=" + mac.hexdigest()


def signed_headers(secret: str, *, event_id: str, event_type: str, delivery_id: int, body: bytes,
                   timestamp: int | None = None) -> dict[str, str]:
    timestamp = int(time.time()) if timestamp is None else timestamp
    return {
        "Content-Type": "application/json",
        "User-Agent": "social-crm-webhooks/1",
        "X-SocialCRM-Event-Id": event_id,
        "X-SocialCRM-Event": event_type,
        "X-SocialCRM-Delivery-Id": str(delivery_id),
        "X-SocialCRM-Timestamp": str(timestamp),
        "X-SocialCRM-Signature": signature(secret, timestamp, body),
    }
