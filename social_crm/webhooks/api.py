"""Webhook API: endpoints (secret shown once), the delivery log with filters, replay. Thin
viewsets over social_crm.webhooks.actions, on TenantScopedViewSet (tenant admins:
``webhooks.manage``)."""

from __future__ import annotations

import uuid

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from social_crm.tenancy.api.base import TenantScopedViewSet
from social_crm.tenancy.permissions import Action

from . import actions
from .models import SUBSCRIBABLE, DeliveryStatus, EventType, WebhookDelivery, WebhookEndpoint, WebhookEvent
from .selectors import filter_deliveries

_MANAGE = Action.WEBHOOKS_MANAGE


class WebhookEndpointSerializer(serializers.ModelSerializer):
    events = serializers.ListField(child=serializers.ChoiceField(choices=SUBSCRIBABLE), allow_empty=False,
                                   help_text="Event types to receive.")
    url = serializers.URLField(max_length=500, help_text="A public http(s) URL.")

    class Meta:
        model = WebhookEndpoint
        fields = ["id", "url", "description", "events", "is_active", "secret_hint", "failure_streak", "disabled_at",
                  "disabled_reason", "created_at", "updated_at"]
        read_only_fields = ["id", "secret_hint", "failure_streak", "disabled_at", "disabled_reason", "created_at",
                            "updated_at"]


class WebhookEndpointCreatedSerializer(WebhookEndpointSerializer):
    secret = serializers.CharField(read_only=True, help_text="The signing secret: shown this once only.")

    class Meta(WebhookEndpointSerializer.Meta):
        fields = [*WebhookEndpointSerializer.Meta.fields, "secret"]


class WebhookEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = WebhookEvent
        fields = ["event_id", "type", "data", "created_at"]


class WebhookDeliverySerializer(serializers.ModelSerializer):
    event = WebhookEventSerializer(read_only=True)
    history = serializers.JSONField(read_only=True, help_text="One entry per attempt: attempt, at, code, ms, error.")

    class Meta:
        model = WebhookDelivery
        fields = ["id", "endpoint", "event", "replay_of", "status", "attempts", "next_attempt_at", "response_code",
                  "response_excerpt", "duration_ms", "last_error", "history", "created_at", "updated_at",
                  "delivered_at"]
        read_only_fields = fields


class WebhookEndpointViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                             mixins.UpdateModelMixin, mixins.DestroyModelMixin, TenantScopedViewSet):
    serializer_class = WebhookEndpointSerializer
    model = WebhookEndpoint
    ordering = "-created_at"
    action_permissions = {name: _MANAGE for name in (
        "list", "retrieve", "create", "update", "partial_update", "destroy", "rotate_secret", "ping")}

    @extend_schema(request=WebhookEndpointSerializer, responses={201: WebhookEndpointCreatedSerializer})
    def create(self, request, tenant_slug=None):
        serializer = WebhookEndpointSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        endpoint, raw = actions.endpoint_create(self.tenant.pk, actor=request.user, url=data["url"],
                                                events=data["events"], description=data.get("description", ""),
                                                is_active=data.get("is_active", True))
        endpoint.secret = raw
        return Response(WebhookEndpointCreatedSerializer(endpoint).data, status=status.HTTP_201_CREATED)

    def perform_update(self, serializer):
        data, instance = serializer.validated_data, serializer.instance
        serializer.instance = actions.endpoint_update(
            self.tenant.pk, actor=self.request.user, endpoint_id=instance.pk, url=data.get("url", instance.url),
            events=data.get("events", instance.events), description=data.get("description", instance.description),
            is_active=data.get("is_active", instance.is_active))

    def perform_destroy(self, instance):
        actions.endpoint_delete(self.tenant.pk, actor=self.request.user, endpoint_id=instance.pk)

    @extend_schema(request=None, responses={200: WebhookEndpointCreatedSerializer})
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request, tenant_slug=None, pk=None):
        """A new signing secret, shown this once; the old one stops signing at once."""
        endpoint, raw = actions.endpoint_rotate_secret(self.tenant.pk, actor=request.user,
                                                       endpoint_id=self.get_object().pk)
        endpoint.secret = raw
        return Response(WebhookEndpointCreatedSerializer(endpoint).data)

    @extend_schema(request=None, responses={201: WebhookDeliverySerializer})
    @action(detail=True, methods=["post"])
    def ping(self, request, tenant_slug=None, pk=None):
        """Send a ``ping`` event to this endpoint (to test the receiver); returns its delivery."""
        delivery = actions.endpoint_ping(self.tenant.pk, actor=request.user, endpoint_id=self.get_object().pk)
        delivery = WebhookDelivery.objects.select_related("event").get(tenant_id=self.tenant.pk, pk=delivery.pk)
        return Response(WebhookDeliverySerializer(delivery).data, status=status.HTTP_201_CREATED)


@extend_schema(parameters=[
    OpenApiParameter("endpoint", int, description="Only deliveries to this endpoint id."),
    OpenApiParameter("status", str, enum=DeliveryStatus.values, description="Only deliveries in this status."),
    OpenApiParameter("type", str, enum=EventType.values, description="Only deliveries of this event type."),
    OpenApiParameter("event_id", str, description="Only deliveries of this event (its UUID, as in X-SocialCRM-Event-Id)."),
])
class WebhookDeliveryViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantScopedViewSet):
    serializer_class = WebhookDeliverySerializer
    ordering = "-id"
    action_permissions = {"list": _MANAGE, "retrieve": _MANAGE, "replay": _MANAGE}

    def scoped_queryset(self):
        params = self.request.query_params
        event_id = params.get("event_id", "")
        try:
            event_id = uuid.UUID(event_id) if event_id else None
        except ValueError:
            raise serializers.ValidationError({"event_id": ["Not a UUID."]}) from None
        status_ = params.get("status", "")
        type_ = params.get("type", "")
        errors = {}
        if status_ and status_ not in DeliveryStatus.values:
            errors["status"] = [f"Not one of {', '.join(DeliveryStatus.values)}."]
        if type_ and type_ not in EventType.values:
            errors["type"] = [f"Not one of {', '.join(EventType.values)}."]
        endpoint = params.get("endpoint", "")
        if endpoint and not endpoint.isdigit():
            errors["endpoint"] = ["A valid integer is required."]
        if errors:
            raise serializers.ValidationError(errors)
        return filter_deliveries(WebhookDelivery.objects.select_related("event"), status=status_, type=type_,
                                 endpoint_id=int(endpoint) if endpoint else None, event_id=event_id)

    @extend_schema(request=None, responses={201: WebhookDeliverySerializer})
    @action(detail=True, methods=["post"])
    def replay(self, request, tenant_slug=None, pk=None):
        """A new delivery of the same event (same event id) to the same endpoint; 400 while the
        original is still in progress."""
        replay = actions.delivery_replay(self.tenant.pk, actor=request.user, delivery_id=self.get_object().pk)
        replay = WebhookDelivery.objects.select_related("event").get(tenant_id=self.tenant.pk, pk=replay.pk)
        return Response(WebhookDeliverySerializer(replay).data, status=status.HTTP_201_CREATED)
