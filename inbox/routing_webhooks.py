"""Outgoing webhooks of routing rules (the task is inbox.tasks.deliver_routing_webhook).

The receiver checks ``X-Signature-256: sha256=<hex HMAC-SHA256 of the raw body, keyed with the
rule's secret>`` and may drop a repeated ``X-Delivery-Id`` (a retry after a timeout can arrive
twice). The body is the decision as recorded on the conversation.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass

import requests
from django.utils import timezone

from social_crm.tenancy.models import Tenant
from social_crm.tenancy.scope import tenant_context

from .models import Conversation, ConversationEvent, RoutingRule

TIMEOUT = 10  # seconds: a receiver slower than this is retried later, never waited on


class WebhookTransient(Exception):
    """A receiver error worth retrying: connection refused, timeout, 429 or 5xx."""


@dataclass(frozen=True)
class WebhookRequest:
    url: str
    body: bytes
    headers: dict[str, str]
    action_index: int


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def routing_webhook_request(tenant_id: int, event_id: int, action_index: int) -> WebhookRequest | None:
    """The signed request for this decision, or None when there is nothing to send (the event,
    its rule or that webhook action is gone: the rule was edited or deleted meanwhile)."""
    with tenant_context(tenant_id):
        event = ConversationEvent.objects.filter(tenant_id=tenant_id, pk=event_id, kind="routed").first()
        rule = RoutingRule.objects.filter(tenant_id=tenant_id, pk=event.rule_id).first() if event else None
        if rule is None or not 0 <= action_index < len(rule.actions) or rule.actions[action_index]["type"] != "webhook":
            return None
        action = rule.actions[action_index]
        conversation = Conversation.objects.get(tenant_id=tenant_id, pk=event.conversation_id)
        tenant = Tenant.objects.get(pk=tenant_id)
        payload = {
            "event": "conversation.routed",
            "tenant": tenant.slug,
            "decision_id": event.pk,
            "routed_at": event.created_at.isoformat(),
            "rule": {"id": rule.pk, "name": rule.name},
            "conversation": {"number": conversation.number, "platform": conversation.platform,
                             "status": conversation.status, "priority": conversation.priority,
                             "department": conversation.department_id, "tags": conversation.tags,
                             "sentiment": conversation.sentiment, "preview": conversation.preview},
            "mention": event.data.get("mention"),
            "actions": [a for a in event.data.get("actions", []) if a.get("type") != "webhook"],
        }
    body = json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()
    headers = {"Content-Type": "application/json", "User-Agent": "social-crm-webhook/1",
               "X-Signature-256": sign(action["secret"], body), "X-Delivery-Id": f"{event.pk}-{action_index}"}
    return WebhookRequest(action["url"], body, headers, action_index)


def send_signed(request: WebhookRequest) -> None:
    """POST it. WebhookTransient (retry) on a network error, 429 or 5xx; ValueError (give up)
    on another 4xx."""
    try:
        response = requests.post(request.url, data=request.body, headers=request.headers, timeout=TIMEOUT,
                                 allow_redirects=False)
    except requests.RequestException as exc:
        raise WebhookTransient(f"{type(exc).__name__}: {exc}") from exc
    if response.status_code == 429 or response.status_code >= 500:
        raise WebhookTransient(f"HTTP {response.status_code}")
    if response.status_code >= 400:
        raise ValueError(f"HTTP {response.status_code}")


def record_webhook_outcome(tenant_id: int, event_id: int, request: WebhookRequest, *, error: str,
                           attempts: int) -> None:
    """A "webhook_sent" or "webhook_failed" event next to the decision (which stays as it is)."""
    with tenant_context(tenant_id):
        event = ConversationEvent.objects.filter(tenant_id=tenant_id, pk=event_id).first()
        if event is None:
            return
        ConversationEvent.objects.create(
            tenant_id=tenant_id, conversation_id=event.conversation_id, rule_id=event.rule_id,
            kind="webhook_failed" if error else "webhook_sent", created_at=timezone.now(),
            data={"decision": event_id, "url": request.url, "attempts": attempts, "error": error[:500]})
