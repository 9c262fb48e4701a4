"""Storing what connectors fetched: the one write path for every source (polls, webhooks, the
ingest API, replay, quarantine replays).

``ingest_page`` runs in one tenant transaction: authors upserted per
(tenant, platform, platform_user_id), mentions inserted on (tenant, platform, external_id) with
the newest edit winning, listening-query matches recorded, unparsable records quarantined, and
the poll cursor saved with the rows, so a crash keeps both or neither and a rerun of the same
page changes nothing (idempotent by construction; no "already done?" bookkeeping needed).

The statements are set-based (one JSON parameter expanded by ``jsonb_to_recordset``, one round
trip per table, parameters bound server-side: ``_server_binding_cursor``) because this is the hot
path of `make bench-ingest`. Rows are sorted by key before each upsert so that two
batches touching the same keys lock them in the same order and cannot deadlock.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

import orjson
import psycopg

from django.db import connection, transaction
from django.utils import timezone

from analytics import rollups
from analytics.selectors import LANGUAGE_SQL
from social_crm.tenancy.scope import tenant_context

from .connectors.base import AuthorData, MentionData, Page, Quarantined
from .matching import tenant_matcher
from .tag_facts import counts_given, facts_given
from .models import ConnectedAccount, QuarantinedPayload


@dataclass(frozen=True)
class CursorKey:
    account_id: int
    query_id: int | None
    stream: str


@dataclass
class IngestResult:
    received: int = 0
    inserted: int = 0
    updated: int = 0
    deleted: int = 0
    quarantined: int = 0
    matched: int = 0
    erased: int = 0  # mentions of GDPR-erased authors, stored blank (_blank_erased)
    inserted_ids: list[int] = field(default_factory=list)
    stored_ids: list[int] = field(default_factory=list)  # inserted or updated (metrics, edits)
    # What the rollups need (analytics.rollups.count): the UTC hours of every stored mention, those
    # of the updated ones (recomputed), and the inserted ones' facts (added).
    hours: set = field(default_factory=set)
    changed_hours: set = field(default_factory=set)
    new: list = field(default_factory=list)


_LIMITS = {"external_id": 200, "version_id": 200, "language": 8, "url": 1000,
           "parent_external_id": 200, "conversation_external_id": 200}
_AUTHOR_LIMITS = {"platform_user_id": 200, "handle": 200, "name": 300, "profile_url": 500, "avatar_url": 1000}


def _drop_unsafe_urls(m: MentionData) -> None:
    """Only http(s) links are kept: a platform (or an ingest client) could send javascript: or
    data: URLs, which pages would then render as links."""
    if m.url and not m.url.startswith(("https://", "http://")):
        m.url = ""
    if m.author is not None:
        for name in ("profile_url", "avatar_url"):
            if getattr(m.author, name) and not getattr(m.author, name).startswith(("https://", "http://")):
                setattr(m.author, name, "")


def _problem(m: MentionData) -> str | None:
    """Why a normalised record cannot be stored as is (then it is quarantined, not dropped)."""
    if not m.external_id:
        return "no external id"
    if m.is_deleted:
        return None  # a deletion marker needs only its id
    if m.created_at is None or m.created_at.tzinfo is None:
        return "created_at missing or without a time zone"
    for name, limit in _LIMITS.items():
        if len(getattr(m, name) or "") > limit:
            return f"{name} longer than {limit} characters"
    if m.author is not None:
        for name, limit in _AUTHOR_LIMITS.items():
            if len(getattr(m.author, name) or "") > limit:
                return f"author {name} longer than {limit} characters"
    return None


def _newest_versions(mentions: list[MentionData]) -> list[MentionData]:
    """One item per external_id: the newest version (X edits arrive as several posts)."""
    best: dict[str, MentionData] = {}
    for m in mentions:
        seen = best.get(m.external_id)
        if seen is None or _version_key(m.version_id) >= _version_key(seen.version_id):
            if seen is not None and seen.version_id != m.version_id:
                m.is_edited = True
            best[m.external_id] = m
    return [best[k] for k in sorted(best)]


def _version_key(version: str) -> tuple[int, str]:
    # Numeric ids (X) compare by length then text; ISO timestamps have equal lengths.
    return (len(version or ""), version or "")


def _upsert_authors(cursor, tenant_id: int, platform: str, authors: list[AuthorData],
                    now: datetime, counted: dict[str, int]) -> dict[str, tuple[int, int]]:
    """platform_user_id -> (author id, followers as stored). ``counted`` (per platform_user_id)
    is added to ``mentions_seen`` (listening.tag_facts, author counts)."""
    unique = {a.platform_user_id: a for a in authors if a and a.platform_user_id}
    if not unique:
        return {}
    payload = _json([{**unique[k].__dict__, "mentions_seen": counted.get(k, 0)} for k in sorted(unique)])
    cursor.execute(
        """
        INSERT INTO listening_author (tenant_id, platform, platform_user_id, handle, name, followers,
                                      verified, profile_url, avatar_url, mentions_seen, updated_at)
        SELECT %s, %s, u.*, %s FROM jsonb_to_recordset(%s::jsonb) AS u(
            platform_user_id text, handle text, name text, followers bigint, verified bool,
            profile_url text, avatar_url text, mentions_seen bigint)
        ON CONFLICT (tenant_id, platform, platform_user_id) DO UPDATE SET
            handle = EXCLUDED.handle, name = EXCLUDED.name,
            followers = COALESCE(EXCLUDED.followers, listening_author.followers),
            verified = EXCLUDED.verified, profile_url = EXCLUDED.profile_url,
            avatar_url = EXCLUDED.avatar_url, updated_at = EXCLUDED.updated_at,
            mentions_seen = listening_author.mentions_seen + EXCLUDED.mentions_seen
        RETURNING platform_user_id, id, COALESCE(followers, 0)
        """,
        [tenant_id, platform, now, payload],
    )
    return {user_id: (pk, followers) for user_id, pk, followers in cursor.fetchall()}


def _blank_erased(tenant_id: int, platform: str, mentions: list[MentionData]) -> int:
    """A person erased under GDPR (social_crm.customers.gdpr) who posts again is recognised by the
    keyed hash their author row now carries: their new mentions are stored blank (text, raw, url;
    ``is_deleted``, as erasure leaves the old ones, so counts stay true) on that row, and their
    name, handle and profile are not written back."""
    from social_crm.customers.gdpr import erased_authors

    erased = erased_authors(tenant_id, platform, {m.author.platform_user_id for m in mentions if m.author})
    blanked = 0
    for m in mentions:
        key = erased.get(m.author.platform_user_id) if m.author else None
        if key:
            m.author = AuthorData(platform_user_id=key, followers=m.author.followers, verified=m.author.verified)
            m.text, m.raw, m.url, m.is_deleted = "", {}, "", True
            blanked += 1
    return blanked


def _mentions_by_author(mentions: list[MentionData]) -> dict[str, int]:
    """platform_user_id -> the page's mentions by that author: what the author upsert adds to
    ``mentions_seen`` as if all were new (_correct_counts takes back the ones that were not)."""
    return Counter(m.author.platform_user_id for m in mentions if m.author and m.author.platform_user_id)


def _correct_counts(cursor, tenant_id: int, guessed: dict[int, int], stored: list[tuple]) -> None:
    """Make ``mentions_seen`` exact: take back the guessed mentions that the upsert did not insert
    (re-sightings, or one a concurrent writer stored first), on authors this transaction already
    holds. A page of new mentions, the common case, needs no statement."""
    delta = dict(guessed)
    for row in stored:
        inserted, author_id = row[2], row[7]
        if inserted and author_id is not None:
            delta[author_id] = delta.get(author_id, 0) - 1
    fix = sorted((author_id, -d) for author_id, d in delta.items() if d)
    if fix:
        cursor.execute(
            """
            UPDATE listening_author a SET mentions_seen = a.mentions_seen + d.c
            FROM unnest(%s::bigint[], %s::bigint[]) AS d(id, c)
            WHERE a.tenant_id = %s AND a.id = d.id
            """,
            [[f[0] for f in fix], [f[1] for f in fix], tenant_id])


def _json(value) -> str:
    """One JSON parameter per statement: far cheaper to send than one array per column (each
    array element is adapted in Python). PostgreSQL text cannot hold NUL, so it is dropped."""
    text = orjson.dumps(value, default=str, option=orjson.OPT_NON_STR_KEYS).decode()
    # Only a real escaped NUL (an odd run of backslashes before u0000), not the text "\\u0000".
    return _NUL.sub(r"\1", text) if "u0000" in text else text


_NUL = re.compile(r"(?<!\\)((?:\\\\)*)\\u0000")


@contextmanager
def _server_binding_cursor() -> Iterator[psycopg.Cursor]:
    """A psycopg cursor on Django's connection (same session, same transaction, so the tenant
    settings and row-level security apply) that sends parameters apart from the SQL (server-side
    binding). Django's cursors bind on the client: the page's JSON parameter, several hundred
    kilobytes, was escaped into the SQL text, and PostgreSQL then lexed it back out of a string
    literal. Measured on 500-row pages into a copy of the mention table: 55-63 -> 40 us of
    PostgreSQL CPU per row. Errors are
    Django's (``wrap_database_errors``), so callers' handlers for a lost database still apply."""
    connection.ensure_connection()
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        yield cursor


def _own_user_ids(tenant_id: int, platform: str) -> set[str]:
    return set(
        ConnectedAccount.objects.filter(tenant_id=tenant_id, platform=platform, is_own=True)
        .exclude(external_id="").values_list("external_id", flat=True)
    )


_MENTION_SQL = """
INSERT INTO listening_mention AS m (
    tenant_id, platform, account_id, fetched_at, stored_at,
    external_id, version_id, author_id, text, language, url, created_at,
    like_count, share_count, reply_count, view_count, parent_external_id,
    conversation_external_id, is_own, is_repost, is_edited, is_deleted, raw)
SELECT %s, %s, %s, %s, clock_timestamp(), r.*
FROM jsonb_to_recordset(%s::jsonb) AS r(
    external_id text, version_id text, author_id bigint, text text, language text, url text,
    created_at timestamptz, like_count bigint, share_count bigint, reply_count bigint, view_count bigint,
    parent_external_id text, conversation_external_id text, is_own bool, is_repost bool, is_edited bool,
    is_deleted bool, raw jsonb)
ON CONFLICT (tenant_id, platform, external_id) DO UPDATE SET
    -- metrics and author refresh on every sighting; text only from a newer version (edits)
    like_count = COALESCE(EXCLUDED.like_count, m.like_count),
    share_count = COALESCE(EXCLUDED.share_count, m.share_count),
    reply_count = COALESCE(EXCLUDED.reply_count, m.reply_count),
    view_count = COALESCE(EXCLUDED.view_count, m.view_count),
    author_id = COALESCE(EXCLUDED.author_id, m.author_id),
    text = CASE WHEN (length(EXCLUDED.version_id), EXCLUDED.version_id) > (length(m.version_id), m.version_id)
                THEN EXCLUDED.text ELSE m.text END,
    raw = CASE WHEN (length(EXCLUDED.version_id), EXCLUDED.version_id) > (length(m.version_id), m.version_id)
               THEN EXCLUDED.raw ELSE m.raw END,
    -- a newer text must be tagged again (the NLP backfill picks up tagged_at IS NULL)
    tagged_at = CASE WHEN (length(EXCLUDED.version_id), EXCLUDED.version_id) > (length(m.version_id), m.version_id)
                     THEN NULL ELSE m.tagged_at END,
    is_edited = m.is_edited OR EXCLUDED.is_edited
                OR (EXCLUDED.version_id <> '' AND m.version_id <> '' AND EXCLUDED.version_id <> m.version_id),
    version_id = CASE WHEN (length(EXCLUDED.version_id), EXCLUDED.version_id) > (length(m.version_id), m.version_id)
                      THEN EXCLUDED.version_id ELSE m.version_id END
RETURNING external_id, id, (xmax = 0) AS inserted,
    -- what the rollups count of it (analytics.rollups.NewMention)
    date_trunc('hour', m.created_at, 'UTC'), {LANGUAGE_SQL}, m.sentiment,
    COALESCE(m.like_count, 0) + COALESCE(m.share_count, 0) + COALESCE(m.reply_count, 0), m.author_id,
    -- and what its query matches carry of it (listening.tag_facts)
    m.created_at
""".replace("{LANGUAGE_SQL}", LANGUAGE_SQL)


_MENTION_KEYS = ("external_id", "version_id", "author_id", "text", "language", "url", "created_at", "like_count",
                 "share_count", "reply_count", "view_count", "parent_external_id", "conversation_external_id",
                 "is_own", "is_repost", "is_edited", "is_deleted", "raw")


def _upsert_mentions(cursor, tenant_id, platform, account_id, fetched_at, mentions, author_ids, own_ids):
    """Rows of (external_id, id, inserted, then the rollup facts of _MENTION_SQL's RETURNING)."""
    rows = []
    for m in mentions:
        a = m.author
        author = author_ids.get(a.platform_user_id) if a else None
        rows.append(dict(zip(_MENTION_KEYS, (
            m.external_id, m.version_id or "", author[0] if author else None, m.text or "",
            m.language or "", m.url or "", m.created_at.isoformat(), m.like_count, m.share_count, m.reply_count,
            m.view_count, m.parent_external_id or "", m.conversation_external_id or "",
            bool(a and a.platform_user_id in own_ids), m.is_repost, m.is_edited, m.is_deleted, m.raw))))
    cursor.execute(_MENTION_SQL, [tenant_id, platform, account_id, fetched_at, _json(rows)])
    return cursor.fetchall()


def _insert_matches(cursor, tenant_id: int, pairs: list[tuple[int, int]], facts: dict[int, tuple]) -> None:
    """The (mention id, query id) pairs, with the facts of each mention (author id, created_at,
    language) that its upsert returned: the mentions are this transaction's rows, so these are
    what the tag facts trigger would read (listening.tag_facts)."""
    if not pairs:
        return
    pairs.sort()
    rows = [(pk, query_id, *facts[pk]) for pk, query_id in pairs]
    with facts_given(cursor):
        cursor.execute(
            """
            INSERT INTO listening_mentionmatch (tenant_id, mention_id, query_id, mention_author_id,
                                                mention_created_at, mention_language)
            SELECT %s, p.* FROM jsonb_to_recordset(%s::jsonb) AS p(
                mention_id bigint, query_id bigint, author_id bigint, created_at timestamptz, language text)
            ON CONFLICT (tenant_id, mention_id, query_id) DO NOTHING
            """,
            [tenant_id, _json([dict(zip(_MATCH_KEYS, row)) for row in rows])],
        )


_MATCH_KEYS = ("mention_id", "query_id", "author_id", "created_at", "language")


def _mark_deleted(cursor, tenant_id: int, platform: str, external_ids: list[str]) -> int:
    if not external_ids:
        return 0
    cursor.execute(
        "SELECT id FROM listening_mention WHERE tenant_id = %s AND platform = %s "
        "AND external_id = ANY(%s::text[]) AND NOT is_deleted",
        [tenant_id, platform, sorted(external_ids)],
    )
    ids = [row[0] for row in cursor.fetchall()]
    # A platform deletion removes the text (GDPR): ids and metrics stay, texts derived go too.
    from social_crm.customers.gdpr import anonymise_mentions

    return anonymise_mentions(tenant_id, ids)["mentions"]


class StaleCursor(Exception):
    """Another poll of the same stream stored this page first (the cursor moved on)."""


def _lock_cursor(cursor, tenant_id: int, key: CursorKey, expected: dict) -> None:
    """Compare-and-set guard: lock the stream's cursor row and check it is still the cursor the
    page was fetched from; a second poll chain of the same stream waits here, then gives up."""
    cursor.execute(
        "INSERT INTO listening_pollcursor (tenant_id, account_id, query_id, stream, state, updated_at) "
        "VALUES (%s, %s, %s, %s, '{}'::jsonb, now()) ON CONFLICT ON CONSTRAINT cursor_unique DO NOTHING",
        [tenant_id, key.account_id, key.query_id, key.stream])
    cursor.execute(
        "SELECT state FROM listening_pollcursor WHERE tenant_id = %s AND account_id = %s "
        "AND query_id IS NOT DISTINCT FROM %s AND stream = %s FOR UPDATE",
        [tenant_id, key.account_id, key.query_id, key.stream])
    state = cursor.fetchone()[0]
    state = json.loads(state) if isinstance(state, str) else state
    if (state or {}) != json.loads(json.dumps(expected or {}, default=str)):
        raise StaleCursor(f"cursor moved from {expected} to {state}")


def _save_cursor(cursor, tenant_id: int, key: CursorKey, state: dict) -> None:
    cursor.execute(
        """
        INSERT INTO listening_pollcursor (tenant_id, account_id, query_id, stream, state, updated_at)
        VALUES (%s, %s, %s, %s, %s::jsonb, now())
        ON CONFLICT ON CONSTRAINT cursor_unique DO UPDATE SET state = EXCLUDED.state, updated_at = now()
        """,
        [tenant_id, key.account_id, key.query_id, key.stream, json.dumps(state, default=str)],
    )


def _quarantine(tenant_id: int, platform: str, account_id, source: str, items: list[Quarantined]) -> None:
    QuarantinedPayload.objects.bulk_create([
        QuarantinedPayload(tenant_id=tenant_id, platform=platform, account_id=account_id, source=source,
                           payload=_jsonable(q.payload), reason=q.reason[:2000])
        for q in items
    ])


def _jsonable(payload):
    try:
        json.dumps(payload)
        return payload
    except (TypeError, ValueError):
        return {"unparsable": repr(payload)[:100000]}


def _store(cursor, tenant_id, platform, account_id, fetched_at, now, mentions, result: IngestResult) -> None:
    result.erased += _blank_erased(tenant_id, platform, mentions)
    counted = _mentions_by_author(mentions)
    authors = _upsert_authors(cursor, tenant_id, platform, [m.author for m in mentions if m.author], now,
                              counted)
    with counts_given(cursor):
        stored = _upsert_mentions(cursor, tenant_id, platform, account_id, fetched_at, mentions, authors,
                                  _own_user_ids(tenant_id, platform))
    _correct_counts(cursor, tenant_id, {authors[u][0]: n for u, n in counted.items()}, stored)
    ids = {row[0]: row[1] for row in stored}
    matcher = tenant_matcher(tenant_id)
    pairs = [(ids[m.external_id], q) for m in mentions for q in matcher.match(m, platform)]
    _insert_matches(cursor, tenant_id, pairs, {row[1]: (row[7], row[8], row[4] or "") for row in stored})
    result.matched += len({p[0] for p in pairs})
    queries: dict[int, list[int]] = {}
    for pk, query_id in pairs:
        queries.setdefault(pk, []).append(query_id)
    followers = dict(authors.values())
    for _ext, pk, inserted, bucket, language, sentiment, interactions, author_id, _created_at in stored:
        result.stored_ids.append(pk)
        result.hours.add(bucket)
        if inserted:
            result.inserted_ids.append(pk)
            result.new.append(rollups.NewMention(bucket=bucket, platform=platform, language=language,
                                                 sentiment=sentiment, reach=followers.get(author_id, 0),
                                                 interactions=interactions, query_ids=tuple(queries.get(pk, ()))))
        else:
            result.changed_hours.add(bucket)
    result.inserted = len(result.inserted_ids)
    result.updated = len(result.stored_ids) - result.inserted


def ingest_page(tenant_id: int, *, platform: str, page: Page, source: str, account_id: int | None = None,
                cursor_key: CursorKey | None = None, expected_cursor: dict | None = None) -> IngestResult:
    """Store one page for one tenant (see the module docstring). Idempotent; no retries here:
    the caller (a task) retries the whole page, which is safe because of the upserts."""
    result = IngestResult(received=len(page.mentions) + len(page.quarantined))
    now = timezone.now()
    fetched_at = page.fetched_at or now
    quarantined = list(page.quarantined)
    live, deleted = [], []
    for m in page.mentions:
        _drop_unsafe_urls(m)
        problem = _problem(m)
        if problem:
            quarantined.append(Quarantined(payload=m.raw or {"external_id": m.external_id}, reason=problem))
        elif m.is_deleted:
            deleted.append(m.external_id)
        else:
            live.append(m)
    groups: dict[str, list[MentionData]] = {}
    for m in live:
        groups.setdefault(m.platform or platform, []).append(m)
    with tenant_context(tenant_id), _server_binding_cursor() as cursor:
        if cursor_key is not None and expected_cursor is not None:
            _lock_cursor(cursor, tenant_id, cursor_key, expected_cursor)
        for group_platform, items in sorted(groups.items()):
            _store(cursor, tenant_id, group_platform, account_id, fetched_at, now, _newest_versions(items), result)
        result.deleted = _mark_deleted(cursor, tenant_id, platform, deleted)
        if quarantined:
            _quarantine(tenant_id, platform, account_id, source, quarantined)
            result.quarantined = len(quarantined)
        if cursor_key is not None:
            _save_cursor(cursor, tenant_id, cursor_key, page.cursor)
        # The dashboards' rollups of the hours this page touched, last: the advisory locks it
        # takes are then held for the shortest time (analytics/rollups.py). The new mentions are
        # added to their hours' rows, from the facts the upserts returned; the hours of updated
        # mentions are recomputed. A deletion above recomputed hours already (anonymise_mentions),
        # counting this page's new mentions of those hours: then every hour of the page is
        # recomputed (deletion markers are rare).
        if deleted:
            rollups.count(tenant_id, recompute_hours=result.hours)
        else:
            rollups.count(tenant_id, recompute_hours=result.changed_hours, new=result.new)
        if result.inserted_ids:
            # Tag the new mentions once they are committed (edited ones: the backfill, see nlp.stage).
            from social_crm.webhooks.events import emit

            from .nlp.stage import enqueue_tagging

            new_ids = list(result.inserted_ids)
            transaction.on_commit(lambda: enqueue_tagging(tenant_id, new_ids))
            emit(tenant_id, "mention.stored", {"mention_ids": new_ids})  # webhooks: a no-op without subscribers
    return result
