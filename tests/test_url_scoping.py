"""Walks every URL pattern: a route under a tenant must be built on the scoped base, every
other route must be on the short public list below, and every tenant route must be covered by
the isolation tests (tests/routes.py)."""

from __future__ import annotations

import inspect

from django.urls import URLPattern, URLResolver, get_resolver

from social_crm.tenancy.api.base import TenantScopedViewSet
from social_crm.tenancy.base import TenantView
from social_crm.tenancy.permissions import Action

from .routes import ALL_ROUTES, TOKEN_BOUND_ROUTES

# Routes that are not tenant data: authentication, the tenant chooser, the invitation link
# (its secret identifies the tenant), health, API schema/docs, the user's own profile, and the
# platform staff's Django admin (cross-tenant by design, see social_crm.core.admin_site).
PUBLIC_ROUTES = {
    "", "healthz", "i18n/setlang/", "accounts/login/", "accounts/logout/", "accounts/password-reset/",
    "accounts/password-reset/sent/", "accounts/reset/<uidb64>/<token>/", "accounts/reset/done/",
    "accounts/profile/", "invitations/<str:token>/", "api/schema/", "api/docs/", "api/v1/me",
    "webhooks/facebook",  # signed by Meta (X-Hub-Signature-256); routed per Page by the one cross-tenant path
}


def walk(patterns, prefix=""):
    for p in patterns:
        if isinstance(p, URLResolver):
            yield from walk(p.url_patterns, prefix + str(p.pattern))
        elif isinstance(p, URLPattern):
            yield prefix + str(p.pattern), p


def view_class(pattern: URLPattern):
    callback = pattern.callback
    return getattr(callback, "view_class", None) or getattr(callback, "cls", None)


def test_every_tenant_route_is_built_on_the_scoped_base_and_every_other_route_is_listed():
    unscoped, unlisted = [], []
    for route, pattern in walk(get_resolver().url_patterns):
        if route.startswith("admin/"):
            continue
        cls = view_class(pattern)
        if inspect.isclass(cls) and issubclass(cls, TenantScopedViewSet):
            continue  # scoped by its token when the URL names no tenant (e.g. mentions/ingest)
        if "<slug:tenant_slug>" in route:
            if not (inspect.isclass(cls) and issubclass(cls, (TenantView, TenantScopedViewSet))):
                unscoped.append(route)
        elif route not in PUBLIC_ROUTES:
            unlisted.append(route)
    assert not unscoped, f"tenant routes not built on TenantView/TenantScopedViewSet: {unscoped}"
    assert not unlisted, f"routes outside /t/<tenant>/ that nobody declared public: {unlisted}"


def test_every_scoped_view_names_the_action_it_needs():
    for route, pattern in walk(get_resolver().url_patterns):
        cls = view_class(pattern)
        if inspect.isclass(cls) and issubclass(cls, TenantView):
            assert isinstance(cls.required_action, Action), f"{cls.__name__} ({route}) has no required_action"
        if inspect.isclass(cls) and issubclass(cls, TenantScopedViewSet):
            actions = set(pattern.callback.actions.values())
            missing = actions - set(cls.action_permissions)
            assert not missing, f"{cls.__name__} has no Action for {missing}"


def test_every_tenant_route_is_in_the_isolation_table():
    names = {p.name for route, p in walk(get_resolver().url_patterns)
             if "<slug:tenant_slug>" in route or (inspect.isclass(view_class(p)) and issubclass(view_class(p), TenantScopedViewSet))}
    covered = {r.name for r in ALL_ROUTES + TOKEN_BOUND_ROUTES}
    assert names - covered == set(), f"add these routes to tests/routes.py: {sorted(names - covered)}"
    assert covered - names == set(), f"tests/routes.py names routes that do not exist: {sorted(covered - names)}"


def test_a_subclass_cannot_override_the_scoping():
    import pytest

    with pytest.raises(TypeError, match="may not override get_queryset"):
        type("Leaky", (TenantView,), {"get_queryset": lambda self: None})
    with pytest.raises(TypeError, match="may not override dispatch"):
        type("Leaky", (TenantScopedViewSet,), {"dispatch": lambda self, r: None})
