"""`make bench-dashboard`: the reputation dashboard's API on a seeded year of mentions.

Seeds MENTIONS mentions (default 2,000,000) over 365 days for 3 tenants with social_crm.bench
into the database ``social_crm_bench_dashboard`` (its own, on DATABASE_URL's server), builds
the rollups with ``analytics.rollups.rebuild`` (the seeder writes with COPY, past the write
paths) and prints how long that took, then, for the biggest tenant (half the mentions), p50/p95
of each dashboard API over 7-, 30- and 90-day ranges ending on the last seeded day: the API
through Django's test client (session login, JSON rendered), next to the same figures computed
by a plain GROUP BY over the raw mentions (``selectors`` with ``source="raw"``); then the same
for top authors over 90 days under each kind of filter (its walk's worst cases).

KEEP=1 keeps the database at the end, and reuses it when it already holds MENTIONS mentions
(then only migrations and the rollup build run again).
"""

from __future__ import annotations

import os
import statistics
import sys
import time

DATABASE = "social_crm_bench_dashboard"
RANGES = (7, 30, 90)
API_RUNS = int(os.environ.get("RUNS", "20"))
RAW_RUNS = max(3, API_RUNS // 4)
SERIES = ("volume", "sentiment", "reach", "share-of-voice", "top-authors", "top-topics", "top-terms", "care")
# Care metrics have no rollup (analytics/care.py reads the conversations and their messages in one
# statement): the API figure is the raw figure, so no second column is measured for them.
NO_ROLLUP = {"care"}


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, max(0, round(0.95 * len(ordered)) - 1))]
    return statistics.median(ordered), p95


def _existing_mentions(url: str) -> int | None:
    import psycopg

    try:
        with psycopg.connect(url) as conn:
            return conn.execute("SELECT count(*) FROM listening_mention").fetchone()[0]
    except psycopg.Error:
        return None


def _prepare(mentions: int, keep: bool) -> None:
    from social_crm.bench import database

    owner = os.environ["DATABASE_URL"]
    env = database.environment(DATABASE)
    reuse = keep and _existing_mentions(env["DATABASE_URL"]) == mentions
    if not reuse:
        database.recreate(owner, DATABASE)
    database.migrate(env)
    os.environ.update(env)
    import django

    django.setup()
    if reuse:
        print(f"reusing {DATABASE} ({mentions:,} mentions; KEEP=1)", flush=True)
        return
    import psycopg

    from social_crm.bench.seed import seed

    started = time.monotonic()
    with psycopg.connect(env["DATABASE_URL"]) as conn:
        seed(conn, tenants=3, mentions=mentions, days=365, seed=1, progress=lambda line: print(line, flush=True))
    print(f"seeded {mentions:,} mentions in {time.monotonic() - started:.0f}s", flush=True)


def _build_rollups(tenants) -> None:
    from analytics.rollups import mention_span, rebuild

    total = time.monotonic()
    for tenant in tenants:
        started = time.monotonic()
        span = mention_span(tenant.pk)
        chunks = rebuild(tenant.pk, *span) if span else 0
        print(f"rollups of {tenant.slug}: {chunks} weekly chunks in {time.monotonic() - started:.1f}s", flush=True)
    print(f"rollups built for {len(tenants)} tenants in {time.monotonic() - total:.1f}s", flush=True)
    from django.db import connections

    started = time.monotonic()
    with connections["owner"].cursor() as cursor:
        # As autovacuum would after such a load: statistics, and the visibility map that lets
        # the dashboard's reads be index-only scans.
        # The mention and author tables too: top-authors counts through an index of the mentions.
        # And the conversations: care reads them from covering indexes, and the seeder's last
        # step (the care facts) rewrote a third of them. The query matches, topic tags and
        # messages (their department copies: the seeder's step before): top authors under a
        # query, a topic or a department count from their indexes.
        cursor.execute("VACUUM ANALYZE analytics_mentionrollup, analytics_topicrollup, analytics_termrollup, "
                       "listening_mention, listening_author, inbox_conversation, listening_mentionmatch, "
                       "listening_mentiontopic, inbox_message")
    print(f"VACUUM ANALYZE of the rollup, mention, author, conversation, tag and message tables in "
          f"{time.monotonic() - started:.1f}s", flush=True)


def _rollup_sizes() -> str:
    from django.db import connections

    with connections["owner"].cursor() as cursor:
        parts = []
        for table in ("analytics_mentionrollup", "analytics_topicrollup", "analytics_termrollup"):
            cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608 (fixed names)
            parts.append(f"{table.split('_')[1]} {cursor.fetchone()[0]:,}")
    return ", ".join(parts)


def _client(tenant):
    from django.contrib.auth import get_user_model
    from django.test import Client

    from social_crm.tenancy.models import Membership
    from social_crm.tenancy.scope import dangerously_cross_tenant

    with dangerously_cross_tenant("bench: the tenant admin to log in"):
        user_id = Membership.objects.filter(tenant=tenant, role="admin").values_list("user_id", flat=True).first()
    client = Client(HTTP_HOST="localhost")
    client.force_login(get_user_model().objects.get(pk=user_id))
    return client


def _cell(client, tenant, series: str, params: dict) -> tuple:
    """(source, API p50, API p95, raw p50, raw p95) of one series under one set of filters (raw
    None for a series without a rollup)."""
    from analytics import selectors
    from analytics.filters import FilterSerializer
    from social_crm.tenancy.scope import tenant_context

    with tenant_context(tenant.pk):  # the filters' ids are looked up under row-level security
        serializer = FilterSerializer(data=params, context={"tenant": tenant})
        serializer.is_valid(raise_exception=True)
    f = serializer.validated_data
    url = f"/api/v1/t/{tenant.slug}/analytics/{series}"
    api = []
    for _ in range(API_RUNS):
        started = time.perf_counter()
        response = client.get(url, params, secure=True)
        api.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise SystemExit(f"{url}: {response.status_code} {response.content[:300]!r}")
    if series in NO_ROLLUP:
        return ("raw", *_percentiles(api), None, None)
    raw = []
    for _ in range(RAW_RUNS):
        started = time.perf_counter()
        with tenant_context(tenant.pk):
            if series == "top-authors":
                selectors.top_authors(tenant.pk, f, source="raw")
            else:
                selectors.SERIES[series](tenant.pk, f, source="raw")
        raw.append((time.perf_counter() - started) * 1000)
    return (response.json().get("source"), *_percentiles(api), *_percentiles(raw))


def _ms(value: float | None) -> str:
    return f"{value:9.1f}" if value is not None else f"{'-':>9}"


def _range(last_day, days: int) -> dict:
    from datetime import timedelta

    return {"from": (last_day - timedelta(days=days - 1)).isoformat(), "to": last_day.isoformat(), "tz": "Europe/Paris"}


def _measure(tenant, last_day) -> list[tuple]:
    client = _client(tenant)
    out = []
    for days in RANGES:
        for series in SERIES:
            out.append((series, days, *_cell(client, tenant, series, _range(last_day, days))))
            print(f"  measured {series} over {days} days", flush=True)
    return out


def _measure_filtered(tenant, last_day) -> list[tuple]:
    """Top authors over 90 days under each kind of filter: the walk reads every range mention of
    the authors it visits where the index does not carry the filter, so these are its worst cases."""
    from listening.models import ListeningQuery, Topic
    from social_crm.tenancy.models import Department
    from social_crm.tenancy.scope import tenant_context

    with tenant_context(tenant.pk):
        query = ListeningQuery.objects.filter(tenant_id=tenant.pk).order_by("id").values_list("id", flat=True).first()
        topic = Topic.objects.filter(tenant_id=tenant.pk).order_by("id").values_list("id", flat=True).first()
        department = Department.objects.filter(tenant_id=tenant.pk).order_by("id").values_list("id", flat=True).first()
    cases = [("language=en", {"language": "en"}), ("platform=x", {"platform": "x"}),
             ("platform=rss", {"platform": "rss"}), ("query (first)", {"query": [query]}),
             ("topic (first)", {"topic": topic}), ("department (first)", {"department": department}),
             ("language=fr, query", {"language": "fr", "query": [query]})]
    client = _client(tenant)
    out = []
    for name, extra in cases:
        out.append((name, *_cell(client, tenant, "top-authors", {**_range(last_day, 90), **extra})))
        print(f"  measured top-authors under {name}", flush=True)
    return out


def main() -> int:
    if not os.environ.get("DATABASE_URL") or not os.environ.get("REDIS_URL"):
        raise SystemExit("DATABASE_URL (the owner) and REDIS_URL must be set")
    mentions = int(os.environ.get("MENTIONS") or 2_000_000)
    keep = os.environ.get("KEEP", "") == "1"
    owner = os.environ["DATABASE_URL"]
    _prepare(mentions, keep)
    from django.db import connection

    from social_crm.tenancy.models import Tenant
    from social_crm.tenancy.scope import tenant_context

    tenants = list(Tenant.objects.filter(slug__startswith="bench-").order_by("slug"))
    _build_rollups(tenants)
    print(f"rollup rows: {_rollup_sizes()}", flush=True)
    biggest = tenants[0]
    with tenant_context(biggest.pk), connection.cursor() as cursor:
        cursor.execute("SELECT (max(created_at) AT TIME ZONE 'Europe/Paris')::date, count(*) FROM listening_mention "
                       "WHERE tenant_id = %s", [biggest.pk])
        last_day, count = cursor.fetchone()
    print(f"\n{biggest.slug}: {count:,} mentions; ranges end on {last_day}; {API_RUNS} API calls and {RAW_RUNS} raw "
          f"GROUP BY runs per cell", flush=True)
    rows = _measure(biggest, last_day)
    print(f"\n{'series':<16}{'days':>5}  {'source':<12}{'API p50':>9}{'API p95':>9}{'raw p50':>9}{'raw p95':>9}  (ms)")
    for series, days, source, a50, a95, r50, r95 in rows:
        print(f"{series:<16}{days:>5}  {source:<12}{a50:9.1f}{a95:9.1f}{_ms(r50)}{_ms(r95)}")
    worst = max(a95 for _s, days, _src, _a, a95, _r, _r95 in rows if days == 90)
    print(f"\nworst API p95 over 90 days: {worst:.1f} ms (target <= 150 ms)")
    filtered = _measure_filtered(biggest, last_day)
    print(f"\ntop-authors over 90 days under filters")
    print(f"{'filter':<22}{'source':<12}{'API p50':>9}{'API p95':>9}{'raw p50':>9}{'raw p95':>9}  (ms)")
    for name, source, a50, a95, r50, r95 in filtered:
        print(f"{name:<22}{source:<12}{a50:9.1f}{a95:9.1f}{r50:9.1f}{r95:9.1f}")
    if not keep:
        from social_crm.bench import database

        connection.close()
        database.drop(owner, DATABASE)
    return 0


if __name__ == "__main__":
    sys.exit(main())
