"""Keeping the hourly rollups (analytics.models) equal to the raw mentions.

``refresh(tenant_id, mention_ids)`` is called by every write that changes what a rollup counts,
inside the writer's transaction, so a rollup is never ahead of or behind its mentions:

* ``listening.ingest.ingest_page``: new mentions, edits that refresh metrics or the author;
* ``listening.nlp.stage.tag_mentions`` and ``topic_actions.retopic_batch``: language,
  sentiment, topics, entities;
* ``topic_actions.set_mention_topic`` and ``nlp.corrections.correct_sentiment``: a person's word;
* ``social_crm.customers.gdpr.anonymise_mentions``: platform deletions, erasure, retention
  (entities go; counts, dates and metrics stay, as the GDPR module promises).

It recomputes the UTC hours those mentions fall in from the raw rows: one statement deletes
the rollup rows of those hours and inserts the new GROUP BY (data-modifying CTEs see the same
snapshot, so the DELETE never sees the rows the INSERT adds: no unique key is needed and none
exists). A mention's hour never changes (``created_at`` is the platform's), so moving a
mention between sentiments, languages or topics is a recompute of its hour.

Concurrency: two transactions refreshing the same hour would each delete the rows the other
cannot see yet and insert their own GROUP BY, so the hour would be counted twice. A
transaction-level advisory lock per (tenant, hour), taken in sorted order by a first statement,
serialises them; the refresh statement then starts with a snapshot that sees the other
transaction's committed mentions. Hence two statements per call, whatever the page size.

Reach is the sum of the authors' follower counts as they are when the hour is computed (the
count stored on ``listening_author``, refreshed by ingestion); an author's later follower
change does not rewrite older hours until they are refreshed or rebuilt.

Idempotent: refreshing twice writes the same rows. No retry here: it runs in the caller's
transaction and fails with it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from django.db import connection, transaction

from social_crm.tenancy.scope import tenant_context

# The mention facts every rollup groups by. The language is the NLP's, else the platform's
# (first subtag, "en-GB" -> "en"), so an untagged mention still counts under a language.
_FACTS = """
    SELECT m.id, date_trunc('hour', m.created_at, 'UTC') AS bucket, m.platform,
           COALESCE(NULLIF(m.detected_language, ''), left(lower(split_part(m.language, '-', 1)), 8)) AS language,
           m.sentiment, COALESCE(a.followers, 0) AS reach,
           COALESCE(m.like_count, 0) + COALESCE(m.share_count, 0) + COALESCE(m.reply_count, 0) AS interactions,
           m.entities
    FROM r JOIN listening_mention m ON m.tenant_id = %(t)s AND m.created_at >= r.lo AND m.created_at < r.hi
    LEFT JOIN listening_author a ON a.tenant_id = %(t)s AND a.id = m.author_id
"""

_REFRESH_SQL = f"""
WITH r AS (SELECT * FROM unnest(%(lo)s::timestamptz[], %(hi)s::timestamptz[]) AS r(lo, hi)),
m AS MATERIALIZED ({_FACTS}),
d1 AS (DELETE FROM analytics_mentionrollup x USING r
       WHERE x.tenant_id = %(t)s AND x.bucket >= r.lo AND x.bucket < r.hi),
d2 AS (DELETE FROM analytics_topicrollup x USING r
       WHERE x.tenant_id = %(t)s AND x.bucket >= r.lo AND x.bucket < r.hi),
d3 AS (DELETE FROM analytics_termrollup x USING r
       WHERE x.tenant_id = %(t)s AND x.bucket >= r.lo AND x.bucket < r.hi),
i1 AS (INSERT INTO analytics_mentionrollup (tenant_id, bucket, query_id, platform, language, sentiment,
                                            mentions, reach, interactions)
       -- NULL query: every mention once; then once per query it matched
       SELECT %(t)s, m.bucket, q.query_id, m.platform, m.language, m.sentiment,
              count(*), sum(m.reach), sum(m.interactions)
       FROM m CROSS JOIN LATERAL (
           SELECT NULL::bigint UNION ALL
           SELECT mm.query_id FROM listening_mentionmatch mm WHERE mm.tenant_id = %(t)s AND mm.mention_id = m.id
       ) AS q(query_id)
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

_LOCK_HOURS_SQL = """
SELECT h, pg_advisory_xact_lock(%(t)s::int, (extract(epoch FROM h) / 3600)::int)
FROM (SELECT DISTINCT date_trunc('hour', created_at, 'UTC') AS h FROM listening_mention
      WHERE tenant_id = %(t)s AND id = ANY(%(ids)s) ORDER BY 1) AS hours
"""

HOUR = timedelta(hours=1)


def refresh(tenant_id: int, mention_ids: Iterable[int]) -> int:
    """Recompute every rollup of the hours these mentions fall in (module docstring). Call it in
    the transaction that changed them, after the change. Returns the number of hours."""
    ids = sorted({int(i) for i in mention_ids})
    if not ids:
        return 0
    with tenant_context(tenant_id), connection.cursor() as cursor:
        cursor.execute(_LOCK_HOURS_SQL, {"t": tenant_id, "ids": ids})
        hours = [row[0] for row in cursor.fetchall()]
        _recompute(cursor, tenant_id, [(h, h + HOUR) for h in hours])
    return len(hours)


def _recompute(cursor, tenant_id: int, ranges: list[tuple[datetime, datetime]]) -> None:
    """Delete and re-insert the rollups of these non-overlapping [lo, hi) ranges (whole hours)."""
    if ranges:
        cursor.execute(_REFRESH_SQL, {"t": tenant_id, "lo": [lo for lo, _hi in ranges],
                                      "hi": [hi for _lo, hi in ranges]})


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
