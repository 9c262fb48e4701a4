"""Crisis detection: the hourly counts it learns from, the tenant's settings, the alerts.
Every table is tenant-owned (row-level security); keys and indexes start with the tenant."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from social_crm.tenancy.models import TenantOwned


class Sensitivity(models.TextChoices):
    LOW = "low", _("Low (only large spikes)")
    MEDIUM = "medium", _("Medium")
    HIGH = "high", _("High (smaller spikes too)")


class CrisisSettings(TenantOwned):
    """One row per tenant (created on first use). Recipients empty = the tenant admins."""

    sensitivity = models.CharField(_("sensitivity"), max_length=8, choices=Sensitivity.choices,
                                   default=Sensitivity.MEDIUM)
    notify_in_app = models.BooleanField(_("in-app notification"), default=True)
    notify_email = models.BooleanField(_("e-mail"), default=True)
    notify_webhook = models.BooleanField(_("outgoing webhook (crisis.detected)"), default=True)
    recipients = models.ManyToManyField(settings.AUTH_USER_MODEL, through="CrisisRecipient", through_fields=("crisis_settings", "user"),
                                        related_name="+",
                                        blank=True)
    # The hourly task's progress: hours before counted_until are counted; mentions stored or
    # tagged after changed_through are looked at again (the hours they fall in are recounted).
    counted_until = models.DateTimeField(null=True, blank=True, editable=False)
    changed_through = models.DateTimeField(null=True, blank=True, editable=False)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant"], name="crisis_settings_one_per_tenant")]


class CrisisRecipient(TenantOwned):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    crisis_settings = models.ForeignKey(CrisisSettings, on_delete=models.CASCADE, db_constraint=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "user"], name="crisis_recipient_unique")]


class CrisisHourlyCount(TenantOwned):
    """Mentions of one listening query posted in one hour (UTC): all, and tagged negative.
    Filled by the hourly task (tasks.crisis_scan), upserted: a recount overwrites."""

    query = models.ForeignKey("listening.ListeningQuery", on_delete=models.CASCADE, db_constraint=False,
                              related_name="+")
    hour = models.DateTimeField()
    volume = models.PositiveIntegerField(default=0)
    negative = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        # Serves the upsert and the detector's read (one query's hours, in order).
        constraints = [models.UniqueConstraint(fields=["tenant", "query", "hour"], name="crisis_count_unique")]


class AlertStatus(models.TextChoices):
    OPEN = "open", _("Open")
    ACKNOWLEDGED = "acknowledged", _("Acknowledged")
    CLOSED = "closed", _("Closed")


class CrisisAlert(TenantOwned):
    """An unusual hour of a listening query. One per (tenant, query, hour): a rerun of the
    detector cannot raise it twice."""

    query = models.ForeignKey("listening.ListeningQuery", on_delete=models.CASCADE, db_constraint=False,
                              related_name="+")
    hour = models.DateTimeField(_("hour"))
    kinds = models.JSONField(default=list)  # ["volume"], ["negative_share"] or both
    observed = models.PositiveIntegerField(_("mentions"))
    expected = models.FloatField(_("expected"))
    negative = models.PositiveIntegerField(default=0)
    negative_share = models.FloatField(_("negative share"), default=0.0)
    expected_negative_share = models.FloatField(default=0.0)
    score = models.FloatField(_("score"))
    method = models.CharField(max_length=16)  # the baseline: hour_of_week, hour_of_day, overall
    sensitivity = models.CharField(max_length=8, choices=Sensitivity.choices)
    top_mention_ids = models.JSONField(default=list)  # by reach, see actions.top_mentions
    top_terms = models.JSONField(default=list)  # [[term, count in the hour], ...]
    status = models.CharField(_("status"), max_length=12, choices=AlertStatus.choices, default=AlertStatus.OPEN)
    acknowledged_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                        related_name="+")
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="+")
    closed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-hour", "-id"]
        constraints = [models.UniqueConstraint(fields=["tenant", "query", "hour"], name="crisis_alert_unique")]
        indexes = [models.Index(fields=["tenant", "status", "-hour"], name="crisis_alert_status_idx")]

    def __str__(self) -> str:
        return f"{self.query_id} @ {self.hour:%Y-%m-%d %H:00}"
