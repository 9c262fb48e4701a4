"""Department alerts: the heads' actions, escalation timing with a frozen clock (``now`` passed
explicitly), who sees what, and the daily digest e-mail."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.urls import reverse

from inbox import alerts, routing
from inbox.models import Alert, AlertComment, Conversation, ConversationEvent, InboxSettings
from social_crm.tenancy.models import DepartmentHead, Notification
from social_crm.tenancy.permissions import Role
from social_crm.tenancy.scope import tenant_context

from .conftest import login
from .test_inbox_routing import make_conversation, make_rule

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=dt_timezone.utc)  # a Monday, before the world alerts are due


def open_alert(tw, department_slug="customer-service", now=T0):
    conversation, _m = make_conversation(tw)
    department = tw.departments[department_slug]
    with tenant_context(tw.tenant.pk):
        alert, created = alerts.alert_open(tw.tenant.pk, conversation=conversation, department=department, now=now)
    assert created
    return alert


def reload(tw, alert):
    with tenant_context(tw.tenant.pk):
        return Alert.objects.get(pk=alert.pk)


def notified(tw, kind):
    with tenant_context(tw.tenant.pk):
        return sorted(Notification.objects.filter(tenant_id=tw.tenant.pk, kind=kind).values_list("user__email", flat=True))


def add_second_head(tw, role=Role.COMMUNITY_MANAGER, department_slug="customer-service"):
    member = tw.members[role]
    with tenant_context(tw.tenant.pk):
        DepartmentHead.objects.create(tenant_id=tw.tenant.pk, department=tw.departments[department_slug],
                                      membership=member)
    return member


# --- Escalation timing ---------------------------------------------------------------------------


def test_an_unacknowledged_alert_escalates_to_the_second_head_then_to_the_admins(world, django_capture_on_commit_callbacks):
    tw, tid = world.a, world.a.tenant.pk
    second = add_second_head(tw)
    alert = open_alert(tw)
    assert reload(tw, alert).escalate_at == T0 + timedelta(minutes=30)  # the default delay

    assert alerts.escalate_due(tid, now=T0 + timedelta(minutes=29, seconds=59)) == []
    with django_capture_on_commit_callbacks(execute=True):
        assert alerts.escalate_due(tid, now=T0 + timedelta(minutes=30)) == [alert.pk]
    alert = reload(tw, alert)
    assert (alert.status, alert.escalation_level, alert.escalate_at) == ("escalated", 1, T0 + timedelta(minutes=60))
    assert notified(tw, "alert.escalated") == [second.user.email]
    assert [m.to for m in mail.outbox] == [[second.user.email]]

    assert alerts.escalate_due(tid, now=T0 + timedelta(minutes=45)) == []  # not twice for one level
    with django_capture_on_commit_callbacks(execute=True):
        assert alerts.escalate_due(tid, now=T0 + timedelta(minutes=60)) == [alert.pk]
    alert = reload(tw, alert)
    assert (alert.escalation_level, alert.escalate_at) == (2, None)
    admin = tw.members[Role.ADMIN].user
    assert notified(tw, "alert.escalated") == sorted([second.user.email, admin.email])
    assert alerts.escalate_due(tid, now=T0 + timedelta(days=3)) == []  # the admins are the top
    with tenant_context(tid):
        ops = list(ConversationEvent.objects.filter(tenant_id=tid, conversation_id=alert.conversation_id, kind="alert")
                   .values_list("data__op", "data__level"))
    assert ops == [("opened", None), ("escalated", 1), ("escalated", 2)]


def test_with_one_head_the_alert_goes_straight_to_the_admins(world):
    tw, tid = world.a, world.a.tenant.pk
    alert = open_alert(tw)
    alerts.escalate_due(tid, now=T0 + timedelta(minutes=30))
    assert reload(tw, alert).escalation_level == 2
    assert notified(tw, "alert.escalated") == [tw.members[Role.ADMIN].user.email]


def test_the_delay_is_the_tenants_setting(world):
    tw, tid = world.a, world.a.tenant.pk
    with tenant_context(tid):
        InboxSettings.objects.filter(tenant_id=tid).update(alert_escalation_minutes=5)
    alert = open_alert(tw)
    assert reload(tw, alert).escalate_at == T0 + timedelta(minutes=5)
    assert alerts.escalate_due(tid, now=T0 + timedelta(minutes=5)) == [alert.pk]
    # The other tenant's alert (world row, due in two hours from the real clock) is not touched.
    assert reload(world.b, world.b.alert).escalation_level == 0


def test_admins_set_the_delay_on_the_sla_page(client, world):
    login(client, "admin@example.com")
    url = reverse("alert-escalation-delay", kwargs={"tenant_slug": "acme"})
    assert client.post(url, {"minutes": "0"}).status_code == 400
    assert client.post(url, {"minutes": "12"}).status_code == 302
    assert alerts.escalation_delay(world.a.tenant.pk) == timedelta(minutes=12)
    assert alerts.escalation_delay(world.b.tenant.pk) == timedelta(minutes=30)
    assert 'value="12"' in client.get(reverse("sla-policies", kwargs={"tenant_slug": "acme"})).content.decode()


def test_an_acknowledged_alert_does_not_escalate(world):
    tw, tid = world.a, world.a.tenant.pk
    alert = open_alert(tw)
    head = tw.members[Role.DEPARTMENT_HEAD]
    alerts.alert_acknowledge(tid, actor=head.user, membership=head, alert_id=alert.pk)
    alerts.alert_acknowledge(tid, actor=head.user, membership=head, alert_id=alert.pk)  # idempotent
    assert alerts.escalate_due(tid, now=T0 + timedelta(days=1)) == []
    alert = reload(tw, alert)
    assert (alert.status, alert.acknowledged_by_id, alert.escalate_at) == ("acknowledged", head.user_id, None)


def test_the_beat_fanout_queues_only_tenants_with_overdue_alerts(world, monkeypatch):
    from inbox import tasks

    queued = []
    monkeypatch.setattr(tasks.escalate_alerts, "delay", lambda tenant_id: queued.append(tenant_id))
    open_alert(world.a, now=T0 - timedelta(days=1))  # overdue by the real clock
    assert tasks.fanout_alert_escalations() == 1
    assert queued == [world.a.tenant.pk]


def test_the_escalation_task_runs_in_the_tenant_scope(world):
    from inbox.tasks import escalate_alerts

    alert = open_alert(world.a, now=T0 - timedelta(days=1))
    assert escalate_alerts.apply(args=(world.a.tenant.pk,)).get() == [alert.pk]


# --- People's actions ----------------------------------------------------------------------------


def test_hand_back_returns_the_conversation_to_the_inbox(world):
    tw, tid = world.a, world.a.tenant.pk
    make_rule(tw, "CS", [{"field": "sentiment", "op": "in", "value": ["negative"]}],
              [{"type": "route", "department": tw.departments["customer-service"].pk}])
    conversation, _m = make_conversation(tw)
    routing.route(tid, [conversation.pk])
    with tenant_context(tid):
        alert = Alert.objects.get(tenant_id=tid, conversation=conversation)
    head = tw.members[Role.DEPARTMENT_HEAD]
    alerts.alert_hand_back(tid, actor=head.user, membership=head, alert_id=alert.pk)
    with tenant_context(tid):
        assert Conversation.objects.get(pk=conversation.pk).department_id is None
    assert reload(tw, alert).status == "handed_back"
    with pytest.raises(ValidationError):
        alerts.alert_resolve(tid, actor=head.user, membership=head, alert_id=alert.pk)


def test_comment_escalate_and_resolve(world):
    tw, tid = world.a, world.a.tenant.pk
    alert = open_alert(tw)
    head = tw.members[Role.DEPARTMENT_HEAD]
    alerts.alert_comment(tid, actor=head.user, membership=head, alert_id=alert.pk, body="Je rappelle le client.")
    with pytest.raises(ValidationError) as exc:
        alerts.alert_comment(tid, actor=head.user, membership=head, alert_id=alert.pk, body="  ")
    assert "body" in exc.value.message_dict
    alerts.alert_escalate(tid, actor=head.user, membership=head, alert_id=alert.pk)
    assert reload(tw, alert).escalation_level == 2
    with pytest.raises(ValidationError):
        alerts.alert_escalate(tid, actor=head.user, membership=head, alert_id=alert.pk)
    alerts.alert_resolve(tid, actor=head.user, membership=head, alert_id=alert.pk)
    alert = reload(tw, alert)
    assert (alert.status, alert.escalate_at) == ("resolved", None)
    with tenant_context(tid):
        assert AlertComment.objects.filter(alert=alert).values_list("body", flat=True).get() == "Je rappelle le client."


def test_a_head_sees_and_acts_on_their_departments_alerts_only(client, world):
    tw = world.a
    legal_alert = open_alert(tw, "legal")
    login(client, "head@example.com")
    page = client.get(reverse("alerts", kwargs={"tenant_slug": "acme"})).content.decode()
    assert f'data-alert-id="{tw.alert.pk}"' in page and f'data-alert-id="{legal_alert.pk}"' not in page
    other = client.post(reverse("alert-acknowledge", kwargs={"tenant_slug": "acme", "alert_id": legal_alert.pk}))
    assert other.status_code == 404
    api = client.get(reverse("api-alerts-list", kwargs={"tenant_slug": "acme"})).json()
    assert [a["id"] for a in api["results"]] == [tw.alert.pk]
    ok = client.post(reverse("api-alerts-acknowledge", kwargs={"tenant_slug": "acme", "pk": tw.alert.pk}))
    assert ok.status_code == 200 and ok.json()["status"] == "acknowledged"
    login(client, "admin@example.com")
    page = client.get(reverse("alerts", kwargs={"tenant_slug": "acme"}) + "?status=all").content.decode()
    assert f'data-alert-id="{legal_alert.pk}"' in page


def test_the_alert_list_does_not_query_per_alert(client, world):
    from .test_inbox_routing import _queries

    login(client, "admin@example.com")
    url = reverse("alerts", kwargs={"tenant_slug": "acme"})
    one = _queries(client, url)
    for _n in range(5):
        alert = open_alert(world.a, "legal")
        with tenant_context(world.a.tenant.pk):
            AlertComment.objects.create(tenant_id=world.a.tenant.pk, alert=alert, body="x")
    assert _queries(client, url) == one


def test_the_alert_page_buttons_and_an_empty_comment(client, world):
    tw = world.a
    login(client, "head@example.com")
    kwargs = {"tenant_slug": "acme", "alert_id": tw.alert.pk}
    assert client.post(reverse("alert-comment", kwargs=kwargs), {"body": ""}).status_code == 400
    assert client.post(reverse("alert-comment", kwargs=kwargs), {"body": "Vu"}).status_code == 302
    assert client.post(reverse("alert-resolve", kwargs=kwargs)).status_code == 302
    response = client.post(reverse("alert-escalate", kwargs=kwargs), follow=True)
    assert "nothing to do" in response.content.decode()  # a resolved alert cannot be escalated
    assert reload(tw, tw.alert).status == "resolved"


def test_the_api_comment_needs_a_body(client, world):
    login(client, "admin@example.com")
    url = reverse("api-alerts-comment", kwargs={"tenant_slug": "acme", "pk": world.a.alert.pk})
    assert client.post(url, json.dumps({}), content_type="application/json").status_code == 400
    response = client.post(url, json.dumps({"body": "On it"}), content_type="application/json")
    assert response.status_code == 200
    assert [c["body"] for c in response.json()["comments"]] == ["À traiter vite.", "On it"]


# --- Digest --------------------------------------------------------------------------------------


def test_the_digest_sends_each_head_one_email_in_their_language(world, django_capture_on_commit_callbacks):
    tw, tid = world.a, world.a.tenant.pk
    head = tw.members[Role.DEPARTMENT_HEAD].user
    head.language = "fr"
    head.save(update_fields=["language"])
    second = add_second_head(tw, Role.COMMUNITY_MANAGER, "legal")
    second.user.language = "en"
    second.user.save(update_fields=["language"])
    open_alert(tw, "customer-service")
    open_alert(tw, "legal")
    with django_capture_on_commit_callbacks(execute=True):
        sent = alerts.send_alert_digest(tid, now=T0)
    assert sorted(sent) == sorted([head.email, second.user.email])
    by_recipient = {m.to[0]: m for m in mail.outbox}
    french, english = by_recipient[head.email], by_recipient[second.user.email]
    assert "lundi 5 janvier 2026" in french.body  # rendered in the head's language
    assert "Monday 5 January 2026" in english.body
    assert french.body.count("Customer service ·") == 2 and "Legal" not in french.body  # the world's alert + this one
    assert english.body.count("Legal ·") == 1 and "Customer service" not in english.body
    assert "/t/acme/inbox/alerts/" in english.body
    # Once a day.
    with django_capture_on_commit_callbacks(execute=True):
        assert alerts.send_alert_digest(tid, now=T0 + timedelta(hours=3)) == []
    assert len(mail.outbox) == 2
    with django_capture_on_commit_callbacks(execute=True):
        assert len(alerts.send_alert_digest(tid, now=T0 + timedelta(days=1))) == 2
