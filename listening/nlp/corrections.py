"""A person corrects a mention's sentiment: the mention keeps the person's label for good, and
the tenant keeps the correction as a labelled example its own model learns from.

``correct_sentiment`` is the one write path (the stream's buttons, the API). It never touches the
model's confidence and scores on the mention (they say what the model thought, and the review
threshold is tuned on them); ``sentiment_source = "human"`` tells the NLP stage never to
overwrite the label. Once the tenant has ``NLP_RETRAIN_MIN_LABELS`` new examples in a language,
the correction that crossed the line queues the retraining (``tenant_models.retrain_if_due``,
which claims it: a burst of corrections starts one training).
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from analytics import rollups
from social_crm.tenancy.access import scoped_get
from social_crm.tenancy.actions import audit_record
from social_crm.tenancy.scope import tenant_context

from listening.models import Mention, Sentiment, SentimentLabel

from .langdetect import detect_language
from .tenant_models import retrain_if_due


def model_language(language: str) -> str:
    """The sentiment model that scores a text of this language: French for ``fr``, English for
    everything else (``other`` posts are scored by the English model, as ``predict_texts`` does)."""
    return "fr" if language == "fr" else "en"


def correct_sentiment(tenant_id: int, *, actor, mention_id: int, label: str) -> Mention:
    """Set the mention's sentiment to a person's ``label`` and store it as a labelled example.

    Idempotent: the same correction again is a no-op; another label replaces the example (one
    per mention) and counts as new for the next retraining. Raises ``ValidationError`` for an unknown label and ``Http404``
    for a mention of another tenant. No retry: it runs in the request.
    """
    if label not in Sentiment.values:
        raise ValidationError({"sentiment": _("Unknown sentiment: choose negative, neutral or positive.")})
    with tenant_context(tenant_id):
        # Locked: two people correcting the same mention at once are applied one after the other.
        mention = scoped_get(Mention.objects.select_for_update(), tenant_id, mention_id)
        existing = SentimentLabel.objects.filter(tenant_id=tenant_id, mention_id=mention.pk).first()
        if existing is not None and existing.label == label and (mention.sentiment_source, mention.sentiment) == ("human", label):
            return mention  # the same correction again (a double click): nothing to do
        if existing is not None and mention.sentiment_source == "human":
            # Corrected before: what the *model* said is on the first correction, keep it.
            previous = (existing.previous_label, existing.previous_confidence, existing.model_version)
        else:
            previous = (mention.sentiment, mention.sentiment_confidence, mention.nlp_model_version)
        language = model_language(mention.detected_language or detect_language(mention.text))
        example, _created = SentimentLabel.objects.update_or_create(
            tenant_id=tenant_id, mention_id=mention.pk,
            defaults={"text": mention.text, "language": language, "label": label, "previous_label": previous[0],
                      "previous_confidence": previous[1], "model_version": previous[2],
                      "created_by": actor if getattr(actor, "pk", None) else None,
                      # A replaced correction is a new example for the next retraining.
                      "created_at": timezone.now()},
        )
        mention.sentiment, mention.sentiment_source = label, "human"
        mention.needs_review, mention.review_reasons = False, []
        mention.save(update_fields=["sentiment", "sentiment_source", "needs_review", "review_reasons"])
        rollups.refresh(tenant_id, [mention.pk])  # the dashboards count the person's label
        audit_record(tenant_id, actor=actor, action="mention.sentiment_corrected", target=mention,
                     data={"label": label, "previous_label": previous[0], "language": language,
                           "example_id": example.pk})
        transaction.on_commit(lambda: retrain_if_due(tenant_id, language=language))
        # A negative held for review is routed once a person confirmed it (inbox/routing.py).
        transaction.on_commit(lambda: _reroute(tenant_id, mention.pk))
    return mention


def _reroute(tenant_id: int, mention_id: int) -> None:
    from inbox.models import Direction, Message
    from inbox.routing import route

    with tenant_context(tenant_id):
        conversation_ids = list(Message.objects.filter(tenant_id=tenant_id, mention_id=mention_id,
                                                       direction=Direction.INBOUND).values_list("conversation_id", flat=True))
    if conversation_ids:
        route(tenant_id, conversation_ids)
