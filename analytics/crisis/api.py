"""``GET /api/v1/t/<slug>/crisis-alerts``: the tenant's crisis alerts, newest first, cursor
pagination like every list of the API; ``?format=csv`` answers the same rows as CSV (not paged,
at most CSV_LIMIT). Filters (invalid values -> 400 with field errors): ``status``, ``query``
(listening query id, repeatable), ``from`` / ``to`` (ISO dates, inclusive, in ``tz``: an IANA
name, default the tenant's time zone). Acknowledge and close are POSTs on an alert."""

from __future__ import annotations

import csv
import io
import zoneinfo
from datetime import datetime, time, timedelta

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, renderers, serializers
from rest_framework.decorators import action
from rest_framework.response import Response

from listening.models import ListeningQuery
from social_crm.tenancy.api.base import TenantScopedViewSet
from social_crm.tenancy.permissions import Action

from . import actions
from .models import AlertStatus, CrisisAlert

CSV_LIMIT = 10_000


class CrisisAlertSerializer(serializers.ModelSerializer):
    query_name = serializers.CharField(source="query.name", read_only=True)
    baseline = serializers.CharField(source="method", read_only=True,
                                     help_text="hour_of_week, hour_of_day (short history) or overall (cold start).")

    class Meta:
        model = CrisisAlert
        fields = ["id", "query", "query_name", "hour", "kinds", "observed", "expected", "negative", "negative_share",
                  "expected_negative_share", "score", "baseline", "sensitivity", "top_mention_ids", "top_terms",
                  "status", "acknowledged_by", "acknowledged_at", "closed_by", "closed_at", "created_at"]
        read_only_fields = fields


class AlertFilterSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=AlertStatus.choices, required=False)
    query = serializers.ListField(child=serializers.IntegerField(), required=False)
    from_ = serializers.DateField(required=False)
    to = serializers.DateField(required=False)
    tz = serializers.CharField(required=False)

    def get_fields(self):
        fields = super().get_fields()
        fields["from"] = fields.pop("from_")
        return fields

    def validate_tz(self, value):
        if value not in zoneinfo.available_timezones():
            raise serializers.ValidationError("Unknown time zone.")
        return value

    def validate_query(self, value):
        tenant = self.context["tenant"]
        known = set(ListeningQuery.objects.filter(tenant_id=tenant.pk, pk__in=value).values_list("pk", flat=True))
        if set(value) - known:
            raise serializers.ValidationError("Unknown listening query.")  # another tenant's id too
        return value

    def validate(self, attrs):
        if attrs.get("from") and attrs.get("to") and attrs["from"] > attrs["to"]:
            raise serializers.ValidationError({"to": ["Must not be before from."]})
        return attrs


class AlertCSVRenderer(renderers.BaseRenderer):
    media_type, format, charset = "text/csv", "csv", "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        out = io.StringIO()
        if isinstance(data, list) and data:
            writer = csv.DictWriter(out, fieldnames=list(data[0]))
            writer.writeheader()
            writer.writerows({k: (";".join(map(str, v)) if isinstance(v, list) and k != "top_terms"
                                  else ";".join(f"{t}:{c}" for t, c in v) if k == "top_terms" else v)
                              for k, v in row.items()} for row in data)
        elif isinstance(data, dict):  # an error body
            writer = csv.writer(out)
            writer.writerow(["field", "error"])
            for field, errors in data.items():
                for error in errors if isinstance(errors, list) else [errors]:
                    writer.writerow([field, error])
        return out.getvalue().encode("utf-8")


@extend_schema(parameters=[
    OpenApiParameter("status", str, enum=AlertStatus.values, description="Only alerts in this status."),
    OpenApiParameter("query", int, many=True, description="Only alerts of these listening queries (repeatable)."),
    OpenApiParameter("from", str, description="First day (ISO date, inclusive, in tz)."),
    OpenApiParameter("to", str, description="Last day (ISO date, inclusive, in tz)."),
    OpenApiParameter("tz", str, description="IANA time zone of from/to (default: the tenant's)."),
])
class CrisisAlertViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantScopedViewSet):
    serializer_class = CrisisAlertSerializer
    model = CrisisAlert
    ordering = "-hour"
    renderer_classes = [renderers.JSONRenderer, AlertCSVRenderer]
    action_permissions = {"list": Action.CRISIS_VIEW, "retrieve": Action.CRISIS_VIEW,
                          "acknowledge": Action.CRISIS_ACT, "close": Action.CRISIS_ACT}

    def scoped_queryset(self):
        return CrisisAlert.objects.select_related("query")

    def list(self, request, tenant_slug=None):
        params = {k: v for k, v in request.query_params.items() if k in ("status", "from", "to", "tz")}
        if "query" in request.query_params:
            params["query"] = request.query_params.getlist("query")
        filters = AlertFilterSerializer(data=params, context={"tenant": self.tenant})
        filters.is_valid(raise_exception=True)
        queryset = self.filter_alerts(self.get_queryset(), filters.validated_data)
        if request.accepted_renderer.format == "csv":
            rows = queryset.order_by("-hour", "-id")[:CSV_LIMIT]
            return Response(CrisisAlertSerializer(rows, many=True).data)
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(CrisisAlertSerializer(page, many=True).data)

    def filter_alerts(self, queryset, data: dict):
        zone = zoneinfo.ZoneInfo(data.get("tz") or self.tenant.timezone or "Europe/Paris")
        if data.get("status"):
            queryset = queryset.filter(status=data["status"])
        if data.get("query"):
            queryset = queryset.filter(query_id__in=data["query"])
        if data.get("from"):
            queryset = queryset.filter(hour__gte=datetime.combine(data["from"], time(), zone))
        if data.get("to"):
            queryset = queryset.filter(hour__lt=datetime.combine(data["to"] + timedelta(days=1), time(), zone))
        return queryset

    @extend_schema(request=None, responses={200: CrisisAlertSerializer})
    @action(detail=True, methods=["post"])
    def acknowledge(self, request, tenant_slug=None, pk=None):
        alert = actions.crisis_alert_acknowledge(self.tenant.pk, actor=request.user, alert_id=self.get_object().pk)
        return Response(CrisisAlertSerializer(alert).data)

    @extend_schema(request=None, responses={200: CrisisAlertSerializer})
    @action(detail=True, methods=["post"])
    def close(self, request, tenant_slug=None, pk=None):
        alert = actions.crisis_alert_close(self.tenant.pk, actor=request.user, alert_id=self.get_object().pk)
        return Response(CrisisAlertSerializer(alert).data)
