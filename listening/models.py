"""What comes in: listening queries, connected accounts, poll cursors, authors, mentions and
the quarantine. Every table is tenant-owned (row-level security, see social_crm.core.rls);
unique constraints and indexes start with the tenant."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from social_crm.tenancy.models import TenantOwned


class Platform(models.TextChoices):
    X = "x", "X"
    FACEBOOK = "facebook", "Facebook"
    MASTODON = "mastodon", "Mastodon"
    BLUESKY = "bluesky", "Bluesky"
    RSS = "rss", "RSS/Atom"
    REPLAY = "replay", _("Replay (demo)")
    API = "api", _("Ingest API")


class QueryKind(models.TextChoices):
    BRAND = "brand", _("Own brand")
    COMPETITOR = "competitor", _("Competitor")
    TOPIC = "topic", _("Topic")


class ListeningQuery(TenantOwned):
    name = models.CharField(_("name"), max_length=120)
    kind = models.CharField(_("kind"), max_length=20, choices=QueryKind.choices, default=QueryKind.BRAND)
    expression = models.TextField(_("keywords"), help_text=_("Boolean syntax: AND, OR, NOT, \"phrases\", (groups), -exclusions."))
    compiled = models.JSONField(default=dict, editable=False)  # the parsed AST (listening.query), checked on save
    languages = models.JSONField(_("languages"), default=list, blank=True)  # [] = all
    platforms = models.JSONField(_("platforms"), default=list, blank=True)  # [] = all
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["tenant", "name"], name="query_tenant_name_unique")]

    def __str__(self) -> str:
        return self.name


class AccountStatus(models.TextChoices):
    OK = "ok", _("OK")
    NEEDS_RECONNECT = "needs_reconnect", _("Needs reconnect")
    RATE_LIMITED = "rate_limited", _("Rate limited")
    ERROR = "error", _("Error")


class ConnectedAccount(TenantOwned):
    """A tenant's account or source on a platform. Credentials are encrypted at rest
    (listening.crypto); the health fields feed the channel health page."""

    platform = models.CharField(_("platform"), max_length=20, choices=Platform.choices)
    name = models.CharField(_("name"), max_length=120)
    external_id = models.CharField(_("account id on the platform"), max_length=200, blank=True)
    handle = models.CharField(_("handle"), max_length=200, blank=True)
    base_url = models.URLField(_("server or feed URL"), max_length=500, blank=True)
    credentials = models.BinaryField(editable=False, default=b"")  # Fernet token of a JSON object
    is_own = models.BooleanField(_("the tenant's own account"), default=True)
    is_active = models.BooleanField(_("active"), default=True)
    status = models.CharField(max_length=20, choices=AccountStatus.choices, default=AccountStatus.OK)
    status_changed_at = models.DateTimeField(default=timezone.now)
    notified_status = models.CharField(max_length=20, blank=True)  # the broken status admins were told about
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    rate_limited_until = models.DateTimeField(null=True, blank=True)
    # Set when a broken channel recovers: the next polls fetch from here to fill the gap.
    backfill_since = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["platform", "name"]
        constraints = [models.UniqueConstraint(fields=["tenant", "platform", "name"], name="account_tenant_platform_name_unique")]

    def __str__(self) -> str:
        return f"{self.get_platform_display()}: {self.name}"


class PollCursor(TenantOwned):
    """Where a (account, query, stream) poll stopped. Saved in the same transaction as the rows
    it produced, so a crash either keeps both or neither."""

    account = models.ForeignKey(ConnectedAccount, on_delete=models.CASCADE, related_name="cursors")
    query = models.ForeignKey(ListeningQuery, null=True, blank=True, on_delete=models.CASCADE)
    stream = models.CharField(max_length=40)
    state = models.JSONField(default=dict)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "account", "query", "stream"], name="cursor_unique",
                                    nulls_distinct=False),
        ]


class Author(TenantOwned):
    platform = models.CharField(max_length=20, choices=Platform.choices)
    platform_user_id = models.CharField(max_length=200)
    handle = models.CharField(max_length=200, blank=True)
    name = models.CharField(max_length=300, blank=True)
    followers = models.BigIntegerField(null=True, blank=True)
    verified = models.BooleanField(default=False)
    profile_url = models.URLField(max_length=500, blank=True)
    avatar_url = models.URLField(max_length=1000, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "platform", "platform_user_id"], name="author_unique")]

    def __str__(self) -> str:
        return f"@{self.handle}" if self.handle else self.name or self.platform_user_id


class Mention(TenantOwned):
    platform = models.CharField(max_length=20, choices=Platform.choices)
    # For X, the first id of edit_history_tweet_ids: every edit of a post is the same mention.
    external_id = models.CharField(max_length=200)
    version_id = models.CharField(max_length=200, blank=True)  # newest edit seen (X: latest tweet id)
    # The database checks these two (and the match's two) with the composite same-tenant keys of
    # migration 0002; a second, single-column constraint would only cost another check per row.
    account = models.ForeignKey(ConnectedAccount, null=True, blank=True, on_delete=models.SET_NULL, db_constraint=False)
    author = models.ForeignKey(Author, null=True, blank=True, on_delete=models.SET_NULL, db_constraint=False)
    text = models.TextField(blank=True)
    language = models.CharField(max_length=8, blank=True)  # as given by the platform; NLP may refine
    url = models.URLField(max_length=1000, blank=True)
    created_at = models.DateTimeField()  # posted on the platform
    fetched_at = models.DateTimeField(default=timezone.now)  # when our connector got it
    stored_at = models.DateTimeField(default=timezone.now)
    like_count = models.BigIntegerField(null=True, blank=True)
    share_count = models.BigIntegerField(null=True, blank=True)
    reply_count = models.BigIntegerField(null=True, blank=True)
    view_count = models.BigIntegerField(null=True, blank=True)
    parent_external_id = models.CharField(max_length=200, blank=True)
    conversation_external_id = models.CharField(max_length=200, blank=True)
    is_own = models.BooleanField(default=False)  # posted by one of the tenant's own accounts
    is_repost = models.BooleanField(default=False)  # a plain repost / retweet, no text of its own
    is_edited = models.BooleanField(default=False)
    is_deleted = models.BooleanField(default=False)
    matched_queries = models.ManyToManyField(ListeningQuery, through="MentionMatch", related_name="mentions")
    raw = models.JSONField(default=dict)
    # Written by the NLP stage (listening/nlp/stage.py); empty until a model has tagged it.
    # Database defaults too: ingest inserts with raw SQL that does not name these columns.
    detected_language = models.CharField(max_length=8, blank=True, default="", db_default="")  # fr, en, other
    sentiment = models.CharField(max_length=8, blank=True, default="", db_default="")  # negative/neutral/positive
    sentiment_confidence = models.FloatField(null=True, blank=True)
    sentiment_scores = models.JSONField(null=True, blank=True)
    nlp_model_version = models.CharField(max_length=80, blank=True, default="", db_default="")
    needs_review = models.BooleanField(default=False, db_default=False)  # low confidence: a person checks it
    tagged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "platform", "external_id"], name="mention_unique")]
        indexes = [
            # The backfill's query: untagged mentions of a tenant, oldest first.
            models.Index(fields=["tenant", "id"], condition=models.Q(tagged_at__isnull=True), name="mention_untagged_idx"),
            models.Index(fields=["tenant", "-created_at"], name="mention_tenant_created_idx"),
            models.Index(fields=["tenant", "platform", "conversation_external_id"], name="mention_conversation_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.platform}:{self.external_id}"


class MentionMatch(TenantOwned):
    mention = models.ForeignKey(Mention, on_delete=models.CASCADE, db_constraint=False)  # composite key checks it
    query = models.ForeignKey(ListeningQuery, on_delete=models.CASCADE, db_constraint=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "mention", "query"], name="mention_match_unique")]
        indexes = [models.Index(fields=["tenant", "query"], name="mention_match_query_idx")]


class QuarantinedPayload(TenantOwned):
    """A record we could not parse, kept whole with the reason; admins can replay it."""

    platform = models.CharField(max_length=20, choices=Platform.choices)
    account = models.ForeignKey(ConnectedAccount, null=True, blank=True, on_delete=models.SET_NULL)
    source = models.CharField(max_length=20)  # poll, webhook, ingest_api, replay
    payload = models.JSONField()
    reason = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)
    replayed_at = models.DateTimeField(null=True, blank=True)
    replay_error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["tenant", "-created_at"], name="quarantine_tenant_created_idx")]
