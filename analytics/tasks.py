"""Scheduled e-mail reports on Celery: beat runs ``fanout_reports(kind)`` hourly
(social_crm/celery.py); it queues ``send_reports`` for each active tenant whose local time is
the sending hour (7:00; Mondays only for the weekly report). A tenant's period is sent once
(ReportRun), so a redelivery or a second fan-out in the same hour sends nothing."""

from __future__ import annotations

import zoneinfo
from datetime import datetime

from celery import shared_task
from django.utils import timezone

from social_crm.tenancy.models import Tenant
from social_crm.tenancy.scope import dangerously_cross_tenant
from social_crm.tenancy.tasks import tenant_task

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
