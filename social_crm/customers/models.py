"""Customer records and the social identities linked to them (issue #5).

Every table is tenant-owned (row-level security, social_crm.core.rls); references to other
tenant-owned rows are checked by composite same-tenant keys (migration 0001), so a row can
never point at another tenant's customer, identity or author.

* ``Customer``: a person the brand knows (CRM data). A merge is soft: the merged customer keeps
  its row with ``merged_into`` set, and a ``MergeRecord`` holds what moved so it can be undone.
* ``SocialIdentity``: one account on one platform (usually a listening Author), linked to at
  most one customer (a plain nullable foreign key: the "at most one" is the column itself).
* ``LinkSuggestion``: "this identity may be that customer", with the evidence and a confidence
  (social_crm/customers/linking.py). One row per (identity, customer), so a rejected pair
  is never suggested again.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from social_crm.tenancy.models import TenantOwned


class Tier(models.TextChoices):
    STANDARD = "standard", _("Standard")
    SILVER = "silver", _("Silver")
    GOLD = "gold", _("Gold")
    VIP = "vip", _("VIP")


class Customer(TenantOwned):
    name = models.CharField(_("name"), max_length=200)
    # Accent-folded, lower-case name (linking.fold), kept by the actions: the name search and
    # the candidate pre-filter of the name evidence read it (no unaccent/pg_trgm in the database).
    name_folded = models.CharField(max_length=200, blank=True, editable=False)
    emails = models.JSONField(_("e-mails"), default=list, blank=True)  # lower-case, validated
    phones = models.JSONField(_("phones"), default=list, blank=True)  # E.164 (+33612345678)
    # Handles ("@jdupont", lower-case) and profile URLs known from the CRM: evidence for linking.
    handles = models.JSONField(_("handles and profile URLs"), default=list, blank=True)
    external_crm_id = models.CharField(_("external CRM id"), max_length=100, blank=True)
    tier = models.CharField(_("tier"), max_length=10, choices=Tier.choices, default=Tier.STANDARD)
    notes = models.TextField(_("notes"), blank=True)
    consent_marketing = models.BooleanField(_("marketing consent"), default=False)
    consent_contact = models.BooleanField(_("contact consent"), default=False)
    consent_at = models.DateTimeField(_("consent date"), null=True, blank=True)
    merged_into = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, db_constraint=False,
                                    related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "external_crm_id"], condition=~Q(external_crm_id=""),
                                    name="customer_external_id_unique"),
        ]
        indexes = [
            # The list (live customers by name) and its search on the folded name.
            models.Index(fields=["tenant", "merged_into", "name_folded"], name="customer_list_idx"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_vip(self) -> bool:
        return self.tier == Tier.VIP


class SocialIdentity(TenantOwned):
    platform = models.CharField(_("platform"), max_length=20)
    platform_user_id = models.CharField(max_length=200)
    handle = models.CharField(_("handle"), max_length=200, blank=True)
    name = models.CharField(_("display name"), max_length=300, blank=True)
    profile_url = models.URLField(_("profile URL"), max_length=500, blank=True)
    author = models.ForeignKey("listening.Author", null=True, blank=True, on_delete=models.SET_NULL,
                               db_constraint=False, related_name="+")
    customer = models.ForeignKey(Customer, null=True, blank=True, on_delete=models.SET_NULL, db_constraint=False,
                                 related_name="identities")
    linked_at = models.DateTimeField(null=True, blank=True)
    linked_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["platform", "handle", "id"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "platform", "platform_user_id"], name="identity_unique"),
        ]
        indexes = [
            models.Index(fields=["tenant", "customer"], name="identity_customer_idx"),
            models.Index(fields=["tenant", "author"], name="identity_author_idx"),
            models.Index(fields=["tenant", "handle"], name="identity_handle_idx"),  # the handle evidence
        ]

    def __str__(self) -> str:
        return f"{self.platform}:@{self.handle}" if self.handle else f"{self.platform}:{self.platform_user_id}"


class SuggestionStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    CONFIRMED = "confirmed", _("Confirmed")
    REJECTED = "rejected", _("Rejected")
    # Superseded: another customer was confirmed for the identity, or the customer was merged.
    CLOSED = "closed", _("Closed")


class LinkSuggestion(TenantOwned):
    identity = models.ForeignKey(SocialIdentity, on_delete=models.CASCADE, db_constraint=False,
                                 related_name="suggestions")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, db_constraint=False, related_name="suggestions")
    confidence = models.FloatField()  # 0..1, see linking.combine
    evidence = models.JSONField(default=list)  # [{"kind": "email", "detail": "...", "weight": 0.8}, ...]
    status = models.CharField(max_length=10, choices=SuggestionStatus.choices, default=SuggestionStatus.PENDING)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-confidence", "id"]
        constraints = [
            # One row per pair, whatever its status: a rejection is remembered forever.
            models.UniqueConstraint(fields=["tenant", "identity", "customer"], name="suggestion_pair_unique"),
        ]
        indexes = [
            models.Index(fields=["tenant", "customer", "status"], name="suggestion_customer_idx"),
            models.Index(fields=["tenant", "status", "-confidence"], name="suggestion_pending_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.identity} → {self.customer}"


class MergeRecord(TenantOwned):
    """One merge of ``merged`` into ``survivor``; ``snapshot`` is everything needed to undo it
    exactly (see actions.customer_merge)."""

    survivor = models.ForeignKey(Customer, on_delete=models.CASCADE, db_constraint=False, related_name="+")
    merged = models.ForeignKey(Customer, on_delete=models.CASCADE, db_constraint=False, related_name="+")
    snapshot = models.JSONField(default=dict)
    merged_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    undone_at = models.DateTimeField(null=True, blank=True)
    undone_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="+")

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["tenant", "survivor", "-created_at"], name="merge_survivor_idx"),
            models.Index(fields=["tenant", "merged"], name="merge_merged_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.merged_id} → {self.survivor_id}"


class PrivacySettings(TenantOwned):
    """One row per tenant: the GDPR retention period (social_crm/customers/gdpr.py). Mentions
    older than ``retention_days`` are anonymised by the beat task ``fanout_retention``;
    0 keeps them forever."""

    retention_days = models.PositiveIntegerField(_("retention period (days, 0 = keep forever)"), default=0)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant"], name="privacy_settings_one_per_tenant")]
