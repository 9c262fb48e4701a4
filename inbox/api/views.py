"""Inbox API: conversations (filtered, cursor-paginated list; detail with messages, notes and
events; partial update; bulk), notes and one's own saved views. Thin viewsets over
inbox.conversations on TenantScopedViewSet. Reading needs INBOX_VIEW, changing INBOX_WORK."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db.models import Prefetch, Q
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers
from rest_framework.decorators import action
from rest_framework.response import Response

from inbox import conversations as actions
from inbox.forms import InboxFilterForm
from inbox.models import Conversation, ConversationEvent, Message, Note, SavedView
from listening.models import Topic
from social_crm.tenancy.api.base import TenantScopedViewSet
from social_crm.tenancy.models import Department
from social_crm.tenancy.permissions import Action

from .serializers import (BulkResultSerializer, BulkSerializer, ConversationDetailSerializer, ConversationSerializer,
                          ConversationUpdateSerializer, NoteSerializer, SavedViewSerializer)

_VIEW, _WORK = Action.INBOX_VIEW, Action.INBOX_WORK

_FILTERS = [OpenApiParameter(name, str, many=True, description=text) for name, text in (
    ("status", "new, open, pending, resolved, closed (repeat for several)."),
    ("sentiment", "negative, neutral, positive."),
    ("platform", "Platform names."),
    ("language", "fr, en, other (detected language of a message)."),
    ("department", "Department ids, or none."),
    ("assignee", "User ids, me, or none."),
    ("topic", "Topic ids (a message has the topic)."),
)] + [
    OpenApiParameter("needs_review", str, enum=["yes", "no"]),
    OpenApiParameter("q", str, description='Text in the messages, @author, or "#12" for conversation 12.'),
    OpenApiParameter("date_from", str, description="YYYY-MM-DD (last message on or after)."),
    OpenApiParameter("date_to", str, description="YYYY-MM-DD (last message on or before)."),
]


@extend_schema(parameters=_FILTERS)
class ConversationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantScopedViewSet):
    model = Conversation
    ordering = "-last_message_at"
    action_permissions = {"list": _VIEW, "retrieve": _VIEW, "partial_update": _WORK, "bulk": _WORK}
    http_method_names = ["get", "patch", "post", "head", "options"]

    def get_serializer_class(self):
        return {"retrieve": ConversationDetailSerializer, "partial_update": ConversationUpdateSerializer,
                "bulk": BulkSerializer}.get(self.action, ConversationSerializer)

    def scoped_queryset(self):
        queryset = Conversation.objects.select_related("author")
        if self.action == "list":
            tid = self.tenant.pk
            form = InboxFilterForm(self.request.query_params, tenant_id=tid,
                                   members=get_user_model().objects.filter(memberships__tenant_id=tid),
                                   departments=Department.objects.filter(tenant_id=tid),
                                   topics=Topic.objects.filter(tenant_id=tid))
            if not form.is_valid():
                raise serializers.ValidationError(form.errors)
            queryset = form.apply(queryset, user_id=self.request.user.pk)
        if self.action == "retrieve":
            tid = self.tenant.pk
            queryset = queryset.prefetch_related(
                Prefetch("messages", Message.objects.filter(tenant_id=tid).select_related("mention")),
                Prefetch("notes", Note.objects.filter(tenant_id=tid)),
                Prefetch("events", ConversationEvent.objects.filter(tenant_id=tid)))
        return queryset

    @extend_schema(request=ConversationUpdateSerializer, responses=ConversationSerializer)
    def partial_update(self, request, *args, **kwargs):
        conversation = self.get_object()
        serializer = ConversationUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        conversation = actions.conversation_update(self.tenant.pk, actor=request.user, conversation_id=conversation.pk,
                                                   **serializer.changes())
        return Response(ConversationSerializer(conversation).data)

    @extend_schema(request=BulkSerializer, responses=BulkResultSerializer)
    @action(detail=False, methods=["post"])
    def bulk(self, request, *args, **kwargs):
        """Assign, close or tag several conversations (all or nothing)."""
        serializer = BulkSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        changed = actions.conversations_bulk(self.tenant.pk, actor=request.user,
                                             conversation_ids=data["conversation_ids"], operation=data["operation"],
                                             assignee_id=data.get("assignee"), tags=data.get("tags", []))
        return Response({"changed": changed})


class NoteViewSet(mixins.CreateModelMixin, TenantScopedViewSet):
    """Add an internal note; @handles notify members (see inbox.conversations.member_handles)."""

    serializer_class = NoteSerializer
    model = Note
    action_permissions = {"create": _WORK}

    def perform_create(self, serializer):
        conversation_id = serializer.validated_data["conversation_id"]
        if not Conversation.objects.filter(tenant_id=self.tenant.pk, pk=conversation_id).exists():
            raise serializers.ValidationError({"conversation": ["Unknown conversation."]})
        serializer.instance = actions.note_add(self.tenant.pk, actor=self.request.user,
                                               conversation_id=conversation_id,
                                               body=serializer.validated_data["body"])


class SavedViewViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                       mixins.UpdateModelMixin, mixins.DestroyModelMixin, TenantScopedViewSet):
    """One's own saved views, and (read-only) the views other members shared, as on the inbox
    page. Writes go to one's own views only: another's shared view is a 404 there."""

    serializer_class = SavedViewSerializer
    ordering = "name"
    action_permissions = {"list": _VIEW, "retrieve": _VIEW, "create": _WORK, "update": _WORK,
                          "partial_update": _WORK, "destroy": _WORK}

    def scoped_queryset(self):
        mine = Q(user_id=self.request.user.pk)
        return SavedView.objects.filter(mine | Q(is_shared=True) if self.action in ("list", "retrieve") else mine)

    def _save(self, serializer, view_id=None):
        data, instance = serializer.validated_data, serializer.instance
        serializer.instance = actions.saved_view_save(
            self.tenant.pk, actor=self.request.user, view_id=view_id,
            name=data.get("name", getattr(instance, "name", "")),
            filters=data.get("filters", getattr(instance, "filters", {})),
            is_shared=data.get("is_shared", getattr(instance, "is_shared", False)))

    def perform_create(self, serializer):
        self._save(serializer)

    def perform_update(self, serializer):
        self._save(serializer, serializer.instance.pk)

    def perform_destroy(self, instance):
        actions.saved_view_delete(self.tenant.pk, actor=self.request.user, view_id=instance.pk)


def register(router) -> None:
    router.register("conversations", ConversationViewSet, basename="api-conversations")
    router.register("notes", NoteViewSet, basename="api-notes")
    router.register("saved-views", SavedViewViewSet, basename="api-saved-views")
