"""GDPR (issue #5 item 7): export and erasure of a data subject, and the retention period.

A *subject* is a customer (its record, identities and their listening authors) or a social
handle on one platform (the authors with that handle). Everything here is tenant-scoped (tenant
id first, run inside ``tenant_context``) and audited with ids and counts only: the audit row of
an erasure must not itself hold the personal data it erased.

Erasure, in one transaction:

* the subject's mentions are anonymised (text, raw, url, entities emptied; ``is_deleted``),
  keeping ids, dates and metrics so the analytics counts stay true;
* derived texts are blanked: inbound inbox messages of those mentions, conversation previews;
  sentiment corrections and topic examples made from those texts are deleted;
* the authors keep their row (counts, conversations point at it) but lose handle, name, profile
  and avatar; ``platform_user_id`` becomes ``erased:<hmac>`` (HMAC-SHA256 of tenant, platform
  and the old id, keyed by SECRET_KEY). The real id is gone, yet ``erased_user_key`` of a
  re-ingested author gives the same value, so ingestion recognises an erased person and stores
  the new mention blank on that row (``listening.ingest._blank_erased``);
* identities and the customer (and customers merged into it) are deleted;
* notes, alert comments, outbound replies, conversation events, notifications, quarantined
  payloads, other customers' notes and the tenant's audit rows that quote the name, handles,
  e-mails or phones have those strings replaced by ``[erased]``.

Limits (documented, not hidden): a phone written in another format than the stored E.164 form,
and other people's mentions quoting the handle, are not redacted.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import Q, TextField
from django.db.models.functions import Cast
from django.utils import timezone
from django.utils.translation import gettext as _

from social_crm.tenancy.actions import audit_record
from social_crm.tenancy.scope import tenant_context

from .models import Customer, LinkSuggestion, MergeRecord, PrivacySettings, SocialIdentity

REDACTED = "[erased]"
RETENTION_BATCH = 500  # mentions per retention run: a few quick UPDATEs; a full batch re-queues
MIN_TERM = 3  # shorter strings would redact half the tenant's text


def erased_user_key(tenant_id: int, platform: str, platform_user_id: str) -> str:
    digest = hmac.new(settings.SECRET_KEY.encode(), f"{tenant_id}:{platform}:{platform_user_id}".encode(),
                      hashlib.sha256).hexdigest()
    return f"erased:{digest[:40]}"


def erased_authors(tenant_id: int, platform: str, platform_user_ids) -> dict[str, str]:
    """The erased ones among these platform user ids: id -> the ``erased_user_key`` their author
    row carries. One indexed query (ingestion asks it for every page). Call inside tenant_context."""
    from listening.models import Author

    keys = {uid: erased_user_key(tenant_id, platform, uid) for uid in platform_user_ids if uid}
    if not keys:
        return {}
    found = set(Author.objects.filter(tenant_id=tenant_id, platform=platform,
                                      platform_user_id__in=sorted(set(keys.values())))
                .values_list("platform_user_id", flat=True))
    return {uid: key for uid, key in keys.items() if key in found}


def is_erased_author(tenant_id: int, platform: str, platform_user_id: str) -> bool:
    with tenant_context(tenant_id):
        return bool(erased_authors(tenant_id, platform, [platform_user_id]))


# --- The subject -------------------------------------------------------------------------------


def _clean_handle(handle: str) -> str:
    return (handle or "").strip().lstrip("@").lower()


def _subject(tenant_id: int, customer_id, platform, handle) -> dict:
    """Resolve the subject: its customer(s), identities, author ids and the strings that name it.
    ValidationError (400) for a bad request, Http404 for an unknown customer."""
    from listening.models import Author

    from .actions import access_customer

    customers, identities = [], SocialIdentity.objects.none()
    if customer_id:
        customer = access_customer(tenant_id, customer_id)
        customers = [customer, *Customer.objects.filter(tenant_id=tenant_id, merged_into=customer)]
        identities = SocialIdentity.objects.filter(tenant_id=tenant_id, customer__in=customers)
        authors = Author.objects.filter(tenant_id=tenant_id, pk__in=identities.exclude(author=None)
                                        .values("author_id"))
    else:
        handle = _clean_handle(handle)
        errors = {}
        if not platform:
            errors["platform"] = [_("Give the platform.")]
        if not handle:
            errors["handle"] = [_("Give the handle.")]
        if errors:
            raise ValidationError(errors)
        authors = Author.objects.filter(tenant_id=tenant_id, platform=platform, handle__iexact=handle)
        identities = SocialIdentity.objects.filter(Q(author__in=authors) | Q(handle__iexact=handle),
                                                   tenant_id=tenant_id, platform=platform)
    authors, identities = list(authors), list(identities)
    terms = set()
    for c in customers:
        terms.update([c.name, *c.emails, *c.phones, *(h.lstrip("@") for h in c.handles)])
    for row in [*authors, *identities]:
        terms.update([row.handle, row.name])
    if handle:
        terms.add(_clean_handle(handle))
    terms = sorted({t.strip() for t in terms if t and len(t.strip()) >= MIN_TERM}, key=len, reverse=True)
    return {"customers": customers, "identities": identities, "authors": authors, "terms": terms}


def _row(obj) -> dict:
    return {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields if f.attname != "tenant_id"}


def _mentions(tenant_id: int, author_ids):
    from listening.models import Mention

    return Mention.objects.filter(tenant_id=tenant_id, author_id__in=author_ids)


def export_subject(tenant_id: int, *, actor, customer_id=None, platform=None, handle=None) -> dict:
    """Everything held about a customer or a handle, as JSON-serialisable data. Read-only
    (idempotent); writes one audit row with ids and counts."""
    from inbox.models import Conversation, Message, Note
    from listening.models import MentionTopic, SentimentLabel, TopicExample

    with tenant_context(tenant_id):
        s = _subject(tenant_id, customer_id, platform, handle)
        author_ids = [a.pk for a in s["authors"]]
        mentions = list(_mentions(tenant_id, author_ids).order_by("id"))
        mention_ids = [m.pk for m in mentions]
        topics = {}
        for mid, name in MentionTopic.objects.filter(tenant_id=tenant_id, mention_id__in=mention_ids).values_list(
                "mention_id", "topic__name"):
            topics.setdefault(mid, []).append(name)
        conversations = Conversation.objects.filter(Q(author_id__in=author_ids) | Q(
            messages__mention_id__in=mention_ids), tenant_id=tenant_id).distinct().order_by("id")
        customer_ids = [c.pk for c in s["customers"]]
        data = {
            "generated_at": timezone.now(),
            "subject": {"customer_id": customer_id, "platform": platform or "", "handle": handle or ""},
            "customers": [_row(c) for c in s["customers"]],
            "identities": [_row(i) for i in s["identities"]],
            "link_suggestions": [_row(x) for x in LinkSuggestion.objects.filter(
                Q(customer_id__in=customer_ids) | Q(identity__in=[i.pk for i in s["identities"]]),
                tenant_id=tenant_id)],
            "merges": [_row(x) for x in MergeRecord.objects.filter(
                Q(survivor_id__in=customer_ids) | Q(merged_id__in=customer_ids), tenant_id=tenant_id)],
            "authors": [_row(a) for a in s["authors"]],
            "mentions": [{**_row(m), "topics": topics.get(m.pk, [])} for m in mentions],
            "conversations": [{**_row(c), "messages": [_row(x) for x in Message.objects.filter(
                tenant_id=tenant_id, conversation=c).order_by("id")],
                "notes": [_row(n) for n in Note.objects.filter(tenant_id=tenant_id, conversation=c)]}
                for c in conversations],
            "sentiment_labels": [_row(x) for x in SentimentLabel.objects.filter(tenant_id=tenant_id,
                                                                                mention_id__in=mention_ids)],
            "topic_examples": [_row(x) for x in TopicExample.objects.filter(tenant_id=tenant_id,
                                                                            mention_id__in=mention_ids)],
        }
        audit_record(tenant_id, actor=actor, action="gdpr.exported",
                     data={"customer_ids": customer_ids, "author_ids": author_ids, "mentions": len(mentions)})
    return json.loads(json.dumps(data, cls=DjangoJSONEncoder))


# --- Anonymising mentions (erasure, retention, platform deletions) --------------------------------


def anonymise_mentions(tenant_id: int, mention_ids: list[int]) -> dict:
    """Blank the texts of these mentions and everything derived from them; ids, dates and metrics
    stay. Idempotent. Call inside tenant_context and a transaction."""
    from inbox.models import Conversation, Direction, Message
    from listening.models import Mention, SentimentLabel, TopicExample

    if not mention_ids:
        return {"mentions": 0, "messages": 0, "labels": 0, "examples": 0, "previews": 0}
    mentions = Mention.objects.filter(tenant_id=tenant_id, pk__in=mention_ids)
    messages = Message.objects.filter(tenant_id=tenant_id, mention_id__in=mention_ids, direction=Direction.INBOUND)
    conversation_ids = list(messages.values_list("conversation_id", flat=True).distinct())
    counts = {
        "mentions": mentions.update(text="", raw={}, url="", entities=[], is_deleted=True),
        "messages": messages.exclude(text="").update(text=""),
        "previews": Conversation.objects.filter(tenant_id=tenant_id, pk__in=conversation_ids).exclude(
            preview="").update(preview=""),
        # A correction or an example without its text teaches nothing: they go.
        "labels": SentimentLabel.objects.filter(tenant_id=tenant_id, mention_id__in=mention_ids).delete()[0],
        "examples": TopicExample.objects.filter(tenant_id=tenant_id, mention_id__in=mention_ids).delete()[0],
    }
    # The dashboards keep the counts; the entities (terms) of these mentions go from them.
    from analytics import rollups

    rollups.refresh(tenant_id, mention_ids)
    return counts


# --- Redaction of free text that quotes the subject ---------------------------------------------


def _redact(value, pattern: re.Pattern):
    if isinstance(value, str):
        return pattern.sub(REDACTED, value)
    if isinstance(value, list):
        return [_redact(v, pattern) for v in value]
    if isinstance(value, dict):
        return {_redact(k, pattern): _redact(v, pattern) for k, v in value.items()}
    return value


def _redact_targets():
    from inbox.models import AlertComment, Conversation, ConversationEvent, Message, Note
    from listening.models import QuarantinedPayload
    from social_crm.tenancy.models import AuditEvent, Notification

    return [(Notification, "title"), (Notification, "body"), (Note, "body"), (AlertComment, "body"),
            (Message, "text"), (Conversation, "preview"),
            (ConversationEvent, "data"), (QuarantinedPayload, "payload"), (Customer, "notes"),
            (LinkSuggestion, "evidence"), (MergeRecord, "snapshot"), (AuditEvent, "target_label"),
            (AuditEvent, "data")]


def redact_terms(tenant_id: int, terms: list[str]) -> int:
    """Replace each term (case-insensitive) in the tenant's free-text columns; returns the rows
    changed. The pre-filter runs in PostgreSQL (ILIKE on the text or the JSON cast to text)."""
    if not terms:
        return 0
    pattern = re.compile("|".join(re.escape(t) for t in terms), re.IGNORECASE)
    changed = 0
    for model, field in _redact_targets():
        match = Q()
        for term in terms:
            match |= Q(_gdpr_text__icontains=term)
        rows = model.objects.filter(tenant_id=tenant_id).annotate(_gdpr_text=Cast(field, TextField())).filter(match)
        for row in rows:
            setattr(row, field, _redact(getattr(row, field), pattern))
            row.save(update_fields=[field])
            changed += 1
    return changed


# --- Erasure -----------------------------------------------------------------------------------


def erase_subject(tenant_id: int, *, actor, customer_id=None, platform=None, handle=None) -> dict:
    """Erase a customer or a handle (module docstring). One transaction; idempotent (a second
    call finds nothing left to erase, or 404 for a deleted customer). Returns the counts, which
    are also the audit row's data."""
    with tenant_context(tenant_id), transaction.atomic():
        s = _subject(tenant_id, customer_id, platform, handle)
        author_ids = [a.pk for a in s["authors"]]
        mention_ids = list(_mentions(tenant_id, author_ids).values_list("pk", flat=True))
        counts = anonymise_mentions(tenant_id, mention_ids)
        for author in s["authors"]:
            if not author.platform_user_id.startswith("erased:"):
                author.platform_user_id = erased_user_key(tenant_id, author.platform, author.platform_user_id)
            author.handle = author.name = author.profile_url = author.avatar_url = ""
            author.save(update_fields=["platform_user_id", "handle", "name", "profile_url", "avatar_url"])
        counts["authors"] = len(author_ids)
        counts["identities"] = SocialIdentity.objects.filter(
            tenant_id=tenant_id, pk__in=[i.pk for i in s["identities"]]).delete()[1].get("customers.SocialIdentity", 0)
        customer_ids = [c.pk for c in s["customers"]]
        counts["customers"] = Customer.objects.filter(tenant_id=tenant_id, pk__in=customer_ids).delete()[1].get(
            "customers.Customer", 0)
        counts["redacted_rows"] = redact_terms(tenant_id, s["terms"])
        audit_record(tenant_id, actor=actor, action="gdpr.erased",
                     data={**counts, "customer_ids": customer_ids, "author_ids": author_ids})
    return counts


# --- Retention ---------------------------------------------------------------------------------


def privacy_settings(tenant_id: int) -> PrivacySettings:
    with tenant_context(tenant_id):
        return PrivacySettings.objects.get_or_create(tenant_id=tenant_id)[0]


def privacy_update(tenant_id: int, *, actor, retention_days: int) -> PrivacySettings:
    """Set the retention period. Idempotent; audited (the numbers only)."""
    if retention_days is None or retention_days < 0 or retention_days > 36500:
        raise ValidationError({"retention_days": [_("Give a number of days between 0 and 36500.")]})
    with tenant_context(tenant_id), transaction.atomic():
        row = PrivacySettings.objects.select_for_update().get_or_create(tenant_id=tenant_id)[0]
        previous = row.retention_days
        row.retention_days, row.updated_at = retention_days, timezone.now()
        row.save(update_fields=["retention_days", "updated_at"])
        audit_record(tenant_id, actor=actor, action="gdpr.retention_changed",
                     data={"from": previous, "to": retention_days})
    return row


def retention_apply(tenant_id: int, *, batch: int = RETENTION_BATCH) -> int:
    """Anonymise one batch of mentions older than the tenant's retention period; returns how
    many (a full batch means more may be left). Idempotent: anonymised mentions no longer match."""
    from listening.models import Mention

    with tenant_context(tenant_id), transaction.atomic():
        days = PrivacySettings.objects.filter(tenant_id=tenant_id).values_list("retention_days", flat=True).first()
        if not days:
            return 0
        cutoff = timezone.now() - timedelta(days=days)
        ids = list(Mention.objects.filter(tenant_id=tenant_id, created_at__lt=cutoff)
                   .filter(~Q(text="") | ~Q(url="") | ~Q(raw={})).order_by("id")
                   .values_list("pk", flat=True)[:batch])
        counts = anonymise_mentions(tenant_id, ids)
        if ids:
            audit_record(tenant_id, actor="retention", action="gdpr.retention_applied", data=counts)
    return len(ids)
