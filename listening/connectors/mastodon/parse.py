"""Mastodon statuses, notifications and search results -> ``MentionData``.

Identity (chosen so that the same post seen through two instances is one mention):

* ``external_id`` is the status ``uri``, its ActivityPub id (``https://host/users/u/statuses/1``).
  It is the same on every instance, whereas ``id`` is a local number of the instance that
  answered (the same post has a different ``id`` on each server that knows it).
* ``parent_external_id`` uses the same scheme: a reply only carries its parent's *local*
  ``in_reply_to_id``, so the parser resolves it from the statuses of the same payload; the
  connector looks the rest up (``GET /api/v1/statuses/:id``, a few per page).
* The author's ``platform_user_id`` (and handle) is ``user@domain``: ``acct`` as given for remote
  accounts, ``acct`` + "@" + the instance's host for local ones (Mastodon leaves the domain out).
  So ``ConnectedAccount.external_id`` of a tenant's own Mastodon account must be ``user@host``
  for ``is_own`` to be set.

Versions: ``version_id`` is ``edited_at`` (ISO, UTC, milliseconds: ordered as text) and ``""``
for a status never edited, so an edit always wins over the original and never the reverse.

Everything here works on plain JSON (``dict``/``list``/``str``); Mastodon.py's typed objects are
turned back into JSON by ``plain`` first, so ``raw`` is always storable.
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from html import unescape
from typing import Any
from urllib.parse import urlsplit

import orjson

from ..htmltext import html_to_text
from ..base import AuthorData, MentionData, ParseResult, Quarantined

# Notification types that are mentions of the connected account.
MENTION_NOTIFICATION_TYPES = ("mention",)


class Malformed(ValueError):
    """A record we cannot turn into a mention: it is quarantined with this reason."""


# --- JSON helpers ----------------------------------------------------------------------------


def plain(value: Any) -> Any:
    """Mastodon.py's return objects (dict/list subclasses, datetimes, id strings) -> plain JSON.

    One orjson round trip (C) instead of a Python walk of every value: about 6 instead of 17.6 us
    per payload of the bench's replayed statuses. Datetimes go through ``_default``
    so they keep Mastodon's own form (``iso_millis``); what orjson refuses (an int beyond 64
    bits, a key it cannot turn into text) takes the walk."""
    try:
        return orjson.loads(orjson.dumps(value, default=_default, option=_PLAIN_OPTIONS))
    except orjson.JSONEncodeError:
        return _walk(value)


_PLAIN_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_NON_STR_KEYS


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso_millis(value)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _walk(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _walk(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_walk(v) for v in value]
    if isinstance(value, datetime):
        return iso_millis(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, str):
        return str(value)
    return str(value)


def iso_millis(value: datetime) -> str:
    """``2026-08-01T13:54:00.695Z``: the form Mastodon sends, fixed length, ordered as text."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    value = value.astimezone(timezone.utc)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def parse_time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def id_key(status_id: Any) -> tuple[int, str]:
    """Order of Mastodon ids: numeric strings (Mastodon) or fixed-length flake ids (Pleroma)."""
    text = str(status_id)
    return (len(text), text)


def newest_id(ids) -> str | None:
    ids = [str(i) for i in ids if i not in (None, "")]
    return max(ids, key=id_key) if ids else None


def oldest_id(ids) -> str | None:
    ids = [str(i) for i in ids if i not in (None, "")]
    return min(ids, key=id_key) if ids else None


# --- Statuses ----------------------------------------------------------------------------------


def _host(url: Any) -> str:
    if not isinstance(url, str) or not url:
        return ""
    return urlsplit(url).netloc.lower()


def account_id(account: dict, instance_host: str = "") -> str:
    """``user@domain`` of an account as an instance describes it (see the module docstring)."""
    acct = account.get("acct") or account.get("username")
    if not isinstance(acct, str) or not acct.strip():
        raise Malformed("account without acct")
    acct = acct.strip().lstrip("@")
    if "@" in acct:
        user, _, domain = acct.partition("@")
        return f"{user}@{domain.lower()}"
    domain = instance_host or _host(account.get("url")) or _host(account.get("uri"))
    if not domain:
        raise Malformed("local account and no instance host to qualify it")
    return f"{acct}@{domain.lower()}"


def parse_author(account: Any, instance_host: str = "") -> AuthorData:
    if not isinstance(account, dict):
        raise Malformed("status without account")
    ident = account_id(account, instance_host)
    fields = account.get("fields") or []
    verified = any(isinstance(f, dict) and f.get("verified_at") for f in fields)
    followers = account.get("followers_count")
    return AuthorData(
        platform_user_id=ident,
        handle=ident,
        name=account.get("display_name") or account.get("username") or "",
        followers=followers if isinstance(followers, int) and not isinstance(followers, bool) else None,
        # Mastodon has no identity verification: a profile link proven with rel="me" is what
        # it calls "verified". Only that sets the flag.
        verified=bool(verified),
        profile_url=account.get("url") or "",
        avatar_url=account.get("avatar") or "",
    )


def status_text(status: dict) -> str:
    body = html_to_text(status.get("content") or "")
    if not body and isinstance(status.get("text"), str):
        body = status["text"].strip()  # a status returned by DELETE carries its source instead
    spoiler = unescape(status.get("spoiler_text") or "").strip()
    return f"{spoiler}\n\n{body}".strip() if spoiler else body


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _share_count(status: dict) -> int | None:
    reblogs, quotes = _count(status.get("reblogs_count")), _count(status.get("quotes_count"))
    if reblogs is None and quotes is None:
        return None
    return (reblogs or 0) + (quotes or 0)


def parse_status(status: Any, *, instance_host: str = "", parents: dict[str, str] | None = None) -> MentionData:
    """One status (an original post, or a boost: ``reblog`` set) -> a mention. Raises
    ``Malformed`` when it lacks what a mention needs (uri, created_at, account)."""
    if not isinstance(status, dict):
        raise Malformed("status is not an object")
    uri = status.get("uri")
    if not isinstance(uri, str) or not uri:
        raise Malformed("status without uri")
    created_at = parse_time(status.get("created_at"))
    if created_at is None:
        raise Malformed("status without a valid created_at")
    author = parse_author(status.get("account"), instance_host)
    reblog = status.get("reblog")
    if isinstance(reblog, dict):
        # A plain boost: no text of its own. It carries the boosted text (so queries match it),
        # the booster as author and no metrics (a boost has none of its own).
        return MentionData(
            external_id=uri,
            text=status_text(reblog),
            created_at=created_at,
            url=status.get("url") or reblog.get("url") or reblog.get("uri") or "",
            language=reblog.get("language") or "",
            author=author,
            is_repost=True,
            raw=status,
        )
    parent = ""
    reply_to = status.get("in_reply_to_id")
    if reply_to not in (None, "") and parents:
        parent = parents.get(str(reply_to), "")
    edited_at = parse_time(status.get("edited_at"))
    return MentionData(
        external_id=uri,
        text=status_text(status),
        created_at=created_at,
        url=status.get("url") or uri,
        language=status.get("language") or "",
        author=author,
        like_count=_count(status.get("favourites_count")),
        share_count=_share_count(status),
        reply_count=_count(status.get("replies_count")),
        parent_external_id=parent,
        # A post that replies to nothing starts its own conversation; a reply's root is not in
        # the status (only its parent), so it is left empty rather than guessed.
        conversation_external_id="" if reply_to not in (None, "") else uri,
        is_edited=edited_at is not None,
        version_id=iso_millis(edited_at) if edited_at else "",
        raw=status,
    )


def in_reply_to_id(mention: MentionData) -> str:
    value = mention.raw.get("in_reply_to_id") if isinstance(mention.raw, dict) else None
    return str(value) if value not in (None, "") else ""


# --- Payloads ----------------------------------------------------------------------------------


def _statuses_of(payload: Any, quarantined: list[Quarantined]) -> list[Any]:
    """Flatten a payload into the statuses it carries (notifications keep mentions only)."""
    if isinstance(payload, list):
        out = []
        for item in payload:
            out.extend(_statuses_of(item, quarantined))
        return out
    if not isinstance(payload, dict):
        quarantined.append(Quarantined(payload=payload, reason="not a Mastodon object"))
        return []
    if "statuses" in payload and "uri" not in payload:  # /api/v2/search
        return _statuses_of(payload.get("statuses") or [], quarantined)
    if "error" in payload and "uri" not in payload:
        quarantined.append(Quarantined(payload=payload, reason=f"error response: {payload.get('error')}"))
        return []
    if "type" in payload and "account" in payload and "content" not in payload:  # a notification
        if payload.get("type") not in MENTION_NOTIFICATION_TYPES:
            return []
        status = payload.get("status")
        if status is None:
            return []  # the mentioning status was deleted since: nothing left to store
        return [status]
    return [payload]


def parse_payload(payload: Any, *, instance_host: str = "") -> ParseResult:
    """A status, a notification, a ``/api/v2/search`` result or a list of any of these.

    ``instance_host`` is the host of the instance that answered (qualifies local accounts);
    without it the host of the account's own URL is used. A boost yields the boost (is_repost)
    and the boosted status. Malformed statuses are quarantined, the rest are kept.
    """
    result = ParseResult()
    payload = plain(payload)
    statuses = _statuses_of(payload, result.quarantined)
    parents: dict[str, str] = {}
    for status in statuses:
        if isinstance(status, dict):
            for candidate in (status, status.get("reblog")):
                if isinstance(candidate, dict) and candidate.get("id") and isinstance(candidate.get("uri"), str):
                    parents[str(candidate["id"])] = candidate["uri"]
    for status in statuses:
        try:
            mention = parse_status(status, instance_host=instance_host, parents=parents)
        except Malformed as exc:
            result.quarantined.append(Quarantined(payload=status, reason=str(exc)))
            continue
        if mention.is_repost:
            try:
                result.mentions.append(parse_status(status["reblog"], instance_host=instance_host, parents=parents))
            except Malformed as exc:
                result.quarantined.append(Quarantined(payload=status["reblog"], reason=f"boosted status: {exc}"))
        result.mentions.append(mention)
    return result
