"""`make bench-inbox`: the shared inbox and the conversation page on a big seeded database.

    make bench-inbox                        # MENTIONS=2000000 over TENANTS=3, a year (DAYS=365)
    make bench-inbox MENTIONS=200000 KEEP=1 # keep the seeded database for the next run
    python -m inbox.bench.pages --help      # with DATABASE_URL (the owner) and REDIS_URL set

A database of its own, ``social_crm_bench_inbox`` on the server of DATABASE_URL (dropped if it
exists, created and migrated as the owner, dropped at the end unless KEEP=1), filled by the volume
seeder (``social_crm.bench.seed``: tenants through the app's actions, then the mentions,
conversations, messages, events... with COPY; a line every few seconds while it runs). With
KEEP=1 a database already holding the same number of mentions and tenants is reused (and
migrated, so a new index is built on it).

Measured in the biggest tenant, logged in as its community manager (``cm@bench-1...``), with
production settings (DEBUG off), for each case of ``cases()`` (the filter combinations people
use, a saved view, the second page through the keyset cursor):

* **list**: what InboxView runs for the list, through the same functions
  (``inbox_filter_form``, ``inbox_rows``, ``inbox_page``) inside ``tenant_context`` (row-level
  security on): the filter form's choices and one page of 50 conversations;
* **page**: the whole page through Django's test Client (middleware, tenant resolution, the
  saved views, the template), the queries counted with ``CaptureQueriesContext``.

Then the conversation page (the conversations of the first page in turn, and the longest
thread). Printed: p50 / p95 in ms and the number of queries. The target is p95 <= 100 ms for the
list. Dates are relative to the newest conversation (the seed's "now"), so a kept database
still measures the same windows. EXPLAIN=1 prints EXPLAIN ANALYZE of each case's page query.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

DB_NAME = "social_crm_bench_inbox"
TARGET_P95_MS = 100.0
VIEW_NAME = "Bench : plusieurs valeurs"  # the saved view with multi-select filters the bench adds


def say(text: str = "") -> None:
    print(text, flush=True)


@dataclass
class Subject:
    """The tenant and the person measured, and the ids the cases refer to."""

    tenant_id: int
    slug: str
    user: object
    departments: dict[str, int]
    topics: dict[str, int]
    views: dict[str, int]
    newest: object  # the newest last_message_at of the tenant: "now" for the date cases


@dataclass
class Case:
    name: str
    params: dict[str, list[str]]
    view_id: int | None = None  # a saved view: its filters are the params


@dataclass
class Row:
    case: str
    list_ms: list[float] = field(default_factory=list)
    list_queries: int = 0
    page_ms: list[float] = field(default_factory=list)
    page_queries: int = 0
    rows: int = 0

    def list_p(self, q: int) -> float | None:
        return percentile(self.list_ms, q)

    def page_p(self, q: int) -> float | None:
        return percentile(self.page_ms, q)


def percentile(values: list[float], q: int) -> float | None:
    if len(values) < 2:
        return values[0] if values else None
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def subject_for(tenant_id: int) -> Subject:
    """The tenant's community manager (the seeder's ``cm@<slug>.bench.example``) and its ids."""
    from django.db.models import Max

    from inbox import conversations
    from inbox.models import Conversation, SavedView
    from listening.models import Topic
    from social_crm.tenancy.models import Department, Membership, Tenant
    from social_crm.tenancy.permissions import Role
    from social_crm.tenancy.scope import tenant_context

    with tenant_context(tenant_id):
        tenant = Tenant.objects.get(pk=tenant_id)
        user = Membership.objects.select_related("user").get(
            tenant_id=tenant_id, role=Role.COMMUNITY_MANAGER, user__email__startswith="cm@").user
        departments = dict(Department.objects.filter(tenant_id=tenant_id).values_list("slug", "pk"))
        topics = dict(Topic.objects.filter(tenant_id=tenant_id).values_list("name", "pk"))
        newest = Conversation.objects.filter(tenant_id=tenant_id).aggregate(at=Max("last_message_at"))["at"]
        existing = SavedView.objects.filter(tenant_id=tenant_id, user=user, name=VIEW_NAME).first()
    if existing is None:  # statuses, sentiments, platforms and departments, several of each
        existing = conversations.saved_view_save(
            tenant_id, actor=user, name=VIEW_NAME, is_shared=True,
            filters={"status": ["new", "open", "pending"], "sentiment": ["negative", "neutral"],
                     "platform": ["x", "facebook", "mastodon"],
                     "department": [str(departments["service"]), str(departments["logistics"])]})
    with tenant_context(tenant_id):
        views = {v.name: v.pk for v in SavedView.objects.filter(tenant_id=tenant_id)}
    return Subject(tenant_id=tenant_id, slug=tenant.slug, user=user, departments=departments, topics=topics,
                   views=views, newest=newest)


def cases(subject: Subject) -> list[Case]:
    """The filter combinations measured; "page 2" gets its cursor from the first page."""
    from django.utils import timezone

    from inbox.models import SavedView
    from listening.nlp.topic_actions import STARTER_TOPICS
    from social_crm.tenancy.scope import tenant_context

    today = timezone.localdate(subject.newest) if subject.newest else timezone.localdate()
    delivery = next(french for english, french, _k in STARTER_TOPICS if english == "Delivery")
    view_id = subject.views[VIEW_NAME]
    with tenant_context(subject.tenant_id):
        view_filters = SavedView.objects.get(tenant_id=subject.tenant_id, pk=view_id).filters
    open_new = {"status": ["new", "open"]}
    return [
        Case("default (status new+open)", open_new),
        Case("no filter", {}),
        Case("status + sentiment negative", {**open_new, "sentiment": ["negative"]}),
        Case("department (service)", {**open_new, "department": [str(subject.departments["service"])]}),
        Case("assignee = me", {"status": ["open", "pending"], "assignee": ["me"]}),
        Case("platform x + language fr", {**open_new, "platform": ["x"], "language": ["fr"]}),
        Case("needs review", {**open_new, "needs_review": ["yes"]}),
        Case("topic (delivery)", {**open_new, "topic": [str(subject.topics[delivery])]}),
        Case("date range (last 7 days)", {"date_from": [(today - timedelta(days=7)).isoformat()],
                                          "date_to": [today.isoformat()]}),
        Case("saved view (multi-select)", view_filters, view_id=view_id),
        Case("page 2 (keyset cursor)", {**open_new, "before": ["<cursor of page 1>"]}),
    ]


def _query_dict(params: dict[str, list[str]]):
    from django.http import QueryDict

    data = QueryDict(mutable=True)
    for name, values in params.items():
        data.setlist(name, list(values))
    return data


def run_list(subject: Subject, params: dict[str, list[str]]):
    """What InboxView.get does for the list: the filter form, then one keyset page."""
    from inbox.models import Conversation
    from inbox.views import inbox_filter_form, inbox_page, inbox_rows
    from social_crm.tenancy.scope import tenant_context

    tid = subject.tenant_id
    with tenant_context(tid, user_id=subject.user.pk):
        form = inbox_filter_form(tid, _query_dict(params))
        rows = inbox_rows(form, Conversation.objects.filter(tenant_id=tid), user_id=subject.user.pk)
        page, _more = inbox_page(rows, (params.get("before") or [None])[0])
        return page, rows


def explain(subject: Subject, params: dict[str, list[str]]) -> str:
    """EXPLAIN (ANALYZE, BUFFERS) of the case's page query, inside the tenant's context."""
    from django.db import connection

    from inbox.forms import keyset
    from inbox.views import PAGE_SIZE
    from social_crm.tenancy.scope import tenant_context

    _page, rows = run_list(subject, params)
    with tenant_context(subject.tenant_id, user_id=subject.user.pk):
        sql, sql_params = keyset(rows, (params.get("before") or [None])[0])[:PAGE_SIZE + 1].query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, sql_params)
            return "\n".join(line for (line,) in cursor.fetchall())


def _timed(function: Callable[[], object], repeats: int, warmup: int = 2) -> tuple[list[float], int, object]:
    """Milliseconds of each call after ``warmup`` calls, the queries of the last call, its result."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(warmup):
        function()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        times.append((time.perf_counter() - started) * 1000)
    with CaptureQueriesContext(connection) as queries:
        result = function()
    return times, len(queries), result


def _client(user):
    from django.conf import settings
    from django.test import Client

    host = next((h for h in settings.ALLOWED_HOSTS if h != "*" and not h.startswith(".")), "localhost")
    client = Client(HTTP_HOST=host)
    client.force_login(user)
    return client


def _get(client, url: str):
    response = client.get(url, secure=True)  # secure: production settings redirect plain HTTP
    if response.status_code != 200:
        raise RuntimeError(f"GET {url} answered {response.status_code}")
    return response


def measure(tenant_id: int, *, repeats: int = 30, progress: Callable[[str], None] | None = None,
            show_explain: bool = False) -> list[Row]:
    """One Row per case of ``cases()``, then the conversation page rows. Uses Django's default
    connection (the application role: row-level security applies)."""
    from django.urls import reverse

    from inbox.forms import encode_cursor
    from inbox.models import Conversation
    from social_crm.tenancy.scope import tenant_context

    report = progress or (lambda line: None)
    subject = subject_for(tenant_id)
    client = _client(subject.user)
    inbox_url = reverse("inbox", kwargs={"tenant_slug": subject.slug})
    out: list[Row] = []
    first_page: list = []
    for case in cases(subject):
        params = dict(case.params)
        if "before" in params:
            if len(first_page) < 50:
                report(f"  {case.name}: skipped, the first page is not full")
                continue
            params["before"] = [encode_cursor(first_page[-1])]
        row = Row(case.name)
        row.list_ms, row.list_queries, (page, _rows) = _timed(lambda p=params: run_list(subject, p), repeats)
        row.rows = len(page)
        if not first_page:
            first_page = page
        query = _query_dict({**params, **({"view": [str(case.view_id)]} if case.view_id else {})}).urlencode()
        url = f"{inbox_url}?{query}" if query else inbox_url
        row.page_ms, row.page_queries, _response = _timed(lambda u=url: _get(client, u), repeats)
        out.append(row)
        report(f"  {case.name:<30} list p95 {row.list_p(95):7.1f} ms   page p95 {row.page_p(95):7.1f} ms   "
               f"{row.page_queries} queries")
        if show_explain:
            say(explain(subject, params))
    with tenant_context(tenant_id):
        longest = Conversation.objects.filter(tenant_id=tenant_id).order_by("-message_count", "id").first()
    urls = [reverse("inbox-conversation", kwargs={"tenant_slug": subject.slug, "conversation_id": c.pk})
            for c in first_page] or []
    if urls:
        turn = iter(range(10 ** 9))
        row = Row(f"conversation page ({len(urls)} in turn)")
        row.page_ms, row.page_queries, _response = _timed(lambda: _get(client, urls[next(turn) % len(urls)]), repeats)
        out.append(row)
        report(f"  {row.case:<30} page p95 {row.page_p(95):7.1f} ms   {row.page_queries} queries")
    if longest is not None:
        url = reverse("inbox-conversation", kwargs={"tenant_slug": subject.slug, "conversation_id": longest.pk})
        row = Row(f"conversation page ({longest.message_count} messages)")
        row.page_ms, row.page_queries, _response = _timed(lambda: _get(client, url), repeats)
        row.rows = longest.message_count
        out.append(row)
        report(f"  {row.case:<30} page p95 {row.page_p(95):7.1f} ms   {row.page_queries} queries")
    return out


def table(rows: list[Row]) -> str:
    def ms(value) -> str:
        return "-" if value is None else f"{value:.1f}"

    lines = [f"{'case':<36} {'rows':>5} {'list p50':>9} {'list p95':>9} {'list q':>6} {'page p50':>9} "
             f"{'page p95':>9} {'page q':>6}"]
    for r in rows:
        lines.append(f"{r.case:<36} {r.rows:>5} {ms(r.list_p(50)):>9} {ms(r.list_p(95)):>9} "
                     f"{r.list_queries if r.list_ms else '-':>6} {ms(r.page_p(50)):>9} {ms(r.page_p(95)):>9} "
                     f"{r.page_queries:>6}")
    return "\n".join(lines)


# --- The database ---------------------------------------------------------------------------------------


def arguments() -> argparse.Namespace:
    env = os.environ.get
    parser = argparse.ArgumentParser(prog="python -m inbox.bench.pages", description=__doc__.split("\n\n")[0])
    parser.add_argument("--mentions", type=int, default=int(env("MENTIONS") or 2_000_000), help="env MENTIONS")
    parser.add_argument("--tenants", type=int, default=int(env("TENANTS") or 3), help="env TENANTS")
    parser.add_argument("--days", type=int, default=int(env("DAYS") or 365), help="env DAYS")
    parser.add_argument("--repeat", type=int, default=int(env("REPEAT") or 30), help="timed runs per case (env REPEAT)")
    parser.add_argument("--keep", action="store_true", default=env("KEEP") == "1",
                        help=f"keep {DB_NAME} afterwards and reuse it when it holds the same seed (env KEEP=1)")
    parser.add_argument("--explain", action="store_true", default=env("EXPLAIN") == "1",
                        help="print EXPLAIN ANALYZE of each case's page query (env EXPLAIN=1)")
    return parser.parse_args()


def seeded_tenants(env: dict[str, str], mentions: int, tenants: int) -> list[int] | None:
    """The bench tenants (biggest first) of a kept database holding this seed, else None."""
    import psycopg

    try:
        conn = psycopg.connect(env["DATABASE_URL"], autocommit=True)
    except psycopg.OperationalError:
        return None
    with conn:
        if conn.execute("SELECT to_regclass('listening_mention') IS NULL").fetchone()[0]:
            return None
        ids = [r[0] for r in conn.execute(
            "SELECT id FROM tenancy_tenant WHERE slug LIKE 'bench-%' ORDER BY id").fetchall()]
        count = conn.execute("SELECT count(*) FROM listening_mention").fetchone()[0]
    return ids if len(ids) == tenants and count == mentions else None


def main() -> int:
    args = arguments()
    if not os.environ.get("DATABASE_URL") or not os.environ.get("REDIS_URL"):
        raise SystemExit("DATABASE_URL (the owner) and REDIS_URL must be set (`make bench-inbox` sets them)")
    from social_crm.bench import database

    owner = os.environ["DATABASE_URL"]
    env = database.environment(DB_NAME)
    env["DJANGO_SETTINGS_MODULE"] = "inbox.bench.settings"
    say(f"== bench-inbox: {args.mentions:,} mentions over {args.tenants} tenants, {args.days} days; "
        f"{os.cpu_count()} CPUs, load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    tenant_ids = seeded_tenants(env, args.mentions, args.tenants) if args.keep else None
    try:
        if tenant_ids:
            say(f"reusing the kept {DB_NAME} database (same seed); migrating ...")
            database.migrate(env)
        else:
            say(f"creating and migrating the {DB_NAME} database ...")
            database.recreate(owner, DB_NAME)
            database.migrate(env)
        os.environ.update(env)
        import django

        django.setup()
        if not tenant_ids:
            import psycopg

            from social_crm.bench.seed import seed

            say("seeding ...")
            started = time.monotonic()
            with psycopg.connect(env["DATABASE_URL"]) as conn:
                tenant_ids = seed(conn, tenants=args.tenants, mentions=args.mentions, days=args.days,
                                  progress=lambda line: say("  " + line))
            say(f"seeded in {time.monotonic() - started:.0f} s")
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            server = cursor.fetchone()[0]
        from inbox.models import Conversation
        from social_crm.tenancy.scope import tenant_context

        with tenant_context(tenant_ids[0]):
            conversations = Conversation.objects.filter(tenant_id=tenant_ids[0]).count()
        say(f"measuring in tenant {tenant_ids[0]} (the biggest: {conversations:,} conversations), "
            f"{args.repeat} timed runs per case after 2 warm-ups, PostgreSQL {server} ...")
        rows = measure(tenant_ids[0], repeats=args.repeat, progress=say, show_explain=args.explain)
        say()
        say("== results (ms; queries of one run)")
        say(table(rows))
        listed = [r for r in rows if r.list_ms]
        worst = max(listed, key=lambda r: r.list_p(95))
        say()
        say(f"list p95 worst case     {worst.list_p(95):.1f} ms ({worst.case}); target <= {TARGET_P95_MS:.0f} ms: "
            + ("met" if worst.list_p(95) <= TARGET_P95_MS else "MISSED"))
        say(f"load average now        {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        return 0
    finally:
        try:
            from django.db import connections

            connections.close_all()
        except Exception:  # noqa: S110 (Django may not be set up yet)
            pass
        database.forget_redis_keys(env["REDIS_URL"], env["CACHE_KEY_PREFIX"])
        if args.keep:
            say(f"kept the {DB_NAME} database")
        else:
            database.drop(owner, DB_NAME)


if __name__ == "__main__":
    sys.exit(main())
