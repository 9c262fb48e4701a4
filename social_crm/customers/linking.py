"""Which customer a social identity may be: evidence, a confidence, stored suggestions.

Evidence kinds and their weights (each piece is a probability-like weight in 0..1):

=============  ======  =============================================================
kind           weight  found when
=============  ======  =============================================================
profile_url    0.90    the identity's profile URL is stored on the customer, or is the
                       profile URL of another identity already linked to the customer
email          0.80    an e-mail in the author's mentions or profile is the customer's
phone          0.70    a phone in the author's mentions or profile is the customer's
handle         0.60    the same handle is stored on the customer, or is the handle of the
                       customer's identity on another platform
name           0.45 x  the accent-folded token-set similarity (difflib) of the display
               sim.    name and the customer's name, counted from NAME_MIN_SIMILARITY
=============  ======  =============================================================

The confidence combines the pieces as independent clues (noisy-OR):
``1 - prod(1 - weight)``: two weak clues beat one, no pile of clues reaches 1, and one
strong clue alone (an e-mail) ranks above a name that merely looks alike. A suggestion is
stored from MIN_CONFIDENCE; at most MAX_SUGGESTIONS per identity.

A (identity, customer) pair has one LinkSuggestion row for ever (unique constraint): a
rejected pair is never suggested again, a pending one is refreshed with the new evidence.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from listening.models import Author, Mention
from social_crm.tenancy.access import scoped_get
from social_crm.tenancy.scope import tenant_context

from .models import Customer, LinkSuggestion, SocialIdentity, SuggestionStatus
from .normalize import clean_handle, emails_in, fold, phones_in, token_set_ratio

WEIGHTS = {"profile_url": 0.90, "email": 0.80, "phone": 0.70, "handle": 0.60, "name": 0.45}
NAME_MIN_SIMILARITY = 0.85  # below this, two names are not evidence (e.g. "Jean Dupont" / "Jeanne Dupuis")
MIN_CONFIDENCE = 0.35  # a name alone at 0.85 similarity (0.38) is still worth a look
MAX_SUGGESTIONS = 5
TEXT_MENTIONS = 50  # the author's newest mentions searched for e-mails and phones
NAME_CANDIDATES = 300  # customers pre-filtered on a shared name word, then scored in Python


@dataclass
class Candidate:
    customer_id: int
    evidence: list[dict] = field(default_factory=list)

    def add(self, kind: str, detail: str, weight: float | None = None) -> None:
        if not any(e["kind"] == kind and e["detail"] == detail for e in self.evidence):
            self.evidence.append({"kind": kind, "detail": detail, "weight": round(WEIGHTS[kind] if weight is None else weight, 3)})

    @property
    def confidence(self) -> float:
        return combine(self.evidence)


def combine(evidence: list[dict]) -> float:
    """Noisy-OR of the weights, one (the strongest) per kind: five e-mails of the same
    customer are one clue, not five."""
    best: dict[str, float] = {}
    for piece in evidence:
        best[piece["kind"]] = max(best.get(piece["kind"], 0.0), float(piece["weight"]))
    return round(1 - math.prod(1 - w for w in best.values()), 4)


def identity_for_author(tenant_id: int, author_id: int) -> SocialIdentity:
    """The SocialIdentity of a listening Author, created or refreshed from it (handle, name,
    profile URL). Idempotent: (tenant, platform, platform_user_id) is unique, a second call
    updates the same row."""
    with tenant_context(tenant_id):
        author = scoped_get(Author.objects.all(), tenant_id, author_id)
        identity, _created = SocialIdentity.objects.update_or_create(
            tenant_id=tenant_id, platform=author.platform, platform_user_id=author.platform_user_id,
            defaults={"handle": author.handle, "name": author.name, "profile_url": author.profile_url,
                      "author": author, "updated_at": timezone.now()})
        return identity


def _texts(tenant_id: int, identity: SocialIdentity) -> list[str]:
    """Where an e-mail or a phone may be written: the author's profile fields and newest mentions."""
    texts = [identity.name, identity.handle]
    if identity.author_id:
        texts += list(Mention.objects.filter(tenant_id=tenant_id, author_id=identity.author_id)
                      .order_by("-created_at").values_list("text", flat=True)[:TEXT_MENTIONS])
    return texts


def _live_customers(tenant_id: int):
    return Customer.objects.filter(tenant_id=tenant_id, merged_into__isnull=True)


def _contact_evidence(tenant_id: int, identity: SocialIdentity, candidates: dict[int, Candidate]) -> None:
    texts = _texts(tenant_id, identity)
    emails = sorted(set().union(*(emails_in(t) for t in texts)))[:10]
    phones = sorted(set().union(*(phones_in(t) for t in texts)))[:10]
    for kind, values, column in (("email", emails, "emails"), ("phone", phones, "phones")):
        for value in values:
            # JSONB containment (emails @> '["x"]'): the values are stored in normal form.
            for pk in _live_customers(tenant_id).filter(**{f"{column}__contains": [value]}).values_list("pk", flat=True):
                candidates.setdefault(pk, Candidate(pk)).add(kind, value)


def _handle_evidence(tenant_id: int, identity: SocialIdentity, candidates: dict[int, Candidate]) -> None:
    keys = []
    if identity.handle:
        keys.append(("handle", clean_handle(identity.handle)))
    if identity.profile_url:
        keys.append(("profile_url", clean_handle(identity.profile_url)))
    for kind, key in keys:
        stored = _live_customers(tenant_id).filter(handles__contains=[key]).values_list("pk", flat=True)
        for pk in stored:
            candidates.setdefault(pk, Candidate(pk)).add(kind, key)
        column = "handle__iexact" if kind == "handle" else "profile_url__in"
        value = key if kind == "handle" else [key, key + "/"]
        others = (SocialIdentity.objects.filter(tenant_id=tenant_id, customer__isnull=False,
                                                customer__merged_into__isnull=True, **{column: value})
                  .exclude(pk=identity.pk).values_list("customer_id", "platform"))
        for pk, platform in others:
            candidates.setdefault(pk, Candidate(pk)).add(kind, f"{key} ({platform})")


def _name_evidence(tenant_id: int, identity: SocialIdentity, candidates: dict[int, Candidate]) -> None:
    name = identity.name or identity.handle
    words = [w for w in fold(name).split() if len(w) >= 3]
    if not words:
        return
    shared_word = Q()
    for word in words:
        shared_word |= Q(name_folded__contains=word)
    rows = _live_customers(tenant_id).filter(shared_word).values_list("pk", "name")[:NAME_CANDIDATES]
    for pk, customer_name in rows:
        similarity = token_set_ratio(name, customer_name)
        if similarity >= NAME_MIN_SIMILARITY:
            candidates.setdefault(pk, Candidate(pk)).add(
                "name", f"{name} ≈ {customer_name} ({similarity:.0%})", WEIGHTS["name"] * similarity)


def evidence_for(tenant_id: int, identity: SocialIdentity) -> list[Candidate]:
    """Every customer with some evidence, strongest first (no writes)."""
    candidates: dict[int, Candidate] = {}
    _handle_evidence(tenant_id, identity, candidates)
    _contact_evidence(tenant_id, identity, candidates)
    _name_evidence(tenant_id, identity, candidates)
    return sorted(candidates.values(), key=lambda c: (-c.confidence, c.customer_id))


def suggest_links(tenant_id: int, identity_id: int) -> list[LinkSuggestion]:
    """Store the pending suggestions of an identity (none for a linked identity) and return
    them, strongest first. Idempotent: a pair already pending (or closed) is refreshed with the
    new evidence, a rejected or confirmed pair is left alone, nothing is duplicated (one row per
    pair, inserted with ignore-on-conflict so two workers cannot both insert it)."""
    with tenant_context(tenant_id):
        identity = scoped_get(SocialIdentity.objects.select_for_update(), tenant_id, identity_id)
        if identity.customer_id is not None:
            return []
        found = [c for c in evidence_for(tenant_id, identity) if c.confidence >= MIN_CONFIDENCE][:MAX_SUGGESTIONS]
        existing = {s.customer_id: s for s in LinkSuggestion.objects.filter(
            tenant_id=tenant_id, identity=identity, customer_id__in=[c.customer_id for c in found])}
        now = timezone.now()
        new = []
        for candidate in found:
            row = existing.get(candidate.customer_id)
            if row is None:
                new.append(LinkSuggestion(tenant_id=tenant_id, identity=identity, customer_id=candidate.customer_id,
                                          confidence=candidate.confidence, evidence=candidate.evidence))
            elif row.status in (SuggestionStatus.PENDING, SuggestionStatus.CLOSED):
                row.confidence, row.evidence, row.status, row.updated_at = (
                    candidate.confidence, candidate.evidence, SuggestionStatus.PENDING, now)
                row.save(update_fields=["confidence", "evidence", "status", "updated_at"])
        LinkSuggestion.objects.bulk_create(new, ignore_conflicts=True)
        return list(pending_for_identity(tenant_id, identity.pk))


def pending_for_identity(tenant_id: int, identity_id: int):
    return (LinkSuggestion.objects.filter(tenant_id=tenant_id, identity_id=identity_id,
                                          status=SuggestionStatus.PENDING)
            .select_related("customer").order_by("-confidence", "id"))


def suggest_for_authors(tenant_id: int, author_ids) -> int:
    """identity_for_author then suggest_links for each author; the number of pending
    suggestions. Idempotent (both steps are). Each author in its own transaction, so one
    author's failure does not undo the others."""
    total = 0
    existing = set(Author.objects.filter(tenant_id=tenant_id, pk__in=list(author_ids)).values_list("pk", flat=True))
    for author_id in sorted(existing):
        with transaction.atomic():
            identity = identity_for_author(tenant_id, author_id)
            total += len(suggest_links(tenant_id, identity.pk))
    return total
