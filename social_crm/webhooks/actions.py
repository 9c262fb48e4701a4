"""Every write on webhook endpoints and deliveries: tenant id first, keyword-only arguments, one
transaction, an audit row, a state guard. Validation errors are Django ValidationErrors keyed by
field (the API turns them into 400s with field errors, the forms show them)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.http import Http404
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from listening import crypto
from social_crm.tenancy.actions import audit_record
from social_crm.tenancy.models import Membership, Tenant
from social_crm.tenancy.permissions import Role
from social_crm.tenancy.scope import tenant_context

from . import events as events_module
from .delivery import UnsafeURL, check_public_url
from .models import SUBSCRIBABLE, DeliveryStatus, EventType, WebhookDelivery, WebhookEndpoint, WebhookEvent
from .signing import new_secret

_SUBSCRIBABLE = [value for value, _label in SUBSCRIBABLE]


def access_endpoint(tenant_id: int, endpoint_id) -> WebhookEndpoint:
    """The tenant's endpoint, or 404 (missing and another tenant's look the same)."""
    endpoint = WebhookEndpoint.objects.filter(tenant_id=tenant_id, pk=_int_or_none(endpoint_id)).first()
    if endpoint is None:
        raise Http404("Not found.")
    return endpoint


def access_delivery(tenant_id: int, delivery_id) -> WebhookDelivery:
    delivery = (WebhookDelivery.objects.filter(tenant_id=tenant_id, pk=_int_or_none(delivery_id))
                .select_related("event", "endpoint").first())
    if delivery is None:
        raise Http404("Not found.")
    return delivery


def _int_or_none(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def clean_endpoint(*, url: str, events: list[str]) -> tuple[str, list[str]]:
    errors: dict[str, list] = {}
    url = (url or "").strip()
    try:
        URLValidator(schemes=["http", "https"])(url)
        check_public_url(url)
    except ValidationError as exc:
        errors["url"] = exc.messages
    except UnsafeURL:
        errors["url"] = [_("This URL points at a private or local address, or its host cannot be resolved.")]
    events = sorted(set(events or []))
    unknown = [e for e in events if e not in _SUBSCRIBABLE]
    if unknown:
        errors["events"] = [_("Unknown event type: %(types)s.") % {"types": ", ".join(map(str, unknown))}]
    elif not events:
        errors["events"] = [_("Choose at least one event.")]
    if errors:
        raise ValidationError(errors)
    return url, events


def _store_secret(endpoint: WebhookEndpoint) -> str:
    raw = new_secret()
    endpoint.secret_encrypted = crypto.encrypt({"secret": raw})
    endpoint.secret_hint = raw[:10] + "…"
    return raw


def endpoint_create(tenant_id: int, *, actor, url: str, events: list[str], description: str = "",
                    is_active: bool = True) -> tuple[WebhookEndpoint, str]:
    """A new endpoint and its signing secret, returned once in clear (stored encrypted). Not
    idempotent: two calls make two endpoints (a receiver may want two)."""
    url, events = clean_endpoint(url=url, events=events)
    with tenant_context(tenant_id):
        now = timezone.now()
        endpoint = WebhookEndpoint(tenant_id=tenant_id, url=url, events=events, description=description or "",
                                   is_active=is_active, created_by=actor if getattr(actor, "pk", None) else None,
                                   created_at=now, updated_at=now)
        raw = _store_secret(endpoint)
        endpoint.save()
        audit_record(tenant_id, actor=actor, action="webhook.created", target=endpoint,
                     data={"url": url, "events": events})
        events_module.invalidate(tenant_id)
    return endpoint, raw


def endpoint_update(tenant_id: int, *, actor, endpoint_id: int, url: str, events: list[str], description: str,
                    is_active: bool) -> WebhookEndpoint:
    """Change an endpoint. Enabling a disabled endpoint resets its failure streak, so a new
    outage notifies the admins again."""
    url, events = clean_endpoint(url=url, events=events)
    with tenant_context(tenant_id):
        endpoint = access_endpoint(tenant_id, endpoint_id)
        endpoint = WebhookEndpoint.objects.select_for_update().get(tenant_id=tenant_id, pk=endpoint.pk)
        if is_active and not endpoint.is_active:
            endpoint.failure_streak, endpoint.disabled_at, endpoint.disabled_reason = 0, None, ""
        endpoint.url, endpoint.events, endpoint.description, endpoint.is_active = url, events, description or "", is_active
        endpoint.updated_at = timezone.now()
        endpoint.save()
        audit_record(tenant_id, actor=actor, action="webhook.updated", target=endpoint,
                     data={"url": url, "events": events, "is_active": is_active})
        events_module.invalidate(tenant_id)
    return endpoint


def endpoint_rotate_secret(tenant_id: int, *, actor, endpoint_id: int) -> tuple[WebhookEndpoint, str]:
    """A new secret, effective for the next attempt; the old one stops signing at once."""
    with tenant_context(tenant_id):
        endpoint = access_endpoint(tenant_id, endpoint_id)
        raw = _store_secret(endpoint)
        endpoint.updated_at = timezone.now()
        endpoint.save(update_fields=["secret_encrypted", "secret_hint", "updated_at"])
        audit_record(tenant_id, actor=actor, action="webhook.secret_rotated", target=endpoint)
    return endpoint, raw


def endpoint_delete(tenant_id: int, *, actor, endpoint_id: int) -> None:
    """Delete the endpoint and its delivery log (the events stay for other endpoints)."""
    with tenant_context(tenant_id):
        endpoint = access_endpoint(tenant_id, endpoint_id)
        audit_record(tenant_id, actor=actor, action="webhook.deleted", target=endpoint, data={"url": endpoint.url})
        WebhookDelivery.objects.filter(tenant_id=tenant_id, endpoint=endpoint).delete()
        endpoint.delete()
        events_module.invalidate(tenant_id)


def endpoint_ping(tenant_id: int, *, actor, endpoint_id: int) -> WebhookDelivery:
    """Send a ``ping`` event to this endpoint only, to test the receiver and its signature check.
    Not idempotent (each ping is a new event); a disabled endpoint's ping is recorded as skipped."""
    with tenant_context(tenant_id):
        endpoint = access_endpoint(tenant_id, endpoint_id)
        tenant = Tenant.objects.get(pk=tenant_id)
        event = WebhookEvent.objects.create(tenant_id=tenant_id, type=EventType.PING,
                                            data={"endpoint": endpoint.pk, "tenant": tenant.slug,
                                                  "message": "Ping from Social CRM"})
        (delivery,) = events_module.deliveries_create(tenant_id, event=event, endpoint_ids=[endpoint.pk])
        audit_record(tenant_id, actor=actor, action="webhook.pinged", target=endpoint)
    return delivery


def delivery_replay(tenant_id: int, *, actor, delivery_id: int) -> WebhookDelivery:
    """A new delivery of the same event (same event id, so a receiver that already processed it
    can drop it) to the same endpoint. Allowed once the original is final (delivered, failed or
    skipped); a delivery still in progress is a ValidationError."""
    with tenant_context(tenant_id):
        original = access_delivery(tenant_id, delivery_id)
        if original.status not in (DeliveryStatus.SUCCEEDED, DeliveryStatus.FAILED, DeliveryStatus.SKIPPED):
            raise ValidationError({"non_field_errors": [_("This delivery is still in progress.")]})
        (delivery,) = events_module.deliveries_create(tenant_id, event=original.event,
                                                      endpoint_ids=[original.endpoint_id], replay_of=original.pk)
        audit_record(tenant_id, actor=actor, action="webhook.replayed", target=original.endpoint,
                     data={"event_id": str(original.event.event_id), "delivery": original.pk})
    return delivery


_DISABLED_TITLE = _("Webhook %(url)s disabled")
_DISABLED_BODY = _("%(count)s deliveries in a row failed (last error: %(error)s). Fix the receiver, then enable "
                   "the endpoint again and replay the failed deliveries.")


def endpoint_record_outcome(tenant_id: int, *, endpoint_id: int, ok: bool, error: str) -> bool:
    """Called in the tenant transaction that closes a delivery. A success resets the failure
    streak; a failure extends it, and at WEBHOOK_DISABLE_AFTER the endpoint is disabled and the
    tenant admins notified (once: a disabled endpoint is not disabled again). Returns True when
    this call disabled the endpoint."""
    from django.conf import settings

    from inbox.alerts import notify_users

    endpoint = WebhookEndpoint.objects.select_for_update().filter(tenant_id=tenant_id, pk=endpoint_id).first()
    if endpoint is None:
        return False
    if ok:
        if endpoint.failure_streak:
            endpoint.failure_streak = 0
            endpoint.save(update_fields=["failure_streak"])
        return False
    endpoint.failure_streak += 1
    disable = endpoint.is_active and endpoint.failure_streak >= settings.WEBHOOK_DISABLE_AFTER
    if disable:
        now = timezone.now()
        endpoint.is_active, endpoint.disabled_at, endpoint.updated_at = False, now, now
        endpoint.disabled_reason = error[:500]
    endpoint.save()
    if disable:
        tenant = Tenant.objects.get(pk=tenant_id)
        admins = [m.user for m in Membership.objects.filter(tenant_id=tenant_id, role=Role.ADMIN).select_related("user")]
        notified = notify_users(tenant_id, admins, kind="webhook.disabled", title=_DISABLED_TITLE, body=_DISABLED_BODY,
                                params={"url": endpoint.url, "count": endpoint.failure_streak, "error": error[:200]},
                                url=reverse("webhook-detail", kwargs={"tenant_slug": tenant.slug,
                                                                      "endpoint_id": endpoint.pk}))
        audit_record(tenant_id, actor="webhooks", action="webhook.disabled", target=endpoint,
                     data={"failures": endpoint.failure_streak, "error": error[:200], "notified": notified})
        events_module.invalidate(tenant_id)
    return disable
