"""Webhook rows of the two-tenant world (called by tests/conftest.py build_world): one row of
every webhooks table, the same URL and event in both tenants. The endpoint subscribes to
crisis.detected only, so the rest of the suite (ingestion, routing) never queues deliveries;
its URL is a closed local port (nothing is ever sent there by the world)."""

from __future__ import annotations


def add_webhooks(tw) -> None:
    from social_crm.tenancy.scope import tenant_context
    from social_crm.webhooks import actions
    from social_crm.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEvent

    tid = tw.tenant.pk
    tw.webhook_endpoint, tw.webhook_secret = actions.endpoint_create(
        tid, actor=None, url="http://127.0.0.1:9/hooks", events=["crisis.detected"], description="World receiver")
    with tenant_context(tid):
        event = WebhookEvent.objects.create(tenant_id=tid, type="crisis.detected", data={"topic": "delivery"})
        tw.webhook_delivery = WebhookDelivery.objects.create(
            tenant_id=tid, event=event, endpoint=tw.webhook_endpoint, status=DeliveryStatus.FAILED, attempts=1,
            response_code=500, response_excerpt="oops", last_error="HTTP 500")
