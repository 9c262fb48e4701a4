"""Writes on customers (tenant id first, keyword-only, one transaction, one audit row each):
customer create/update/delete, link/unlink of identities, confirm/reject of suggestions,
merge and undo of a merge. Linking evidence is in linking.py, CSV in csv_io.py.

A merge is soft and exactly reversible: the merged customer keeps its row (``merged_into``
set); its identities move to the survivor; the survivor gains its e-mails, phones, handles,
notes, the higher tier and (when it has none) its external CRM id. The MergeRecord snapshot
holds both customers' fields before and the survivor's fields after, the identities moved and
the suggestions closed; ``customer_merge_undo`` puts all of it back, and refuses (rather than
guess) when the survivor was changed after the merge.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.http import Http404
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from social_crm.tenancy.access import scoped_get
from social_crm.tenancy.actions import audit_record
from social_crm.tenancy.scope import tenant_context

from .models import Customer, LinkSuggestion, MergeRecord, SocialIdentity, SuggestionStatus, Tier
from .normalize import clean_email, clean_handle, clean_list, clean_phone, fold

TIER_RANK = {Tier.STANDARD: 0, Tier.SILVER: 1, Tier.GOLD: 2, Tier.VIP: 3}
# The fields a merge may change on either customer, as the snapshot stores them.
MERGE_FIELDS = ("emails", "phones", "handles", "notes", "external_crm_id", "tier", "consent_marketing",
                "consent_contact", "consent_at")


# --- Reads by id (a miss or another tenant's row: the same 404) ---------------------------------


def access_customer(tenant_id: int, customer_id) -> Customer:
    return scoped_get(Customer.objects.all(), tenant_id, customer_id)


def access_identity(tenant_id: int, identity_id) -> SocialIdentity:
    return scoped_get(SocialIdentity.objects.select_related("customer"), tenant_id, identity_id)


def access_suggestion(tenant_id: int, suggestion_id) -> LinkSuggestion:
    return scoped_get(LinkSuggestion.objects.select_related("identity", "customer"), tenant_id, suggestion_id)


def access_merge(tenant_id: int, merge_id) -> MergeRecord:
    return scoped_get(MergeRecord.objects.all(), tenant_id, merge_id)


def _field_customer(tenant_id: int, customer_id, field: str, *, live: bool = True) -> Customer:
    """A customer named in a body: another tenant's or a missing id is a field error (400)."""
    try:
        customer = scoped_get(Customer.objects.select_for_update(), tenant_id, customer_id)
    except Http404:
        raise ValidationError({field: [_("Unknown customer.")]}) from None
    if live and customer.merged_into_id:
        raise ValidationError({field: [_("This customer was merged into another one.")]})
    return customer


# --- Customers ---------------------------------------------------------------------------------


def clean_customer_fields(*, name: str, emails, phones, handles, external_crm_id: str, tier: str) -> dict:
    """The validated, normal form of a customer's fields; ValidationError naming each bad field."""
    errors: dict[str, list] = {}
    values = {"name": (name or "").strip(), "external_crm_id": (external_crm_id or "").strip(),
              "tier": tier or Tier.STANDARD}
    if not values["name"]:
        errors["name"] = [_("Give the customer a name.")]
    if values["tier"] not in Tier.values:
        errors["tier"] = [_("Unknown tier: %(value)s.") % {"value": tier}]
    for field, raw, cleaner in (("emails", emails, clean_email), ("phones", phones, clean_phone),
                                ("handles", handles, clean_handle)):
        try:
            values[field] = clean_list(raw, cleaner, field)
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    return values


def customer_save(tenant_id: int, *, actor, customer_id: int | None = None, name: str, emails=(), phones=(),
                  handles=(), external_crm_id: str = "", tier: str = Tier.STANDARD, notes: str = "",
                  consent_marketing: bool = False, consent_contact: bool = False, consent_at=None) -> Customer:
    """Create or update a customer. A consent change without a date is dated now. Idempotent:
    the same values again change nothing but ``updated_at``. A taken external CRM id is a
    field error."""
    with tenant_context(tenant_id):
        customer = (scoped_get(Customer.objects.select_for_update(), tenant_id, customer_id) if customer_id
                    else Customer(tenant_id=tenant_id))
        values = clean_customer_fields(name=name, emails=emails, phones=phones, handles=handles,
                                       external_crm_id=external_crm_id, tier=tier)
        taken = Customer.objects.filter(tenant_id=tenant_id, external_crm_id=values["external_crm_id"]) \
            .exclude(pk=customer.pk)
        if values["external_crm_id"] and taken.exists():
            raise ValidationError({"external_crm_id": [_("Another customer has this external CRM id.")]})
        consent_changed = (customer.consent_marketing, customer.consent_contact) != (consent_marketing, consent_contact)
        for key, value in values.items():
            setattr(customer, key, value)
        customer.name_folded = fold(customer.name)[:200]
        customer.notes = (notes or "").strip()
        customer.consent_marketing, customer.consent_contact = bool(consent_marketing), bool(consent_contact)
        if consent_at is not None:
            customer.consent_at = consent_at
        elif consent_changed and (consent_marketing or consent_contact or customer.pk):
            customer.consent_at = timezone.now()
        customer.updated_at = timezone.now()
        try:
            with transaction.atomic():
                customer.save()
        except IntegrityError as exc:  # a concurrent twin took the external id
            raise ValidationError({"external_crm_id": [_("Another customer has this external CRM id.")]}) from exc
        audit_record(tenant_id, actor=actor, action="customer.created" if customer_id is None else "customer.updated",
                     target=customer, data={"emails": customer.emails, "phones": customer.phones, "tier": customer.tier,
                                            "external_crm_id": customer.external_crm_id})
        return customer


def customer_delete(tenant_id: int, *, actor, customer_id: int) -> None:
    """Delete a customer; its identities become unlinked (not deleted), its suggestions and
    merge records go with it. A second call is a 404."""
    with tenant_context(tenant_id):
        customer = scoped_get(Customer.objects.select_for_update(), tenant_id, customer_id)
        SocialIdentity.objects.filter(tenant_id=tenant_id, customer=customer).update(customer=None, linked_at=None)
        audit_record(tenant_id, actor=actor, action="customer.deleted", target=customer,
                     data={"emails": customer.emails, "external_crm_id": customer.external_crm_id})
        customer.delete()


# --- Linking -----------------------------------------------------------------------------------


def _link(tenant_id: int, identity: SocialIdentity, customer: Customer, actor) -> None:
    identity.customer, identity.linked_at = customer, timezone.now()
    identity.linked_by = actor if getattr(actor, "pk", None) else None
    identity.updated_at = identity.linked_at
    identity.save(update_fields=["customer", "linked_at", "linked_by", "updated_at"])
    pending = LinkSuggestion.objects.filter(tenant_id=tenant_id, identity=identity, status=SuggestionStatus.PENDING)
    decided = {"decided_by": identity.linked_by, "decided_at": identity.linked_at, "updated_at": identity.linked_at}
    pending.filter(customer=customer).update(status=SuggestionStatus.CONFIRMED, **decided)
    # Another customer was chosen: the identity's other suggestions are closed (not rejected:
    # an unlink later may bring them back).
    pending.exclude(customer=customer).update(status=SuggestionStatus.CLOSED, **decided)


def identity_link(tenant_id: int, *, actor, identity_id: int, customer_id: int) -> SocialIdentity:
    """Link an identity to a customer by hand. Linking it again to the same customer is a
    no-op; an identity linked to another customer must be unlinked first (field error)."""
    with tenant_context(tenant_id):
        identity = scoped_get(SocialIdentity.objects.select_for_update(), tenant_id, identity_id)
        customer = _field_customer(tenant_id, customer_id, "customer")
        if identity.customer_id == customer.pk:
            return identity
        if identity.customer_id is not None:
            raise ValidationError({"customer": [_("This identity is linked to another customer: unlink it first.")]})
        _link(tenant_id, identity, customer, actor)
        audit_record(tenant_id, actor=actor, action="identity.linked", target=identity,
                     data={"customer": customer.pk, "customer_name": customer.name, "source": "manual"})
        return identity


def identity_unlink(tenant_id: int, *, actor, identity_id: int) -> SocialIdentity:
    """Unlink an identity from its customer: the agent says it is not that person, so the
    pair's suggestion becomes rejected (never suggested again). A second call is a no-op."""
    with tenant_context(tenant_id):
        identity = scoped_get(SocialIdentity.objects.select_for_update(), tenant_id, identity_id)
        if identity.customer_id is None:
            return identity
        customer_id, now = identity.customer_id, timezone.now()
        LinkSuggestion.objects.filter(tenant_id=tenant_id, identity=identity, customer_id=customer_id).update(
            status=SuggestionStatus.REJECTED, decided_by=actor if getattr(actor, "pk", None) else None,
            decided_at=now, updated_at=now)
        identity.customer, identity.linked_at, identity.linked_by, identity.updated_at = None, None, None, now
        identity.save(update_fields=["customer", "linked_at", "linked_by", "updated_at"])
        audit_record(tenant_id, actor=actor, action="identity.unlinked", target=identity, data={"customer": customer_id})
        return identity


def suggestion_confirm(tenant_id: int, *, actor, suggestion_id: int) -> LinkSuggestion:
    """Link the suggested pair. Confirming a confirmed suggestion is a no-op; a rejected or
    closed one, or an identity linked meanwhile to someone else, is an error."""
    with tenant_context(tenant_id):
        suggestion = scoped_get(LinkSuggestion.objects.select_for_update(), tenant_id, suggestion_id)
        if suggestion.status == SuggestionStatus.CONFIRMED:
            return suggestion
        if suggestion.status != SuggestionStatus.PENDING:
            raise ValidationError(_("This suggestion was already decided."))
        identity = SocialIdentity.objects.select_for_update().get(tenant_id=tenant_id, pk=suggestion.identity_id)
        customer = _field_customer(tenant_id, suggestion.customer_id, "customer")
        if identity.customer_id not in (None, customer.pk):
            raise ValidationError(_("This identity is linked to another customer: unlink it first."))
        _link(tenant_id, identity, customer, actor)
        suggestion.refresh_from_db()
        audit_record(tenant_id, actor=actor, action="suggestion.confirmed", target=suggestion,
                     data={"identity": identity.pk, "customer": customer.pk, "confidence": suggestion.confidence,
                           "evidence": suggestion.evidence})
        return suggestion


def suggestion_reject(tenant_id: int, *, actor, suggestion_id: int) -> LinkSuggestion:
    """Reject a pending suggestion (never suggested again). A second call is a no-op; a
    confirmed one is undone by unlinking the identity, not here."""
    with tenant_context(tenant_id):
        suggestion = scoped_get(LinkSuggestion.objects.select_for_update(), tenant_id, suggestion_id)
        if suggestion.status == SuggestionStatus.REJECTED:
            return suggestion
        if suggestion.status == SuggestionStatus.CONFIRMED:
            raise ValidationError(_("This suggestion was confirmed: unlink the identity instead."))
        suggestion.status, suggestion.decided_at = SuggestionStatus.REJECTED, timezone.now()
        suggestion.decided_by = actor if getattr(actor, "pk", None) else None
        suggestion.updated_at = suggestion.decided_at
        suggestion.save(update_fields=["status", "decided_by", "decided_at", "updated_at"])
        audit_record(tenant_id, actor=actor, action="suggestion.rejected", target=suggestion,
                     data={"identity": suggestion.identity_id, "customer": suggestion.customer_id,
                           "evidence": suggestion.evidence})
        return suggestion


# --- Merge and undo ------------------------------------------------------------------------------


def _fields(customer: Customer) -> dict:
    data = {name: getattr(customer, name) for name in MERGE_FIELDS}
    data["consent_at"] = customer.consent_at.isoformat() if customer.consent_at else None
    return data


def _restore(customer: Customer, data: dict) -> None:
    for name in MERGE_FIELDS:
        setattr(customer, name, data[name])
    customer.consent_at = parse_datetime(data["consent_at"]) if data["consent_at"] else None


def union(first: list, second: list) -> list:
    return first + [v for v in second if v not in first]


def customer_merge(tenant_id: int, *, actor, survivor_id: int, merged_id: int) -> MergeRecord:
    """Merge ``merged_id`` into ``survivor_id`` (see the module docstring). Not repeatable: a
    customer already merged is a field error, so a second call cannot merge twice."""
    with tenant_context(tenant_id):
        survivor = scoped_get(Customer.objects.select_for_update(), tenant_id, survivor_id)
        if survivor.merged_into_id:
            raise ValidationError({"survivor": [_("This customer was merged into another one.")]})
        merged = _field_customer(tenant_id, merged_id, "merged")
        if merged.pk == survivor.pk:
            raise ValidationError({"merged": [_("A customer cannot be merged into itself.")]})
        survivor_before, merged_before = _fields(survivor), _fields(merged)
        survivor.emails = union(survivor.emails, merged.emails)
        survivor.phones = union(survivor.phones, merged.phones)
        survivor.handles = union(survivor.handles, merged.handles)
        if merged.notes:
            survivor.notes = f"{survivor.notes}\n\n{merged.notes}".strip()
        if TIER_RANK[Tier(merged.tier)] > TIER_RANK[Tier(survivor.tier)]:
            survivor.tier = merged.tier
        if not survivor.external_crm_id and merged.external_crm_id:  # unique per tenant: it moves
            survivor.external_crm_id, merged.external_crm_id = merged.external_crm_id, ""
        now = timezone.now()
        merged.merged_into, merged.updated_at = survivor, now
        merged.save()  # first: frees the external id the survivor takes
        survivor.updated_at = now
        survivor.save()
        identities = list(SocialIdentity.objects.filter(tenant_id=tenant_id, customer=merged).values_list("pk", flat=True))
        SocialIdentity.objects.filter(pk__in=identities).update(customer=survivor, updated_at=now)
        closed = list(LinkSuggestion.objects.filter(tenant_id=tenant_id, customer=merged,
                                                    status=SuggestionStatus.PENDING).values_list("pk", flat=True))
        LinkSuggestion.objects.filter(pk__in=closed).update(status=SuggestionStatus.CLOSED, updated_at=now)
        record = MergeRecord.objects.create(
            tenant_id=tenant_id, survivor=survivor, merged=merged, merged_by=actor if getattr(actor, "pk", None) else None,
            snapshot={"survivor_before": survivor_before, "survivor_after": _fields(survivor),
                      "merged_before": merged_before, "identity_ids": identities, "closed_suggestion_ids": closed})
        audit_record(tenant_id, actor=actor, action="customer.merged", target=survivor,
                     data={"merge": record.pk, "merged": merged.pk, "merged_name": merged.name,
                           "identities": identities})
        return record


def customer_merge_undo(tenant_id: int, *, actor, merge_id: int) -> MergeRecord:
    """Undo a merge exactly: both customers get their fields back, the moved identities (those
    still on the survivor) go back, the closed suggestions reopen. Refused (field error on
    "merge_record") when already undone or when the survivor changed since (a later merge or an
    edit: undo that first, or the undo would silently drop it)."""
    with tenant_context(tenant_id):
        try:
            record = scoped_get(MergeRecord.objects.select_for_update(), tenant_id, merge_id)
        except Http404:
            raise ValidationError({"merge_record": [_("Unknown merge.")]}) from None
        if record.undone_at:
            raise ValidationError({"merge_record": [_("This merge was already undone.")]})
        survivor = Customer.objects.select_for_update().get(tenant_id=tenant_id, pk=record.survivor_id)
        merged = Customer.objects.select_for_update().get(tenant_id=tenant_id, pk=record.merged_id)
        snapshot = record.snapshot
        if merged.merged_into_id != survivor.pk or _fields(survivor) != snapshot["survivor_after"]:
            raise ValidationError({"merge_record": [_(
                "%(name)s changed after this merge (a later merge or an edit): undo that first.")
                % {"name": survivor.name}]})
        now = timezone.now()
        _restore(survivor, snapshot["survivor_before"])
        survivor.updated_at = now
        survivor.save()  # first: gives back an external id the merged customer had
        _restore(merged, snapshot["merged_before"])
        merged.merged_into, merged.updated_at = None, now
        merged.save()
        moved = SocialIdentity.objects.filter(tenant_id=tenant_id, customer=survivor, pk__in=snapshot["identity_ids"])
        moved_back = list(moved.values_list("pk", flat=True))
        moved.update(customer=merged, updated_at=now)
        LinkSuggestion.objects.filter(tenant_id=tenant_id, pk__in=snapshot["closed_suggestion_ids"],
                                      status=SuggestionStatus.CLOSED).update(status=SuggestionStatus.PENDING,
                                                                             updated_at=now)
        record.undone_at, record.undone_by = now, actor if getattr(actor, "pk", None) else None
        record.save(update_fields=["undone_at", "undone_by"])
        audit_record(tenant_id, actor=actor, action="customer.merge_undone", target=survivor,
                     data={"merge": record.pk, "merged": merged.pk, "identities": moved_back})
        return record
