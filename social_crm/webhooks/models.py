"""Outgoing webhooks (issue 6 §6): the tenant's endpoints, the events emitted, one delivery per
(event, endpoint) and one more per replay.

Every table is tenant-owned (row-level security, social_crm.core.rls); references between them
are composite same-tenant keys (migration 0001), so a delivery can never join another tenant's
event or endpoint.

* ``WebhookEndpoint``: a URL subscribed to event types. Its signing secret is stored encrypted
  with the credential keys (listening/crypto.py) and shown once, at creation or rotation.
* ``WebhookEvent``: what happened, with its stable ``event_id`` (the receiver's idempotency key,
  the same on every attempt and replay) and the JSON ``data`` sent.
* ``WebhookDelivery``: the state of sending one event to one endpoint, claimed by a conditional
  UPDATE (social_crm/webhooks/delivery.py) so that two copies of the task never send one
  attempt twice.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from social_crm.tenancy.models import TenantOwned


class EventType(models.TextChoices):
    MENTION_STORED = "mention.stored", _("Mentions stored")
    CONVERSATION_ROUTED = "conversation.routed", _("Conversation routed")
    ALERT_RAISED = "alert.raised", _("Alert raised")
    CRISIS_DETECTED = "crisis.detected", _("Crisis detected")
    PING = "ping", _("Test event (ping)")


# What an endpoint may subscribe to: ping is sent on request only, to one endpoint.
SUBSCRIBABLE = [(value, label) for value, label in EventType.choices if value != EventType.PING]


class WebhookEndpoint(TenantOwned):
    url = models.URLField(_("URL"), max_length=500)
    description = models.CharField(_("description"), max_length=200, blank=True)
    events = models.JSONField(_("events"), default=list)  # EventType values, sorted
    is_active = models.BooleanField(_("active"), default=True)
    secret_encrypted = models.BinaryField(editable=False)
    secret_hint = models.CharField(max_length=16, editable=False, blank=True)  # "whsec_ab12…", to recognise it
    # Consecutive deliveries that ended "failed"; reset by a success. At WEBHOOK_DISABLE_AFTER the
    # endpoint is disabled and the tenant admins notified once (disabled_at set).
    failure_streak = models.PositiveIntegerField(default=0)
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=500, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["url", "id"]
        indexes = [models.Index(fields=["tenant", "is_active"], name="webhook_endpoint_active_idx")]

    def __str__(self) -> str:
        return self.url


class WebhookEvent(TenantOwned):
    event_id = models.UUIDField(default=uuid.uuid4, editable=False)
    type = models.CharField(_("event"), max_length=40, choices=EventType.choices)
    data = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["tenant", "event_id"], name="webhook_event_id_unique")]
        indexes = [models.Index(fields=["tenant", "type", "created_at"], name="webhook_event_type_idx")]

    def __str__(self) -> str:
        return f"{self.type} {self.event_id}"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SENDING = "sending", _("Sending")
    RETRYING = "retrying", _("Retrying")
    SUCCEEDED = "succeeded", _("Delivered")
    FAILED = "failed", _("Failed")
    SKIPPED = "skipped", _("Skipped")


# States a delivery task may claim (once next_attempt_at has passed; for "sending" it is the
# lease of a worker that died mid-attempt).
CLAIMABLE = (DeliveryStatus.PENDING, DeliveryStatus.RETRYING, DeliveryStatus.SENDING)
FINAL = (DeliveryStatus.SUCCEEDED, DeliveryStatus.FAILED, DeliveryStatus.SKIPPED)


class WebhookDelivery(TenantOwned):
    event = models.ForeignKey(WebhookEvent, on_delete=models.CASCADE, db_constraint=False, related_name="deliveries")
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, db_constraint=False,
                                 related_name="deliveries")
    replay_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, db_constraint=False,
                                  related_name="+")
    status = models.CharField(_("status"), max_length=10, choices=DeliveryStatus.choices,
                              default=DeliveryStatus.PENDING)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    response_code = models.PositiveIntegerField(_("response code"), null=True, blank=True)
    response_excerpt = models.TextField(_("response body (excerpt)"), blank=True)
    duration_ms = models.PositiveIntegerField(_("duration (ms)"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    # One entry per attempt: {"at", "code", "ms", "error"} (the log page shows them).
    history = models.JSONField(default=list)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # The delivery log (newest first, per endpoint or status) and the sweeper's due rows.
            models.Index(fields=["tenant", "endpoint", "created_at"], name="webhook_delivery_log_idx"),
            models.Index(fields=["tenant", "event"], name="webhook_delivery_event_idx"),
            models.Index(fields=["status", "next_attempt_at"], name="webhook_delivery_due_idx",
                         condition=models.Q(status__in=["pending", "retrying", "sending"])),
        ]

    def __str__(self) -> str:
        return f"{self.event.type} → {self.endpoint.url}"
