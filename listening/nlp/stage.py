"""The NLP stage of the pipeline: tag stored mentions with language and sentiment, in batches,
on the ``nlp`` queue, never in a web request and never one mention at a time.

* New mentions: ``ingest_page`` enqueues ``nlp_tag(tenant_id, ids)`` after its commit.
* Everything else (mentions stored while no model existed, edited texts, a failed tag task):
  ``nlp_backfill(tenant_id)`` tags the oldest untagged mentions, 1,000 a task, and re-queues
  itself while some remain; beat fans it out every few minutes to tenants that have any.
* No model (missing, corrupt, incompatible): nothing is tagged and nothing fails; ingestion goes
  on, and the backfill tags the mentions once ``train_sentiment`` has written a model.

Prediction runs outside any transaction; only the UPDATE is in the tenant's. Idempotent: tagging
twice writes the same values (same model), so redelivered tasks are harmless.
"""

from __future__ import annotations

import json
import logging

from django.conf import settings
from django.db import connection
from django.utils import timezone

from social_crm.tenancy.scope import tenant_context

from .sentiment import ModelUnavailableError, predict_texts

logger = logging.getLogger(__name__)

BACKFILL_BATCH = 1000  # mentions per backfill task: a few seconds of CPU, bounded memory


def enqueue_tagging(tenant_id: int, mention_ids: list[int]) -> None:
    from listening.tasks import nlp_tag

    for start in range(0, len(mention_ids), BACKFILL_BATCH):
        nlp_tag.apply_async((tenant_id, mention_ids[start:start + BACKFILL_BATCH]), queue="nlp")


def tag_mentions(tenant_id: int, mention_ids: list[int]) -> int:
    """Tag these mentions of the tenant; returns how many were written (0 without a model)."""
    from listening.models import Mention

    with tenant_context(tenant_id):
        rows = list(Mention.objects.filter(tenant_id=tenant_id, pk__in=mention_ids).order_by("pk").values_list("pk", "text"))
    if not rows:
        return 0
    try:
        predictions = predict_texts([text for _pk, text in rows])
    except ModelUnavailableError as exc:
        logger.warning("NLP: no usable sentiment model, %s mentions left untagged: %s", len(rows), exc)
        return 0
    threshold = settings.NLP_REVIEW_CONFIDENCE
    payload = json.dumps([
        {"id": pk, "language": p.language, "label": p.label, "confidence": p.confidence,
         "scores": p.probabilities, "version": p.model_version, "review": p.confidence < threshold}
        for (pk, _text), p in zip(rows, predictions)
    ])
    with tenant_context(tenant_id), connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE listening_mention AS m SET detected_language = r.language, sentiment = r.label,
                sentiment_confidence = r.confidence, sentiment_scores = r.scores, nlp_model_version = r.version,
                needs_review = r.review, tagged_at = %s
            FROM jsonb_to_recordset(%s::jsonb) AS r(id bigint, language text, label text, confidence float8,
                                                  scores jsonb, version text, review bool)
            WHERE m.tenant_id = %s AND m.id = r.id
            """,
            [timezone.now(), payload, tenant_id],
        )
        return cursor.rowcount


def untagged_ids(tenant_id: int, limit: int = BACKFILL_BATCH) -> list[int]:
    from listening.models import Mention

    with tenant_context(tenant_id):
        return list(Mention.objects.filter(tenant_id=tenant_id, tagged_at__isnull=True)
                    .order_by("id").values_list("pk", flat=True)[:limit])
