"""Scheduled e-mail reports on Celery: beat runs ``fanout_reports(kind)`` hourly
(social_crm/celery.py); it queues ``send_reports`` for each active tenant whose local time is
the sending hour (7:00; Mondays only for the weekly report). A tenant's period is sent once
(ReportRun), so a redelivery or a second fan-out in the same hour sends nothing. Each e-mail is
then a ``ReportDelivery`` sent by ``deliver_report`` (retried with backoff; beat's
``fanout_report_deliveries`` re-queues the due ones whose task was lost)."""

from __future__ import annotations

import zoneinfo
from datetime import datetime

from celery import shared_task
from django.utils import timezone

from social_crm.tenancy.models import Tenant
from social_crm.tenancy.scope import dangerously_cross_tenant
from social_crm.tenancy.tasks import tenant_is_active, tenant_task

from .models import ReportKind
from .reports import SEND_HOUR, WEEKLY_DAY


@tenant_task(name="analytics.tasks.send_reports")
def send_reports(tenant_id: int, kind: str) -> int:
    from . import reports

    return reports.send_reports(tenant_id, kind)


def is_due(kind: str, tz: str, now: datetime) -> bool:
    local = now.astimezone(zoneinfo.ZoneInfo(tz))
    return local.hour == SEND_HOUR and (kind != ReportKind.WEEKLY_REPUTATION or local.weekday() == WEEKLY_DAY)


@shared_task(name="analytics.tasks.fanout_reports")
def fanout_reports(kind: str, now: str | None = None) -> int:
    """Beat, hourly: one send_reports per active tenant where it is the sending hour."""
    ReportKind(kind)
    at = datetime.fromisoformat(now) if now else timezone.now()
    with dangerously_cross_tenant("beat fan-out: list active tenants and their time zones"):
        tenants = list(Tenant.objects.filter(is_active=True).values_list("pk", "timezone"))
    due = [tid for tid, tz in tenants if is_due(kind, tz, at)]
    for tenant_id in due:
        send_reports.delay(tenant_id, kind)
    return len(due)


SWEEP_BATCH = 1000  # due deliveries re-queued per beat run; the next run takes the rest


@shared_task(name="analytics.tasks.deliver_report", ignore_result=True)
def deliver_report(tenant_id: int, delivery_id: int) -> str:
    """Send one report e-mail (analytics/reports.py, "Delivery"). Idempotent: the attempt is
    claimed first (its own transaction), so a duplicate or early copy of this task does nothing
    ("not due"); a refused or failed send is recorded and the next attempt queued with backoff.
    Not a ``tenant_task``: that would hold a transaction open across the SMTP conversation.
    A deactivated tenant's delivery is left as it is."""
    from . import reports

    if not tenant_is_active("deliver_report", tenant_id):
        return "tenant inactive"
    claimed = reports.claim_delivery(tenant_id, delivery_id)
    if claimed is None:
        return "not due"
    status, delay = reports.record_delivery(tenant_id, claimed, reports.send_delivery(claimed))
    if delay is not None:
        deliver_report.apply_async((tenant_id, delivery_id), countdown=delay)
    return status


@shared_task(name="analytics.tasks.fanout_report_deliveries", ignore_result=True)
def fanout_report_deliveries() -> int:
    """Beat (every minute): re-queue report deliveries that are due but whose task seems lost
    (a Redis restart, a worker killed mid-attempt whose lease ran out). Copies are harmless: the
    claim lets one through. Reads ids across tenants (one named path); each runs scoped."""
    from social_crm.tenancy.tasks import requeue_overdue

    from .models import REPORT_CLAIMABLE, ReportDelivery

    return requeue_overdue(ReportDelivery, REPORT_CLAIMABLE, deliver_report, batch=SWEEP_BATCH,
                           reason="beat: report deliveries due but not picked up")
