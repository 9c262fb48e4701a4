"""Care metrics (analytics/care.py, analytics/api_care.py) on a small hand-checked data set.

Inbound messages come through the real path (mentions -> ``attach_mentions``), assignment,
departments and resolution through the conversation actions, breaches through
``sla.check_breaches``. What no action writes yet is set with the ORM inside ``tenant_context``:
outbound replies (the replies work is elsewhere), explicit resolution times and due dates.

T0 = 2026-11-02 10:00 UTC (a Monday, 11:00 in Paris); "+n" is n minutes after T0. The range is
2026-11-02 .. 2026-11-04 in Europe/Paris, i.e. [2026-11-01 23:00 UTC, 2026-11-04 23:00 UTC).

  conv  opened  replies (sent)          inbound after    resolved  department        assignee  breaches (due)
  c1    +0 neg  +30 (FR 1800 s)         +40 positive     +120      customer-service  cm        -
  c2    +60 neg, +70 neutral; +130 (FR 4200 s)  +140 neutral  +360   legal             cm        first response (+100)
  c3    +100 neutral; first_response_at +110 (FR 600 s)   -   open   customer-service  head      -
  c4    +200 positive; replies queued / failed only       -   open   customer-service  -         first response (+260)
  c5    +300 neg; +420 (FR 7200 s)      +430 untagged    +1740     legal             head      resolution (+800)
  c6    Oct 29 (out of range); answered  -               +60       legal             cm        resolution (+30)
  c7    Nov 6 (after the range), open    -               -         -                 -         first response (Nov 6)
  world the world's conversation of Nov 1 (before the range), new, customer-service, unassigned
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from analytics import care
from inbox import conversations as inbox_actions
from inbox import sla
from inbox.models import Conversation, Message
from social_crm.tenancy.permissions import Role
from social_crm.tenancy.scope import tenant_context

from .conftest import login
from .world_inbox import make_mention

T0 = datetime(2026, 11, 2, 10, tzinfo=UTC)
RANGE = {"from": "2026-11-02", "to": "2026-11-04", "tz": "Europe/Paris"}
DAY = 24 * 60


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def _inbound(tw, spec: list[tuple[str, str, int, str, str]]) -> dict[str, int]:
    """Mentions (external id, author, minutes, sentiment, language) attached through the inbox."""
    mentions = {ext: make_mention(tw, ext, f"Où est mon colis {ext} ?", minutes=minutes, author=author, sentiment=sentiment,
                                  detected_language=language)
                for ext, author, minutes, sentiment, language in spec}
    inbox_actions.attach_mentions(tw.tenant.pk, [m.pk for m in mentions.values()])
    with tenant_context(tw.tenant.pk):
        return {ext: Message.objects.get(tenant_id=tw.tenant.pk, mention=m).conversation_id
                for ext, m in mentions.items()}


def _reply(tw, conversation_id: int, minutes: int, status: str = "sent", seconds: int = 0, stamp: bool = True):
    """An outbound reply, written at ``minutes`` and (if sent) published ``seconds`` later; a sent
    one stamps the conversation's first_response_at as publishing does (unless ``stamp`` is off)."""
    sent_at = at(minutes) + timedelta(seconds=seconds) if status == "sent" else None
    with tenant_context(tw.tenant.pk):
        Message.objects.create(tenant_id=tw.tenant.pk, conversation_id=conversation_id, direction="out",
                               text="Bonjour, nous regardons.", delivery_status=status, created_at=at(minutes),
                               sent_at=sent_at)
        if sent_at and stamp:
            Conversation.objects.filter(tenant_id=tw.tenant.pk, pk=conversation_id,
                                        first_response_at__isnull=True).update(first_response_at=sent_at)


def build_care_data(tw) -> dict[str, int]:
    tid = tw.tenant.pk
    ids = _inbound(tw, [
        ("c1-a", "a1", 0, "negative", "fr"), ("c1-b", "a1", 40, "positive", "fr"),
        ("c2-a", "a2", 60, "negative", "fr"), ("c2-b", "a2", 70, "neutral", "fr"), ("c2-c", "a2", 140, "neutral", "fr"),
        ("c3-a", "a3", 100, "neutral", "en"),
        ("c4-a", "a4", 200, "positive", "en"),
        ("c5-a", "a5", 300, "negative", "en"), ("c5-b", "a5", 430, "", "en"),
        ("c6-a", "a6", -4 * DAY, "negative", "en"),
        ("c7-a", "a7", 4 * DAY, "negative", "en"),
    ])
    c = {name: ids[f"{name}-a"] for name in ("c1", "c2", "c3", "c4", "c5", "c6", "c7")}
    assert ids["c1-b"] == c["c1"] and ids["c2-c"] == c["c2"] and ids["c5-b"] == c["c5"]  # same author windows
    for name, minutes in (("c1", 30), ("c2", 130), ("c6", -4 * DAY + 10)):
        _reply(tw, c[name], minutes)
    _reply(tw, c["c5"], 420, stamp=False)  # a sent reply without the conversation's stamp (older rows) counts too
    _reply(tw, c["c4"], 210, status="queued")  # not sent: not an answer
    _reply(tw, c["c4"], 220, status="failed")
    with tenant_context(tid):  # answered through the conversation's own field only (no message row)
        Conversation.objects.filter(tenant_id=tid, pk=c["c3"]).update(first_response_at=at(110))
    cm, head = tw.members[Role.COMMUNITY_MANAGER].user.pk, tw.members[Role.DEPARTMENT_HEAD].user.pk
    service, legal = tw.departments["customer-service"].pk, tw.departments["legal"].pk
    for name, department, assignee in (("c1", service, cm), ("c2", legal, cm), ("c3", service, head),
                                       ("c4", service, None), ("c5", legal, head), ("c6", legal, cm),
                                       ("c7", None, None)):
        inbox_actions.conversation_update(tid, actor=None, conversation_id=c[name], department_id=department,
                                          assignee_id=assignee)
    for name, minutes in (("c1", 120), ("c2", 360), ("c5", 1740), ("c6", 60)):
        inbox_actions.conversation_set_status(tid, actor=None, conversation_id=c[name], status="resolved")
        with tenant_context(tid):  # the action stamps "now": put the resolution at its place in the story
            Conversation.objects.filter(tenant_id=tid, pk=c[name]).update(resolved_at=at(minutes))
    with tenant_context(tid):  # explicit targets instead of the world's business-hours policy
        Conversation.objects.filter(tenant_id=tid).update(first_response_due_at=None, resolution_due_at=None)
        for name, field, minutes in (("c2", "first_response_due_at", 100), ("c4", "first_response_due_at", 260),
                                     ("c5", "resolution_due_at", 800), ("c6", "resolution_due_at", 30),
                                     ("c7", "first_response_due_at", 4 * DAY + 60)):
            Conversation.objects.filter(tenant_id=tid, pk=c[name]).update(**{field: at(minutes)})
    recorded = sla.check_breaches(tid, now=at(10 * DAY))
    assert sorted(recorded) == sorted([(c["c2"], "first_response"), (c["c4"], "first_response"),
                                       (c["c7"], "first_response"), (c["c5"], "resolution"),
                                       (c["c6"], "resolution")])
    return c


@pytest.fixture
def care_world(world):
    """The data set in A, and in B the same plus one more answered conversation (FR 50 s), so
    that any of B's rows counted in A changes A's figures."""
    world.care_a = build_care_data(world.a)
    world.care_b = build_care_data(world.b)
    extra = _inbound(world.b, [("b-extra", "b9", 500, "negative", "fr")])["b-extra"]
    _reply(world.b, extra, 500, seconds=50)
    inbox_actions.conversation_update(world.b.tenant.pk, actor=None, conversation_id=extra,
                                      department_id=world.b.departments["customer-service"].pk)
    return world


def _metrics(tw, **filters):
    start, end = datetime(2026, 11, 2).date(), datetime(2026, 11, 4).date()
    return care.care_metrics(tw.tenant.pk, start=start, end=end, tz="Europe/Paris",
                             filters=care.CareFilters(**filters))


def test_first_response_and_resolution_medians_and_p90_match_the_hand_computed_ones(care_world):
    m = _metrics(care_world.a)
    # First response of c1, c2, c3, c5 (c4 has only unsent replies, c6/c7 are outside the range):
    # sorted 600, 1800, 4200, 7200; median at position 1.5 = (1800 + 4200) / 2 = 3000;
    # p90 at position 0.9 * 3 = 2.7 = 4200 + 0.7 * (7200 - 4200) = 6300.
    assert m["first_response"] == {"median_seconds": 3000.0, "p90_seconds": 6300.0, "count": 4}
    # Resolution of c1, c2, c5: 7200, 18000, 86400; median 18000; p90 at 1.8 = 18000 + 0.8 * 68400 = 72720.
    assert m["resolution"] == {"median_seconds": 18000.0, "p90_seconds": 72720.0, "count": 3}
    # Due in the range: first response c2 (+100) and c4 (+260); resolution c5 (+800) and c6 (+30,
    # though c6 opened before the range). c7's breach is due on Nov 6.
    assert m["sla_breaches"] == {"first_response": 2, "resolution": 2}
    # Not resolved at Nov 4 23:00 UTC: the world's conversation (Nov 1), c3 and c4. c7 opened later.
    assert m["backlog"] == 3


def test_backlog_counts_what_was_open_at_the_end_of_the_range(care_world):
    a = care_world.a
    # Up to Nov 2 (Paris): c1 (resolved +120 = 12:00 UTC Nov 2) is done; c2 (resolved +360 = 16:00
    # UTC Nov 2) too; c5 (resolved +1740, Nov 3) was still open then: world, c3, c4, c5 = 4.
    day = datetime(2026, 11, 2).date()
    summary = care.care_summary(a.tenant.pk, start=day, end=day, tz="Europe/Paris")
    assert summary["backlog"] == 4
    # Now (the range ends later than today): the world, c3, c4 and c7 are open.
    later = care.care_summary(a.tenant.pk, start=day, end=datetime(2026, 11, 8).date(), tz="Europe/Paris",
                              now=at(5 * DAY))
    assert later["backlog"] == 4


def test_figures_by_department_and_by_agent(care_world):
    a = care_world.a
    m = _metrics(a)
    service, legal = a.departments["customer-service"].pk, a.departments["legal"].pk
    assert m["by_department"] == [
        # c1, c3, c4 in range; FR 600, 1800: median 1200, p90 600 + 0.9 * 1200 = 1680; resolution c1 7200;
        # breach c4; backlog world, c3, c4.
        {"department_id": service, "name": "Customer service", "first_response_median_seconds": 1200.0,
         "first_response_p90_seconds": 1680.0, "resolution_median_seconds": 7200.0, "sla_breaches": 1,
         "backlog": 3, "conversations": 3},
        # c2, c5 in range (c6 before it): FR 4200, 7200: median 5700, p90 4200 + 0.9 * 3000 = 6900;
        # resolution 18000, 86400: median 52200; breaches c2, c5, c6.
        {"department_id": legal, "name": "Legal", "first_response_median_seconds": 5700.0,
         "first_response_p90_seconds": 6900.0, "resolution_median_seconds": 52200.0, "sla_breaches": 3,
         "backlog": 0, "conversations": 2},
    ]  # c7 (no department) has nothing in the range: no row
    cm, head = a.members[Role.COMMUNITY_MANAGER].user, a.members[Role.DEPARTMENT_HEAD].user
    assert m["by_agent"] == [
        # c1, c2: FR 1800, 4200: median 3000, p90 1800 + 0.9 * 2400 = 3960; resolution 7200, 18000:
        # median 12600; breaches c2 and c6 (resolution due in the range).
        {"user_id": cm.pk, "name": "Carl Community", "first_response_median_seconds": 3000.0,
         "first_response_p90_seconds": 3960.0, "resolution_median_seconds": 12600.0, "sla_breaches": 2,
         "backlog": 0, "conversations": 2},
        # c3, c5: FR 600, 7200: median 3900, p90 600 + 0.9 * 6600 = 6540; resolution c5 86400; breach c5; backlog c3.
        {"user_id": head.pk, "name": "Hana Head", "first_response_median_seconds": 3900.0,
         "first_response_p90_seconds": 6540.0, "resolution_median_seconds": 86400.0, "sla_breaches": 1,
         "backlog": 1, "conversations": 2},
        # c4 only: no answer, no resolution; its breach; backlog c4 and the world's conversation.
        {"user_id": None, "name": "Unassigned", "first_response_median_seconds": None,
         "first_response_p90_seconds": None, "resolution_median_seconds": None, "sla_breaches": 1,
         "backlog": 2, "conversations": 1},
    ]


def test_sentiment_before_and_after_the_first_answer(care_world):
    shift = _metrics(care_world.a)["sentiment_shift"]
    # c1: negative (+0) -> positive (+40); c2: neutral (+70, the last before +130) -> neutral (+140).
    # c3 has nothing after its answer, c5's message after is untagged, c4 was never answered.
    assert shift == {"conversations": 2, "before": {"positive": 0, "neutral": 1, "negative": 1},
                     "after": {"positive": 1, "neutral": 1, "negative": 0}}


def test_filters_narrow_the_conversations(care_world):
    a = care_world.a
    legal = _metrics(a, department_id=a.departments["legal"].pk)
    assert legal["first_response"] == {"median_seconds": 5700.0, "p90_seconds": 6900.0, "count": 2}
    assert [row["name"] for row in legal["by_department"]] == ["Legal"]
    # c1, c2 open in French: FR 1800, 4200 -> median 3000, p90 1800 + 0.9 * 2400 = 3960.
    french = _metrics(a, language="fr")
    assert french["first_response"] == {"median_seconds": 3000.0, "p90_seconds": 3960.0, "count": 2}
    assert french["sentiment_shift"]["conversations"] == 2
    nothing = _metrics(a, platform="facebook")
    assert nothing["first_response"] == {"median_seconds": None, "p90_seconds": None, "count": 0}
    assert nothing["by_department"] == [] and nothing["backlog"] == 0
    # Every conversation here matched the brand query; the topic is on none of them.
    assert _metrics(a, query_ids=(a.query.pk,))["first_response"]["count"] == 4
    assert _metrics(a, topic_id=a.topic.pk)["first_response"]["count"] == 0


def test_all_tables_are_one_statement(care_world):
    """The summary, the departments, the agents and the sentiment shift share one statement
    (one pass over small groups), not a statement each; unfiltered, it reads the conversations alone (the
    first answer and the sentiment around it are their care columns, no look-up of messages)."""
    with CaptureQueriesContext(connection) as queries:
        _metrics(care_world.a)
    care_sql = [q["sql"] for q in queries.captured_queries if "WITH timed" in q["sql"]]
    assert len(care_sql) == 1
    assert "inbox_message" not in care_sql[0] and "listening_mention" not in care_sql[0]


def test_the_api_answers_the_contract_json(client, care_world):
    login(client, "marketer@example.com")  # every role that sees the inbox
    response = client.get("/api/v1/t/acme/analytics/care", RANGE)
    assert response.status_code == 200, response.content
    body = response.json()
    assert list(body) == ["first_response", "resolution", "sla_breaches", "backlog", "by_department", "by_agent",
                          "sentiment_shift"]
    assert body == _metrics(care_world.a)
    tables = {name: client.get(f"/api/v1/t/acme/analytics/care/{name}", RANGE).json()
              for name in ("by_department", "by_agent")}
    assert tables == {"by_department": body["by_department"], "by_agent": body["by_agent"]}


def test_an_api_token_works_and_other_tenants_rows_are_never_counted(client, care_world):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {care_world.a.token_key}"}
    a = client.get("/api/v1/t/acme/analytics/care", RANGE, **headers).json()
    assert a["first_response"]["count"] == 4 and a["first_response"]["median_seconds"] == 3000.0
    assert client.get("/api/v1/t/globex/analytics/care", RANGE, **headers).status_code == 404
    login(client, "admin-b@example.com")
    b = client.get("/api/v1/t/globex/analytics/care", RANGE).json()
    # B: the same five answered plus its extra one in 50 s: 50, 600, 1800, 4200, 7200 -> median 1800.
    assert b["first_response"] == {"median_seconds": 1800.0, "p90_seconds": 6000.0, "count": 5}
    # p90 above: position 0.9 * 4 = 3.6 = 4200 + 0.6 * 3000 = 6000.
    b_departments = {row["department_id"] for row in b["by_department"]}
    assert b_departments == {d.pk for d in care_world.b.departments.values()}
    assert not b_departments & {d.pk for d in care_world.a.departments.values()}


@pytest.mark.parametrize(("params", "field"), [
    ({"from": "2026-13-01"}, "from"),
    ({"to": "yesterday"}, "to"),
    ({"from": "2026-11-05", "to": "2026-11-01"}, "from"),
    ({"from": "2020-01-01", "to": "2026-11-01"}, "from"),
    ({"tz": "Mars/Olympus"}, "tz"),
    ({"department": "legal"}, "department"),
    ({"language": "de"}, "language"),
    ({"platform": "Not A Platform"}, "platform"),
    ({"query": ["abc"]}, "query"),
    ({"topic": "0"}, "topic"),
])
def test_bad_filters_are_a_400_with_field_errors(client, care_world, params, field):
    login(client, "admin@example.com")
    response = client.get("/api/v1/t/acme/analytics/care", params)
    assert response.status_code == 400
    assert field in response.json()


def test_another_tenants_department_query_or_topic_is_a_400(client, care_world):
    login(client, "admin@example.com")  # admin of A, marketer of B
    b = care_world.b
    for key, value in (("department", b.departments["legal"].pk), ("query", b.query.pk), ("topic", b.topic.pk)):
        response = client.get("/api/v1/t/acme/analytics/care/by_agent", {key: value})
        assert response.status_code == 400 and key in response.json(), (key, response.content)


def _csv(response) -> list[list[str]]:
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(response.content.decode())))


def test_csv_has_the_same_data(client, care_world):
    login(client, "admin@example.com")
    a = care_world.a
    rows = _csv(client.get("/api/v1/t/acme/analytics/care/by_department", {**RANGE, "format": "csv"}))
    assert rows[0] == ["department_id", "name", "first_response_median_seconds", "first_response_p90_seconds",
                       "resolution_median_seconds", "sla_breaches", "backlog", "conversations"]
    assert rows[1:] == [[str(a.departments["customer-service"].pk), "Customer service", "1200.0", "1680.0", "7200.0",
                         "1", "3", "3"],
                        [str(a.departments["legal"].pk), "Legal", "5700.0", "6900.0", "52200.0", "3", "0", "2"]]
    agents = _csv(client.get("/api/v1/t/acme/analytics/care/by_agent", {**RANGE, "format": "csv"}))
    assert agents[0][0] == "user_id" and agents[3] == ["", "Unassigned", "", "", "", "1", "2", "1"]
    summary = _csv(client.get("/api/v1/t/acme/analytics/care", {**RANGE, "format": "csv"}))
    assert summary[0] == ["table", "id", "name", "metric", "value"]
    assert ["summary", "", "", "first_response.median_seconds", "3000.0"] in summary
    assert ["summary", "", "", "sentiment_shift.before.negative", "1"] in summary
    assert ["summary", "", "", "backlog", "3"] in summary
    assert ["by_department", str(a.departments["legal"].pk), "Legal", "sla_breaches", "3"] in summary
    bad = client.get("/api/v1/t/acme/analytics/care", {"tz": "Nowhere", "format": "csv"})
    assert bad.status_code == 400 and b"tz" in bad.content


def test_the_care_endpoints_are_in_the_openapi_schema(client, world):
    login(client, "admin@example.com")
    schema = client.get("/api/schema/", {"format": "json"}).json()
    for path in ("/api/v1/t/{tenant_slug}/analytics/care", "/api/v1/t/{tenant_slug}/analytics/care/by_department",
                 "/api/v1/t/{tenant_slug}/analytics/care/by_agent"):
        operation = schema["paths"][path]["get"]
        assert {p["name"] for p in operation["parameters"]} >= {"from", "to", "tz", "department", "platform",
                                                                "language", "format"}
    assert "sentiment_shift" in schema["components"]["schemas"]["CareMetrics"]["properties"]


@pytest.mark.django_db
@pytest.mark.parametrize("n", [1, 2, 3, 10, 1001, 20_000])
def test_percentiles_are_postgresqls_percentile_cont(n):
    """care computes the percentiles in Python from the packed durations: they must be the
    figures PostgreSQL's percentile_cont gives for the same values (ties and repeats included)."""
    import random

    rng = random.Random(n)
    values = [round(rng.expovariate(1 / 3600), rng.choice([0, 3, 6])) for _ in range(n)]
    with connection.cursor() as cursor:
        cursor.execute("SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY v), "
                       "percentile_cont(0.9) WITHIN GROUP (ORDER BY v), "
                       "string_agg(float8send(v), ''::bytea) FROM unnest(%s::float8[]) AS v", [values])
        median, p90, packed = cursor.fetchone()
    assert care._percentiles(bytes(packed)) == (median, p90, n)
    assert care._percentiles(b"") == (None, None, 0)
