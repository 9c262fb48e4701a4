"""A small Graph API client on ``requests``: GET, cursor/time paging, ``appsecret_proof``,
timeouts, and the mapping of Graph ``error`` objects onto our connector errors.

Why our own and not an SDK: ``facebook-sdk`` stopped at Graph API 3.1 (2018) and refuses
current versions; ``facebook-business`` is the Marketing API SDK, far more than reading a Page
feed needs. Reading a feed is a handful of GETs, so this module is the whole dependency.

Error mapping (https://developers.facebook.com/docs/graph-api/guides/error-handling):

- code 190, 102, or an auth subcode (458 app not installed, 459 checkpoint, 460 password changed,
  463 expired, 464 unconfirmed user, 467 invalid token) -> ``NeedsReconnect``;
- 4, 17, 32, 341, 613 and 80001-80014 (business-use-case throttling) or HTTP 429 ->
  ``RateLimited``; ``reset_at`` comes from ``estimated_time_to_regain_access`` (minutes) in the
  ``X-Business-Use-Case-Usage`` / ``X-App-Usage`` / ``X-Page-Usage`` headers, else now + 15 min;
- 1, 2, an error flagged ``is_transient``, any HTTP 5xx, timeouts and connection errors ->
  ``TransientError``;
- anything else (100 invalid parameter, 10 and 200-299 permissions, 368 policy block...) ->
  ``PermanentError``.

Every exception keeps the HTTP ``status`` and the parsed ``body``. The access token and the proof
never appear in an exception message (requests puts the URL in its own messages; we redact it).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

import requests
from django.conf import settings

from ..base import NeedsReconnect, OutcomeUnknown, PermanentError, RateLimited, TransientError

GRAPH_URL = "https://graph.facebook.com"
DEFAULT_TIMEOUT = (5.0, 30.0)  # (connect, read) seconds
DEFAULT_RATE_LIMIT_WAIT = timedelta(minutes=15)
MAX_PAGES = 100  # paginate() safety net against a paging loop

RECONNECT_CODES = frozenset({102, 190})
RECONNECT_SUBCODES = frozenset({458, 459, 460, 463, 464, 467})
RATE_LIMIT_CODES = frozenset({4, 17, 32, 341, 613} | set(range(80001, 80015)))
TRANSIENT_CODES = frozenset({1, 2})
USAGE_HEADERS = ("X-Business-Use-Case-Usage", "X-App-Usage", "X-Page-Usage", "X-Ad-Account-Usage")

_SECRET_PARAMS = re.compile(r"((?:access_token|appsecret_proof)=)[^&\s'\"]+")


def redact(text: str) -> str:
    """Hide tokens and proofs in a URL or a message."""
    return _SECRET_PARAMS.sub(r"\1***", text)


def appsecret_proof(access_token: str, app_secret: str) -> str:
    """HMAC-SHA256 of the access token keyed with the app secret, hex (Graph's ``appsecret_proof``)."""
    return hmac.new(app_secret.encode(), access_token.encode(), hashlib.sha256).hexdigest()


class GraphClient:
    def __init__(self, access_token: str, version: str | None = None, session: requests.Session | None = None, *,
                 app_secret: str | None = None, timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
                 base_url: str = GRAPH_URL):
        if not access_token:
            raise NeedsReconnect("no Facebook access token stored for this account")
        self.access_token = access_token
        self.version = (version or settings.FACEBOOK_GRAPH_VERSION).strip("/")
        self.session = session or requests.Session()
        secret = settings.FACEBOOK_APP_SECRET if app_secret is None else app_secret
        self.proof = appsecret_proof(access_token, secret) if secret else ""
        self.timeout = timeout
        self.base_url = base_url.rstrip("/")
        self._scheme, self._host = urlsplit(self.base_url)[:2]

    # --- requests ---------------------------------------------------------------------------

    def url(self, path: str) -> str:
        return f"{self.base_url}/{self.version}/{path.lstrip('/')}"

    def get(self, path: str, params: dict | None = None) -> dict:
        """GET ``/{version}/{path}`` (or an absolute Graph URL, e.g. ``paging.next``) and return
        the JSON object. Raises a ConnectorError subclass on any failure."""
        if path.startswith(("https://", "http://")):
            url, query = self._own_url(path)
            query.update(params or {})
        else:
            url, query = self.url(path), dict(params or {})
        query["access_token"] = self.access_token
        if self.proof:
            query["appsecret_proof"] = self.proof
        return self._send(url, query)

    def post(self, path: str, data: dict) -> dict:
        """POST form ``data`` to ``/{version}/{path}`` (a write: a comment reply) and return the JSON
        object. A read timeout raises OutcomeUnknown: the write may have happened, never resend it blindly."""
        data = dict(data, access_token=self.access_token)
        if self.proof:
            data["appsecret_proof"] = self.proof
        return self._send(self.url(path), data, method="post")

    def paginate(self, first_response: dict, *, max_pages: int = MAX_PAGES) -> Iterator[dict]:
        """Yield ``first_response`` and every following page (``paging.next``) until the last one.
        Stops after ``max_pages`` pages or when Graph hands back a link it already gave."""
        page, seen = first_response, set()
        for _ in range(max_pages):
            yield page
            next_url = next_page_url(page)
            if not next_url or next_url in seen:
                return
            seen.add(next_url)
            page = self.get(next_url)

    def _own_url(self, url: str) -> tuple[str, dict]:
        """Split a Graph paging URL into base URL and query; refuse any other host so a token is
        never sent elsewhere."""
        parts = urlsplit(url)
        if (parts.scheme, parts.netloc) != (self._scheme, self._host):
            raise PermanentError(f"refusing to follow a paging link off the Graph API host: {redact(url)}")
        query = {k: v for k, v in parse_qsl(parts.query, keep_blank_values=True)
                 if k not in ("access_token", "appsecret_proof")}
        return urlunsplit((parts.scheme, parts.netloc, parts.path, "", "")), query

    def _send(self, url: str, params: dict, *, method: str = "get") -> dict:
        try:
            if method == "post":
                response = self.session.post(url, data=params, timeout=self.timeout)
            else:
                response = self.session.get(url, params=params, timeout=self.timeout)
        except requests.ReadTimeout as exc:
            if method == "post":
                raise OutcomeUnknown("Graph API did not answer the write in time: it may have happened; "
                                     "check before retrying") from None
            raise TransientError(f"Graph API timed out: {type(exc).__name__}") from None
        except requests.Timeout as exc:
            raise TransientError(f"Graph API timed out: {type(exc).__name__}") from None
        except requests.ConnectionError as exc:
            raise TransientError(f"Graph API unreachable: {type(exc).__name__}: {redact(str(exc))[:300]}") from None
        except requests.RequestException as exc:
            raise TransientError(f"Graph API request failed: {type(exc).__name__}: {redact(str(exc))[:300]}") from None
        return parse_response(response)


# --- responses and errors ------------------------------------------------------------------------


def parse_response(response: requests.Response) -> dict:
    status = response.status_code
    try:
        body: Any = response.json()
    except ValueError:
        body = response.text[:2000] if response.text else None
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        raise error_from_graph(error, status=status, body=body, headers=response.headers)
    if status == 429:
        raise RateLimited("Graph API HTTP 429", reset_at=reset_at_from_headers(response.headers),
                          status=status, body=body)
    if status >= 500:
        raise TransientError(f"Graph API HTTP {status}", status=status, body=body)
    if status >= 400:
        raise PermanentError(f"Graph API HTTP {status}", status=status, body=body)
    if not isinstance(body, dict):
        # A 2xx that is not a JSON object: a proxy page or a truncated body. Try again later.
        raise TransientError(f"Graph API HTTP {status} without a JSON object", status=status, body=body)
    return body


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def error_from_graph(error: dict, *, status: int | None, body: Any, headers=None):
    """The ConnectorError for a Graph ``error`` object (see the module docstring)."""
    code, subcode = _int(error.get("code")), _int(error.get("error_subcode"))
    text = f"Graph error {code}" + (f"/{subcode}" if subcode else "")
    if error.get("type"):
        text += f" ({error['type']})"
    if error.get("message"):
        text += f": {redact(str(error['message']))[:500]}"
    if code in RECONNECT_CODES or subcode in RECONNECT_SUBCODES:
        return NeedsReconnect(text, status=status, body=body)
    if code in RATE_LIMIT_CODES or status == 429:
        return RateLimited(text, reset_at=reset_at_from_headers(headers or {}), status=status, body=body)
    if code in TRANSIENT_CODES or error.get("is_transient") is True or (status or 0) >= 500:
        return TransientError(text, status=status, body=body)
    return PermanentError(text, status=status, body=body)


def _regain_minutes(value: Any) -> list[float]:
    """Every ``estimated_time_to_regain_access`` in a usage header value (any nesting)."""
    found: list[float] = []
    if isinstance(value, dict):
        for key, inner in value.items():
            if key == "estimated_time_to_regain_access":
                try:
                    found.append(float(inner))
                except (TypeError, ValueError):
                    pass
            else:
                found.extend(_regain_minutes(inner))
    elif isinstance(value, list):
        for inner in value:
            found.extend(_regain_minutes(inner))
    return found


def reset_at_from_headers(headers, *, now: datetime | None = None) -> datetime:
    """When to call again: the longest ``estimated_time_to_regain_access`` (minutes) in Graph's
    usage headers, else ``Retry-After`` (seconds), else now + 15 minutes."""
    now = now or datetime.now(timezone.utc)
    minutes: list[float] = []
    for name in USAGE_HEADERS:
        raw = headers.get(name) if headers is not None else None
        if not raw:
            continue
        try:
            minutes.extend(_regain_minutes(json.loads(raw)))
        except ValueError:
            continue
    wait = max(minutes, default=0.0)
    if wait > 0:
        return now + timedelta(minutes=wait)
    retry_after = _int(headers.get("Retry-After")) if headers is not None else None
    if retry_after and retry_after > 0:
        return now + timedelta(seconds=retry_after)
    return now + DEFAULT_RATE_LIMIT_WAIT


def next_page_url(page: dict) -> str | None:
    paging = page.get("paging") if isinstance(page, dict) else None
    nxt = paging.get("next") if isinstance(paging, dict) else None
    return nxt if isinstance(nxt, str) and nxt else None


# Query parameters of a ``paging.next`` link that say where the next page starts; they are safe to
# store in a poll cursor (no token). Graph uses cursors (``after``) on most edges and time paging
# (``until`` + ``__paging_token``) on some feeds.
PAGING_PARAMS = ("after", "until", "__paging_token")


def paging_params(next_url: str) -> dict:
    query = dict(parse_qsl(urlsplit(next_url).query, keep_blank_values=True))
    return {k: query[k] for k in PAGING_PARAMS if query.get(k)}
