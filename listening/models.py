"""What comes in: listening queries, connected accounts, poll cursors, authors, mentions and
the quarantine. Every table is tenant-owned (row-level security, see social_crm.core.rls);
unique constraints and indexes start with the tenant."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F
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
    # Mentions ever stored with this author, kept by a PostgreSQL trigger on listening_mention
    # (migration 0006), whoever inserts: never decremented, so it bounds the author's count in
    # any range and under any filter. The top-authors dashboard walks authors by it and stops
    # once no later author can enter the top (analytics.selectors.top_authors).
    mentions_seen = models.BigIntegerField(default=0, db_default=0, editable=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "platform", "platform_user_id"], name="author_unique")]
        indexes = [
            # The two walks of top_authors: by mentions, by reach.
            models.Index(F("tenant"), F("mentions_seen").desc(), F("id"), name="author_mentions_seen_idx"),
            models.Index(F("tenant"), F("followers").desc(nulls_last=True), F("id"), name="author_followers_idx"),
        ]

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
    # Indexed with the tenant and the date below (an author's mentions in a range).
    author = models.ForeignKey(Author, null=True, blank=True, on_delete=models.SET_NULL, db_constraint=False,
                               db_index=False)
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
    # Why a person should look: "low_confidence", "irony" (listening/nlp/review.py).
    review_reasons = models.JSONField(default=list, db_default=[], blank=True)
    # "model" or "human": a human correction is never overwritten by a later tagging run.
    sentiment_source = models.CharField(max_length=8, blank=True, default="", db_default="")
    # [{"label", "text", "start", "end", "source": "ruler"|"ner", "term_id", "canonical"}]
    entities = models.JSONField(default=list, db_default=[], blank=True)
    topics = models.ManyToManyField("Topic", through="MentionTopic", related_name="mentions")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "platform", "external_id"], name="mention_unique")]
        indexes = [
            # The backfill's query: untagged mentions of a tenant, oldest first.
            models.Index(fields=["tenant", "id"], condition=models.Q(tagged_at__isnull=True), name="mention_untagged_idx"),
            models.Index(fields=["tenant", "-created_at"], name="mention_tenant_created_idx"),
            models.Index(fields=["tenant", "platform", "conversation_external_id"], name="mention_conversation_idx"),
            # An author's mentions in a range, with what top_authors adds up and the filters it
            # can apply without reading the row (platform, language): index-only once vacuumed.
            models.Index(fields=["tenant", "author", "created_at"], name="mention_author_created_idx",
                         include=["like_count", "share_count", "reply_count", "platform", "language",
                                  "detected_language"]),
        ]

    def __str__(self) -> str:
        return f"{self.platform}:{self.external_id}"


class MentionFacts(models.Model):
    """The mention's author, date and language (``analytics.selectors.LANGUAGE_SQL``) on a row
    that tags it (a query match, a topic; also an inbound message, inbox migration 0006), so
    top authors under a query or a topic count from one index of the tag without reading the
    mentions. The database keeps them (migration 0008): a trigger copies them from the mention on
    every insert (whatever the writer passed) and on an update that sets the mention id (as save()
    does); another rewrites them when the mention's author, date or language changes. Only
    ingestion's match insert, from the rows its mention upsert returned (``listening.tag_facts``,
    migration 0009), and the bench seeder, with the trigger disabled, write them themselves.
    Never set them in Python."""

    mention_author_id = models.BigIntegerField(null=True, blank=True, editable=False)
    mention_created_at = models.DateTimeField(null=True, blank=True, editable=False)
    mention_language = models.CharField(max_length=8, blank=True, default="", db_default="", editable=False)

    class Meta:
        abstract = True


class MentionMatch(TenantOwned, MentionFacts):
    mention = models.ForeignKey(Mention, on_delete=models.CASCADE, db_constraint=False)  # composite key checks it
    query = models.ForeignKey(ListeningQuery, on_delete=models.CASCADE, db_constraint=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "mention", "query"], name="mention_match_unique")]
        # A query's matches (counts per query), and per author in a range, index-only.
        indexes = [models.Index(fields=["tenant", "query", "mention_author_id", "mention_created_at"],
                                include=["mention_language", "mention"], name="mention_match_author_idx")]


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


# --- NLP: corrections, tenant models, topics, entity terms -------------------------------------


class Sentiment(models.TextChoices):
    NEGATIVE = "negative", _("Negative")
    NEUTRAL = "neutral", _("Neutral")
    POSITIVE = "positive", _("Positive")


class SentimentLabel(TenantOwned):
    """A labelled example of the tenant: an agent's correction of a mention's sentiment. The
    tenant's retraining task learns from these; the mention keeps its own copy of the label."""

    mention = models.ForeignKey(Mention, null=True, blank=True, on_delete=models.SET_NULL, db_constraint=False,
                                related_name="sentiment_labels")
    text = models.TextField()  # kept: the example survives the mention's deletion
    language = models.CharField(max_length=8)  # fr, en (the model that learns from it)
    label = models.CharField(max_length=8, choices=Sentiment.choices)
    previous_label = models.CharField(max_length=8, blank=True)  # what the model said
    previous_confidence = models.FloatField(null=True, blank=True)
    model_version = models.CharField(max_length=80, blank=True)  # the model that was corrected
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["tenant", "mention"], name="sentiment_label_mention_unique")]
        indexes = [models.Index(fields=["tenant", "language", "created_at"], name="sentiment_label_lang_idx")]


class ModelStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    TRAINING = "training", _("Training")
    ACTIVE = "active", _("Active")
    RETIRED = "retired", _("Retired")  # was active; can be rolled back to
    REJECTED = "rejected", _("Rejected")  # worse than the model in place
    FAILED = "failed", _("Failed")


class TenantSentimentModel(TenantOwned):
    """A sentiment model trained for one tenant and language. The artefact lives in PostgreSQL
    (every worker can load it, row-level security guards it); at most one is active per
    language, and with none active the tenant uses the shared model."""

    language = models.CharField(max_length=8)
    version = models.CharField(max_length=80, blank=True)
    status = models.CharField(max_length=10, choices=ModelStatus.choices, default=ModelStatus.QUEUED)
    artefact = models.BinaryField(editable=False, default=b"")
    metrics = models.JSONField(default=dict, blank=True)
    n_labels = models.IntegerField(default=0)  # tenant examples it was trained with
    progress = models.SmallIntegerField(default=0)  # 0-100, shown while training
    progress_message = models.CharField(max_length=200, blank=True)
    error = models.TextField(blank=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    activated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "language"], condition=models.Q(status="active"),
                                    name="tenant_model_one_active"),
        ]
        indexes = [models.Index(fields=["tenant", "language", "-created_at"], name="tenant_model_lang_idx")]


class Topic(TenantOwned):
    """A tenant's topic (Delivery, Billing...): keyword/lemma rules plus example mentions."""

    name = models.CharField(_("name"), max_length=80)
    # Rule lines: a word (matches its lemma too), "a phrase", or a prefix* ; see listening/nlp/topics.py
    keywords = models.JSONField(_("keywords"), default=list, blank=True)
    description = models.TextField(_("description"), blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["tenant", "name"], name="topic_tenant_name_unique")]

    def __str__(self) -> str:
        return self.name


class TopicExample(TenantOwned):
    """A mention given as an example of a topic (positive) or as a correction that it is not
    one (negative). Negative examples also stop the rules from putting the topic back."""

    topic = models.ForeignKey(Topic, on_delete=models.CASCADE, db_constraint=False, related_name="examples")
    mention = models.ForeignKey(Mention, null=True, blank=True, on_delete=models.SET_NULL, db_constraint=False,
                                related_name="+")
    text = models.TextField()
    is_positive = models.BooleanField(default=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["tenant", "topic", "mention"], name="topic_example_unique")]


class TopicSource(models.TextChoices):
    RULE = "rule", _("Rule")
    EXAMPLE = "example", _("Similar to an example")
    HUMAN = "human", _("Set by a person")


class MentionTopic(TenantOwned, MentionFacts):
    mention = models.ForeignKey(Mention, on_delete=models.CASCADE, db_constraint=False)
    topic = models.ForeignKey(Topic, on_delete=models.CASCADE, db_constraint=False)
    source = models.CharField(max_length=8, choices=TopicSource.choices, default=TopicSource.RULE)
    score = models.FloatField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "mention", "topic"], name="mention_topic_unique")]
        # A topic's tags (counts per topic), and per author in a range, index-only.
        indexes = [models.Index(fields=["tenant", "topic", "mention_author_id", "mention_created_at"],
                                include=["mention_language", "mention"], name="mention_topic_author_idx")]


class EntityKind(models.TextChoices):
    BRAND = "brand", _("Brand")
    PRODUCT = "product", _("Product")
    HANDLE = "handle", _("Handle")
    COMPETITOR = "competitor", _("Competitor")


class EntityTerm(TenantOwned):
    """A brand, product, handle or competitor the tenant wants recognised (spaCy EntityRuler)."""

    kind = models.CharField(_("kind"), max_length=12, choices=EntityKind.choices)
    name = models.CharField(_("name"), max_length=120)  # the canonical name stored with the mention
    patterns = models.JSONField(_("other spellings"), default=list, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["kind", "name"]
        constraints = [models.UniqueConstraint(fields=["tenant", "kind", "name"], name="entity_term_unique")]

    def __str__(self) -> str:
        return self.name
