"""RSS / Atom entries (as parsed by feedparser) -> ``MentionData``.

* ``external_id``: the entry's id (RSS ``guid``, Atom ``id``), else its link. An id that is no
  URI (a bare ``1234`` guid, unique only within its feed) is scoped by the feed's URL
  (``https://site/feed.xml#1234``) so that two feeds cannot collide; one longer than the 200
  characters of the column becomes ``sha256:<hex>`` of itself.
* ``text``: the title, a blank line, and the summary (else the content) stripped of HTML.
* ``created_at``: ``published``, else ``updated``, in UTC. ``updated`` later than ``published``
  is an edit: ``is_edited`` and ``version_id`` = the update time (ISO, ordered as text).
* ``author``: the feed's site (``platform_user_id`` = the feed URL, else the site link, else the
  entry's author name; ``name`` = the feed's title); the entry's own author stays in ``raw``.
* ``language``: the entry's (xml:lang) or the feed's, primary subtag (``fr-FR`` -> ``fr``).

An entry with neither id nor link, or without any date, is quarantined. ``raw`` (and a
quarantined payload) is ``{"feed_url", "feed": {title, link, language, image}, "entry": {...}}``
in plain JSON, which ``parse_payload`` accepts again (quarantine replays).
"""

from __future__ import annotations

import hashlib
import re
import time
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

from ..base import AuthorData, MentionData, ParseResult, Quarantined
from ..htmltext import html_to_text

try:  # feedparser's own lenient date parser (RFC 822, W3C-DTF, and the odd formats feeds use)
    from feedparser.datetimes import _parse_date as _feedparser_date
except ImportError:  # pragma: no cover
    _feedparser_date = None

MAX_ID = 200
_HTML_TYPES = ("text/html", "application/xhtml+xml")


class Malformed(ValueError):
    pass


# --- plain JSON --------------------------------------------------------------------------------


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def jsonable(value: Any) -> Any:
    """feedparser's dicts, struct_times and the like -> plain JSON."""
    if isinstance(value, time.struct_time):
        return _iso(datetime(*value[:6], tzinfo=timezone.utc))
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def feed_context(feed: dict) -> dict:
    """The feed's fields an entry needs (from feedparser's ``feed``, or an already stored one)."""
    feed = feed or {}
    image = feed.get("image")
    image = image.get("href") if isinstance(image, dict) else image
    return {"title": feed.get("title") or "", "link": feed.get("link") or "",
            "language": feed.get("language") or "",
            "image": image or feed.get("icon") or feed.get("logo") or ""}


# --- fields --------------------------------------------------------------------------------------


def _time(entry: dict, name: str) -> datetime | None:
    """``published`` / ``updated``: feedparser's parsed struct (or its ISO form in a replayed
    payload), else the raw string parsed again."""
    parsed = entry.get(f"{name}_parsed")
    if isinstance(parsed, (time.struct_time, tuple, list)) and len(parsed) >= 6:
        try:
            return datetime(*[int(v) for v in parsed[:6]], tzinfo=timezone.utc)
        except (TypeError, ValueError):
            pass
    if isinstance(parsed, str):
        try:
            moment = datetime.fromisoformat(parsed.replace("Z", "+00:00"))
            return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
        except ValueError:
            pass
    raw = entry.get(name)
    if not isinstance(raw, str) or not raw.strip():
        return None
    if _feedparser_date is not None:
        struct = _feedparser_date(raw)
        if struct:
            return datetime(*struct[:6], tzinfo=timezone.utc)
    try:
        moment = parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        try:
            moment = datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
        except ValueError:
            return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).astimezone(timezone.utc)


def _text_of(entry: dict, name: str) -> str:
    value = entry.get(name)
    if not isinstance(value, str):
        return ""
    detail = entry.get(f"{name}_detail") if isinstance(entry.get(f"{name}_detail"), dict) else {}
    if detail.get("type") in _HTML_TYPES or "<" in value:
        return html_to_text(value)
    return re.sub(r"\s+", " ", value.replace("\xa0", " ")).strip()


def _body(entry: dict) -> str:
    body = _text_of(entry, "summary")
    if body:
        return body
    for content in entry.get("content") or []:
        if isinstance(content, dict) and isinstance(content.get("value"), str) and content["value"].strip():
            return html_to_text(content["value"])
    return ""


def _language(entry: dict, feed: dict) -> str:
    candidates = [entry.get("language")]
    for name in ("title_detail", "summary_detail"):
        if isinstance(entry.get(name), dict):
            candidates.append(entry[name].get("language"))
    candidates.append(feed.get("language"))
    for value in candidates:
        if isinstance(value, str) and value.strip():
            return re.split(r"[-_]", value.strip())[0].lower()[:8]
    return ""


def _has_scheme(value: str) -> bool:
    return bool(re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:", value))


def external_id(entry: dict, feed_url: str = "", feed: dict | None = None) -> str:
    ident = entry.get("id") or entry.get("guid") or ""
    ident = ident.strip() if isinstance(ident, str) else ""
    link = entry.get("link") if isinstance(entry.get("link"), str) else ""
    ident = ident or link.strip()
    if not ident:
        raise Malformed("entry without id and without link")
    if not _has_scheme(ident):
        scope = feed_url or (feed or {}).get("link") or ""
        ident = f"{scope}#{ident}" if scope else ident
    if len(ident) > MAX_ID:
        ident = "sha256:" + hashlib.sha256(ident.encode()).hexdigest()
    return ident


def feed_author(feed: dict, feed_url: str, entry: dict) -> AuthorData | None:
    link = feed.get("link") or ""
    entry_author = entry.get("author") if isinstance(entry.get("author"), str) else ""
    ident = feed_url or link or entry_author or feed.get("title") or ""
    if not ident:
        return None
    return AuthorData(
        platform_user_id=ident[:200],
        handle=urlsplit(link or feed_url).netloc.lower(),
        name=feed.get("title") or entry_author,
        profile_url=link if link.startswith(("http://", "https://")) else "",
        avatar_url=feed.get("image") if str(feed.get("image") or "").startswith(("http://", "https://")) else "",
    )


def parse_entry(entry: dict, *, feed: dict | None = None, feed_url: str = "") -> MentionData:
    """One entry (plain JSON, see ``jsonable``) -> a mention; raises ``Malformed``."""
    if not isinstance(entry, dict):
        raise Malformed("entry is not an object")
    feed = feed or {}
    ident = external_id(entry, feed_url, feed)
    published, updated = _time(entry, "published"), _time(entry, "updated")
    created_at = published or updated
    if created_at is None:
        raise Malformed("entry without a date (published or updated)")
    title, body = _text_of(entry, "title"), _body(entry)
    text = f"{title}\n\n{body}" if title and body and body != title else (title or body)
    link = entry.get("link") if isinstance(entry.get("link"), str) else ""
    if not link and ident.startswith(("http://", "https://")):
        link = ident
    edited = published is not None and updated is not None and updated > published
    return MentionData(
        external_id=ident,
        text=text,
        created_at=created_at,
        url=link,
        language=_language(entry, feed),
        author=feed_author(feed, feed_url, entry),
        is_edited=edited,
        version_id=_iso(updated) if edited else "",
        raw={"feed_url": feed_url, "feed": feed, "entry": entry},
    )


# --- payloads ------------------------------------------------------------------------------------


def parse_entries(entries: list, *, feed: dict, feed_url: str) -> tuple[ParseResult, list[tuple[object, Any]]]:
    """Entries -> result, plus (entry json, mention or Quarantined) pairs for change tracking."""
    result, pairs = ParseResult(), []
    for entry in entries:
        entry = jsonable(entry)
        try:
            mention = parse_entry(entry, feed=feed, feed_url=feed_url)
        except Malformed as exc:
            item = Quarantined(payload={"feed_url": feed_url, "feed": feed, "entry": entry}, reason=str(exc))
            result.quarantined.append(item)
            pairs.append((entry, item))
            continue
        result.mentions.append(mention)
        pairs.append((entry, mention))
    return result, pairs


def parse_payload(payload: Any, *, feed_url: str = "") -> ParseResult:
    """A whole parsed feed (``{"feed": ..., "entries": [...]}``, feedparser's result or its
    JSON), one stored entry (``{"feed_url", "feed", "entry"}``: ``raw`` or a quarantined
    payload), a bare entry, or a list of entries."""
    if isinstance(payload, list):
        return parse_entries(payload, feed=feed_context({}), feed_url=feed_url)[0]
    if not isinstance(payload, dict):
        result = ParseResult()
        result.quarantined.append(Quarantined(payload=jsonable(payload), reason="not a feed entry"))
        return result
    if "entries" in payload:
        feed = feed_context(payload.get("feed") or {})
        return parse_entries(list(payload.get("entries") or []), feed=feed, feed_url=feed_url)[0]
    if isinstance(payload.get("entry"), dict):
        feed = payload.get("feed") if isinstance(payload.get("feed"), dict) else {}
        return parse_entries([payload["entry"]], feed=feed_context(feed),
                             feed_url=feed_url or payload.get("feed_url") or "")[0]
    return parse_entries([payload], feed=feed_context({}), feed_url=feed_url)[0]
