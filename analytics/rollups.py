"""Keeping the hourly rollups (analytics.models) equal to the raw mentions.

``refresh(tenant_id, mention_ids)`` (or ``count(tenant_id, recompute_hours=..., new=...)``) is
called by every write that changes what a rollup counts, inside the writer's transaction, so a
rollup is never ahead of or behind its mentions:

* ``listening.ingest.ingest_page`` (``count``): new mentions, edits that refresh metrics or the
  author;
* ``listening.nlp.stage.tag_mentions`` and ``topic_actions.retopic_batch``: language,
  sentiment, topics, entities;
* ``topic_actions.set_mention_topic`` and ``nlp.corrections.correct_sentiment``: a person's word;
* ``social_crm.customers.gdpr.anonymise_mentions``: platform deletions, erasure, retention
  (entities go; counts, dates and metrics stay, as the GDPR module promises).

Two ways to keep an hour right:

* **Recompute** (any change): one statement deletes the rollup rows of the hours those mentions
  fall in, a second inserts the GROUP BY of the raw rows of those hours. A mention's hour never
  changes (``created_at`` is the platform's), so moving a mention between sentiments, languages
  or topics is a recompute of its hour. Its cost is the size of the hours, not of the change.
* **Add** (``count(new=...)``: mentions inserted by this transaction and not counted by any
  refresh of it yet, with the facts the inserting statement returned): their counts are summed
  in Python and added to the mention rollup rows of their hours (INSERT ... ON CONFLICT DO UPDATE
  SET mentions = mentions + ..., on the table's unique key), without reading a table. Ingestion
  stores new mentions into hours that already hold thousands of them; adding costs the page,
  not the hours. A new mention has no topics or entities yet (the NLP stage tags it after the commit and
  recomputes then), so the topic and term rollups have nothing to add. New mentions in an hour
  that is recomputed anyway are counted by the recompute, not added.

Concurrency: two transactions recomputing the same hour would each delete the rows the other
cannot see yet and insert their own GROUP BY, so the hour would be counted twice; a recompute
beside an add would count the added mention in both. A transaction-level advisory lock per
(tenant, hour), taken in sorted order by a first statement, serialises them: exclusive for an
hour to recompute, shared for an hour that is only added to (adds commute: concurrent adders
meet on the rows' locks, taken in key order, and each adds to the latest committed value). The
statements after it start with a snapshot that sees the other transactions' committed mentions.

Reach is the sum of the authors' follower counts as they are when the mention is counted
(added, or its hour recomputed; the count stored on ``listening_author``, refreshed by
ingestion); an author's later follower change does not rewrite the hours already counted until
they are recomputed or rebuilt.

Idempotent: a recompute writes the same rows twice; an add happens once per insertion, in the
transaction that inserted (a retried page finds its mentions stored: updates, not new). No retry
here: it runs in the caller's transaction and fails with it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection, transaction

from social_crm.tenancy.scope import tenant_context

from .selectors import LANGUAGE_SQL

# The mention facts every rollup groups by. The language is the NLP's, else the platform's
# (first subtag, "en-GB" -> "en"), so an untagged mention still counts under a language.
_FACT_COLUMNS = f"""
    SELECT m.id, date_trunc('hour', m.created_at, 'UTC') AS bucket, m.platform,
           {LANGUAGE_SQL} AS language,
           m.sentiment, COALESCE(a.followers, 0) AS reach,
           COALESCE(m.like_count, 0) + COALESCE(m.share_count, 0) + COALESCE(m.reply_count, 0) AS interactions,
           m.entities
"""
# The author per mention, as a probe of the (tenant, id) key: with a plain join and stale
# statistics (an author table that grew from empty since it was last analysed) the planner took
# the range for two rows and joined it to the tenant's whole author index, materialised:
# 226,000 rows filtered for 536 mentions, 10 ms a recompute in bench-ingest. A correlated
# LATERAL can only be run per mention, through the key.
_AUTHOR_JOIN = """LEFT JOIN LATERAL (SELECT a.followers FROM listening_author a
                                    WHERE a.tenant_id = %(t)s AND a.id = m.author_id OFFSET 0) AS a ON true"""
# Per range (LATERAL): the (tenant, created_at) index then bounds each scan by its hour even when
# the planner's statistics are stale (a new tenant), instead of scanning the tenant and filtering
# (OFFSET 0 keeps the planner from flattening the LATERAL back into a join).
_FACTS = f"""{_FACT_COLUMNS}
    FROM r CROSS JOIN LATERAL (
        SELECT * FROM listening_mention m
        WHERE m.tenant_id = %(t)s AND m.created_at >= r.lo AND m.created_at < r.hi OFFSET 0) AS m
    {_AUTHOR_JOIN}
"""
# Per matched query as well as once for all: the NULL query row counts every mention once.
_PER_QUERY = """CROSS JOIN LATERAL (
           SELECT NULL::bigint UNION ALL
           SELECT mm.query_id FROM listening_mentionmatch mm WHERE mm.tenant_id = %(t)s AND mm.mention_id = m.id
       ) AS q(query_id)"""

_DELETE_SQL = """
WITH r AS (SELECT * FROM unnest(%(lo)s::timestamptz[], %(hi)s::timestamptz[]) AS r(lo, hi)),
d1 AS (DELETE FROM analytics_mentionrollup x USING r
       WHERE x.tenant_id = %(t)s AND x.bucket >= r.lo AND x.bucket < r.hi),
d2 AS (DELETE FROM analytics_topicrollup x USING r
       WHERE x.tenant_id = %(t)s AND x.bucket >= r.lo AND x.bucket < r.hi)
DELETE FROM analytics_termrollup x USING r
WHERE x.tenant_id = %(t)s AND x.bucket >= r.lo AND x.bucket < r.hi
"""

# After _DELETE_SQL (a statement of its own: the mention rollup's unique key must not meet the
# rows it replaces).
_REFRESH_SQL = f"""
WITH r AS (SELECT * FROM unnest(%(lo)s::timestamptz[], %(hi)s::timestamptz[]) AS r(lo, hi)),
m AS MATERIALIZED ({_FACTS}),
i1 AS (INSERT INTO analytics_mentionrollup (tenant_id, bucket, query_id, platform, language, sentiment,
                                            mentions, reach, interactions)
       SELECT %(t)s, m.bucket, q.query_id, m.platform, m.language, m.sentiment,
              count(*), sum(m.reach), sum(m.interactions)
       FROM m {_PER_QUERY}
       GROUP BY m.bucket, q.query_id, m.platform, m.language, m.sentiment),
i2 AS (INSERT INTO analytics_topicrollup (tenant_id, bucket, topic_id, platform, language, sentiment,
                                          mentions, reach, interactions)
       SELECT %(t)s, m.bucket, mt.topic_id, m.platform, m.language, m.sentiment,
              count(*), sum(m.reach), sum(m.interactions)
       FROM m JOIN listening_mentiontopic mt ON mt.tenant_id = %(t)s AND mt.mention_id = m.id
       GROUP BY m.bucket, mt.topic_id, m.platform, m.language, m.sentiment),
i3 AS (INSERT INTO analytics_termrollup (tenant_id, bucket, term, kind, platform, language, sentiment, mentions)
       SELECT %(t)s, m.bucket, e.term, e.kind, m.platform, m.language, m.sentiment, count(*)
       FROM m CROSS JOIN LATERAL (
           -- one row per distinct term of the mention: a name said twice is one mention of it
           SELECT DISTINCT left(COALESCE(NULLIF(x->>'canonical', ''), lower(x->>'text')), 200) AS term,
                           left(COALESCE(x->>'label', ''), 20) AS kind
           FROM jsonb_array_elements(CASE WHEN jsonb_typeof(m.entities) = 'array' THEN m.entities
                                          ELSE '[]'::jsonb END) AS x
       ) AS e
       WHERE e.term <> ''
       GROUP BY m.bucket, e.term, e.kind, m.platform, m.language, m.sentiment)
SELECT 1
"""

# The given hours (sorted), locked in that order: exclusive for an hour to recompute, shared for
# an hour that is only added to.
_LOCK_HOURS_SQL = """
SELECT CASE WHEN again THEN pg_advisory_xact_lock(%(t)s::int, (extract(epoch FROM h) / 3600)::int)::text
            ELSE pg_advisory_xact_lock_shared(%(t)s::int, (extract(epoch FROM h) / 3600)::int)::text END
FROM (SELECT h, again FROM unnest(%(h)s::timestamptz[], %(again)s::bool[]) AS u(h, again) ORDER BY h) AS hours
"""

# Counts added to the mention rollup rows, in key order (concurrent adders lock rows in the same
# order, so they cannot deadlock).
_ADD_SQL = """
INSERT INTO analytics_mentionrollup AS x (tenant_id, bucket, query_id, platform, language, sentiment,
                                          mentions, reach, interactions)
SELECT %(t)s, r.bucket, r.query_id, r.platform, r.language, r.sentiment, r.mentions, r.reach, r.interactions
FROM unnest(%(bucket)s::timestamptz[], %(query)s::bigint[], %(platform)s::text[], %(language)s::text[],
            %(sentiment)s::text[], %(mentions)s::bigint[], %(reach)s::bigint[], %(interactions)s::bigint[])
     WITH ORDINALITY AS r(bucket, query_id, platform, language, sentiment, mentions, reach, interactions, n)
ORDER BY r.n
ON CONFLICT (tenant_id, bucket, query_id, platform, language, sentiment) DO UPDATE SET
    mentions = x.mentions + EXCLUDED.mentions, reach = x.reach + EXCLUDED.reach,
    interactions = x.interactions + EXCLUDED.interactions
"""

HOUR = timedelta(hours=1)


@dataclass(frozen=True)
class NewMention:
    """A mention this transaction inserted, as the mention rollup counts it: its facts as stored
    (``bucket`` its UTC hour, ``language`` as selectors.LANGUAGE_SQL, ``reach`` its author's followers now)
    and the listening queries it matched."""

    bucket: datetime
    platform: str
    language: str
    sentiment: str
    reach: int
    interactions: int
    query_ids: tuple[int, ...] = ()


def refresh(tenant_id: int, mention_ids: Iterable[int]) -> int:
    """Recompute the rollups of these mentions' hours (module docstring). Call it in the
    transaction that changed them, after the change. Returns the number of hours."""
    ids = sorted({int(i) for i in mention_ids})
    if not ids:
        return 0
    with tenant_context(tenant_id), connection.cursor() as cursor:
        cursor.execute("SELECT DISTINCT date_trunc('hour', created_at, 'UTC') FROM listening_mention "
                       "WHERE tenant_id = %s AND id = ANY(%s::bigint[])", [tenant_id, ids])
        hours = [h for (h,) in cursor.fetchall()]
    return count(tenant_id, recompute_hours=hours)


def count(tenant_id: int, *, recompute_hours: Iterable[datetime] = (), new: Iterable[NewMention] = ()) -> int:
    """Recompute these hours (whole UTC hours) and add these new mentions to their hours' mention
    rollup rows, those in a recomputed hour excepted (the recompute counts them). ``new`` must be
    mentions no refresh has counted yet: ingestion passes the ones it just inserted, with the facts
    its statements returned, so adding reads no table. Returns the number of hours."""
    again = set(recompute_hours)
    new = [m for m in new if m.bucket not in again]
    hours = sorted(again | {m.bucket for m in new})
    if not hours:
        return 0
    with tenant_context(tenant_id), connection.cursor() as cursor:
        cursor.execute(_LOCK_HOURS_SQL, {"t": tenant_id, "h": hours, "again": [h in again for h in hours]})
        _recompute(cursor, tenant_id, [(h, h + HOUR) for h in sorted(again)])
        if new:
            cursor.execute(_ADD_SQL, _added_rows(tenant_id, new))
    return len(hours)


def _added_rows(tenant_id: int, new: list[NewMention]) -> dict:
    """The rollup rows of these mentions, summed per key and sorted by key: once under the NULL
    query (every mention) and once per query it matched, as the recompute's GROUP BY counts."""
    sums: dict[tuple, list[int]] = {}
    for m in new:
        for query_id in (None, *sorted(set(m.query_ids))):
            row = sums.setdefault((m.bucket, query_id, m.platform, m.language, m.sentiment), [0, 0, 0])
            row[0] += 1
            row[1] += m.reach
            row[2] += m.interactions
    keys = sorted(sums, key=lambda k: (k[0], k[1] is not None, k[1] or 0, *k[2:]))
    columns = ("bucket", "query", "platform", "language", "sentiment")
    params = {name: [k[i] for k in keys] for i, name in enumerate(columns)}
    params.update(t=tenant_id, mentions=[sums[k][0] for k in keys], reach=[sums[k][1] for k in keys],
                  interactions=[sums[k][2] for k in keys])
    return params


def _recompute(cursor, tenant_id: int, ranges: list[tuple[datetime, datetime]]) -> None:
    """Delete and re-insert the rollups of these non-overlapping [lo, hi) ranges (whole hours)."""
    if ranges:
        params = {"t": tenant_id, "lo": [lo for lo, _hi in ranges], "hi": [hi for _lo, hi in ranges]}
        cursor.execute(_DELETE_SQL, params)
        cursor.execute(_REFRESH_SQL, params)


def rebuild(tenant_id: int, start: datetime, end: datetime, *, chunk: timedelta = timedelta(days=7),
            progress: Callable[[datetime, datetime], None] | None = None) -> int:
    """Recompute the rollups of [start, end) (whole UTC hours), one transaction per ``chunk``
    (a week of a big tenant is a few hundred thousand mentions: seconds, bounded memory).
    Takes one table-wide lock per chunk instead of one per hour: a concurrent refresh of an
    hour in the chunk waits for it. Idempotent; returns the number of chunks done."""
    start = start.replace(minute=0, second=0, microsecond=0)
    done = 0
    lo = start
    while lo < end:
        hi = min(lo + chunk, end)
        with transaction.atomic(), tenant_context(tenant_id), connection.cursor() as cursor:
            hours = int((hi - lo) / HOUR) + 1
            cursor.execute(
                "SELECT pg_advisory_xact_lock(%s::int, (extract(epoch FROM h) / 3600)::int) "
                "FROM generate_series(%s::timestamptz, %s::timestamptz, interval '1 hour') AS h",
                [tenant_id, lo, lo + (hours - 1) * HOUR])
            _recompute(cursor, tenant_id, [(lo, hi)])
        done += 1
        if progress is not None:
            progress(lo, hi)
        lo = hi
    return done


def mention_span(tenant_id: int) -> tuple[datetime, datetime] | None:
    """The first and last hour (exclusive end) of the tenant's mentions, or None."""
    with tenant_context(tenant_id), connection.cursor() as cursor:
        cursor.execute("SELECT min(created_at), max(created_at) FROM listening_mention WHERE tenant_id = %s",
                       [tenant_id])
        first, last = cursor.fetchone()
    if first is None:
        return None
    return first.replace(minute=0, second=0, microsecond=0), last.replace(minute=0, second=0, microsecond=0) + HOUR
