from __future__ import annotations

from rest_framework import serializers

from listening.models import ConnectedAccount, ListeningQuery, Mention, Platform, QuarantinedPayload, QueryKind

PLATFORM_SLUG = r"^[a-z0-9][a-z0-9_-]{0,19}$"
POLLED_PLATFORM_CHOICES = [c for c in Platform.choices if c[0] != Platform.API]


def source_platform_field() -> serializers.CharField:
    """The platform of a stored mention, author, identity or conversation, as answered: the ingest
    API stores any source slug (``PLATFORM_SLUG``: 'reviews', 'instagram'...), so the answer is a
    string, not the enum of the platforms we poll (which a schema check rightly failed on)."""
    return serializers.CharField(read_only=True, help_text="Source slug: x, facebook, mastodon, bluesky, rss, "
                                                           "replay, api, or the ingest API's own (e.g. 'reviews').")


class ListeningQuerySerializer(serializers.ModelSerializer):
    languages = serializers.ListField(child=serializers.ChoiceField(choices=["fr", "en"]), required=False)
    platforms = serializers.ListField(child=serializers.ChoiceField(choices=Platform.choices), required=False)
    kind = serializers.ChoiceField(choices=QueryKind.choices, required=False)

    class Meta:
        model = ListeningQuery
        fields = ["id", "name", "kind", "expression", "languages", "platforms", "is_active", "created_at", "updated_at"]
        read_only_fields = ["id", "created_at", "updated_at"]
        validators = []


class ConnectedAccountSerializer(serializers.ModelSerializer):
    credentials = serializers.JSONField(write_only=True, required=False, help_text="Write-only; stored encrypted.")
    platform = serializers.ChoiceField(choices=POLLED_PLATFORM_CHOICES)

    class Meta:
        model = ConnectedAccount
        fields = ["id", "platform", "name", "external_id", "handle", "base_url", "credentials", "is_own", "is_active",
                  "status", "status_changed_at", "last_success_at", "last_error_at", "last_error", "rate_limited_until"]
        read_only_fields = ["id", "status", "status_changed_at", "last_success_at", "last_error_at", "last_error",
                            "rate_limited_until"]
        validators = []

    def validate_credentials(self, value):
        if value in (None, ""):
            return {}
        if not isinstance(value, dict):
            raise serializers.ValidationError("Must be a JSON object.")
        return value


class AuthorOutSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    platform_user_id = serializers.CharField()
    handle = serializers.CharField()
    name = serializers.CharField()
    followers = serializers.IntegerField(allow_null=True)
    verified = serializers.BooleanField()
    profile_url = serializers.CharField()


class MentionTopicOutSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="topic_id")
    name = serializers.CharField(source="topic.name")
    source = serializers.CharField(help_text="rule, example (similar to an example mention) or human")
    score = serializers.FloatField(allow_null=True)


class MentionSerializer(serializers.ModelSerializer):
    platform = source_platform_field()
    author = AuthorOutSerializer(read_only=True, allow_null=True)
    matched_queries = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    topics = MentionTopicOutSerializer(source="mentiontopic_set", many=True, read_only=True)

    class Meta:
        model = Mention
        fields = ["id", "platform", "external_id", "text", "language", "url", "created_at", "stored_at", "author",
                  "like_count", "share_count", "reply_count", "view_count", "parent_external_id",
                  "conversation_external_id", "is_own", "is_repost", "is_edited", "is_deleted", "matched_queries",
                  "detected_language", "sentiment", "sentiment_confidence", "sentiment_scores", "sentiment_source",
                  "nlp_model_version", "needs_review", "review_reasons", "tagged_at", "topics", "entities"]
        extra_kwargs = {
            "detected_language": {"help_text": "fr, en or other (the NLP stage); empty until tagged"},
            "sentiment_source": {"help_text": "model, or human once a person corrected it"},
            "review_reasons": {"help_text": "Why a person should check: low_confidence, irony"},
        }


class QuarantinedSerializer(serializers.ModelSerializer):
    class Meta:
        model = QuarantinedPayload
        fields = ["id", "platform", "account", "source", "payload", "reason", "created_at", "replayed_at", "replay_error"]


class IngestAuthorSerializer(serializers.Serializer):
    id = serializers.CharField(max_length=200, help_text="The author's id on the source platform.")
    handle = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    name = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")
    followers = serializers.IntegerField(min_value=0, required=False, allow_null=True, default=None)
    verified = serializers.BooleanField(required=False, default=False)
    profile_url = serializers.URLField(max_length=500, required=False, allow_blank=True, default="")


class IngestMentionSerializer(serializers.Serializer):
    platform = serializers.RegexField(PLATFORM_SLUG, help_text="Source slug, e.g. 'api', 'reviews', 'instagram'.")
    external_id = serializers.CharField(max_length=200)
    text = serializers.CharField(max_length=40000, allow_blank=True)
    created_at = serializers.DateTimeField()
    url = serializers.URLField(max_length=1000, required=False, allow_blank=True, default="")
    language = serializers.CharField(max_length=8, required=False, allow_blank=True, default="")
    author = IngestAuthorSerializer(required=False, allow_null=True, default=None)
    like_count = serializers.IntegerField(min_value=0, required=False, allow_null=True, default=None)
    share_count = serializers.IntegerField(min_value=0, required=False, allow_null=True, default=None)
    reply_count = serializers.IntegerField(min_value=0, required=False, allow_null=True, default=None)
    view_count = serializers.IntegerField(min_value=0, required=False, allow_null=True, default=None)
    parent_external_id = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    conversation_external_id = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    is_repost = serializers.BooleanField(required=False, default=False)
    raw = serializers.DictField(required=False, default=dict)


class IngestBatchSerializer(serializers.Serializer):
    mentions = IngestMentionSerializer(many=True, allow_empty=False, max_length=1000)


class IngestResultSerializer(serializers.Serializer):
    received = serializers.IntegerField()
    inserted = serializers.IntegerField()
    updated = serializers.IntegerField()
    quarantined = serializers.IntegerField()


class AnalyzeRequestSerializer(serializers.Serializer):
    texts = serializers.ListField(child=serializers.CharField(max_length=10000, allow_blank=True, trim_whitespace=False),
                                  allow_empty=False, max_length=100,
                                  help_text="Up to 100 texts; larger batches go through the pipeline, not a request.")
    lang = serializers.ChoiceField(choices=["fr", "en"], required=False, help_text="Skip language detection.")


class AnalysisTopicSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    source = serializers.ChoiceField(choices=["rule", "example"])
    score = serializers.FloatField()


class AnalysisSerializer(serializers.Serializer):
    language = serializers.CharField()
    label = serializers.ChoiceField(choices=["negative", "neutral", "positive"])
    confidence = serializers.FloatField()
    probabilities = serializers.DictField(child=serializers.FloatField())
    model_version = serializers.CharField(help_text="The tenant's own model when it has an active one, else the shared one.")
    irony = serializers.ListField(child=serializers.CharField(), help_text="Irony cues found (names).")
    needs_review = serializers.BooleanField()
    review_reasons = serializers.ListField(child=serializers.CharField(), help_text="low_confidence, irony")
    topics = AnalysisTopicSerializer(many=True)
    entities = serializers.ListField(child=serializers.DictField())


class PreviewMentionSerializer(serializers.Serializer):
    """A mention in short, as previews and dry runs (topics, routing rules) list them."""

    id = serializers.IntegerField()
    platform = serializers.CharField()
    text = serializers.CharField()
    created_at = serializers.DateTimeField()
