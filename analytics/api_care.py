"""Care metrics API (the shared analytics contract): ``GET /api/v1/t/<slug>/analytics/care``,
``.../care/by_department`` and ``.../care/by_agent``, JSON or ``?format=csv``.

Thin: the parameters are validated (400 with field errors), then analytics/care.py computes.
"""

from __future__ import annotations

import csv
import io
import zoneinfo
from datetime import timedelta

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import renderers, serializers
from rest_framework.decorators import action
from rest_framework.response import Response

from listening.api.serializers import PLATFORM_SLUG
from listening.models import ListeningQuery, Topic
from social_crm.tenancy.api.base import TenantScopedViewSet
from social_crm.tenancy.models import Department
from social_crm.tenancy.permissions import Action

from . import care

DEFAULT_DAYS = 30  # without from/to: the last 30 days, today included
MAX_DAYS = 3 * 366  # one query per table either way; this bounds the scan of a careless request
DEFAULT_TZ = "Europe/Paris"


class CsvRenderer(renderers.BaseRenderer):
    """``?format=csv``: a list of flat dicts as rows (the view's ``csv_columns`` as the header);
    field errors (a dict) as field,message rows."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        out = io.StringIO()
        writer = csv.writer(out)
        if isinstance(data, dict):
            writer.writerow(["field", "message"])
            for key, messages in data.items():
                for message in messages if isinstance(messages, list) else [messages]:
                    writer.writerow([key, message])
        else:
            view = (renderer_context or {}).get("view")
            columns = getattr(view, "csv_columns", None) or (list(data[0]) if data else [])
            writer.writerow(columns)
            writer.writerows([row.get(c) for c in columns] for row in data)
        return out.getvalue().encode(self.charset)


class CareParamsSerializer(serializers.Serializer):
    to = serializers.DateField(required=False, help_text="Last day (ISO date, in tz), inclusive. Default: today.")
    tz = serializers.CharField(required=False, help_text="IANA time zone; default the tenant's.")
    department = serializers.IntegerField(required=False, min_value=1)
    platform = serializers.RegexField(PLATFORM_SLUG, required=False)
    language = serializers.ChoiceField(choices=["fr", "en", "other"], required=False)
    query = serializers.ListField(child=serializers.IntegerField(min_value=1), required=False)
    topic = serializers.IntegerField(required=False, min_value=1)

    def get_fields(self):
        fields = super().get_fields()  # "from" is a Python keyword: it cannot be declared above
        fields["from"] = serializers.DateField(required=False, help_text="First day (ISO date, in tz), inclusive.")
        return fields

    def validate_tz(self, value):
        if value not in zoneinfo.available_timezones():
            raise serializers.ValidationError(_("Unknown time zone."))
        return value

    def _check_ids(self, model, ids, field: str, errors: dict):
        tenant = self.context["tenant"]
        found = set(model.objects.filter(tenant_id=tenant.pk, pk__in=ids).values_list("pk", flat=True))
        if set(ids) - found:
            errors[field] = [_("Unknown id for this tenant: %(ids)s.") % {"ids": ", ".join(map(str, sorted(set(ids) - found)))}]

    def validate(self, attrs):
        tenant = self.context["tenant"]
        tz = attrs.get("tz") or tenant.timezone or DEFAULT_TZ
        end = attrs.get("to") or timezone.now().astimezone(zoneinfo.ZoneInfo(tz)).date()
        start = attrs.get("from") or end - timedelta(days=DEFAULT_DAYS - 1)
        errors: dict = {}
        if start > end:
            errors["from"] = [_("The first day must not be after the last day.")]
        elif (end - start).days >= MAX_DAYS:
            errors["from"] = [_("Ask for at most %(days)s days.") % {"days": MAX_DAYS}]
        for model, key in ((Department, "department"), (Topic, "topic")):
            if key in attrs:
                self._check_ids(model, [attrs[key]], key, errors)
        if attrs.get("query"):
            self._check_ids(ListeningQuery, attrs["query"], "query", errors)
        if errors:
            raise serializers.ValidationError(errors)
        filters = care.CareFilters(department_id=attrs.get("department"), platform=attrs.get("platform"),
                                   language=attrs.get("language"), query_ids=tuple(attrs.get("query") or ()),
                                   topic_id=attrs.get("topic"))
        return {"start": start, "end": end, "tz": tz, "filters": filters}


_PARAMETERS = [
    OpenApiParameter("from", str, description="First day, ISO date in tz, inclusive (default: 29 days before to)."),
    OpenApiParameter("to", str, description="Last day, ISO date in tz, inclusive (default: today)."),
    OpenApiParameter("tz", str, description="IANA time zone (default: the tenant's, else Europe/Paris)."),
    OpenApiParameter("department", int, description="Only conversations of this department id."),
    OpenApiParameter("platform", str, description="Only conversations on this platform."),
    OpenApiParameter("language", str, enum=["fr", "en", "other"],
                     description="Only conversations whose opening message is in this detected language."),
    OpenApiParameter("query", int, many=True, description="Only conversations with a message matching one of these "
                                                          "listening query ids (repeatable)."),
    OpenApiParameter("topic", int, description="Only conversations with a message of this topic id."),
    OpenApiParameter("format", str, enum=["json", "csv"], description="csv: the same data as CSV."),
]
_SECONDS = {"median_seconds": serializers.FloatField(allow_null=True), "p90_seconds": serializers.FloatField(allow_null=True),
            "count": serializers.IntegerField()}
_TABLE_FIGURES = {
    "name": serializers.CharField(),
    "first_response_median_seconds": serializers.FloatField(allow_null=True),
    "first_response_p90_seconds": serializers.FloatField(allow_null=True),
    "resolution_median_seconds": serializers.FloatField(allow_null=True),
    "sla_breaches": serializers.IntegerField(), "backlog": serializers.IntegerField(),
    "conversations": serializers.IntegerField(),
}
_DEPARTMENT_ROW = inline_serializer("CareDepartmentRow", {"department_id": serializers.IntegerField(allow_null=True),
                                                          **_TABLE_FIGURES})
_AGENT_ROW = inline_serializer("CareAgentRow", {"user_id": serializers.IntegerField(allow_null=True), **_TABLE_FIGURES})
_SENTIMENTS = inline_serializer("CareSentimentCounts", {s: serializers.IntegerField() for s in care.SENTIMENTS})
_CARE = inline_serializer("CareMetrics", {
    "first_response": inline_serializer("CareFirstResponse", _SECONDS),
    "resolution": inline_serializer("CareResolution", _SECONDS),
    "sla_breaches": inline_serializer("CareBreaches", {"first_response": serializers.IntegerField(),
                                                       "resolution": serializers.IntegerField()}),
    "backlog": serializers.IntegerField(),
    "by_department": _DEPARTMENT_ROW.__class__(many=True),
    "by_agent": _AGENT_ROW.__class__(many=True),
    "sentiment_shift": inline_serializer("CareSentimentShift", {"conversations": serializers.IntegerField(),
                                                                "before": _SENTIMENTS, "after": _SENTIMENTS}),
})
_CSV = {(200, "text/csv"): str}
_TABLE_COLUMNS = ["name", "first_response_median_seconds", "first_response_p90_seconds", "resolution_median_seconds",
                  "sla_breaches", "backlog", "conversations"]


def _long_rows(metrics: dict) -> list[dict]:
    """The care JSON as one long table: (table, id, name, metric, value)."""
    rows = []
    for section in ("first_response", "resolution", "sla_breaches", "sentiment_shift"):
        for key, value in metrics[section].items():
            if isinstance(value, dict):
                rows += [{"table": "summary", "id": "", "name": "", "metric": f"{section}.{key}.{k}", "value": v}
                         for k, v in value.items()]
            else:
                rows.append({"table": "summary", "id": "", "name": "", "metric": f"{section}.{key}", "value": value})
    rows.append({"table": "summary", "id": "", "name": "", "metric": "backlog", "value": metrics["backlog"]})
    for table, key in (("by_department", "department_id"), ("by_agent", "user_id")):
        for row in metrics[table]:
            rows += [{"table": table, "id": row[key], "name": row["name"], "metric": metric, "value": row[metric]}
                     for metric in _TABLE_COLUMNS[1:]]
    return rows


class CareMetricsViewSet(TenantScopedViewSet):
    """Care metrics of the tenant's inbox (definitions: analytics/care.py and the README)."""

    action_permissions = {"summary": Action.INBOX_VIEW, "by_department": Action.INBOX_VIEW,
                          "by_agent": Action.INBOX_VIEW}
    renderer_classes = [renderers.JSONRenderer, CsvRenderer]
    pagination_class = None
    serializer_class = CareParamsSerializer
    csv_columns: list[str] | None = None

    def _params(self, request) -> dict:
        data = {key: request.query_params.get(key) for key in request.query_params if key not in ("query", "format")}
        if "query" in request.query_params:
            data["query"] = request.query_params.getlist("query")
        serializer = CareParamsSerializer(data=data, context={"tenant": self.tenant})
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def _answer(self, request, compute, name: str, columns: list[str], to_rows=None) -> Response:
        """Validate the parameters, compute, answer JSON or (``?format=csv``) rows under ``columns``."""
        params = self._params(request)
        data = compute(self.tenant.pk, **params)
        if getattr(request.accepted_renderer, "format", "") != "csv":
            return Response(data)
        self.csv_columns = columns
        filename = f"{name}-{self.tenant.slug}-{params['start']}-{params['end']}.csv"
        return Response(to_rows(data) if to_rows else data,
                        headers={"Content-Disposition": f'attachment; filename="{filename}"'})

    @extend_schema(parameters=_PARAMETERS, responses={200: _CARE, **_CSV})
    @action(detail=False, methods=["get"])
    def summary(self, request, tenant_slug=None):
        """First response and resolution times, SLA breaches, backlog, by department and by agent, and the
        sentiment before and after the brand's first answer. CSV: one (table, id, name, metric, value) row
        per figure."""
        return self._answer(request, care.care_metrics, "care", ["table", "id", "name", "metric", "value"],
                            to_rows=_long_rows)

    @extend_schema(parameters=_PARAMETERS, responses={200: _DEPARTMENT_ROW.__class__(many=True), **_CSV})
    @action(detail=False, methods=["get"])
    def by_department(self, request, tenant_slug=None):
        """The care figures per department (the conversation's current one)."""
        return self._answer(request, care.care_by_department, "care-by-department", ["department_id", *_TABLE_COLUMNS])

    @extend_schema(parameters=_PARAMETERS, responses={200: _AGENT_ROW.__class__(many=True), **_CSV})
    @action(detail=False, methods=["get"])
    def by_agent(self, request, tenant_slug=None):
        """The care figures per agent (the conversation's current assignee)."""
        return self._answer(request, care.care_by_agent, "care-by-agent", ["user_id", *_TABLE_COLUMNS])
