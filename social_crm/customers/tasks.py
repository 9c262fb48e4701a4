"""Celery tasks of the customers app (default queue)."""

from __future__ import annotations

from celery import shared_task

from social_crm.tenancy.scope import dangerously_cross_tenant
from social_crm.tenancy.tasks import tenant_task

SUGGEST_BATCH = 200  # authors per task run: a few seconds of queries; the rest is re-queued


@tenant_task(name="social_crm.customers.tasks.customers_suggest", acks_late=True, ignore_result=True)
def customers_suggest(tenant_id: int, author_ids: list[int]) -> int:
    """Create or refresh the SocialIdentity of each listening Author and store its link
    suggestions. Called by the ingestion when new authors appear. Idempotent (unique
    identities, one suggestion row per pair), so acks_late redelivery is safe; not retried:
    a failure is a bug, the next mention of the author runs it again. Returns the number of
    pending suggestions of this batch."""
    from .linking import suggest_for_authors

    ids = sorted({int(a) for a in author_ids})
    if len(ids) > SUGGEST_BATCH:
        customers_suggest.delay(tenant_id, ids[SUGGEST_BATCH:])
        ids = ids[:SUGGEST_BATCH]
    return suggest_for_authors(tenant_id, ids)


@tenant_task(name="social_crm.customers.tasks.retention_tenant", acks_late=True, ignore_result=True)
def retention_tenant(tenant_id: int) -> int:
    """Anonymise the tenant's mentions older than its retention period, one batch per run; a
    full batch re-queues itself. Idempotent (anonymised mentions no longer match), not retried:
    the next beat runs it again."""
    from .gdpr import RETENTION_BATCH, retention_apply

    done = retention_apply(tenant_id)
    if done >= RETENTION_BATCH:
        retention_tenant.delay(tenant_id)
    return done


@shared_task(name="social_crm.customers.tasks.fanout_retention")
def fanout_retention() -> int:
    """Beat: one retention_tenant task per tenant with a retention period."""
    from .models import PrivacySettings

    with dangerously_cross_tenant("beat fan-out: tenants with a retention period"):
        ids = list(PrivacySettings.objects.filter(retention_days__gt=0, tenant__is_active=True)
                   .values_list("tenant_id", flat=True))
    for tenant_id in ids:
        retention_tenant.delay(tenant_id)
    return len(ids)
