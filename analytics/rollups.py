"""Keeping the hourly rollups (analytics.models) equal to the raw mentions.

``refresh(tenant_id, mention_ids, new_ids=...)`` is called by every write that changes what a
rollup counts, inside the writer's transaction, so a rollup is never ahead of or behind its
mentions:

* ``listening.ingest.ingest_page``: new mentions, edits that refresh metrics or the author;
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
* **Add** (``new_ids``: mentions inserted by this transaction and not counted by any refresh of
  it yet): their counts are added to the mention rollup rows of their hours (INSERT ... ON
  CONFLICT DO UPDATE SET mentions = mentions + ..., on the table's unique key). Ingestion stores
  new mentions into hours that already hold thousands of them; adding costs the page, not the
  hours. A new mention has no topics or entities yet (the NLP stage tags it after the commit and
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
from datetime import datetime, timedelta

from django.db import connection, transaction

from social_crm.tenancy.scope import tenant_context

# The mention facts every rollup groups by. The language is the NLP's, else the platform's
# (first subtag, "en-GB" -> "en"), so an untagged mention still counts under a language.
_FACT_COLUMNS = """
    SELECT m.id, date_trunc('hour', m.created_at, 'UTC') AS bucket, m.platform,
           COALESCE(NULLIF(m.detected_language, ''), left(lower(split_part(m.language, '-', 1)), 8)) AS language,
           m.sentiment, COALESCE(a.followers, 0) AS reach,
           COALESCE(m.like_count, 0) + COALESCE(m.share_count, 0) + COALESCE(m.reply_count, 0) AS interactions,
           m.entities
"""
_AUTHOR_JOIN = "LEFT JOIN listening_author a ON a.tenant_id = %(t)s AND a.id = m.author_id"
_FACTS = f"""{_FACT_COLUMNS}
    FROM r JOIN listening_mention m ON m.tenant_id = %(t)s AND m.created_at >= r.lo AND m.created_at < r.hi
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

# The hours of these mentions, locked in order: exclusive where a mention is not new (the hour is
# recomputed), shared where every mention of the hour is new (it is only added to).
_LOCK_HOURS_SQL = """
SELECT h, recompute,
       CASE WHEN recompute THEN pg_advisory_xact_lock(%(t)s::int, (extract(epoch FROM h) / 3600)::int)::text
            ELSE pg_advisory_xact_lock_shared(%(t)s::int, (extract(epoch FROM h) / 3600)::int)::text END
FROM (SELECT date_trunc('hour', created_at, 'UTC') AS h, bool_or(id <> ALL(%(new)s::bigint[])) AS recompute
      FROM listening_mention WHERE tenant_id = %(t)s AND id = ANY(%(ids)s::bigint[]) GROUP BY 1 ORDER BY 1) AS hours
"""

# New mentions added to their hours' rows, in key order (concurrent adders lock rows in the
# same order, so they cannot deadlock).
_ADD_SQL = f"""
INSERT INTO analytics_mentionrollup AS x (tenant_id, bucket, query_id, platform, language, sentiment,
                                          mentions, reach, interactions)
SELECT %(t)s, m.bucket, q.query_id, m.platform, m.language, m.sentiment,
       count(*), sum(m.reach), sum(m.interactions)
FROM ({_FACT_COLUMNS} FROM listening_mention m {_AUTHOR_JOIN}
      WHERE m.tenant_id = %(t)s AND m.id = ANY(%(ids)s::bigint[])) AS m
{_PER_QUERY}
WHERE m.bucket <> ALL(%(skip)s::timestamptz[])
GROUP BY m.bucket, q.query_id, m.platform, m.language, m.sentiment
ORDER BY m.bucket, q.query_id, m.platform, m.language, m.sentiment
ON CONFLICT (tenant_id, bucket, query_id, platform, language, sentiment) DO UPDATE SET
    mentions = x.mentions + EXCLUDED.mentions, reach = x.reach + EXCLUDED.reach,
    interactions = x.interactions + EXCLUDED.interactions
"""

HOUR = timedelta(hours=1)


def refresh(tenant_id: int, mention_ids: Iterable[int], *, new_ids: Iterable[int] = ()) -> int:
    """Bring the rollups of these mentions' hours up to date (module docstring). Call it in the
    transaction that changed them, after the change. ``new_ids``: those of ``mention_ids`` this
    transaction inserted and no refresh of it has counted yet (they are added, unless their hour
    is recomputed anyway). Returns the number of hours."""
    ids = sorted({int(i) for i in mention_ids})
    if not ids:
        return 0
    new = sorted({int(i) for i in new_ids})
    with tenant_context(tenant_id), connection.cursor() as cursor:
        cursor.execute(_LOCK_HOURS_SQL, {"t": tenant_id, "ids": ids, "new": new})
        hours = cursor.fetchall()
        recompute = [h for h, again, _lock in hours if again]
        _recompute(cursor, tenant_id, [(h, h + HOUR) for h in recompute])
        if len(recompute) < len(hours):
            # The new mentions of recomputed hours are counted there, not added.
            cursor.execute(_ADD_SQL, {"t": tenant_id, "ids": sorted(set(new).intersection(ids)), "skip": recompute})
    return len(hours)


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
