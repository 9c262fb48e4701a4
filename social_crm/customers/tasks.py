"""Celery tasks of the customers app (default queue)."""

from __future__ import annotations

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
