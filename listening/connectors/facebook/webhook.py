"""Facebook Page webhooks, as pure functions (the Django view that calls them lives elsewhere).

- ``verify_challenge``: the subscription handshake (``GET ?hub.mode=subscribe&hub.verify_token=
  ...&hub.challenge=...``): answer with ``hub.challenge`` when the token matches.
- ``check_signature``: every delivery is signed, ``X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of
  the raw body keyed with the app secret>``. HMAC the bytes exactly as received (Meta escapes
  non-ASCII as ``\\uXXXX``; a re-serialised object would not match). Without an app secret we refuse
  everything: an unsigned or unverifiable delivery is never accepted.
- ``parse_feed_changes``: ``object == "page"`` deliveries, ``changes[]`` of the ``feed`` field ->
  one ``(page_id, ParseResult)`` per change.

Feed changes (``value.item`` x ``value.verb``), as delivered (see tests/fixtures/facebook/):

- items ``post``, ``status``, ``photo``, ``video``, ``share``, ``link``, ``note``, ``event`` ->
  the post (``post_id``); item ``comment`` -> the comment (``comment_id``, its ``post_id``, and
  ``parent_id``: the post for a top-level comment, the parent comment for a reply);
- verbs ``add`` and ``edited`` (also seen as ``edit``) -> a mention; ``edited`` sets ``is_edited``
  and a ``version_id`` (the change time, unix seconds) so the new text replaces the stored one;
- verb ``remove`` (also ``delete``) -> a mention with ``is_deleted=True``, which the pipeline uses
  to mark the stored mention deleted;
- ``reaction`` and ``like`` items are engagement, not mentions: skipped. So are moderation verbs
  (``hide``, ``unhide``, ``block``, ``unblock``, ``mute``...): they change no content;
- other items (``rating``, ``album``...) are not content we store: skipped.

``created_at`` is the change's ``created_time`` (unix seconds); deliveries were observed without it
(a post ``add``, any ``remove``), so the entry's ``time`` (when the change happened) stands in; a
change with neither is quarantined, as is a content change without the id it is about.
The author is ``from`` or, in older deliveries, ``sender_id`` / ``sender_name``. Webhooks carry no
permalink: a post's URL is ``https://www.facebook.com/<post-id>``, a comment has none until a poll
fills it. The raw change is kept under ``raw``.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from typing import Any

from ..base import MentionData, ParseResult, Quarantined
from .parse import author_from, parse_time, unix

POST_ITEMS = frozenset({"post", "status", "photo", "video", "share", "link", "note", "event"})
SKIPPED_ITEMS = frozenset({"reaction", "like"})
UPSERT_VERBS = frozenset({"add", "edited", "edit"})
EDIT_VERBS = frozenset({"edited", "edit"})
DELETE_VERBS = frozenset({"remove", "delete"})
POST_URL = "https://www.facebook.com/{id}"

_SIGNATURE = re.compile(r"sha256=([0-9a-fA-F]{64})")


class WebhookRejected(Exception):
    """The request is not a genuine delivery or handshake; ``reason`` says why (for logs, not
    for the response body)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def _param(params: Any, name: str) -> str:
    value = params.get(name) if params is not None else None
    if isinstance(value, (list, tuple)):
        value = value[0] if value else None
    return value if isinstance(value, str) else ""


def verify_challenge(params: dict, verify_token: str) -> str:
    """Return ``hub.challenge`` for a valid subscription handshake, else raise WebhookRejected.
    ``params`` is the query (a dict, or Django's ``request.GET``)."""
    if not verify_token:
        raise WebhookRejected("no verify token configured")
    if _param(params, "hub.mode") != "subscribe":
        raise WebhookRejected("hub.mode is not 'subscribe'")
    token = _param(params, "hub.verify_token")
    if not token or not hmac.compare_digest(token.encode(), verify_token.encode()):
        raise WebhookRejected("hub.verify_token does not match")
    challenge = _param(params, "hub.challenge")
    if not challenge:
        raise WebhookRejected("no hub.challenge")
    return challenge


def check_signature(body: bytes, header: str | None, app_secret: str) -> None:
    """Check ``X-Hub-Signature-256`` against the raw request body; raise WebhookRejected unless it
    is present, well formed and right. Refuses everything when ``app_secret`` is empty."""
    if not app_secret:
        raise WebhookRejected("no app secret configured: signatures cannot be checked")
    if not isinstance(body, (bytes, bytearray)):
        raise WebhookRejected("body must be the raw request bytes")
    if not header:
        raise WebhookRejected("missing X-Hub-Signature-256")
    match = _SIGNATURE.fullmatch(header.strip())
    if match is None:
        raise WebhookRejected("malformed X-Hub-Signature-256")
    expected = hmac.new(app_secret.encode(), bytes(body), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, match.group(1).lower()):
        raise WebhookRejected("X-Hub-Signature-256 does not match the body")


def parse_feed_changes(payload: dict) -> list[tuple[str, ParseResult]]:
    """One ``(page_id, ParseResult)`` per ``feed`` change of a ``page`` delivery (skipped changes
    yield nothing). Other objects and fields give an empty list."""
    if not isinstance(payload, dict) or payload.get("object") != "page":
        return []
    out: list[tuple[str, ParseResult]] = []
    for entry in payload.get("entry") or []:
        if not isinstance(entry, dict):
            continue
        page_id = str(entry.get("id") or "")
        for change in entry.get("changes") or []:
            if not isinstance(change, dict) or change.get("field") != "feed":
                continue
            result = parse_change(change, entry_time=entry.get("time"))
            if result is not None:
                out.append((page_id, result))
    return out


def parse_change(change: dict, *, entry_time: Any = None) -> ParseResult | None:
    """A ``feed`` change -> ParseResult, or ``None`` for a change that is not about content."""
    value = change.get("value")
    if not isinstance(value, dict):
        return ParseResult(quarantined=[Quarantined(payload=change, reason="feed change without a value object")])
    item, verb = str(value.get("item") or ""), str(value.get("verb") or "")
    if item in SKIPPED_ITEMS or (item != "comment" and item not in POST_ITEMS):
        return None
    if verb not in UPSERT_VERBS and verb not in DELETE_VERBS:
        return None
    post_id = _str(value.get("post_id"))
    external_id = _str(value.get("comment_id")) if item == "comment" else post_id
    if not external_id:
        return _quarantine(change, f"{item} {verb} without {'comment_id' if item == 'comment' else 'post_id'}")
    created_at = parse_time(value.get("created_time")) or parse_time(entry_time)
    if created_at is None:
        return _quarantine(change, f"{item} {verb} without created_time or entry time")
    author = author_from(value.get("from"))
    if author is None:
        author = author_from(value.get("sender_id"), name=_str(value.get("sender_name")))
    mention = MentionData(
        external_id=external_id,
        text=value.get("message") if isinstance(value.get("message"), str) else "",
        created_at=created_at,
        author=author,
        raw=change,
    )
    if item == "comment":
        mention.conversation_external_id = post_id
        mention.parent_external_id = _str(value.get("parent_id")) or post_id
    else:
        mention.conversation_external_id = external_id
        mention.url = POST_URL.format(id=external_id)
    if verb in DELETE_VERBS:
        mention.is_deleted = True
    elif verb in EDIT_VERBS:
        mention.is_edited = True
        times = [t for t in (unix(entry_time), unix(value.get("created_time"))) if t]
        mention.version_id = str(max(times)) if times else ""
    return ParseResult(mentions=[mention])


def _quarantine(change: dict, reason: str) -> ParseResult:
    return ParseResult(quarantined=[Quarantined(payload=change, reason=reason)])


def _str(value: Any) -> str:
    return "" if value is None or isinstance(value, (dict, list, bool)) else str(value).strip()
