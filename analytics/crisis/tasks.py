"""Crisis detection on Celery: beat runs ``fanout_crisis_scans`` every 10 minutes (social_crm/celery.py),
which queues one ``crisis_scan`` per active tenant (the "default" queue)."""

from __future__ import annotations

from celery import shared_task

from social_crm.tenancy.models import Tenant
from social_crm.tenancy.scope import dangerously_cross_tenant
from social_crm.tenancy.tasks import tenant_task


@tenant_task(name="analytics.crisis.tasks.crisis_scan")
def crisis_scan(tenant_id: int) -> list[int]:
    """Recount the tenant's changed hours and raise the alerts of unusual ones (actions.crisis_scan).
    Idempotent (upserted counts, one alert per query and hour), so a redelivery is harmless; no
    retry: the next hour's pass recounts and judges the same hours again."""
    from .actions import crisis_scan as scan

    return [alert.pk for alert in scan(tenant_id)]


@shared_task(name="analytics.crisis.tasks.fanout_crisis_scans")
def fanout_crisis_scans() -> int:
    """Beat: one crisis_scan per active tenant (reading the tenant list is not tenant data)."""
    with dangerously_cross_tenant("beat fan-out: list active tenants"):
        ids = list(Tenant.objects.filter(is_active=True).values_list("pk", flat=True))
    for tenant_id in ids:
        crisis_scan.delay(tenant_id)
    return len(ids)
