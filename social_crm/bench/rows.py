"""Rows of the listening tables as the ingestion pipeline and the NLP stage write them: the
columns of each table the seeder copies, platform ids and URLs shaped like the connectors',
a trimmed platform payload for ``raw``, and the mention's NLP tags.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

import orjson

from listening.demo.generate import X_EPOCH_MS

from .timeline import Author, Post

COLUMNS: dict[str, tuple[str, ...]] = {
    "listening_author": ("id", "tenant_id", "platform", "platform_user_id", "handle", "name", "followers", "verified",
                         "profile_url", "avatar_url", "updated_at", "mentions_seen"),
    "listening_mention": (
        "id", "tenant_id", "platform", "external_id", "version_id", "account_id", "author_id", "text", "language",
        "url", "created_at", "fetched_at", "stored_at", "like_count", "share_count", "reply_count", "view_count",
        "parent_external_id", "conversation_external_id", "is_own", "is_repost", "is_edited", "is_deleted", "raw",
        "detected_language", "sentiment", "sentiment_confidence", "sentiment_scores", "nlp_model_version",
        "needs_review", "tagged_at", "review_reasons", "sentiment_source", "entities"),
    "listening_mentionmatch": ("id", "tenant_id", "mention_id", "query_id", "mention_author_id", "mention_created_at",
                               "mention_language"),
    "listening_mentiontopic": ("id", "tenant_id", "mention_id", "topic_id", "source", "score", "mention_author_id",
                               "mention_created_at", "mention_language"),
    "inbox_conversation": (
        "id", "tenant_id", "number", "platform", "thread_key", "status", "priority", "author_id", "assignee_id",
        "department_id", "tags", "preview", "sentiment", "needs_review", "message_count", "first_message_at",
        "last_message_at", "last_inbound_at", "first_response_at", "resolved_at", "sla_policy_id",
        "first_response_due_at", "resolution_due_at", "sla_breaches", "created_at", "updated_at"),
    "inbox_message": ("id", "tenant_id", "conversation_id", "direction", "mention_id", "text", "author_user_id",
                      "approved_by_id", "delivery_status", "external_id", "error", "attempts", "created_at", "sent_at",
                      "mention_author_id", "mention_created_at", "mention_language"),
    "inbox_conversationevent": ("id", "tenant_id", "conversation_id", "kind", "actor_id", "rule_id", "data",
                                "created_at"),
    "inbox_alert": ("id", "tenant_id", "conversation_id", "department_id", "rule_id", "status", "escalation_level",
                    "escalate_at", "acknowledged_by_id", "acknowledged_at", "created_at", "updated_at"),
    "inbox_note": ("id", "tenant_id", "conversation_id", "author_user_id", "body", "mentioned_user_ids", "created_at"),
    "customers_customer": ("id", "tenant_id", "name", "name_folded", "emails", "phones", "handles", "external_crm_id",
                           "tier", "notes", "consent_marketing", "consent_contact", "consent_at", "merged_into_id",
                           "created_at", "updated_at"),
    "customers_socialidentity": ("id", "tenant_id", "platform", "platform_user_id", "handle", "name", "profile_url",
                                 "author_id", "customer_id", "linked_at", "linked_by_id", "created_at", "updated_at"),
}
TABLES = tuple(COLUMNS)
_B32 = "234567abcdefghijklmnopqrstuvwxyz"  # Bluesky record keys (TIDs)


def at(t: float | None) -> datetime | None:
    return None if t is None else datetime.fromtimestamp(t, UTC)


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


class Ids:
    """External ids per platform, increasing with time like the platforms' own."""

    def __init__(self, tenant_index: int):
        self.serial = tenant_index * 10_000_000  # per tenant: ids never repeat across tenants either
        self.last_x = 0

    def assign(self, post: Post) -> None:
        self.serial += 1
        post.serial = self.serial
        ms = int(post.t * 1000)
        platform, author = post.platform, post.author
        if platform == "x":
            value = max(((ms - X_EPOCH_MS) << 22) | (self.serial & 0x3FFFFF), self.last_x + 1)
            self.last_x = value
            post.external_id = str(value)
        elif platform == "mastodon":
            user, _, host = author.handle.partition("@")
            post.external_id = f"https://{host or 'mastodon.example'}/users/{user}/statuses/{(ms << 16) | (self.serial & 0xFFFF)}"
        elif platform == "bluesky":
            number, key = (int(post.t * 1_000_000) << 10) | (self.serial & 0x3FF), ""
            for _ in range(13):
                number, digit = divmod(number, 32)
                key = _B32[digit] + key
            post.external_id = f"at://{author.uid}/app.bsky.feed.post/{key}"
        elif platform == "facebook":
            root = post.root or post
            page = root.author.uid if root is post else root.external_id.split("_")[0]
            post.external_id = f"{page}_{self.serial}" if root is post else f"{root.serial}_{self.serial}"
        else:
            post.external_id = f"{author.profile_url}articles/{self.serial}"


def thread_ids(post: Post) -> tuple[str, str]:
    """(parent_external_id, conversation_external_id) as each connector fills them."""
    parent = post.parent.external_id if post.parent else ""
    platform = post.platform
    if platform == "rss" or post.repost:
        return "", (post.external_id if platform == "x" and post.repost else "")
    if platform == "mastodon":
        return parent, "" if post.parent else post.external_id
    return parent, (post.root or post).external_id


def url(post: Post) -> str:
    platform, author, ext = post.platform, post.author, post.external_id
    if platform == "x":
        return f"https://x.com/{author.handle}/status/{ext}"
    if platform == "mastodon":
        user, _, host = author.handle.partition("@")
        return f"https://{host or 'mastodon.example'}/@{user}/{ext.rsplit('/', 1)[1]}"
    if platform == "bluesky":
        return f"https://bsky.app/profile/{author.handle}/post/{ext.rsplit('/', 1)[1]}"
    if platform == "facebook":
        return f"https://www.facebook.com/{ext}"
    return ext


def metrics(rng, post: Post) -> tuple[int | None, int | None, int | None, int | None]:
    """(likes, shares, replies, views) as the platform reports them (RSS: none)."""
    if post.platform == "rss":
        return None, None, None, None
    reach = math.log10((post.author.followers or 200) + 10)
    likes = int(math.exp(rng.gauss(reach - 1.2, 1.1)))
    shares = int(likes * rng.random() * 0.3)
    replies = int(likes * rng.random() * 0.2)
    views = likes * rng.randint(20, 80) if post.platform == "x" else None
    return likes, shares, replies, views


def raw_payload(post: Post, text: str, lang: str, counts, parent: str, conversation: str) -> str:
    """The platform's object, trimmed to what the connectors read."""
    author, t, ext = post.author, post.t, post.external_id
    likes, shares, replies, views = counts
    if post.platform == "x":
        tweet = {"id": ext, "text": text, "created_at": _iso(t), "author_id": author.uid, "lang": lang,
                 "conversation_id": conversation or ext, "edit_history_tweet_ids": [ext],
                 "public_metrics": {"like_count": likes, "retweet_count": shares, "reply_count": replies,
                                    "quote_count": 0, "impression_count": views}}
        if parent:
            tweet["referenced_tweets"] = [{"type": "replied_to", "id": parent}]
        payload = {"post": tweet, "author": {"id": author.uid, "username": author.handle, "name": author.name,
                                             "verified": author.verified,
                                             "public_metrics": {"followers_count": author.followers}},
                   "referenced": []}
    elif post.platform == "mastodon":
        payload = {"id": ext.rsplit("/", 1)[1], "uri": ext, "created_at": _iso(t), "language": lang,
                   "content": f"<p>{text}</p>", "favourites_count": likes, "reblogs_count": shares,
                   "replies_count": replies, "in_reply_to_id": parent.rsplit("/", 1)[1] if parent else None,
                   "account": {"acct": author.handle, "display_name": author.name, "followers_count": author.followers}}
    elif post.platform == "bluesky":
        payload = {"uri": ext, "cid": "bafyrei" + ext[-13:], "author": {"did": author.uid, "handle": author.handle,
                                                                         "displayName": author.name,
                                                                         "followersCount": author.followers},
                   "record": {"text": text, "createdAt": _iso(t), "langs": [lang]},
                   "likeCount": likes, "repostCount": shares, "replyCount": replies}
        if parent:
            payload["record"]["reply"] = {"parent": {"uri": parent}, "root": {"uri": conversation}}
    elif post.platform == "facebook":
        payload = {"id": ext, "message": text, "created_time": _iso(t).replace(".000Z", "+0000"),
                   "from": {"id": author.uid, "name": author.name},
                   "likes": {"summary": {"total_count": likes}}, "shares": {"count": shares}}
        if parent:
            payload["parent"] = {"id": parent}
    else:
        payload = {"id": ext, "link": ext, "title": text[:80], "summary": text, "published": _iso(t)}
    return orjson.dumps(payload).decode()


def author_row(tenant_id: int, author: Author, start: float) -> tuple:
    """``updated_at``: when the pipeline last saw the author (the span's start if never)."""
    return (author.id, tenant_id, author.platform, author.uid, author.handle, author.name, author.followers,
            author.verified, author.profile_url, author.avatar_url, at(author.last_seen or start), author.mentions)
