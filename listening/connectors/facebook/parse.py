"""Graph API records -> ``MentionData``.

``parse_payload`` takes a Page post, a comment, or a Graph list response
(``{"data": [...], "paging": {...}}``) and returns a ``ParseResult``:

- ``external_id`` is the Graph id (posts ``{page-id}_{post-id}``, comments ``{object-id}_{comment-id}``);
- ``text`` is ``message``. A post without a message (a photo or video share, a check-in, a shared
  link without a comment) is still a mention with an empty text: it is activity on the Page with
  an author, a URL, a time and metrics, and dropping it would under-count engagement. Listening
  queries are matched locally on the text, so it simply matches none. We do not fall back to
  ``story`` ("X shared a photo."): that is Facebook's generated sentence, not the author's words,
  and would make keyword queries match text nobody wrote;
- a record without ``id`` or ``created_time`` (or with one we cannot read) is quarantined with the
  reason, and the rest of the list is kept. Since Graph v11 the comments of a Page post carry no
  ``id`` for apps without the MODERATE task on the Page: those comments are quarantined as
  "no id", which makes a missing permission visible instead of silently storing unkeyed rows;
- author from ``from`` (``id``, ``name``; profile URL ``https://www.facebook.com/<id>``; Facebook
  users have no handle here and Graph gives no follower count, so ``followers`` is ``None``);
  a record without ``from`` (Graph hides it for users who did not authorise the app) has no author;
- posts: ``like_count`` = ``reactions.summary.total_count`` (all reaction types),
  ``share_count`` = ``shares.count``, ``reply_count`` = ``comments.summary.total_count``;
  comments: ``like_count`` = ``like_count``, ``reply_count`` = ``comment_count``; a metric Graph
  did not return is ``None`` (unknown), not 0;
- comments: ``parent_external_id`` = ``parent.id`` (a reply) or the post id (a top-level
  comment); ``conversation_external_id`` = the post id. A post is its own conversation;
- ``is_repost`` is always false (a share is a post of its own with its own id);
- the record is kept under ``raw``.

Edits: polling gives no edit signal (``updated_time`` also moves when someone comments), so polled
records carry no ``version_id`` and never overwrite a stored text; the webhook's ``edited`` verb
does (see ``webhook.py``).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from ..base import AuthorData, MentionData, ParseResult, Quarantined

PROFILE_URL = "https://www.facebook.com/{id}"


class _Skip(Exception):
    """A record that cannot be a mention; ``str()`` is the quarantine reason."""


def parse_payload(payload: Any, *, post_id: str | None = None) -> ParseResult:
    """Normalise a post, a comment, or a Graph list response. ``post_id`` says the records are
    comments of that post (the connector passes it for ``/{post-id}/comments`` pages); without it
    a record is taken for a comment when it has a comment's fields (``parent``, ``like_count``,
    ``comment_count``), else for a post."""
    result = ParseResult()
    if isinstance(payload, dict) and isinstance(payload.get("data"), list):
        for record in payload["data"]:
            _parse_record(record, result, post_id)
    else:
        _parse_record(payload, result, post_id)
    return result


def is_comment(record: dict) -> bool:
    return any(key in record for key in ("parent", "comment_count", "like_count"))


def _parse_record(record: Any, result: ParseResult, post_id: str | None) -> None:
    try:
        if not isinstance(record, dict):
            raise _Skip("not a JSON object")
        if post_id is not None or is_comment(record):
            result.mentions.append(comment_mention(record, post_id=post_id))
        else:
            mention = post_mention(record)
            result.mentions.append(mention)
            # Comments requested inline (``comments{...}``) come with the post: keep them too.
            inline = record.get("comments")
            if isinstance(inline, dict) and isinstance(inline.get("data"), list) and inline["data"]:
                nested = parse_payload(inline, post_id=mention.external_id)
                result.mentions.extend(nested.mentions)
                result.quarantined.extend(nested.quarantined)
    except _Skip as exc:
        result.quarantined.append(Quarantined(payload=record, reason=str(exc)))


def post_mention(record: dict) -> MentionData:
    external_id = _id(record)
    return MentionData(
        external_id=external_id,
        text=_text(record.get("message")),
        created_at=_created_at(record),
        url=_str(record.get("permalink_url")),
        author=author_from(record.get("from")),
        like_count=summary_count(record, "reactions"),
        share_count=_count(record.get("shares"), "count"),
        reply_count=summary_count(record, "comments"),
        conversation_external_id=external_id,
        raw=record,
    )


def comment_mention(record: dict, *, post_id: str | None = None) -> MentionData:
    external_id = _id(record)
    parent = record.get("parent")
    parent_id = _str(parent.get("id")) if isinstance(parent, dict) else ""
    return MentionData(
        external_id=external_id,
        text=_text(record.get("message")),
        created_at=_created_at(record),
        url=_str(record.get("permalink_url")),
        author=author_from(record.get("from")),
        like_count=_int(record.get("like_count")),
        reply_count=_int(record.get("comment_count")),
        parent_external_id=parent_id or (post_id or ""),
        conversation_external_id=post_id or "",
        raw=record,
    )


# --- fields ------------------------------------------------------------------------------------


def author_from(value: Any, *, name: str = "") -> AuthorData | None:
    """``from`` -> AuthorData (``value`` may also be a bare id, as webhooks' ``sender_id``)."""
    if isinstance(value, dict):
        user_id, name = _str(value.get("id")), _str(value.get("name")) or name
    else:
        user_id = _str(value)
    if not user_id:
        return None
    return AuthorData(platform_user_id=user_id, name=name, followers=None,
                      profile_url=PROFILE_URL.format(id=user_id))


def parse_time(value: Any) -> datetime | None:
    """A Graph time: ISO 8601 (``2021-07-04T19:50:58+0000``) or unix seconds (webhooks; unix
    milliseconds are recognised too). ``None`` when it cannot be read."""
    if isinstance(value, bool) or value is None or value == "":
        return None
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        value = int(value.strip())
    if isinstance(value, (int, float)):
        seconds = value / 1000 if value > 100_000_000_000 else value
        try:
            return datetime.fromtimestamp(seconds, tz=timezone.utc)
        except (OverflowError, OSError, ValueError):
            return None
    if isinstance(value, str):
        text = value.strip()
        for fmt in ("%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S.%f%z"):
            try:
                return datetime.strptime(text, fmt)
            except ValueError:
                pass
        try:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo else None
    return None


def unix(value: Any) -> int | None:
    parsed = parse_time(value)
    return int(parsed.timestamp()) if parsed else None


def summary_count(record: dict, edge: str) -> int | None:
    value = record.get(edge)
    return _count(value.get("summary"), "total_count") if isinstance(value, dict) else None


def _count(value: Any, key: str) -> int | None:
    return _int(value.get(key)) if isinstance(value, dict) else None


def _id(record: dict) -> str:
    external_id = _str(record.get("id"))
    if not external_id:
        raise _Skip("no id")
    return external_id


def _created_at(record: dict) -> datetime:
    raw = record.get("created_time")
    if raw in (None, ""):
        raise _Skip("no created_time")
    created = parse_time(raw)
    if created is None:
        raise _Skip(f"created_time not readable: {str(raw)[:100]!r}")
    return created


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _str(value: Any) -> str:
    if value is None or isinstance(value, (dict, list, bool)):
        return ""
    return str(value).strip()


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""
