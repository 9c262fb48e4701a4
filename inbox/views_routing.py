"""Routing rules, department alerts and SLA policy pages: thin views over inbox/routing.py,
inbox/alerts.py and inbox/sla.py, all on TenantView. Rules and SLA policies need
ROUTING_MANAGE (admins); the alert list and its buttons ALERTS_ACT (admins see every alert,
department heads those of their departments)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from social_crm.tenancy.base import ActionDeleteView, TenantView
from social_crm.tenancy.permissions import Action
from social_crm.tenancy.views import apply_errors

from . import alerts, routing, routing_rules, sla
from .forms_routing import (AlertCommentForm, EscalationDelayForm, RoutingRuleForm, SlaPolicyForm, rule_initial,
                            sla_initial)
from .models import AlertStatus, RoutingRule, SlaPolicy


class RoutingRuleListView(TenantView):
    required_action = Action.ROUTING_MANAGE
    template_name = "inbox/routing/rules.html"
    model = RoutingRule

    def get(self, request):
        tid, names = self.tenant.pk, routing.Names.load(self.tenant.pk)
        rules = [(rule, routing.describe_conditions(tid, rule.conditions, names),
                  routing.describe_actions(tid, rule.actions, names))
                 for rule in self.get_queryset().order_by("position", "id")]
        return self.render(rules=rules)


class RoutingRuleEditView(TenantView):
    """The rule builder. "Dry run" shows what the unsaved rule would do to the last N mentions:
    an htmx request gets only the results panel, a plain post the whole page."""

    required_action = Action.ROUTING_MANAGE
    template_name = "inbox/routing/rule_form.html"

    def get(self, request, rule_id: int | None = None):
        rule = routing_rules.access_rule(self.tenant.pk, rule_id) if rule_id else None
        initial = rule_initial(rule) if rule else {"is_active": True, "stop": "stop", "last_n": 200}
        return self.render(form=RoutingRuleForm(initial=initial, tenant_id=self.tenant.pk), rule=rule, dry=None)

    def post(self, request, rule_id: int | None = None):
        rule = routing_rules.access_rule(self.tenant.pk, rule_id) if rule_id else None
        form = RoutingRuleForm(request.POST, tenant_id=self.tenant.pk)
        valid = form.is_valid()
        if "dry_run" in request.POST:
            return self._dry_run(form)
        if valid:
            conditions, actions = form.rule()
            try:
                routing_rules.rule_save(self.tenant.pk, actor=request.user, rule_id=rule_id,
                                        name=form.cleaned_data["name"], conditions=conditions, actions=actions,
                                        stop_processing=form.cleaned_data["stop"] == "stop",
                                        is_active=form.cleaned_data["is_active"])
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                messages.success(request, _("Routing rule saved."))
                return redirect("routing-rules", tenant_slug=self.tenant.slug)
        return self.render(status=400, form=form, rule=rule, dry=None)

    def _dry_run(self, form):
        form.errors.pop("name", None)  # a rule can be tried before it has a name
        dry = None
        if not form.errors:
            conditions, actions = form.rule()
            try:
                hits, scanned = routing.dry_run(self.tenant.pk, {"conditions": conditions, "actions": actions},
                                                last_n=form.cleaned_data.get("last_n") or 200)
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                dry = {"hits": hits[:50], "hit_count": len(hits), "scanned": scanned}
        if self.request.headers.get("HX-Request"):
            self.template_name = "inbox/routing/_dry_run.html"
        return self.render(status=200 if dry is not None else 400, form=form, dry=dry, dry_requested=True)


class _DeleteView(ActionDeleteView):

    required_action = Action.ROUTING_MANAGE


class RoutingRuleDeleteView(_DeleteView):
    delete_action = staticmethod(routing_rules.rule_delete)
    id_kwarg, message, list_url = "rule_id", gettext_noop("Routing rule deleted."), "routing-rules"


class RoutingRuleMoveView(TenantView):
    """POST direction=up|down: one place in the order (rules run top to bottom)."""

    required_action = Action.ROUTING_MANAGE

    def post(self, request, rule_id: int):
        direction = request.POST.get("direction", "up")
        routing_rules.rule_move(self.tenant.pk, actor=request.user, rule_id=rule_id,
                                direction="down" if direction == "down" else "up")
        return redirect("routing-rules", tenant_slug=self.tenant.slug)


# --- Alerts --------------------------------------------------------------------------------------

ALERT_FILTERS = {"open": alerts.OPEN_STATES, "closed": (AlertStatus.HANDED_BACK, AlertStatus.RESOLVED)}


class AlertListView(TenantView):
    required_action = Action.ALERTS_ACT
    template_name = "inbox/alerts/list.html"

    def get(self, request):
        shown = request.GET.get("status", "open")
        queryset = alerts.visible_alerts(self.tenant.pk, self.membership)
        if shown in ALERT_FILTERS:
            queryset = queryset.filter(status__in=ALERT_FILTERS[shown])
        rows = list(queryset.select_related("department", "conversation", "rule", "acknowledged_by")
                    .prefetch_related("comments__author_user").order_by("-created_at", "-id")[:200])
        return self.render(alerts=rows, shown=shown, comment_form=AlertCommentForm())


class AlertActView(TenantView):
    """POST one alert action; back to the list with a message (a refused one says why)."""

    required_action = Action.ALERTS_ACT
    op = ""
    _ACTIONS = {
        "acknowledge": (alerts.alert_acknowledge, gettext_noop("Alert acknowledged.")),
        "hand-back": (alerts.alert_hand_back, gettext_noop("Alert handed back to the inbox.")),
        "escalate": (alerts.alert_escalate, gettext_noop("Alert escalated.")),
        "resolve": (alerts.alert_resolve, gettext_noop("Alert resolved.")),
    }

    def post(self, request, alert_id: int):
        kwargs = {"actor": request.user, "membership": self.membership, "alert_id": alert_id}
        try:
            if self.op == "comment":
                form = AlertCommentForm(request.POST)
                if not form.is_valid():
                    alerts.access_alert(self.tenant.pk, self.membership, alert_id)  # another tenant's: 404 first
                    return self.render_comment_error(form)
                alerts.alert_comment(self.tenant.pk, body=form.cleaned_data["body"], **kwargs)
                messages.success(request, _("Comment added."))
            else:
                action, message = self._ACTIONS[self.op]
                action(self.tenant.pk, **kwargs)
                messages.success(request, _(message))
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        return redirect("alerts", tenant_slug=self.tenant.slug)

    def render_comment_error(self, form):
        self.template_name = "inbox/alerts/list.html"
        rows = list(alerts.visible_alerts(self.tenant.pk, self.membership).filter(status__in=alerts.OPEN_STATES)
                    .select_related("department", "conversation", "rule", "acknowledged_by")
                    .prefetch_related("comments__author_user")[:200])
        return self.render(status=400, alerts=rows, shown="open", comment_form=form)


# --- SLA policies --------------------------------------------------------------------------------


class SlaPolicyListView(TenantView):
    required_action = Action.ROUTING_MANAGE
    template_name = "inbox/routing/sla_policies.html"
    model = SlaPolicy

    def get(self, request, delay_form=None, status=200):
        minutes = int(alerts.escalation_delay(self.tenant.pk).total_seconds() // 60)
        return self.render(status=status, policies=self.get_queryset(), breaches=sla.breach_counts(self.tenant.pk),
                           delay_form=delay_form or EscalationDelayForm(initial={"minutes": minutes}))


class EscalationDelayView(SlaPolicyListView):
    """POST minutes: the tenant's alert escalation delay (shown on the SLA policies page)."""

    def post(self, request):
        form = EscalationDelayForm(request.POST)
        if form.is_valid():
            alerts.escalation_delay_set(self.tenant.pk, actor=request.user, minutes=form.cleaned_data["minutes"])
            messages.success(request, _("Escalation delay saved."))
            return redirect("sla-policies", tenant_slug=self.tenant.slug)
        return self.get(request, delay_form=form, status=400)


class SlaPolicyEditView(TenantView):
    required_action = Action.ROUTING_MANAGE
    template_name = "inbox/routing/sla_form.html"

    def get(self, request, policy_id: int | None = None):
        policy = sla.access_sla_policy(self.tenant.pk, policy_id) if policy_id else None
        initial = sla_initial(policy) if policy else {
            "time_zone": self.tenant.timezone, **{f"hours_{d}": "09:00-18:00" for d in sla.DAYS[:5]}}
        return self.render(form=SlaPolicyForm(initial=initial), policy=policy)

    def post(self, request, policy_id: int | None = None):
        policy = sla.access_sla_policy(self.tenant.pk, policy_id) if policy_id else None
        form = SlaPolicyForm(request.POST)
        if form.is_valid():
            hours = form.business_hours()
            data = form.cleaned_data
            if form.is_valid():  # the weekday spans added no error
                try:
                    sla.sla_policy_save(
                        self.tenant.pk, actor=request.user, policy_id=policy_id, name=data["name"],
                        first_response_minutes=data["first_response_minutes"],
                        resolution_minutes=data["resolution_minutes"], time_zone=data["time_zone"],
                        business_hours=hours, holidays=data["holidays"].split(), priority=data["priority"],
                        is_default=data["is_default"])
                except ValidationError as exc:
                    apply_errors(form, exc)
                else:
                    messages.success(request, _("SLA policy saved."))
                    return redirect("sla-policies", tenant_slug=self.tenant.slug)
        return self.render(status=400, form=form, policy=policy)


class SlaPolicyDeleteView(_DeleteView):
    delete_action = staticmethod(sla.sla_policy_delete)
    id_kwarg, message, list_url = "policy_id", gettext_noop("SLA policy deleted."), "sla-policies"
