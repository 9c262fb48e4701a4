"""The one enforced place for tenant scoping over HTTP (server-rendered pages).

``TenantView`` resolves the tenant from the URL once, checks the membership and the role
against ``permissions.PERMISSIONS``, opens ``tenant_context`` (the SET LOCAL that row-level
security reads) and renders inside it. Subclasses say which Action they need and extend
``scoped_queryset()``; they may not override ``dispatch`` or ``get_queryset`` (enforced at
class creation), so the tenant filter cannot be forgotten or replaced.

The API twin is ``social_crm.tenancy.api.base.TenantScopedViewSet``.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views import View
from django.views.generic.base import ContextMixin

from .models import Membership, Tenant
from .permissions import Action, role_can
from .scope import tenant_context, user_context

_SEALED = ("dispatch", "get_queryset")


class TenantInactive(PermissionDenied):
    pass


def resolve_membership(user, tenant_slug: str) -> Membership:
    """The caller's membership in the tenant named by the URL, or 404 (unknown or not a member)."""
    if not user.is_authenticated or not user.is_active:
        raise Http404("Not found.")
    with user_context(user.pk):
        membership = (
            Membership.objects.select_related("tenant")
            .filter(user_id=user.pk, tenant__slug=tenant_slug)
            .first()
        )
    if membership is None:
        raise Http404("Not found.")
    if not membership.tenant.is_active:
        raise TenantInactive("This tenant is deactivated.")
    return membership


class TenantScopeMixin:
    """Shared by the page and API bases: the resolved tenant and the sealed scoping."""

    required_action: Action | None = None
    model = None
    tenant: Tenant
    membership: Membership

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if getattr(cls, "_scope_base", False) and "_scope_base" in cls.__dict__:
            return
        for name in _SEALED:
            if name in cls.__dict__:
                raise TypeError(f"{cls.__name__} may not override {name}(): extend scoped_queryset() instead")

    def scoped_queryset(self):
        """Hook: the unscoped queryset for this view. The base adds the tenant filter."""
        if self.model is None:
            raise NotImplementedError(f"{type(self).__name__} needs a model or scoped_queryset()")
        return self.model._default_manager.all()

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # OpenAPI schema generation: no request tenant
            model = self.model or self.get_serializer_class().Meta.model
            return model._default_manager.none()
        return self.scoped_queryset().filter(tenant_id=self.tenant.pk)

    def required_action_for(self, request) -> Action:
        if self.required_action is None:
            raise NotImplementedError(f"{type(self).__name__} must set required_action")
        return self.required_action

    def check_role(self, request) -> None:
        if not role_can(self.membership.role, self.required_action_for(request)):
            raise PermissionDenied("Your role does not allow this.")


class TenantView(TenantScopeMixin, ContextMixin, View):
    """Base of every server-rendered page under /t/<tenant_slug>/."""

    _scope_base = True
    template_name: str | None = None

    def dispatch(self, request: HttpRequest, tenant_slug: str, *args, **kwargs) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        try:
            self.membership = resolve_membership(request.user, tenant_slug)
        except TenantInactive:
            return render(request, "tenancy/tenant_inactive.html", status=403)
        self.tenant = self.membership.tenant
        request.tenant, request.membership = self.tenant, self.membership
        with tenant_context(self.tenant.pk, user_id=request.user.pk):
            self.check_role(request)
            response = super().dispatch(request, *args, **kwargs)
            # Render inside the tenant transaction: a lazy TemplateResponse would otherwise
            # query after SET LOCAL is gone and see nothing.
            if hasattr(response, "render") and not getattr(response, "is_rendered", True):
                response.render()
            return response

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(tenant=self.tenant, membership=self.membership, role=self.membership.role)
        return context

    def render(self, status: int = 200, **context) -> HttpResponse:
        return render(self.request, self.template_name, self.get_context_data(**context), status=status)

    def can(self, action: Action) -> bool:
        return role_can(self.membership.role, action)


class ActionDeleteView(TenantView):
    """POST: one domain delete action ``delete_action(tenant_id, *, actor, <id_kwarg>=id)``, a
    success message, back to the list page named ``list_url``. Subclasses set the four
    attributes and ``required_action``."""

    delete_action = None
    id_kwarg, message, list_url = "", "", ""

    def post(self, request, **kwargs):
        self.delete_action(self.tenant.pk, actor=request.user, **{self.id_kwarg: kwargs[self.id_kwarg]})
        messages.success(request, _(self.message))
        return redirect(self.list_url, tenant_slug=self.tenant.slug)
