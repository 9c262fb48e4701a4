"""Scheduled e-mail reports (analytics/reports.py), the subscriptions page and the dashboard PDF
export, in the two-tenant world.

Reputation data: tests/test_analytics_rollups.dataset in both tenants on 2026-10-05 (Paris: the
tenants' zone), sentiments set by a person as in tests/test_analytics_api.py: 4 mentions in A,
net sentiment (2 positive - 1 negative) / 4 = +25.0, reach 1250, interactions 16 (1.3 %).
B gets one more mention and a topic of its own, which A's reports must never show.
Care data: tests/test_analytics_care.build_care_data in A (2026-11-02, Paris).
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from django.core import mail
from reportlab import rl_config

from analytics import reports, selectors
from analytics import care
from analytics.models import ReportDelivery, ReportRun, ReportSubscription
from analytics.tasks import is_due
from listening.ingest import ingest_page
from listening.connectors.base import Page
from listening.models import Mention, MentionTopic, Topic
from listening.nlp.corrections import correct_sentiment
from social_crm.tenancy.permissions import Role
from social_crm.tenancy.scope import tenant_context

from .conftest import login
from .test_analytics_api import LABELS
from .test_analytics_care import build_care_data
from .test_analytics_rollups import _mention, dataset

WEEK_END = date(2026, 10, 5)
MONDAY_MORNING = datetime(2026, 10, 6, 5, 30, tzinfo=UTC)  # 7:30 in Paris: reports the week to Oct 5


def _label(tid):
    with tenant_context(tid):
        ids = dict(Mention.objects.filter(tenant_id=tid, external_id__in=LABELS).values_list("external_id", "pk"))
    for ext, label in LABELS.items():
        correct_sentiment(tid, actor=None, mention_id=ids[ext], label=label)


@pytest.fixture(autouse=True)
def no_world_reports(request):
    """The two-tenant world holds one subscription and one sent period per tenant (so the
    row-level security tests cover these tables); these tests start from none."""
    if "world" not in request.fixturenames:
        return
    world = request.getfixturevalue("world")
    for tw in (world.a, world.b):
        with tenant_context(tw.tenant.pk):
            ReportRun.objects.filter(tenant_id=tw.tenant.pk).delete()
            ReportSubscription.objects.filter(tenant_id=tw.tenant.pk).delete()


@pytest.fixture
def data(world):
    a, b = world.a.tenant.pk, world.b.tenant.pk
    for tid in (a, b):
        dataset(tid)
        _label(tid)
    ingest_page(b, platform="x", page=Page(mentions=[_mention("b9", "Acme retard encore", 30)], cursor={}),
                source="poll")
    from analytics import rollups

    with tenant_context(b):  # B's own topic on all its mentions of the week
        secret = Topic.objects.create(tenant_id=b, name="Globex secret topic", keywords=["secret"])
        ids = list(Mention.objects.filter(tenant_id=b, external_id__in=[*LABELS, "b9"]).values_list("pk", flat=True))
        for mid in ids:
            MentionTopic.objects.create(tenant_id=b, mention_id=mid, topic=secret, source="rule", score=1.0)
        rollups.refresh(b, ids)
    with tenant_context(a):  # A's "Delivery" topic on a1 and a2
        ids = list(Mention.objects.filter(tenant_id=a, external_id__in=["a1", "a2"]).values_list("pk", flat=True))
        for mid in ids:
            MentionTopic.objects.create(tenant_id=a, mention_id=mid, topic=world.a.topic, source="rule", score=1.0)
        rollups.refresh(a, ids)
    admin, cm = world.a.members[Role.ADMIN].user, world.a.members[Role.COMMUNITY_MANAGER].user
    admin.language, cm.language = "fr", "en"
    admin.save(update_fields=["language"])
    cm.save(update_fields=["language"])
    for user in (admin, cm):
        reports.subscription_set(a, user=user, kind="weekly_reputation", active=True)
    reports.subscription_set(b, user=world.b.members[Role.ADMIN].user, kind="weekly_reputation", active=True)
    return world


def _by_recipient():
    return {m.to[0]: m for m in mail.outbox}


def _deliver(*tenant_ids) -> list[str]:
    """What a worker does with the queued deliveries: run deliver_report for each (in process)."""
    from analytics.tasks import deliver_report

    statuses = []
    for tid in tenant_ids:
        with tenant_context(tid):
            ids = list(ReportDelivery.objects.filter(tenant_id=tid, status="queued").order_by("id")
                       .values_list("pk", flat=True))
        statuses += [deliver_report.apply(args=(tid, pk)).get() for pk in ids]
    return statuses


def test_weekly_figures_are_the_selectors_figures(data):
    tid = data.a.tenant.pk
    built = reports.build_weekly_reputation(tid, WEEK_END)
    with tenant_context(tid):
        f = reports.period_filters(data.a.tenant, date(2026, 9, 29), WEEK_END)
        assert built["current"]["volume"] == selectors.volume(tid, f)["total"] == 4
        assert built["current"]["net_sentiment"] == selectors.net_sentiment(tid, f)["net_sentiment"] == 0.25
        assert built["current"]["reach"] == selectors.reach(tid, f)["reach"] == 1250
        assert built["current"]["engagement_rate"] == selectors.reach(tid, f)["engagement_rate"]
        assert built["current"]["brand_share"] == selectors.share_of_voice(tid, f)["brand_share"]
        assert built["previous"]["volume"] == selectors.volume(tid, f.previous())["total"] == 0
        assert [t["name"] for t in built["top_topics"]] == [r["name"] for r in selectors.top_topics(tid, f)["rows"]][:5]
        assert built["top_topics"][0]["mentions"] == 2
    assert "Globex secret topic" not in str(built)


def test_each_recipient_gets_the_report_in_their_language_once(data, django_capture_on_commit_callbacks):
    tid = data.a.tenant.pk
    with django_capture_on_commit_callbacks(execute=True):
        assert reports.send_reports(tid, "weekly_reputation", now=MONDAY_MORNING) == 2
    assert mail.outbox == [], "sent by the delivery task, not in the report's transaction"
    assert _deliver(tid) == ["sent", "sent"]
    sent = _by_recipient()
    assert set(sent) == {"admin@example.com", "cm@example.com"}
    fr, en = sent["admin@example.com"], sent["cm@example.com"]
    assert en.subject == "Weekly e-reputation report: Acme"
    assert fr.subject == "Rapport e-réputation hebdomadaire : Acme"
    assert "Net sentiment: +25.0" in en.body and "Engagement rate: 1.3 %" in en.body and "Reach: 1250" in en.body
    assert "Sentiment net: +25,0" in fr.body and "Taux d'engagement: 1,3 %" in fr.body
    assert "Mentions: 4 " in en.body and "Mentions: 4 " in fr.body
    assert "- Delivery: 2 (Net sentiment 0.0)" in en.body and "- Delivery: 2 (Sentiment net 0,0)" in fr.body
    for message in (fr, en):
        html, mime = message.alternatives[0]
        assert mime == "text/html" and "Acme" in html and "Delivery" in html
        assert "Globex" not in message.body + html  # B's name, B's topic
    assert "+25,0" in fr.alternatives[0][0] and "+25.0" in en.alternatives[0][0]
    with tenant_context(tid):
        run = ReportRun.objects.get(tenant_id=tid, kind="weekly_reputation")
    assert (run.period_start, run.period_end, run.recipients) == (date(2026, 9, 29), WEEK_END, 2)
    # A redelivered task (or the next hourly fan-out) sends nothing more.
    with django_capture_on_commit_callbacks(execute=True):
        assert reports.send_reports(tid, "weekly_reputation", now=MONDAY_MORNING) == 0
    assert _deliver(tid) == []
    assert len(mail.outbox) == 2


def test_other_tenant_gets_its_own_figures(data, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        assert reports.send_reports(data.b.tenant.pk, "weekly_reputation", now=MONDAY_MORNING) == 1
    assert _deliver(data.a.tenant.pk) == [] and _deliver(data.b.tenant.pk) == ["sent"]
    (message,) = mail.outbox
    assert message.to == ["admin-b@example.com"]
    assert "Globex" in message.subject and "Globex secret topic" in message.body
    assert "Mentions: 5 " in message.body  # B's 5 mentions, not A's 4


def test_daily_care_digest_matches_the_care_metrics(world, django_capture_on_commit_callbacks):
    tid = world.a.tenant.pk
    build_care_data(world.a)
    head = world.a.members[Role.DEPARTMENT_HEAD].user
    head.language = "fr"
    head.save(update_fields=["language"])
    reports.subscription_set(tid, user=head, kind="daily_care", active=True)
    day = date(2026, 11, 2)
    built = reports.build_daily_care(tid, day)
    summary = care.care_summary(tid, start=day, end=day, tz="Europe/Paris")
    assert built["first_response"] == summary["first_response"] and built["backlog"] == summary["backlog"]
    assert built["sla_breaches"] == summary["sla_breaches"]
    assert [d["name"] for d in built["by_department"]] == [
        d["name"] for d in care.care_by_department(tid, start=day, end=day, tz="Europe/Paris")]
    with django_capture_on_commit_callbacks(execute=True):
        assert reports.send_reports(tid, "daily_care", now=datetime(2026, 11, 3, 6, 5, tzinfo=UTC)) == 1
        assert reports.send_reports(tid, "daily_care", now=datetime(2026, 11, 3, 6, 55, tzinfo=UTC)) == 0
    assert _deliver(tid) == ["sent"]
    (message,) = mail.outbox
    assert message.to == ["head@example.com"] and message.subject == "Digest quotidien du service client : Acme"
    assert f"En attente: {summary['backlog']}" in message.body
    assert "Legal" in message.body and "Customer service" in message.body


def test_sending_hour_is_seven_local_and_weekly_on_mondays():
    monday_7_paris = datetime(2026, 10, 5, 5, 10, tzinfo=UTC)
    assert is_due("weekly_reputation", "Europe/Paris", monday_7_paris)
    assert is_due("daily_care", "Europe/Paris", monday_7_paris)
    assert not is_due("weekly_reputation", "America/New_York", monday_7_paris)
    assert not is_due("weekly_reputation", "Europe/Paris", datetime(2026, 10, 6, 5, 10, tzinfo=UTC))  # Tuesday
    assert is_due("daily_care", "Europe/Paris", datetime(2026, 10, 6, 5, 10, tzinfo=UTC))


def test_subscriptions_page_per_role(client, world, django_capture_on_commit_callbacks):
    tid = world.a.tenant.pk
    login(client, "marketer@example.com")
    page = client.get("/t/acme/analytics/reports/")
    assert page.status_code == 200 and b"report-subscribers" not in page.content
    assert client.post("/t/acme/analytics/reports/", {"kind": "daily_care", "op": "subscribe"}).status_code == 302
    with tenant_context(tid):
        sub = ReportSubscription.objects.get(tenant_id=tid, kind="daily_care")
    assert sub.user.email == "marketer@example.com" and sub.is_active
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post("/t/acme/analytics/reports/", {"kind": "weekly_reputation", "op": "preview"}).status_code == 302
    assert _deliver(tid) == ["sent"]
    assert [m.to for m in mail.outbox] == [["marketer@example.com"]]
    assert client.post("/t/acme/analytics/reports/", {"kind": "nope"}).status_code == 400
    client.logout()
    login(client, "admin@example.com")
    page = client.get("/t/acme/analytics/reports/")
    assert b"report-subscribers" in page.content and b"marketer@example.com" in page.content
    # The same admin is a marketer in B: no list there, and A's subscriptions are not B's.
    page_b = client.get("/t/globex/analytics/reports/")
    assert page_b.status_code == 200 and b"report-subscribers" not in page_b.content
    client.logout()
    login(client, "marketer@example.com")
    client.post("/t/acme/analytics/reports/", {"kind": "daily_care", "op": "unsubscribe"})
    with tenant_context(tid):
        assert not ReportSubscription.objects.get(tenant_id=tid, kind="daily_care").is_active


def test_dashboard_pdf(client, data, monkeypatch):
    monkeypatch.setattr(rl_config, "pageCompression", 0)
    monkeypatch.setattr(rl_config, "invariant", 1)
    login(client, "cm@example.com")  # English
    response = client.get("/t/acme/analytics/export.pdf", {"from": "2026-10-05", "to": "2026-10-05", "tz": "UTC"})
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    assert b"Acme" in response.content and b"Net sentiment" in response.content and b"+25.0" in response.content
    assert b"Globex" not in response.content
    login(client, "admin@example.com")  # French
    french = client.get("/t/acme/analytics/export.pdf", {"from": "2026-10-05", "to": "2026-10-05", "tz": "UTC"})
    assert b"Sentiment net" in french.content and b"+25,0" in french.content
    assert client.get("/t/acme/analytics/export.pdf", {"tz": "Mars/Olympus"}).status_code == 400
    dashboard = client.get("/t/acme/analytics/")
    assert b'data-testid="analytics-pdf"' in dashboard.content and b"export.pdf?" in dashboard.content


def test_the_celery_task_sends_once_and_skips_a_deactivated_tenant(data, django_capture_on_commit_callbacks):
    from analytics import tasks
    from social_crm.tenancy.models import Tenant

    a, b = data.a.tenant.pk, data.b.tenant.pk
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.send_reports.apply(args=(a, "weekly_reputation")).get() == 2  # the week before today
        assert tasks.send_reports.apply(args=(a, "weekly_reputation")).get() == 0  # redelivered
    assert _deliver(a) == ["sent", "sent"]
    assert sorted(m.to[0] for m in mail.outbox) == ["admin@example.com", "cm@example.com"]
    Tenant.objects.filter(pk=b).update(is_active=False)
    assert tasks.send_reports.apply(args=(b, "weekly_reputation")).get() is None
    with tenant_context(b):
        assert not ReportRun.objects.filter(tenant_id=b).exists()


def _closed_port() -> int:
    """A local TCP port nobody listens on: a real SMTP connection to it is refused."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_refused_email_is_retried_with_backoff_then_failed_and_the_admins_told(
        client, data, settings, django_capture_on_commit_callbacks):
    from datetime import timedelta

    from django.utils import timezone

    from analytics.tasks import deliver_report, fanout_report_deliveries
    from social_crm.tenancy.models import Notification

    a, b = data.a.tenant.pk, data.b.tenant.pk
    with django_capture_on_commit_callbacks(execute=True):
        assert reports.send_reports(a, "weekly_reputation", now=MONDAY_MORNING) == 2
    with tenant_context(a):
        first = ReportDelivery.objects.filter(tenant_id=a, run__isnull=False, email="cm@example.com").get()
    # The real SMTP backend, towards a port that refuses the connection.
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", _closed_port(), 2
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    before = timezone.now()
    assert deliver_report.apply(args=(a, first.pk)).get() == "queued"
    with tenant_context(a):
        first.refresh_from_db()
    assert (first.status, first.attempts) == ("queued", 1) and "ConnectionRefusedError" in first.last_error
    assert before + timedelta(seconds=59) < first.next_attempt_at < timezone.now() + timedelta(seconds=61)
    assert deliver_report.apply(args=(a, first.pk)).get() == "not due", "the backoff is kept"
    waits = []
    for _attempt in range(2, reports.MAX_ATTEMPTS + 1):
        with tenant_context(a):
            due = ReportDelivery.objects.get(tenant_id=a, pk=first.pk).next_attempt_at
            waits.append(round((due - timezone.now()).total_seconds() / 60))
            ReportDelivery.objects.filter(tenant_id=a, pk=first.pk).update(next_attempt_at=timezone.now())
        status = deliver_report.apply(args=(a, first.pk)).get()
    assert waits == [1, 2, 4, 8] and status == "failed"
    assert mail.outbox == []
    with tenant_context(a):
        told = list(Notification.objects.filter(tenant_id=a, kind="report_delivery_failed").values_list("user__email", flat=True))
    with tenant_context(b):
        assert not Notification.objects.filter(tenant_id=b, kind="report_delivery_failed").exists()
    assert told == ["admin@example.com"], "the tenant's admins, once"

    # The log: the admin sees both deliveries and the error; the failed one can be sent again.
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    login(client, "cm@example.com")  # not an admin: sees their own e-mail only, cannot retry
    page = client.get("/t/acme/analytics/reports/")
    assert b"ConnectionRefusedError" in page.content and b"admin@example.com" not in page.content.split(b"report-deliveries")[1].split(b"</section>")[0]
    assert client.post("/t/acme/analytics/reports/", {"op": "retry", "delivery": first.pk}).status_code == 403
    client.logout()
    login(client, "admin@example.com")
    page = client.get("/t/acme/analytics/reports/")
    row = page.content.split(f'data-testid="delivery-{first.pk}"'.encode())[1].split(b"</tr>")[0]
    assert b"ConnectionRefusedError" in row and b'name="op" value="retry"' in row
    # The same admin is only a marketer in B, and A's delivery is not B's.
    assert client.post("/t/globex/analytics/reports/", {"op": "retry", "delivery": first.pk}).status_code == 403
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post("/t/acme/analytics/reports/", {"op": "retry", "delivery": first.pk}).status_code == 302
    with tenant_context(a):
        first.refresh_from_db()
    assert (first.status, first.attempts) == ("queued", 0)
    assert _deliver(a) == ["sent", "sent"]  # the retried one and the other, never attempted so far
    assert sorted(m.to[0] for m in mail.outbox) == ["admin@example.com", "cm@example.com"]
    with tenant_context(a):
        first.refresh_from_db()
    assert first.status == "sent" and first.sent_at is not None

    # The beat sweeper re-queues what is due and was not picked up (a lost task), nothing else.
    with tenant_context(a):
        ReportDelivery.objects.filter(tenant_id=a, pk=first.pk).update(status="queued",
                                                                       next_attempt_at=timezone.now() - timedelta(minutes=5))
    assert fanout_report_deliveries.apply().get() == 1


def test_a_retry_of_a_delivery_that_did_not_fail_is_refused(data, django_capture_on_commit_callbacks):
    from django.core.exceptions import ValidationError
    from django.http import Http404

    a, b = data.a.tenant.pk, data.b.tenant.pk
    with django_capture_on_commit_callbacks(execute=True):
        reports.send_reports(a, "weekly_reputation", now=MONDAY_MORNING)
    _deliver(a)
    with tenant_context(a):
        sent = ReportDelivery.objects.filter(tenant_id=a, status="sent", run__period_end=WEEK_END).first()
    with pytest.raises(ValidationError):
        reports.delivery_retry(a, actor=None, delivery_id=sent.pk)
    with pytest.raises(Http404):  # another tenant's id is not found, whatever its state
        reports.delivery_retry(b, actor=None, delivery_id=sent.pk)


def test_the_delivery_log_api_lists_each_member_their_own_and_admins_all(client, data,
                                                                        django_capture_on_commit_callbacks):
    a = data.a.tenant.pk
    with django_capture_on_commit_callbacks(execute=True):
        reports.send_reports(a, "weekly_reputation", now=MONDAY_MORNING)
    with tenant_context(a):
        ReportDelivery.objects.filter(tenant_id=a, email="cm@example.com").update(
            status="failed", attempts=5, last_error="SMTPRecipientsRefused: 550")
    login(client, "admin@example.com")
    rows = client.get("/api/v1/t/acme/report-deliveries").json()["results"]
    assert sorted((r["email"], r["status"], r["preview"], r["period_end"]) for r in rows) == [
        ("admin@example.com", "queued", False, "2026-10-05"), ("cm@example.com", "failed", False, "2026-10-05")]
    failed = client.get("/api/v1/t/acme/report-deliveries?status=failed").json()["results"]
    assert [r["last_error"] for r in failed] == ["SMTPRecipientsRefused: 550"]
    bad = client.get("/api/v1/t/acme/report-deliveries?status=lost")
    assert bad.status_code == 400 and "status" in bad.json()
    assert client.get("/api/v1/t/globex/report-deliveries").json()["results"] == [], "B's log has none of A's"
    with django_capture_on_commit_callbacks(execute=True):
        retried = client.post(f"/api/v1/t/acme/report-deliveries/{failed[0]['id']}/retry")
    assert retried.status_code == 200 and (retried.json()["status"], retried.json()["attempts"]) == ("queued", 0)
    again = client.post(f"/api/v1/t/acme/report-deliveries/{failed[0]['id']}/retry")
    assert again.status_code == 400, "only a failed delivery is sent again"
    client.logout()
    login(client, "cm@example.com")
    mine = client.get("/api/v1/t/acme/report-deliveries").json()["results"]
    assert [r["email"] for r in mine] == ["cm@example.com"]
    assert client.post(f"/api/v1/t/acme/report-deliveries/{mine[0]['id']}/retry").status_code == 403
