"""Scheduled e-mail reports (README "Reports"): the weekly e-reputation report and the daily care
digest, per tenant, each e-mail rendered in its recipient's language.

The figures come from the dashboard's own functions (selectors.py, care.py): nothing is
recomputed here. ``send_reports`` is idempotent: a ReportRun row is unique per (tenant, kind,
period), so a redelivered task, or the hourly fan-out firing twice in the sending hour, sends
nothing the second time. Each e-mail is a ``ReportDelivery`` (rendered once), sent after commit by
``tasks.deliver_report`` with retries and backoff; the last failure notifies the tenant's admins,
and the reports page shows the log with a "Send again".
"""

from __future__ import annotations

import zoneinfo
from datetime import date, datetime, timedelta

from django.conf import settings as django_settings
from django.core.mail import EmailMultiAlternatives
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _

from social_crm.tenancy.access import scoped_get
from social_crm.tenancy.actions import audit_record
from social_crm.tenancy.models import Membership, Notification, Tenant
from social_crm.tenancy.permissions import Role
from social_crm.tenancy.scope import tenant_context

from . import care, selectors
from .filters import FilterSerializer, Filters
from .models import (REPORT_CLAIMABLE, ReportDelivery, ReportDeliveryStatus, ReportKind, ReportRun,
                     ReportSubscription)

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
    """Build the report of the period that just ended and queue one delivery per subscriber,
    once: returns the number of deliveries queued (0 when this period was already sent or has no
    recipient). Each e-mail is rendered now and sent by ``deliver_report`` after commit."""
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
            _queue_delivery(tenant, kind, data, user, run=run)
        run.recipients = len(users)
        run.save(update_fields=["recipients"])
        return len(users)


def send_preview(tenant_id: int, kind: str, user, *, now: datetime | None = None) -> ReportDelivery:
    """The report of the period that just ended, to ``user`` only, now (no ReportRun; the
    delivery is in the log like the scheduled ones)."""
    ReportKind(kind)
    with tenant_context(tenant_id):
        tenant = Tenant.objects.get(pk=tenant_id)
        local_today = (now or timezone.now()).astimezone(zoneinfo.ZoneInfo(tenant.timezone)).date()
        first, last = report_period(kind, local_today)
        return _queue_delivery(tenant, kind, build(tenant_id, kind, first, last), user, run=None)


# --- Delivery ---------------------------------------------------------------------------------
#
# At least once: the attempt is claimed by a conditional UPDATE (a duplicate task finds it taken
# or sent), the SMTP conversation happens outside any transaction, and the outcome is recorded
# after. A worker killed between the server's acceptance and the record leaves the claim to run
# out (LEASE), and the e-mail is sent again: a rare duplicate rather than a silent loss.

MAX_ATTEMPTS = 5
LEASE = timedelta(minutes=5)
BACKOFF = timedelta(minutes=1)  # 1, 2, 4, 8 minutes between the attempts
ERROR_LIMIT = 1000


def _queue_delivery(tenant: Tenant, kind: str, data: dict, user, *, run: ReportRun | None) -> ReportDelivery:
    from .tasks import deliver_report

    with translation.override(user.language or tenant.default_language):
        subject, text, html = render_email(tenant, kind, data, user)
    delivery = ReportDelivery.objects.create(tenant_id=tenant.pk, run=run, kind=kind, user=user, email=user.email,
                                             subject=subject[:300], text_body=text, html_body=html)
    transaction.on_commit(lambda: deliver_report.delay(tenant.pk, delivery.pk))
    return delivery


def claim_delivery(tenant_id: int, delivery_id: int, *, now: datetime | None = None) -> ReportDelivery | None:
    """Take the delivery's next attempt if it is due, or None (sent, failed, not due, taken)."""
    now = now or timezone.now()
    with tenant_context(tenant_id):
        taken = (ReportDelivery.objects.filter(tenant_id=tenant_id, pk=delivery_id, status__in=REPORT_CLAIMABLE,
                                               next_attempt_at__lte=now)
                 .update(status=ReportDeliveryStatus.SENDING, attempts=F("attempts") + 1, next_attempt_at=now + LEASE))
        return ReportDelivery.objects.get(tenant_id=tenant_id, pk=delivery_id) if taken else None


def send_delivery(delivery: ReportDelivery) -> str:
    """The SMTP conversation (or whatever EMAIL_BACKEND is): "" when accepted, else the error."""
    message = EmailMultiAlternatives(delivery.subject, delivery.text_body, None, [delivery.email])
    message.attach_alternative(delivery.html_body, "text/html")
    try:
        message.send(fail_silently=False)
    except Exception as exc:  # noqa: BLE001 - every backend error is the delivery's outcome, recorded below
        return f"{type(exc).__name__}: {exc}"[:ERROR_LIMIT] or type(exc).__name__
    return ""


def record_delivery(tenant_id: int, delivery: ReportDelivery, error: str, *,
                    now: datetime | None = None) -> tuple[str, float | None]:
    """Store the attempt's outcome: (status, seconds until the next attempt or None). The last
    failed attempt notifies the tenant's admins in the app."""
    now = now or timezone.now()
    with tenant_context(tenant_id), transaction.atomic():
        row = ReportDelivery.objects.select_for_update().get(tenant_id=tenant_id, pk=delivery.pk)
        if row.status != ReportDeliveryStatus.SENDING or row.attempts != delivery.attempts:
            return row.status, None  # our lease ran out and another attempt took over
        row.last_error = error
        delay = None
        if not error:
            row.status, row.sent_at = ReportDeliveryStatus.SENT, now
        elif row.attempts < MAX_ATTEMPTS:
            wait = BACKOFF * 2 ** (row.attempts - 1)
            row.status, row.next_attempt_at, delay = ReportDeliveryStatus.QUEUED, now + wait, wait.total_seconds()
        else:
            row.status = ReportDeliveryStatus.FAILED
            _notify_failed(tenant_id, row)
        row.save(update_fields=["status", "sent_at", "next_attempt_at", "last_error"])
        return row.status, delay


def _notify_failed(tenant_id: int, delivery: ReportDelivery) -> None:
    tenant = Tenant.objects.get(pk=tenant_id)
    url = reverse("analytics-reports", kwargs={"tenant_slug": tenant.slug})
    admins = Membership.objects.filter(tenant_id=tenant_id, role=Role.ADMIN, user__is_active=True).select_related("user")
    for membership in admins:
        with translation.override(membership.user.language or tenant.default_language):
            Notification.objects.create(
                tenant_id=tenant_id, user=membership.user, kind="report_delivery_failed",
                title=_("A report e-mail could not be sent")[:200],
                body=_("%(report)s to %(email)s failed %(attempts)s times: %(error)s") % {
                    "report": ReportKind(delivery.kind).label, "email": delivery.email,
                    "attempts": delivery.attempts, "error": delivery.last_error},
                url=url)


def delivery_retry(tenant_id: int, *, actor, delivery_id: int) -> ReportDelivery:
    """An admin sends a failed delivery again (the same e-mail, a fresh set of attempts)."""
    from .tasks import deliver_report

    with tenant_context(tenant_id), transaction.atomic():
        row = scoped_get(ReportDelivery.objects.select_for_update(), tenant_id, delivery_id)
        if row.status != ReportDeliveryStatus.FAILED:
            raise ValidationError({"delivery": _("Only a failed delivery can be sent again.")})
        row.status, row.attempts, row.next_attempt_at = ReportDeliveryStatus.QUEUED, 0, timezone.now()
        row.save(update_fields=["status", "attempts", "next_attempt_at"])
        audit_record(tenant_id, actor=actor, action="report.delivery_retried", target=row,
                     data={"kind": row.kind, "email": row.email})
        transaction.on_commit(lambda: deliver_report.delay(tenant_id, row.pk))
    return row


def recent_deliveries(tenant_id: int, *, user_id: int | None = None, limit: int = 50) -> list[ReportDelivery]:
    """The newest deliveries of the tenant (of ``user_id`` only, when given)."""
    with tenant_context(tenant_id):
        rows = ReportDelivery.objects.filter(tenant_id=tenant_id)
        if user_id is not None:
            rows = rows.filter(user_id=user_id)
        return list(rows.order_by("-created_at", "-id")[:limit])


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


