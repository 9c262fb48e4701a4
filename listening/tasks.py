"""The poll pipeline on the ``ingest`` queue.

beat -> ``fanout_polls`` (the one cross-tenant read: which streams exist) -> one
``poll_stream(tenant_id, account_id, query_id, stream)`` per (account, query, stream) it could
claim -> connector.fetch (no transaction open during HTTP) -> ``ingest_page`` (one tenant
transaction with the cursor) -> another page at once if there is one.

Idempotent: the cursor is saved with the rows, so a task that dies before commit is simply
redone from the same cursor, and a task that is delivered twice stores the same rows twice
(upserts). Retries: RateLimited waits until the platform's reset time; TransientError and
database errors retry with exponential backoff and jitter; NeedsReconnect/PermanentError
mark the channel broken (admins told once) and stop.
"""

from __future__ import annotations

import logging
import random


from celery import shared_task
from celery.signals import beat_init
from django.db import InterfaceError, OperationalError
from django.utils import timezone

from social_crm.tenancy.models import Tenant
from social_crm.tenancy.scope import dangerously_cross_tenant, tenant_context

from . import actions, throttle
from .connectors import get_connector
from .connectors.base import AccountConfig, ConnectorError, NeedsReconnect, RateLimited, StreamRequest
from .ingest import CursorKey, StaleCursor, ingest_page
from .models import AccountStatus, ConnectedAccount, ListeningQuery, PollCursor

logger = logging.getLogger(__name__)

MAX_TRANSIENT_RETRIES = 6


def _backoff(attempt: int) -> float:
    return min(300.0, 2.0 ** attempt) * (0.5 + random.random())  # noqa: S311 (jitter, not crypto)


def streams_of(account: ConnectedAccount, queries: list[ListeningQuery]) -> list[tuple[int | None, str]]:
    connector = get_connector(account.platform)
    wanted = [(None, s) for s in connector.account_streams]
    for q in queries:
        if not q.platforms or account.platform in q.platforms:
            wanted += [(q.pk, s) for s in connector.query_streams]
    return wanted


@beat_init.connect
def _fanout_when_beat_starts(sender=None, **kwargs):
    """Do not wait a whole interval after a (re)start: polls resume from their cursors at once."""
    fanout_polls.apply_async(queue="periodic")


@shared_task(name="listening.tasks.fanout_polls", ignore_result=True)
def fanout_polls() -> int:
    """Beat: enqueue a poll for every stream of every active account that is not already in
    flight, rate limited or broken. The only cross-tenant read of the pipeline."""
    now = timezone.now()
    with dangerously_cross_tenant("beat fan-out: list active channels and queries"):
        accounts = list(
            ConnectedAccount.objects.filter(is_active=True, tenant__is_active=True)
            .exclude(status__in=[AccountStatus.NEEDS_RECONNECT, AccountStatus.ERROR])
            .exclude(rate_limited_until__gt=now)
        )
        queries: dict[int, list[ListeningQuery]] = {}
        for q in ListeningQuery.objects.filter(is_active=True, tenant__is_active=True):
            queries.setdefault(q.tenant_id, []).append(q)
    return sum(enqueue_polls(account, queries.get(account.tenant_id, [])) for account in accounts)


def enqueue_polls(account: ConnectedAccount, queries: list[ListeningQuery]) -> int:
    """Enqueue a poll for each stream of the account that it can claim (none already in
    flight); returns how many. Used by beat's fan-out and by "Poll now"."""
    sent = 0
    for query_id, stream in streams_of(account, queries):
        if throttle.claim_stream(account.pk, query_id, stream):
            poll_stream.apply_async((account.tenant_id, account.pk, query_id, stream), queue="ingest")
            sent += 1
    return sent


def _load(tenant_id: int, account_id: int, query_id: int | None, stream: str):
    with tenant_context(tenant_id):
        account = ConnectedAccount.objects.filter(tenant_id=tenant_id, pk=account_id, is_active=True).first()
        if account is None:
            return None
        query = ListeningQuery.objects.filter(tenant_id=tenant_id, pk=query_id, is_active=True).first() if query_id else None
        if query_id and query is None:
            return None
        cursor = PollCursor.objects.filter(tenant_id=tenant_id, account_id=account_id, query_id=query_id, stream=stream).first()
        config = AccountConfig(platform=account.platform, external_id=account.external_id, handle=account.handle,
                               base_url=account.base_url, credentials=actions.account_credentials(account))
        return account, query, (cursor.state if cursor else {}), config


def _request(stream: str, query: ListeningQuery | None, account: ConnectedAccount) -> StreamRequest:
    expression, keywords = "", ()
    if query is not None:
        from .query import Query, to_keywords, to_x

        parsed = Query.from_dict(query.compiled)
        if account.platform == "x":
            expression = to_x(parsed, extra="-is:retweet")
        keywords = tuple(to_keywords(parsed))
    return StreamRequest(stream=stream, query_expression=expression, query_keywords=keywords,
                         since=account.backfill_since)


@shared_task(bind=True, name="listening.tasks.poll_stream", acks_late=True, max_retries=None, ignore_result=True)
def poll_stream(self, tenant_id: int, account_id: int, query_id: int | None, stream: str, attempt: int = 0) -> dict | None:
    """Fetch one page of one stream and store it with its cursor; see the module docstring."""
    args = (tenant_id, account_id, query_id, stream)
    try:
        if not Tenant.objects.filter(pk=tenant_id, is_active=True).exists():
            throttle.release_stream(account_id, query_id, stream)
            return None
        with throttle.tenant_slot(tenant_id):
            loaded = _load(*args)
            if loaded is None:
                throttle.release_stream(account_id, query_id, stream)
                return None
            account, query, cursor, config = loaded
            connector = get_connector(account.platform)(config)
            page = connector.fetch(_request(stream, query, account), cursor)
            page.fetched_at = page.fetched_at or timezone.now()
            result = ingest_page(tenant_id, platform=account.platform, page=page, source="poll", account_id=account_id,
                                 cursor_key=CursorKey(account_id, query_id, stream), expected_cursor=cursor)
        actions.account_mark_ok(tenant_id, account_id, backfill_done=not page.has_more)
    except StaleCursor:
        # Another poll chain of this stream stored the page: let that one carry on alone.
        return {"stale": True}
    except throttle.NoSlot:
        # The tenant is at its concurrency limit: come back soon, without counting an attempt.
        poll_stream.apply_async(args + (attempt,), queue="ingest", countdown=1 + random.random() * 4)  # noqa: S311
        return None
    except RateLimited as exc:
        actions.account_mark_rate_limited(tenant_id, account_id, until=exc.reset_at, error=str(exc))
        wait = max((exc.reset_at - timezone.now()).total_seconds(), 1.0) + random.random() * 5  # noqa: S311
        throttle.extend_stream(account_id, query_id, stream, int(wait) + throttle.STREAM_CLAIM_SECONDS)
        poll_stream.apply_async(args, queue="ingest", countdown=wait)
        return {"rate_limited_until": exc.reset_at.isoformat()}
    except ConnectorError as exc:
        if exc.transient and attempt < MAX_TRANSIENT_RETRIES:
            poll_stream.apply_async(args + (attempt + 1,), queue="ingest", countdown=_backoff(attempt))
            return {"retry": attempt + 1, "error": str(exc)}
        status = AccountStatus.NEEDS_RECONNECT if isinstance(exc, NeedsReconnect) else AccountStatus.ERROR
        actions.account_mark_broken(tenant_id, account_id, status=status, error=f"{type(exc).__name__}: {exc}")
        throttle.release_stream(account_id, query_id, stream)
        return {"broken": status}
    except (OperationalError, InterfaceError) as exc:
        # PostgreSQL restarting or unreachable: nothing was committed, redo the page later.
        logger.warning("poll %s: database error, retrying: %s", args, exc)
        poll_stream.apply_async(args + (attempt + 1,), queue="ingest", countdown=_backoff(min(attempt, 5)))
        return None
    if page.has_more:
        throttle.extend_stream(account_id, query_id, stream, throttle.STREAM_CLAIM_SECONDS)  # the chain goes on
        poll_stream.apply_async(args, queue="ingest")
    elif page.poll_again_in is not None:
        throttle.extend_stream(account_id, query_id, stream, int(page.poll_again_in) + throttle.STREAM_CLAIM_SECONDS)
        poll_stream.apply_async(args, queue="ingest", countdown=page.poll_again_in)
    else:
        throttle.release_stream(account_id, query_id, stream)
    return {"inserted": result.inserted, "updated": result.updated, "quarantined": result.quarantined}


@shared_task(name="listening.tasks.ingest_webhook", acks_late=True, ignore_result=True,
             autoretry_for=(OperationalError, InterfaceError), retry_backoff=True, max_retries=None)
def ingest_webhook(tenant_id: int, account_id: int, platform: str, page_payload: dict) -> int:
    """A webhook delivery for one tenant's account, already authenticated by the view.
    Idempotent (upserts); database errors retry."""
    from .connectors.facebook.webhook import parse_feed_changes

    stored = 0
    with tenant_context(tenant_id):
        account = ConnectedAccount.objects.filter(tenant_id=tenant_id, pk=account_id).first()
    if account is None:
        return 0
    for page_id, parsed in parse_feed_changes(page_payload):
        if page_id != account.external_id:
            continue
        from .connectors.base import Page

        result = ingest_page(tenant_id, platform=platform, page=Page(mentions=parsed.mentions, quarantined=parsed.quarantined),
                             source="webhook", account_id=account_id)
        stored += result.inserted + result.updated
    return stored




# --- NLP stage (listening/nlp/stage.py) --------------------------------------------------------


@shared_task(name="listening.tasks.nlp_tag", acks_late=True, ignore_result=True,
             autoretry_for=(OperationalError, InterfaceError), retry_backoff=True, max_retries=10)
def nlp_tag(tenant_id: int, mention_ids: list[int]) -> int:
    """Tag new mentions, then hand them to the inbox (with or without a model: a mention that
    names the brand's account opens a conversation either way). Idempotent (same model, same
    values; the inbox skips what it already has); database outages retry."""
    from .nlp.stage import tag_mentions

    tagged = tag_mentions(tenant_id, mention_ids)
    _to_inbox(tenant_id, mention_ids)
    return tagged


def _to_inbox(tenant_id: int, mention_ids: list[int]) -> None:
    from inbox.tasks import inbox_attach

    inbox_attach.apply_async((tenant_id, mention_ids))


@shared_task(name="listening.tasks.nlp_backfill", acks_late=True, ignore_result=True,
             autoretry_for=(OperationalError, InterfaceError), retry_backoff=True, max_retries=10)
def nlp_backfill(tenant_id: int) -> int:
    """Tag the tenant's oldest untagged mentions, one batch, and re-queue while some remain and
    a model exists. Idempotent."""
    from .nlp.stage import BACKFILL_BATCH, tag_mentions, untagged_ids

    ids = untagged_ids(tenant_id)
    tagged = tag_mentions(tenant_id, ids) if ids else 0
    if tagged:  # now tagged, some may pass the inbox's relevance rules
        _to_inbox(tenant_id, ids)
    if tagged and len(ids) == BACKFILL_BATCH:
        nlp_backfill.apply_async((tenant_id,), queue="nlp")
    else:
        throttle.release_stream(0, None, f"nlp-backfill-{tenant_id}")
    return tagged


@shared_task(name="listening.tasks.nlp_retopic", acks_late=True, ignore_result=True,
             autoretry_for=(OperationalError, InterfaceError), retry_backoff=True, max_retries=10)
def nlp_retopic(tenant_id: int, after_id: int = 0) -> int:
    """After a change of the tenant's topics or entity terms: recompute the machine's topics
    and the entities of its last NLP_RETAG_DAYS days of mentions, one batch per run, then
    re-queue with the next id. Idempotent (human topics are kept, negatives respected)."""
    from django.conf import settings

    from .nlp.topic_actions import RETOPIC_CLAIM, retopic_batch

    if after_id == 0:  # from now on, another change queues another pass
        throttle.release_stream(0, None, RETOPIC_CLAIM.format(tenant_id=tenant_id))
    done, next_id = retopic_batch(tenant_id, days=settings.NLP_RETAG_DAYS, after_id=after_id)
    if next_id is not None:
        nlp_retopic.apply_async((tenant_id, next_id), queue="nlp")
    return done


@shared_task(name="listening.tasks.fanout_nlp_backfill", ignore_result=True)
def fanout_nlp_backfill() -> int:
    """Beat: start a backfill for each tenant with untagged mentions (one at a time per tenant)."""
    from .models import Mention

    with dangerously_cross_tenant("beat fan-out: which tenants have untagged mentions"):
        tenant_ids = list(Mention.objects.filter(tagged_at__isnull=True, tenant__is_active=True)
                          .values_list("tenant_id", flat=True).distinct())
    sent = 0
    for tenant_id in tenant_ids:
        if throttle.claim_stream(0, None, f"nlp-backfill-{tenant_id}"):
            nlp_backfill.apply_async((tenant_id,), queue="nlp")
            sent += 1
    return sent


# --- Tenant sentiment models (listening/nlp/tenant_models.py), on the "training" queue --------


@shared_task(name="listening.tasks.nlp_retrain_tenant", acks_late=True, ignore_result=True)
def nlp_retrain_tenant(tenant_id: int, model_id: int) -> str | None:
    """Train, evaluate and maybe activate one queued tenant model; returns its final status.
    Idempotent: a finished row is not retrained, and a worker killed mid-training gets the
    message again (acks_late) and trains the row again. Not retried: a failure is recorded on
    the row (FAILED, with the error) and the admin retrains."""
    from .nlp.tenant_models import train_tenant_model

    if not Tenant.objects.filter(pk=tenant_id, is_active=True).exists():
        return None
    return train_tenant_model(tenant_id, model_id).status


@shared_task(name="listening.tasks.fanout_tenant_retraining", ignore_result=True)
def fanout_tenant_retraining() -> int:
    """Beat: queue a training for each tenant and language with enough new corrections; send
    again a queued training whose message was lost; end FAILED a training whose worker died
    and whose message is gone. Returns how many trainings were queued or sent again."""
    from datetime import timedelta

    from django.conf import settings

    from .models import ModelStatus, SentimentLabel, TenantSentimentModel
    from .nlp import tenant_models

    now = timezone.now()
    with dangerously_cross_tenant("beat fan-out: which tenants have corrections or trainings in flight"):
        pairs = list(SentimentLabel.objects.filter(tenant__is_active=True)
                     .values_list("tenant_id", "language").distinct())
        stale_queued = list(TenantSentimentModel.objects.filter(
            status=ModelStatus.QUEUED, created_at__lt=now - tenant_models.STALE_QUEUED, tenant__is_active=True)
            .values_list("tenant_id", "pk"))
        training = set(TenantSentimentModel.objects.filter(status=ModelStatus.TRAINING)
                       .values_list("tenant_id", flat=True))
    # Twice the broker's redelivery delay: by then an unacked message would have come back.
    stuck_after = timedelta(seconds=2 * settings.CELERY_BROKER_TRANSPORT_OPTIONS.get("visibility_timeout", 3600))
    for tenant_id in training:
        tenant_models.fail_if_stuck(tenant_id, older_than=stuck_after)
    for tenant_id, model_id in stale_queued:  # the task's claim makes a duplicate harmless
        nlp_retrain_tenant.apply_async((tenant_id, model_id), queue="training")
    queued = sum(tenant_models.retrain_if_due(tenant_id, language=language) is not None
                 for tenant_id, language in pairs if language in tenant_models.LANGUAGES)
    return queued + len(stale_queued)
