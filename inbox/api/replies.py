"""Replies and canned answers API, thin viewsets over inbox/replies.py on TenantScopedViewSet.

- ``replies``: the brand's outbound messages (filter ``status``, ``conversation``), create one
  (published at once or sent for approval, as in the inbox), ``approve`` / ``reject`` / ``retry``.
- ``canned-answers``: the shared answers (read: INBOX_VIEW; write: CANNED_ANSWERS_MANAGE), and
  ``render`` for a conversation (its language, variables filled).
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from inbox import replies
from inbox.access import access_conversation
from inbox.models import CannedAnswer, DeliveryStatus, Message
from social_crm.tenancy.api import filters
from social_crm.tenancy.api.base import TenantScopedViewSet
from social_crm.tenancy.permissions import Action


class ReplySerializer(serializers.ModelSerializer):
    conversation = serializers.IntegerField(source="conversation_id", min_value=1)
    canned_answer = serializers.IntegerField(source="canned_answer_id", min_value=1, required=False, allow_null=True)
    language = serializers.ChoiceField(choices=["fr", "en", ""], required=False, default="")
    author_user = serializers.IntegerField(source="author_user_id", read_only=True)
    approved_by = serializers.IntegerField(source="approved_by_id", read_only=True)
    reply_to = serializers.IntegerField(source="reply_to_id", read_only=True)

    class Meta:
        model = Message
        fields = ["id", "conversation", "text", "canned_answer", "language", "delivery_status", "author_user",
                  "approved_by", "approved_at", "reply_to", "external_id", "error", "attempts", "created_at", "sent_at"]
        read_only_fields = ["id", "delivery_status", "author_user", "approved_by", "approved_at", "reply_to",
                            "external_id", "error", "attempts", "created_at", "sent_at"]
        extra_kwargs = {"text": {"required": True, "allow_blank": False, "max_length": 8000}}


class ApproveSerializer(serializers.Serializer):
    text = serializers.CharField(required=False, max_length=8000, help_text="Edited text to publish instead.")


class RejectSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000)


@extend_schema(parameters=[
    OpenApiParameter("status", str, enum=[s for s, _label in DeliveryStatus.choices]),
    OpenApiParameter("conversation", int, description="Conversation id."),
])
class ReplyViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, TenantScopedViewSet):
    serializer_class = ReplySerializer
    model = Message
    ordering = "-created_at"
    action_permissions = {"list": Action.INBOX_VIEW, "retrieve": Action.INBOX_VIEW, "create": Action.INBOX_REPLY,
                          "approve": Action.INBOX_REPLY_APPROVE, "reject": Action.INBOX_REPLY_APPROVE,
                          "retry": Action.INBOX_REPLY_PUBLISH}

    def scoped_queryset(self):
        queryset = Message.objects.filter(direction="out")
        params = getattr(self.request, "query_params", {})
        wanted = params.get("status", "")
        if wanted:
            if wanted not in DeliveryStatus.values:
                raise serializers.ValidationError({"status": [f"One of {', '.join(DeliveryStatus.values)}."]})
            queryset = queryset.filter(delivery_status=wanted)
        conversation = params.get("conversation", "")
        if conversation:
            if not conversation.isdigit():
                raise serializers.ValidationError({"conversation": ["A conversation id."]})
            queryset = queryset.filter(conversation_id=int(conversation))
        return queryset

    def perform_create(self, serializer):
        data = serializer.validated_data
        if not self._own_conversation(data["conversation_id"]):
            raise serializers.ValidationError({"conversation": ["Unknown conversation."]})
        serializer.instance = replies.reply_send(self.tenant.pk, actor=self.request.user,
                                                 conversation_id=data["conversation_id"], text=data["text"],
                                                 canned_answer_id=data.get("canned_answer_id"),
                                                 language=data.get("language", ""))

    def _own_conversation(self, conversation_id: int) -> bool:
        from inbox.models import Conversation

        return Conversation.objects.filter(tenant_id=self.tenant.pk, pk=conversation_id).exists()

    def _done(self, message: Message) -> Response:
        message.refresh_from_db()
        return Response(ReplySerializer(message, context=self.get_serializer_context()).data)

    @extend_schema(request=ApproveSerializer, responses=ReplySerializer)
    @action(detail=True, methods=["post"])
    def approve(self, request, *args, **kwargs):
        message = self.get_object()
        body = ApproveSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return self._done(replies.reply_approve(self.tenant.pk, actor=request.user, message_id=message.pk,
                                                text=body.validated_data.get("text")))

    @extend_schema(request=RejectSerializer, responses=ReplySerializer)
    @action(detail=True, methods=["post"])
    def reject(self, request, *args, **kwargs):
        message = self.get_object()
        body = RejectSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return self._done(replies.reply_reject(self.tenant.pk, actor=request.user, message_id=message.pk,
                                               reason=body.validated_data["reason"]))

    @extend_schema(request=None, responses=ReplySerializer)
    @action(detail=True, methods=["post"])
    def retry(self, request, *args, **kwargs):
        message = self.get_object()
        return self._done(replies.reply_retry(self.tenant.pk, actor=request.user, message_id=message.pk))


class CannedAnswerSerializer(serializers.ModelSerializer):
    class Meta:
        model = CannedAnswer
        fields = ["id", "name", "shortcut", "body_en", "body_fr", "updated_at"]
        read_only_fields = ["id", "updated_at"]


class RenderedSerializer(serializers.Serializer):
    text = serializers.CharField()
    language = serializers.CharField()
    missing = serializers.ListField(child=serializers.CharField())


class CannedAnswerViewSet(filters.FilteredListMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                          mixins.UpdateModelMixin, mixins.DestroyModelMixin, TenantScopedViewSet):
    serializer_class = CannedAnswerSerializer
    model = CannedAnswer
    ordering = "name"
    _manage = Action.CANNED_ANSWERS_MANAGE
    list_filters = [filters.QueryFilter("shortcut", "shortcut", description="The answer with this shortcut.")]
    action_permissions = {"list": Action.INBOX_VIEW, "retrieve": Action.INBOX_VIEW, "render": Action.INBOX_REPLY,
                          "create": _manage, "update": _manage, "partial_update": _manage, "destroy": _manage}

    def _save(self, serializer, answer_id=None):
        data, instance = serializer.validated_data, serializer.instance
        serializer.instance = replies.canned_save(
            self.tenant.pk, actor=self.request.user, answer_id=answer_id,
            **{f: data.get(f, getattr(instance, f, "")) for f in ("name", "shortcut", "body_en", "body_fr")})

    def perform_create(self, serializer):
        self._save(serializer)

    def perform_update(self, serializer):
        self._save(serializer, serializer.instance.pk)

    def perform_destroy(self, instance):
        replies.canned_delete(self.tenant.pk, actor=self.request.user, answer_id=instance.pk)

    @extend_schema(parameters=[OpenApiParameter("conversation", int, description=(
        "Render for this conversation: its language, its variables. Without it: the tenant's language, "
        "no variable filled."))], responses=RenderedSerializer)
    @action(detail=True, methods=["get"])
    def render(self, request, *args, **kwargs):
        answer = self.get_object()
        conversation_id = request.query_params.get("conversation", "")
        if conversation_id and not conversation_id.isdigit():
            raise serializers.ValidationError({"conversation": ["A conversation id."]})
        if conversation_id:
            conversation = access_conversation(self.tenant.pk, int(conversation_id))
            language = replies.conversation_language(self.tenant.pk, conversation)
            values = replies.variables_for(self.tenant.pk, conversation, request.user)
        else:
            language, values = self.tenant.default_language, {}
        text, used = replies.canned_render(answer, language, values)
        return Response({"text": text, "language": used, "missing": sorted(set(replies.PLACEHOLDER.findall(text)))},
                        status=status.HTTP_200_OK)


def register(router) -> None:
    router.register("replies", ReplyViewSet, basename="api-replies")
    router.register("canned-answers", CannedAnswerViewSet, basename="api-canned-answers")
