"""Forms of the routing pages: the rule builder (one field per condition and action, turned
into the JSON rule language of inbox/routing.py), the SLA policy form and the alert comment."""

from __future__ import annotations

import re
import zoneinfo

from django import forms
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from listening.models import ListeningQuery, Platform, Topic
from social_crm.tenancy.models import Department, Membership

from .models import Priority
from .routing import DRY_RUN_SIZES
from .sla import DAYS

ANY, YES, NO = "", "yes", "no"
_TRISTATE = [(ANY, _("Any")), (YES, _("Yes")), (NO, _("No"))]
_SENTIMENTS = [("negative", _("Negative")), ("neutral", _("Neutral")), ("positive", _("Positive"))]
_LANGUAGES = [("fr", _("French")), ("en", _("English")), ("other", _("Other"))]
_STOP = [("stop", _("Stop: later rules are not applied to a message this rule matched")),
         ("continue", _("Continue: later rules are applied too"))]
_MULTI = forms.CheckboxSelectMultiple


def _list(text: str) -> list[str]:
    return [part.strip() for part in re.split(r"[,\n]", text or "") if part.strip()]


class _MemberChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return str(obj.user)


class _MembersChoice(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj):
        return str(obj.user)


class RoutingRuleForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120, required=False)
    is_active = forms.BooleanField(label=_("Active"), required=False)
    stop = forms.ChoiceField(label=_("When this rule matches"), choices=_STOP, widget=forms.RadioSelect, initial="stop")
    # Conditions: every one that is filled in must hold.
    sentiment = forms.MultipleChoiceField(label=_("Sentiment is one of"), choices=_SENTIMENTS, required=False,
                                          widget=_MULTI)
    confidence_below = forms.FloatField(label=_("Sentiment confidence below"), min_value=0, max_value=1,
                                        required=False)
    confidence_above = forms.FloatField(label=_("Sentiment confidence above"), min_value=0, max_value=1,
                                        required=False)
    needs_review = forms.ChoiceField(label=_("Flagged for review"), choices=_TRISTATE, required=False)
    topics = forms.ModelMultipleChoiceField(label=_("Has one of the topics"), queryset=Topic.objects.none(),
                                            required=False, widget=_MULTI)
    keywords = forms.CharField(label=_("Text matches"), required=False, max_length=1024,
                               help_text=_('A listening-query expression, e.g. (refund OR rembours*) -"thank you".'))
    languages = forms.MultipleChoiceField(label=_("Language is one of"), choices=_LANGUAGES, required=False,
                                          widget=_MULTI)
    platforms = forms.MultipleChoiceField(label=_("Platform is one of"), choices=Platform.choices, required=False,
                                          widget=_MULTI)
    min_followers = forms.IntegerField(label=_("Author has at least this many followers"), min_value=0,
                                       required=False)
    verified = forms.ChoiceField(label=_("Author is verified"), choices=_TRISTATE, required=False)
    customer_tiers = forms.CharField(label=_("Customer tier is one of"), required=False, max_length=500,
                                     help_text=_("Comma-separated. Never matches a mention whose author is not "
                                                 "linked to a customer."))
    customer_vip = forms.ChoiceField(label=_("Customer is VIP"), choices=_TRISTATE, required=False)
    queries = forms.ModelMultipleChoiceField(label=_("Found by one of the listening queries"),
                                             queryset=ListeningQuery.objects.none(), required=False, widget=_MULTI)
    # Actions.
    department = forms.ModelChoiceField(label=_("Send to department (opens an alert)"),
                                        queryset=Department.objects.none(), required=False)
    priority = forms.ChoiceField(label=_("Set priority"), choices=[("", "—"), *Priority.choices], required=False)
    assign = _MemberChoice(label=_("Assign to"), queryset=Membership.objects.none(), required=False)
    tags = forms.CharField(label=_("Add tags"), required=False, max_length=500, help_text=_("Comma-separated."))
    notify = _MembersChoice(label=_("Notify in the app"), queryset=Membership.objects.none(), required=False,
                            widget=_MULTI)
    notify_email = forms.BooleanField(label=_("Also by e-mail"), required=False)
    webhook_url = forms.URLField(label=_("Call a webhook (URL)"), required=False, max_length=500, assume_scheme="https")
    webhook_secret = forms.CharField(label=_("Webhook signing secret"), required=False, min_length=16, max_length=200,
                                     help_text=_("The receiver checks the X-Signature-256 header (HMAC-SHA256)."))
    last_n = forms.TypedChoiceField(label=_("Dry run on the last"), choices=[(n, n) for n in DRY_RUN_SIZES],
                                    coerce=int, initial=200, required=False)

    def __init__(self, *args, tenant_id: int, **kwargs):
        super().__init__(*args, **kwargs)
        members = Membership.objects.filter(tenant_id=tenant_id).select_related("user").order_by("user__email")
        self.fields["topics"].queryset = Topic.objects.filter(tenant_id=tenant_id).order_by("name")
        self.fields["queries"].queryset = ListeningQuery.objects.filter(tenant_id=tenant_id).order_by("name")
        self.fields["department"].queryset = Department.objects.filter(tenant_id=tenant_id)
        self.fields["assign"].queryset = members
        self.fields["notify"].queryset = members

    def rule(self) -> tuple[list[dict], list[dict]]:
        """The cleaned fields as (conditions, actions) of the rule language."""
        d = self.cleaned_data
        c: list[dict] = []
        if d.get("sentiment"):
            c.append({"field": "sentiment", "op": "in", "value": d["sentiment"]})
        for op in ("below", "above"):
            if d.get(f"confidence_{op}") is not None:
                c.append({"field": "confidence", "op": op, "value": d[f"confidence_{op}"]})
        for name, field in (("needs_review", "needs_review"), ("verified", "author_verified"),
                            ("customer_vip", "customer_vip")):
            if d.get(name):
                c.append({"field": field, "op": "is", "value": d[name] == YES})
        if d.get("topics"):
            c.append({"field": "topic", "op": "in", "value": [t.pk for t in d["topics"]]})
        if d.get("keywords", "").strip():
            c.append({"field": "keywords", "op": "matches", "value": d["keywords"].strip()})
        for name, field in (("languages", "language"), ("platforms", "platform")):
            if d.get(name):
                c.append({"field": field, "op": "in", "value": d[name]})
        if d.get("min_followers") is not None:
            c.append({"field": "author_followers", "op": "gte", "value": d["min_followers"]})
        if _list(d.get("customer_tiers", "")):
            c.append({"field": "customer_tier", "op": "in", "value": _list(d["customer_tiers"])})
        if d.get("queries"):
            c.append({"field": "matched_query", "op": "in", "value": [q.pk for q in d["queries"]]})
        a: list[dict] = []
        if d.get("department"):
            a.append({"type": "route", "department": d["department"].pk})
        if d.get("priority"):
            a.append({"type": "priority", "value": d["priority"]})
        if d.get("assign"):
            a.append({"type": "assign", "member": d["assign"].pk})
        if _list(d.get("tags", "")):
            a.append({"type": "tags", "value": _list(d["tags"])})
        if d.get("notify"):
            a.append({"type": "notify", "members": [m.pk for m in d["notify"]], "email": bool(d.get("notify_email"))})
        if d.get("webhook_url"):
            a.append({"type": "webhook", "url": d["webhook_url"], "secret": d.get("webhook_secret") or ""})
        return c, a


def rule_initial(rule) -> dict:
    """The form's initial values from a stored rule (the inverse of ``RoutingRuleForm.rule``)."""
    initial = {"name": rule.name, "is_active": rule.is_active, "stop": "stop" if rule.stop_processing else "continue",
               "last_n": 200}
    for c in rule.conditions:
        f, v = c["field"], c["value"]
        key = {"sentiment": "sentiment", "topic": "topics", "keywords": "keywords", "language": "languages",
               "platform": "platforms", "author_followers": "min_followers", "matched_query": "queries",
               "needs_review": "needs_review", "author_verified": "verified", "customer_vip": "customer_vip",
               "customer_tier": "customer_tiers"}.get(f, f)
        if f == "confidence":
            key = f"confidence_{c['op']}"
        if isinstance(v, bool):
            v = YES if v else NO
        if f == "customer_tier":
            v = ", ".join(v)
        initial[key] = v
    for a in rule.actions:
        if a["type"] == "route":
            initial["department"] = a["department"]
        elif a["type"] == "priority":
            initial["priority"] = a["value"]
        elif a["type"] == "assign":
            initial["assign"] = a["member"]
        elif a["type"] == "tags":
            initial["tags"] = ", ".join(a["value"])
        elif a["type"] == "notify":
            initial["notify"], initial["notify_email"] = a["members"], a["email"]
        elif a["type"] == "webhook":
            initial["webhook_url"], initial["webhook_secret"] = a["url"], a["secret"]
    return initial


_SPANS = re.compile(r"^\s*(\d{2}:\d{2})\s*-\s*(\d{2}:\d{2})\s*$")
# Django's own catalog says "lundi" (dates in sentences); the project catalog must agree, as it
# takes precedence, so the labels are capitalised here.
DAY_LABELS = {key: capfirst(label) for key, label in {
    "mon": _("Monday"), "tue": _("Tuesday"), "wed": _("Wednesday"), "thu": _("Thursday"),
    "fri": _("Friday"), "sat": _("Saturday"), "sun": _("Sunday")}.items()}


class SlaPolicyForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    priority = forms.ChoiceField(label=_("For priority"), choices=[("", _("Any (use as a fallback)")),
                                                                  *Priority.choices], required=False)
    is_default = forms.BooleanField(label=_("Default policy"), required=False,
                                    help_text=_("Used for conversations whose priority has no policy of its own."))
    first_response_minutes = forms.IntegerField(label=_("First response within (business minutes)"), min_value=1,
                                                max_value=525600)
    resolution_minutes = forms.IntegerField(label=_("Resolution within (business minutes)"), min_value=1,
                                            max_value=525600)
    time_zone = forms.ChoiceField(label=_("Time zone"), choices=[(z, z) for z in sorted(zoneinfo.available_timezones())],
                                  initial="Europe/Paris")
    holidays = forms.CharField(label=_("Holidays"), required=False, widget=forms.Textarea(attrs={"rows": 3}),
                               help_text=_("One date per line, YYYY-MM-DD."))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for day in DAYS:
            self.fields[f"hours_{day}"] = forms.CharField(
                label=DAY_LABELS[day], required=False, max_length=100,
                help_text=_("e.g. 09:00-12:00, 14:00-18:00; empty: closed") if day == "mon" else "")

    def day_fields(self):
        return [self[f"hours_{day}"] for day in DAYS]

    def business_hours(self) -> dict:
        """The weekday fields as {"mon": [["09:00", "18:00"]], ...}; a span that cannot be read
        is a field error of that day."""
        hours = {}
        for day in DAYS:
            spans = []
            for part in _list(self.cleaned_data.get(f"hours_{day}", "")):
                match = _SPANS.match(part)
                if not match:
                    self.add_error(f"hours_{day}", _("Write spans as HH:MM-HH:MM, separated by commas."))
                    break
                spans.append([match.group(1), match.group(2)])
            hours[day] = spans
        return hours


def sla_initial(policy) -> dict:
    initial = {"name": policy.name, "priority": policy.priority, "is_default": policy.is_default,
               "first_response_minutes": policy.first_response_minutes, "resolution_minutes": policy.resolution_minutes,
               "time_zone": policy.time_zone, "holidays": "\n".join(policy.holidays)}
    for day in DAYS:
        initial[f"hours_{day}"] = ", ".join(f"{a}-{b}" for a, b in policy.business_hours.get(day, []))
    return initial


class AlertCommentForm(forms.Form):
    body = forms.CharField(label=_("Comment"), widget=forms.Textarea(attrs={"rows": 2}), max_length=5000)


class EscalationDelayForm(forms.Form):
    minutes = forms.IntegerField(label=_("Escalate unacknowledged alerts after (minutes)"), min_value=1,
                                 max_value=10080)
