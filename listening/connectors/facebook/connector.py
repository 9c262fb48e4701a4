"""Polling a Facebook Page through the Graph API.

``FacebookConnector(account)``: ``account.external_id`` is the Page id, ``account.credentials``
holds ``{"page_access_token": ...}``. Account streams only: the Graph API has no public search,
so listening queries are applied locally to what the Page's streams bring in.

- ``feed``: ``/{page-id}/feed`` (posts by the Page and by others on it) and, for each post with
  comments, ``/{post-id}/comments?filter=stream`` (every comment, replies included, flat, each
  reply naming its ``parent``), all of that post's comment pages at once;
- ``visitor_posts``: ``/{page-id}/visitor_posts``;
- ``tagged``: ``/{page-id}/tagged`` (posts by others that tag the Page).

One ``fetch`` returns one page of posts (25). Cursor states:

- between sweeps ``{"since": T}``: T (unix seconds) is the newest ``created_time``/``updated_time``
  seen. The next sweep asks for ``since = T - 5 min`` (clock skew; repeats are upserts). The first
  sweep of a new account starts ``initial_lookback`` (7 days) back; a backfill (``request.since``,
  set after an outage) starts at the earlier of the two;
- while paging ``{"since": T, "sweep_since": S, "newest": N, "page": {...}}``: ``page`` holds the
  position from ``paging.next`` (``after`` on cursor-paged edges; ``until`` + ``__paging_token``
  where Graph pages by time), never the link itself (it carries the token). ``has_more`` is true
  while a ``paging.next`` remains; after the last page the cursor returns to ``{"since": N}``.

Limits, stated plainly: a new comment on a post older than the polling window is not seen by
polling (Graph's ``since`` is about the post); the ``feed`` webhook delivers it. A post's comment
pages that Graph refuses with a permanent error (a permission the token lacks on that post) are
logged and skipped so the rest of the Page still flows; an expired token, a rate limit or an
outage fails the whole fetch (the task retries or marks the account), and the cursor is not moved.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone

import requests

from ..base import (Connector, NeedsReconnect, OutcomeUnknown, Page, ParseResult, PermanentError, Published,
                    ReplyTarget, StreamRequest)
from .graph import GraphClient, next_page_url, paging_params
from .parse import parse_payload, summary_count, unix

logger = logging.getLogger(__name__)

POST_FIELDS = ",".join([
    "id", "message", "created_time", "updated_time", "permalink_url", "from{id,name}", "shares",
    # limit(0): the counts only, not the first 25 reactions/comments inline with every post.
    "reactions.limit(0).summary(total_count)", "comments.limit(0).summary(total_count)",
])
COMMENT_FIELDS = "id,message,created_time,from{id,name},parent{id},permalink_url,like_count,comment_count"
EDGES = {"feed": "feed", "visitor_posts": "visitor_posts", "tagged": "tagged"}


class FacebookConnector(Connector):
    platform = "facebook"
    query_streams = ()
    account_streams = ("feed", "visitor_posts", "tagged")

    page_size = 25
    comment_page_size = 100
    max_comment_pages = 20  # per post and fetch: 2,000 comments
    initial_lookback = timedelta(days=7)
    since_overlap = timedelta(minutes=5)

    def __init__(self, account, *, session: requests.Session | None = None, client: GraphClient | None = None):
        super().__init__(account)
        self._session = session
        self._client = client

    @property
    def client(self) -> GraphClient:
        if self._client is None:
            token = (self.account.credentials or {}).get("page_access_token")
            if not token:
                raise NeedsReconnect("no page_access_token stored for this Facebook Page")
            self._client = GraphClient(token, session=self._session)
        return self._client

    def publish_reply(self, target: ReplyTarget, text: str, *, idempotency_key: str) -> Published:
        """POST /{id}/comments as the Page. Graph nests comments one level deep: a reply to a reply
        goes on the parent comment (as Facebook's own interface does); a post gets a comment."""
        object_id = target.external_id
        if target.parent_external_id and target.parent_external_id != target.conversation_external_id:
            object_id = target.parent_external_id
        body = self.client.post(f"{object_id}/comments", {"message": text})
        comment_id = str(body.get("id") or "")
        if not comment_id:
            raise OutcomeUnknown("Graph API answered without the comment's id: check before retrying")
        return Published(comment_id, f"https://www.facebook.com/{comment_id}")

    def fetch(self, request: StreamRequest, cursor: dict) -> Page:
        edge = EDGES.get(request.stream)
        if edge is None:
            raise PermanentError(f"Facebook has no stream {request.stream!r}")
        page_id = self.account.external_id
        if not page_id:
            raise PermanentError("the Facebook account has no Page id (external_id)")
        cursor = dict(cursor or {})
        now = datetime.now(timezone.utc)
        paging = cursor.get("page") or {}
        sweep_since = cursor.get("sweep_since") if paging else self._sweep_start(request, cursor, now)

        params = {"fields": POST_FIELDS, "limit": self.page_size}
        if sweep_since:
            params["since"] = int(sweep_since - self.since_overlap.total_seconds())
        params.update(paging)
        body = self.client.get(f"{page_id}/{edge}", params)

        parsed = parse_payload(body)
        mentions, quarantined = list(parsed.mentions), list(parsed.quarantined)
        posts = [m for m in parsed.mentions if not m.parent_external_id]
        if request.stream == "feed":
            for post in posts:
                if summary_count(post.raw, "comments") == 0:
                    continue
                comments = self._comments(post.external_id, params.get("since"))
                mentions.extend(comments.mentions)
                quarantined.extend(comments.quarantined)

        newest = max([cursor.get("newest") or 0, *self._times(posts, now)])
        next_url = next_page_url(body)
        position = paging_params(next_url) if next_url else {}
        if position and position != paging:
            state = {"since": cursor.get("since"), "sweep_since": sweep_since, "newest": newest, "page": position}
            return Page(mentions=mentions, quarantined=quarantined, cursor=state, has_more=True, fetched_at=now)
        since = max(newest, cursor.get("since") or 0, sweep_since or 0) or None
        return Page(mentions=mentions, quarantined=quarantined, cursor={"since": since} if since else {},
                    has_more=False, fetched_at=now)

    # --- helpers ----------------------------------------------------------------------------

    def _sweep_start(self, request: StreamRequest, cursor: dict, now: datetime) -> int:
        starts = []
        if cursor.get("since"):
            starts.append(int(cursor["since"]))
        if request.since is not None:
            starts.append(int(request.since.timestamp()))
        if not starts:
            starts.append(int((now - self.initial_lookback).timestamp()))
        return min(starts)

    @staticmethod
    def _times(posts, now: datetime) -> list[int]:
        """created/updated times of the posts (unix), never past now (a clock ahead of ours must not
        push the next ``since`` into the future)."""
        limit = int(now.timestamp())
        times = []
        for post in posts:
            for key in ("created_time", "updated_time"):
                t = unix(post.raw.get(key))
                if t:
                    times.append(min(t, limit))
        return times

    def _comments(self, post_id: str, since: int | None) -> ParseResult:
        params = {"filter": "stream", "fields": COMMENT_FIELDS, "limit": self.comment_page_size}
        if since:
            params["since"] = since
        out = ParseResult()
        try:
            first = self.client.get(f"{post_id}/comments", params)
            for page in self.client.paginate(first, max_pages=self.max_comment_pages):
                parsed = parse_payload(page, post_id=post_id)
                out.mentions.extend(parsed.mentions)
                out.quarantined.extend(parsed.quarantined)
        except NeedsReconnect:
            raise
        except PermanentError as exc:
            logger.warning("facebook: comments of %s skipped: %s", post_id, exc)
        return out
