"""Reads by id outside the scoped bases: the tenant is always inside the query.

"Missing" and "belongs to another tenant" raise the same Http404, so nobody can probe ids.
"""

from __future__ import annotations

from django.http import Http404

from .models import ApiToken, Department, Invitation, Membership, Tenant


def scoped_get(queryset, tenant: Tenant | int, pk):
    """``queryset.get(pk=pk)`` inside the tenant; any miss is the same Http404."""
    tenant_id = tenant if isinstance(tenant, int) else tenant.pk
    try:
        return queryset.get(tenant_id=tenant_id, pk=int(pk))
    except (queryset.model.DoesNotExist, ValueError, TypeError):
        raise Http404("Not found.") from None


def access_membership(tenant: Tenant | int, membership_id) -> Membership:
    return scoped_get(Membership.objects.select_related("user"), tenant, membership_id)


def access_department(tenant: Tenant | int, department_id) -> Department:
    return scoped_get(Department.objects.all(), tenant, department_id)


def access_invitation(tenant: Tenant | int, invitation_id) -> Invitation:
    return scoped_get(Invitation.objects.all(), tenant, invitation_id)


def access_api_token(tenant: Tenant | int, token_id, *, user_id: int) -> ApiToken:
    return scoped_get(ApiToken.objects.filter(user_id=user_id), tenant, token_id)
