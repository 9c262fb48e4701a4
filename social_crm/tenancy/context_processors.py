"""Navigation context for every page: the user's tenants (switcher) and what the role allows."""

from __future__ import annotations

from django.utils.functional import SimpleLazyObject

from .models import Membership, Notification
from .permissions import Action, role_can
from .scope import user_context


def _my_tenants(user):
    with user_context(user.pk):
        return [
            {"slug": m.tenant.slug, "name": m.tenant.name, "role": m.get_role_display()}
            for m in Membership.objects.filter(user_id=user.pk, tenant__is_active=True)
            .select_related("tenant").order_by("tenant__name")
        ]


def tenancy(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    membership = getattr(request, "membership", None)
    context = {"my_tenants": SimpleLazyObject(lambda: _my_tenants(user))}
    if membership is not None:
        context["current_tenant"] = membership.tenant
        context["perms_nav"] = {a.name.lower(): role_can(membership.role, a) for a in Action}
        # Rendered inside the tenant transaction (TenantView renders eagerly), so RLS applies.
        context["unread_notifications"] = SimpleLazyObject(lambda: Notification.objects.filter(
            tenant_id=membership.tenant_id, user_id=user.pk, read_at__isnull=True).count())
    return context
