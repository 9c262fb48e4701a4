"""Writes for topics and entity terms (tenant id first, one transaction, audit row), the
one-click topic correction, the preview of a rule set, the starter topics, and the function
that stores topic hits for mentions (shared with the NLP stage).

Stored hits: ``MentionTopic`` rows with source "rule" or "example" are the machine's and are
replaced on every tagging run; "human" rows are a person's and are never touched by a run; a
negative ``TopicExample`` of (topic, mention) keeps the machine from putting the topic back.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from analytics import rollups
from listening.access import access_entity_term, access_mention, access_topic
from listening.models import EntityKind, EntityTerm, Mention, MentionTopic, Topic, TopicExample, TopicSource
from social_crm.tenancy.actions import audit_record
from social_crm.tenancy.scope import tenant_context

from .topics import KeywordError, TopicHit, TopicMatcher, TopicRules, parse_keywords, prepare_texts

logger = logging.getLogger(__name__)

PREVIEW_SIZES = (50, 200, 1000)
RETOPIC_BATCH = 1000  # mentions per batch: about a second of spaCy on one core, bounded memory


# --- Validation ----------------------------------------------------------------------------------


def clean_keywords(keywords: Iterable[str]) -> list[str]:
    """Keyword lines stripped, blank and repeated lines dropped; ValidationError on "keywords"
    naming the first bad line."""
    lines: list[str] = []
    for raw in keywords:
        line = (raw or "").strip()
        if line and line not in lines:
            lines.append(line)
    try:
        parse_keywords(lines)
    except KeywordError as exc:
        raise ValidationError({"keywords": [_("Line %(n)s (%(line)s): %(error)s") % {
            "n": exc.line, "line": exc.text, "error": exc.message}]}) from exc
    return lines


def _has_positive_term(lines: list[str]) -> bool:
    return any(not term.exclude for term in parse_keywords(lines))


def _tenant_mentions(tenant_id: int, mention_ids: Iterable, field: str) -> list[Mention]:
    """The tenant's mentions with these ids; ValidationError on ``field`` if any is not one."""
    try:
        ids = sorted({int(i) for i in mention_ids})
    except (TypeError, ValueError):
        raise ValidationError({field: [_("Mention ids must be whole numbers.")]}) from None
    mentions = list(Mention.objects.filter(tenant_id=tenant_id, pk__in=ids)) if ids else []
    missing = sorted(set(ids) - {m.pk for m in mentions})
    if missing:
        raise ValidationError({field: [_("Unknown mention: %(ids)s") % {"ids": ", ".join(map(str, missing))}]})
    return mentions


def _save_named(obj, duplicate_message: str) -> None:
    """Save a row whose name is unique per tenant: a concurrent twin (the check before the save
    saw none) is a field error too, not a 500."""
    try:
        with transaction.atomic():
            obj.save()
    except IntegrityError as exc:
        raise ValidationError({"name": [duplicate_message]}) from exc


# --- Re-tagging after a change -------------------------------------------------------------------

RETOPIC_DELAY = 30  # seconds: an edit session saves several times; one pass re-tags after the last
RETOPIC_CLAIM = "retopic-{tenant_id}"


def _retopic_soon(tenant_id: int) -> None:
    """After the commit, queue one ``nlp_retopic`` pass for the tenant (debounced in Redis: a
    pass already waiting will see this change too). Redis down: log, the next change retries."""
    def send():
        from listening import throttle
        from listening.tasks import nlp_retopic

        try:
            if throttle.claim_stream(0, None, RETOPIC_CLAIM.format(tenant_id=tenant_id), seconds=RETOPIC_DELAY + 900):
                nlp_retopic.apply_async((tenant_id, 0), queue="nlp", countdown=RETOPIC_DELAY)
        except Exception:  # the change is saved; only the re-tag of older mentions waits
            logger.exception("could not queue the re-tag of tenant %s's mentions", tenant_id)

    transaction.on_commit(send)


# --- Topics --------------------------------------------------------------------------------------


def topic_save(tenant_id: int, *, actor, topic_id: int | None = None, name: str, keywords: Sequence[str],
               description: str = "", is_active: bool = True, example_mention_ids: Iterable[int] = (),
               replace_examples: bool = False) -> Topic:
    """Create or update a topic. ``example_mention_ids`` become positive examples (a negative
    example of the same mention turns positive); with ``replace_examples`` the other positive
    examples taken from mentions are removed (the form and a full API update say the whole set).
    Negative examples (corrections) are kept. Idempotent: saving the same values again changes
    nothing but ``updated_at``."""
    with tenant_context(tenant_id):
        topic = access_topic(tenant_id, topic_id) if topic_id else Topic(tenant_id=tenant_id)
        name = (name or "").strip()
        if not name:
            raise ValidationError({"name": [_("Give the topic a name.")]})
        lines = clean_keywords(keywords)
        examples = _tenant_mentions(tenant_id, example_mention_ids, "example_mention_ids")
        keep = TopicExample.objects.none()
        if topic.pk and not replace_examples:
            keep = TopicExample.objects.filter(tenant_id=tenant_id, topic=topic, is_positive=True)
        if topic.pk and replace_examples:
            keep = TopicExample.objects.filter(tenant_id=tenant_id, topic=topic, is_positive=True, mention__isnull=True)
        if not _has_positive_term(lines) and not examples and not keep.exists():
            raise ValidationError({"keywords": [_("Give at least one keyword (not only exclusions) or one example "
                                                  "mention.")]})
        if Topic.objects.filter(tenant_id=tenant_id, name__iexact=name).exclude(pk=topic.pk).exists():
            raise ValidationError({"name": [_("Another topic already has this name.")]})
        topic.name, topic.keywords, topic.description = name, lines, (description or "").strip()
        topic.is_active, topic.updated_at = is_active, timezone.now()
        _save_named(topic, _("Another topic already has this name."))
        if replace_examples:
            TopicExample.objects.filter(tenant_id=tenant_id, topic=topic, is_positive=True, mention__isnull=False) \
                .exclude(mention_id__in=[m.pk for m in examples]).delete()
        for mention in examples:
            _store_example(tenant_id, topic, mention, positive=True, actor=actor)
        _retopic_soon(tenant_id)
        audit_record(tenant_id, actor=actor, action="topic.created" if topic_id is None else "topic.updated",
                     target=topic, data={"keywords": lines, "example_mention_ids": [m.pk for m in examples],
                                         "is_active": is_active})
        return topic


def topic_delete(tenant_id: int, *, actor, topic_id: int) -> None:
    """Delete a topic with its examples and its tags on mentions. A second call is a 404."""
    with tenant_context(tenant_id):
        topic = access_topic(tenant_id, topic_id)
        name = topic.name
        topic.delete()
        _retopic_soon(tenant_id)
        audit_record(tenant_id, actor=actor, action="topic.deleted", data={"name": name})


def _store_example(tenant_id: int, topic: Topic, mention: Mention, *, positive: bool, actor) -> TopicExample:
    example, _created = TopicExample.objects.update_or_create(
        tenant_id=tenant_id, topic=topic, mention=mention,
        defaults={"text": mention.text, "is_positive": positive,
                  "created_by": actor if getattr(actor, "pk", None) else None})
    return example


def set_mention_topic(tenant_id: int, *, actor, mention_id: int, topic_id: int, present: bool) -> MentionTopic | None:
    """A person says the mention is (``present``) or is not about the topic.

    Yes: the tag becomes a "human" one and the mention a positive example of the topic. No: the
    tag goes and the mention becomes a negative example, so later tagging runs never put it
    back and similar mentions are not tagged either. Idempotent (same call, same state); a
    mention or topic of another tenant is a 404."""
    with tenant_context(tenant_id):
        mention = access_mention(tenant_id, mention_id)
        topic = access_topic(tenant_id, topic_id)
        tag = MentionTopic.objects.filter(tenant_id=tenant_id, mention=mention, topic=topic).first()
        example = TopicExample.objects.filter(tenant_id=tenant_id, mention=mention, topic=topic).first()
        if example is not None and example.is_positive == present and (
                tag.source == TopicSource.HUMAN if present and tag else not present and tag is None):
            return tag  # already so: nothing to write or audit
        _store_example(tenant_id, topic, mention, positive=present, actor=actor)
        tag = None
        if present:
            tag, _created = MentionTopic.objects.update_or_create(
                tenant_id=tenant_id, mention=mention, topic=topic,
                defaults={"source": TopicSource.HUMAN, "score": 1.0})
        else:
            MentionTopic.objects.filter(tenant_id=tenant_id, mention=mention, topic=topic).delete()
        rollups.refresh(tenant_id, [mention.pk])
        audit_record(tenant_id, actor=actor, action="mention.topic_added" if present else "mention.topic_removed",
                     target=mention, data={"topic_id": topic.pk, "topic": topic.name})
        return tag


# --- Preview -------------------------------------------------------------------------------------


def preview_topic(tenant_id: int, *, keywords: Sequence[str], example_mention_ids: Iterable[int] = (),
                  negative_mention_ids: Iterable[int] = (), last_n: int = 200) -> tuple[list[tuple[Mention, TopicHit]], int]:
    """Which of the tenant's last ``last_n`` mentions a rule set (not saved) would tag, and how
    many were scanned. Reads only; ValidationError on bad keywords or ids of other tenants."""
    if not isinstance(last_n, int) or not 1 <= last_n <= max(PREVIEW_SIZES):
        raise ValidationError({"last_n": [_("Choose between 1 and %(n)s mentions.") % {"n": max(PREVIEW_SIZES)}]})
    with tenant_context(tenant_id):
        lines = clean_keywords(keywords)
        positives = _tenant_mentions(tenant_id, example_mention_ids, "example_mention_ids")
        negatives = _tenant_mentions(tenant_id, negative_mention_ids, "negative_mention_ids")
        if not _has_positive_term(lines) and not positives:
            raise ValidationError({"keywords": [_("Give at least one keyword (not only exclusions) or one example "
                                                  "mention.")]})
        recent = list(Mention.objects.filter(tenant_id=tenant_id).select_related("author")
                      .order_by("-created_at", "-id")[:last_n])
    matcher = TopicMatcher.from_rules([TopicRules(0, lines, [m.text for m in positives], [m.text for m in negatives])],
                                      ignore_words=_entity_names(tenant_id))
    hits = _match_mentions(matcher, recent)
    return [(mention, found[0]) for mention, found in zip(recent, hits) if found], len(recent)


def _entity_names(tenant_id: int) -> list[str]:
    with tenant_context(tenant_id):
        return [text for name, patterns in EntityTerm.objects.filter(tenant_id=tenant_id, is_active=True)
                .values_list("name", "patterns") for text in (name, *(patterns or []))]


def _analyse(mentions: Sequence[Mention]) -> tuple[list[str], list[str], list[str], list[str]]:
    """``(texts, normalized, lemmas, languages)``: one spaCy batch per language. The stage's
    detected language is used when every mention has one; otherwise all are detected."""
    texts = [m.text for m in mentions]
    known = [m.detected_language for m in mentions]
    normalized, lemmas, languages = prepare_texts(texts, known if all(known) else None)
    return texts, normalized, lemmas, languages


def _match_mentions(matcher: TopicMatcher, mentions: Sequence[Mention]) -> list[list[TopicHit]]:
    texts, normalized, lemmas, languages = _analyse(mentions)
    return matcher.match(normalized, lemmas, languages, texts)


# --- Storing hits --------------------------------------------------------------------------------


def write_topics(tenant_id: int, mention_ids: list[int], hits: list[list[TopicHit]]) -> int:
    """Replace the machine's topic tags of these mentions by ``hits`` (one list per mention).

    Two statements in the tenant's transaction: delete the "rule"/"example" rows of the
    mentions, insert the new ones. "human" rows stay (the insert skips a pair that has one), and
    a pair with a negative example is never inserted. Rows of a topic or mention deleted in the
    meantime are skipped. Idempotent: the same hits give the same rows. Returns rows inserted."""
    if not mention_ids:
        return 0
    rows = json.dumps([{"mention_id": mention_id, "topic_id": hit.topic_id, "source": hit.source, "score": hit.score}
                       for mention_id, found in zip(mention_ids, hits) for hit in found])
    with tenant_context(tenant_id), connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM listening_mentiontopic WHERE tenant_id = %s AND mention_id = ANY(%s) AND source <> %s",
            [tenant_id, list(mention_ids), TopicSource.HUMAN.value])
        cursor.execute(
            """
            INSERT INTO listening_mentiontopic (tenant_id, mention_id, topic_id, source, score)
            SELECT %(t)s, r.mention_id, r.topic_id, r.source, r.score
            FROM jsonb_to_recordset(%(rows)s::jsonb) AS r(mention_id bigint, topic_id bigint, source text, score float8)
            JOIN listening_topic t ON t.tenant_id = %(t)s AND t.id = r.topic_id
            JOIN listening_mention m ON m.tenant_id = %(t)s AND m.id = r.mention_id
            WHERE NOT EXISTS (SELECT 1 FROM listening_topicexample e WHERE e.tenant_id = %(t)s
                              AND e.topic_id = r.topic_id AND e.mention_id = r.mention_id AND NOT e.is_positive)
            ORDER BY r.mention_id, r.topic_id
            ON CONFLICT (tenant_id, mention_id, topic_id) DO NOTHING
            """,
            {"t": tenant_id, "rows": rows})
        return cursor.rowcount


def write_entities(tenant_id: int, mention_ids: list[int], entities: list[list[dict]]) -> int:
    """Store each mention's entities (``EntityExtractor.extract`` output) in one UPDATE."""
    if not mention_ids:
        return 0
    payload = json.dumps([{"id": mention_id, "entities": found} for mention_id, found in zip(mention_ids, entities)])
    with tenant_context(tenant_id), connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE listening_mention AS m SET entities = r.entities
            FROM jsonb_to_recordset(%s::jsonb) AS r(id bigint, entities jsonb)
            WHERE m.tenant_id = %s AND m.id = r.id
            """,
            [payload, tenant_id])
        return cursor.rowcount


def retopic_batch(tenant_id: int, *, days: int = 30, after_id: int = 0) -> tuple[int, int | None]:
    """Recompute the topics (machine rows only) and entities of up to ``RETOPIC_BATCH`` of the
    tenant's mentions of the last ``days`` days whose id is above ``after_id``, with the
    tenant's current rules. Returns ``(mentions done, last id)``; the last id is None when none
    was left, else the ``after_id`` of the next batch. Idempotent, so a task can do one batch
    and re-queue itself with the returned id (and a redelivered task does no harm)."""
    from .entities import EntityExtractor

    since = timezone.now() - timedelta(days=days)
    with tenant_context(tenant_id):
        mentions = list(Mention.objects.filter(tenant_id=tenant_id, created_at__gte=since, pk__gt=after_id)
                        .order_by("pk").only("pk", "text", "detected_language", "sentiment")[:RETOPIC_BATCH])
    if not mentions:
        return 0, None
    texts, normalized, lemmas, languages = _analyse(mentions)
    hits = TopicMatcher.for_tenant(tenant_id).match(normalized, lemmas, languages, texts)
    entities = EntityExtractor.for_tenant(tenant_id).extract(texts, languages, [m.sentiment for m in mentions])
    ids = [m.pk for m in mentions]
    with tenant_context(tenant_id):
        write_topics(tenant_id, ids, hits)
        write_entities(tenant_id, ids, entities)
        rollups.refresh(tenant_id, ids)
    return len(ids), ids[-1]


def retopic_recent(tenant_id: int, days: int = 30) -> int:
    """Every batch of ``retopic_batch`` in turn (a command, a test, a small tenant); returns how
    many mentions were done. A Celery task should rather do one batch per run."""
    done, after_id = 0, 0
    while True:
        count, after_id = retopic_batch(tenant_id, days=days, after_id=after_id)
        if after_id is None:
            return done
        done += count


# --- Entity terms --------------------------------------------------------------------------------


def entity_term_save(tenant_id: int, *, actor, term_id: int | None = None, kind: str, name: str,
                     patterns: Iterable[str] = (), is_active: bool = True) -> EntityTerm:
    """Create or update a brand, product, handle or competitor term. Idempotent."""
    with tenant_context(tenant_id):
        term = access_entity_term(tenant_id, term_id) if term_id else EntityTerm(tenant_id=tenant_id)
        if kind not in EntityKind.values:
            raise ValidationError({"kind": [_("Choose a brand, a product, a handle or a competitor.")]})
        name = (name or "").strip()
        if not any(c.isalnum() for c in name):
            raise ValidationError({"name": [_("Give the name as people write it, with letters or digits.")]})
        spellings: list[str] = []
        for raw in patterns:
            spelling = (raw or "").strip()
            if not spelling:
                continue
            if not any(c.isalnum() for c in spelling):
                raise ValidationError({"patterns": [_("“%(value)s” has no letter or digit.") % {"value": spelling}]})
            if spelling.casefold() != name.casefold() and spelling not in spellings:
                spellings.append(spelling)
        if EntityTerm.objects.filter(tenant_id=tenant_id, kind=kind, name__iexact=name).exclude(pk=term.pk).exists():
            raise ValidationError({"name": [_("Another term of this kind already has this name.")]})
        term.kind, term.name, term.patterns, term.is_active = kind, name, spellings, is_active
        term.updated_at = timezone.now()
        _save_named(term, _("Another term of this kind already has this name."))
        _retopic_soon(tenant_id)
        audit_record(tenant_id, actor=actor, action="entity_term.created" if term_id is None else "entity_term.updated",
                     target=term, data={"kind": kind, "patterns": spellings, "is_active": is_active})
        return term


def entity_term_delete(tenant_id: int, *, actor, term_id: int) -> None:
    with tenant_context(tenant_id):
        term = access_entity_term(tenant_id, term_id)
        label = f"{term.kind}: {term.name}"
        term.delete()
        _retopic_soon(tenant_id)
        audit_record(tenant_id, actor=actor, action="entity_term.deleted", data={"term": label})


# --- Starter topics ------------------------------------------------------------------------------

# (English name, French name, keywords in both languages). Words match their lemmas, so
# "livraison" also finds "livraisons" and "deliver" finds "delivered".
STARTER_TOPICS = [
    ("Delivery", "Livraison", [
        "livraison", "livrer", "livreur", "colis", "transporteur", '"point relais"', '"suivi de commande"',
        "delivery", "deliver", "parcel", "package", "courier", "shipping", "shipment", '"tracking number"']),
    ("Billing", "Facturation", [
        "facture", "facturation", "facturer", "paiement", "prélèvement", "prélever", "rembours*",
        "invoice", "billing", "payment", "refund", '"charged twice"', "overcharged"]),
    ("App bug", "Bug appli", [
        "appli", "application", "bug", "bugue", "beug", "plantage", "planter", '"mise à jour"', "connexion",
        "app", "crash", "glitch", '"error message"', "login", "update"]),
    ("Customer service", "Service client", [
        '"service client"', '"service après-vente"', "sav", "conseiller", "conseillère", "hotline",
        '"customer service"', '"customer support"', "support", "helpline", "agent", '"on hold"']),
    ("Product quality", "Qualité produit", [
        "qualité", "défaut", "défectueux", "cassé", "abîmé", "déchiré", "rappel",
        "quality", "defect", "defective", "broken", "faulty", "recall", '"fell apart"']),
]


def install_starter_topics(tenant_id: int, *, actor, language: str) -> list[Topic]:
    """The five usual topics, named in ``language`` (fr or en), keywords in both languages. A
    topic whose French or English name the tenant already uses is skipped, so a second call
    creates nothing. Returns the topics created."""
    created = []
    with tenant_context(tenant_id):
        existing = {n.casefold() for n in Topic.objects.filter(tenant_id=tenant_id).values_list("name", flat=True)}
        for english, french, keywords in STARTER_TOPICS:
            if english.casefold() in existing or french.casefold() in existing:
                continue
            created.append(topic_save(tenant_id, actor=actor, name=french if language == "fr" else english,
                                      keywords=keywords))
    return created
