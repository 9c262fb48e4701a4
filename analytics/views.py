"""The reputation dashboard page: a filter bar (validated with the API's own rules), then one
chart per series drawn by Chart.js from the analytics API, each with its CSV link, and the care
figures of the care API when that endpoint answers."""

from __future__ import annotations

import json
import zoneinfo
from datetime import timedelta
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from listening.models import ListeningQuery, Platform, Topic
from social_crm.tenancy.base import TenantView
from social_crm.tenancy.forms import TIMEZONE_CHOICES
from social_crm.tenancy.models import Department, Membership
from social_crm.tenancy.permissions import Action, Role

from .api_urls import SERIES
from .filters import FilterSerializer

RANGES = ("7", "30", "90")


def _labels() -> dict[str, str]:
    """The strings the dashboard's script shows, translated here."""
    return {"positive": _("Positive"), "neutral": _("Neutral"), "negative": _("Negative"), "untagged": _("Not tagged"),
            "mentions": _("Mentions"), "total": _("Total"), "net_sentiment": _("Net sentiment"),
            "previous": _("previous period"), "reach": _("Reach"), "engagement_rate": _("Engagement rate"),
            "brand_share": _("Own brand's share"), "by_reach": _("Widest reach"), "failed": _("Could not load this chart."),
            "first_response": _("First response (median / p90)"), "resolution": _("Resolution (median / p90)"),
            "sla_breaches": _("SLA breaches (first response / resolution)"), "backlog": _("Backlog"),
            "not_available": _("Care metrics are not available.")}


def _series_titles() -> dict[str, str]:
    return {"volume": _("Volume"), "sentiment": _("Net sentiment"), "reach": _("Reach and engagement rate"),
            "share-of-voice": _("Share of voice"), "top-authors": _("Top authors"), "top-topics": _("Top topics"),
            "top-terms": _("Top terms")}


class DashboardView(TenantView):
    required_action = Action.ANALYTICS_VIEW
    template_name = "analytics/dashboard.html"

    def get(self, request):
        params = request.GET.copy()
        chosen = params.get("range") or "30"
        tz = params.get("tz") or self.tenant.timezone or "Europe/Paris"
        if chosen in RANGES and tz in zoneinfo.available_timezones():
            last = timezone.now().astimezone(zoneinfo.ZoneInfo(tz)).date()
            params["to"], params["from"] = last.isoformat(), (last - timedelta(days=int(chosen) - 1)).isoformat()
        params.pop("range", None)
        serializer = FilterSerializer(data=params, context={"tenant": self.tenant})
        tid = self.tenant.pk
        context = {
            "range": chosen, "ranges": RANGES, "tz": tz,
            **{f"{name}_value": params.get(name, "") for name in ("from", "to", "language", "platform", "topic",
                                                                  "department")},
            "selected_queries": request.GET.getlist("query"),
            "queries": ListeningQuery.objects.filter(tenant_id=tid).order_by("name"),
            "topics": Topic.objects.filter(tenant_id=tid).order_by("name"),
            "departments": Department.objects.filter(tenant_id=tid).order_by("name"),
            "platforms": Platform.choices, "timezones": [name for name, _label in TIMEZONE_CHOICES],
            "labels": _labels(),
        }
        if not serializer.is_valid():
            return self.render(status=400, errors=serializer.errors, **context)
        f = serializer.validated_data
        query = urlencode(f.as_params(), doseq=True)
        titles = _series_titles()
        charts = [{"name": name, "title": titles[name],
                   "url": reverse(f"api-analytics-{name}", kwargs={"tenant_slug": self.tenant.slug}) + "?" + query}
                  for name in SERIES]
        care_url = f"/api/v1/t/{self.tenant.slug}/analytics/care?{query}"  # the care API (shared contract)
        pdf_url = reverse("analytics-export-pdf", kwargs={"tenant_slug": self.tenant.slug}) + "?" + query
        reports_url = reverse("analytics-reports", kwargs={"tenant_slug": self.tenant.slug})
        return self.render(filters=f, charts=charts, care_url=care_url, pdf_url=pdf_url, reports_url=reports_url,
                           **context)


class DashboardPdfView(TenantView):
    """The dashboard's figures for the same filters as a PDF (analytics/pdf.py)."""

    required_action = Action.ANALYTICS_VIEW

    def get(self, request):
        from .pdf import dashboard_pdf

        serializer = FilterSerializer(data=request.GET, context={"tenant": self.tenant})
        if not serializer.is_valid():
            return HttpResponse(json.dumps(serializer.errors, default=str), status=400,
                                content_type="application/json")
        f = serializer.validated_data
        response = HttpResponse(dashboard_pdf(self.tenant, f), content_type="application/pdf")
        name = f"{self.tenant.slug}-analytics-{f.first_day.isoformat()}-{f.last_day.isoformat()}.pdf"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response


class ReportsView(TenantView):
    """Each member subscribes or unsubscribes themself to the scheduled reports and can send
    themself a preview; admins also see who is subscribed."""

    required_action = Action.ANALYTICS_VIEW
    template_name = "analytics/reports.html"

    def get(self, request):
        from .models import ReportKind, ReportSubscription

        tid = self.tenant.pk
        mine = set(ReportSubscription.objects.filter(tenant_id=tid, user=request.user, is_active=True)
                   .values_list("kind", flat=True))
        kinds = [{"value": value, "label": label, "subscribed": value in mine} for value, label in ReportKind.choices]
        subscribers = None
        if self.membership.role == Role.ADMIN:
            members = Membership.objects.filter(tenant_id=tid).values_list("user_id", flat=True)
            subscribers = [{"kind": kind["label"], "users": [
                s.user for s in ReportSubscription.objects.filter(tenant_id=tid, kind=kind["value"], is_active=True,
                                                                  user_id__in=members)
                .select_related("user").order_by("user__email")]} for kind in kinds]
        from . import reports

        # The delivery log: admins see every e-mail of the tenant, others their own.
        manager = self.can(Action.REPORTS_MANAGE)
        deliveries = reports.recent_deliveries(tid, user_id=None if manager else request.user.pk)
        return self.render(kinds=kinds, subscribers=subscribers, deliveries=deliveries, can_retry=manager)

    def post(self, request):
        from . import reports
        from .models import ReportKind

        if request.POST.get("op") == "retry":
            if not self.can(Action.REPORTS_MANAGE):
                raise PermissionDenied
            try:
                reports.delivery_retry(self.tenant.pk, actor=request.user, delivery_id=request.POST.get("delivery"))
            except ValidationError as exc:
                messages.error(request, " ".join(m for ms in exc.message_dict.values() for m in ms))
            else:
                messages.success(request, _("The e-mail is queued again."))
            return redirect("analytics-reports", tenant_slug=self.tenant.slug)
        kind = request.POST.get("kind", "")
        if kind not in ReportKind.values:
            return self.render(status=400, kinds=[], subscribers=None, deliveries=[], error=_("Unknown report."))
        op = request.POST.get("op", "subscribe")
        if op == "preview":
            if not request.user.email:
                messages.error(request, _("Your account has no e-mail address."))
            else:
                reports.send_preview(self.tenant.pk, kind, request.user)
                messages.success(request, _("A preview is on its way to %(email)s.") % {"email": request.user.email})
        else:
            reports.subscription_set(self.tenant.pk, user=request.user, kind=kind, active=op == "subscribe")
            messages.success(request, _("You are subscribed.") if op == "subscribe" else _("You are unsubscribed."))
        return redirect("analytics-reports", tenant_slug=self.tenant.slug)
