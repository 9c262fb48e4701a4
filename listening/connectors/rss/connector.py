"""Polling one RSS/Atom feed (``account.base_url``) with requests + feedparser.

One stream, ``feed``; listening queries are applied locally by the pipeline. Each poll is a
conditional GET (``If-None-Match`` / ``If-Modified-Since`` from the ETag / Last-Modified kept
in the cursor): ``304 Not Modified`` is an empty page. A feed always lists its latest entries,
so the cursor also keeps a small fingerprint per entry of the last document (``seen``): only
new or changed entries are handed to ingest, and a malformed entry is quarantined once, not at
every poll. The body is given to feedparser as a stream (feedparser would take a short byte
string for a local file name and read that file), capped at ``max_bytes``.

Errors: timeouts, connection errors and 5xx -> ``TransientError``; 429 -> ``RateLimited`` at
``Retry-After`` (seconds or an HTTP date); other 4xx, a bad URL, too many redirects, a body too
large, or a body that is no feed at all -> ``PermanentError``. A "bozo" feed (not well-formed
XML) that feedparser could still read yields its entries.
"""

from __future__ import annotations

import hashlib
import io
import ipaddress
import json
import socket
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

import feedparser
import requests

from ..base import Connector, Page, PermanentError, Quarantined, RateLimited, StreamRequest, TransientError
from .parse import feed_context, parse_entries

USER_AGENT = "social-crm-listening/1.0 (RSS/Atom reader; feedparser)"
ACCEPT = ("application/rss+xml, application/atom+xml, application/feed+json;q=0.9, "
          "application/xml;q=0.8, text/xml;q=0.8, */*;q=0.5")


def _fingerprint(*parts) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:12]


MAX_REDIRECTS = 5


def refuse_private_address(url: str) -> None:
    """A feed URL is typed by a tenant: never let it make our server fetch its own network
    (loopback, private ranges, link-local cloud metadata...). Names are resolved and every
    address checked; FEED_ALLOW_PRIVATE_HOSTS=true lifts this for on-premises intranet feeds.
    An unresolvable name is left to the request, which then fails as unreachable (transient)."""
    from django.conf import settings

    if getattr(settings, "FEED_ALLOW_PRIVATE_HOSTS", False):
        return
    host = urlsplit(url).hostname
    if not host:
        raise PermanentError(f"Feed URL {url!r} has no host")
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except (socket.gaierror, UnicodeError):
        return
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%")[0])
        if not ip.is_global or ip.is_multicast:
            raise PermanentError(f"Feed {url} points at a non-public address ({ip}): refused")


def retry_after(value: str | None, now: datetime) -> datetime | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return now + timedelta(seconds=int(value))
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    moment = moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
    return moment if moment > now else None


class RssConnector(Connector):
    platform = "rss"
    query_streams = ()
    account_streams = ("feed",)

    timeout = (10, 30)  # connect, read (seconds)
    max_bytes = 10 * 1024 * 1024
    max_seen = 2000
    rate_limit_fallback = timedelta(minutes=30)

    def fetch(self, request: StreamRequest, cursor: dict) -> Page:
        if request.stream != "feed":
            raise PermanentError(f"RSS has no stream {request.stream!r}")
        url = (self.account.base_url or "").strip()
        if not url:
            raise PermanentError("RSS source without a feed URL (base_url)")
        cursor = dict(cursor or {})
        now = datetime.now(timezone.utc)
        headers = {"User-Agent": USER_AGENT, "Accept": ACCEPT}
        if cursor.get("etag"):
            headers["If-None-Match"] = cursor["etag"]
        if cursor.get("modified"):
            headers["If-Modified-Since"] = cursor["modified"]

        body, response = self._get(url, headers, now)
        if body is None:  # 304
            return Page(cursor=cursor, fetched_at=now)

        given = {"content-type": response.headers.get("Content-Type"), "content-location": response.url or url}
        parsed = feedparser.parse(io.BytesIO(body), response_headers={k: v for k, v in given.items() if v})
        if not parsed.entries and not parsed.get("version"):
            problem = parsed.get("bozo_exception") or "no RSS, Atom or JSON feed found"
            raise PermanentError(f"Not a feed at {url}: {problem}", status=response.status_code)

        feed = feed_context(parsed.get("feed") or {})
        result, pairs = parse_entries(list(parsed.entries), feed=feed, feed_url=url)
        seen_before = cursor.get("seen") if isinstance(cursor.get("seen"), dict) else {}
        seen, mentions, quarantined = {}, [], []
        for entry, item in pairs[: self.max_seen]:
            if isinstance(item, Quarantined):
                key, mark = "q" + _fingerprint(entry)[:11], "q"
            else:
                key = _fingerprint(item.external_id)
                mark = _fingerprint(item.version_id, item.text, item.url, item.created_at.isoformat())[:8]
            seen[key] = mark
            if seen_before.get(key) == mark:
                continue  # already handed over, unchanged
            (quarantined if isinstance(item, Quarantined) else mentions).append(item)

        new_cursor = {"seen": seen}
        if response.headers.get("ETag"):
            new_cursor["etag"] = response.headers["ETag"]
        if response.headers.get("Last-Modified"):
            new_cursor["modified"] = response.headers["Last-Modified"]
        return Page(mentions=mentions, quarantined=quarantined, cursor=new_cursor, fetched_at=now)

    def _get(self, url: str, headers: dict, now: datetime):
        """The body (``None`` for 304) and the response; errors mapped to ConnectorErrors."""
        try:
            # Redirects are followed by hand so that every hop goes through the address check.
            for _hop in range(MAX_REDIRECTS + 1):
                refuse_private_address(url)
                response = requests.get(url, headers=headers, timeout=self.timeout, stream=True, allow_redirects=False)
                if not response.is_redirect:
                    break
                url = requests.compat.urljoin(url, response.headers["Location"])
                response.close()
            else:
                raise PermanentError(f"Feed {url}: more than {MAX_REDIRECTS} redirects")
        except (requests.Timeout, requests.ConnectionError) as exc:
            raise TransientError(f"Feed {url} unreachable: {exc}") from exc
        except requests.RequestException as exc:  # bad URL...
            raise PermanentError(f"Feed {url} cannot be fetched: {exc}") from exc
        with response:
            status = response.status_code
            if status == 304:
                return None, response
            if status == 429:
                reset = retry_after(response.headers.get("Retry-After"), now) or now + self.rate_limit_fallback
                raise RateLimited(f"Feed {url}: 429 Too Many Requests", reset_at=reset, status=429)
            if status >= 500:
                raise TransientError(f"Feed {url}: HTTP {status}", status=status)
            if status >= 400:
                raise PermanentError(f"Feed {url}: HTTP {status}", status=status)
            try:
                chunks, size = [], 0
                for chunk in response.iter_content(64 * 1024):
                    size += len(chunk)
                    if size > self.max_bytes:
                        raise PermanentError(f"Feed {url} is larger than {self.max_bytes} bytes", status=status)
                    chunks.append(chunk)
            except requests.RequestException as exc:
                raise TransientError(f"Feed {url}: reading the body failed: {exc}") from exc
            return b"".join(chunks), response
