"""Canned answers, read-only (the list agents pick from): they are written in the admin for now;
inbox/replies.py fills their variables when a reply is sent. Reading needs INBOX_VIEW."""

from __future__ import annotations

from rest_framework import mixins, serializers

from social_crm.tenancy.api import filters
from social_crm.tenancy.api.base import TenantScopedViewSet
from social_crm.tenancy.permissions import Action

from ..models import CannedAnswer


class CannedAnswerSerializer(serializers.ModelSerializer):
    class Meta:
        model = CannedAnswer
        fields = ["id", "name", "shortcut", "body_en", "body_fr", "updated_at"]
        read_only_fields = fields


class CannedAnswerViewSet(filters.FilteredListMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                          TenantScopedViewSet):
    serializer_class = CannedAnswerSerializer
    model = CannedAnswer
    ordering = "name"
    action_permissions = {"list": Action.INBOX_VIEW, "retrieve": Action.INBOX_VIEW}
    list_filters = [filters.QueryFilter("shortcut", "shortcut", description="The answer with this shortcut.")]


def register(router) -> None:
    router.register("canned-answers", CannedAnswerViewSet, basename="api-canned-answers")
