"""API: sentiment/topic corrections and the tenant's sentiment models.

* ``POST corrections/`` {"mention": id, "sentiment": "negative", "topics_add": [ids],
  "topics_remove": [ids]} (at least one of the three): the same actions as the stream's buttons;
  answers the corrected mention. Another tenant's mention or topic is a 400 on that field.
* ``sentiment-models/``: list and detail (metrics, progress; never the artefact), ``activate``
  (rollback included), ``retrain`` {"language"} and ``use-shared`` {"language"}.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Prefetch
from django.db.models.functions import Length
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from listening.models import Mention, MentionTopic, Sentiment, TenantSentimentModel, Topic
from listening.nlp import corrections, tenant_models
from social_crm.tenancy.api.base import TenantScopedViewSet
from social_crm.tenancy.permissions import Action

from .serializers import MentionSerializer


class _TenantPk(serializers.PrimaryKeyRelatedField):
    """A primary key that must name a row of the request's tenant (else: "does not exist")."""

    def get_queryset(self):
        return self.queryset.filter(tenant_id=self.context["tenant"].pk)


class CorrectionSerializer(serializers.Serializer):
    mention = _TenantPk(queryset=Mention.objects.all())
    sentiment = serializers.ChoiceField(choices=Sentiment.choices, required=False)
    topics_add = serializers.ListField(child=_TenantPk(queryset=Topic.objects.all()), required=False)
    topics_remove = serializers.ListField(child=_TenantPk(queryset=Topic.objects.all()), required=False)

    def validate(self, attrs):
        if not ({"sentiment", "topics_add", "topics_remove"} & set(attrs)):
            raise serializers.ValidationError("Give a sentiment, topics_add or topics_remove.")
        overlap = {t.pk for t in attrs.get("topics_add", [])} & {t.pk for t in attrs.get("topics_remove", [])}
        if overlap:
            raise serializers.ValidationError({"topics_remove": f"Also in topics_add: {sorted(overlap)}."})
        return attrs


class SentimentModelSerializer(serializers.ModelSerializer):
    has_artefact = serializers.SerializerMethodField(help_text="False once the file was pruned: it cannot be activated.")
    requested_by = serializers.SlugRelatedField(slug_field="email", read_only=True, allow_null=True,
                                                help_text="Who asked for the training; null for automatic ones.")

    class Meta:
        model = TenantSentimentModel
        fields = ["id", "language", "version", "status", "metrics", "n_labels", "progress", "progress_message", "error",
                  "requested_by", "created_at", "finished_at", "activated_at", "has_artefact"]
        read_only_fields = fields

    def get_has_artefact(self, obj) -> bool:
        return bool(getattr(obj, "artefact_size", 0))


class LanguageSerializer(serializers.Serializer):
    language = serializers.ChoiceField(choices=tenant_models.LANGUAGES)


def _django_errors(exc: DjangoValidationError) -> ValidationError:
    return ValidationError(exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages})


class MentionCorrectionViewSet(TenantScopedViewSet):
    serializer_class = CorrectionSerializer
    action_permissions = {"create": Action.MENTIONS_CORRECT}

    @extend_schema(request=CorrectionSerializer, responses={200: MentionSerializer})
    def create(self, request, tenant_slug=None):
        """Correct a mention's sentiment and/or topics. Idempotent: the same correction twice
        leaves the same state (one labelled example per mention)."""
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data, tenant_id = serializer.validated_data, self.tenant.pk
        mention_id = data["mention"].pk
        try:
            if "sentiment" in data:
                corrections.correct_sentiment(tenant_id, actor=request.user, mention_id=mention_id, label=data["sentiment"])
            for topics, present in ((data.get("topics_add", []), True), (data.get("topics_remove", []), False)):
                for topic in topics:
                    from listening.nlp.topic_actions import set_mention_topic

                    set_mention_topic(tenant_id, actor=request.user, mention_id=mention_id, topic_id=topic.pk,
                                      present=present)
        except DjangoValidationError as exc:
            raise _django_errors(exc) from exc
        mention = (Mention.objects.filter(tenant_id=tenant_id, pk=mention_id).select_related("author")
                   .prefetch_related("matched_queries",
                                     Prefetch("mentiontopic_set", MentionTopic.objects.select_related("topic"))).get())
        return Response(MentionSerializer(mention).data)


class SentimentModelViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantScopedViewSet):
    serializer_class = SentimentModelSerializer
    model = TenantSentimentModel
    action_permissions = {"list": Action.NLP_MANAGE, "retrieve": Action.NLP_MANAGE, "activate": Action.NLP_MANAGE,
                          "retrain": Action.NLP_MANAGE, "use_shared": Action.NLP_MANAGE}

    def scoped_queryset(self):
        return (TenantSentimentModel.objects.defer("artefact").annotate(artefact_size=Length("artefact"))
                .select_related("requested_by").order_by("-created_at", "-id"))

    @extend_schema(request=None, responses=SentimentModelSerializer)
    @action(detail=True, methods=["post"])
    def activate(self, request, tenant_slug=None, pk=None):
        """Use this retired or rejected model for its language (a rollback). Idempotent."""
        model = self.get_object()
        try:
            tenant_models.activate(self.tenant.pk, actor=request.user, model_id=model.pk)
        except DjangoValidationError as exc:
            raise _django_errors(exc) from exc
        return Response(self.get_serializer(self.get_queryset().get(pk=model.pk)).data)

    @extend_schema(request=LanguageSerializer, responses={201: SentimentModelSerializer})
    @action(detail=False, methods=["post"])
    def retrain(self, request, tenant_slug=None):
        """Queue a training for the language (or return the one already queued or training)."""
        serializer = LanguageSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        model = tenant_models.start_training(self.tenant.pk, actor=request.user,
                                             language=serializer.validated_data["language"])
        return Response(self.get_serializer(self.get_queryset().get(pk=model.pk)).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=LanguageSerializer, responses={200: LanguageSerializer})
    @action(detail=False, methods=["post"], url_path="use-shared")
    def use_shared(self, request, tenant_slug=None):
        """Go back to the shared model for the language. Idempotent."""
        serializer = LanguageSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        language = serializer.validated_data["language"]
        tenant_models.use_shared(self.tenant.pk, actor=request.user, language=language)
        return Response({"language": language})


def register(router) -> None:
    """Register this module's viewsets on the tenant router (listening/api/urls.py)."""
    router.register("corrections", MentionCorrectionViewSet, basename="api-mention-corrections")
    router.register("sentiment-models", SentimentModelViewSet, basename="api-sentiment-models")
