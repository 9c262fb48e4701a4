"""Scheduled e-mail reports (README "Reports"): the weekly e-reputation report and the daily care
digest, per tenant, each e-mail rendered in its recipient's language.

The figures come from the dashboard's own functions (selectors.py, care.py): nothing is
recomputed here. ``send_reports`` is idempotent: a ReportRun row is unique per (tenant, kind,
period), so a redelivered task, or the hourly fan-out firing twice in the sending hour, sends
nothing the second time. E-mails leave after commit.
"""

from __future__ import annotations

import zoneinfo
from datetime import date, datetime, timedelta

from django.conf import settings as django_settings
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _

from social_crm.tenancy.models import Membership, Tenant
from social_crm.tenancy.scope import tenant_context

from . import care, selectors
from .filters import FilterSerializer, Filters
from .models import ReportKind, ReportRun, ReportSubscription

SEND_HOUR = 7  # tenant-local hour of the scheduled sends
WEEKLY_DAY = 0  # Monday


def period_filters(tenant: Tenant, first: date, last: date) -> Filters:
    """The dashboard's filters for these local days of the tenant (the API's own validation)."""
    serializer = FilterSerializer(data={"from": first.isoformat(), "to": last.isoformat(), "tz": tenant.timezone},
                                  context={"tenant": tenant})
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def reputation_figures(tenant_id: int, f: Filters) -> dict:
    """Volume, net sentiment, share of voice, reach, engagement rate of one period."""
    reach = selectors.reach(tenant_id, f)
    return {"first_day": f.first_day, "last_day": f.last_day, "volume": selectors.volume(tenant_id, f)["total"],
            "net_sentiment": selectors.net_sentiment(tenant_id, f)["net_sentiment"],
            "brand_share": selectors.share_of_voice(tenant_id, f)["brand_share"], "reach": reach["reach"],
            "engagement_rate": reach["engagement_rate"]}


def build_weekly_reputation(tenant_id: int, end: date) -> dict:
    """The 7 local days ending ``end`` (inclusive) against the 7 before, and the week's top topics."""
    with tenant_context(tenant_id):
        tenant = Tenant.objects.get(pk=tenant_id)
        f = period_filters(tenant, end - timedelta(days=6), end)
        current, previous = reputation_figures(tenant_id, f), reputation_figures(tenant_id, f.previous())
        topics = [{"name": r["name"], "mentions": r["mentions"], "net_sentiment": r["net_sentiment"]}
                  for r in selectors.top_topics(tenant_id, Filters(**{**f.__dict__, "limit": 5}))["rows"]]
    return {"kind": ReportKind.WEEKLY_REPUTATION.value, "tenant": tenant.name, "tz": tenant.timezone,
            "current": current, "previous": previous, "top_topics": topics}


def build_daily_care(tenant_id: int, day: date) -> dict:
    """The care figures of one local day: first response and resolution times, SLA breaches,
    backlog, and the same per department."""
    with tenant_context(tenant_id):
        tenant = Tenant.objects.get(pk=tenant_id)
        args = {"start": day, "end": day, "tz": tenant.timezone}
        figures = care.care_metrics(tenant_id, **args)  # one statement gives the summary and the departments
    figures.pop("sentiment_shift")
    figures.pop("by_agent")
    return {"kind": ReportKind.DAILY_CARE.value, "tenant": tenant.name, "tz": tenant.timezone, "day": day, **figures}


def report_period(kind: str, local_today: date) -> tuple[date, date]:
    """What a send on ``local_today`` reports on: the week or the day that just ended."""
    last = local_today - timedelta(days=1)
    return (last - timedelta(days=6), last) if kind == ReportKind.WEEKLY_REPUTATION else (last, last)


def build(tenant_id: int, kind: str, first: date, last: date) -> dict:
    return build_weekly_reputation(tenant_id, last) if kind == ReportKind.WEEKLY_REPUTATION \
        else build_daily_care(tenant_id, last)


def recipients(tenant_id: int, kind: str) -> list:
    """Active subscribers still active members of the tenant, in user order."""
    members = Membership.objects.filter(tenant_id=tenant_id, user__is_active=True).values_list("user_id", flat=True)
    subs = ReportSubscription.objects.filter(tenant_id=tenant_id, kind=kind, is_active=True, user_id__in=members)
    return [s.user for s in subs.select_related("user").order_by("user_id")]


def send_reports(tenant_id: int, kind: str, *, now: datetime | None = None) -> int:
    """Send the report of the period that just ended to every subscriber, once: returns the
    number of e-mails queued (0 when this period was already sent or has no recipient)."""
    ReportKind(kind)
    with tenant_context(tenant_id):
        tenant = Tenant.objects.get(pk=tenant_id)
        local_today = (now or timezone.now()).astimezone(zoneinfo.ZoneInfo(tenant.timezone)).date()
        first, last = report_period(kind, local_today)
        try:
            with transaction.atomic():
                run = ReportRun.objects.create(tenant_id=tenant_id, kind=kind, period_start=first, period_end=last)
        except IntegrityError:
            return 0
        data = build(tenant_id, kind, first, last)
        users = [u for u in recipients(tenant_id, kind) if u.email]
        for user in users:
            _queue_email(tenant, kind, data, user)
        run.recipients = len(users)
        run.save(update_fields=["recipients"])
        return len(users)


def send_preview(tenant_id: int, kind: str, user, *, now: datetime | None = None) -> None:
    """The report of the period that just ended, to ``user`` only, now (no ReportRun)."""
    ReportKind(kind)
    with tenant_context(tenant_id):
        tenant = Tenant.objects.get(pk=tenant_id)
        local_today = (now or timezone.now()).astimezone(zoneinfo.ZoneInfo(tenant.timezone)).date()
        first, last = report_period(kind, local_today)
        _queue_email(tenant, kind, build(tenant_id, kind, first, last), user)


def subscription_set(tenant_id: int, *, user, kind: str, active: bool) -> ReportSubscription:
    """Subscribe or unsubscribe ``user`` (a member) to ``kind``. Idempotent."""
    ReportKind(kind)
    with tenant_context(tenant_id):
        sub, _created = ReportSubscription.objects.update_or_create(tenant_id=tenant_id, user=user, kind=kind,
                                                                   defaults={"is_active": active})
        return sub


# --- Rendering --------------------------------------------------------------------------------


def _percent(value) -> str:
    return "—" if value is None else formats.number_format(round(100 * value, 1), 1) + " %"


def _signed(value) -> str:
    return "—" if value is None else ("+" if value > 0 else "") + formats.number_format(round(100 * value, 1), 1)


def _duration(seconds) -> str:
    if seconds is None:
        return "—"
    minutes = round(seconds / 60)
    if minutes < 60:
        return _("%(m)s min") % {"m": minutes}
    return _("%(h)s h %(m)02d min") % {"h": minutes // 60, "m": minutes % 60}


def _change(now, then, fmt) -> str:
    if now is None or then is None:
        return "—"
    return fmt(now - then) if fmt is _signed else ("+" if now > then else "") + formats.number_format(now - then)


def display(data: dict) -> dict:
    """The figures as the e-mail shows them, formatted in the active language."""
    if data["kind"] == ReportKind.WEEKLY_REPUTATION:
        cur, prev = data["current"], data["previous"]
        rows = [
            (_("Mentions"), formats.number_format(cur["volume"]), formats.number_format(prev["volume"]),
             _change(cur["volume"], prev["volume"], None)),
            (_("Net sentiment"), _signed(cur["net_sentiment"]), _signed(prev["net_sentiment"]),
             _change(cur["net_sentiment"], prev["net_sentiment"], _signed)),
            (_("Own brand's share"), _percent(cur["brand_share"]), _percent(prev["brand_share"]),
             _change(cur["brand_share"], prev["brand_share"], _signed)),
            (_("Reach"), formats.number_format(cur["reach"]), formats.number_format(prev["reach"]),
             _change(cur["reach"], prev["reach"], None)),
            (_("Engagement rate"), _percent(cur["engagement_rate"]), _percent(prev["engagement_rate"]),
             _change(cur["engagement_rate"], prev["engagement_rate"], _signed)),
        ]
        topics = [(t["name"], formats.number_format(t["mentions"]), _signed(t["net_sentiment"]))
                  for t in data["top_topics"]]
        return {"rows": rows, "topics": topics, "period": _period(cur["first_day"], cur["last_day"]),
                "previous_period": _period(prev["first_day"], prev["last_day"])}
    rows = [
        (_("First response (median / p90)"),
         f"{_duration(data['first_response']['median_seconds'])} / {_duration(data['first_response']['p90_seconds'])}"),
        (_("Resolution (median / p90)"),
         f"{_duration(data['resolution']['median_seconds'])} / {_duration(data['resolution']['p90_seconds'])}"),
        (_("SLA breaches (first response / resolution)"),
         f"{data['sla_breaches']['first_response']} / {data['sla_breaches']['resolution']}"),
        (_("Backlog"), formats.number_format(data["backlog"])),
    ]
    departments = [(d["name"], d["conversations"], _duration(d["first_response_median_seconds"]),
                    _duration(d["resolution_median_seconds"]), d["sla_breaches"], d["backlog"])
                   for d in data["by_department"]]
    return {"rows": rows, "departments": departments, "period": formats.date_format(data["day"], "DATE_FORMAT")}


def _period(first: date, last: date) -> str:
    return f"{formats.date_format(first, 'DATE_FORMAT')} – {formats.date_format(last, 'DATE_FORMAT')}"


def render_email(tenant: Tenant, kind: str, data: dict, user) -> tuple[str, str, str]:
    """(subject, text, html) in the active language."""
    if kind == ReportKind.WEEKLY_REPUTATION:
        subject = _("Weekly e-reputation report: %(tenant)s") % {"tenant": tenant.name}
    else:
        subject = _("Daily care digest: %(tenant)s") % {"tenant": tenant.name}
    page = reverse("analytics-dashboard", kwargs={"tenant_slug": tenant.slug})
    settings_page = reverse("analytics-reports", kwargs={"tenant_slug": tenant.slug})
    context = {"tenant": tenant, "user": user, "subject": subject, "data": data, **display(data),
               "dashboard_url": f"{django_settings.SITE_URL}{page}",
               "settings_url": f"{django_settings.SITE_URL}{settings_page}"}
    name = "reputation" if kind == ReportKind.WEEKLY_REPUTATION else "care"
    return (subject, render_to_string(f"analytics/email/{name}.txt", context),
            render_to_string(f"analytics/email/{name}.html", context))


def _queue_email(tenant: Tenant, kind: str, data: dict, user) -> None:
    with translation.override(user.language or tenant.default_language):
        subject, text, html = render_email(tenant, kind, data, user)
    message = EmailMultiAlternatives(subject, text, None, [user.email])
    message.attach_alternative(html, "text/html")
    transaction.on_commit(lambda m=message: m.send(fail_silently=True))
