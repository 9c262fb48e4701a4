"""Polling Bluesky with the atproto SDK (``Client``, httpx underneath).

Credentials ``{"handle": ..., "app_password": ...}`` (an app password, never the account's
password). The client logs in lazily, once per connector instance, and keeps its session on the
instance only: no token ever goes into a cursor (cursors are stored in clear). An expired or
rejected session token is answered by one fresh login; if that is refused, ``NeedsReconnect``.
``account.base_url`` is where to log in (a PDS, or the bsky.social entryway by default); after
login atproto talks to the account's PDS (from its DID document), which proxies ``app.bsky.*``
to the app view.

Streams:

* ``search`` (query): ``app.bsky.feed.searchPosts`` with ``q`` = one keyword string per fetch
  (rotating through the query's keywords, like the Mastodon connector), ``sort=latest``.
  First poll: the newest page. Afterwards each poll sweeps the posts ``since`` the newest
  ``sortAt`` seen (minus a small overlap for late indexing; duplicates are upserts), following
  ``cursor`` page by page (``has_more``) until the results run out.
* ``notifications`` (account): ``app.bsky.notification.listNotifications`` with reasons
  mention / reply / quote, walked from the newest back to the newest ``indexedAt`` seen before.

``request.since`` (backfill) is the floor of a first poll.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
from atproto_client import Client, models
from atproto_client.exceptions import (
    LoginRequiredError,
    NetworkError,
    RateLimitExceededError,
    RequestErrorBase,
)
from atproto_client.models.common import XrpcError
from atproto_client.request import Request
from atproto_core.exceptions import AtProtocolError

from ..base import (
    AccountConfig,
    Connector,
    NeedsReconnect,
    OutcomeUnknown,
    Page,
    PermanentError,
    Published,
    RateLimited,
    ReplyTarget,
    StreamRequest,
    TransientError,
)
from .parse import NOTIFICATION_REASONS, iso_millis, parse_payload, parse_time

# XRPC error names that mean the credentials (not the request) are the problem.
AUTH_ERRORS = frozenset({"AuthenticationRequired", "AuthRequired", "ExpiredToken", "InvalidToken",
                         "AccountTakedown", "AccountDeactivated", "AuthFactorTokenRequired"})
SESSION_ERRORS = frozenset({"ExpiredToken", "InvalidToken"})  # worth one fresh login


def _xrpc_error(exc: BaseException) -> tuple[int | None, str, str]:
    response = getattr(exc, "response", None)
    status = getattr(response, "status_code", None)
    content = getattr(response, "content", None)
    if isinstance(content, XrpcError):
        return status, content.error or "", content.message or ""
    if isinstance(content, dict):
        return status, str(content.get("error") or ""), str(content.get("message") or "")
    if isinstance(content, bytes):
        return status, "", content[:200].decode("utf-8", "replace")
    return status, "", ""


def _terms(keywords: tuple[str, ...]) -> list[str]:
    terms: dict[str, str] = {}
    for keyword in keywords:
        keyword = keyword.strip()
        if keyword:
            terms.setdefault(keyword.casefold(), keyword)
    return list(terms.values())


def _sort_at(view: Any) -> datetime | None:
    """The app view's ``sortAt``: the earlier of createdAt and indexedAt (no future-dating)."""
    if not isinstance(view, dict):
        return None
    record = view.get("record") if isinstance(view.get("record"), dict) else {}
    times = [t for t in (parse_time(record.get("createdAt")), parse_time(view.get("indexedAt"))) if t]
    return min(times) if times else None


def _latest(*values: str | None) -> str | None:
    present = [v for v in values if v]
    return max(present, key=lambda v: parse_time(v) or datetime.min.replace(tzinfo=timezone.utc)) if present else None


class BlueskyConnector(Connector):
    platform = "bluesky"
    query_streams = ("search",)
    account_streams = ("notifications",)

    page_limit = 50
    request_timeout = 30.0
    search_overlap = timedelta(minutes=2)
    rate_limit_fallback = timedelta(minutes=5)

    def __init__(self, account: AccountConfig):
        super().__init__(account)
        self._client: Client | None = None

    # --- session and errors --------------------------------------------------------------------

    def close(self) -> None:
        """Drop the session and its HTTP connection pool (the next call logs in again)."""
        if self._client is not None:
            client, self._client = self._client, None
            try:
                client.request.close()
            except Exception:  # noqa: BLE001 (closing a pool must not hide the real error)
                pass

    def _logged_in(self) -> Client:
        if self._client is None:
            credentials = self.account.credentials or {}
            handle = credentials.get("handle") or self.account.handle
            password = credentials.get("app_password")
            if not handle or not password:
                raise NeedsReconnect("Bluesky account without a handle and an app password")
            client = Client(base_url=self.account.base_url or None, request=Request(timeout=self.request_timeout))
            try:
                client.login(handle, password, fetch_bsky_profile=False)
            except (AtProtocolError, httpx.HTTPError) as exc:
                raise self._error(exc, login=True) from exc
            self._client = client
        return self._client

    def _query(self, nsid: str, params) -> dict:
        for attempt in (1, 2):
            client = self._logged_in()
            try:
                response = client.invoke_query(nsid, params=params, output_encoding="application/json")
            except (AtProtocolError, httpx.HTTPError) as exc:
                if attempt == 1 and _xrpc_error(exc)[1] in SESSION_ERRORS:
                    self.close()  # the session died (revoked, expired): log in once more
                    continue
                raise self._error(exc) from exc
            if not isinstance(response.content, dict):
                raise TransientError(f"Bluesky {nsid}: the answer is not JSON", status=response.status_code)
            return response.content
        raise AssertionError("unreachable")

    def _error(self, exc: BaseException, *, login: bool = False):
        status, name, message = _xrpc_error(exc)
        where = "login" if login else "request"
        text = f"Bluesky {where} failed: {status or ''} {name}: {message or exc}".replace("  ", " ")
        if isinstance(exc, RateLimitExceededError) or status == 429:
            return RateLimited(text, reset_at=self._reset_at(exc), status=429, body=message)
        if isinstance(exc, LoginRequiredError) or status == 401 or name in AUTH_ERRORS:
            return NeedsReconnect(text, status=status, body=message)
        if isinstance(exc, (NetworkError, httpx.TransportError)):
            return TransientError(text, status=status, body=message)
        if status is not None and status >= 500:
            return TransientError(text, status=status, body=message)
        return PermanentError(text, status=status, body=message)

    def _reset_at(self, exc: BaseException) -> datetime:
        now = datetime.now(timezone.utc)
        reset = getattr(exc, "reset_at", None) if isinstance(exc, RateLimitExceededError) else None
        if reset is None and isinstance(exc, RequestErrorBase) and exc.response is not None:
            try:
                reset = datetime.fromtimestamp(int(exc.response.headers.get("ratelimit-reset")), tz=timezone.utc)
            except (TypeError, ValueError, OverflowError):
                reset = None
        if reset is not None and reset > now:
            return reset
        retry_after = getattr(exc, "retry_after", None) if isinstance(exc, RateLimitExceededError) else None
        if retry_after is not None and math.isfinite(retry_after) and retry_after > 0:
            return now + timedelta(seconds=retry_after)
        return now + self.rate_limit_fallback

    def _page(self, payload: Any, cursor: dict, has_more: bool) -> Page:
        parsed = parse_payload(payload)
        return Page(mentions=parsed.mentions, quarantined=parsed.quarantined, cursor=cursor, has_more=has_more,
                    fetched_at=datetime.now(timezone.utc))

    # --- streams -------------------------------------------------------------------------------

    def publish_reply(self, target: ReplyTarget, text: str, *, idempotency_key: str) -> Published:
        """com.atproto.repo.createRecord of an app.bsky.feed.post whose ``reply`` names the parent
        (the stored post: uri + cid) and the thread's root (the parent's own root, else itself)."""
        raw = target.raw or {}
        uri, cid = raw.get("uri") or target.external_id, raw.get("cid") or target.version_id
        if not uri or not cid:
            raise PermanentError("Bluesky: the stored post has no uri and cid to reply to")
        root = ((raw.get("record") or {}).get("reply") or {}).get("root") or {}
        parent_ref = models.ComAtprotoRepoStrongRef.Main(uri=uri, cid=cid)
        root_ref = (models.ComAtprotoRepoStrongRef.Main(uri=root["uri"], cid=root["cid"])
                    if root.get("uri") and root.get("cid") else parent_ref)
        client = self._logged_in()
        try:
            session = getattr(client, "_session", None)  # login(fetch_bsky_profile=False) leaves client.me empty
            did = getattr(session, "did", None) or getattr(getattr(client, "me", None), "did", None)
            if not did:
                raise NeedsReconnect("Bluesky: no session to publish with")
            record = models.AppBskyFeedPost.Record(
                text=text, created_at=client.get_current_time_iso(),
                reply=models.AppBskyFeedPost.ReplyRef(parent=parent_ref, root=root_ref))
            created = client.com.atproto.repo.create_record(models.ComAtprotoRepoCreateRecord.Data(
                repo=did, collection="app.bsky.feed.post", record=record))
        except httpx.ReadTimeout as exc:
            raise OutcomeUnknown("Bluesky did not answer in time: the reply may be published; check before "
                                 "retrying") from exc
        except (AtProtocolError, httpx.HTTPError) as exc:
            raise self._error(exc) from exc
        handle = (self.account.credentials or {}).get("handle") or self.account.handle
        rkey = created.uri.rsplit("/", 1)[-1]
        return Published(created.uri, f"https://bsky.app/profile/{handle}/post/{rkey}" if handle else "")

    def fetch(self, request: StreamRequest, cursor: dict) -> Page:
        cursor = dict(cursor or {})
        if request.stream == "search":
            return self._search(request, cursor)
        if request.stream == "notifications":
            return self._notifications(request, cursor)
        raise PermanentError(f"Bluesky has no stream {request.stream!r}")

    def _search(self, request: StreamRequest, cursor: dict) -> Page:
        terms = _terms(request.query_keywords)
        if not terms:
            return Page(cursor=cursor, fetched_at=datetime.now(timezone.utc))
        states = cursor.get("terms") if isinstance(cursor.get("terms"), dict) else {}
        index = cursor.get("next", 0)
        index = index if isinstance(index, int) and 0 <= index < len(terms) else 0
        term = terms[index]
        state = dict(states.get(term.casefold()) or {})

        floor = state.get("since") or (iso_millis(request.since) if request.since else None)
        params = models.AppBskyFeedSearchPosts.Params(
            q=term, sort="latest", limit=self.page_limit, since=floor, cursor=state.get("cursor") or None)
        content = self._query("app.bsky.feed.searchPosts", params)
        posts = content.get("posts") if isinstance(content.get("posts"), list) else []
        next_cursor = content.get("cursor")
        seen = [iso_millis(t) for t in map(_sort_at, posts) if t]
        top = _latest(state.get("top"), *seen)
        if floor and next_cursor and posts:
            more, new_state = True, {"since": floor, "cursor": next_cursor, "top": top}
        else:
            more = False
            moved = iso_millis(parse_time(top) - self.search_overlap) if top else None
            new_floor = _latest(floor, moved)
            new_state = {"since": new_floor} if new_floor else {}

        kept = {t.casefold(): states[t.casefold()] for t in terms if t.casefold() in states}
        kept[term.casefold()] = new_state
        next_index = index if more else index + 1
        round_done = next_index >= len(terms)
        new_cursor = {"next": 0 if round_done else next_index, "terms": kept}
        return self._page({"posts": posts}, new_cursor, has_more=more or not round_done)

    def _notifications(self, request: StreamRequest, cursor: dict) -> Page:
        floor = cursor.get("floor") or (iso_millis(request.since) if request.since else None)
        floor_time = parse_time(floor)
        params = models.AppBskyNotificationListNotifications.Params(
            reasons=list(NOTIFICATION_REASONS), limit=self.page_limit, cursor=cursor.get("cursor") or None)
        content = self._query("app.bsky.notification.listNotifications", params)
        items = content.get("notifications") if isinstance(content.get("notifications"), list) else []
        next_cursor = content.get("cursor")

        def indexed(n) -> datetime | None:
            return parse_time(n.get("indexedAt")) if isinstance(n, dict) else None

        fresh = [n for n in items if floor_time is None or indexed(n) is None or indexed(n) > floor_time]
        top = _latest(cursor.get("top"), *[iso_millis(t) for t in map(indexed, items) if t])
        reached_floor = floor_time is not None and any(t is not None and t <= floor_time for t in map(indexed, items))
        if floor_time is not None and next_cursor and items and not reached_floor:
            new_cursor, more = {"floor": floor, "cursor": next_cursor, "top": top}, True
        else:
            new_floor = _latest(floor, top)
            new_cursor, more = ({"floor": new_floor} if new_floor else {}), False
        return self._page({"notifications": fresh}, new_cursor, has_more=more)
