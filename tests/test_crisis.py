"""Crisis detection (analytics/crisis): the detector on synthetic series with known answers, the
hourly task end to end on PostgreSQL, the notifications, the pages and the API, and the demo."""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest
from django.core import mail

from analytics.crisis import actions as crisis_actions
from analytics.crisis.detection import THRESHOLDS, Series, baseline, detect
from analytics.crisis.models import AlertStatus, CrisisAlert, CrisisHourlyCount
from analytics.crisis.tasks import crisis_scan
from social_crm.tenancy.permissions import Role
from social_crm.tenancy.scope import tenant_context

from .conftest import login

UTC = timezone.utc
T0 = datetime(2025, 1, 6, tzinfo=UTC)  # a Monday
H = timedelta(hours=1)


def rate(hour: datetime, base: float) -> float:
    """A brand's rhythm: quiet nights, a day curve peaking in the afternoon, calmer weekends."""
    day = 0.25 + 0.75 * math.sin(math.pi * (hour.hour - 6) / 16) if 6 <= hour.hour <= 22 else 0.15
    return base * day * (0.6 if hour.weekday() >= 5 else 1.0)


def weekly_series(seed: int, base: float, weeks: int = 52, negative_share: float = 0.2, start: datetime = T0):
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(weeks * 168):
        hour = start + i * H
        volume = int(rng.poisson(rate(hour, base)))
        rows.append((hour, volume, int(rng.binomial(volume, negative_share))))
    return rows


# --- The detector on synthetic series ---------------------------------------------------------


@pytest.mark.parametrize("base", [3.0, 20.0, 100.0])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_year_of_weekly_rhythms_with_noise_raises_no_alert(seed, base):
    rows = weekly_series(seed, base)
    hours = [h for h, _v, _n in rows]
    for sensitivity in ("low", "medium"):
        assert detect(rows, hours, THRESHOLDS[sensitivity]) == [], (sensitivity, seed, base)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_injected_spikes_are_detected_at_their_hour_and_nowhere_else(seed):
    rows = weekly_series(seed, 20.0, weeks=20)
    rng = np.random.default_rng(100 + seed)
    # Six one-hour spikes after the fourth week (the weekly baseline is in place), day and night.
    spike_indexes = sorted(rng.choice(np.arange(4 * 168, 20 * 168), size=6, replace=False))
    for i in spike_indexes:
        hour, _volume, negative = rows[i]
        rows[i] = (hour, int(3 * rate(hour, 20.0)) + 15, negative)
    verdicts = detect(rows, [h for h, _v, _n in rows], THRESHOLDS["medium"])
    assert [v.hour for v in verdicts] == [rows[i][0] for i in spike_indexes]
    assert all("volume" in v.kinds and v.method == "hour_of_week" for v in verdicts)


def test_a_negative_share_jump_at_normal_volume_is_detected():
    rows = weekly_series(3, 20.0, weeks=10)
    i = 9 * 168 + 2 * 24 + 15  # a Wednesday, 15:00
    hour, volume, _negative = rows[i]
    assert volume >= 12
    rows[i] = (hour, volume, int(0.8 * volume))
    verdicts = detect(rows, [h for h, _v, _n in rows[8 * 168:]], THRESHOLDS["medium"])
    assert [(v.hour, v.kinds) for v in verdicts] == [(hour, ("negative_share",))]
    assert verdicts[0].negative_share > 0.75 > 0.3 > verdicts[0].expected_negative_share


def test_a_sparse_series_with_tiny_counts_raises_no_false_alarm():
    rows = weekly_series(4, 0.3)
    # A few hours with 3 or 4 mentions where there is usually none: unusual, but not a crisis.
    for i in range(300, len(rows), 997):
        rows[i] = (rows[i][0], 4, 3)
    hours = [h for h, _v, _n in rows]
    for sensitivity in ("low", "medium", "high"):
        assert detect(rows, hours, THRESHOLDS[sensitivity]) == []


def test_a_short_history_uses_the_cold_start_baselines_and_none_at_all_under_a_day():
    rows = weekly_series(5, 20.0, weeks=1)[: 5 * 24 + 16]  # Monday to Saturday 16:00
    series = Series(rows)
    assert baseline(series, T0 + 5 * 24 * H + 15 * H).method == "hour_of_day"
    assert baseline(series, T0 + 30 * H).method == "overall"
    assert baseline(series, T0 + 20 * H) is None
    spike_hour = rows[-1][0]
    rows[-1] = (spike_hour, 60, 10)
    assert [v.hour for v in detect(rows, [spike_hour], THRESHOLDS["medium"])] == [spike_hour]
    early = [(T0 + i * H, 5, 1) for i in range(10)] + [(T0 + 10 * H, 80, 60)]
    assert detect(early, [T0 + 10 * H], THRESHOLDS["high"]) == []  # a new query is not a crisis


def test_sensitivity_orders_the_detector():
    rows = weekly_series(6, 20.0, weeks=10)
    i = 9 * 168 + 14
    hour = rows[i][0]
    rows[i] = (hour, int(2.0 * rate(hour, 20.0)), rows[i][2])  # twice the usual: a moderate rise
    found = {s: bool(detect(rows, [hour], THRESHOLDS[s])) for s in ("low", "medium", "high")}
    assert found == {"low": False, "medium": False, "high": True}


# --- The hourly task on PostgreSQL -------------------------------------------------------------


def _query(tid: int, name: str = "Crisis watch"):
    from listening import actions as listening_actions

    return listening_actions.query_save(tid, actor=None, name=name, kind="brand", expression="acme")


def insert_history(tid: int, query, *, end: datetime, weeks: int = 5, burst_at: datetime | None = None,
                   burst: int = 0, seed: int = 0, base: float = 12.0) -> None:
    """Mentions of ``query`` every hour of ``weeks`` weeks before ``end`` (the weekly rhythm with
    Poisson noise, 20 % negative), plus ``burst`` negative mentions in the hour ``burst_at``."""
    from listening.models import Author, Mention, MentionMatch

    rng = np.random.default_rng(seed)
    with tenant_context(tid):
        big = Author.objects.create(tenant_id=tid, platform="x", platform_user_id="big", handle="bignews",
                                    followers=250_000)
        small = Author.objects.create(tenant_id=tid, platform="x", platform_user_id="small", handle="jo", followers=40)
        mentions, n = [], 0
        hour = end - timedelta(weeks=weeks)
        while hour < end:
            volume = int(rng.poisson(rate(hour, base)))
            extra = burst if hour == burst_at else 0
            for k in range(volume + extra):
                n += 1
                in_burst = k >= volume
                mentions.append(Mention(
                    tenant_id=tid, platform="x", external_id=f"m{n}", created_at=hour + timedelta(minutes=k % 60),
                    text=("Acme bouilloire rappel danger #RappelAcme" if in_burst else "Acme merci pour la commande"),
                    sentiment="negative" if in_burst or rng.random() < 0.2 else "neutral",
                    author=big if in_burst and k == volume else small))
            hour += H
        Mention.objects.bulk_create(mentions, batch_size=2000)
        MentionMatch.objects.bulk_create([MentionMatch(tenant_id=tid, mention=m, query=query) for m in mentions],
                                         batch_size=2000)


def alerts_of(tw):
    """The tenant's alerts but the one the world starts with."""
    with tenant_context(tw.tenant.pk):
        return list(CrisisAlert.objects.filter(tenant_id=tw.tenant.pk).exclude(pk=tw.crisis_alert.pk)
                    .select_related("query"))


@pytest.fixture
def crisis_world(world):
    """Five weeks of ordinary mentions in both tenants; a burst in tenant A three hours ago."""
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    burst_at = end - 3 * H
    for tw, burst in ((world.a, 60), (world.b, 0)):
        tw.crisis_query = _query(tw.tenant.pk)
        insert_history(tw.tenant.pk, tw.crisis_query, end=end, burst_at=burst_at, burst=burst,
                       seed=tw.tenant.pk)
    world.burst_at = burst_at
    return world


def test_the_hourly_task_raises_one_alert_at_the_burst_and_a_rerun_raises_none(
        crisis_world, django_capture_on_commit_callbacks):
    w = crisis_world
    with django_capture_on_commit_callbacks(execute=True):
        raised = crisis_scan(w.a.tenant.pk)
    alerts = alerts_of(w.a)
    assert [(a.query_id, a.hour, a.kinds) for a in alerts] == [(w.a.crisis_query.pk, w.burst_at,
                                                                 ["volume", "negative_share"])]
    assert raised == [alerts[0].pk]
    alert = alerts[0]
    assert alert.observed >= 60 and alert.expected < 20 and alert.status == AlertStatus.OPEN
    with tenant_context(w.a.tenant.pk):
        from listening.models import Mention

        first = Mention.objects.select_related("author").get(tenant_id=w.a.tenant.pk, pk=alert.top_mention_ids[0])
        count = CrisisHourlyCount.objects.get(tenant_id=w.a.tenant.pk, query=w.a.crisis_query, hour=w.burst_at)
    assert first.author.handle == "bignews"  # the largest reach first
    assert count.volume == alert.observed and count.negative == alert.negative
    terms = [t for t, _c in alert.top_terms]
    assert {"rappel", "danger", "#rappelacme"} <= set(terms) and "merci" not in terms

    with django_capture_on_commit_callbacks(execute=True):
        assert crisis_scan(w.a.tenant.pk) == []  # same hour, nothing new
    # Even with everything recounted from scratch, the alert is not raised twice.
    with tenant_context(w.a.tenant.pk):
        from analytics.crisis.models import CrisisSettings

        CrisisSettings.objects.filter(tenant_id=w.a.tenant.pk).update(counted_until=None, changed_through=None)
    assert crisis_scan(w.a.tenant.pk) == []
    assert len(alerts_of(w.a)) == 1
    assert crisis_scan(w.b.tenant.pk) == [] and alerts_of(w.b) == []


def test_a_burst_that_arrives_late_is_counted_and_judged_on_the_next_pass(crisis_world):
    w = crisis_world
    tid = w.a.tenant.pk
    with tenant_context(tid):
        from listening.models import Mention

        late = list(Mention.objects.filter(tenant_id=tid, text__contains="#RappelAcme"))
        Mention.objects.filter(pk__in=[m.pk for m in late]).update(is_deleted=True)  # not there yet
    assert crisis_scan(tid) == []
    with tenant_context(tid):
        Mention.objects.filter(pk__in=[m.pk for m in late]).update(is_deleted=False, stored_at=datetime.now(UTC))
    assert len(crisis_scan(tid)) == 1


def test_an_alert_notifies_in_app_by_email_in_each_language_and_by_webhook(
        crisis_world, django_capture_on_commit_callbacks):
    from social_crm.tenancy.models import Notification
    from social_crm.webhooks.models import WebhookDelivery

    w = crisis_world
    tid = w.a.tenant.pk
    admin, cm = w.a.members[Role.ADMIN].user, w.a.members[Role.COMMUNITY_MANAGER].user
    admin.language, cm.language = "fr", "en"
    admin.save(update_fields=["language"])
    cm.save(update_fields=["language"])
    crisis_actions.crisis_settings_save(tid, actor=admin, sensitivity="medium", notify_in_app=True, notify_email=True,
                                        notify_webhook=True, recipient_ids=[admin.pk, cm.pk])
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        [alert_id] = crisis_scan(tid)
    with tenant_context(tid):
        notes = {n.user_id: n for n in Notification.objects.filter(tenant_id=tid, kind="crisis.detected")}
        deliveries = list(WebhookDelivery.objects.filter(tenant_id=tid, event__type="crisis.detected")
                          .filter(event__data__has_key="alert").select_related("event"))
    assert set(notes) == {admin.pk, cm.pk}
    assert notes[admin.pk].title == "Alerte de crise : Crisis watch"
    assert notes[cm.pk].title == "Crisis alert: Crisis watch"
    assert notes[admin.pk].url == f"/t/acme/crisis/{alert_id}/"
    by_recipient = {m.to[0]: m for m in mail.outbox}
    assert set(by_recipient) == {admin.email, cm.email}
    assert by_recipient[admin.email].subject == "Alerte de crise : Crisis watch"
    assert "mentions dans l'heure" in by_recipient[admin.email].body
    assert "mentions in the hour" in by_recipient[cm.email].body
    assert [d.status for d in deliveries] == ["pending"]  # queued for the world's endpoint
    data = deliveries[0].event.data["alert"]
    assert data["id"] == alert_id and data["query"]["name"] == "Crisis watch" and data["observed"] >= 60
    with tenant_context(w.b.tenant.pk):
        assert not Notification.objects.filter(tenant_id=w.b.tenant.pk, kind="crisis.detected").exists()


def test_channels_switched_off_send_nothing(crisis_world, django_capture_on_commit_callbacks):
    from social_crm.tenancy.models import Notification

    w = crisis_world
    tid = w.a.tenant.pk
    crisis_actions.crisis_settings_save(tid, actor=None, sensitivity="medium", notify_in_app=False,
                                        notify_email=False, notify_webhook=False)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert len(crisis_scan(tid)) == 1
    assert mail.outbox == []
    with tenant_context(tid):
        assert not Notification.objects.filter(tenant_id=tid, kind="crisis.detected").exists()


def test_recipients_must_be_members_of_the_tenant(world):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as excinfo:
        crisis_actions.crisis_settings_save(world.a.tenant.pk, actor=None, sensitivity="high", notify_in_app=True,
                                            notify_email=True, notify_webhook=True,
                                            recipient_ids=[world.b.members[Role.ADMIN].user.pk])
    assert "recipients" in excinfo.value.error_dict


# --- Pages and API -----------------------------------------------------------------------------


def test_the_alert_page_shows_the_chart_the_top_mentions_and_terms_and_can_be_acknowledged_then_closed(
        client, crisis_world):
    w = crisis_world
    [alert_id] = crisis_scan(w.a.tenant.pk)
    login(client, w.a.members[Role.COMMUNITY_MANAGER].user.email)
    page = client.get(f"/t/acme/crisis/{alert_id}/")
    assert page.status_code == 200
    chart = page.context["chart"]
    i = chart["labels"].index(w.burst_at.isoformat())
    assert chart["observed"][i] >= 60 and chart["expected"][i] < 20
    assert b"vendor/chart.js/chart.umd.min.js" in page.content and b'id="crisis-chart-data"' in page.content
    assert b"Acme bouilloire rappel danger" in page.content and b"#rappelacme" in page.content
    assert client.post(f"/t/acme/crisis/{alert_id}/acknowledge/").status_code == 302
    assert client.post(f"/t/acme/crisis/{alert_id}/close/").status_code == 302
    with tenant_context(w.a.tenant.pk):
        alert = CrisisAlert.objects.get(pk=alert_id)
    assert (alert.status, alert.acknowledged_by_id, alert.closed_by_id) == (
        "closed", w.a.members[Role.COMMUNITY_MANAGER].user.pk, w.a.members[Role.COMMUNITY_MANAGER].user.pk)
    listing = client.get("/t/acme/crisis/?status=closed")
    assert f"/t/acme/crisis/{alert_id}/".encode() in listing.content


def test_the_alert_list_costs_the_same_queries_for_many_alerts(client, world, django_assert_max_num_queries):
    tid = world.a.tenant.pk
    with tenant_context(tid):
        for k in range(1, 30):
            CrisisAlert.objects.create(tenant_id=tid, query=world.a.query, hour=datetime(2026, 10, 1, tzinfo=UTC) + k * H,
                                       observed=30, expected=3, score=8, method="overall", sensitivity="medium")
    login(client, "admin@example.com")
    # Constant in the number of alerts: session, user, membership, the query choices, the alerts,
    # the unread count, the tenant switcher, plus the SET LOCAL and savepoint statements.
    with django_assert_max_num_queries(24):
        page = client.get("/t/acme/crisis/")
    assert page.status_code == 200 and len(page.context["alerts"]) == 30


def test_the_api_lists_filters_pages_and_exports_the_tenants_alerts(client, crisis_world):
    w = crisis_world
    [alert_id] = crisis_scan(w.a.tenant.pk)
    login(client, "admin@example.com")
    body = client.get("/api/v1/t/acme/crisis-alerts").json()
    assert {r["id"] for r in body["results"]} == {alert_id, w.a.crisis_alert.pk} and "next" in body
    only = client.get(f"/api/v1/t/acme/crisis-alerts?query={w.a.crisis_query.pk}&status=open").json()["results"]
    assert [r["id"] for r in only] == [alert_id]
    assert only[0]["kinds"] == ["volume", "negative_share"] and only[0]["query_name"] == "Crisis watch"
    day = w.burst_at.astimezone(UTC).date().isoformat()
    dated = client.get(f"/api/v1/t/acme/crisis-alerts?from={day}&to={day}&tz=UTC").json()["results"]
    assert [r["id"] for r in dated] == [alert_id]
    paged = client.get("/api/v1/t/acme/crisis-alerts/?page_size=1").json()
    assert len(paged["results"]) == 1 and paged["next"]
    bad = client.get(f"/api/v1/t/acme/crisis-alerts?tz=Mars/Olympus&status=maybe&query={w.b.crisis_query.pk}")
    assert bad.status_code == 400 and {"tz", "status", "query"} <= set(bad.json())
    csv = client.get(f"/api/v1/t/acme/crisis-alerts?format=csv&query={w.a.crisis_query.pk}")
    assert csv.status_code == 200 and csv["Content-Type"].startswith("text/csv")
    lines = csv.content.decode().strip().splitlines()
    assert lines[0].startswith("id,query,query_name,hour") and len(lines) == 2 and lines[1].startswith(f"{alert_id},")
    assert client.post(f"/api/v1/t/acme/crisis-alerts/{alert_id}/acknowledge").json()["status"] == "acknowledged"
    # B's list never shows A's alert (the A admin is a marketer in B).
    b_ids = {r["id"] for r in client.get("/api/v1/t/globex/crisis-alerts").json()["results"]}
    assert alert_id not in b_ids and b_ids == {w.b.crisis_alert.pk}


def test_the_settings_page_saves_recipients_and_channels(client, world):
    login(client, "admin@example.com")
    cm = world.a.members[Role.COMMUNITY_MANAGER].user
    assert client.get("/t/acme/crisis/settings/").status_code == 200
    response = client.post("/t/acme/crisis/settings/", {"sensitivity": "low", "recipients": [cm.pk],
                                                        "notify_email": "on"})
    assert response.status_code == 302
    row = crisis_actions.settings_for(world.a.tenant.pk)
    assert (row.sensitivity, row.notify_in_app, row.notify_email, row.notify_webhook) == ("low", False, True, False)
    with tenant_context(world.a.tenant.pk):
        assert [u.pk for u in crisis_actions.recipients(world.a.tenant.pk, row)] == [cm.pk]


# --- The demo ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_demo_stream_raises_a_crisis_alert_at_its_burst():
    """What `make run` does: seed_demo, the replay channel streams the demo file (re-based so that
    its last record is now), the hourly pass runs. Here the replay is read at full speed."""
    from django.core.management import call_command

    from listening.connectors.base import AccountConfig, StreamRequest
    from listening.connectors.replay import ReplayConnector
    from listening.ingest import ingest_page
    from listening.models import ConnectedAccount, Mention
    from social_crm.tenancy.models import Tenant

    call_command("seed_demo", stdout=open("/dev/null", "w"))
    demo = Tenant.objects.get(slug="demo")
    now = datetime.now(UTC)
    connector = ReplayConnector(AccountConfig(platform="replay", credentials={"rate": 0}))
    connector.clock = lambda: now
    with tenant_context(demo.pk):
        account = ConnectedAccount.objects.get(tenant_id=demo.pk, platform="replay")
    cursor: dict = {}
    while True:
        page = connector.fetch(StreamRequest("replay"), cursor)
        ingest_page(demo.pk, platform="replay", page=page, source="poll", account_id=account.pk)
        cursor = page.cursor
        if not page.has_more:
            break
    raised = crisis_scan(demo.pk)
    with tenant_context(demo.pk):
        recall = list(Mention.objects.filter(tenant_id=demo.pk, text__icontains="#RappelAurore")
                      .order_by("created_at").values_list("created_at", flat=True))
        alerts = list(CrisisAlert.objects.filter(tenant_id=demo.pk).select_related("query"))
    burst_hours = {t.replace(minute=0, second=0, microsecond=0) for t in recall if t < recall[0] + timedelta(minutes=40)}
    assert sorted(a.pk for a in alerts) == sorted(raised)
    # The recall query for sure; the brand query too when the burst fills one hour (it depends on
    # where the re-based burst falls on the clock): every alert is at the burst.
    recall_alert = next(a for a in alerts if a.query.name == "Rappel produit")
    assert {a.query.name for a in alerts} <= {"Rappel produit", "Maison Aurore"}
    assert all(a.hour in burst_hours and a.method == "hour_of_day" for a in alerts)
    assert "#rappelaurore" in [t for t, _c in recall_alert.top_terms]


def test_the_crisis_scan_command_runs_the_pass_now(crisis_world):
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("crisis_scan", "--tenant", "acme", stdout=out)
    assert out.getvalue() == "acme: 1 new crisis alert(s)\n"
    assert len(alerts_of(crisis_world.a)) == 1 and alerts_of(crisis_world.b) == []
