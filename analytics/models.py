"""Read models of the reputation dashboards: hourly rollups of the tenant's mentions.

Each table holds, per tenant and UTC hour (``bucket``), the count of mentions and their reach
(followers of the author) and interactions (likes + shares + replies) for one combination of
dimensions. They are derived data: ``analytics.rollups.refresh`` recomputes the hours a write
touched from the raw rows, in the writer's transaction, and ``manage.py rebuild_rollups``
recomputes a whole range; ``analytics.rollups.add`` adds newly stored mentions to the
``MentionRollup`` rows of their hours instead (ingestion), hence that table's unique key (query
NULL included: NULLS NOT DISTINCT). The topic and term rollups have no unique key: only
recomputes write them (a mention has no topics or entities before the NLP stage tags it).

``MentionRollup.query`` NULL is the row of *all* the mentions of that hour (each counted once);
a row with a query counts the mentions that matched it, so a mention matching two queries is in
two query rows and once in the NULL row.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from listening.models import ListeningQuery, Topic
from social_crm.tenancy.models import TenantOwned


class MentionRollup(TenantOwned):
    bucket = models.DateTimeField()  # the UTC hour
    # Composite same-tenant key in the migration; no index of its own: reads and the refresh go
    # by (tenant, bucket), and deleting a query (rare) may scan.
    query = models.ForeignKey(ListeningQuery, null=True, on_delete=models.CASCADE, db_constraint=False,
                              db_index=False, related_name="+")
    platform = models.CharField(max_length=20)
    language = models.CharField(max_length=8)  # detected language, else the platform's
    sentiment = models.CharField(max_length=8)  # "" = not tagged yet
    mentions = models.IntegerField()
    reach = models.BigIntegerField()
    interactions = models.BigIntegerField()

    class Meta:
        indexes = [
            # The reads: a tenant, its all-mentions rows (query NULL) or one query's, a range of
            # hours; the included columns make them index-only scans that skip the other
            # queries' rows (two thirds of the table).
            models.Index(fields=["tenant", "query", "bucket"], name="mention_rollup_read_idx",
                         include=["platform", "language", "sentiment", "mentions", "reach", "interactions"]),
        ]
        constraints = [
            # One row per hour and combination: ingestion adds to it (ON CONFLICT ... DO UPDATE),
            # and a recompute deletes every row of an hour, whatever the query, by its prefix.
            models.UniqueConstraint(fields=["tenant", "bucket", "query", "platform", "language", "sentiment"],
                                    name="mention_rollup_unique", nulls_distinct=False),
        ]


class TopicRollup(TenantOwned):
    bucket = models.DateTimeField()
    topic = models.ForeignKey(Topic, on_delete=models.CASCADE, db_constraint=False, db_index=False, related_name="+")
    platform = models.CharField(max_length=20)
    language = models.CharField(max_length=8)
    sentiment = models.CharField(max_length=8)
    mentions = models.IntegerField()
    reach = models.BigIntegerField()
    interactions = models.BigIntegerField()

    class Meta:
        indexes = [
            models.Index(fields=["tenant", "bucket"], name="topic_rollup_idx",
                         include=["topic", "platform", "language", "sentiment", "mentions", "reach",
                                  "interactions"]),
        ]


class TermRollup(TenantOwned):
    """Entities the NLP stage found (brands, products, handles, competitors, NER names): the
    canonical name when the tenant's term list gave one, else the lower-cased text."""

    bucket = models.DateTimeField()
    term = models.CharField(max_length=200)
    kind = models.CharField(max_length=20)  # the entity label
    platform = models.CharField(max_length=20)
    language = models.CharField(max_length=8)
    sentiment = models.CharField(max_length=8)
    mentions = models.IntegerField()

    class Meta:
        indexes = [
            models.Index(fields=["tenant", "bucket"], name="term_rollup_idx",
                         include=["term", "kind", "platform", "language", "sentiment", "mentions"]),
        ]


class ReportKind(models.TextChoices):
    WEEKLY_REPUTATION = "weekly_reputation", _("Weekly e-reputation report")
    DAILY_CARE = "daily_care", _("Daily care digest")


class ReportSubscription(TenantOwned):
    """A member who receives one kind of scheduled report (analytics/reports.py)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=32, choices=ReportKind.choices)
    is_active = models.BooleanField(default=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "user", "kind"], name="report_subscription_unique")]


class ReportRun(TenantOwned):
    """One scheduled send of a kind of report for one period: the unique key is what makes a
    redelivered or repeated task send nothing the second time."""

    kind = models.CharField(max_length=32, choices=ReportKind.choices)
    period_start = models.DateField()  # local dates of the tenant, inclusive
    period_end = models.DateField()
    recipients = models.IntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "kind", "period_start"], name="report_run_unique")]


class ReportDeliveryStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    SENDING = "sending", _("Sending")
    SENT = "sent", pgettext_lazy("an e-mail's delivery status", "Sent")
    FAILED = "failed", _("Failed")


REPORT_CLAIMABLE = (ReportDeliveryStatus.QUEUED, ReportDeliveryStatus.SENDING)


class ReportDelivery(TenantOwned):
    """One e-mail of a report to one person, rendered once when the report is built (a retry
    sends the same e-mail), sent by ``analytics.tasks.deliver_report`` with retries and backoff,
    and kept as the delivery log of the reports page (status, attempts, last error)."""

    run = models.ForeignKey(ReportRun, null=True, blank=True, on_delete=models.CASCADE, db_constraint=False,
                            related_name="deliveries")  # None: a preview someone asked for
    kind = models.CharField(max_length=32, choices=ReportKind.choices)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="+")
    email = models.EmailField()
    subject = models.CharField(max_length=300)
    text_body = models.TextField()
    html_body = models.TextField()
    status = models.CharField(_("status"), max_length=10, choices=ReportDeliveryStatus.choices,
                              default=ReportDeliveryStatus.QUEUED)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    last_error = models.TextField(_("last error"), blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["tenant", "run", "email"], condition=models.Q(run__isnull=False),
                                               name="report_delivery_unique")]
        indexes = [
            models.Index(fields=["tenant", "-created_at", "-id"], name="report_delivery_log_idx"),
            models.Index(fields=["status", "next_attempt_at"], name="report_delivery_due_idx",
                         condition=models.Q(status__in=["queued", "sending"])),
        ]
