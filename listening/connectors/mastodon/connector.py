"""Polling a Mastodon instance with Mastodon.py.

Streams:

* ``hashtag`` (query): ``/api/v1/timelines/tag/:tag`` for each hashtag of the query's keywords
  (those written ``#tag``; otherwise each single word or phrase of the keywords, as a tag).
* ``search`` (query): ``/api/v2/search?type=statuses`` with one keyword string per fetch.
* ``notifications`` (account): ``/api/v1/notifications?types[]=mention``.

Query streams rotate through their terms with the cursor: one term per ``fetch``; ``has_more``
stays True until every term of the round was polled (and while a term has more pages), so one
beat polls each term once and a backfill (``request.since``) is not marked done before every
term has caught up.

Paging, per term (cursor ``{"next": i, "terms": {term: state}}``) or for notifications:

* timelines and notifications: ``min_id`` = the newest id seen. Mastodon answers ``min_id`` with
  the page *immediately* newer than it, and its ``Link: rel="prev"`` carries the next
  ``min_id``, so following it walks forward without gaps; a full page means there is more.
* search (no Link header; filters ``id > min_id`` and sorts newest first): a full page is swept
  downwards with ``max_id`` under the same floor, then the floor moves to the newest id seen.
* First poll without cursor: the newest page only (no history), unless ``request.since`` is
  set: then from that time (a Mastodon status id is a timestamp << 16, so a time is an id).

``ratelimit_method="throw"``: Mastodon.py never sleeps in a worker; a 429 becomes
``RateLimited`` with the reset time of ``X-RateLimit-Reset`` (corrected by Mastodon.py for the
server's clock with the ``Date`` header).
"""

from __future__ import annotations

import re
import time
from datetime import datetime, timedelta, timezone
from typing import Any, Callable
from urllib.parse import urlsplit

import requests
from mastodon import Mastodon
from mastodon.errors import (
    MastodonAPIError,
    MastodonError,
    MastodonNetworkError,
    MastodonNotFoundError,
    MastodonRatelimitError,
    MastodonServerError,
    MastodonUnauthorizedError,
)

from ..base import (
    AccountConfig,
    Connector,
    NeedsReconnect,
    Page,
    PermanentError,
    Published,
    RateLimited,
    ReplyTarget,
    StreamRequest,
    TransientError,
)
from .parse import in_reply_to_id, newest_id, oldest_id, parse_payload, plain

USER_AGENT = "social-crm-listening (Mastodon.py)"


def snowflake_id(moment: datetime) -> str:
    """The smallest Mastodon status id of that time (ids are milliseconds << 16)."""
    return str(int(moment.timestamp() * 1000) << 16)


def hashtags(keywords: tuple[str, ...]) -> list[str]:
    """Tags to follow: the keywords written ``#tag`` if there are any; otherwise every keyword
    that is one word or a quoted phrase, as a tag (spaces and punctuation removed). Keywords of
    several unquoted words (an AND) are no hashtag and are left to the search stream."""
    explicit = [k.strip()[1:] for k in keywords if k.strip().startswith("#")]
    if explicit:
        candidates = explicit
    else:
        candidates = []
        for keyword in keywords:
            keyword = keyword.strip()
            if len(keyword) > 1 and keyword[0] == keyword[-1] == '"':
                candidates.append(keyword[1:-1])
            elif keyword and not re.search(r"\s", keyword):
                candidates.append(keyword.lstrip("@"))
    tags: dict[str, str] = {}
    for candidate in candidates:
        tag = re.sub(r"[^\w]", "", candidate)
        if tag and not tag.isdigit():
            tags.setdefault(tag.casefold(), tag)
    return list(tags.values())


def search_terms(keywords: tuple[str, ...]) -> list[str]:
    terms: dict[str, str] = {}
    for keyword in keywords:
        keyword = keyword.strip()
        if keyword:
            terms.setdefault(keyword.casefold(), keyword)
    return list(terms.values())


class MastodonConnector(Connector):
    platform = "mastodon"
    query_streams = ("hashtag", "search")
    account_streams = ("notifications",)

    page_limit = 40  # the maximum of timelines and search
    request_timeout = 30
    parent_lookups_per_page = 10  # GET /statuses/:id to turn in_reply_to_id into the parent's uri
    rate_limit_fallback = timedelta(minutes=5)  # Mastodon's window, if a 429 came without a reset

    def __init__(self, account: AccountConfig):
        super().__init__(account)
        self._api: Mastodon | None = None
        self._uri_of: dict[str, str | None] = {}  # local status id -> uri (None: gone)
        self._last_error_body: str = ""  # Mastodon.py does not always keep the error message

    # --- plumbing ------------------------------------------------------------------------------

    @property
    def instance_host(self) -> str:
        url = (self.account.base_url or "").strip()
        return urlsplit(url if "://" in url else f"https://{url}").netloc.lower() if url else ""

    @property
    def api(self) -> Mastodon:
        if self._api is None:
            if not self.account.base_url:
                raise PermanentError("Mastodon account without an instance URL (base_url)")
            session = requests.Session()
            session.hooks["response"].append(self._remember_error)
            self._api = Mastodon(
                session=session,
                access_token=(self.account.credentials or {}).get("access_token") or None,
                api_base_url=self.account.base_url,
                ratelimit_method="throw",
                request_timeout=self.request_timeout,
                # No version probe per poll: every endpoint used here exists since Mastodon 3.5,
                # and "created" mode makes Mastodon.py trust this instead of asking the server.
                mastodon_version="4.0.0",
                version_check_mode="created",
                user_agent=USER_AGENT,
            )
        return self._api

    def close(self) -> None:
        """Close the HTTP session (connection pool); the next call opens a new one."""
        if self._api is not None:
            api, self._api = self._api, None
            api.session.close()

    def _remember_error(self, response, *args, **kwargs):
        if response.status_code >= 400:
            try:
                data = response.json()
                message = data.get("error_description") or data.get("error") if isinstance(data, dict) else None
            except ValueError:
                message = None
            self._last_error_body = str(message or response.text[:200] or response.reason or "")
        return response

    def _call(self, method: Callable, *args, **kwargs):
        self._last_error_body = ""
        try:
            return method(*args, **kwargs)
        except MastodonError as exc:
            raise self._error(exc) from exc

    def _error(self, exc: MastodonError):
        if isinstance(exc, MastodonRatelimitError):
            return RateLimited(f"Mastodon rate limit: {exc}", reset_at=self._reset_at(), status=429)
        if isinstance(exc, MastodonNetworkError):
            return TransientError(f"Mastodon network error: {exc}")
        if isinstance(exc, MastodonAPIError):
            status = exc.args[1] if len(exc.args) > 1 and isinstance(exc.args[1], int) else None
            message = (exc.args[3] if len(exc.args) > 3 and exc.args[3] else None) or self._last_error_body or exc
            text = f"Mastodon {status}: {message}" if status else f"Mastodon: {message}"
            if isinstance(exc, MastodonUnauthorizedError) or status == 401:
                return NeedsReconnect(text, status=status, body=message)
            if status == 403 and "scope" in str(message).lower():
                return NeedsReconnect(text, status=status, body=message)
            if status == 429:
                return RateLimited(text, reset_at=self._reset_at(), status=429)
            if isinstance(exc, MastodonServerError) or (status is not None and status >= 500):
                return TransientError(text, status=status, body=message)
            if status is None:
                # Not an HTTP error: a body that is not JSON (a proxy's maintenance page).
                return TransientError(f"Mastodon: unreadable response: {exc}")
            return PermanentError(text, status=status, body=message)
        return PermanentError(f"Mastodon: {type(exc).__name__}: {exc}")

    def _reset_at(self) -> datetime:
        reset = self._api.ratelimit_reset if self._api is not None else None
        if reset is not None and reset > time.time():
            return datetime.fromtimestamp(reset, tz=timezone.utc)
        return datetime.now(timezone.utc) + self.rate_limit_fallback

    def _page(self, raw_items: list[Any], cursor: dict, has_more: bool) -> Page:
        parsed = parse_payload(raw_items, instance_host=self.instance_host)
        self._resolve_parents(parsed.mentions)
        return Page(mentions=parsed.mentions, quarantined=parsed.quarantined, cursor=cursor,
                    has_more=has_more, fetched_at=datetime.now(timezone.utc))

    def _resolve_parents(self, mentions) -> None:
        """Parents outside the page: their uri by a lookup of the local id, a few per page.
        A parent that is gone (404) or any error leaves the reply without a parent; a rate
        limit stops the lookups (the page itself is fine and is kept)."""
        budget = self.parent_lookups_per_page
        for mention in mentions:
            if mention.parent_external_id or mention.is_repost:
                continue
            local_id = in_reply_to_id(mention)
            if not local_id:
                continue
            if local_id not in self._uri_of:
                if budget <= 0:
                    continue
                budget -= 1
                try:
                    parent = self.api.status(local_id)
                except MastodonNotFoundError:
                    self._uri_of[local_id] = None  # deleted, or never visible to us
                    continue
                except MastodonRatelimitError:
                    budget = 0
                    continue
                except MastodonError:
                    continue
                self._uri_of[local_id] = plain(parent).get("uri") or None
            mention.parent_external_id = self._uri_of.get(local_id) or ""

    # --- streams -------------------------------------------------------------------------------

    def publish_reply(self, target: ReplyTarget, text: str, *, idempotency_key: str) -> Published:
        """POST /api/v1/statuses with ``in_reply_to_id``: the status id *on our instance* (the raw
        status was read through it), the author's @acct first so they are notified, the original's
        visibility kept when it is narrower than public, and an ``Idempotency-Key`` so a retried
        request is not published twice (Mastodon keeps keys for an hour)."""
        raw = target.raw or {}
        status_id = str(raw.get("id") or "")
        if not status_id:
            raise PermanentError("Mastodon: the stored post has no status id on this instance to reply to")
        acct = str((raw.get("account") or {}).get("acct") or target.author_handle or "").lstrip("@")
        if acct and f"@{acct}".lower() not in text.lower():
            text = f"@{acct} {text}"
        visibility = raw.get("visibility") if raw.get("visibility") in ("unlisted", "private", "direct") else "public"
        status = self._call(self.api.status_post, text, in_reply_to_id=status_id, visibility=visibility,
                            idempotency_key=idempotency_key)
        return Published(str(status["id"]), str(status.get("url") or status.get("uri") or ""))

    def fetch(self, request: StreamRequest, cursor: dict) -> Page:
        cursor = dict(cursor or {})
        if request.stream == "notifications":
            return self._notifications(request, cursor)
        if request.stream == "hashtag":
            return self._rotate(request, cursor, hashtags(request.query_keywords), self._hashtag_page)
        if request.stream == "search":
            return self._rotate(request, cursor, search_terms(request.query_keywords), self._search_page)
        raise PermanentError(f"Mastodon has no stream {request.stream!r}")

    def _rotate(self, request: StreamRequest, cursor: dict, terms: list[str], fetch_term) -> Page:
        if not terms:
            return Page(cursor=cursor, fetched_at=datetime.now(timezone.utc))
        states = cursor.get("terms") if isinstance(cursor.get("terms"), dict) else {}
        index = cursor.get("next", 0)
        index = index if isinstance(index, int) and 0 <= index < len(terms) else 0
        term = terms[index]
        items, state, more = fetch_term(term, dict(states.get(term.casefold()) or {}), request.since)
        kept = {t.casefold(): states[t.casefold()] for t in terms if t.casefold() in states}
        kept[term.casefold()] = state
        next_index = index if more else index + 1
        round_done = next_index >= len(terms)
        new_cursor = {"next": 0 if round_done else next_index, "terms": kept}
        return self._page(items, new_cursor, has_more=more or not round_done)

    def _hashtag_page(self, tag: str, state: dict, since: datetime | None):
        floor = state.get("min_id") or (snowflake_id(since) if since else None)
        kwargs: dict[str, Any] = {"limit": self.page_limit}
        if floor:
            kwargs["min_id"] = floor
        page = self._call(self.api.timeline_hashtag, tag, **kwargs)
        items = plain(list(page or []))
        newest = self._prev_min_id(page) or newest_id(s.get("id") for s in items if isinstance(s, dict))
        new_state = {"min_id": str(newest or floor or "")} if (newest or floor) else {}
        more = bool(floor) and len(items) >= self.page_limit
        return items, new_state, more

    def _search_page(self, term: str, state: dict, since: datetime | None):
        floor = state.get("min_id") or (snowflake_id(since) if since else None)
        kwargs: dict[str, Any] = {"result_type": "statuses", "resolve": False, "limit": self.page_limit}
        if floor:
            kwargs["min_id"] = floor
        if state.get("max_id"):
            kwargs["max_id"] = state["max_id"]
        result = plain(self._call(self.api.search_v2, term, **kwargs))
        items = [s for s in (result.get("statuses") or [])] if isinstance(result, dict) else []
        ids = [s.get("id") for s in items if isinstance(s, dict)]
        top = newest_id([state.get("top"), *ids])
        if floor and len(items) >= self.page_limit:
            # More between the floor and this page: sweep down under the same floor.
            return items, {"min_id": floor, "max_id": oldest_id(ids), "top": top}, True
        new_floor = newest_id([floor, top])
        return items, ({"min_id": new_floor} if new_floor else {}), False

    def _notifications(self, request: StreamRequest, cursor: dict) -> Page:
        floor = cursor.get("min_id")
        kwargs: dict[str, Any] = {"types": ["mention"], "limit": self.page_limit}
        if floor:
            kwargs["min_id"] = floor
        page = self._call(self.api.notifications, **kwargs)
        items = plain(list(page or []))
        newest = self._prev_min_id(page) or newest_id(n.get("id") for n in items if isinstance(n, dict))
        new_cursor = dict(cursor)
        if newest or floor:
            new_cursor["min_id"] = str(newest or floor)
        more = bool(floor) and len(items) >= self.page_limit
        return self._page(items, new_cursor, has_more=more)

    def _prev_min_id(self, page) -> str | None:
        """The ``min_id`` of the ``Link: <...>; rel="prev"`` header (the newer page)."""
        info = self.api.get_pagination_info(page, "previous") if page else None
        if info and info.get("min_id") not in (None, ""):
            return str(info["min_id"])
        if info and info.get("since_id") not in (None, ""):
            return str(info["since_id"])
        return None
