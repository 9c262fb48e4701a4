"""``emit``: the one way code tells the tenant's webhook subscribers that something happened.

    from social_crm.webhooks.events import emit
    emit(tenant_id, "conversation.routed", {...})   # inside the transaction that made it happen

The event is recorded with one delivery per active endpoint subscribed to its type, in the
caller's transaction (so it exists exactly when what it reports was committed: nothing lost,
nothing reported that was rolled back); the delivery tasks are queued on commit
(social_crm/webhooks/tasks.py, ``webhooks`` queue).

Cost when nobody listens: ``mention.stored`` is emitted on the ingestion hot path, so the set of
event types a tenant's active endpoints subscribe to is cached per worker process. An entry is
trusted for ``WEBHOOK_SUBSCRIBERS_CACHE_SECONDS``; then one Redis GET compares the tenant's
subscription generation (bumped after every endpoint change, ``invalidate``) and only a changed
generation costs a database read. With no subscriber, ``emit`` is a dict look-up and returns:
no row, no query. A process that changes an endpoint drops its own entry at once; other
processes see the change within the cache period (2 s by default).

Event types and their ``data`` (what receivers get, see README "Outgoing webhooks"):

* ``mention.stored``: one event per stored page or ingest batch (not one per mention: a page
  holds up to a few hundred mentions and receivers would otherwise get a burst of requests);
  ``data.mentions`` lists every newly stored mention (id, platform, external id, URL, dates,
  text, author). Edits of known mentions are not re-sent.
* ``conversation.routed``: a routing rule acted on a conversation (``data.conversation``,
  ``data.rule``, ``data.actions``).
* ``alert.raised``: a department alert was opened (``data.alert``, ``data.conversation``).
* ``crisis.detected``: emitted by analytics (``data`` as analytics documents it).
* ``ping``: sent on request to one endpoint (``actions.endpoint_ping``), never broadcast.
"""

from __future__ import annotations

import json
import logging
import secrets
import time

from django.conf import settings
from django.core.cache import cache
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from social_crm.tenancy.scope import tenant_context

from .models import EventType, WebhookDelivery, WebhookEndpoint, WebhookEvent

logger = logging.getLogger(__name__)

EVENT_TYPES = frozenset(EventType.values)

# tenant id -> (checked at, time.monotonic(); subscription generation; subscribed event types)
_subscriptions: dict[int, tuple[float, object, frozenset[str]]] = {}


def _generation_key(tenant_id: int) -> str:
    return f"webhooks:subscriptions:{tenant_id}"


def _generation(tenant_id: int):
    try:
        return cache.get(_generation_key(tenant_id))
    except Exception:  # Redis down: not a reason to lose an event; read the database instead
        logger.warning("webhooks: cannot read the subscription generation of tenant %s", tenant_id, exc_info=True)
        return object()  # equal to nothing: forces a database read


def _load(tenant_id: int) -> frozenset[str]:
    with tenant_context(tenant_id):
        rows = WebhookEndpoint.objects.filter(tenant_id=tenant_id, is_active=True).values_list("events", flat=True)
        return frozenset(e for events in rows for e in events)


def subscribed_types(tenant_id: int) -> frozenset[str]:
    """The event types at least one active endpoint of the tenant subscribes to (cached, above)."""
    now = time.monotonic()
    entry = _subscriptions.get(tenant_id)
    if entry is not None and now - entry[0] < settings.WEBHOOK_SUBSCRIBERS_CACHE_SECONDS:
        return entry[2]
    generation = _generation(tenant_id)
    if entry is not None and generation is not None and entry[1] == generation:
        types = entry[2]
    else:
        types = _load(tenant_id)
    _subscriptions[tenant_id] = (now, generation, types)
    return types


def invalidate(tenant_id: int) -> None:
    """After an endpoint change commits: a new generation for every process, and this process's
    entry dropped now. Call inside the changing transaction (it waits for the commit)."""

    _subscriptions.pop(tenant_id, None)  # now (this transaction sees its change) and after the commit

    def bump():
        _subscriptions.pop(tenant_id, None)
        try:
            cache.set(_generation_key(tenant_id), secrets.randbits(63), timeout=None)
        except Exception:
            logger.warning("webhooks: cannot bump the subscription generation of tenant %s", tenant_id, exc_info=True)

    transaction.on_commit(bump)


def _jsonable(data: dict) -> dict:
    return json.loads(json.dumps(data, cls=DjangoJSONEncoder))


def emit(tenant_id: int, event: str, data: dict) -> None:
    """Record ``event`` for the tenant's subscribed endpoints and queue its deliveries on commit.
    Call inside the transaction that made it happen (in the tenant's context); outside one it
    opens its own. A no-op (no query) when no active endpoint subscribes to ``event``.
    Not idempotent by itself: each call is a new event with a new event id."""
    if event not in EVENT_TYPES or event == EventType.PING:
        raise ValueError(f"emit: unknown event type {event!r}")
    if event not in subscribed_types(tenant_id):
        return
    with tenant_context(tenant_id):
        endpoint_ids = list(WebhookEndpoint.objects.filter(tenant_id=tenant_id, is_active=True,
                                                           events__contains=[event]).values_list("pk", flat=True))
        if not endpoint_ids:  # the cache was behind a change of this second
            return
        if event == EventType.MENTION_STORED and "mention_ids" in data:
            data = _mention_summaries(tenant_id, data)
        record = WebhookEvent.objects.create(tenant_id=tenant_id, type=event, data=_jsonable(data))
        deliveries_create(tenant_id, event=record, endpoint_ids=endpoint_ids)


def deliveries_create(tenant_id: int, *, event: WebhookEvent, endpoint_ids: list[int],
                      replay_of: int | None = None) -> list[WebhookDelivery]:
    """One pending delivery of ``event`` per endpoint, queued after the commit (the beat sweeper
    re-queues any whose task was lost). Call inside the tenant's transaction."""
    from .tasks import deliver_webhook

    now = timezone.now()
    deliveries = WebhookDelivery.objects.bulk_create([
        WebhookDelivery(tenant_id=tenant_id, event=event, endpoint_id=endpoint_id, replay_of_id=replay_of,
                        next_attempt_at=now, created_at=now, updated_at=now)
        for endpoint_id in endpoint_ids
    ])
    ids = [d.pk for d in deliveries]
    transaction.on_commit(lambda: [deliver_webhook.delay(tenant_id, pk) for pk in ids])
    return deliveries


def _mention_summaries(tenant_id: int, data: dict) -> dict:
    """``{"mention_ids": [...]}`` from the ingest path becomes what a receiver can use without
    calling back: one summary per mention (read in the ingest transaction, so uncommitted rows
    of the page are visible)."""
    from listening.models import Mention

    ids = sorted(set(data["mention_ids"]))
    rows = (Mention.objects.filter(tenant_id=tenant_id, pk__in=ids).select_related("author")
            .order_by("id"))
    mentions = [
        {"id": m.pk, "platform": m.platform, "external_id": m.external_id, "url": m.url, "text": m.text,
         "language": m.language, "created_at": m.created_at, "fetched_at": m.fetched_at,
         "author": {"id": m.author_id, "handle": m.author.handle, "name": m.author.name} if m.author else None}
        for m in rows
    ]
    return {**{k: v for k, v in data.items() if k != "mention_ids"}, "count": len(mentions), "mentions": mentions}
