"""``/api/v1/t/<slug>/report-deliveries``: the log of the report e-mails (analytics/reports.py,
"Delivery"), newest first, cursor pagination. Who may manage reports (admins) sees every
delivery of the tenant and sends a failed one again (``POST …/<id>/retry``); the other members
see their own. Filters (invalid values -> 400): ``status``, ``kind``."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers
from rest_framework.decorators import action
from rest_framework.response import Response

from social_crm.tenancy.api import filters
from social_crm.tenancy.api.base import TenantScopedViewSet
from social_crm.tenancy.permissions import Action

from . import reports
from .models import ReportDelivery, ReportDeliveryStatus, ReportKind


class ReportDeliverySerializer(serializers.ModelSerializer):
    period_start = serializers.DateField(source="run.period_start", read_only=True, allow_null=True)
    period_end = serializers.DateField(source="run.period_end", read_only=True, allow_null=True)
    preview = serializers.SerializerMethodField(help_text="Asked for by the recipient, not a scheduled send.")

    class Meta:
        model = ReportDelivery
        fields = ["id", "kind", "period_start", "period_end", "preview", "user", "email", "subject", "status",
                  "attempts", "next_attempt_at", "last_error", "created_at", "sent_at"]
        read_only_fields = fields

    def get_preview(self, obj) -> bool:
        return obj.run_id is None


class ReportDeliveryViewSet(filters.FilteredListMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                            TenantScopedViewSet):
    serializer_class = ReportDeliverySerializer
    ordering = "-created_at"
    action_permissions = {"list": Action.ANALYTICS_VIEW, "retrieve": Action.ANALYTICS_VIEW,
                          "retry": Action.REPORTS_MANAGE}
    list_filters = [
        filters.QueryFilter("status", "status", choices=tuple(ReportDeliveryStatus.values)),
        filters.QueryFilter("kind", "kind", choices=tuple(ReportKind.values)),
    ]

    def scoped_queryset(self):
        rows = ReportDelivery.objects.select_related("run")
        if not self.can(Action.REPORTS_MANAGE):
            rows = rows.filter(user_id=self.request.user.pk)
        return self.filter_list(rows)

    @extend_schema(request=None, responses=ReportDeliverySerializer)
    @action(detail=True, methods=["post"])
    def retry(self, request, *args, **kwargs):
        delivery = self.get_object()
        row = reports.delivery_retry(self.tenant.pk, actor=request.user, delivery_id=delivery.pk)
        return Response(self.get_serializer(row).data)
