"""What the UI shows is readable through /api/v1/t/<slug>/: the endpoints added for it (canned
answers, merge records, notifications, others' shared saved views) and the documented filters of
the lists (strict: a bad value is a 400 naming the parameter). Isolation and roles of these
routes are in tests/routes.py (tests/test_isolation.py)."""

from __future__ import annotations

import pytest
from django.utils import timezone

from inbox.models import Alert, SavedView
from social_crm.tenancy.models import AuditEvent, Notification
from social_crm.tenancy.permissions import Role
from social_crm.tenancy.scope import tenant_context

from .conftest import login


@pytest.fixture
def api(client, world):
    return login(client, "admin@example.com")  # admin of acme


def _results(response):
    assert response.status_code == 200, response.content[:500]
    body = response.json()
    assert set(body) >= {"next", "previous", "results"}  # cursor pagination
    return body["results"]


def test_canned_answers_are_listed_and_filtered_by_shortcut(api, world):
    rows = _results(api.get("/api/v1/t/acme/canned-answers/"))
    assert [r["id"] for r in rows] == [world.a.canned_answer.pk]
    assert rows[0]["body_fr"].startswith("Bonjour {first_name}")
    assert _results(api.get("/api/v1/t/acme/canned-answers/?shortcut=nope")) == []
    assert len(_results(api.get("/api/v1/t/acme/canned-answers/?shortcut=delay"))) == 1


def test_merge_records_are_listed_and_filtered(api, world):
    record = world.a.merge_record
    rows = _results(api.get(f"/api/v1/t/acme/merge-records/?survivor={record.survivor_id}"))
    assert [r["id"] for r in rows] == [record.pk]
    assert _results(api.get("/api/v1/t/acme/merge-records/?undone=true")) == []
    assert [r["id"] for r in _results(api.get("/api/v1/t/acme/merge-records/?undone=false"))] == [record.pk]
    assert api.get("/api/v1/t/acme/merge-records/?undone=maybe").json() == {"undone": ["Use true or false."]}


def test_notifications_are_the_callers_own(api, world):
    admin = world.a.members[Role.ADMIN].user
    cm = world.a.members[Role.COMMUNITY_MANAGER].user
    with tenant_context(world.a.tenant.pk):
        mine = Notification.objects.create(tenant_id=world.a.tenant.pk, user=admin, kind="channel.broken", title="X")
        read = Notification.objects.create(tenant_id=world.a.tenant.pk, user=admin, kind="channel.broken", title="Y",
                                           read_at=timezone.now())
        theirs = Notification.objects.create(tenant_id=world.a.tenant.pk, user=cm, kind="channel.broken", title="Z")
        admins = set(Notification.objects.filter(tenant_id=world.a.tenant.pk, user=admin).values_list("pk", flat=True))
        unread = set(Notification.objects.filter(tenant_id=world.a.tenant.pk, user=admin, read_at__isnull=True)
                     .values_list("pk", flat=True))
    listed = {r["id"] for r in _results(api.get("/api/v1/t/acme/notifications/"))}
    assert listed == admins and {mine.pk, read.pk} <= listed and theirs.pk not in listed
    assert {r["id"] for r in _results(api.get("/api/v1/t/acme/notifications/?unread=true"))} == unread
    assert mine.pk in unread and read.pk not in unread
    assert api.get(f"/api/v1/t/acme/notifications/{theirs.pk}/").status_code == 404


def test_another_members_shared_view_is_readable_but_not_writable(api, world):
    view = world.a.saved_view  # the community manager's
    rows = _results(api.get("/api/v1/t/acme/saved-views/"))
    assert view.pk not in [r["id"] for r in rows]  # not shared yet
    with tenant_context(world.a.tenant.pk):
        SavedView.objects.filter(pk=view.pk).update(is_shared=True)
    rows = {r["id"]: r for r in _results(api.get("/api/v1/t/acme/saved-views/"))}
    assert rows[view.pk]["is_mine"] is False
    assert api.get(f"/api/v1/t/acme/saved-views/{view.pk}/").status_code == 200
    response = api.patch(f"/api/v1/t/acme/saved-views/{view.pk}/", {"name": "Hijacked"}, content_type="application/json")
    assert response.status_code == 404
    with tenant_context(world.a.tenant.pk):
        assert SavedView.objects.get(pk=view.pk).name == "My open"


def test_alerts_filter_by_status_and_department_and_refuse_a_bad_status(api, world):
    alert, cs = world.a.alert, world.a.departments["customer-service"]
    assert [r["id"] for r in _results(api.get(f"/api/v1/t/acme/alerts/?status=open&department={cs.pk}"))] == [alert.pk]
    assert _results(api.get(f"/api/v1/t/acme/alerts/?department={world.a.departments['legal'].pk}")) == []
    with tenant_context(world.a.tenant.pk):
        Alert.objects.filter(pk=alert.pk).update(status="resolved")
    assert _results(api.get("/api/v1/t/acme/alerts/?status=open")) == []
    response = api.get("/api/v1/t/acme/alerts/?status=opne")
    assert response.status_code == 400 and list(response.json()) == ["status"]
    assert api.get("/api/v1/t/acme/alerts/?department=x").json() == {"department": ["A valid integer is required."]}


def test_audit_events_filter_by_action_and_actor(api, world):
    with tenant_context(world.a.tenant.pk):
        actions = set(AuditEvent.objects.filter(tenant_id=world.a.tenant.pk).values_list("action", flat=True))
    action = sorted(actions)[0]
    rows = _results(api.get(f"/api/v1/t/acme/audit-events/?action={action}"))
    assert rows and {r["action"] for r in rows} == {action}
    system = _results(api.get("/api/v1/t/acme/audit-events/?actor=none"))
    with tenant_context(world.a.tenant.pk):
        expected = AuditEvent.objects.filter(tenant_id=world.a.tenant.pk, actor__isnull=True).count()
    assert len(system) == min(expected, 50)


def test_quarantine_and_routing_rules_filter(api, world):
    assert [r["id"] for r in _results(api.get("/api/v1/t/acme/quarantine/?replayed=false"))] == [world.a.quarantined.pk]
    assert _results(api.get("/api/v1/t/acme/quarantine/?replayed=true")) == []
    assert [r["id"] for r in _results(api.get("/api/v1/t/acme/routing-rules/?is_active=true"))] == [
        world.a.routing_rule.pk]
    assert _results(api.get("/api/v1/t/acme/routing-rules/?is_active=false")) == []


def test_every_list_of_the_schema_is_cursor_paginated(api, world):
    """Each GET list under /t/{tenant_slug}/ of the OpenAPI schema answers a cursor page."""
    schema = api.get("/api/schema/?format=json").json()
    lists = [path for path, item in schema["paths"].items()
             if "{tenant_slug}" in path and "{" not in path.replace("{tenant_slug}", "") and "get" in item
             and "Paginated" in str(item["get"]["responses"].get("200", {}))]
    assert len(lists) > 20
    for path in lists:
        _results(api.get(path.replace("{tenant_slug}", "acme")))
