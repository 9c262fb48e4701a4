"""Webhook deliveries, on the ``webhooks`` queue (so a slow receiver never delays ingestion or
the inbox). Tasks take ids, the tenant id first."""

from __future__ import annotations

import logging

from celery import shared_task
from django.db import InterfaceError, OperationalError

logger = logging.getLogger(__name__)

SWEEP_BATCH = 1000  # due deliveries re-queued per beat run; the next run takes the rest


@shared_task(name="social_crm.webhooks.tasks.deliver_webhook", acks_late=True, ignore_result=True,
             autoretry_for=(OperationalError, InterfaceError), retry_backoff=True, retry_jitter=True, max_retries=5)
def deliver_webhook(tenant_id: int, delivery_id: int) -> str:
    """Send the delivery's next attempt (social_crm/webhooks/delivery.py). Idempotent: the
    attempt is claimed by a conditional UPDATE, so a duplicate or early copy of this task does
    nothing ("not due"); a receiver failure is recorded and the next attempt queued with backoff
    and jitter (the beat sweeper re-queues it if that message is lost). A database outage
    retries the task itself. No transaction is open during the HTTP request. A deactivated
    tenant's delivery is left as it is."""
    from social_crm.tenancy.tasks import tenant_is_active

    from . import delivery

    if not tenant_is_active("deliver_webhook", tenant_id):
        return "tenant inactive"
    claimed = delivery.claim(tenant_id, delivery_id)
    if claimed is None:
        return "not due"
    outcome = delivery.send(claimed)
    status, delay = delivery.record(tenant_id, claimed, outcome)
    if delay is not None:
        deliver_webhook.apply_async((tenant_id, delivery_id), countdown=delay)
    return status


@shared_task(name="social_crm.webhooks.tasks.fanout_webhook_deliveries", ignore_result=True)
def fanout_webhook_deliveries() -> int:
    """Beat (every minute): re-queue deliveries that are due but whose task seems lost (a Redis
    restart, a worker killed mid-attempt whose lease ran out). Copies are harmless: the claim
    lets one through. Reads ids across tenants (one named path); each delivery runs scoped."""
    from social_crm.tenancy.tasks import requeue_overdue

    from .models import CLAIMABLE, WebhookDelivery

    return requeue_overdue(WebhookDelivery, CLAIMABLE, deliver_webhook, batch=SWEEP_BATCH,
                           reason="beat: webhook deliveries due but not picked up")
