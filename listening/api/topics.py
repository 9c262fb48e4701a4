"""API: topics and entity terms, thin viewsets over listening.nlp.topic_actions.

Reading needs LISTENING_VIEW, changing (and previewing a rule set) NLP_MANAGE. An action's
ValidationError is a 400 with field errors (social_crm.tenancy.api.errors), e.g. a keyword
line that cannot be read or an example mention id of another tenant."""

from __future__ import annotations

from django.db.models import Prefetch
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers
from rest_framework.decorators import action
from rest_framework.response import Response

from listening.models import EntityKind, EntityTerm, Topic, TopicExample
from listening.nlp import topic_actions
from social_crm.tenancy.api.base import TenantScopedViewSet

from .serializers import PreviewMentionSerializer
from social_crm.tenancy.permissions import Action

_VIEW, _MANAGE = Action.LISTENING_VIEW, Action.NLP_MANAGE
_CRUD = {"list": _VIEW, "retrieve": _VIEW, "create": _MANAGE, "update": _MANAGE, "partial_update": _MANAGE,
         "destroy": _MANAGE}

_KEYWORDS_HELP = ('One term per line: a word (matches its lemma too), "a phrase", prefix*, #hashtag, -excluded. '
                  "See listening/nlp/topics.py.")


class TopicSerializer(serializers.ModelSerializer):
    keywords = serializers.ListField(child=serializers.CharField(max_length=200, allow_blank=True), required=False,
                                     max_length=500, help_text=_KEYWORDS_HELP)
    example_mention_ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1), required=False, max_length=500,
        help_text="The mentions that are positive examples of the topic; when given, they replace the current ones.")
    example_count = serializers.SerializerMethodField()

    class Meta:
        model = Topic
        fields = ["id", "name", "keywords", "description", "is_active", "example_mention_ids", "example_count",
                  "created_at", "updated_at"]
        read_only_fields = ["id", "created_at", "updated_at"]
        validators = []

    @staticmethod
    def _positives(instance) -> list[TopicExample]:
        """Prefetched by the viewset's list (no query per topic), else read here."""
        if not hasattr(instance, "positive_examples"):
            instance.positive_examples = list(TopicExample.objects.filter(
                tenant_id=instance.tenant_id, topic=instance, is_positive=True))
        return instance.positive_examples

    def to_representation(self, instance):
        data = super().to_representation(instance)
        data["example_mention_ids"] = sorted(e.mention_id for e in self._positives(instance) if e.mention_id)
        return data

    def get_example_count(self, instance) -> int:
        return len(self._positives(instance))


class TopicPreviewSerializer(serializers.Serializer):
    keywords = serializers.ListField(child=serializers.CharField(max_length=200, allow_blank=True), required=False,
                                     default=list, max_length=500, help_text=_KEYWORDS_HELP)
    example_mention_ids = serializers.ListField(child=serializers.IntegerField(min_value=1), required=False,
                                                default=list, max_length=500)
    negative_mention_ids = serializers.ListField(child=serializers.IntegerField(min_value=1), required=False,
                                                 default=list, max_length=500)
    last_n = serializers.ChoiceField(choices=topic_actions.PREVIEW_SIZES, required=False, default=200)


class PreviewHitSerializer(serializers.Serializer):
    mention = PreviewMentionSerializer()
    source = serializers.ChoiceField(choices=["rule", "example"])
    score = serializers.FloatField()


class PreviewResultSerializer(serializers.Serializer):
    scanned = serializers.IntegerField()
    matched = PreviewHitSerializer(many=True)


class EntityTermSerializer(serializers.ModelSerializer):
    kind = serializers.ChoiceField(choices=EntityKind.choices)
    patterns = serializers.ListField(child=serializers.CharField(max_length=120, allow_blank=True), required=False,
                                     max_length=100, help_text="Other spellings; case and accents are ignored.")

    class Meta:
        model = EntityTerm
        fields = ["id", "kind", "name", "patterns", "is_active", "created_at", "updated_at"]
        read_only_fields = ["id", "created_at", "updated_at"]
        validators = []


class _Crud(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, mixins.UpdateModelMixin,
            mixins.DestroyModelMixin, TenantScopedViewSet):
    action_permissions = _CRUD

    def _value(self, serializer, name: str, default):
        """The field from the request, else (partial update) the stored one."""
        data = serializer.validated_data
        return data[name] if name in data else getattr(serializer.instance, name, default)

    def _save(self, serializer, object_id=None):
        raise NotImplementedError

    def _delete(self, object_id: int) -> None:
        raise NotImplementedError

    def perform_create(self, serializer):
        self._save(serializer)

    def perform_update(self, serializer):
        self._save(serializer, serializer.instance.pk)

    def perform_destroy(self, instance):
        self._delete(instance.pk)


class TopicViewSet(_Crud):
    serializer_class = TopicSerializer
    model = Topic
    ordering = "name"
    action_permissions = {**_CRUD, "preview": _MANAGE}

    def scoped_queryset(self):
        positives = TopicExample.objects.filter(is_positive=True).only("id", "topic_id", "mention_id")
        return Topic.objects.prefetch_related(Prefetch("examples", queryset=positives, to_attr="positive_examples"))

    def _save(self, serializer, object_id=None):
        data = serializer.validated_data
        serializer.instance = topic_actions.topic_save(
            self.tenant.pk, actor=self.request.user, topic_id=object_id, name=self._value(serializer, "name", ""),
            keywords=self._value(serializer, "keywords", []), description=self._value(serializer, "description", ""),
            is_active=self._value(serializer, "is_active", True),
            example_mention_ids=data.get("example_mention_ids", ()),
            replace_examples="example_mention_ids" in data)

    def _delete(self, object_id: int) -> None:
        topic_actions.topic_delete(self.tenant.pk, actor=self.request.user, topic_id=object_id)

    @extend_schema(request=TopicPreviewSerializer, responses=PreviewResultSerializer)
    @action(detail=False, methods=["post"])
    def preview(self, request, tenant_slug=None):
        """Which of the last ``last_n`` mentions a rule set would tag; nothing is saved."""
        serializer = TopicPreviewSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        matched, scanned = topic_actions.preview_topic(
            self.tenant.pk, keywords=data["keywords"], example_mention_ids=data["example_mention_ids"],
            negative_mention_ids=data["negative_mention_ids"], last_n=int(data["last_n"]))
        return Response(PreviewResultSerializer({"scanned": scanned, "matched": [
            {"mention": mention, "source": hit.source, "score": hit.score} for mention, hit in matched]}).data)


class EntityTermViewSet(_Crud):
    serializer_class = EntityTermSerializer
    model = EntityTerm
    ordering = "name"

    def _save(self, serializer, object_id=None):
        serializer.instance = topic_actions.entity_term_save(
            self.tenant.pk, actor=self.request.user, term_id=object_id, kind=self._value(serializer, "kind", ""),
            name=self._value(serializer, "name", ""), patterns=self._value(serializer, "patterns", []),
            is_active=self._value(serializer, "is_active", True))

    def _delete(self, object_id: int) -> None:
        topic_actions.entity_term_delete(self.tenant.pk, actor=self.request.user, term_id=object_id)


def register(router) -> None:
    """Register this module's viewsets on the tenant router (listening/api/urls.py)."""
    router.register("topics", TopicViewSet, basename="api-topics")
    router.register("entity-terms", EntityTermViewSet, basename="api-entity-terms")
