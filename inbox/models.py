"""Where people work: conversations built from mentions, messages in and out, internal notes,
the activity of each conversation, routing rules, department alerts and SLA policies.

Every table is tenant-owned (row-level security, social_crm.core.rls); references to other
tenant-owned rows are checked by composite same-tenant keys (migration 0001). Users are global
(social_crm.accounts); the actions check that a user named here is a member of the tenant.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from listening.models import MentionFacts
from social_crm.tenancy.models import TenantOwned


class InboxSettings(TenantOwned):
    """One row per tenant: the conversation counter and the tenant's inbox choices."""

    next_number = models.PositiveIntegerField(default=1)  # the number the next conversation gets
    # An author's messages within this many hours of their last one join the same conversation
    # (when the platform gives no thread).
    author_window_hours = models.PositiveSmallIntegerField(default=24)
    # Relevance rules for listening hits (see inbox/relevance.py): which mentions open a
    # conversation. The tenant's own posts and plain reposts never do.
    relevance = models.JSONField(default=dict, blank=True)
    # An alert nobody acknowledged goes one level up after this many minutes (inbox/alerts.py).
    alert_escalation_minutes = models.PositiveIntegerField(_("alert escalation delay (minutes)"), default=30)
    # Replies by community managers wait for an approver (admins and department heads always
    # publish; marketers always need approval: social_crm.tenancy.permissions).
    community_manager_replies_need_approval = models.BooleanField(
        _("community managers' replies need approval"), default=False, db_default=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant"], name="inbox_settings_one_per_tenant")]


class Status(models.TextChoices):
    NEW = "new", _("New")
    OPEN = "open", _("Open")
    PENDING = "pending", _("Pending")
    RESOLVED = "resolved", _("Resolved")
    CLOSED = "closed", _("Closed")


class Priority(models.TextChoices):
    LOW = "low", _("Low")
    NORMAL = "normal", _("Normal")
    HIGH = "high", _("High")
    URGENT = "urgent", _("Urgent")


class Conversation(TenantOwned):
    number = models.PositiveIntegerField()  # per tenant, what users see (#123), never the database id
    platform = models.CharField(max_length=20)
    # The platform's thread ("thread:<conversation id>") or an author window
    # ("author:<author id>:<first message unix time>"); see inbox/grouping.py.
    thread_key = models.CharField(max_length=300)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.NEW)
    priority = models.CharField(_("priority"), max_length=10, choices=Priority.choices, default=Priority.NORMAL)
    author = models.ForeignKey("listening.Author", null=True, blank=True, on_delete=models.SET_NULL,
                               db_constraint=False, related_name="+")
    assignee = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+")
    department = models.ForeignKey("tenancy.Department", null=True, blank=True, on_delete=models.SET_NULL,
                                   db_constraint=False, related_name="+")
    tags = models.JSONField(default=list, blank=True)
    preview = models.CharField(max_length=300, blank=True)  # the newest inbound text, shortened
    sentiment = models.CharField(max_length=8, blank=True)  # of the newest tagged inbound message
    needs_review = models.BooleanField(default=False)  # any inbound message flagged for review
    message_count = models.PositiveIntegerField(default=0)
    first_message_at = models.DateTimeField()
    last_message_at = models.DateTimeField()
    last_inbound_at = models.DateTimeField(null=True, blank=True)
    first_response_at = models.DateTimeField(null=True, blank=True)  # first outbound message sent
    resolved_at = models.DateTimeField(null=True, blank=True)
    # SLA timers (inbox/sla.py), from the tenant's policy and business hours.
    sla_policy = models.ForeignKey("SlaPolicy", null=True, blank=True, on_delete=models.SET_NULL,
                                   db_constraint=False, related_name="+")
    first_response_due_at = models.DateTimeField(null=True, blank=True)
    resolution_due_at = models.DateTimeField(null=True, blank=True)
    sla_breaches = models.JSONField(default=list, blank=True)  # ["first_response", "resolution"]
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "number"], name="conversation_number_unique"),
            models.UniqueConstraint(fields=["tenant", "platform", "thread_key"], name="conversation_thread_unique"),
            # Care metrics read "open" as these three statuses and "done" as the other two
            # (analytics/care.py): no sixth value can slip between them.
            models.CheckConstraint(condition=models.Q(status__in=Status.values), name="conversation_status_known"),
        ]
        # The care indexes (covering the care_* columns, which are not fields: see
        # inbox/migrations/0005_care_facts.py) are created there in SQL.
        indexes = [
            # The inbox list: newest activity first, by status (keyset on last_message_at, id).
            models.Index(fields=["tenant", "status", "-last_message_at", "-id"], name="conversation_inbox_idx"),
            models.Index(fields=["tenant", "-last_message_at", "-id"], name="conversation_recent_idx"),
            # The inbox on work still to do (the default view, saved views, most filter sets):
            # statuses within new/open/pending are read in keyset order from this small index and
            # the other filters stop at the first page, instead of sorting every open row
            # (make bench-inbox: the topic filter went from ~300 ms to a few ms at 2M mentions).
            models.Index(fields=["tenant", "-last_message_at", "-id"], name="conversation_active_idx",
                         condition=models.Q(status__in=["new", "open", "pending"])),
            models.Index(fields=["tenant", "assignee", "status"], name="conversation_assignee_idx"),
            models.Index(fields=["tenant", "department", "status"], name="conversation_department_idx"),
            models.Index(fields=["tenant", "author"], name="conversation_author_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.number}"


class Direction(models.TextChoices):
    INBOUND = "in", _("Inbound")
    OUTBOUND = "out", _("Outbound")


class DeliveryStatus(models.TextChoices):
    PENDING_APPROVAL = "pending_approval", _("Waiting for approval")
    QUEUED = "queued", _("Queued")
    PUBLISHING = "publishing", _("Publishing")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")
    REJECTED = "rejected", _("Rejected")


class Message(TenantOwned, MentionFacts):
    """A mention in a conversation (inbound) or the brand's reply (outbound).

    An inbound message carries its mention's author, date and language (MentionFacts) and its
    conversation's current department (``conversation_department_id``), so top authors under a
    department count from one index of the messages (``message_department_author_idx``) without
    reading the conversations or the mentions. The database keeps them (migration 0006): a
    trigger copies them on insert and on an update that sets the mention, the conversation or
    the direction (as save() does); others rewrite them when the conversation's department or
    the mention's facts change. Outbound messages carry none. Never set them in Python."""

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, db_constraint=False,
                                     related_name="messages")
    direction = models.CharField(max_length=3, choices=Direction.choices)
    mention = models.ForeignKey("listening.Mention", null=True, blank=True, on_delete=models.SET_NULL,
                                db_constraint=False, related_name="+")  # inbound, and outbound once published
    # Outbound: what the brand says, who wrote it, who approved it, how its publication went.
    text = models.TextField(blank=True)
    author_user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    approved_at = models.DateTimeField(null=True, blank=True)
    # Outbound: the inbound message it answers (the platform post it replies to) and the canned
    # answer it started from, if any; the language it was written in (fr/en).
    reply_to = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, db_constraint=False,
                                 related_name="+")
    canned_answer = models.ForeignKey("CannedAnswer", null=True, blank=True, on_delete=models.SET_NULL,
                                      db_constraint=False, related_name="+")
    language = models.CharField(max_length=8, blank=True, default="", db_default="")
    # When a worker took it for publication (status "publishing"): a publication is never
    # started twice (inbox/replies.py claim_for_publication).
    claimed_at = models.DateTimeField(null=True, blank=True)
    delivery_status = models.CharField(max_length=20, choices=DeliveryStatus.choices, blank=True)
    external_id = models.CharField(max_length=200, blank=True)  # the reply's id on the platform
    error = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)  # inbound: when it was posted
    sent_at = models.DateTimeField(null=True, blank=True)
    conversation_department_id = models.BigIntegerField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "mention"], condition=models.Q(direction="in"),
                                    name="message_inbound_mention_unique"),
        ]
        indexes = [
            models.Index(fields=["tenant", "conversation", "created_at"], name="message_conversation_idx"),
            # Replies waiting for approval or failed (the approvals page, the retry list).
            models.Index(fields=["tenant", "delivery_status", "created_at"], name="message_outbound_status_idx",
                         condition=models.Q(direction="out")),
            # A department's inbound mentions per author in a range, index-only (top authors).
            models.Index(fields=["tenant", "conversation_department_id", "mention_author_id", "mention_created_at"],
                         include=["mention_language", "mention"], name="message_department_author_idx",
                         condition=models.Q(direction="in")),
        ]


class Note(TenantOwned):
    """An internal note on a conversation; @mentions notify the members named."""

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, db_constraint=False, related_name="notes")
    author_user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    body = models.TextField()
    mentioned_user_ids = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["tenant", "conversation", "created_at"], name="note_conversation_idx")]


class ConversationEvent(TenantOwned):
    """The activity of a conversation: status, assignment, department, priority and tag changes,
    routing decisions (which rule, when), alerts, SLA breaches."""

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, db_constraint=False, related_name="events")
    kind = models.CharField(max_length=40)  # status, assigned, department, priority, tags, routed, alert, sla_breach...
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    rule = models.ForeignKey("RoutingRule", null=True, blank=True, on_delete=models.SET_NULL, db_constraint=False,
                             related_name="+")
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["tenant", "conversation", "created_at"], name="event_conversation_idx")]


class RoutingRule(TenantOwned):
    """Ordered by position; conditions and actions as JSON (inbox/routing.py validates them)."""

    name = models.CharField(_("name"), max_length=120)
    position = models.PositiveIntegerField(default=0)
    is_active = models.BooleanField(_("active"), default=True)
    conditions = models.JSONField(default=list, blank=True)
    actions = models.JSONField(default=list, blank=True)
    stop_processing = models.BooleanField(_("stop after this rule"), default=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["position", "id"]
        constraints = [models.UniqueConstraint(fields=["tenant", "name"], name="routing_rule_name_unique")]
        indexes = [models.Index(fields=["tenant", "position"], name="routing_rule_position_idx")]

    def __str__(self) -> str:
        return self.name


class AlertStatus(models.TextChoices):
    OPEN = "open", _("Open")
    ACKNOWLEDGED = "acknowledged", _("Acknowledged")
    HANDED_BACK = "handed_back", _("Handed back")
    ESCALATED = "escalated", _("Escalated")
    RESOLVED = "resolved", _("Resolved")


class Alert(TenantOwned):
    """A conversation sent to a department by a rule (or a person); its heads act on it."""

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, db_constraint=False, related_name="alerts")
    department = models.ForeignKey("tenancy.Department", on_delete=models.CASCADE, db_constraint=False, related_name="+")
    rule = models.ForeignKey(RoutingRule, null=True, blank=True, on_delete=models.SET_NULL, db_constraint=False,
                             related_name="+")
    status = models.CharField(max_length=12, choices=AlertStatus.choices, default=AlertStatus.OPEN)
    escalation_level = models.PositiveSmallIntegerField(default=0)  # 0 = the heads, 1 = second person, 2 = admins
    escalate_at = models.DateTimeField(null=True, blank=True)  # when an unacknowledged alert escalates
    acknowledged_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                        related_name="+")
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["tenant", "department", "status", "-created_at"], name="alert_department_idx"),
            models.Index(fields=["tenant", "status", "escalate_at"], name="alert_escalation_idx"),
        ]


class AlertComment(TenantOwned):
    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, db_constraint=False, related_name="comments")
    author_user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    body = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["tenant", "alert", "created_at"], name="alert_comment_idx")]


class SlaPolicy(TenantOwned):
    """First response and resolution targets in business time, in the policy's time zone.
    ``business_hours``: {"mon": [["09:00", "18:00"]], ..., "sun": []}; holidays: ["2026-12-25"]."""

    name = models.CharField(_("name"), max_length=120)
    first_response_minutes = models.PositiveIntegerField(_("first response (business minutes)"))
    resolution_minutes = models.PositiveIntegerField(_("resolution (business minutes)"))
    time_zone = models.CharField(_("time zone"), max_length=64, default="Europe/Paris")
    business_hours = models.JSONField(default=dict, blank=True)
    holidays = models.JSONField(default=list, blank=True)
    priority = models.CharField(max_length=10, choices=Priority.choices, blank=True)  # "" = every priority
    is_default = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "name"], name="sla_policy_name_unique"),
            models.UniqueConstraint(fields=["tenant"], condition=models.Q(is_default=True), name="sla_policy_one_default"),
        ]

    def __str__(self) -> str:
        return self.name


class CannedAnswer(TenantOwned):
    """A shared answer, the same on every channel, in French and English, with variables such as
    {first_name} and {order_number} (inbox/replies.py fills them)."""

    name = models.CharField(_("name"), max_length=120)
    shortcut = models.SlugField(_("shortcut"), max_length=50, blank=True)
    body_en = models.TextField(_("text in English"), blank=True)
    body_fr = models.TextField(_("text in French"), blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["tenant", "name"], name="canned_answer_name_unique")]

    def __str__(self) -> str:
        return self.name


class SavedView(TenantOwned):
    """A named set of inbox filters, for its owner or shared with the tenant."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(_("name"), max_length=120)
    filters = models.JSONField(default=dict)  # the inbox's query string as a dict of lists
    is_shared = models.BooleanField(_("shared with the team"), default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["tenant", "user", "name"], name="saved_view_unique")]
