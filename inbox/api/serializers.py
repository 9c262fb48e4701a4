"""Inbox API serializers. Validation of tenant references (assignee, department, conversation
ids) is done by the actions, whose ValidationError becomes a 400 naming the field."""

from __future__ import annotations

from rest_framework import serializers

from inbox.conversations import BULK_OPERATIONS, MAX_BULK, MAX_TAGS
from inbox.models import Conversation, ConversationEvent, Message, Note, Priority, SavedView, Status
from listening.api.serializers import source_platform_field
from listening.models import Author


class AuthorSerializer(serializers.ModelSerializer):
    platform = source_platform_field()

    class Meta:
        model = Author
        fields = ["id", "platform", "handle", "name", "followers", "verified", "profile_url"]


class ConversationSerializer(serializers.ModelSerializer):
    author = AuthorSerializer(read_only=True)
    assignee = serializers.IntegerField(source="assignee_id", read_only=True, allow_null=True)
    department = serializers.IntegerField(source="department_id", read_only=True, allow_null=True)
    platform = source_platform_field()

    class Meta:
        model = Conversation
        fields = ["id", "number", "platform", "status", "priority", "assignee", "department", "tags", "preview",
                  "sentiment", "needs_review", "message_count", "author", "first_message_at", "last_message_at",
                  "first_response_at", "resolved_at"]
        read_only_fields = fields


class MessageSerializer(serializers.ModelSerializer):
    text = serializers.SerializerMethodField()
    sentiment = serializers.CharField(source="mention.sentiment", default="", read_only=True)
    url = serializers.CharField(source="mention.url", default="", read_only=True)

    class Meta:
        model = Message
        fields = ["id", "direction", "mention", "text", "sentiment", "url", "delivery_status", "created_at", "sent_at"]

    def get_text(self, message) -> str:
        return message.mention.text if message.direction == "in" and message.mention else message.text


class NoteSerializer(serializers.ModelSerializer):
    conversation = serializers.IntegerField(source="conversation_id", min_value=1)
    author_user = serializers.IntegerField(source="author_user_id", read_only=True)

    class Meta:
        model = Note
        fields = ["id", "conversation", "author_user", "body", "mentioned_user_ids", "created_at"]
        read_only_fields = ["id", "author_user", "mentioned_user_ids", "created_at"]


class EventSerializer(serializers.ModelSerializer):
    actor = serializers.IntegerField(source="actor_id", read_only=True, allow_null=True)
    rule = serializers.IntegerField(source="rule_id", read_only=True, allow_null=True)

    class Meta:
        model = ConversationEvent
        fields = ["id", "kind", "actor", "rule", "data", "created_at"]


class ConversationDetailSerializer(ConversationSerializer):
    messages = MessageSerializer(many=True, read_only=True)
    notes = NoteSerializer(many=True, read_only=True)
    events = EventSerializer(many=True, read_only=True)

    class Meta(ConversationSerializer.Meta):
        fields = ConversationSerializer.Meta.fields + ["messages", "notes", "events"]
        read_only_fields = fields


class ConversationUpdateSerializer(serializers.Serializer):
    """Any subset; ``assignee``/``department`` null clears them."""

    status = serializers.ChoiceField(choices=Status.choices, required=False)
    priority = serializers.ChoiceField(choices=Priority.choices, required=False)
    assignee = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    department = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    tags = serializers.ListField(child=serializers.CharField(max_length=40), required=False, max_length=MAX_TAGS)

    def changes(self) -> dict:
        names = {"assignee": "assignee_id", "department": "department_id"}
        return {names.get(k, k): v for k, v in self.validated_data.items()}


class BulkSerializer(serializers.Serializer):
    operation = serializers.ChoiceField(choices=BULK_OPERATIONS)
    conversation_ids = serializers.ListField(child=serializers.IntegerField(min_value=1), min_length=1,
                                             max_length=MAX_BULK)
    assignee = serializers.IntegerField(required=False, allow_null=True, min_value=1,
                                        help_text="For assign: a member's user id; null unassigns.")
    tags = serializers.ListField(child=serializers.CharField(max_length=40), required=False, max_length=MAX_TAGS,
                                 help_text="For tag: tags added to each conversation.")


class BulkResultSerializer(serializers.Serializer):
    changed = serializers.IntegerField()


class SavedViewSerializer(serializers.ModelSerializer):
    is_mine = serializers.SerializerMethodField(help_text="False for a view another member shared: read-only here.")
    filters = serializers.DictField(child=serializers.ListField(child=serializers.CharField(max_length=200)),
                                    help_text='The inbox filters, e.g. {"status": ["open"], "assignee": ["me"]}.')

    class Meta:
        model = SavedView
        fields = ["id", "name", "filters", "is_shared", "is_mine", "created_at"]
        read_only_fields = ["id", "is_mine", "created_at"]
        validators = []

    def get_is_mine(self, obj) -> bool:
        request = self.context.get("request")
        return request is not None and obj.user_id == request.user.pk
