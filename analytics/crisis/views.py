"""Crisis pages: the alert list, an alert (its chart, top mentions and terms; acknowledge,
close) and the settings. Thin views over analytics.crisis.actions, all on TenantView."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from listening.models import ListeningQuery, Mention
from social_crm.tenancy.base import TenantView
from social_crm.tenancy.models import Membership
from social_crm.tenancy.permissions import Action
from social_crm.tenancy.views import apply_errors

from . import actions, detection
from .forms import AlertFilterForm, CrisisSettingsForm
from .models import CrisisAlert, CrisisRecipient

PAGE_SIZE = 50
CHART_BEFORE, CHART_AFTER = timedelta(hours=48), timedelta(hours=24)


class AlertListView(TenantView):
    required_action = Action.CRISIS_VIEW
    template_name = "crisis/alerts.html"
    model = CrisisAlert

    def get(self, request):
        queries = ListeningQuery.objects.filter(tenant_id=self.tenant.pk)
        form = AlertFilterForm(request.GET or None, queries=queries)
        alerts = self.get_queryset().select_related("query")
        if form.is_valid():
            if form.cleaned_data["status"]:
                alerts = alerts.filter(status=form.cleaned_data["status"])
            if form.cleaned_data["query"]:
                alerts = alerts.filter(query_id=form.cleaned_data["query"])
        before = request.GET.get("before", "")
        if before.isdigit():  # keyset pagination on id, newest first
            alerts = alerts.filter(pk__lt=int(before))
        rows = list(alerts.order_by("-id")[:PAGE_SIZE])
        return self.render(form=form, alerts=rows, older=rows[-1].pk if len(rows) == PAGE_SIZE else None,
                           can_configure=self.can(Action.CRISIS_CONFIGURE))


def chart_points(tenant_id: int, alert: CrisisAlert) -> dict:
    """Observed and expected volume around the alert's hour, for Chart.js."""
    end = min(alert.hour + CHART_AFTER, timezone.now().replace(minute=0, second=0, microsecond=0))
    hours = detection.hours_between(alert.hour - CHART_BEFORE, max(end, alert.hour + detection.HOUR))
    rows = actions.query_series(tenant_id, alert.query_id, hours[0] - actions.HISTORY, hours[-1] + detection.HOUR)
    points = detection.expected_series(rows, hours, start=actions.query_history_start(tenant_id, alert.query_id))
    return {"labels": [h.isoformat() for h, _o, _e in points], "observed": [o for _h, o, _e in points],
            "expected": [e for _h, _o, e in points], "alert_hour": alert.hour.isoformat(),
            "observed_label": _("Mentions"), "expected_label": _("Expected")}


class AlertDetailView(TenantView):
    required_action = Action.CRISIS_VIEW
    template_name = "crisis/alert.html"

    def get(self, request, alert_id: int):
        alert = actions.access_alert(self.tenant.pk, alert_id)
        by_id = Mention.objects.filter(tenant_id=self.tenant.pk, pk__in=alert.top_mention_ids).select_related("author")
        found = {m.pk: m for m in by_id}
        mentions = [found[i] for i in alert.top_mention_ids if i in found]  # in reach order
        return self.render(alert=alert, mentions=mentions, chart=chart_points(self.tenant.pk, alert),
                           can_act=self.can(Action.CRISIS_ACT), negative_pct=round(100 * alert.negative_share),
                           expected_negative_pct=round(100 * alert.expected_negative_share))


class _AlertStatusView(TenantView):
    """POST: one status action on the alert, a message, back to the alert's page."""

    required_action = Action.CRISIS_ACT
    status_action = None
    message = ""

    def post(self, request, alert_id: int):
        type(self).status_action(self.tenant.pk, actor=request.user, alert_id=alert_id)
        messages.success(request, _(self.message))
        return redirect("crisis-alert", tenant_slug=self.tenant.slug, alert_id=alert_id)


class AlertAcknowledgeView(_AlertStatusView):
    status_action = actions.crisis_alert_acknowledge
    message = gettext_noop("Crisis alert acknowledged.")


class AlertCloseView(_AlertStatusView):
    status_action = actions.crisis_alert_close
    message = gettext_noop("Crisis alert closed.")


class CrisisSettingsView(TenantView):
    required_action = Action.CRISIS_CONFIGURE
    template_name = "crisis/settings.html"

    def members(self):
        return Membership.objects.filter(tenant_id=self.tenant.pk, user__is_active=True).select_related("user").order_by(
            "user__email")

    def get(self, request):
        row = actions.settings_for(self.tenant.pk)
        chosen = [str(i) for i in CrisisRecipient.objects.filter(tenant_id=self.tenant.pk).values_list("user_id", flat=True)]
        form = CrisisSettingsForm(members=self.members(), initial={
            "sensitivity": row.sensitivity, "recipients": chosen, "notify_in_app": row.notify_in_app,
            "notify_email": row.notify_email, "notify_webhook": row.notify_webhook})
        return self.render(form=form)

    def post(self, request):
        form = CrisisSettingsForm(request.POST, members=self.members())
        if form.is_valid():
            data = form.cleaned_data
            try:
                actions.crisis_settings_save(self.tenant.pk, actor=request.user, sensitivity=data["sensitivity"],
                                             notify_in_app=data["notify_in_app"], notify_email=data["notify_email"],
                                             notify_webhook=data["notify_webhook"],
                                             recipient_ids=[int(i) for i in data["recipients"]])
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                messages.success(request, _("Crisis detection settings saved."))
                return redirect("crisis-settings", tenant_slug=self.tenant.slug)
        return self.render(status=400, form=form)
