"""Inbox tasks: they take ids, run in the tenant's scope and are idempotent."""

from __future__ import annotations

import logging

from celery import shared_task  # noqa: F401
from django.db import InterfaceError, OperationalError
from django.utils import timezone

logger = logging.getLogger(__name__)

# --- Conversations (inbox/conversations.py) -----------------------------------------------------


@shared_task(name="inbox.tasks.inbox_attach", acks_late=True, ignore_result=True,
             autoretry_for=(OperationalError, InterfaceError), retry_backoff=True, retry_jitter=True, max_retries=10)
def inbox_attach(tenant_id: int, mention_ids: list[int]) -> list[int]:
    """Put newly tagged mentions into conversations (queued after NLP tagging), then route them.
    Idempotent (a mention already attached is skipped), so acks_late is safe; a database outage
    retries with backoff. A deactivated or missing tenant is skipped."""
    from social_crm.tenancy.models import Tenant

    from .conversations import attach_mentions

    if not Tenant.objects.filter(pk=tenant_id, is_active=True).exists():
        return []
    conversation_ids = attach_mentions(tenant_id, mention_ids)
    if conversation_ids:
        _suggest_customers(tenant_id, conversation_ids)
    return conversation_ids


def _suggest_customers(tenant_id: int, conversation_ids: list[int]) -> None:
    """The authors of these conversations get their social identity and link suggestions
    (social_crm.customers), on the default queue."""
    from social_crm.customers.tasks import customers_suggest
    from social_crm.tenancy.scope import tenant_context

    from .models import Conversation

    with tenant_context(tenant_id):
        author_ids = sorted(set(Conversation.objects.filter(tenant_id=tenant_id, pk__in=conversation_ids,
                                                            author__isnull=False).values_list("author_id", flat=True)))
    if author_ids:
        customers_suggest.apply_async((tenant_id, author_ids))


# --- Routing, alerts, escalations and SLA timers (inbox/routing.py, inbox/alerts.py, inbox/sla.py)

import random  # noqa: E402  (this section's imports stay in this section)

from social_crm.tenancy.tasks import tenant_task  # noqa: E402

WEBHOOK_MAX_RETRIES = 6  # about 1 + 2 + 4 + ... 32 minutes of backoff (with jitter) before giving up


@shared_task(name="inbox.tasks.deliver_routing_webhook", bind=True, acks_late=True, ignore_result=True,
             max_retries=WEBHOOK_MAX_RETRIES)
def deliver_routing_webhook(self, tenant_id: int, event_id: int, action_index: int) -> str:
    """POST a routing decision (the "routed" ConversationEvent) as JSON to the rule's webhook,
    signed ``X-Signature-256: sha256=<HMAC-SHA256(secret, body)>``; ``X-Delivery-Id`` is the same
    on every attempt so a receiver can drop duplicates. No transaction is open during the HTTP
    call. Retries transient failures with exponential backoff and jitter; a 4xx or the last
    failed attempt records a "webhook_failed" event. The routing decision itself was committed
    before this task was queued and never depends on it. Returns "sent", "failed" or "skipped"."""
    from .routing_webhooks import WebhookTransient, record_webhook_outcome, routing_webhook_request, send_signed

    if not isinstance(tenant_id, int):
        raise TypeError(f"deliver_routing_webhook: the first argument must be a tenant id, got {tenant_id!r}")
    request = routing_webhook_request(tenant_id, event_id, action_index)
    if request is None:
        return "skipped"
    try:
        send_signed(request)
    except WebhookTransient as exc:
        if self.request.retries < self.max_retries:
            countdown = min(3600, 60 * 2 ** self.request.retries) * random.uniform(0.5, 1.0)  # noqa: S311
            raise self.retry(exc=exc, countdown=countdown) from exc
        record_webhook_outcome(tenant_id, event_id, request, error=str(exc), attempts=self.request.retries + 1)
        return "failed"
    except ValueError as exc:  # a 4xx: the receiver refuses it, retrying cannot help
        record_webhook_outcome(tenant_id, event_id, request, error=str(exc), attempts=self.request.retries + 1)
        return "failed"
    record_webhook_outcome(tenant_id, event_id, request, error="", attempts=self.request.retries + 1)
    return "sent"


def _tenants_with(model, reason: str, **filters) -> list[int]:
    from social_crm.tenancy.scope import dangerously_cross_tenant

    with dangerously_cross_tenant(reason):
        return sorted(set(model.objects.filter(tenant__is_active=True, **filters)
                          .values_list("tenant_id", flat=True).distinct()))


@tenant_task(name="inbox.tasks.escalate_alerts", acks_late=True, ignore_result=True,
             autoretry_for=(OperationalError, InterfaceError), retry_backoff=True, retry_jitter=True, max_retries=5)
def escalate_alerts(tenant_id: int) -> list[int]:
    """Escalate the tenant's overdue unacknowledged alerts (inbox/alerts.py escalate_due).
    Idempotent; a database outage retries with backoff."""
    from .alerts import escalate_due

    return escalate_due(tenant_id)


@shared_task(name="inbox.tasks.fanout_alert_escalations", ignore_result=True)
def fanout_alert_escalations() -> int:
    """Beat (every minute): one escalate_alerts task per tenant with an overdue alert."""
    from django.utils import timezone

    from .alerts import UNACKNOWLEDGED
    from .models import Alert

    ids = _tenants_with(Alert, "beat fan-out: tenants with overdue alerts", status__in=UNACKNOWLEDGED,
                        escalate_at__lte=timezone.now())
    for tenant_id in ids:
        escalate_alerts.delay(tenant_id)
    return len(ids)


@tenant_task(name="inbox.tasks.check_sla_breaches", acks_late=True, ignore_result=True,
             autoretry_for=(OperationalError, InterfaceError), retry_backoff=True, retry_jitter=True, max_retries=5)
def check_sla_breaches(tenant_id: int) -> int:
    """Record the tenant's new SLA breaches (inbox/sla.py check_breaches). Idempotent."""
    from .sla import check_breaches

    return len(check_breaches(tenant_id))


@shared_task(name="inbox.tasks.fanout_sla_breaches", ignore_result=True)
def fanout_sla_breaches() -> int:
    """Beat (every minute): one check_sla_breaches task per tenant with an SLA policy."""
    from .models import SlaPolicy

    ids = _tenants_with(SlaPolicy, "beat fan-out: tenants with SLA policies")
    for tenant_id in ids:
        check_sla_breaches.delay(tenant_id)
    return len(ids)


@tenant_task(name="inbox.tasks.send_alert_digest", acks_late=True, ignore_result=True,
             autoretry_for=(OperationalError, InterfaceError), retry_backoff=True, retry_jitter=True, max_retries=5)
def send_alert_digest_task(tenant_id: int) -> list[str]:
    """The daily digest e-mail of open alerts to each department head. Once a day per tenant."""
    from .alerts import send_alert_digest

    return send_alert_digest(tenant_id)


@shared_task(name="inbox.tasks.fanout_alert_digests", ignore_result=True)
def fanout_alert_digests() -> int:
    """Beat (daily): one digest task per tenant with open alerts."""
    from .alerts import OPEN_STATES
    from .models import Alert

    ids = _tenants_with(Alert, "beat fan-out: tenants with open alerts", status__in=OPEN_STATES)
    for tenant_id in ids:
        send_alert_digest_task.delay(tenant_id)
    return len(ids)


PUBLISH_MAX_RETRIES = 8  # transient failures: about 1 + 2 + 4 ... 128 minutes (with jitter), then "failed"


@shared_task(name="inbox.tasks.publish_reply", bind=True, acks_late=True, ignore_result=True, max_retries=None)
def publish_reply(self, tenant_id: int, message_id: int) -> str:
    """Publish one queued reply through the connector of its platform (inbox/replies.py has its
    life). The claim and the outcome are two short transactions; the platform call runs between
    them with no transaction open. A rate limit waits until the platform's reset time; transient
    errors retry with backoff; permanent ones (and the last retry) leave the reply "failed",
    visible and retryable. Returns "sent", "failed", "retry" or "skipped"."""
    from listening.connectors import get_connector
    from listening.connectors.base import ConnectorError, RateLimited

    from . import replies

    if not isinstance(tenant_id, int):
        raise TypeError(f"publish_reply: the first argument must be a tenant id, got {tenant_id!r}")
    job = replies.claim_for_publication(tenant_id, message_id)
    if job is None:
        return "skipped"
    connector = None
    try:
        connector = get_connector(job.account.platform)(job.account)
        published = connector.publish_reply(job.target, job.text, idempotency_key=job.idempotency_key)
    except ConnectorError as exc:
        retries = self.request.retries or 0
        final = not exc.transient or retries >= PUBLISH_MAX_RETRIES
        replies.record_failed(tenant_id, message_id, str(exc), final=final)
        if final:
            return "failed"
        if isinstance(exc, RateLimited):
            countdown = max(1.0, (exc.reset_at - timezone.now()).total_seconds())
        else:
            countdown = min(7200, 60 * 2 ** retries) * random.uniform(0.5, 1.0)  # noqa: S311 (jitter)
        raise self.retry(exc=exc, countdown=countdown) from exc
    except Exception as exc:  # a bug of ours: the reply must not stay "publishing"; the error is logged
        logger.exception("publish_reply %s/%s", tenant_id, message_id)
        replies.record_failed(tenant_id, message_id, f"internal error: {type(exc).__name__}", final=True)
        return "failed"
    finally:
        close = getattr(connector, "close", None)
        if callable(close):
            close()
    replies.record_published(tenant_id, message_id, published)
    return "sent"
