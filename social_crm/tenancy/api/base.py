"""The API twin of TenantView: every tenant viewset is a TenantScopedViewSet.

It resolves the tenant from the URL (``/api/v1/t/<tenant_slug>/...``) once, after
authentication; a token bound to another tenant gets the same 404 as an unknown tenant; the
role must allow the Action of the viewset action (``action_permissions``); the handler runs
inside ``tenant_context`` (SET LOCAL for row-level security). ``get_queryset`` and
``dispatch`` are sealed; subclasses extend ``scoped_queryset()``.
"""

from __future__ import annotations

import sys

from django.core.exceptions import PermissionDenied
from django.http import Http404
from rest_framework import exceptions, viewsets

from social_crm.tenancy.base import TenantInactive, TenantScopeMixin, resolve_membership
from social_crm.tenancy.models import ApiToken
from social_crm.tenancy.permissions import Action, role_can
from social_crm.tenancy.scope import tenant_context


class TenantScopedViewSet(TenantScopeMixin, viewsets.GenericViewSet):
    _scope_base = True
    # viewset action ("list", "create", ...) -> Action required.
    action_permissions: dict[str, Action] = {}

    def dispatch(self, request, *args, **kwargs):
        # The tenant transaction opens in initial(), after authentication; closing it here
        # covers every outcome (response or exception turned into a response).
        self._tenant_cm = None
        exc_info = (None, None, None)
        try:
            return super().dispatch(request, *args, **kwargs)
        except BaseException:
            exc_info = sys.exc_info()
            raise
        finally:
            if self._tenant_cm is not None:
                self._tenant_cm.__exit__(*exc_info)

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)  # authentication, IsAuthenticated, throttles
        slug = kwargs.get("tenant_slug")
        if slug is None:
            # A token-bound route (e.g. /api/v1/mentions/ingest): the token names the tenant.
            if not isinstance(request.auth, ApiToken):
                raise exceptions.NotFound()
            slug = request.auth.tenant.slug
        try:
            membership = resolve_membership(request.user, slug)
        except TenantInactive:
            raise exceptions.PermissionDenied("This tenant is deactivated.") from None
        except Http404:
            raise exceptions.NotFound() from None
        if isinstance(request.auth, ApiToken) and request.auth.tenant_id != membership.tenant_id:
            raise exceptions.NotFound()
        self.membership, self.tenant = membership, membership.tenant
        self._tenant_cm = tenant_context(self.tenant.pk, user_id=request.user.pk)
        self._tenant_cm.__enter__()
        self.check_role(request)

    def required_action_for(self, request) -> Action:
        try:
            return self.action_permissions[self.action]
        except KeyError:
            raise NotImplementedError(f"{type(self).__name__}.action_permissions has no entry for {self.action!r}") from None

    def check_role(self, request) -> None:
        try:
            super().check_role(request)
        except PermissionDenied as exc:
            raise exceptions.PermissionDenied(str(exc)) from None

    def can(self, action: Action) -> bool:
        return role_can(self.membership.role, action)

    def get_serializer_context(self):
        context = super().get_serializer_context()
        context["tenant"] = getattr(self, "tenant", None)
        return context
