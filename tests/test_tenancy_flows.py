"""What a tenant admin and a newcomer do: invite, accept once, change roles, departments,
settings, audit log, languages; and bad input is a 400 with field errors, never a 500."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.utils import timezone

from social_crm.tenancy.models import AuditEvent, Department, Invitation, Membership
from social_crm.tenancy.permissions import Role
from social_crm.tenancy.scope import tenant_context

from .conftest import PASSWORD, login

User = get_user_model()


def invite(client, django_capture_on_commit_callbacks, email="zoe@example.com", role="community_manager", **extra):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/t/acme/members/invite/", {"email": email, "role": role, **extra})
    assert response.status_code == 302, response.content[:400]
    link = re.search(r"https?://\S+/invitations/(\S+)/", mail.outbox[-1].body)
    assert link, mail.outbox[-1].body
    return "/invitations/" + link.group(1) + "/"


def test_an_invited_newcomer_sets_a_password_and_lands_in_the_tenant(client, world, django_capture_on_commit_callbacks):
    login(client, "admin@example.com")
    path = invite(client, django_capture_on_commit_callbacks)
    assert mail.outbox[-1].to == ["zoe@example.com"]
    assert "Acme" in mail.outbox[-1].subject
    client.logout()
    assert client.get(path).status_code == 200
    response = client.post(path, {"full_name": "Zoé Zed", "password1": "a-long-pass-phrase", "password2": "a-long-pass-phrase"})
    assert response.status_code == 302 and response["Location"] == "/t/acme/"
    zoe = User.objects.get(email="zoe@example.com")
    with tenant_context(world.a.tenant.pk):
        assert Membership.objects.get(tenant_id=world.a.tenant.pk, user=zoe).role == Role.COMMUNITY_MANAGER
        assert AuditEvent.objects.filter(tenant_id=world.a.tenant.pk, action="invitation.accepted").exists()
    assert client.get("/t/acme/").status_code == 200  # logged in
    # The link works once.
    client.logout()
    assert client.get(path).status_code == 404


def test_an_existing_user_logs_in_then_accepts(client, world, django_capture_on_commit_callbacks):
    login(client, "admin-b@example.com")  # admin of B invites the admin of A
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/t/globex/members/invite/", {"email": "marketer-new@example.com", "role": "marketer"})
    User.objects.create_user("marketer-new@example.com", PASSWORD)
    path = "/invitations/" + re.search(r"/invitations/(\S+)/", mail.outbox[-1].body).group(1) + "/"
    client.logout()
    page = client.get(path)
    assert page.status_code == 200 and b"/accounts/login/?next=" in page.content
    login(client, "cm@example.com")  # the wrong person
    assert client.post(path).status_code == 403
    client.logout()
    login(client, "marketer-new@example.com")
    assert client.post(path).status_code == 302
    with tenant_context(world.b.tenant.pk):
        assert Membership.objects.filter(tenant_id=world.b.tenant.pk, user__email="marketer-new@example.com").exists()


def test_an_expired_or_revoked_invitation_cannot_be_used(client, world, django_capture_on_commit_callbacks):
    login(client, "admin@example.com")
    path = invite(client, django_capture_on_commit_callbacks)
    with tenant_context(world.a.tenant.pk):
        Invitation.objects.filter(email="zoe@example.com").update(expires_at=timezone.now() - timedelta(minutes=1))
    client.logout()
    assert client.get(path).status_code == 404
    login(client, "admin@example.com")
    path2 = invite(client, django_capture_on_commit_callbacks)
    with tenant_context(world.a.tenant.pk):
        pending = Invitation.objects.get(email="zoe@example.com", revoked_at__isnull=True, accepted_at__isnull=True)
    assert client.post(f"/t/acme/invitations/{pending.pk}/revoke/").status_code == 302
    client.logout()
    assert client.get(path2).status_code == 404


def test_inviting_a_member_again_is_a_field_error(client, world):
    login(client, "admin@example.com")
    response = client.post("/t/acme/members/invite/", {"email": "CM@example.com", "role": "marketer"})
    assert response.status_code == 400
    assert b"already a member" in response.content


def test_the_last_admin_cannot_be_demoted_or_removed(client, world):
    login(client, "admin@example.com")
    with tenant_context(world.a.tenant.pk):
        admin = world.a.members[Role.ADMIN]
    assert client.post(f"/t/acme/members/{admin.pk}/role/", {"role": "marketer"}).status_code == 400
    assert client.post(f"/t/acme/members/{admin.pk}/remove/").status_code == 400
    # With a second admin it works, and it is audited.
    cm = world.a.members[Role.COMMUNITY_MANAGER]
    assert client.post(f"/t/acme/members/{cm.pk}/role/", {"role": "admin"}).status_code == 302
    assert client.post(f"/t/acme/members/{admin.pk}/role/", {"role": "marketer"}).status_code == 302
    with tenant_context(world.a.tenant.pk):
        actions = list(AuditEvent.objects.filter(tenant_id=world.a.tenant.pk, action="member.role_changed").values_list("data", flat=True))
    assert {"from": "community_manager", "to": "admin"} in actions and {"from": "admin", "to": "marketer"} in actions


def test_departments_with_heads_and_the_audit_log(client, world):
    login(client, "admin@example.com")
    head = world.a.members[Role.DEPARTMENT_HEAD]
    response = client.post("/t/acme/departments/new/", {"name": "Quality", "slug": "quality", "heads": [head.pk]})
    assert response.status_code == 302
    with tenant_context(world.a.tenant.pk):
        quality = Department.objects.get(tenant_id=world.a.tenant.pk, slug="quality")
        assert list(quality.heads.values_list("pk", flat=True)) == [head.pk]
    # Same slug in the same tenant: a field error; in another tenant it already exists, fine.
    clash = client.post("/t/acme/departments/new/", {"name": "Legal 2", "slug": "legal"})
    assert clash.status_code == 400 and b"slug" in clash.content
    log = client.get("/t/acme/audit/")
    assert log.status_code == 200
    assert b"department.created" in log.content and b"admin@example.com" in log.content


def test_settings_change_is_validated_and_audited(client, world):
    login(client, "admin@example.com")
    bad = client.post("/t/acme/settings/", {"name": "", "timezone": "Mars/Olympus", "default_language": "de"})
    assert bad.status_code == 400
    assert bad.content.count(b"invalid-feedback") + bad.content.count(b"errorlist") >= 1
    ok = client.post("/t/acme/settings/", {"name": "Acme SA", "timezone": "Europe/Paris", "default_language": "fr"})
    assert ok.status_code == 302
    with tenant_context(world.a.tenant.pk):
        event = AuditEvent.objects.filter(tenant_id=world.a.tenant.pk, action="tenant.settings_changed").get()
    assert event.data["name"] == ["Acme", "Acme SA"]


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("/t/acme/members/invite/", {"email": "not-an-email", "role": "emperor"}),
        ("/t/acme/members/invite/", {"email": "x@example.com", "role": "department_head", "departments": ["abc"]}),
        ("/t/acme/departments/new/", {"name": "", "slug": "Not A Slug!"}),
        ("/t/acme/departments/new/", {"name": "Q", "slug": "q", "heads": ["999999999"]}),
        ("/t/acme/tokens/", {"name": ""}),
        ("/t/acme/settings/", {}),
    ],
)
def test_malformed_forms_give_400_with_field_errors(client, world, path, data):
    login(client, "admin@example.com")
    response = client.post(path, data)
    assert response.status_code == 400
    assert b"invalid-feedback" in response.content or b"errorlist" in response.content


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/v1/t/acme/departments/", {"name": "", "slug": "bad slug"}, "slug"),
        ("/api/v1/t/acme/departments/", {"name": "Q", "slug": "q", "heads": ["x"]}, "heads"),
        ("/api/v1/t/acme/departments/", {"name": "Legal", "slug": "legal-2"}, "name"),
        ("/api/v1/t/acme/invitations/", {"email": "nope", "role": "admin"}, "email"),
        ("/api/v1/t/acme/invitations/", {"email": "x@example.com", "role": "king"}, "role"),
        ("/api/v1/t/acme/tokens/", {"name": "x" * 500}, "name"),
    ],
)
def test_malformed_api_bodies_give_400_with_field_errors(client, world, path, body, field):
    login(client, "admin@example.com")
    response = client.post(path, body, content_type="application/json")
    assert response.status_code == 400, response.content
    assert field in response.json()


def test_non_json_api_body_is_a_400(client, world):
    login(client, "admin@example.com")
    response = client.post("/api/v1/t/acme/departments/", "{not json", content_type="application/json")
    assert response.status_code == 400


def test_api_tokens_are_shown_once_and_can_be_revoked(client, world):
    login(client, "cm@example.com")
    created = client.post("/api/v1/t/acme/tokens/", {"name": "bi"}, content_type="application/json")
    assert created.status_code == 201
    key = created.json()["key"]
    client.logout()
    auth = {"HTTP_AUTHORIZATION": f"Bearer {key}"}
    listed = client.get("/api/v1/t/acme/tokens/", **auth).json()["results"]
    assert "key" not in listed[0] and listed[0]["name"] == "bi"
    # cm may read departments but not create them: a token carries the user's role.
    assert client.get("/api/v1/t/acme/departments/", **auth).status_code == 200
    assert client.post("/api/v1/t/acme/departments/", {"name": "Q", "slug": "q"}, content_type="application/json", **auth).status_code == 403
    assert client.post(f"/api/v1/t/acme/tokens/{listed[0]['id']}/revoke/", **auth).status_code == 200
    assert client.get("/api/v1/t/acme/departments/", **auth).status_code == 401
    assert client.get("/api/v1/t/acme/departments/", HTTP_AUTHORIZATION="Bearer scrm_forged").status_code == 401


def test_removing_a_member_revokes_their_tokens_in_that_tenant(client, world):
    login(client, "admin@example.com")
    cm = world.a.members[Role.COMMUNITY_MANAGER]
    from social_crm.tenancy.actions import api_token_create

    _t, key = api_token_create(world.a.tenant.pk, user=cm.user, name="x")
    assert client.post(f"/t/acme/members/{cm.pk}/remove/").status_code == 302
    client.logout()
    assert client.get("/api/v1/t/acme/departments/", HTTP_AUTHORIZATION=f"Bearer {key}").status_code == 401


def test_cursor_pagination_walks_every_row_once(client, world):
    login(client, "admin@example.com")
    for i in range(7):
        client.post("/api/v1/t/acme/departments/", {"name": f"D{i}", "slug": f"d{i}"}, content_type="application/json")
    seen, url = [], "/api/v1/t/acme/audit-events/?page_size=3"
    while url:
        page = client.get(url).json()
        seen += [e["id"] for e in page["results"]]
        url = page["next"]
    with tenant_context(world.a.tenant.pk):
        assert sorted(seen) == sorted(AuditEvent.objects.filter(tenant_id=world.a.tenant.pk).values_list("pk", flat=True))
    assert len(seen) == len(set(seen)) >= 10


def test_openapi_schema_and_docs_are_served(client, world):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert "/api/v1/t/{tenant_slug}/departments/" in paths and "/api/v1/me" in paths
    login(client, "admin@example.com")
    docs = client.get("/api/docs/")
    assert docs.status_code == 200 and b"swagger" in docs.content.lower()
    # Offline installs: every asset the page loads is ours (the sidecar's static files), none
    # from a CDN. (Searching the page for "cdn" failed about once in 500 runs: the page embeds
    # a random 64-character CSRF token.)
    assets = re.findall(r'(?:src|href)="([^"]+)"', docs.content.decode())
    assert len(assets) >= 3 and all(a.startswith("/static/drf_spectacular_sidecar/") for a in assets), assets
    assert 'url: "/api/schema/"' in docs.content.decode()


def test_pages_follow_the_users_language(client, world):
    login(client, "admin@example.com")
    english = client.get("/t/acme/members/")
    assert english.status_code == 200 and b"Members" in english.content
    user = User.objects.get(email="admin@example.com")
    user.language = "fr"
    user.save()
    french = client.get("/t/acme/members/")
    assert french.status_code == 200 and b"Membres" in french.content
    assert french["Content-Language"] == "fr"


def test_anonymous_visitors_are_sent_to_login_and_the_api_says_401(client, world):
    assert client.get("/t/acme/").status_code == 302
    assert client.get("/api/v1/t/acme/departments/").status_code in (401, 403)
    assert client.get("/api/v1/me").status_code in (401, 403)


def test_only_platform_staff_reach_the_django_admin(client, world):
    login(client, "admin@example.com")  # a tenant admin is not platform staff
    assert client.get("/admin/").status_code == 302
    staff = User.objects.create_superuser("ops@example.com", PASSWORD)
    client.force_login(staff)
    page = client.get("/admin/tenancy/department/")
    assert page.status_code == 200
    assert page.content.count(b"Legal") >= 2  # staff see every tenant's departments


def test_the_openapi_schema_validates_without_warnings(tmp_path):
    from django.core.management import call_command

    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    text = out.read_text()
    assert "/api/v1/t/{tenant_slug}/members/{id}/role/" in text and "bearer" in text


def test_a_new_api_key_is_shown_once_and_a_reload_creates_no_second_token(client, world):
    login(client, "cm@example.com")
    response = client.post("/t/acme/tokens/", {"name": "bi"})
    assert response.status_code == 302
    first = client.get("/t/acme/tokens/")
    assert b'data-testid="new-api-key"' in first.content and b"scrm_" in first.content
    second = client.get("/t/acme/tokens/")
    assert b'data-testid="new-api-key"' not in second.content
    from social_crm.tenancy.models import ApiToken

    with tenant_context(world.a.tenant.pk):
        assert ApiToken.objects.filter(tenant_id=world.a.tenant.pk, name="bi").count() == 1


@pytest.mark.parametrize("path", ["/static/vendor/bootstrap/bootstrap.min.css", "/static/vendor/htmx/htmx.min.js",
                                  "/static/css/app.css", "/static/js/app.js"])
def test_static_assets_are_served_locally(client, path):
    response = client.get(path)
    assert response.status_code == 200
    assert b"".join(response.streaming_content if response.streaming else [response.content])


def test_password_reset_by_e_mail(client, world):
    response = client.post("/accounts/password-reset/", {"email": "cm@example.com"})
    assert response.status_code == 302
    assert mail.outbox[-1].to == ["cm@example.com"]
    path = re.search(r"https?://[^/\s]+(/accounts/reset/\S+/)", mail.outbox[-1].body).group(1)
    form = client.get(path, follow=True)
    assert form.status_code == 200 and b"new_password1" in form.content
    done = client.post(form.redirect_chain[-1][0], {"new_password1": "a brand new phrase", "new_password2": "a brand new phrase"})
    assert done.status_code == 302
    assert client.login(username="cm@example.com", password="a brand new phrase")
    # An unknown address gives the same page and sends nothing (no account enumeration).
    sent = len(mail.outbox)
    assert client.post("/accounts/password-reset/", {"email": "nobody@example.com"}).status_code == 302
    assert len(mail.outbox) == sent


def test_the_audit_log_pages_through_older_events(client, world):
    from social_crm.tenancy.actions import audit_record

    with tenant_context(world.a.tenant.pk):
        for i in range(60):
            audit_record(world.a.tenant.pk, actor=None, action="test.event", data={"n": i})
    login(client, "admin@example.com")
    first = client.get("/t/acme/audit/")
    assert b'rel="next"' in first.content and b'rel="prev"' not in first.content
    second = client.get("/t/acme/audit/?page=2")
    assert second.status_code == 200 and b'rel="prev"' in second.content
