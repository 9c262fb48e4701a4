"""Listening API: thin viewsets over listening.actions, all on TenantScopedViewSet."""

from __future__ import annotations

from collections import defaultdict

from django.conf import settings
from django.db.models import Prefetch

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.response import Response

from listening import actions
from listening.connectors.base import AuthorData, MentionData, Page
from listening.ingest import ingest_page
from listening.models import ConnectedAccount, ListeningQuery, Mention, MentionTopic, Platform, QuarantinedPayload
from social_crm.tenancy.api import filters
from social_crm.tenancy.api.base import TenantScopedViewSet
from social_crm.tenancy.permissions import Action

from .serializers import (
    AnalysisSerializer,
    AnalyzeRequestSerializer,
    ConnectedAccountSerializer,
    IngestBatchSerializer,
    IngestResultSerializer,
    ListeningQuerySerializer,
    MentionSerializer,
    QuarantinedSerializer,
)

_VIEW, _MANAGE = Action.LISTENING_VIEW, Action.LISTENING_MANAGE
_CRUD = {"list": _VIEW, "retrieve": _VIEW, "create": _MANAGE, "update": _MANAGE, "partial_update": _MANAGE, "destroy": _MANAGE}


class _Crud(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, mixins.UpdateModelMixin,
            mixins.DestroyModelMixin, TenantScopedViewSet):
    action_permissions = _CRUD


class ListeningQueryViewSet(_Crud):
    serializer_class = ListeningQuerySerializer
    model = ListeningQuery
    ordering = "name"

    def _save(self, serializer, query_id=None):
        data, instance = serializer.validated_data, serializer.instance

        def value(name, default):
            return data[name] if name in data else getattr(instance, name, default)

        query = actions.query_save(
            self.tenant.pk, actor=self.request.user, query_id=query_id, name=value("name", ""), kind=value("kind", "brand"),
            expression=value("expression", ""), languages=value("languages", []), platforms=value("platforms", []),
            is_active=value("is_active", True))
        serializer.instance = query

    def perform_create(self, serializer):
        self._save(serializer)

    def perform_update(self, serializer):
        self._save(serializer, serializer.instance.pk)

    def perform_destroy(self, instance):
        actions.query_delete(self.tenant.pk, actor=self.request.user, query_id=instance.pk)


class ConnectedAccountViewSet(_Crud):
    serializer_class = ConnectedAccountSerializer
    model = ConnectedAccount
    ordering = "name"

    def _save(self, serializer, account_id=None):
        data, instance = serializer.validated_data, serializer.instance

        def value(name, default):
            return data[name] if name in data else getattr(instance, name, default)

        serializer.instance = actions.account_save(
            self.tenant.pk, actor=self.request.user, account_id=account_id, platform=value("platform", ""),
            name=value("name", ""), external_id=value("external_id", ""), handle=value("handle", ""),
            base_url=value("base_url", ""), credentials=data.get("credentials") or None,
            is_own=value("is_own", True), is_active=value("is_active", True))

    def perform_create(self, serializer):
        self._save(serializer)

    def perform_update(self, serializer):
        self._save(serializer, serializer.instance.pk)

    def perform_destroy(self, instance):
        actions.account_delete(self.tenant.pk, actor=self.request.user, account_id=instance.pk)


@extend_schema(parameters=[
    OpenApiParameter("platform", str, description="Only this platform."),
    OpenApiParameter("query", int, description="Only mentions matching this listening query id."),
    OpenApiParameter("topic", int, description="Only mentions with this topic id."),
    OpenApiParameter("sentiment", str, enum=["negative", "neutral", "positive"], description="Only this sentiment."),
    OpenApiParameter("language", str, enum=["fr", "en", "other"], description="Only this detected language."),
    OpenApiParameter("needs_review", bool, description="Only mentions flagged (true) or not flagged (false) for review."),
])
class MentionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantScopedViewSet):
    serializer_class = MentionSerializer
    ordering = "-id"
    action_permissions = {"list": _VIEW, "retrieve": _VIEW, "ingest": Action.MENTIONS_INGEST}

    def scoped_queryset(self):
        queryset = Mention.objects.select_related("author").prefetch_related(
            "matched_queries", Prefetch("mentiontopic_set", MentionTopic.objects.select_related("topic")))
        params = self.request.query_params
        if params.get("platform"):
            queryset = queryset.filter(platform=params["platform"])
        if params.get("query", "").isdigit():
            queryset = queryset.filter(mentionmatch__query_id=int(params["query"]))
        if params.get("topic", "").isdigit():
            queryset = queryset.filter(mentiontopic__topic_id=int(params["topic"]))
        if params.get("sentiment") in ("negative", "neutral", "positive"):
            queryset = queryset.filter(sentiment=params["sentiment"])
        if params.get("language") in ("fr", "en", "other"):
            queryset = queryset.filter(detected_language=params["language"])
        if params.get("needs_review") in ("true", "false"):
            queryset = queryset.filter(needs_review=params["needs_review"] == "true")
        return queryset

    @extend_schema(request=IngestBatchSerializer, responses={201: IngestResultSerializer})
    @action(detail=False, methods=["post"], url_path="ingest")
    def ingest(self, request, tenant_slug=None):
        """Store a batch of mentions from any source. Idempotent on (platform, external_id):
        sending the same batch twice stores it once (the second call counts them as updated)."""
        serializer = IngestBatchSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        by_platform: dict[str, list[MentionData]] = defaultdict(list)
        for item in serializer.validated_data["mentions"]:
            author = item["author"]
            by_platform[item["platform"]].append(MentionData(
                external_id=item["external_id"], text=item["text"], created_at=item["created_at"], url=item["url"],
                language=item["language"], like_count=item["like_count"], share_count=item["share_count"],
                reply_count=item["reply_count"], view_count=item["view_count"],
                parent_external_id=item["parent_external_id"], conversation_external_id=item["conversation_external_id"],
                is_repost=item["is_repost"], raw=item["raw"] or {"source": "ingest_api"},
                author=AuthorData(platform_user_id=author["id"], handle=author["handle"], name=author["name"],
                                  followers=author["followers"], verified=author["verified"],
                                  profile_url=author["profile_url"]) if author else None,
            ))
        totals = {"received": 0, "inserted": 0, "updated": 0, "quarantined": 0}
        for platform, mentions in sorted(by_platform.items()):
            result = ingest_page(self.tenant.pk, platform=platform, page=Page(mentions=mentions), source="ingest_api")
            for key in totals:
                totals[key] += getattr(result, key)
        return Response(totals, status=status.HTTP_201_CREATED)


class QuarantineViewSet(filters.FilteredListMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                        TenantScopedViewSet):
    serializer_class = QuarantinedSerializer
    model = QuarantinedPayload
    ordering = "-created_at"
    action_permissions = {"list": _VIEW, "retrieve": _VIEW, "replay": _MANAGE}
    list_filters = [
        filters.QueryFilter("platform", "platform", choices=tuple(Platform.values), description="Only this platform."),
        filters.QueryFilter("replayed", "replayed_at__isnull", bool, inverted=True,
                            description="false: still quarantined; true: replayed and stored."),
    ]

    @extend_schema(request=None, responses=QuarantinedSerializer)
    @action(detail=True, methods=["post"])
    def replay(self, request, tenant_slug=None, pk=None):
        item = self.get_object()
        item = actions.quarantine_replay(self.tenant.pk, actor=request.user, item_id=item.pk)
        return Response(QuarantinedSerializer(item).data)


class NlpViewSet(TenantScopedViewSet):
    """Sentiment and language of a few texts, with the tenant's current model."""

    action_permissions = {"analyze": Action.LISTENING_VIEW}
    serializer_class = AnalyzeRequestSerializer
    pagination_class = None  # the answer is one list, one item per text given (the schema said "paginated")

    @extend_schema(request=AnalyzeRequestSerializer, responses={200: AnalysisSerializer(many=True), 503: None})
    @action(detail=False, methods=["post"])
    def analyze(self, request, tenant_slug=None):
        """The NLP stage on a few texts, with the tenant's models, topics and entity terms."""
        from listening.models import Topic
        from listening.nlp.review import review_reasons
        from listening.nlp.sentiment import ModelUnavailableError
        from listening.nlp.stage import analyze_for_tenant

        serializer = AnalyzeRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        texts = data["texts"]
        try:
            analyses = analyze_for_tenant(self.tenant.pk, texts,
                                          languages=[data["lang"]] * len(texts) if data.get("lang") else None)
        except ModelUnavailableError as exc:
            return Response({"detail": f"No sentiment model is available: {exc}"}, status=status.HTTP_503_SERVICE_UNAVAILABLE)
        names = dict(Topic.objects.filter(tenant_id=self.tenant.pk).values_list("pk", "name"))
        threshold = settings.NLP_REVIEW_CONFIDENCE
        out = []
        for a in analyses:
            reasons = review_reasons(a.confidence, a.irony, threshold)
            out.append({**a.prediction().as_dict(), "irony": a.irony, "needs_review": bool(reasons),
                        "review_reasons": reasons, "entities": a.entities,
                        "topics": [{"id": h.topic_id, "name": names.get(h.topic_id, ""), "source": h.source,
                                    "score": h.score} for h in a.topics]})
        return Response(out)
