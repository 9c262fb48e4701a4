"""Top authors without scanning the range: the per-author bound the database keeps
(listening_author.mentions_seen, a trigger of migration listening 0006) and the walk that
uses it (analytics.selectors.top_authors), checked against a count done here in Python and
against the plain GROUP BY, in the two-tenant world."""

from __future__ import annotations

import random
from collections import Counter
from datetime import date, datetime, time, timedelta, timezone

import pytest
from django.db import connection

from analytics import selectors
from analytics.filters import Filters
from listening.connectors.base import Page
from listening.ingest import ingest_page
from listening import actions as listening_actions
from listening.models import Author, Mention, MentionMatch, MentionTopic, Topic
from social_crm.tenancy.scope import tenant_context

from .test_analytics_rollups import _mention

FIRST = date(2026, 9, 1)
DAYS = 10


def _seen(tid) -> dict[str, int]:
    with tenant_context(tid):
        return dict(Author.objects.filter(tenant_id=tid).values_list("platform_user_id", "mentions_seen"))


def test_the_database_counts_each_authors_mentions_once_whoever_inserts(world):
    a, b = world.a.tenant.pk, world.b.tenant.pk
    before_b = _seen(b)
    def page():
        return Page(mentions=[_mention("a1", "Acme colis perdu", 5, author="u-1"),
                              _mention("a2", "Acme merci", 20, author="u-2"),
                              _mention("a4", "Acme retard", 75, author="u-1", likes=4)], cursor={})

    ingest_page(a, platform="x", page=page(), source="poll")  # ingestion: u-1 twice, u-2 once
    assert {k: v for k, v in _seen(a).items() if k in ("u-1", "u-2")} == {"u-1": 2, "u-2": 1}
    ingest_page(a, platform="x", page=page(), source="poll")  # re-sightings (ON CONFLICT updates): no new mention
    assert _seen(a)["u-1"] == 2
    ingest_page(a, platform="x", page=Page(mentions=[_mention("a9", "Acme encore", 200, author="u-1")], cursor={}),
                source="poll")
    assert _seen(a)["u-1"] == 3
    assert _seen(b) == before_b  # the other tenant's authors (same handles in both worlds) untouched
    with tenant_context(a):  # the ORM, several rows in one statement, and an author given later
        u2 = Author.objects.get(tenant_id=a, platform_user_id="u-2")
        start = datetime(2026, 9, 1, tzinfo=timezone.utc)
        Mention.objects.bulk_create([Mention(tenant_id=a, platform="x", external_id=f"bulk-{i}", author=u2,
                                             created_at=start) for i in range(3)]
                                    + [Mention(tenant_id=a, platform="x", external_id="orphan", created_at=start)])
        Mention.objects.filter(tenant_id=a, external_id="orphan").update(author=u2)
        Mention.objects.filter(tenant_id=a, external_id="orphan").update(text="no new author: no new count")
        with connection.cursor() as cursor:
            cursor.execute("SELECT a.mentions_seen, (SELECT count(*) FROM listening_mention m WHERE m.tenant_id = %s "
                           "AND m.author_id = a.id) FROM listening_author a WHERE a.id = %s", [a, u2.pk])
            assert cursor.fetchone() == (5, 5)


def _filters(first: date, days: int, **kw) -> Filters:
    zone = timezone.utc
    last = first + timedelta(days=days - 1)
    return Filters(start=datetime.combine(first, time(0), tzinfo=zone),
                   end=datetime.combine(last + timedelta(days=1), time(0), tzinfo=zone),
                   first_day=first, last_day=last, tz="UTC", interval="day", **kw)


@pytest.fixture
def crowd(world):
    """Tenant A: 120 authors on three platforms, 1,500 mentions over ten days drawn from a
    Zipf-like law (ties in counts and in followers, authors without followers), some matched
    by the brand query, some by a rival query (some by both), some tagged with a topic;
    tenant B: its own authors, busier than any of A's, on the same query and topic names."""
    rng = random.Random(6)
    a, b = world.a.tenant.pk, world.b.tenant.pk
    start = datetime.combine(FIRST, time(0), tzinfo=timezone.utc)
    facts = []
    with tenant_context(a):
        authors = Author.objects.bulk_create([
            Author(tenant_id=a, platform=("x", "mastodon", "bluesky")[i % 3], platform_user_id=f"c-{i}",
                   handle=f"c{i}", followers=None if i % 17 == 0 else rng.choice((10, 500, 500, 5000, 80_000)))
            for i in range(120)])
        weights = [1 / (rank + 2) ** 1.1 for rank in range(len(authors))]
        mentions = []
        for i in range(1500):
            who = rng.choices(authors, weights)[0]
            mention = Mention(tenant_id=a, platform=who.platform, external_id=f"crowd-{i}", author=who,
                              created_at=start + timedelta(minutes=rng.randrange(DAYS * 1440)),
                              language=rng.choice(("fr", "fr", "en")), like_count=rng.randrange(5), share_count=None,
                              reply_count=rng.randrange(3))
            mentions.append(mention)
        Mention.objects.bulk_create(mentions, batch_size=500)
        matched = [m for m in mentions if rng.random() < 0.3]
        MentionMatch.objects.bulk_create([MentionMatch(tenant_id=a, mention=m, query=world.a.query) for m in matched])
        world.a.rival = listening_actions.query_save(a, actor=None, name="Rival", kind="competitor", expression="globo")
        rival = [m for m in mentions if rng.random() < 0.25]
        MentionMatch.objects.bulk_create([MentionMatch(tenant_id=a, mention=m, query=world.a.rival) for m in rival])
        world.a.crowd_topic = Topic.objects.create(tenant_id=a, name="Crowd", keywords=["crowd"])
        topical = [m for m in mentions if rng.random() < 0.2]
        MentionTopic.objects.bulk_create([MentionTopic(tenant_id=a, mention=m, topic=world.a.crowd_topic)
                                          for m in topical])
        matched_ids, rival_ids, topical_ids = {m.pk for m in matched}, {m.pk for m in rival}, {m.pk for m in topical}
        for m in mentions:
            facts.append((m.author_id, m.author.platform, m.created_at, m.language, m.pk in matched_ids,
                          (m.like_count or 0) + (m.reply_count or 0), m.pk in rival_ids, m.pk in topical_ids))
    with tenant_context(b):
        busy = Author.objects.create(tenant_id=b, platform="x", platform_user_id="c-0", handle="busy",
                                     followers=10**9)
        busy_mentions = Mention.objects.bulk_create([
            Mention(tenant_id=b, platform="x", external_id=f"crowd-{i}", author=busy, language="fr",
                    created_at=start + timedelta(hours=i)) for i in range(200)])
        topic_b = Topic.objects.create(tenant_id=b, name="Crowd", keywords=["crowd"])
        MentionTopic.objects.bulk_create([MentionTopic(tenant_id=b, mention=m, topic=topic_b) for m in busy_mentions])
        MentionMatch.objects.bulk_create([MentionMatch(tenant_id=b, mention=m, query=world.b.query)
                                          for m in busy_mentions])
    followers = {x.pk: x.followers for x in authors}
    return world, facts, followers


def _expected(facts, followers, f: Filters, query_id: int | None, *, rival: bool = False,
              topic: bool = False) -> tuple[list, list]:
    """Both rankings, counted here: [(author id, mentions, interactions)]. ``query_id``: the
    brand query's matches (with ``rival``: the brand's or the rival's); ``topic``: the tagged."""
    count, inter = Counter(), Counter()
    for author_id, platform, at, language, matched, interactions, rivals, topical in facts:
        if not f.start <= at < f.end or (f.platform and platform != f.platform):
            continue
        if (f.language and language != f.language) or (query_id and not (matched or rival and rivals)):
            continue
        if topic and not topical:
            continue
        count[author_id] += 1
        inter[author_id] += interactions
    by_volume = sorted(count, key=lambda i: (-count[i], i))[:f.limit]
    by_reach = sorted(count, key=lambda i: (followers[i] is None, -(followers[i] or 0), i))[:f.limit]
    return ([(i, count[i], inter[i]) for i in sorted(by_volume, key=lambda i: (-count[i], i))],
            [(i, count[i], inter[i]) for i in sorted(by_reach, key=lambda i: (-(followers[i] or 0), i))])


def _answer(tid, f, **kw):
    with tenant_context(tid):
        body = selectors.top_authors(tid, f, **kw)
    return body["source"], *([(r["author_id"], r["mentions"], r["interactions"]) for r in body[k]]
                             for k in ("by_volume", "by_reach"))


CASES = [  # (first day offset, days, platform, language, brand query, limit)
    (0, 10, "", "", False, 10), (0, 10, "", "", False, 1), (0, 10, "", "", False, 50), (3, 1, "", "", False, 10),
    (2, 3, "x", "", False, 5), (0, 10, "mastodon", "en", False, 10), (0, 10, "", "", True, 10),
    (4, 2, "bluesky", "fr", True, 3), (20, 5, "", "", False, 10),  # an empty range
]


@pytest.mark.parametrize("offset,days,platform,language,brand,limit", CASES)
def test_the_walk_gives_the_exact_rankings_of_the_range(crowd, offset, days, platform, language, brand, limit):
    world, facts, followers = crowd
    tid = world.a.tenant.pk
    query_id = world.a.query.pk if brand else None
    f = _filters(FIRST + timedelta(days=offset), days, platform=platform, language=language,
                 queries=(query_id,) if query_id else (), limit=limit)
    source, by_volume, by_reach = _answer(tid, f)
    # Under the query, its few match rows answer (a GROUP BY of their index), not the walk.
    assert source == ("tags" if brand else "author-walk")
    assert (by_volume, by_reach) == _expected(facts, followers, f, query_id)
    assert _answer(tid, f, source="raw") == ("raw", by_volume, by_reach)
    if offset < DAYS:
        assert by_volume and by_reach  # the case is not vacuous


TAG_CASES = [  # (first day offset, days, platform, language, queries, topic, limit)
    (0, 10, "", "", ("brand",), False, 10), (0, 10, "", "fr", ("brand",), False, 5),
    (2, 3, "mastodon", "", ("brand",), False, 10), (0, 10, "", "", (), True, 10), (1, 4, "x", "en", (), True, 3),
    (0, 10, "", "", ("brand", "rival"), False, 10), (3, 2, "bluesky", "fr", ("brand", "rival"), False, 10),
    (0, 10, "", "", ("brand",), True, 10),  # both kinds of tag: the walk reads the mentions
]


@pytest.mark.parametrize("offset,days,platform,language,queries,topic,limit", TAG_CASES)
def test_under_a_query_or_a_topic_the_tag_rows_give_the_exact_rankings(crowd, monkeypatch, offset, days, platform,
                                                                       language, queries, topic, limit):
    """Under one kind of tag filter the rankings come from the tag rows' copies of their
    mention (author, date, language): by their GROUP BY when the range holds few of them, by
    the walk counting each author's tag rows otherwise. Both equal a count done here and the
    GROUP BY over the raw mentions; a mention matching both selected queries counts once."""
    world, facts, followers = crowd
    tid = world.a.tenant.pk
    ids = {"brand": world.a.query.pk, "rival": world.a.rival.pk}
    f = _filters(FIRST + timedelta(days=offset), days, platform=platform, language=language,
                 queries=tuple(ids[q] for q in queries), topic=world.a.crowd_topic.pk if topic else None, limit=limit)
    expected = _expected(facts, followers, f, ids["brand"] if queries else None, rival="rival" in queries, topic=topic)
    assert expected[0] and expected[1]  # the case is not vacuous
    both = bool(queries) and topic
    assert _answer(tid, f) == ("author-walk" if both else "tags", *expected)
    monkeypatch.setattr(selectors, "FEW_TAGS", 1)  # never "few": the walk over the tag rows
    assert _answer(tid, f) == ("author-walk", *expected)
    assert _answer(tid, f, source="raw") == ("raw", *expected)


def test_a_walk_past_its_budget_answers_from_the_group_by(crowd, monkeypatch):
    world, facts, followers = crowd
    tid = world.a.tenant.pk
    f = _filters(FIRST, DAYS, language="en", queries=(world.a.query.pk,), limit=10)
    monkeypatch.setattr(selectors, "PROBE_BUDGET", 5)
    monkeypatch.setattr(selectors, "FEW_TAGS", 1)  # not "few tags": the walk runs first
    source, by_volume, by_reach = _answer(tid, f)
    assert source == "tags"  # the GROUP BY of the match rows
    assert (by_volume, by_reach) == _expected(facts, followers, f, world.a.query.pk)
    f = _filters(FIRST, DAYS, language="en", limit=10)
    source, by_volume, by_reach = _answer(tid, f)
    assert source == "raw"
    assert (by_volume, by_reach) == _expected(facts, followers, f, None)


def test_a_filtered_walk_that_reads_too_many_rows_answers_from_the_group_by(crowd, monkeypatch):
    """Under filters no index carries (a query and a topic), every range mention of a walked
    author is read: past SCAN_BUDGET of them the GROUP BY answers. Unfiltered, under the
    platform and language the mention index carries, or under a query or a topic (counted
    from the tag rows), the count is index-only and the budget does not apply."""
    world, facts, followers = crowd
    tid = world.a.tenant.pk
    monkeypatch.setattr(selectors, "SCAN_BUDGET", 50)
    monkeypatch.setattr(selectors, "FEW_TAGS", 50)  # a query's or a topic's rows are not "few": the walk
    query_id, topic_id = world.a.query.pk, world.a.crowd_topic.pk
    f = _filters(FIRST, DAYS, queries=(query_id,), topic=topic_id, limit=10)
    source, by_volume, by_reach = _answer(tid, f)
    assert source == "raw" and by_volume
    assert (by_volume, by_reach) == _expected(facts, followers, f, query_id, topic=True)
    for carried, query, topic in ((_filters(FIRST, DAYS, limit=10), None, False),
                                  (_filters(FIRST, DAYS, language="en", limit=10), None, False),
                                  (_filters(FIRST, DAYS, platform="mastodon", language="fr", limit=10), None, False),
                                  (_filters(FIRST, DAYS, queries=(query_id,), limit=10), query_id, False),
                                  (_filters(FIRST, DAYS, topic=topic_id, limit=10), None, True)):
        source, by_volume, by_reach = _answer(tid, carried)
        assert source == "author-walk" and by_volume
        assert (by_volume, by_reach) == _expected(facts, followers, carried, query, topic=topic)


def test_the_index_carries_every_column_the_walks_platform_and_language_filters_read(db):
    """What makes those counts index-only: each column of the mention the walk's count reads
    under a platform and a language filter is in mention_author_created_idx (key or INCLUDE)."""
    import re

    f = _filters(FIRST, DAYS, platform="x", language="fr", limit=10)
    sql = " AND ".join([selectors.RANGE_SQL, *selectors._raw_filters(f), "m.author_id = 1"])
    read = set(re.findall(r"\bm\.(\w+)", sql))
    with connection.cursor() as cursor:
        cursor.execute("SELECT a.attname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                       "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) "
                       "WHERE c.relname = 'mention_author_created_idx'")
        carried = {r[0] for r in cursor.fetchall()}
    assert read >= {"platform", "detected_language", "language", "created_at"}
    assert read <= carried, read - carried


def test_a_department_filter_ranks_the_mentions_of_the_departments_conversations(crowd, monkeypatch):
    """Under a department, the mentions that are inbound messages of the department's
    conversations, counted from the messages' copies of their mention and of the conversation's
    department (inbox migration 0006): by their GROUP BY when few, by the walk otherwise, with a
    platform or a language too. The same rankings as a count done here, as the GROUP BY read
    from the conversations' side and as the per-mention EXISTS of the other series; other
    departments', tenant B's and out-of-range conversations do not count; a conversation sent
    to another department takes its mentions along."""
    from dataclasses import replace

    from inbox.models import Conversation, Message

    world, facts, followers = crowd
    tid = world.a.tenant.pk
    service, legal = world.a.departments["customer-service"].pk, world.a.departments["legal"].pk
    with tenant_context(tid):
        mentions = list(Mention.objects.filter(tenant_id=tid, external_id__startswith="crowd-").order_by("id"))
        # Conversations of five mentions each, in order of time per author: department by turns.
        by_author: dict[int, list] = {}
        for m in mentions[::2]:
            by_author.setdefault(m.author_id, []).append(m)
        conversations, number = [], 1000
        for author_id, own in by_author.items():
            own.sort(key=lambda m: m.created_at)
            for start in range(0, len(own), 5):
                chunk, number = own[start:start + 5], number + 1
                c = Conversation.objects.create(
                    tenant_id=tid, number=number, platform="x", thread_key=f"t:{number}", author_id=author_id,
                    department_id=(service, legal, None)[number % 3], first_message_at=chunk[0].created_at,
                    last_message_at=chunk[-1].created_at)
                Message.objects.bulk_create([Message(tenant_id=tid, conversation=c, direction="in", mention=m,
                                                     created_at=m.created_at) for m in chunk])
                conversations.append((c, {m.pk for m in chunk}))
        # Sent elsewhere after its messages were written: one conversation in three of legal's.
        moved = [c for c, _ids in conversations if c.department_id == legal][::3]
        Conversation.objects.filter(tenant_id=tid, pk__in=[c.pk for c in moved]).update(department_id=service)
        for c in moved:
            c.department_id = service
        in_department = {pk for c, ids in conversations if c.department_id == service for pk in ids}
        pk_of = {m.pk: m for m in mentions}
    assert len(in_department) > 100 and moved
    kept = [fact for fact, m in zip(facts, mentions, strict=True) if m.pk in in_department]
    assert all(pk_of[m.pk].author_id == fact[0] for fact, m in zip(facts, mentions, strict=True))
    for first, days, platform, language in ((FIRST, DAYS, "", ""), (FIRST + timedelta(days=3), 2, "", ""),
                                            (FIRST, DAYS, "mastodon", ""), (FIRST, DAYS, "", "fr")):
        f = _filters(first, days, department=service, platform=platform, language=language, limit=10)
        expected = _expected(kept, followers, f, None)
        assert expected[0] and expected[1]  # the case is not vacuous
        assert _answer(tid, f) == ("tags", *expected)
        monkeypatch.setattr(selectors, "FEW_TAGS", 1)  # never "few": the walk over the messages
        assert _answer(tid, f) == ("author-walk", *expected)
        monkeypatch.undo()
        assert _answer(tid, f, source="raw") == ("raw", *expected)
        with tenant_context(tid):  # the per-mention EXISTS the other series use: the same rows
            exists = selectors._rows(
                f"SELECT m.author_id, count(*) AS n FROM listening_mention m WHERE {selectors._raw_where(f)} "
                "GROUP BY 1", selectors._params(tid, f))
            joined = selectors._rows(
                f"SELECT m.author_id, count(*) AS n FROM {selectors._department_mentions_sql(f)} GROUP BY 1",
                selectors._params(tid, f))
        assert sorted((r["author_id"], r["n"]) for r in exists) == sorted((r["author_id"], r["n"]) for r in joined)
    # A department and a topic: no index carries both, the mentions are read.
    f = _filters(FIRST, DAYS, department=service, topic=world.a.crowd_topic.pk, limit=10)
    expected = _expected(kept, followers, f, None, topic=True)
    assert expected[0] and _answer(tid, f) == ("raw", *expected)
    assert _answer(tid, replace(_filters(FIRST, DAYS, limit=10), department=legal))[1] != expected[0]


def test_the_other_tenants_authors_never_rank(crowd):
    world, facts, _followers = crowd
    f = _filters(FIRST, DAYS, limit=50)
    _source, by_volume, by_reach = _answer(world.a.tenant.pk, f)
    mine = {author_id for author_id, *_rest in facts}
    assert {i for i, *_ in by_volume + by_reach} <= mine
    _source, b_volume, b_reach = _answer(world.b.tenant.pk, f)
    assert [n for _i, n, _x in b_volume][:1] == [200] and not {i for i, *_ in b_volume + b_reach} & mine


def test_the_walk_stops_once_no_later_author_can_rank(crowd):
    from django.test.utils import CaptureQueriesContext

    world, facts, followers = crowd
    tid = world.a.tenant.pk
    f = _filters(FIRST, DAYS, limit=3)
    with CaptureQueriesContext(connection) as queries:
        source, by_volume, _by_reach = _answer(tid, f)
    walks = [q["sql"] for q in queries if "OFFSET" in q["sql"]]
    # One first batch per ranking (40 of the 120 authors), then the winners' figures.
    assert source == "author-walk" and len(walks) == 2 and all("OFFSET 0" in q for q in walks)
    assert by_volume == _expected(facts, followers, f, None)[0]


def test_the_tenants_own_accounts_never_rank(crowd):
    """The busiest author of the crowd is made the brand's own X account: it leaves both
    rankings (walk and GROUP BY) and the next authors move up; a connected account that is not
    the tenant's own (a watched one) changes nothing, nor does tenant B's own account."""
    from listening.models import ConnectedAccount

    world, facts, followers = crowd
    tid, b = world.a.tenant.pk, world.b.tenant.pk
    f = _filters(FIRST, DAYS, limit=10)
    _source, by_volume, _by_reach = _answer(tid, f)
    top = by_volume[0][0]
    with tenant_context(tid):
        author = Author.objects.get(tenant_id=tid, pk=top)
        ConnectedAccount.objects.create(tenant_id=tid, platform=author.platform, name="Watched",
                                        external_id=author.platform_user_id, is_own=False)
    with tenant_context(b):
        ConnectedAccount.objects.create(tenant_id=b, platform=author.platform, name="Globex",
                                        external_id=author.platform_user_id, is_own=True)
    assert _answer(tid, f)[1][0][0] == top
    with tenant_context(tid):
        ConnectedAccount.objects.create(tenant_id=tid, platform=author.platform, name="Acme care",
                                        external_id=author.platform_user_id, is_own=True)
    others = [fact for fact in facts if fact[0] != top]
    for source in ("auto", "raw"):
        got_source, by_volume, by_reach = _answer(tid, f, source=source)
        assert got_source == ("author-walk" if source == "auto" else "raw")
        assert top not in {i for i, *_ in by_volume + by_reach}
        assert (by_volume, by_reach) == _expected(others, followers, f, None)


def test_ingestion_counts_its_authors_itself_and_the_trigger_stands_aside_only_for_it(db):
    """listening.tag_facts, author counts: the trigger's WHEN reads the setting ingestion writes."""
    from listening import tag_facts

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_get_triggerdef(oid) FROM pg_trigger WHERE tgname = 'mention_author_count_insert'")
        (definition,) = cursor.fetchone()
    assert (f"current_setting('{tag_facts.COUNTS_SETTING}'::text, true) IS DISTINCT FROM '{tag_facts.GIVEN}'"
            in definition)


@pytest.mark.django_db(transaction=True, databases=["default", "owner"])
def test_a_page_that_meets_a_concurrent_insert_of_one_of_its_mentions_counts_each_mention_once(committed_world):
    """Ingestion counts every mention of the page in its author upsert. Here another
    transaction inserts one of them first, uncommitted: the page waits for it on the author row,
    then finds that mention stored, and takes it back. The count is exact."""
    from django.db import transaction

    from .test_analytics_rollups import _in_thread, _wait_for, _waiting_on

    tid = committed_world.a.tenant.pk
    ingest_page(tid, platform="x", page=Page(mentions=[_mention("r0", "Acme un", 5, author="u-r")], cursor={}),
                source="poll")
    page = Page(mentions=[_mention("r1", "Acme deux", 6, author="u-r"), _mention("r2", "Acme trois", 7, author="u-r"),
                          _mention("r3", "Acme quatre", 8, author="u-s")], cursor={})
    with transaction.atomic():
        ingest_page(tid, platform="x", page=Page(mentions=[_mention("r1", "Acme deux", 6, author="u-r")], cursor={}),
                    source="webhook")
        thread, box = _in_thread(lambda: ingest_page(tid, platform="x", page=page, source="poll"))
        assert _wait_for(lambda: _waiting_on(box["pid"], "transactionid")), "the page never waited for the other"
    thread.join(30)
    assert not thread.is_alive() and "error" not in box, box.get("error")
    assert box["result"].inserted == 2  # r2 and r3; r1 was the other transaction's
    with tenant_context(tid), connection.cursor() as cursor:
        cursor.execute("SELECT a.platform_user_id, a.mentions_seen, (SELECT count(*) FROM listening_mention m "
                       "WHERE m.tenant_id = a.tenant_id AND m.author_id = a.id) FROM listening_author a "
                       "WHERE a.tenant_id = %s AND a.platform_user_id IN ('u-r', 'u-s') ORDER BY 1", [tid])
        assert cursor.fetchall() == [("u-r", 3, 3), ("u-s", 1, 1)]
