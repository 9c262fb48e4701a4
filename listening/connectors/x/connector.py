"""``XConnector``: polls X API v2 recent search (listening queries) and an account's mentions
through tweepy's v2 ``Client``, one page per ``fetch``, and maps X's failures onto the
connector errors.

The cursor (saved by the caller with the rows of the page) looks like this:

* between runs: ``{"since_id": "<newest post id stored>"}`` (``{}`` before the first post);
* while paging back through one result set: ``{"since_id": ..., "next_token": ...,
  "run_newest_id": ..., "start_time": ...}`` - the request parameters stay exactly those of
  the run's first page (X ties a ``next_token`` to them), and ``since_id`` only moves to the
  newest id of the run once the last page is in, so a crash mid-run never skips older pages.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import requests
import tweepy

from listening.connectors.base import (
    OutcomeUnknown,
    Published,
    ReplyTarget,
    AccountConfig,
    Connector,
    ConnectorError,
    NeedsReconnect,
    Page,
    PermanentError,
    RateLimited,
    StreamRequest,
    TransientError,
)
from listening.connectors.x.parse import id_key, parse_payload

SEARCH = "search"
MENTIONS = "mentions"

PAGE_SIZE = 100  # the maximum of both endpoints: fewer requests against the rate limit
EXPANSIONS = ["author_id", "referenced_tweets.id", "referenced_tweets.id.author_id", "edit_history_tweet_ids"]
TWEET_FIELDS = [
    "created_at", "lang", "public_metrics", "conversation_id", "referenced_tweets", "edit_history_tweet_ids",
    "note_tweet", "entities", "author_id", "in_reply_to_user_id",
]
USER_FIELDS = ["username", "name", "public_metrics", "verified", "verified_type", "profile_image_url", "url"]

# Recent search only reaches back 7 days and answers 400 to an older start_time or since_id.
# The margin covers clock skew and the time until X receives the request.
SEARCH_WINDOW = timedelta(days=7)
WINDOW_MARGIN = timedelta(minutes=10)
# X refuses a start_time less than 10 seconds before the request.
MIN_START_TIME_AGE = timedelta(seconds=10)
# X's rate-limit windows are 15 minutes: the wait when a 429 carries no reset header.
DEFAULT_RATE_LIMIT_WAIT = timedelta(minutes=15)
# Never reschedule sooner than this after a 429, even if the reset header is already past
# (clock skew): an immediate retry would just earn another 429.
MIN_RATE_LIMIT_WAIT = timedelta(seconds=5)
# (connect, read) seconds. tweepy sets no timeout at all, so a stalled connection would hang
# the worker for ever.
TIMEOUT = (5, 30)

TWITTER_EPOCH_MS = 1288834974657  # snowflake ids: (id >> 22) + this = creation time in ms


def snowflake_time(post_id: str) -> datetime:
    """When the post with this (snowflake) id was created."""
    return datetime.fromtimestamp(((int(post_id) >> 22) + TWITTER_EPOCH_MS) / 1000, tz=timezone.utc)


class TimeoutSession(requests.Session):
    """A requests session that applies ``timeout`` to every request that sets none."""

    def __init__(self, timeout: float | tuple[float, float] = TIMEOUT):
        super().__init__()
        self.timeout = timeout

    def request(self, method, url, **kwargs):
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout
        return super().request(method, url, **kwargs)


def _body(response: requests.Response | None) -> Any:
    if response is None:
        return None
    try:
        return response.json()
    except ValueError:
        return response.text[:2000]


def _reset_at(headers, now: datetime) -> datetime:
    """When to call again after a 429: the latest reset among the exhausted limits (the
    15-minute window, or X's 24-hour app/user caps), else the window reset, else 15 minutes."""
    exhausted, window = [], None
    for prefix in ("x-rate-limit", "x-app-limit-24hour", "x-user-limit-24hour"):
        reset = str(headers.get(f"{prefix}-reset", ""))
        if not reset.isdigit():
            continue
        if prefix == "x-rate-limit":
            window = int(reset)
        if str(headers.get(f"{prefix}-remaining", "")) == "0":
            exhausted.append(int(reset))
    if exhausted:
        reset_at = datetime.fromtimestamp(max(exhausted), tz=timezone.utc)
    elif window is not None:
        reset_at = datetime.fromtimestamp(window, tz=timezone.utc)
    else:
        reset_at = now + DEFAULT_RATE_LIMIT_WAIT
    return max(reset_at, now + MIN_RATE_LIMIT_WAIT)


def map_error(exc: Exception, now: datetime) -> ConnectorError:
    """The connector error for an exception raised by tweepy or requests, keeping the HTTP
    status and X's body: 429 -> RateLimited, 401 -> NeedsReconnect, other 4xx (403: access
    level too low, suspended app...) -> PermanentError, 5xx and network failures -> TransientError."""
    if isinstance(exc, tweepy.HTTPException):
        response = exc.response
        status = getattr(response, "status_code", None)
        body = _body(response)
        message = f"X API: {exc}"  # tweepy's text carries X's status, codes and detail
        if isinstance(exc, tweepy.TooManyRequests) or status == 429:
            return RateLimited(message, reset_at=_reset_at(response.headers, now), status=status, body=body)
        if isinstance(exc, tweepy.Unauthorized) or status == 401:
            return NeedsReconnect(message, status=status, body=body)
        if isinstance(exc, tweepy.TwitterServerError) or (status or 0) >= 500 or status == 408:
            return TransientError(message, status=status, body=body)
        return PermanentError(message, status=status, body=body)
    if isinstance(exc, requests.RequestException):
        # Timeouts, refused or reset connections, truncated bodies: the same call may work later.
        return TransientError(f"X API unreachable: {exc!r}")
    return PermanentError(f"X API client error: {exc!r}")


def _rejected_parameters(error: ConnectorError) -> set[str]:
    """The request parameters a 400 names (``errors[].parameters``), e.g. a stale since_id."""
    if error.status != 400 or not isinstance(error.body, dict):
        return set()
    names: set[str] = set()
    for item in error.body.get("errors") or []:
        if isinstance(item, dict) and isinstance(item.get("parameters"), dict):
            names.update(item["parameters"])
    return names


class XConnector(Connector):
    """X (Twitter) API v2 through tweepy, with the tenant's own keys.

    ``credentials``: ``bearer_token`` (app-only auth, used for search) and optionally
    ``consumer_key``/``consumer_secret``/``access_token``/``access_token_secret`` (user
    context, preferred for the account's mentions).
    """

    platform = "x"
    query_streams = (SEARCH,)
    account_streams = (MENTIONS,)

    def __init__(self, account: AccountConfig, *, clock: Callable[[], datetime] | None = None):
        super().__init__(account)
        self.clock = clock or (lambda: datetime.now(timezone.utc))
        credentials = account.credentials or {}
        self.has_app_auth = bool(credentials.get("bearer_token"))
        self.has_user_auth = all(
            credentials.get(key) for key in ("consumer_key", "consumer_secret", "access_token", "access_token_secret")
        )
        self.session = TimeoutSession()
        self.client = tweepy.Client(
            bearer_token=credentials.get("bearer_token") or None,
            consumer_key=credentials.get("consumer_key") or None,
            consumer_secret=credentials.get("consumer_secret") or None,
            access_token=credentials.get("access_token") or None,
            access_token_secret=credentials.get("access_token_secret") or None,
            # The raw response: we need X's JSON as sent and the rate-limit headers.
            return_type=requests.Response,
            # Never sleep in a worker: a 429 raises RateLimited and the task is rescheduled.
            wait_on_rate_limit=False,
        )
        # Every request tweepy makes goes through client.session: ours adds the timeouts.
        self.client.session = self.session

    # --- public -------------------------------------------------------------------------------

    def fetch(self, request: StreamRequest, cursor: dict) -> Page:
        """Fetch the next page of ``request.stream`` ("search" for a query, "mentions" for the
        account) after ``cursor``; the returned ``Page.cursor`` is where the next call starts.
        Raises RateLimited, NeedsReconnect, PermanentError or TransientError."""
        if request.stream not in (SEARCH, MENTIONS):
            raise PermanentError(f"X has no stream {request.stream!r}")
        cursor = dict(cursor or {})
        now = self.clock()
        if request.stream == MENTIONS and not self.account.external_id:
            # A search-only channel (a tenant's API key, no X account of its own): there are no
            # mentions to read. An error here would mark the whole channel broken and stop its
            # searches too, so this stream is simply empty.
            return Page(cursor=cursor, fetched_at=now)
        run = cursor if cursor.get("next_token") else self._new_run(request, cursor, now)
        try:
            response = self._get(request, run, now)
        except ConnectorError as error:
            run = self._recover(request, run, error, now)
            if run is None:
                raise
            response = self._get(request, run, now)
        try:
            payload = response.json()
        except ValueError as exc:  # a 200 with a cut-off body: the same call may work later
            raise TransientError("X API answered 200 with unreadable JSON", status=response.status_code,
                                 body=response.text[:2000]) from exc

        result = parse_payload(payload)
        cursor_out, has_more = self._next_cursor(cursor, run, payload)
        return Page(
            mentions=result.mentions,
            quarantined=result.quarantined,
            cursor=cursor_out,
            has_more=has_more,
            fetched_at=now,
        )

    # --- cursor -------------------------------------------------------------------------------

    def _new_run(self, request: StreamRequest, cursor: dict, now: datetime) -> dict:
        """The parameters of a run's first page: since_id, or start_time for a backfill."""
        run: dict = {}
        since_id = str(cursor.get("since_id") or "")
        if id_key(since_id) < 0:  # not an X id (a hand-edited cursor): poll as if new
            since_id = ""
        if since_id and request.stream == SEARCH and snowflake_time(since_id) < self._window_start(now):
            # Older than recent search reaches (the channel was down for a week): X would
            # answer 400 for ever. Take the whole window instead; what is older is gone.
            run["start_time"] = self._window_start(now).isoformat()
        elif since_id:
            run["since_id"] = since_id
        elif request.since is not None:
            start = request.since.astimezone(timezone.utc)
            if request.stream == SEARCH:
                start = max(start, self._window_start(now))
            if start <= now - MIN_START_TIME_AGE:
                run["start_time"] = start.isoformat()
        return run

    def _recover(self, request: StreamRequest, run: dict, error: ConnectorError, now: datetime) -> dict | None:
        """A corrected run after a 400 that names a parameter we can do without, else None.

        A since_id X calls too old restarts the run on a start_time; a next_token X no longer
        accepts restarts the run from the newest page with the same since_id (pages already
        stored come again and are deduplicated on external_id; nothing is skipped).
        """
        rejected = _rejected_parameters(error)
        if "since_id" in rejected and run.get("since_id"):
            fixed = {key: value for key, value in run.items() if key not in ("since_id", "next_token")}
            if request.stream == SEARCH:
                fixed["start_time"] = self._window_start(now).isoformat()
            return fixed
        if rejected & {"next_token", "pagination_token"} and run.get("next_token"):
            return {key: value for key, value in run.items() if key != "next_token"}
        if "start_time" in rejected and run.get("start_time"):
            return {key: value for key, value in run.items() if key not in ("start_time", "next_token")}
        return None

    @staticmethod
    def _window_start(now: datetime) -> datetime:
        return (now - SEARCH_WINDOW + WINDOW_MARGIN).replace(microsecond=0)

    @staticmethod
    def _next_cursor(cursor: dict, run: dict, payload: Any) -> tuple[dict, bool]:
        meta = payload.get("meta") if isinstance(payload, dict) and isinstance(payload.get("meta"), dict) else {}
        data = payload.get("data") if isinstance(payload, dict) else None
        ids = [meta.get("newest_id"), run.get("run_newest_id")]
        if isinstance(data, list):
            ids += [post.get("id") for post in data if isinstance(post, dict)]
        ids = [str(i) for i in ids if i is not None and id_key(str(i)) >= 0]
        run_newest = max(ids, key=id_key) if ids else ""

        next_token = meta.get("next_token")
        if next_token:
            paging = {key: run[key] for key in ("since_id", "start_time") if run.get(key)}
            paging["next_token"] = next_token
            if run_newest:
                paging["run_newest_id"] = run_newest
            return paging, True
        # The last page of the run: from now on only what is newer than the newest seen.
        since_id = run_newest or run.get("since_id") or cursor.get("since_id")
        return ({"since_id": since_id} if since_id else {}), False

    def publish_reply(self, target: ReplyTarget, text: str, *, idempotency_key: str) -> Published:
        """POST /2/tweets with ``reply.in_reply_to_tweet_id`` (the newest version of the post),
        signed with the account's user keys: X publishes replies only in user context."""
        if not self.has_user_auth:
            raise NeedsReconnect("replying on X needs the account's user access keys (consumer key and secret, "
                                 "access token and secret)")
        now = self.clock()
        try:
            response = self.client.create_tweet(text=text, in_reply_to_tweet_id=target.version_id or target.external_id,
                                                user_auth=True)
        except requests.ReadTimeout as exc:
            raise OutcomeUnknown(f"X did not answer in time ({exc.__class__.__name__}): the reply may be published; "
                                 "check the post before retrying") from exc
        except (tweepy.TweepyException, requests.RequestException) as exc:
            raise map_error(exc, now) from exc
        body = _body(response)
        post_id = str(((body or {}).get("data") or {}).get("id") or "") if isinstance(body, dict) else ""
        if not post_id:
            raise OutcomeUnknown(f"X answered {response.status_code} without the reply's id: check before retrying")
        handle = (self.account.handle or "").lstrip("@") or "i"
        return Published(post_id, f"https://x.com/{handle}/status/{post_id}")

    # --- HTTP ---------------------------------------------------------------------------------

    def _get(self, request: StreamRequest, run: dict, now: datetime) -> requests.Response:
        params: dict[str, Any] = {
            "max_results": PAGE_SIZE,
            "expansions": EXPANSIONS,
            "tweet_fields": TWEET_FIELDS,
            "user_fields": USER_FIELDS,
        }
        if run.get("since_id"):
            params["since_id"] = run["since_id"]
        if run.get("start_time"):
            params["start_time"] = datetime.fromisoformat(run["start_time"])
        try:
            if request.stream == SEARCH:
                if not request.query_expression:
                    raise PermanentError("an X search needs a query expression")
                if run.get("next_token"):
                    params["next_token"] = run["next_token"]
                return self.client.search_recent_tweets(
                    query=request.query_expression, user_auth=self._user_auth(prefer_user=False), **params
                )
            if run.get("next_token"):
                params["pagination_token"] = run["next_token"]  # the mentions timeline's name for it
            return self.client.get_users_mentions(
                id=self.account.external_id, user_auth=self._user_auth(prefer_user=True), **params
            )
        except (tweepy.TweepyException, requests.RequestException) as exc:
            raise map_error(exc, now) from exc

    def _user_auth(self, *, prefer_user: bool) -> bool:
        """Whether to sign with the user's OAuth 1.0a keys rather than the app bearer token."""
        if not self.has_app_auth and not self.has_user_auth:
            raise NeedsReconnect("no X credentials: a bearer token or user access keys are needed")
        if prefer_user:
            return self.has_user_auth
        return not self.has_app_auth
