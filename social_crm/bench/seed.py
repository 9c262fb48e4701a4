"""The volume seeder: tenants with a year of realistic mentions and the inbox work on them,
written fast with COPY straight into the app's tables (for `make bench-inbox`, `make
bench-dashboard` and anyone who needs a big tenant).

    from social_crm.bench.seed import seed
    tenant_ids = seed(conn, tenants=3, mentions=2_000_000, days=365, seed=1, progress=print)

    python -m social_crm.bench.seed --tenants 3 --mentions 2000000 --days 365 [--database NAME]

``conn``: a psycopg 3 connection to the bench database as a role that bypasses row-level
security (the server's superuser in `make bench-*`): the seeder writes several tenants in one
transaction and every tenant-owned table forces its policies on its owner. Django must be set up
on the same database: the small rows (tenants, people, departments, queries, topics, accounts,
SLA policies, routing rules, saved views) go through the app's actions (``world.py``); the
volume then goes in with COPY, in one transaction.

The rows are what the app would have written: tenant ids everywhere, same-tenant references,
unique keys, gap-free conversation numbers and the tenant's counter, sequences advanced past
the copied ids. Foreign keys, unique keys and indexes are dropped for the load and recreated
after it, which checks every row copied (``copying.indexes_deferred``). Then ANALYZE.

What is in it: ``timeline.py`` (authors, posts, threads over time), ``texts.py`` + ``tagging.py``
(French and English texts, query matches, topics, NLP tags), ``rows.py`` (the listening rows),
``inbox_sim.py`` (conversations, messages, routing, alerts, replies, SLA, notes), and here the
social identities of the authors in the inbox, some linked to customer records.

Tenants get unequal volumes (the first is the biggest: half the mentions for 3 tenants), as on a
real multi-tenant service. ``mentions`` counts every listening_mention row (the brand's own posts
and replies included); each tenant's count is exact. Same ``seed`` and ``end``, same data.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from collections.abc import Callable

import orjson

from . import rows
from .copying import Progress, Tables, advance_sequence, indexes_deferred, next_id

TIERS = (("standard", 0.7), ("silver", 0.15), ("gold", 0.1), ("vip", 0.05))
CUSTOMER_SHARE = 0.12  # of the identities, linked to a customer record
CRM_ONLY = 0.3  # customer records with no social identity (CRM imports), per linked one


class IdBlocks:
    """The next id of each table, from past its current rows and sequence."""

    def __init__(self, conn, tables):
        self.next = {table: next_id(conn, table) for table in tables}

    def take(self, table: str) -> int:
        value = self.next[table]
        self.next[table] = value + 1
        return value


# The statement and row triggers of inbox/migrations/0005_care_facts.py that a COPY fires.
CARE_TRIGGERS = (("inbox_message", "message_care_insert"), ("inbox_conversation", "conversation_care_insert"))
# The row triggers of listening/migrations/0008_mention_facts_on_tags.py that copy a mention's facts.
# and of inbox/migrations/0006_message_facts.py that copy them (and the department) onto inbound messages.
TAG_TRIGGERS = (("listening_mentionmatch", "mention_match_facts"), ("listening_mentiontopic", "mention_topic_facts"),
                ("inbox_message", "message_facts"))


def tenant_volumes(mentions: int, tenants: int) -> list[int]:
    """Unequal shares (1, 1/2, 1/3... of the first), summing exactly to ``mentions``."""
    weights = [1 / (i + 1) for i in range(tenants)]
    counts = [int(mentions * w / sum(weights)) for w in weights]
    counts[0] += mentions - sum(counts)
    return counts


def check_columns(conn, columns: dict[str, tuple[str, ...]]) -> None:
    """Every NOT NULL column without a default is written (a model change would otherwise
    surface as a COPY error in the middle of a long load)."""
    for table, written in columns.items():
        required = {r[0] for r in conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = %s AND is_nullable = 'NO' "
            "AND column_default IS NULL", [table]).fetchall()}
        missing = required - set(written)
        if missing:
            raise RuntimeError(f"the seeder does not write {table}.{', '.join(sorted(missing))}")


def _message_departments(conn, tenant_ids: list[int], report) -> None:
    """Each inbound message gets its conversation's final department (``conversation_department_id``,
    as the triggers of inbox migration 0006 keep it): one hash join before the indexes are built.
    The care facts' statement trigger on message updates would diff every row for nothing."""
    started = time.monotonic()
    conn.execute("ALTER TABLE inbox_message DISABLE TRIGGER message_care_update")
    done = conn.execute(
        "UPDATE inbox_message x SET conversation_department_id = c.department_id FROM inbox_conversation c "
        "WHERE c.tenant_id = x.tenant_id AND c.id = x.conversation_id AND x.direction = 'in' "
        "AND c.department_id IS NOT NULL AND c.tenant_id = ANY(%(t)s) AND x.tenant_id = ANY(%(t)s)",
        {"t": tenant_ids}).rowcount
    conn.execute("ALTER TABLE inbox_message ENABLE TRIGGER message_care_update")
    report.say(f"departments of {done:,} inbound messages copied in {time.monotonic() - started:.1f}s")


def seed(conn, *, tenants: int = 3, mentions: int = 2_000_000, days: int = 365, seed: int = 1,
         progress: Callable[[str], None] | None = None, end: float | None = None,
         slug_prefix: str = "bench") -> list[int]:
    """Create ``tenants`` tenants with ``mentions`` mentions in all over the ``days`` days before
    ``end`` (default: now) and everything the inbox would have built from them; returns the
    tenant ids, biggest first. ``progress`` gets a line every few seconds (rows, rows/s)."""
    from .world import create_tenant

    counts = tenant_volumes(mentions, tenants)
    if min(counts) < 200:
        raise ValueError("give at least 200 mentions per tenant")
    bypass = conn.execute("SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user").fetchone()[0]
    if not bypass:
        raise PermissionError("the seeder's connection must bypass row-level security (superuser or BYPASSRLS)")
    check_columns(conn, rows.COLUMNS)
    end = float(int(end or time.time()))
    start = end - days * 86400.0
    report = Progress(progress)
    setups = [create_tenant(i, slug_prefix=slug_prefix) for i in range(tenants)]
    report.say(f"created {tenants} tenants ({', '.join(s.slug for s in setups)}) with their members, departments, "
               "queries, topics, accounts, SLA policies, routing rules and saved views")
    # Everything read through Django (queries, topic rules) is read now: the load below holds
    # exclusive locks on the tables it rebuilds, and a read on Django's connection would wait.
    prepared = [_prepare(setup, random.Random(f"{seed}-{index}")) for index, setup in enumerate(setups)]
    report.say("texts pooled and tagged (queries matched, topics found)")
    conn.commit()
    with conn.transaction():
        ids = IdBlocks(conn, rows.TABLES)
        # The authors are copied after their mentions, with their count (Author.mentions): the
        # trigger that keeps it would find no author yet, and no index to find them by.
        conn.execute("ALTER TABLE listening_mention DISABLE TRIGGER mention_author_count_insert")
        # The care facts (inbox migration 0005) likewise: its statement triggers would look up
        # every batch's conversations in tables whose indexes are dropped. Computed once below.
        # And the tags' copies of their mention (listening migration 0008): the rows carry them.
        for table, trigger in (*CARE_TRIGGERS, *TAG_TRIGGERS):
            conn.execute(f"ALTER TABLE {table} DISABLE TRIGGER {trigger}")
        with indexes_deferred(conn, list(rows.TABLES), report):
            out = Tables(conn, rows.COLUMNS, report)
            for index, (setup, count, (rng, tagger, pools)) in enumerate(zip(setups, counts, prepared, strict=True)):
                numbers = _seed_tenant(out, ids, setup, index, count, start, end, rng, tagger, pools, report)
                _inbox_counter(conn, setup.tenant_id, numbers)
            out.flush_all()
            _message_departments(conn, [s.tenant_id for s in setups], report)
        conn.execute("ALTER TABLE listening_mention ENABLE TRIGGER mention_author_count_insert")
        for table, trigger in (*CARE_TRIGGERS, *TAG_TRIGGERS):
            conn.execute(f"ALTER TABLE {table} ENABLE TRIGGER {trigger}")
        started = time.monotonic()
        tenant_ids = [s.tenant_id for s in setups]
        # Statistics first: without them the planner looks the messages up by scanning them for
        # each conversation (minutes at 675k conversations, ~40 s with them).
        conn.execute("ANALYZE inbox_conversation, inbox_message, listening_mention")
        conn.execute("SELECT inbox_care_refresh(array_agg(c.tenant_id), array_agg(c.id)) FROM inbox_conversation c "
                     "WHERE c.tenant_id = ANY(%s) AND (c.first_response_at IS NOT NULL OR EXISTS ("
                     "SELECT 1 FROM inbox_message o WHERE o.tenant_id = c.tenant_id AND o.conversation_id = c.id "
                     "AND o.direction = 'out' AND o.delivery_status = 'sent'))", [tenant_ids])
        report.say(f"care facts of the conversations computed in {time.monotonic() - started:.1f}s")
        for table in rows.TABLES:
            advance_sequence(conn, table)
    started = time.monotonic()
    with conn.transaction():
        for table in rows.TABLES:
            conn.execute(f"ANALYZE {table}")
    report.say(f"analyzed in {time.monotonic() - started:.1f}s; "
               + ", ".join(f"{n:,} {t.split('_', 1)[1]}" for t, n in out.counts.items()))
    return [s.tenant_id for s in setups]


def _prepare(setup, rng: random.Random):
    from .tagging import Tagger
    from .texts import build_pools, tagged_pools

    tagger = Tagger(setup.tenant_id, rng)
    return rng, tagger, tagged_pools(build_pools(rng, setup.brands, tuple(name for _uid, name in setup.agents)), tagger)


def _seed_tenant(out: Tables, ids: IdBlocks, setup, index: int, n: int, start: float, end: float,
                 rng: random.Random, tagger, pools, report: Progress) -> int:
    from .inbox_sim import InboxSim
    from .timeline import Clock, People, Planner

    people = People(rng, n, setup.brand, lambda: ids.take("listening_author"))
    clock = Clock(rng, start, end)
    posts = Planner(rng, pools, people, clock, n).run()
    report.say(f"{setup.slug}: planned {len(posts):,} posts by {len(people.created):,} authors")
    handles = frozenset(h.lstrip("@").lower() for h in (setup.brand.handle,))
    sim = InboxSim(rng, setup, out, ids, clock=clock, end=end, own_handles=handles)
    tid, external = setup.tenant_id, rows.Ids(index)
    for post in posts:
        external.assign(post)
        post.mention_id = ids.take("listening_mention")
        parent, conversation = rows.thread_ids(post)
        query_ids = tagger.queries_of_reply(post.prefix, post.body)
        topic_ids = post.body.topic_ids
        post.author.last_seen = post.t
        post.author.mentions += 1
        out.add("listening_mention", _mention_row(rng, tid, setup, post, parent, conversation))
        # The mention's facts on its tags (MentionFacts), as the tags' trigger copies them: the
        # language is the NLP one (body.lang), which the platform's never overrides.
        facts = (post.author.id, rows.at(post.t), post.body.lang)
        for query_id in query_ids:
            out.add("listening_mentionmatch", (ids.take("listening_mentionmatch"), tid, post.mention_id, query_id,
                                               *facts))
        for topic_id in topic_ids:
            out.add("listening_mentiontopic", (ids.take("listening_mentiontopic"), tid, post.mention_id, topic_id,
                                               "rule", 1.0, *facts))
        sim.mention(post, parent, conversation, topic_ids, query_ids)
        report.mentions += 1
    sim.finish()
    for author in people.created:
        out.add("listening_author", rows.author_row(tid, author, start))
    _identities(out, ids, setup, people.created, rng, start)
    report.say(f"{setup.slug}: {n:,} mentions, {len(sim.conversations):,} conversations")
    return len(sim.conversations)


def _mention_row(rng, tid: int, setup, post, parent: str, conversation: str) -> tuple:
    body, t = post.body, post.t
    counts = rows.metrics(rng, post)
    lang = body.lang if post.platform in ("x", "mastodon", "bluesky") else ""  # what the platform says
    text = post.text
    version = post.external_id if post.platform == "x" else ""
    return (
        post.mention_id, tid, post.platform, post.external_id, version, setup.accounts[post.platform], post.author.id,
        text, lang, rows.url(post), rows.at(t), rows.at(t + 35.0), rows.at(t + 35.2), *counts, parent, conversation,
        post.own, post.repost, False, False, rows.raw_payload(post, text, lang, counts, parent, conversation),
        body.lang, body.sentiment, body.confidence, body.scores, body.model_version, body.needs_review,
        rows.at(t + 36.5), body.reasons, "model", _entities(post))


def _entities(post) -> str:
    """The body's entities (tagged once per pooled text) at their place in the stored text: a
    reply or a repost starts with a prefix (@names, "RT @name: ") the offsets move past."""
    if not post.prefix or post.body.entities == "[]":
        return post.body.entities
    shift = len(post.prefix)
    return orjson.dumps([{**e, "start": e["start"] + shift, "end": e["end"] + shift}
                         for e in orjson.loads(post.body.entities)]).decode()


def _inbox_counter(conn, tenant_id: int, conversations: int) -> None:
    """The tenant's InboxSettings counter: the next conversation gets the next number."""
    conn.execute(
        "INSERT INTO inbox_inboxsettings (tenant_id, next_number, author_window_hours, relevance, "
        "alert_escalation_minutes) VALUES (%s, %s, 24, '{}', 30) "
        "ON CONFLICT (tenant_id) DO UPDATE SET next_number = EXCLUDED.next_number",
        [tenant_id, conversations + 1])


def _identities(out: Tables, ids: IdBlocks, setup, authors, rng: random.Random, start: float) -> None:
    """A social identity for every author in the inbox (as customers_suggest makes them), some
    linked to a customer record; more customer records come from the CRM alone."""
    from social_crm.customers.normalize import fold

    tid = setup.tenant_id
    agents = [uid for uid, _name in setup.agents]

    def customer(name: str, handle: str, created: float) -> int:
        customer_id = ids.take("customers_customer")
        tier = rng.choices([t for t, _w in TIERS], weights=[w for _t, w in TIERS])[0]
        slug = "".join(c for c in fold(name) if c.isalnum())[:20] or "client"
        emails = [f"{slug}{customer_id % 1000}@mail.example"]
        phones = [f"+336{rng.randint(10_000_000, 99_999_999)}"] if rng.random() < 0.4 else []
        consent = rng.random() < 0.5
        out.add("customers_customer", (
            customer_id, tid, name, fold(name)[:200], orjson.dumps(emails).decode(), orjson.dumps(phones).decode(),
            orjson.dumps([f"@{handle.lower()}"] if handle else []).decode(), f"CRM-{tid}-{customer_id:08d}", tier, "",
            consent, consent or rng.random() < 0.3, rows.at(created) if consent else None, None, rows.at(created),
            rows.at(created)))
        return customer_id

    linked = 0
    for author in authors:
        if not author.in_inbox or author.role == "brand":
            continue
        created = author.last_seen
        customer_id = linked_at = linked_by = None
        if rng.random() < CUSTOMER_SHARE:
            customer_id = customer(author.name or author.handle, author.handle, start - rng.uniform(0, 3 * 365) * 86400)
            linked_at, linked_by = rows.at(created + 3600 * rng.uniform(0.1, 48)), rng.choice(agents)
            linked += 1
        out.add("customers_socialidentity", (
            ids.take("customers_socialidentity"), tid, author.platform, author.uid, author.handle, author.name,
            author.profile_url, author.id, customer_id, linked_at, linked_by if customer_id else None,
            rows.at(created), rows.at(created)))
    for _ in range(int(linked * CRM_ONLY)):
        first, last = rng.choice(("Marie", "Paul", "Inès", "Hugo", "Emma", "Louis")), rng.choice(
            ("Martin", "Bernard", "Petit", "Durand", "Leroy", "Moreau"))
        customer(f"{first} {last}", "", start - rng.uniform(0, 3 * 365) * 86400)


# --- CLI -------------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m social_crm.bench.seed", description=__doc__.split("\n\n")[0])
    parser.add_argument("--tenants", type=int, default=3)
    parser.add_argument("--mentions", type=int, default=2_000_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--database", default="social_crm_bench_seed",
                        help="created (dropped first if it exists) and migrated on DATABASE_URL's server; kept")
    args = parser.parse_args(argv)
    if not os.environ.get("DATABASE_URL") or not os.environ.get("REDIS_URL"):
        raise SystemExit("DATABASE_URL (the owner) and REDIS_URL must be set")
    from . import database

    owner = os.environ["DATABASE_URL"]
    database.recreate(owner, args.database)
    env = database.environment(args.database)
    database.migrate(env)
    os.environ.update(env)
    import django
    import psycopg

    django.setup()
    started = time.monotonic()
    with psycopg.connect(env["DATABASE_URL"]) as conn:
        tenant_ids = seed(conn, tenants=args.tenants, mentions=args.mentions, days=args.days, seed=args.seed,
                          progress=lambda line: print(line, flush=True))
    print(f"seeded tenants {tenant_ids} into {args.database} in {time.monotonic() - started:.0f}s "
          f"(drop it with: DROP DATABASE {args.database})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
