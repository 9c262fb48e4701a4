"""Reads by id in the inbox: the tenant is inside the query; a miss (or another tenant's row)
is the same Http404."""

from __future__ import annotations

from social_crm.tenancy.access import scoped_get

from .models import Conversation, SavedView


def access_conversation(tenant_id: int, conversation_id) -> Conversation:
    return scoped_get(Conversation.objects.all(), tenant_id, conversation_id)


def access_saved_view(tenant_id: int, view_id, *, user_id: int) -> SavedView:
    """One of the caller's own saved views (a shared view of someone else is not editable)."""
    return scoped_get(SavedView.objects.filter(user_id=user_id), tenant_id, view_id)
