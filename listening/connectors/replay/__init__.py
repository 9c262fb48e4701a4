"""The replay connector: plays a recorded file of platform payloads back as a live stream.

It feeds the demo (and the benchmark) through the same pipeline as the real connectors: every
line is parsed by the real platform parser (``listening.connectors.<platform>.parse_payload``),
so what reaches storage is exactly what X or Mastodon would have produced.

The file
    gzip JSONL (or plain JSONL), one record a line, in time order:
    ``{"platform": "x" | "mastodon" | ..., "payload": <what the platform's API sent>}``.
    ``listening/demo/generate.py`` writes the bundled one (``listening/demo/demo_mentions.jsonl.gz``).
    Blank lines are skipped (they are not records).

The account (``AccountConfig``)
    ``external_id``: the file, absolute or relative to the repository root; empty = the bundled
    demo file. Only files under ``listening/demo/`` or a directory listed in the
    ``REPLAY_DATA_DIRS`` setting or environment variable (``os.pathsep``-separated) are read: a
    tenant must not be able to replay (and so read, through the quarantine) any file of the
    server. ``base_url`` and ``handle`` are ignored.
    ``credentials`` (the encrypted JSON dict) holds the options:
    ``rate`` records per second (default 2.0; ``<= 0``: as fast as asked, 500 a page - the
    benchmark), ``loop`` (default false), ``rebase`` (default true).

The stream and the cursor
    One stream, ``replay``. The cursor is ``{"offset": <next record index>, "started_at":
    <ISO time the replay began>}`` (plus ``"loop": n`` when looping). Record ``i`` is due at
    ``started_at + i / rate``; a fetch returns the due records not yet returned, at most 500
    (``has_more`` when more are due already), and ``poll_again_in`` is the time until the next
    one is due (at least 1 s). At the end of the file: ``has_more`` False, ``poll_again_in``
    None. With ``loop``, the replay starts again at record 0 instead; on the n-th pass (n >= 1)
    every id (``external_id``, ``parent_external_id``, ``conversation_external_id``) gets the
    suffix ``-loop<n>`` so the records are new mentions, and the pass is re-based to its own
    start. Without ``loop`` the ids are those of the file, so replaying it again is idempotent.
    (``loop`` with ``rate <= 0`` never ends: every page has ``has_more``.)

Re-basing (``rebase``, default on)
    The normalised ``created_at`` of every mention is shifted by one constant so that the
    file's last record lands at ``started_at``: the demo looks live, the spacing is kept. The
    raw payload (``MentionData.raw``) is not rewritten.

Malformed lines
    A line that is not UTF-8 or JSON, not a ``{"platform", "payload"}`` object, or names an
    unknown platform is quarantined with the reason and the raw line; a payload the platform
    parser rejects is quarantined as ``{"platform", "payload"}`` (so ``parse_payload`` here can
    replay it). The reasons start with ``line <n>:``. The rest of the page is returned.

Mastodon threads
    A Mastodon status names its parent by the answering server's local id; the Mastodon
    connector looks the parent's uri up through the API, the replay looks it up in the file
    (and fills ``conversation_external_id`` with the thread's first status when it is there).
"""

from __future__ import annotations

import gzip
import json

import orjson
import math
import os
import threading
from collections import OrderedDict, deque
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from importlib import import_module
from itertools import islice
from pathlib import Path
from typing import Any

from listening.connectors.base import (
    AccountConfig,
    Connector,
    MentionData,
    Page,
    ParseResult,
    PermanentError,
    Published,
    Quarantined,
    ReplyTarget,
    StreamRequest,
)

REPO_ROOT = Path(__file__).resolve().parents[3]
DEMO_DIR = REPO_ROOT / "listening" / "demo"
DEMO_FILE = DEMO_DIR / "demo_mentions.jsonl.gz"

STREAM = "replay"
PAGE_SIZE = 500
DEFAULT_RATE = 2.0
MIN_POLL_SECONDS = 1.0
# Platforms a record may name; each module must expose ``parse_payload(payload) -> ParseResult``.
PLATFORMS = ("x", "mastodon", "facebook", "bluesky", "rss")
# Files up to this size (compressed) are held in memory; larger ones are streamed.
MEMORY_LIMIT_BYTES = 8 * 1024 * 1024
# Re-basing looks for the first and the last record that parse among this many lines.
EDGE_LINES = 50


# --- Parsing one record -------------------------------------------------------------------------


def _parser(platform: str) -> Callable[[Any], ParseResult]:
    module_name = f"listening.connectors.{platform}"
    try:
        module = import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and module_name.startswith(exc.name):
            # A deployment problem, not a bad record: stop here (the cursor stays) and say so.
            raise PermanentError(f"replay: no parser installed for platform {platform!r} ({exc})") from exc
        raise
    parse = getattr(module, "parse_payload", None)
    if parse is None:
        raise PermanentError(f"replay: {module_name} has no parse_payload")
    return parse


def parse_payload(payload: Any) -> ParseResult:
    """Parse one replay record: a ``{"platform", "payload"}`` object, or a raw line (``str``)
    holding one. This is also how a quarantined replay payload is replayed."""
    return _parse(payload)[1]


def _parse(payload: Any) -> tuple[str, ParseResult]:
    """``parse_payload``, and the platform the record named ("" when it named none we know)."""
    result = ParseResult()
    record = payload
    if isinstance(payload, (str, bytes)):
        try:
            record = orjson.loads(payload)
        except (ValueError, UnicodeDecodeError) as exc:
            result.quarantined.append(Quarantined(payload=_text(payload), reason=f"not JSON: {exc}"))
            return "", result
    if not isinstance(record, dict) or "platform" not in record or "payload" not in record:
        result.quarantined.append(Quarantined(payload=_text(payload),
                                              reason="not a replay record ({\"platform\": ..., \"payload\": ...})"))
        return "", result
    platform = record["platform"]
    if platform not in PLATFORMS:
        result.quarantined.append(Quarantined(payload=_text(payload), reason=f"unknown platform: {platform!r}"))
        return "", result
    parse = _parser(platform)
    try:
        parsed = parse(record["payload"])
    except PermanentError:
        raise
    except Exception as exc:  # a parser bug must not stall the replay on one record
        result.quarantined.append(Quarantined(payload=record, reason=f"{platform} parser failed: {exc!r}"))
        return platform, result
    result.mentions.extend(parsed.mentions)
    result.quarantined.extend(Quarantined(payload={"platform": platform, "payload": q.payload},
                                          reason=f"{platform}: {q.reason}") for q in parsed.quarantined)
    return platform, result


def _text(value: Any) -> Any:
    """A raw line as storable text (PostgreSQL's JSON cannot hold NUL characters)."""
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return value.replace("\x00", "\ufffd") if isinstance(value, str) else value


# --- The file -----------------------------------------------------------------------------------


def allowed_dirs() -> list[Path]:
    """Where replay files may live: the bundled demo directory, plus ``REPLAY_DATA_DIRS``
    (Django setting, a list, or environment variable, ``os.pathsep``-separated)."""
    dirs: list[Any] = [DEMO_DIR]
    try:
        from django.conf import settings

        if settings.configured:
            dirs.extend(getattr(settings, "REPLAY_DATA_DIRS", ()) or ())
    except ImportError:  # pragma: no cover - Django is always there in this project
        pass
    dirs.extend(part for part in os.environ.get("REPLAY_DATA_DIRS", "").split(os.pathsep) if part.strip())
    return [Path(d).resolve() for d in dirs]


def resolve_path(external_id: str) -> Path:
    value = (external_id or "").strip()
    path = Path(value) if value else DEMO_FILE
    if not path.is_absolute():
        path = REPO_ROOT / path
    path = path.resolve()
    # The messages name the file as the account gave it: they are shown to the tenant.
    if not any(path.is_relative_to(d) for d in allowed_dirs()):
        raise PermanentError(f"replay file {value!r} is outside the allowed directories (REPLAY_DATA_DIRS)")
    if not path.is_file():
        raise PermanentError(f"replay file not found: {value or 'the bundled demo file'!r}")
    return path


class Dataset:
    """One replay file, read once per process (cached by path, size and mtime)."""

    def __init__(self, path: Path, size: int):
        self.path = path
        self.lines: list[bytes] | None = None
        self._lock = threading.Lock()
        self._reader: tuple[int, Iterator[bytes]] | None = None  # streaming: (next index, lines)
        self._bounds: tuple[datetime | None, datetime | None] | None = None
        self._mastodon: dict[str, tuple[str, str]] | None = None
        if size <= MEMORY_LIMIT_BYTES:
            self.lines = list(self._read())
            self.count = len(self.lines)
            self._head, self._tail = self.lines[:EDGE_LINES], self.lines[-EDGE_LINES:]
        else:
            self._head, tail, self.count = [], deque(maxlen=EDGE_LINES), 0
            for line in self._read():
                if self.count < EDGE_LINES:
                    self._head.append(line)
                tail.append(line)
                self.count += 1
            self._tail = list(tail)

    def _read(self) -> Iterator[bytes]:
        try:
            with open(self.path, "rb") as probe:
                gzipped = probe.read(2) == b"\x1f\x8b"
            with (gzip.open(self.path, "rb") if gzipped else open(self.path, "rb")) as handle:
                for line in handle:
                    line = line.rstrip(b"\r\n")
                    if line.strip():
                        yield line
        except (OSError, EOFError) as exc:
            raise PermanentError(f"cannot read replay file {self.path.name!r}: {exc}") from exc

    def window(self, start: int, n: int) -> list[bytes]:
        if n <= 0:
            return []
        if self.lines is not None:
            return self.lines[start:start + n]
        with self._lock:  # stream: carry on from where the last window stopped when possible
            if self._reader is None or self._reader[0] != start:
                self._reader = (start, islice(self._read(), start, None))
            position, lines = self._reader
            out = list(islice(lines, n))
            self._reader = (position + len(out), lines)
            return out

    def _all(self) -> Iterator[bytes]:
        return iter(self.lines) if self.lines is not None else self._read()

    def bounds(self) -> tuple[datetime | None, datetime | None]:
        """The normalised created_at of the first and of the last record that parse (among the
        first and last ``EDGE_LINES``; the file is in time order), for re-basing."""
        if self._bounds is None:
            self._bounds = (_newest_of(self._head), _newest_of(reversed(self._tail)))
        return self._bounds

    def mastodon_index(self) -> dict[str, tuple[str, str]]:
        """Mastodon status id -> (uri, in_reply_to_id) for every status of the file."""
        if self._mastodon is None:
            index: dict[str, tuple[str, str]] = {}
            for line in self._all():
                if b'"mastodon"' not in line:
                    continue
                try:
                    record = orjson.loads(line)
                except ValueError:
                    continue
                if not isinstance(record, dict) or record.get("platform") != "mastodon":
                    continue
                status = record.get("payload")
                for candidate in (status, status.get("reblog") if isinstance(status, dict) else None):
                    if isinstance(candidate, dict) and candidate.get("id") and isinstance(candidate.get("uri"), str):
                        reply_to = candidate.get("in_reply_to_id")
                        index[str(candidate["id"])] = (candidate["uri"], "" if reply_to is None else str(reply_to))
            self._mastodon = index
        return self._mastodon


_CACHE: OrderedDict[tuple, Dataset] = OrderedDict()
_CACHE_LOCK = threading.Lock()
_CACHE_SIZE = 4


def load(path: Path) -> Dataset:
    stat = path.stat()
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    with _CACHE_LOCK:
        dataset = _CACHE.get(key)
        if dataset is not None:
            _CACHE.move_to_end(key)
            return dataset
    dataset = Dataset(path, stat.st_size)
    with _CACHE_LOCK:
        _CACHE[key] = dataset
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return dataset


def _newest_of(lines) -> datetime | None:
    """The created_at of the first line (in the order given) that yields mentions."""
    for line in lines:
        mentions = parse_payload(line.decode("utf-8", "replace")).mentions
        if mentions:
            return max(_aware(m.created_at) for m in mentions)
    return None


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)


# --- The connector -------------------------------------------------------------------------------


def _flag(value: Any, default: bool) -> bool:
    if value is None:
        return default
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


class ReplayConnector(Connector):
    platform = "replay"
    query_streams = ()
    account_streams = (STREAM,)

    def __init__(self, account: AccountConfig, *, clock: Callable[[], datetime] | None = None):
        super().__init__(account)
        self.clock = clock or (lambda: datetime.now(timezone.utc))
        options = account.credentials or {}
        try:
            self.rate = float(options.get("rate", DEFAULT_RATE))
        except (TypeError, ValueError):
            raise PermanentError(f"replay: rate must be a number, not {options.get('rate')!r}") from None
        if math.isnan(self.rate) or math.isinf(self.rate):
            raise PermanentError(f"replay: rate must be finite, not {self.rate!r}")
        self.loop = _flag(options.get("loop"), False)
        self.rebase = _flag(options.get("rebase"), True)

    @property
    def path(self) -> Path:
        return resolve_path(self.account.external_id)

    def dataset(self) -> Dataset:
        return load(self.path)

    # -- time --

    def _due_count(self, started_at: datetime, now: datetime) -> int:
        """How many records (counting across passes) are due at ``now``."""
        elapsed = (now - started_at).total_seconds()
        if elapsed < 0:
            return 0
        return math.floor(elapsed * self.rate + 1e-9) + 1

    def _due_at(self, started_at: datetime, index: int) -> datetime:
        return started_at + timedelta(seconds=index / self.rate)

    def _shift(self, dataset: Dataset, started_at: datetime, loop: int) -> timedelta:
        if not self.rebase:
            return timedelta(0)
        first, last = dataset.bounds()
        if last is None:
            return timedelta(0)
        if self.rate > 0:
            period = timedelta(seconds=dataset.count / self.rate)
        else:
            period = (last - first) + timedelta(seconds=1) if first is not None else timedelta(0)
        return (started_at + period * loop) - last

    # -- replies --

    def publish_reply(self, target: ReplyTarget, text: str, *, idempotency_key: str) -> Published:
        """The demo's sandbox: replayed posts are recordings, so a reply is accepted here and goes
        nowhere. Its id is derived from the reply, so a retry gives the same id."""
        return Published(f"replay-{idempotency_key}", "")

    # -- fetch --

    def fetch(self, request: StreamRequest, cursor: dict) -> Page:
        if request.stream != STREAM:
            raise PermanentError(f"replay has no stream {request.stream!r} (only {STREAM!r})")
        now = _aware(self.clock())
        dataset = self.dataset()
        total = dataset.count
        offset, loop, started_at = self._read_cursor(cursor, now, total)

        if offset >= total and self.loop and total:
            offset, loop = 0, loop + 1
        if offset >= total:
            return Page(cursor=self._cursor(offset, loop, started_at), has_more=False, poll_again_in=None,
                        fetched_at=now)

        if self.rate > 0:
            due = self._due_count(started_at, now) - loop * total  # due in this pass
            take = max(0, min(due, total) - offset)
        else:
            take = total - offset
        take = min(take, PAGE_SIZE)

        page = Page(fetched_at=now)
        if take:
            shift = self._shift(dataset, started_at, loop)
            for index, line in enumerate(dataset.window(offset, take), start=offset):
                self._add_line(page, dataset, index, line, shift, loop)

        next_offset, next_loop = offset + take, loop
        if next_offset >= total and self.loop:
            next_offset, next_loop = 0, loop + 1
        page.cursor = self._cursor(next_offset, next_loop, started_at)
        if next_offset >= total:  # the end, no loop
            page.has_more, page.poll_again_in = False, None
        elif self.rate > 0:
            upcoming = next_loop * total + next_offset
            page.has_more = upcoming < self._due_count(started_at, now)
            wait = (self._due_at(started_at, upcoming) - now).total_seconds()
            page.poll_again_in = max(MIN_POLL_SECONDS, wait)
        else:
            page.has_more, page.poll_again_in = True, None
        return page

    def _read_cursor(self, cursor: dict, now: datetime, total: int) -> tuple[int, int, datetime]:
        cursor = cursor or {}
        try:
            offset = max(0, int(cursor.get("offset", 0)))
            loop = max(0, int(cursor.get("loop", 0)))
        except (TypeError, ValueError):
            offset, loop = 0, 0
        started_at = None
        if isinstance(cursor.get("started_at"), str):
            try:
                started_at = _aware(datetime.fromisoformat(cursor["started_at"]))
            except ValueError:
                started_at = None
        if started_at is None:
            # A new replay, or a cursor that lost its start: make the next record due now.
            position = loop * total + offset
            started_at = now - timedelta(seconds=position / self.rate) if self.rate > 0 else now
        return offset, loop, started_at

    def _cursor(self, offset: int, loop: int, started_at: datetime) -> dict:
        cursor = {"offset": offset, "started_at": started_at.isoformat()}
        if self.loop:
            cursor["loop"] = loop
        return cursor

    def _add_line(self, page: Page, dataset: Dataset, index: int, line: bytes, shift: timedelta, loop: int) -> None:
        try:
            text: str | bytes = line.decode("utf-8")
        except UnicodeDecodeError as exc:
            page.quarantined.append(Quarantined(payload=_text(line),
                                                reason=f"line {index + 1}: not UTF-8: {exc}"))
            return
        platform, result = _parse(text)
        for item in result.quarantined:
            page.quarantined.append(Quarantined(payload=item.payload, reason=f"line {index + 1}: {item.reason}"))
        if not result.mentions:
            return
        for mention in result.mentions:
            mention.platform = platform  # stored under the recorded platform, not "replay"
            if platform == "mastodon":
                self._resolve_thread(mention, dataset)
            if shift:
                mention.created_at = _aware(mention.created_at) + shift
            if loop:
                _suffix(mention, f"-loop{loop}")
            page.mentions.append(mention)

    @staticmethod
    def _resolve_thread(mention: MentionData, dataset: Dataset) -> None:
        """Fill a Mastodon reply's parent (and its thread's first status) from the file."""
        raw = mention.raw if isinstance(mention.raw, dict) else {}
        reply_to = raw.get("in_reply_to_id")
        if mention.is_repost or reply_to in (None, ""):
            return
        index = dataset.mastodon_index()
        entry = index.get(str(reply_to))
        if entry is None:
            return
        if not mention.parent_external_id:
            mention.parent_external_id = entry[0]
        seen: set[str] = set()
        while entry[1]:
            if entry[1] in seen:
                return
            seen.add(entry[1])
            parent = index.get(entry[1])
            if parent is None:
                return  # the thread starts before the file: its first status is unknown
            entry = parent
        if not mention.conversation_external_id:
            mention.conversation_external_id = entry[0]


def _suffix(mention: MentionData, suffix: str) -> None:
    mention.external_id += suffix
    if mention.parent_external_id:
        mention.parent_external_id += suffix
    if mention.conversation_external_id:
        mention.conversation_external_id += suffix


__all__ = ["DEMO_FILE", "Dataset", "ReplayConnector", "allowed_dirs", "load", "parse_payload", "resolve_path"]
