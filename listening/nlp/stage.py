"""The NLP stage of the pipeline: tag stored mentions with language, sentiment, review flags,
topics and entities, in batches, on the ``nlp`` queue, never in a web request and never one
mention at a time.

* New mentions: ``ingest_page`` enqueues ``nlp_tag(tenant_id, ids)`` after its commit.
* Everything else (mentions stored while no model existed, edited texts, a failed tag task,
  mentions to re-tag after the tenant activated another model): ``nlp_backfill(tenant_id)`` tags
  the oldest untagged mentions, 1,000 a task, and re-queues itself while some remain; beat fans
  it out every few minutes to tenants that have any.
* No model (missing, corrupt, incompatible): nothing is tagged and nothing fails; ingestion goes
  on, and the backfill tags the mentions once ``train_sentiment`` has written a model.
* The tenant's own pieces: its active sentiment model per language if it has one
  (``tenant_models``), its topic rules and examples (``topics``), its brands, products and
  handles (``entities``).
* A person's word wins: a mention whose sentiment a person corrected keeps that label (the
  model's scores are still refreshed), and ``write_topics`` keeps topics set by a person and
  never re-adds one a person removed.

Prediction runs outside any transaction; the writes are one transaction in the tenant's scope.
Idempotent: tagging twice writes the same values (same models, same rules), so redelivered
tasks are harmless.
"""

from __future__ import annotations

import json
import logging

from django.conf import settings
from django.db import connection
from django.utils import timezone

from analytics import rollups
from social_crm.tenancy.scope import tenant_context

from .review import review_reasons
from .sentiment import ModelUnavailableError

logger = logging.getLogger(__name__)

BACKFILL_BATCH = 1000  # mentions per backfill task: a few seconds of CPU, bounded memory


def enqueue_tagging(tenant_id: int, mention_ids: list[int]) -> None:
    from listening.tasks import nlp_tag

    for start in range(0, len(mention_ids), BACKFILL_BATCH):
        nlp_tag.apply_async((tenant_id, mention_ids[start:start + BACKFILL_BATCH]), queue="nlp")


def analyze_for_tenant(tenant_id: int, texts: list[str], languages: list[str] | None = None):
    """The whole analysis with the tenant's models, topics and entity terms (``Analysis`` per
    text, in order). Raises ``ModelUnavailableError`` when a needed model is missing."""
    from .entities import EntityExtractor
    from .pipeline import analyze
    from .tenant_models import models_for_tenant
    from .topics import TopicMatcher

    with tenant_context(tenant_id):  # reads the tenant's rows; the artefacts are cached per process
        models = models_for_tenant(tenant_id)
        matcher = TopicMatcher.for_tenant(tenant_id)
        extractor = EntityExtractor.for_tenant(tenant_id)
    return analyze(texts, models=models, topic_matcher=matcher, entity_extractor=extractor, languages=languages)


def tag_mentions(tenant_id: int, mention_ids: list[int]) -> int:
    """Tag these mentions of the tenant; returns how many were written (0 without a model)."""
    from listening.models import Mention

    from .topic_actions import write_topics

    with tenant_context(tenant_id):
        rows = list(Mention.objects.filter(tenant_id=tenant_id, pk__in=mention_ids).order_by("pk").values_list("pk", "text"))
    if not rows:
        return 0
    try:
        analyses = analyze_for_tenant(tenant_id, [text for _pk, text in rows])
    except ModelUnavailableError as exc:
        logger.warning("NLP: no usable sentiment model, %s mentions left untagged: %s", len(rows), exc)
        return 0
    threshold = settings.NLP_REVIEW_CONFIDENCE
    records = []
    for (pk, _text), a in zip(rows, analyses):
        reasons = review_reasons(a.confidence, a.irony, threshold)
        records.append({"id": pk, "language": a.language, "label": a.label, "confidence": a.confidence,
                        "scores": a.probabilities, "version": a.model_version, "reasons": reasons,
                        "entities": a.entities})
    with tenant_context(tenant_id), connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE listening_mention AS m SET detected_language = r.language,
                sentiment = CASE WHEN m.sentiment_source = 'human' THEN m.sentiment ELSE r.label END,
                sentiment_source = CASE WHEN m.sentiment_source = 'human' THEN 'human' ELSE 'model' END,
                sentiment_confidence = r.confidence, sentiment_scores = r.scores, nlp_model_version = r.version,
                needs_review = m.sentiment_source <> 'human' AND jsonb_array_length(r.reasons) > 0,
                review_reasons = CASE WHEN m.sentiment_source = 'human' THEN '[]'::jsonb ELSE r.reasons END,
                entities = r.entities, tagged_at = %s
            FROM jsonb_to_recordset(%s::jsonb) AS r(id bigint, language text, label text, confidence float8,
                                                  scores jsonb, version text, reasons jsonb, entities jsonb)
            WHERE m.tenant_id = %s AND m.id = r.id
            """,
            [timezone.now(), json.dumps(records), tenant_id],
        )
        written = cursor.rowcount
        write_topics(tenant_id, [pk for pk, _text in rows], [a.topics for a in analyses])
        # Sentiment, language, topics and entities moved: the dashboards' hours follow (same transaction).
        rollups.refresh(tenant_id, [pk for pk, _text in rows])
        return written


def untagged_ids(tenant_id: int, limit: int = BACKFILL_BATCH) -> list[int]:
    from listening.models import Mention

    with tenant_context(tenant_id):
        return list(Mention.objects.filter(tenant_id=tenant_id, tagged_at__isnull=True)
                    .order_by("id").values_list("pk", flat=True)[:limit])
