"""The reputation metrics, read from the hourly rollups, or from the raw mentions when the
filters name something the rollups do not keep (a department; a topic with a query; several
queries, which the per-query rows would count twice for a mention matching both).

Every function takes the tenant id first and a ``Filters``, runs inside the caller's
``tenant_context`` (row-level security applies) and returns plain data. ``source="raw"`` forces
the raw path: `make bench-dashboard` compares both, and the tests check they agree.

Time buckets are cut in the filter's time zone (``date_trunc(unit, ts, tz)``); rollups are
hourly in UTC, so zones with a whole-hour offset (all of Europe, the Americas) are exact and a
half-hour zone's days are off by those 30 minutes.
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass, replace
from datetime import datetime, time, timedelta

from django.db import connection

from listening.models import QueryKind

from .filters import Filters

LANGUAGE_SQL = "COALESCE(NULLIF(m.detected_language, ''), left(lower(split_part(m.language, '-', 1)), 8))"
INTERACTIONS_SQL = "COALESCE(m.like_count, 0) + COALESCE(m.share_count, 0) + COALESCE(m.reply_count, 0)"
SENTIMENTS = ("positive", "neutral", "negative")


def _rows(sql: str, params: dict) -> list[dict]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        names = [c.name for c in cursor.description]
        return [dict(zip(names, row)) for row in cursor.fetchall()]


def _params(tenant_id: int, f: Filters) -> dict:
    return {"t": tenant_id, "lo": f.start, "hi": f.end, "tz": f.tz, "unit": f.interval, "queries": list(f.queries),
            "platform": f.platform, "language": f.language, "topic": f.topic, "department": f.department,
            "limit": f.limit}


def _raw_where(f: Filters, *, query_join: bool = False) -> str:
    """WHERE of the raw mention reads (alias m). ``query_join``: the caller joins the matches
    (alias mm) itself, so the query filter goes on them."""
    return " AND ".join([RANGE_SQL, *_raw_filters(f, query_join=query_join)])


RANGE_SQL = "m.tenant_id = %(t)s AND m.created_at >= %(lo)s AND m.created_at < %(hi)s"


def _raw_filters(f: Filters, *, query_join: bool = False) -> list[str]:
    """The conditions of the raw mention reads past the tenant and the range (_raw_where)."""
    where = []
    if f.platform:
        where.append("m.platform = %(platform)s")
    if f.language:
        where.append(f"{LANGUAGE_SQL} = %(language)s")
    if f.queries and not query_join:
        where.append("EXISTS (SELECT 1 FROM listening_mentionmatch q WHERE q.tenant_id = %(t)s "
                     "AND q.mention_id = m.id AND q.query_id = ANY(%(queries)s))")
    if f.topic:
        where.append("EXISTS (SELECT 1 FROM listening_mentiontopic mt WHERE mt.tenant_id = %(t)s "
                     "AND mt.mention_id = m.id AND mt.topic_id = %(topic)s)")
    if f.department:
        # An inbound message of one of the department's conversations (the brand's published
        # replies are messages too, but they are not what people said to the department).
        where.append("EXISTS (SELECT 1 FROM inbox_message msg JOIN inbox_conversation c ON c.tenant_id = %(t)s "
                     "AND c.id = msg.conversation_id WHERE msg.tenant_id = %(t)s AND msg.mention_id = m.id "
                     "AND msg.direction = 'in' AND c.department_id = %(department)s)")
    return where


def _raw_facts(f: Filters) -> str:
    """One row per mention, with the columns of a rollup row (mentions = 1)."""
    return f"""
        SELECT m.created_at AS bucket, m.platform, m.sentiment, 1 AS mentions, COALESCE(a.followers, 0) AS reach,
               {INTERACTIONS_SQL} AS interactions
        FROM listening_mention m LEFT JOIN listening_author a ON a.tenant_id = %(t)s AND a.id = m.author_id
        WHERE {_raw_where(f)}"""


def _rollup_where(f: Filters, table: str, *, per_query: bool = False) -> str:
    """WHERE of a rollup read (alias x). ``per_query``: every query's rows (share of voice),
    not the all-mentions row nor the selected queries' rows."""
    where = ["x.tenant_id = %(t)s", "x.bucket >= %(lo)s", "x.bucket < %(hi)s"]
    if f.platform:
        where.append("x.platform = %(platform)s")
    if f.language:
        where.append("x.language = %(language)s")
    if table == "analytics_mentionrollup":
        where.append("x.query_id IS NOT NULL" if per_query else "x.query_id = ANY(%(queries)s)" if f.queries
                     else "x.query_id IS NULL")
    if table == "analytics_topicrollup" and f.topic:
        where.append("x.topic_id = %(topic)s")
    return " AND ".join(where)


def _volume_source(f: Filters, source: str) -> tuple[str, str]:
    """(FROM clause yielding bucket/platform/sentiment/mentions/reach/interactions, source name)."""
    if source != "raw" and not f.department and len(f.queries) <= 1:
        if not f.topic:
            return f"(SELECT * FROM analytics_mentionrollup x WHERE {_rollup_where(f, 'analytics_mentionrollup')})", \
                "rollup"
        if not f.queries:
            return f"(SELECT * FROM analytics_topicrollup x WHERE {_rollup_where(f, 'analytics_topicrollup')})", \
                "rollup"
    return f"({_raw_facts(f)})", "raw"


def _slots(f: Filters) -> list[datetime]:
    """Every bucket start of the range, in order (so empty buckets show as zeros)."""
    zone = zoneinfo.ZoneInfo(f.tz)
    if f.interval == "hour":
        out, t = [], f.start.astimezone(zoneinfo.ZoneInfo("UTC"))
        while t < f.end:
            out.append(t)
            t += timedelta(hours=1)
        return out
    day = f.first_day
    if f.interval == "week":
        day -= timedelta(days=day.weekday())  # date_trunc('week') starts on Monday
    step = timedelta(days=7 if f.interval == "week" else 1)
    out = []
    while day <= f.last_day:
        out.append(datetime.combine(day, time(0), tzinfo=zone))
        day += step
    return out


def _series(tenant_id: int, f: Filters, source: str) -> tuple[dict, str]:
    """{bucket start: {sentiment: (mentions, reach, interactions)}} and the source used."""
    from_sql, used = _volume_source(f, source)
    if used == "rollup":
        # Several rollup rows share an hour (one per platform and language): sum them first, so
        # the time-zone cut runs once per hour and sentiment, not once per row.
        from_sql = f"""(SELECT x.bucket, x.sentiment, sum(x.mentions) AS mentions, sum(x.reach) AS reach,
                               sum(x.interactions) AS interactions FROM {from_sql} x GROUP BY 1, 2)"""
    rows = _rows(f"""
        SELECT date_trunc(%(unit)s, s.bucket, %(tz)s) AS t, s.sentiment, sum(s.mentions) AS mentions,
               sum(s.reach) AS reach, sum(s.interactions) AS interactions
        FROM {from_sql} s GROUP BY 1, 2""", _params(tenant_id, f))
    out: dict = {}
    for row in rows:
        out.setdefault(row["t"], {})[row["sentiment"]] = (int(row["mentions"]), int(row["reach"]),
                                                          int(row["interactions"]))
    return out, used


def _ratio(num, den):
    return round(num / den, 4) if den else None


def volume(tenant_id: int, f: Filters, *, source: str = "auto") -> dict:
    data, used = _series(tenant_id, f, source)
    points = []
    for t in _slots(f):
        cells = data.get(t, {})
        point = {"t": t.isoformat(), "total": sum(c[0] for c in cells.values())}
        for s in SENTIMENTS:
            point[s] = cells.get(s, (0, 0, 0))[0]
        point["untagged"] = point["total"] - sum(point[s] for s in SENTIMENTS)
        points.append(point)
    return {"interval": f.interval, "source": used, "total": sum(p["total"] for p in points), "points": points}


def _net(counts: dict) -> float | None:
    """(positive - negative) / tagged mentions; untagged mentions have no say."""
    tagged = sum(counts.get(s, 0) for s in SENTIMENTS)
    return _ratio(counts.get("positive", 0) - counts.get("negative", 0), tagged)


def net_sentiment(tenant_id: int, f: Filters, *, source: str = "auto") -> dict:
    data, used = _series(tenant_id, f, source)
    previous = f.previous()
    from_sql, _used = _volume_source(previous, source)
    before = dict.fromkeys(SENTIMENTS, 0)  # the previous period's totals: no buckets to cut
    for row in _rows(f"SELECT s.sentiment, sum(s.mentions) AS mentions FROM {from_sql} s GROUP BY 1",
                     _params(tenant_id, previous)):
        if row["sentiment"] in before:
            before[row["sentiment"]] = int(row["mentions"])
    points, totals = [], dict.fromkeys(SENTIMENTS, 0)
    for t in _slots(f):
        counts = {s: data.get(t, {}).get(s, (0, 0, 0))[0] for s in SENTIMENTS}
        for s in SENTIMENTS:
            totals[s] += counts[s]
        points.append({"t": t.isoformat(), **counts, "tagged": sum(counts.values()), "net_sentiment": _net(counts)})
    now, then = _net(totals), _net(before)
    return {"interval": f.interval, "source": used, "net_sentiment": now, "previous_net_sentiment": then,
            "change": round(now - then, 4) if now is not None and then is not None else None, **totals,
            "points": points}


def reach(tenant_id: int, f: Filters, *, source: str = "auto") -> dict:
    data, used = _series(tenant_id, f, source)
    points = []
    for t in _slots(f):
        cells = data.get(t, {}).values()
        n, r, i = (sum(c[k] for c in cells) for k in range(3))
        points.append({"t": t.isoformat(), "mentions": n, "reach": r, "interactions": i,
                       "engagement_rate": _ratio(i, r)})
    total_reach = sum(p["reach"] for p in points)
    total_interactions = sum(p["interactions"] for p in points)
    return {"interval": f.interval, "source": used, "reach": total_reach, "interactions": total_interactions,
            "engagement_rate": _ratio(total_interactions, total_reach), "points": points}


def share_of_voice(tenant_id: int, f: Filters, *, source: str = "auto") -> dict:
    """Mentions per own-brand and competitor query; each query's share of their sum."""
    params = _params(tenant_id, f)
    kinds = [QueryKind.BRAND.value, QueryKind.COMPETITOR.value]
    params["kinds"] = kinds
    only = "AND lq.id = ANY(%(queries)s)" if f.queries else ""
    if source != "raw" and not f.department and not f.topic:
        where = _rollup_where(f, "analytics_mentionrollup", per_query=True)
        counts = f"SELECT x.query_id, sum(x.mentions) AS mentions FROM analytics_mentionrollup x WHERE {where} " \
                 f"GROUP BY 1"
        used = "rollup"
    else:
        counts = f"""SELECT mm.query_id, count(*) AS mentions FROM listening_mention m
                     JOIN listening_mentionmatch mm ON mm.tenant_id = %(t)s AND mm.mention_id = m.id
                     WHERE {_raw_where(f, query_join=True)} GROUP BY 1"""
        used = "raw"
    rows = _rows(f"""
        SELECT lq.id AS query_id, lq.name, lq.kind, COALESCE(c.mentions, 0) AS mentions
        FROM listening_listeningquery lq LEFT JOIN ({counts}) c ON c.query_id = lq.id
        WHERE lq.tenant_id = %(t)s AND lq.kind = ANY(%(kinds)s) {only}
        ORDER BY mentions DESC, lq.name""", params)
    total = sum(int(r["mentions"]) for r in rows)
    out = [{"query_id": r["query_id"], "name": r["name"], "kind": r["kind"], "mentions": int(r["mentions"]),
            "share": _ratio(int(r["mentions"]), total)} for r in rows]
    brand = sum(r["mentions"] for r in out if r["kind"] == QueryKind.BRAND)
    return {"source": used, "total": total, "brand_share": _ratio(brand, total), "rows": out}


def top_topics(tenant_id: int, f: Filters, *, source: str = "auto") -> dict:
    params = _params(tenant_id, f)
    if source != "raw" and not f.department and not f.queries:
        counts = f"""SELECT x.topic_id, x.sentiment, sum(x.mentions) AS mentions FROM analytics_topicrollup x
                     WHERE {_rollup_where(f, 'analytics_topicrollup')} GROUP BY 1, 2"""
        used = "rollup"
    else:
        counts = f"""SELECT t.topic_id, m.sentiment, count(*) AS mentions FROM listening_mention m
                     JOIN listening_mentiontopic t ON t.tenant_id = %(t)s AND t.mention_id = m.id
                     WHERE {_raw_where(f)} {"AND t.topic_id = %(topic)s" if f.topic else ""} GROUP BY 1, 2"""
        used = "raw"
    rows = _rows(f"""
        SELECT c.topic_id, tp.name, c.sentiment, c.mentions FROM ({counts}) c
        JOIN listening_topic tp ON tp.tenant_id = %(t)s AND tp.id = c.topic_id""", params)
    return {"source": used, "rows": _ranked(rows, "topic_id", f.limit, extra=("name",))}


def _ranked(rows: list[dict], key: str, limit: int, *, extra: tuple[str, ...] = ()) -> list[dict]:
    """Rows per (key, sentiment) -> one row per key with its sentiment counts, top ``limit``."""
    by_key: dict = {}
    for r in rows:
        item = by_key.setdefault(r[key], {key: r[key], **{e: r[e] for e in extra}, "mentions": 0,
                                          **dict.fromkeys(SENTIMENTS, 0)})
        item["mentions"] += int(r["mentions"])
        if r["sentiment"] in SENTIMENTS:
            item[r["sentiment"]] += int(r["mentions"])
    for item in by_key.values():
        item["net_sentiment"] = _net(item)
    return sorted(by_key.values(), key=lambda i: (-i["mentions"], str(i[key])))[:limit]


def top_terms(tenant_id: int, f: Filters, *, source: str = "auto") -> dict:
    params = _params(tenant_id, f)
    if source != "raw" and not f.department and not f.queries and not f.topic:
        rows = _rows(f"""SELECT x.term, x.kind, x.sentiment, sum(x.mentions) AS mentions FROM analytics_termrollup x
                         WHERE {_rollup_where(f, 'analytics_termrollup')} GROUP BY 1, 2, 3""", params)
        used = "rollup"
    else:
        rows = _rows(f"""
            SELECT e.term, e.kind, m.sentiment, count(*) AS mentions FROM listening_mention m
            CROSS JOIN LATERAL (
                SELECT DISTINCT left(COALESCE(NULLIF(x->>'canonical', ''), lower(x->>'text')), 200) AS term,
                                left(COALESCE(x->>'label', ''), 20) AS kind
                FROM jsonb_array_elements(CASE WHEN jsonb_typeof(m.entities) = 'array' THEN m.entities
                                               ELSE '[]'::jsonb END) AS x) AS e
            WHERE {_raw_where(f)} AND e.term <> '' GROUP BY 1, 2, 3""", params)
        used = "raw"
    for r in rows:
        r["key"] = (r["term"], r["kind"])
    ranked = _ranked(rows, "key", f.limit, extra=("term", "kind"))
    for item in ranked:
        del item["key"]
    return {"source": used, "rows": ranked}


# top_authors walks the tenant's authors in order and counts each one's mentions in the range
# through mention_author_created_idx (under a query or a topic: their tag rows' index); past
# this many authors, or (under a query and a topic, which no index carries together) past this
# many of their range mentions read, the plain GROUP BY over the range is cheaper (a filter few
# of the busiest authors match), so it answers instead.
PROBE_BUDGET = 3000
SCAN_BUDGET = 60_000
# Under a query or a topic, a range with fewer tag rows than this is counted by one GROUP BY of
# their index (a walk would find counts too low to stop early); above, the walk is faster (bench
# tenant, 90 days, a topic of 10,812 tag rows: walk 33 ms, GROUP BY 78 ms; 55,147 rows: 30 / 123).
FEW_TAGS = 5000
_FIRST_BATCH = 40


def top_authors(tenant_id: int, f: Filters, *, source: str = "auto") -> dict:
    """The ``limit`` authors with the most mentions in the range (ties: lower id first), and the
    ``limit`` authors of the range with the most followers, each with their mentions and
    interactions in the range under the filters.

    Exact without scanning the range: authors are walked by ``mentions_seen`` (every mention
    they ever had, an upper bound of their count in any range under any filter), their range
    counts taken batch by batch, until no later author's bound can reach the ``limit``-th count
    (Fagin's threshold algorithm); the by-reach list walks authors by followers until
    ``limit`` of them have a mention in the range. Under one query, topic or department filter
    the counts are of the authors' tag rows (``_tag_rows``: matches, topic tags, inbound
    messages), and a range with few of them is one GROUP BY of those rows (``"tags"``). ``source="raw"`` (or a walk longer than ``PROBE_BUDGET``
    authors) is one GROUP BY over the range's mentions (or tag rows). The tenant's own
    accounts (connected accounts marked as its own) never rank: the brand is not its own
    influencer."""
    params = {**_params(tenant_id, f), "own": _own_author_ids(tenant_id)}
    with connection.cursor() as cursor:
        # The GROUP BYs cost past jit_above_cost and JIT then compiles for ~100 ms of a 600 ms
        # department read (EXPLAIN ANALYZE, bench tenant, 90 days); a walk's statements are
        # short. SET LOCAL: the caller's transaction only (its tenant_context), as in care.py.
        cursor.execute("SET LOCAL jit = off")
    tags = None if source == "raw" else _tag_rows(f)
    if tags and _few_tags(params, tags):
        ranked, used = _grouped(params, f, tags=tags), "tags"
    else:
        ranked = None if source == "raw" else _walked(params, f, tags=tags)
        used = "author-walk"
        if ranked is None:
            ranked, used = _grouped(params, f, tags=tags), "tags" if tags else "raw"
    ids = sorted({i for ids in ranked.values() for i in ids})
    rows = {r["author_id"]: r for r in _rows(f"""
        SELECT a.id AS author_id, a.platform, a.handle, a.name, COALESCE(a.followers, 0) AS followers,
               s.mentions, s.interactions
        FROM listening_author a CROSS JOIN LATERAL (
            SELECT count(*) AS mentions, COALESCE(sum({INTERACTIONS_SQL}), 0) AS interactions
            FROM listening_mention m WHERE {_raw_where(f)} AND m.author_id = a.id) AS s
        WHERE a.tenant_id = %(t)s AND a.id = ANY(%(ids)s)""", {**params, "ids": ids})}
    for r in rows.values():
        r["mentions"], r["interactions"] = int(r["mentions"]), int(r["interactions"])
    out = {ranking: [dict(rows[i]) for i in ids] for ranking, ids in ranked.items()}
    out["by_volume"].sort(key=lambda r: (-r["mentions"], r["author_id"]))
    out["by_reach"].sort(key=lambda r: (-r["followers"], r["author_id"]))
    return {"source": used, **out}


def _own_author_ids(tenant_id: int) -> list[int]:
    """The authors that are the tenant's own connected accounts (same platform and account id)."""
    return [r["id"] for r in _rows("""
        SELECT a.id FROM listening_connectedaccount ca
        JOIN listening_author a ON a.tenant_id = ca.tenant_id AND a.platform = ca.platform
                               AND a.platform_user_id = ca.external_id
        WHERE ca.tenant_id = %(t)s AND ca.is_own AND ca.external_id <> ''""", {"t": tenant_id})]


def _department_mentions_sql(f: Filters) -> str:
    """FROM/WHERE of the range's mentions under a department filter, read from the department's
    side: its conversations active in the range (a conversation holding an inbound mention of
    the range was opened before the range ends and last active after it starts), their inbound
    messages, then those mentions (an inbound mention is in one conversation at most: each is
    counted once). The same rows as ``_raw_where(f)``'s EXISTS, without testing every mention of
    the range (2.5 s at 90 days on the bench tenant)."""
    rest = " AND ".join([RANGE_SQL, *_raw_filters(replace(f, department=None))])
    return f"""inbox_conversation c
            JOIN inbox_message msg ON msg.tenant_id = c.tenant_id AND msg.conversation_id = c.id AND msg.direction = 'in'
            JOIN listening_mention m ON m.tenant_id = msg.tenant_id AND m.id = msg.mention_id
            WHERE c.tenant_id = %(t)s AND c.department_id = %(department)s
              AND c.last_message_at >= %(lo)s AND c.first_message_at < %(hi)s AND {rest}"""


@dataclass(frozen=True)
class _Tags:
    """The rows that tag a mention with the filter and carry its author, date and language
    (listening.models.MentionFacts), alias x: query matches, topic tags, or the inbound
    messages of a department's conversations. Under one of those filters (one kind only) top
    authors count from their index alone."""

    table: str
    where: str  # the tenant, the tag filter, the range, the language
    count: str  # a mention matching two of the selected queries counts once


def _tag_rows(f: Filters) -> _Tags | None:
    if sum(map(bool, (f.queries, f.topic, f.department))) != 1:
        return None
    if f.queries:
        table, tag = "listening_mentionmatch", "x.query_id = ANY(%(queries)s)"
    elif f.topic:
        table, tag = "listening_mentiontopic", "x.topic_id = %(topic)s"
    else:  # an inbound mention is in one conversation at most: each counts once
        table, tag = "inbox_message", "x.conversation_department_id = %(department)s AND x.direction = 'in'"
    where = [f"x.tenant_id = %(t)s AND {tag}", "x.mention_created_at >= %(lo)s AND x.mention_created_at < %(hi)s"]
    if f.language:
        where.append("x.mention_language = %(language)s")
    return _Tags(table, " AND ".join(where), "count(DISTINCT x.mention_id)" if len(f.queries) > 1 else "count(*)")


def _few_tags(params: dict, tags: _Tags) -> bool:
    """Fewer than ``FEW_TAGS`` tag rows in the range: their GROUP BY is cheaper than a walk
    whose counts would stay too low to stop it early (a small topic). Bounded: an index-only
    scan that stops at the budget."""
    rows = _rows(f"SELECT count(*) AS n FROM (SELECT 1 FROM {tags.table} x WHERE {tags.where} "
                 "LIMIT %(budget)s) AS s", {**params, "budget": FEW_TAGS})
    return rows[0]["n"] < FEW_TAGS


def _grouped(params: dict, f: Filters, *, tags: _Tags | None = None) -> dict[str, list[int]]:
    """Both rankings' author ids from one GROUP BY over the range's mentions, or over their tag
    rows (``tags``)."""
    if tags:
        # The tag rows have no platform: under one, the authors of the others are left out.
        platform = ("JOIN listening_author a ON a.tenant_id = %(t)s AND a.id = g.author_id "
                    "AND a.platform = %(platform)s") if f.platform else ""
        per_author = f"""
            SELECT g.author_id, g.mentions FROM (
                SELECT x.mention_author_id AS author_id, {tags.count} AS mentions FROM {tags.table} x
                WHERE {tags.where} AND x.mention_author_id IS NOT NULL
                  AND x.mention_author_id <> ALL(%(own)s::bigint[]) GROUP BY 1) AS g {platform}"""
    else:
        source = _department_mentions_sql(f) if f.department else f"listening_mention m WHERE {_raw_where(f)}"
        per_author = f"""
            SELECT m.author_id, count(*) AS mentions
            FROM {source} AND m.author_id IS NOT NULL
              AND m.author_id <> ALL(%(own)s::bigint[]) GROUP BY 1"""
    rows = _rows(f"""
        WITH per_author AS ({per_author}),
        by_volume AS (SELECT 'by_volume' AS ranking, p.author_id FROM per_author p
                      ORDER BY p.mentions DESC, p.author_id LIMIT %(limit)s),
        by_reach AS (SELECT 'by_reach' AS ranking, p.author_id FROM per_author p
                     JOIN listening_author a ON a.tenant_id = %(t)s AND a.id = p.author_id
                     ORDER BY a.followers DESC NULLS LAST, p.author_id LIMIT %(limit)s)
        SELECT * FROM by_volume UNION ALL SELECT * FROM by_reach""", params)
    out: dict[str, list[int]] = {"by_volume": [], "by_reach": []}
    for r in rows:
        out[r["ranking"]].append(r["author_id"])
    return out


_WALKS = {  # ranking -> the order of the walk (an index of listening_author each)
    "by_volume": "a.mentions_seen DESC, a.id",
    "by_reach": "a.followers DESC NULLS LAST, a.id",
}


def _walked(params: dict, f: Filters, *, tags: _Tags | None = None) -> dict[str, list[int]] | None:
    """Both rankings by walking the authors (top_authors); None when the GROUP BY is cheaper:
    past ``PROBE_BUDGET`` authors, past ``SCAN_BUDGET`` range mentions read under filters no
    index carries (a query and a topic), or under a department with a query or a topic (a join
    per mention read)."""
    if f.department and not tags:
        return None
    limit, filters = params["limit"], _raw_filters(f)
    platform = "AND a.platform = %(platform)s" if f.platform else ""
    # mention_author_created_idx carries the platform and the languages: without a query or a
    # topic filter the count is an index-only scan; under one of them, so is the count of the
    # author's tag rows (``tags``: the author's platform is the mention's); under both, each
    # range row is read (budgeted).
    if tags:
        counted = f"SELECT {tags.count} AS n, 0 AS scanned FROM {tags.table} x WHERE {tags.where} " \
                  "AND x.mention_author_id = a.id"
    else:
        matched = f"count(*) FILTER (WHERE {' AND '.join(filters)})" if filters else "count(*)"
        counted = f"SELECT {matched} AS n, count(*) AS scanned FROM listening_mention m " \
                  f"WHERE {RANGE_SQL} AND m.author_id = a.id"
    reads_rows = bool(f.queries or f.topic) and not tags
    scanned = 0
    out = {}
    for ranking, order in _WALKS.items():
        sql = f"""
            SELECT a.id, a.mentions_seen, s.n, s.scanned
            FROM (SELECT a.id, a.mentions_seen, a.followers FROM listening_author a
                  WHERE a.tenant_id = %(t)s AND a.mentions_seen > 0 AND a.id <> ALL(%(own)s::bigint[]) {platform}
                  ORDER BY {order} LIMIT %(batch)s OFFSET %(offset)s) AS a
            CROSS JOIN LATERAL ({counted}) AS s
            ORDER BY {order}"""
        best: list[tuple[int, int]] = []  # (-count, id), the ranking so far
        offset, batch, done = 0, _FIRST_BATCH, False
        while not done:
            if offset >= PROBE_BUDGET or (reads_rows and scanned > SCAN_BUDGET):
                return None
            batch = min(batch, PROBE_BUDGET - offset)
            rows = _rows(sql, {**params, "batch": batch, "offset": offset})
            scanned += sum(r["scanned"] for r in rows)
            for r in rows:
                if ranking == "by_volume":
                    if len(best) == limit and (-r["mentions_seen"], r["id"]) > best[-1]:
                        done = True  # this author, and every later one, cannot enter the ranking
                        break
                    if r["n"]:
                        best = sorted([*best, (-r["n"], r["id"])])[:limit]
                elif r["n"]:
                    best.append((0, r["id"]))
                    if len(best) == limit:
                        done = True
                        break
            done = done or len(rows) < batch  # every author walked
            offset, batch = offset + len(rows), batch * 2
        out[ranking] = [author_id for _n, author_id in best]
    return out


SERIES = {"volume": volume, "sentiment": net_sentiment, "reach": reach, "share-of-voice": share_of_voice,
          "top-topics": top_topics, "top-terms": top_terms}
