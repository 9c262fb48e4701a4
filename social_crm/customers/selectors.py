"""Reads of the customers pages and API that are more than a filter."""

from __future__ import annotations

from django.db.models import Q
from django.urls import NoReverseMatch, reverse

from .models import Customer, MergeRecord, SocialIdentity
from .normalize import fold, token_set_ratio

TIMELINE_LIMIT = 100
DUPLICATE_CANDIDATES = 200
DUPLICATE_MIN_SIMILARITY = 0.9


def search(queryset, q: str):
    """Customers whose folded name contains the folded query, or with the query in an e-mail,
    a phone or the external CRM id (a sequential scan within the tenant: fine to a few hundred
    thousand customers; pg_trgm would index it, but it is not in the embedded database)."""
    folded = fold(q)
    match = Q(emails__icontains=q.strip()) | Q(phones__icontains=q.strip()) | Q(external_crm_id__iexact=q.strip())
    if folded:
        match |= Q(name_folded__contains=folded)
    return queryset.filter(match)


def timeline(tenant_id: int, tenant_slug: str, customer: Customer) -> list:
    """The conversations of every identity linked to the customer, all platforms, newest first;
    each with ``url``: the inbox conversation page when the inbox has one, else None."""
    from inbox.models import Conversation

    author_ids = list(SocialIdentity.objects.filter(tenant_id=tenant_id, customer=customer, author__isnull=False)
                      .values_list("author_id", flat=True))
    if not author_ids:
        return []
    conversations = list(Conversation.objects.filter(tenant_id=tenant_id, author_id__in=author_ids)
                         .order_by("-last_message_at", "-id")[:TIMELINE_LIMIT])
    for conversation in conversations:
        try:
            conversation.url = reverse("inbox-conversation",
                                       kwargs={"tenant_slug": tenant_slug, "conversation_id": conversation.pk})
        except NoReverseMatch:  # the inbox pages are built alongside: no link until they exist
            conversation.url = None
    return conversations


def possible_duplicates(tenant_id: int, customer: Customer) -> list[Customer]:
    """Other live customers sharing an e-mail or a phone, or with a near-identical name."""
    live = Customer.objects.filter(tenant_id=tenant_id, merged_into__isnull=True).exclude(pk=customer.pk)
    shared = Q(pk__in=[])
    for email in customer.emails:
        shared |= Q(emails__contains=[email])
    for phone in customer.phones:
        shared |= Q(phones__contains=[phone])
    found = {c.pk: c for c in live.filter(shared)[:DUPLICATE_CANDIDATES]}
    words = [w for w in customer.name_folded.split() if len(w) >= 3]
    if words:
        same_word = Q()
        for word in words:
            same_word |= Q(name_folded__contains=word)
        for other in live.filter(same_word)[:DUPLICATE_CANDIDATES]:
            if token_set_ratio(customer.name, other.name) >= DUPLICATE_MIN_SIMILARITY:
                found.setdefault(other.pk, other)
    return sorted(found.values(), key=lambda c: (c.name_folded, c.pk))


def recent_merges(tenant_id: int, customer: Customer, limit: int = 10) -> list[MergeRecord]:
    return list(MergeRecord.objects.filter(tenant_id=tenant_id, survivor=customer)
                .select_related("merged").order_by("-created_at", "-id")[:limit])
