"""No N+1 on the inbox: the list page and the conversation page make as many queries with 30
conversations (messages, notes, events, topics) as with 3; and `make bench-inbox`'s
measurement runs every case on a small seed of the real PostgreSQL."""

from __future__ import annotations

import re

import psycopg
import pytest
from django.conf import settings
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext

from inbox import conversations as actions
from listening.models import MentionTopic
from social_crm.tenancy.permissions import Role
from social_crm.tenancy.scope import tenant_context

from .conftest import login, with_database
from .world_inbox import make_mention

INBOX = "/t/acme/inbox/"


def row_ids(response) -> list[int]:
    return [int(x) for x in re.findall(r'data-conversation-id="(\d+)"', response.content.decode())]


def add_conversations(world, start: int, count: int) -> list[int]:
    """``count`` conversations in A (an author each), every second one assigned, routed to a
    department, tagged and with a topic on its message, so each joined row is really there."""
    a = world.a.tenant.pk
    cm = world.a.members[Role.COMMUNITY_MANAGER].user
    mentions = [make_mention(world.a, f"qc-{i}", f"Colis {i} en retard", minutes=i, author=f"qc{i}", detected_language="fr")
                for i in range(start, start + count)]
    with tenant_context(a):
        for mention in mentions:
            MentionTopic.objects.create(tenant_id=a, mention=mention, topic=world.a.topic, source="rule", score=1.0)
    ids = actions.attach_mentions(a, [m.pk for m in mentions])
    for n, conversation_id in enumerate(ids):
        if n % 2 == 0:
            actions.conversation_update(a, actor=cm, conversation_id=conversation_id, status="open", assignee_id=cm.pk,
                                        department_id=world.a.departments["legal"].pk, tags=["retard", f"lot-{n}"])
    return ids


def page_queries(client, url: str) -> tuple[int, object]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries), response


def test_the_inbox_list_makes_as_many_queries_with_30_conversations_as_with_3(client, world):
    login(client, "cm@example.com")
    topic = world.a.topic.pk
    urls = (INBOX, f"{INBOX}?status=new&status=open&assignee=me&assignee=none&topic={topic}&language=fr&language=en"
                   f"&department={world.a.departments['legal'].pk}&department=none&sentiment=negative")
    add_conversations(world, 0, 2)  # + the world's own: 3
    few = {url: page_queries(client, url) for url in urls}
    add_conversations(world, 2, 27)  # 30
    many = {url: page_queries(client, url) for url in urls}
    assert len(row_ids(few[INBOX][1])) == 3 and len(row_ids(many[INBOX][1])) == 30
    assert len(row_ids(many[urls[1]][1])) > len(row_ids(few[urls[1]][1])) > 0
    assert world.b.conversation.pk not in row_ids(many[INBOX][1])
    for url in urls:
        assert many[url][0] == few[url][0], url


def test_the_conversation_page_makes_as_many_queries_with_30_messages_as_with_3(client, world):
    a = world.a.tenant.pk
    cm = world.a.members[Role.COMMUNITY_MANAGER].user
    login(client, "cm@example.com")

    def grow(start: int, count: int) -> int:
        """Messages from one author within the author window: one conversation; a topic on
        each, a note and a change (an event) per message."""
        mentions = [make_mention(world.a, f"th-{i}", f"Toujours pas de colis ({i})", minutes=i, author="thread")
                    for i in range(start, start + count)]
        with tenant_context(a):
            for mention in mentions:
                MentionTopic.objects.create(tenant_id=a, mention=mention, topic=world.a.topic, source="rule")
        (conversation_id,) = actions.attach_mentions(a, [m.pk for m in mentions])
        for i in range(start, start + count):
            actions.note_add(a, actor=cm, conversation_id=conversation_id, body=f"Note {i} @cm")
            actions.conversation_update(a, actor=cm, conversation_id=conversation_id, tags=[f"t{i}"],
                                        assignee_id=cm.pk if i % 2 else None)
        return conversation_id

    conversation_id = grow(0, 3)
    url = f"/t/acme/inbox/c/{conversation_id}/"
    few, response = page_queries(client, url)
    assert response.content.decode().count('data-testid="message"') == 3
    assert grow(3, 27) == conversation_id
    many, response = page_queries(client, url)
    body = response.content.decode()
    assert body.count('data-testid="message"') == 30 and body.count('data-testid="note"') == 30
    assert body.count('data-testid="topic-chip"') == 30
    assert many == few


# The seeder is deterministic for a given end, but how many conversations are still new or open
# depends on the hour it ends (agents resolve in Paris office hours): ending "now" left anywhere
# from 49 to 170 for this tenant, and below 50 the bench rightly skips "page 2". A fixed end
# (Wednesday 2 December 2026, 16:00 Paris) leaves 95: a full first page and a second one.
SEED_END = 1796223600.0


@pytest.mark.django_db(transaction=True, databases=["default", "owner"])  # the seeder commits on its own connection
def test_the_bench_measures_every_case_on_a_small_seed():
    from inbox.bench import pages
    from social_crm.bench.seed import seed

    name = connections["default"].settings_dict["NAME"]
    with psycopg.connect(with_database(settings.DATABASE_URL, name)) as conn:  # the owner: bypasses RLS
        tenant_ids = seed(conn, tenants=3, mentions=4000, days=2, slug_prefix="bench", end=SEED_END)
        # The seeder copies each author with its count (the counting trigger is off during the load).
        assert conn.execute(
            "SELECT count(*) FILTER (WHERE a.mentions_seen <> (SELECT count(*) FROM listening_mention m "
            "WHERE m.tenant_id = a.tenant_id AND m.author_id = a.id)), sum(a.mentions_seen) "
            "FROM listening_author a WHERE a.tenant_id = ANY(%s)", [tenant_ids]).fetchone() == (0, 4000)
        # The tags' copies of their mention (listening migration 0008) are written by the seeder
        # with their trigger off: what the trigger would have copied, on every tag row.
        from analytics.selectors import LANGUAGE_SQL

        for table in ("listening_mentionmatch", "listening_mentiontopic"):
            wrong, tags = conn.execute(
                f"SELECT count(*) FILTER (WHERE (x.mention_author_id, x.mention_created_at, x.mention_language) "
                f"IS DISTINCT FROM (m.author_id, m.created_at, {LANGUAGE_SQL})), count(*) "
                f"FROM {table} x JOIN listening_mention m ON m.tenant_id = x.tenant_id AND m.id = x.mention_id "
                "WHERE x.tenant_id = ANY(%s)", [tenant_ids]).fetchone()
            assert wrong == 0 and tags > 100, (table, wrong, tags)
        # And the inbound messages' copies of their mention and of their conversation's final
        # department (inbox migration 0006); outbound messages carry none.
        wrong, inbound, in_department = conn.execute(
            f"SELECT count(*) FILTER (WHERE (x.mention_author_id, x.mention_created_at, x.mention_language, "
            f"x.conversation_department_id) IS DISTINCT FROM (m.author_id, m.created_at, {LANGUAGE_SQL}, "
            "c.department_id)), count(*), count(x.conversation_department_id) FROM inbox_message x "
            "JOIN listening_mention m ON m.tenant_id = x.tenant_id AND m.id = x.mention_id "
            "JOIN inbox_conversation c ON c.tenant_id = x.tenant_id AND c.id = x.conversation_id "
            "WHERE x.tenant_id = ANY(%s) AND x.direction = 'in'", [tenant_ids]).fetchone()
        assert wrong == 0 and inbound > 100 and in_department > 10, (wrong, inbound, in_department)
        assert conn.execute(
            "SELECT count(*) FILTER (WHERE x.mention_author_id IS NOT NULL OR x.mention_created_at IS NOT NULL "
            "OR x.conversation_department_id IS NOT NULL OR x.mention_language <> ''), count(*) > 0 "
            "FROM inbox_message x WHERE x.tenant_id = ANY(%s) AND x.direction = 'out'", [tenant_ids]).fetchone() \
            == (0, True)
        # Its care triggers are off during the load too; the facts are computed once at its end.
        wrong, answered = conn.execute(
            "SELECT count(*) FILTER (WHERE c.care_answered_at IS DISTINCT FROM LEAST(c.first_response_at, "
            "(SELECT min(COALESCE(o.sent_at, o.created_at)) FROM inbox_message o WHERE o.tenant_id = c.tenant_id "
            "AND o.conversation_id = c.id AND o.direction = 'out' AND o.delivery_status = 'sent'))), "
            "count(c.care_answered_at) FROM inbox_conversation c WHERE c.tenant_id = ANY(%s)", [tenant_ids]).fetchone()
        assert wrong == 0 and answered > 0
        # Entities found by the real ruler on the pooled texts, at their place in each stored text
        # (replies and reposts start with a prefix the offsets move past).
        tagged, misplaced = conn.execute(
            "SELECT count(DISTINCT m.id), count(*) FILTER (WHERE substr(m.text, (e->>'start')::int + 1, "
            "(e->>'end')::int - (e->>'start')::int) <> e->>'text') FROM listening_mention m "
            "CROSS JOIN LATERAL jsonb_array_elements(m.entities) AS e WHERE m.tenant_id = ANY(%s)",
            [tenant_ids]).fetchone()
        assert tagged > 100 and misplaced == 0
    rows = pages.measure(tenant_ids[0], repeats=2)
    subject = pages.subject_for(tenant_ids[0])
    names = [case.name for case in pages.cases(subject)]
    assert [r.case for r in rows[:len(names)]] == names  # none skipped (page 2 needs a full first page)
    listed = rows[:len(names)]
    assert all(r.list_queries > 0 and r.page_queries > 0 and len(r.list_ms) == 2 and len(r.page_ms) == 2
               for r in listed)
    assert listed[0].rows == 50 and listed[-1].rows > 0  # page 1 full, page 2 reached through the cursor
    conversation_rows = rows[len(names):]
    assert len(conversation_rows) == 2 and all(r.page_queries > 0 for r in conversation_rows)
    assert len({r.page_queries for r in conversation_rows}) == 1  # the longest thread: no more queries
    assert "list p95" in pages.table(rows)
