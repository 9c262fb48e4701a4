"""Bluesky (AT Protocol) posts -> ``MentionData``, on the raw JSON of the XRPC responses.

* ``external_id`` is the post's ``at://did/app.bsky.feed.post/rkey`` uri (global, stable: it
  names the author by DID, not by handle); ``version_id`` its ``cid`` (the hash of the record:
  it changes only if the record is rewritten).
* ``parent_external_id`` / ``conversation_external_id``: ``record.reply.parent.uri`` /
  ``record.reply.root.uri`` (a post that replies to nothing is its own conversation).
* The author's ``platform_user_id`` is the DID (handles change); ``followers`` only when the view
  carries ``followersCount`` (search results and notifications do not).
* A ``notFoundPost`` (deleted) becomes a deletion marker (``is_deleted``): ingest flags a stored
  mention with that uri and stores nothing new. A ``blockedPost`` is skipped.

``parse_payload`` accepts what the app view returns: a ``postView``, a ``searchPosts`` /
``getPosts`` / ``getTimeline`` / ``getAuthorFeed`` / ``listNotifications`` / ``getPostThread``
response, a feed item (``reasonRepost`` -> a repost, ``is_repost``), a notification, a
``com.atproto.repo.getRecord`` answer, or a list of these. Records that cannot be a mention
are quarantined with the reason; the rest of the payload is kept.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from ..base import AuthorData, MentionData, ParseResult, Quarantined

POST_COLLECTION = "app.bsky.feed.post"
NOTIFICATION_REASONS = ("mention", "reply", "quote")


class Malformed(ValueError):
    pass


def parse_time(value: Any) -> datetime | None:
    """AT Protocol datetimes; one without a zone (older clients wrote some) is taken as UTC."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def iso_millis(value: datetime) -> str:
    value = value.astimezone(timezone.utc)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def split_uri(uri: Any) -> tuple[str, str, str]:
    """``at://did/collection/rkey`` -> (did, collection, rkey); raises ``Malformed``."""
    if not isinstance(uri, str) or not uri.startswith("at://"):
        raise Malformed("no at:// uri")
    parts = uri[len("at://"):].split("/")
    if len(parts) != 3 or not all(parts):
        raise Malformed(f"not a record uri: {uri[:200]}")
    return parts[0], parts[1], parts[2]


def _handle_ok(handle: Any) -> bool:
    return isinstance(handle, str) and bool(handle) and handle != "handle.invalid"


def post_url(uri: str, handle: str = "") -> str:
    did, _collection, rkey = split_uri(uri)
    return f"https://bsky.app/profile/{handle if _handle_ok(handle) else did}/post/{rkey}"


def parse_author(author: Any, *, fallback_did: str = "") -> AuthorData:
    if not isinstance(author, dict):
        if fallback_did:
            return AuthorData(platform_user_id=fallback_did, profile_url=f"https://bsky.app/profile/{fallback_did}")
        raise Malformed("post without author")
    did = author.get("did")
    if not isinstance(did, str) or not did.startswith("did:"):
        raise Malformed("author without did")
    handle = author.get("handle") if _handle_ok(author.get("handle")) else ""
    followers = author.get("followersCount")
    verification = author.get("verification") if isinstance(author.get("verification"), dict) else {}
    return AuthorData(
        platform_user_id=did,
        handle=handle,
        name=author.get("displayName") or "",
        followers=followers if isinstance(followers, int) and not isinstance(followers, bool) else None,
        verified=verification.get("verifiedStatus") == "valid",
        profile_url=f"https://bsky.app/profile/{handle or did}",
        avatar_url=author.get("avatar") or "",
    )


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _record_fields(uri: str, record: Any, indexed_at: Any) -> dict:
    """What every post shape has in common: text, language, dates, reply refs."""
    _did, collection, _rkey = split_uri(uri)
    if collection != POST_COLLECTION:
        raise Malformed(f"not a post: {collection}")
    if not isinstance(record, dict):
        raise Malformed("post without record")
    text = record.get("text")
    if not isinstance(text, str):
        raise Malformed("post record without text")
    created_at = parse_time(record.get("createdAt")) or parse_time(indexed_at)
    if created_at is None:
        raise Malformed("post without createdAt or indexedAt")
    langs = record.get("langs")
    language = langs[0] if isinstance(langs, list) and langs and isinstance(langs[0], str) else ""
    reply = record.get("reply") if isinstance(record.get("reply"), dict) else {}
    parent = (reply.get("parent") or {}).get("uri", "") if isinstance(reply.get("parent"), dict) else ""
    root = (reply.get("root") or {}).get("uri", "") if isinstance(reply.get("root"), dict) else ""
    return {"text": text, "created_at": created_at, "language": language[:8],
            "parent_external_id": parent if isinstance(parent, str) else "",
            "conversation_external_id": (root if isinstance(root, str) and root else (parent or uri))}


def parse_post_view(view: Any) -> MentionData:
    """An ``app.bsky.feed.defs#postView``."""
    if not isinstance(view, dict):
        raise Malformed("post view is not an object")
    uri = view.get("uri")
    fields = _record_fields(uri, view.get("record"), view.get("indexedAt"))
    author = parse_author(view.get("author"))
    reposts, quotes = _count(view.get("repostCount")), _count(view.get("quoteCount"))
    return MentionData(
        external_id=uri,
        url=post_url(uri, author.handle),
        author=author,
        like_count=_count(view.get("likeCount")),
        share_count=None if reposts is None and quotes is None else (reposts or 0) + (quotes or 0),
        reply_count=_count(view.get("replyCount")),
        version_id=view.get("cid") or "",
        raw=view,
        **fields,
    )


def parse_notification(notification: dict) -> MentionData:
    """An ``app.bsky.notification.listNotifications#notification`` (mention, reply, quote): the
    post record itself, without counts (notifications carry none)."""
    uri = notification.get("uri")
    fields = _record_fields(uri, notification.get("record"), notification.get("indexedAt"))
    author = parse_author(notification.get("author"))
    return MentionData(external_id=uri, url=post_url(uri, author.handle), author=author,
                       version_id=notification.get("cid") or "", raw=notification, **fields)


def parse_record(answer: dict) -> MentionData:
    """A ``com.atproto.repo.getRecord`` answer ``{uri, cid, value}``: the author is only a DID."""
    uri = answer.get("uri")
    did, _collection, _rkey = split_uri(uri)
    fields = _record_fields(uri, answer.get("value"), None)
    return MentionData(external_id=uri, url=post_url(uri), author=parse_author(None, fallback_did=did),
                       version_id=answer.get("cid") or "", raw=answer, **fields)


def deletion_marker(uri: str, raw: dict) -> MentionData:
    """A post the app view reports as not found: a marker ingest uses to flag the stored
    mention deleted (``created_at`` is the time we learnt it; it is not stored)."""
    split_uri(uri)
    return MentionData(external_id=uri, text="", created_at=datetime.now(timezone.utc), is_deleted=True, raw=raw)


def parse_repost(item: dict) -> MentionData:
    """A feed item whose ``reason`` is ``reasonRepost``: the reposter's plain repost."""
    post, reason = item.get("post") or {}, item.get("reason") or {}
    original = parse_post_view(post)
    by = parse_author(reason.get("by"))
    uri = reason.get("uri")
    if not (isinstance(uri, str) and uri.startswith("at://")):
        # Older app views do not give the repost record's uri: one repost per (post, reposter).
        uri = f"{original.external_id}#repost-by-{by.platform_user_id}"
    created_at = parse_time(reason.get("indexedAt")) or original.created_at
    return MentionData(external_id=uri, text=original.text, created_at=created_at, url=original.url,
                       language=original.language, author=by, is_repost=True,
                       version_id=reason.get("cid") or "", raw=item)


# --- payload dispatch --------------------------------------------------------------------------


def _type(obj: dict) -> str:
    value = obj.get("$type") or obj.get("py_type") or ""
    return value if isinstance(value, str) else ""


def _walk(obj: Any, result: ParseResult, depth: int = 0) -> None:
    if depth > 200:
        result.quarantined.append(Quarantined(payload={"truncated": True}, reason="nesting too deep"))
        return
    if isinstance(obj, list):
        for item in obj:
            _walk(item, result, depth + 1)
        return
    if not isinstance(obj, dict):
        result.quarantined.append(Quarantined(payload=obj, reason="not a Bluesky object"))
        return
    kind = _type(obj)
    try:
        if "posts" in obj and isinstance(obj["posts"], list):  # searchPosts, getPosts
            _walk(obj["posts"], result, depth + 1)
        elif "notifications" in obj and isinstance(obj["notifications"], list):
            _walk(obj["notifications"], result, depth + 1)
        elif "feed" in obj and isinstance(obj["feed"], list):  # getTimeline, getAuthorFeed
            _walk(obj["feed"], result, depth + 1)
        elif "thread" in obj and isinstance(obj["thread"], dict):  # getPostThread
            _walk(obj["thread"], result, depth + 1)
        elif obj.get("notFound") is True or kind.endswith("#notFoundPost"):
            result.mentions.append(deletion_marker(obj.get("uri"), obj))
        elif obj.get("blocked") is True or kind.endswith("#blockedPost"):
            return  # we may not see it; not deleted
        elif kind.endswith("#threadViewPost") or ("post" in obj and ("replies" in obj or "parent" in obj)):
            # Each post of a thread stands alone: a malformed one does not take its replies along.
            try:
                result.mentions.append(parse_post_view(obj.get("post")))
            except Malformed as exc:
                result.quarantined.append(Quarantined(payload=obj.get("post"), reason=str(exc)))
            if obj.get("parent") is not None:
                _walk(obj["parent"], result, depth + 1)
            for reply in obj.get("replies") or []:
                _walk(reply, result, depth + 1)
        elif "post" in obj:  # a feed item (feedViewPost)
            reason = obj.get("reason") if isinstance(obj.get("reason"), dict) else {}
            result.mentions.append(parse_post_view(obj["post"]))
            if _type(reason).endswith("#reasonRepost") or ("by" in reason and "indexedAt" in reason):
                result.mentions.append(parse_repost(obj))
        elif "reason" in obj and "record" in obj:  # a notification
            if obj.get("reason") in NOTIFICATION_REASONS:
                result.mentions.append(parse_notification(obj))
        elif "record" in obj and ("uri" in obj or "author" in obj):  # a postView
            result.mentions.append(parse_post_view(obj))
        elif "value" in obj and "uri" in obj:  # getRecord
            value = obj.get("value")
            if isinstance(value, dict) and value.get("$type", POST_COLLECTION) != POST_COLLECTION:
                return  # a like, a follow...: a record, but no post
            result.mentions.append(parse_record(obj))
        else:
            result.quarantined.append(Quarantined(payload=obj, reason="not a Bluesky post, feed or notification"))
    except Malformed as exc:
        result.quarantined.append(Quarantined(payload=obj, reason=str(exc)))


def parse_payload(payload: Any) -> ParseResult:
    result = ParseResult()
    _walk(payload, result)
    return result
