"""The first wall, route by route (tests/routes.py lists them all):

* another tenant's object in the URL gives 404 with the same body as a missing one;
* another tenant's id inside a request body gives 400 with a field error;
* a role without the right gives 403;
* the admin of A gets through with a valid body (so the three checks above are not vacuous).
"""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from social_crm.tenancy.permissions import PERMISSIONS, Role
from social_crm.tenancy.scope import tenant_context

from .conftest import login
from .routes import ALL_ROUTES, Route

MISSING_ID = 987654321


def route_id(r: Route) -> str:
    return f"{r.method.upper()} {r.name}"


def url(route: Route, tenant_slug: str, obj_id=None) -> str:
    kwargs = {"tenant_slug": tenant_slug}
    if route.obj_kwarg:
        kwargs[route.obj_kwarg] = obj_id
    return reverse(route.name, kwargs=kwargs)


def call(client, route: Route, path: str, body: dict | None):
    method = getattr(client, route.method)
    if route.method == "get":
        return method(path)
    if route.api:
        return method(path, data=json.dumps(body or {}), content_type="application/json")
    return method(path, data=body or {})


def object_id(route: Route, tenant_world):
    with tenant_context(tenant_world.tenant.pk):
        return route.obj(tenant_world).pk


@pytest.mark.parametrize("route", ALL_ROUTES, ids=route_id)
def test_the_right_role_gets_through(client, world, route, request):
    if route.name.startswith("api-nlp"):
        request.getfixturevalue("models")  # the analysis needs a sentiment model
    login(client, "admin@example.com")  # admin of A
    obj = object_id(route, world.a) if route.obj else None
    response = call(client, route, url(route, "acme", obj), route.body(world) if route.body else None)
    assert response.status_code in (200, 201, 204, 302), response.content[:500]


@pytest.mark.parametrize("route", [r for r in ALL_ROUTES if r.obj], ids=route_id)
def test_another_tenants_object_is_a_404_identical_to_a_missing_one(client, world, route):
    login(client, "admin@example.com")  # admin of A, and also a member of B
    body = route.body(world) if route.body else None
    b_obj = object_id(route, world.b)
    other = call(client, route, url(route, "acme", b_obj), body)
    missing = call(client, route, url(route, "acme", MISSING_ID), body)
    assert other.status_code == missing.status_code == 404
    assert other.content == missing.content


@pytest.mark.parametrize("route", [r for r in ALL_ROUTES if r.cross_body], ids=route_id)
def test_another_tenants_id_in_the_body_is_a_400_with_a_field_error(client, world, route):
    login(client, "admin@example.com")
    obj = object_id(route, world.a) if route.obj else None
    response = call(client, route, url(route, "acme", obj), route.cross_body(world))
    assert response.status_code == 400
    if route.api:
        errors = response.json()
        assert set(errors) & set(route.cross_fields), errors
    else:
        assert b"is-invalid" in response.content or b"errorlist" in response.content or b"invalid" in response.content.lower()


def _denied_roles(route: Route):
    return [role for role in Role if role not in PERMISSIONS[route.action]]


@pytest.mark.parametrize(
    ("route", "role"),
    [(r, role) for r in ALL_ROUTES for role in _denied_roles(r)],
    ids=lambda v: route_id(v) if isinstance(v, Route) else str(v),
)
def test_a_role_without_the_right_gets_403(client, world, route, role):
    member = world.a.members[role]
    login(client, member.user.email)
    obj = object_id(route, world.a) if route.obj else None
    response = call(client, route, url(route, "acme", obj), route.body(world) if route.body else None)
    assert response.status_code == 403


def test_same_email_has_the_role_of_the_tenant_in_the_url(client, world):
    """admin@example.com administers A but is only a marketer in B."""
    login(client, "admin@example.com")
    assert client.get(reverse("audit-log", kwargs={"tenant_slug": "acme"})).status_code == 200
    assert client.get(reverse("audit-log", kwargs={"tenant_slug": "globex"})).status_code == 403


def test_an_unknown_tenant_and_a_tenant_one_is_not_a_member_of_look_the_same(client, world):
    login(client, "head@example.com")
    with tenant_context(world.b.tenant.pk):
        world.b.members[Role.DEPARTMENT_HEAD].delete()
    unknown = client.get("/t/no-such-tenant/departments/")
    not_member = client.get("/t/globex/departments/")
    assert unknown.status_code == not_member.status_code == 404
    assert unknown.content == not_member.content
    api_unknown = client.get("/api/v1/t/no-such-tenant/departments/")
    api_not_member = client.get("/api/v1/t/globex/departments/")
    assert api_unknown.status_code == api_not_member.status_code == 404
    assert api_unknown.content == api_not_member.content


def test_members_of_a_deactivated_tenant_cannot_use_it(client, world):
    from social_crm.tenancy.models import Tenant

    Tenant.objects.filter(pk=world.a.tenant.pk).update(is_active=False)
    login(client, "admin@example.com")
    assert client.get("/t/acme/").status_code == 403
    assert client.get("/api/v1/t/acme/departments/").status_code == 403
    # Their other tenant still works.
    assert client.get("/t/globex/").status_code == 200


def test_an_api_token_is_bound_to_its_tenant(client, world):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {world.a.token_key}"}
    ok = client.get("/api/v1/t/acme/departments/", **headers)
    assert ok.status_code == 200
    assert {d["slug"] for d in ok.json()["results"]} == {"customer-service", "legal"}
    # The token's user is also a member of B, but the token is A's: B looks like it does not exist.
    assert client.get("/api/v1/t/globex/departments/", **headers).status_code == 404
    me = client.get("/api/v1/me", **headers).json()
    assert [t["slug"] for t in me["tenants"]] == ["acme"]


def test_lists_only_show_the_tenants_own_rows(client, world):
    login(client, "admin@example.com")
    members = client.get("/api/v1/t/acme/members/").json()["results"]
    with tenant_context(world.a.tenant.pk):
        expected = {m.pk for m in world.a.members.values()}
    assert {m["id"] for m in members} == expected
    page = client.get("/t/acme/departments/")
    for department in world.b.departments.values():
        assert f"/t/acme/departments/{department.pk}/".encode() not in page.content
