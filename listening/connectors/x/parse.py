"""Turn one X API v2 response page into normalised mentions.

Field names follow X's v2 wire format (``edit_history_tweet_ids``, ``note_tweet``,
``referenced_tweets``, ``includes.tweets``, ``public_metrics.retweet_count``). X's newer OpenAPI
spec (xdevplatform/xdk) names the same things ``*_post_*`` (``edit_history_post_ids``,
``note_post``, ``referenced_posts``, ``includes.posts``, ``repost_count``); both spellings are
read, so a rename on X's side does not silently empty a field.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timezone
from typing import Any

from listening.connectors.base import AuthorData, MentionData, ParseResult, Quarantined

log = logging.getLogger(__name__)

WEB = "https://x.com"

# Codes X puts in ``lang`` when it found no language (undetermined, media/links only, only
# mentions/cashtags/hashtags, too short). They are not languages: storing them would make a
# language filter treat "qme" as a language, so they become "" and NLP may fill the gap.
NOT_A_LANGUAGE = frozenset({"und", "zxx", "qam", "qct", "qht", "qme", "qst"})
MAX_LANGUAGE_LENGTH = 8  # Mention.language

# verified_type values that mean a check mark; "none" (and absence) do not.
VERIFIED_TYPES = frozenset({"blue", "business", "government"})


def _first(obj: dict, *keys: str) -> Any:
    """The value of the first key present (not None) in ``obj``: wire name first, then X's rename."""
    for key in keys:
        value = obj.get(key)
        if value is not None:
            return value
    return None


def _count(value: Any) -> int | None:
    # bool is an int subclass; a metric is never a bool.
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def _id(value: Any) -> str:
    """An X id as a string of digits, or "" when it is not one."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    return value if isinstance(value, str) and value.isdigit() else ""


def id_key(value: str) -> int:
    """Order X ids (snowflakes grow with time). Compare numerically: as strings, an older
    18-digit id would sort after a newer 19-digit one."""
    return int(value) if _id(value) else -1


def parse_time(value: Any) -> datetime | None:
    """An aware UTC datetime from X's ``2020-06-24T17:19:07.000Z``, or None when malformed."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)  # Python 3.11 reads "Z" and milliseconds
    except ValueError:
        return None
    if parsed.tzinfo is None:  # X always sends UTC with "Z"; a naive time is not X's format
        return None
    return parsed.astimezone(timezone.utc)


def _language(value: Any) -> str:
    if not isinstance(value, str) or value in NOT_A_LANGUAGE or len(value) > MAX_LANGUAGE_LENGTH:
        return ""
    return value


def parse_user(user: dict) -> AuthorData:
    """An ``AuthorData`` from an X v2 user object (``includes.users`` entry)."""
    username = user.get("username") if isinstance(user.get("username"), str) else ""
    metrics = user.get("public_metrics") if isinstance(user.get("public_metrics"), dict) else {}
    verified_type = user.get("verified_type")
    return AuthorData(
        platform_user_id=_id(user.get("id")) or str(user.get("id", "")),
        handle=username,
        name=user.get("name") if isinstance(user.get("name"), str) else "",
        followers=_count(metrics.get("followers_count")),
        # Since 2023 ``verified`` means a paid check mark and ``verified_type`` says which kind;
        # either one is enough.
        verified=user.get("verified") is True or verified_type in VERIFIED_TYPES,
        profile_url=f"{WEB}/{username}" if username else "",
        avatar_url=user.get("profile_image_url") if isinstance(user.get("profile_image_url"), str) else "",
    )


def _by_id(items: Any) -> dict[str, dict]:
    if not isinstance(items, list):
        return {}
    return {str(item["id"]): item for item in items if isinstance(item, dict) and item.get("id") is not None}


def _share_count(metrics: dict) -> int | None:
    # A share is a repost or a quote; None only when X sent neither count.
    reposts = _count(_first(metrics, "retweet_count", "repost_count"))
    quotes = _count(metrics.get("quote_count"))
    if reposts is None and quotes is None:
        return None
    return (reposts or 0) + (quotes or 0)


def _problem(post: dict) -> str:
    """Why ``post`` cannot become a mention, or "" when it can."""
    if not _id(post.get("id")):
        return "missing id" if post.get("id") in (None, "") else f"bad id: {post.get('id')!r}"
    note = post.get("note_tweet") or post.get("note_post")
    text = note.get("text") if isinstance(note, dict) and isinstance(note.get("text"), str) else post.get("text")
    if not isinstance(text, str):
        return "missing text"
    if "created_at" not in post:
        # Happens when the request did not ask for tweet.fields=created_at.
        return "missing created_at"
    if parse_time(post["created_at"]) is None:
        return f"bad created_at: {post['created_at']!r}"
    return ""


def parse_post(post: dict, users: dict[str, dict], included_posts: dict[str, dict]) -> MentionData:
    """A ``MentionData`` from one valid X v2 post object (check it with the page parser first)."""
    post_id = _id(post["id"])
    note = post.get("note_tweet") or post.get("note_post")
    # Long posts (over 280 characters) carry a truncated ``text`` and the whole in note_tweet.
    text = note["text"] if isinstance(note, dict) and isinstance(note.get("text"), str) else post["text"]

    user = users.get(str(post.get("author_id", "")))
    if user is not None:
        author = parse_user(user)
    elif _id(post.get("author_id")):
        # The author was not expanded (suspended, or the request lacked the expansion): keep the id.
        author = AuthorData(platform_user_id=_id(post["author_id"]))
    else:
        author = None
    # x.com/i/web/status/<id> opens a post without knowing its author's handle.
    url = f"{WEB}/{author.handle}/status/{post_id}" if author and author.handle else f"{WEB}/i/web/status/{post_id}"

    references = _first(post, "referenced_tweets", "referenced_posts")
    references = [ref for ref in references if isinstance(ref, dict)] if isinstance(references, list) else []
    parent = next((_id(ref.get("id")) for ref in references if ref.get("type") == "replied_to"), "")

    # Every version of an edited post lists the whole chain, oldest first: its first id is the
    # post's identity (one mention), the post's own id says which version this is.
    history = [_id(i) for i in (_first(post, "edit_history_tweet_ids", "edit_history_post_ids") or []) if _id(i)]

    metrics = post.get("public_metrics") if isinstance(post.get("public_metrics"), dict) else {}
    return MentionData(
        external_id=history[0] if history else post_id,
        version_id=post_id,
        is_edited=len(history) > 1,
        text=text,
        created_at=parse_time(post["created_at"]),
        url=url,
        language=_language(post.get("lang")),
        author=author,
        like_count=_count(metrics.get("like_count")),
        share_count=_share_count(metrics),
        reply_count=_count(metrics.get("reply_count")),
        view_count=_count(metrics.get("impression_count")),
        parent_external_id=parent,
        conversation_external_id=_id(post.get("conversation_id")),
        is_repost=any(ref.get("type") == "retweeted" for ref in references),
        raw={
            "post": post,
            "author": user,
            # The expanded posts this one replies to, quotes or reposts (what a reply answers);
            # absent when deleted or not visible to us (then only X's errors[] mentions them).
            "referenced": [included_posts[ref["id"]] for ref in references if ref.get("id") in included_posts],
        },
    )


def newest_version(mentions: Iterable[MentionData]) -> MentionData:
    """Of several versions of one post (same ``external_id``), the newest edit: the highest
    ``version_id``. Storage should keep this one's text when it sees a post again."""
    return max(mentions, key=lambda mention: id_key(mention.version_id))


def _as_page(post: dict, users: dict[str, dict]) -> dict:
    # A quarantined post is kept as a one-post page with its author, so replaying it is just
    # parse_payload(payload) again once the parser is fixed.
    page: dict = {"data": [post]}
    author = users.get(str(post.get("author_id", "")))
    if author is not None:
        page["includes"] = {"users": [author]}
    return page


def parse_payload(payload: dict) -> ParseResult:
    """Parse one X API v2 response page (``data``, ``includes``, ``errors``, ``meta``).

    Also accepts a mention's ``raw`` (``{"post", "author", "referenced"}``), so quarantined
    records replay. Each post in ``data`` becomes a ``MentionData`` joined to its author from
    ``includes.users``; a post that lacks an id, a text or a valid ``created_at`` is quarantined
    with the reason and the rest of the page is still returned. Two versions of one edited
    post on the page give one mention, the newest. ``errors[]`` entries (deleted, suspended,
    withheld, not-authorized resources referenced by the page) are not mentions and do not fail
    the page.
    """
    result = ParseResult()
    if not isinstance(payload, dict):
        result.quarantined.append(Quarantined(payload=payload, reason="not an X API v2 response object"))
        return result

    if "data" not in payload and isinstance(payload.get("post"), dict):
        # A mention's ``raw`` (storage quarantines that when it refuses a parsed mention):
        # rebuild the one-post page it came from, so a replay parses it like any page.
        author = payload.get("author")
        payload = {"data": [payload["post"]],
                   "includes": {"users": [author] if isinstance(author, dict) else [],
                                "tweets": payload.get("referenced") or []}}

    includes = payload.get("includes") if isinstance(payload.get("includes"), dict) else {}
    users = _by_id(includes.get("users"))
    included_posts = {**_by_id(includes.get("posts")), **_by_id(includes.get("tweets"))}

    errors = payload.get("errors")
    if isinstance(errors, list) and errors:
        # Referenced resources X could not return; they are not mentions. Logged for debugging only.
        log.debug("X page with %d partial errors: %s", len(errors),
                  [e.get("detail") or e.get("title") for e in errors if isinstance(e, dict)])

    data = payload.get("data")
    if data is None:
        posts: list = []
    elif isinstance(data, dict):  # single-post lookups answer with an object
        posts = [data]
    elif isinstance(data, list):
        posts = data
    else:
        result.quarantined.append(Quarantined(payload=payload, reason="data is neither a list nor an object"))
        return result

    newest: dict[str, MentionData] = {}
    for post in posts:
        if not isinstance(post, dict):
            result.quarantined.append(Quarantined(payload=post, reason="post is not an object"))
            continue
        problem = _problem(post)
        if problem:
            result.quarantined.append(Quarantined(payload=_as_page(post, users), reason=problem))
            continue
        mention = parse_post(post, users, included_posts)
        seen = newest.get(mention.external_id)
        newest[mention.external_id] = mention if seen is None else newest_version((seen, mention))
    result.mentions = list(newest.values())
    return result
