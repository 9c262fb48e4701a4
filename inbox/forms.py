"""Inbox forms: the filters of the inbox list (shared with the API), triage, notes, bulk actions,
saved views and the relevance settings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django import forms
from django.db.models import Exists, OuterRef, Q
from django.utils.translation import gettext_lazy as _

from listening.models import MentionTopic, Platform, Sentiment

from .models import Conversation, Message, Priority, Status
from .relevance import RULE_LABELS

LANGUAGE_CHOICES = [("fr", _("French")), ("en", _("English")), ("other", _("Other"))]
REVIEW_CHOICES = [("", _("Any")), ("yes", _("Needs review")), ("no", _("Reviewed"))]
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def encode_cursor(conversation: Conversation) -> str:
    """Keyset position of a row: (last_message_at in microseconds, id), exact and URL-safe."""
    delta = conversation.last_message_at - _EPOCH
    return f"{(delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds}-{conversation.pk}"


def decode_cursor(value: str) -> tuple[datetime, int] | None:
    try:
        micros, pk = value.split("-", 1)
        return _EPOCH + timedelta(microseconds=int(micros)), int(pk)
    except (ValueError, AttributeError, OverflowError):
        return None


class _Multi(forms.MultipleChoiceField):
    widget = forms.CheckboxSelectMultiple

    def __init__(self, **kwargs):
        super().__init__(required=False, **kwargs)


class InboxFilterForm(forms.Form):
    """Every filter takes several values (OR within a filter, AND between filters)."""

    status = _Multi(label=_("Status"), choices=Status.choices)
    sentiment = _Multi(label=_("Sentiment"), choices=Sentiment.choices)
    needs_review = forms.ChoiceField(label=_("Review"), choices=REVIEW_CHOICES, required=False)
    platform = _Multi(label=_("Platform"), choices=Platform.choices)
    language = _Multi(label=_("Language"), choices=LANGUAGE_CHOICES)
    department = _Multi(label=_("Department"))
    assignee = _Multi(label=_("Assignee"))
    topic = _Multi(label=_("Topic"))
    q = forms.CharField(label=_("Search"), required=False, max_length=200)
    date_from = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, data=None, *, tenant_id: int, members=(), departments=(), topics=()):
        super().__init__(data)
        self.tenant_id = tenant_id
        self.fields["assignee"].choices = ([("me", _("Me")), ("none", _("Unassigned"))]
                                           + [(str(u.pk), u.get_full_name()) for u in members])
        self.fields["department"].choices = [("none", _("No department"))] + [(str(d.pk), d.name) for d in departments]
        self.fields["topic"].choices = [(str(t.pk), t.name) for t in topics]

    def active_count(self) -> int:
        if not self.is_valid():
            return 0
        return sum(1 for v in self.cleaned_data.values() if v not in (None, "", []))

    def apply(self, queryset, *, user_id: int):
        """The queryset narrowed by the filters; an invalid value (e.g. another tenant's
        department id) matches nothing, and the page shows the form errors."""
        if not self.is_valid():
            return queryset.none()
        data = self.cleaned_data
        tid = self.tenant_id
        if data.get("status"):
            queryset = queryset.filter(status__in=data["status"])
        if data.get("sentiment"):
            queryset = queryset.filter(sentiment__in=data["sentiment"])
        if data.get("needs_review"):
            queryset = queryset.filter(needs_review=data["needs_review"] == "yes")
        if data.get("platform"):
            queryset = queryset.filter(platform__in=data["platform"])
        queryset = self._people(queryset, data, user_id)
        inbound = Message.objects.filter(tenant_id=tid, conversation_id=OuterRef("pk"), direction="in")
        if data.get("language"):
            queryset = queryset.filter(Exists(inbound.filter(mention__detected_language__in=data["language"])))
        if data.get("topic"):
            topics = MentionTopic.objects.filter(tenant_id=tid, topic_id__in=[int(t) for t in data["topic"]])
            queryset = queryset.filter(Exists(inbound.filter(mention_id__in=topics.values("mention_id"))))
        if data.get("q"):
            queryset = self._search(queryset, data["q"].strip(), inbound)
        if data.get("date_from"):
            queryset = queryset.filter(last_message_at__date__gte=data["date_from"])
        if data.get("date_to"):
            queryset = queryset.filter(last_message_at__date__lte=data["date_to"])
        return queryset

    @staticmethod
    def _people(queryset, data, user_id):
        if data.get("assignee"):
            values = data["assignee"]
            ids = [int(v) for v in values if v.isdigit()] + ([user_id] if "me" in values else [])
            q = Q(assignee_id__in=ids)
            if "none" in values:
                q |= Q(assignee__isnull=True)
            queryset = queryset.filter(q)
        if data.get("department"):
            values = data["department"]
            q = Q(department_id__in=[int(v) for v in values if v.isdigit()])
            if "none" in values:
                q |= Q(department__isnull=True)
            queryset = queryset.filter(q)
        return queryset

    @staticmethod
    def _search(queryset, text: str, inbound):
        """"#12" finds conversation 12; other text looks in the preview, the author and the
        messages' text."""
        if text.startswith("#") and text[1:].isdigit():
            return queryset.filter(number=int(text[1:]))
        return queryset.filter(Q(preview__icontains=text) | Q(author__handle__icontains=text.lstrip("@"))
                               | Q(author__name__icontains=text) | Exists(inbound.filter(mention__text__icontains=text)))


def keyset(queryset, cursor: str | None, *, newer: bool = False):
    """Rows after the cursor in the inbox order (last_message_at, id descending), or, with
    ``newer``, the rows above it (the live poll)."""
    position = decode_cursor(cursor) if cursor else None
    if position is None:
        return queryset
    at, pk = position
    if newer:
        return queryset.filter(Q(last_message_at__gt=at) | Q(last_message_at=at, id__gt=pk))
    return queryset.filter(Q(last_message_at__lt=at) | Q(last_message_at=at, id__lt=pk))


class ConversationUpdateForm(forms.Form):
    """Any subset of the triage fields: a field not posted is left as it is."""

    status = forms.ChoiceField(label=_("Status"), choices=Status.choices, required=False)
    priority = forms.ChoiceField(label=_("Priority"), choices=Priority.choices, required=False)
    assignee = forms.CharField(label=_("Assignee"), required=False)  # a user id, "me" or "" (nobody)
    department = forms.CharField(label=_("Department"), required=False)
    tags = forms.CharField(label=_("Tags"), required=False, max_length=1000, help_text=_("Separated by commas."))

    def changes(self, posted, *, user_id: int) -> dict:
        data, out = self.cleaned_data, {}
        for name in ("status", "priority"):
            if name in posted and data[name]:
                out[name] = data[name]
        if "assignee" in posted:
            out["assignee_id"] = user_id if data["assignee"] == "me" else (data["assignee"] or None)
        if "department" in posted:
            out["department_id"] = data["department"] or None
        if "tags" in posted:
            out["tags"] = data["tags"]
        return out


class NoteForm(forms.Form):
    body = forms.CharField(label=_("Internal note"), max_length=5000,
                           widget=forms.Textarea(attrs={"rows": 3}),
                           help_text=_("Only your team sees it. @name notifies a member (e.g. @cm for cm@example.com)."))


class BulkForm(forms.Form):
    operation = forms.ChoiceField(choices=[("assign", _("Assign")), ("close", _("Close")), ("tag", _("Tag"))])
    conversation_ids = forms.CharField(required=False)
    assignee = forms.CharField(required=False)
    tags = forms.CharField(required=False, max_length=1000)

    def __init__(self, data=None, *, ids=()):
        super().__init__(data)
        self.ids = list(ids)

    def clean(self):
        cleaned = super().clean()
        cleaned["conversation_ids"] = self.ids
        return cleaned


class SavedViewForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    is_shared = forms.BooleanField(label=_("Share with the team"), required=False)


class RelevanceForm(forms.Form):
    author_window_hours = forms.IntegerField(
        label=_("Author window (hours)"), min_value=1, max_value=336,
        help_text=_("Without a platform thread, an author's messages within this many hours join one conversation."))
    community_manager_replies_need_approval = forms.BooleanField(
        label=_("Community managers' replies need approval"), required=False,
        help_text=_("A department head of the conversation's department (else a tenant admin) approves them before "
                    "they are published. Marketers' replies always need approval."),
        widget=forms.CheckboxInput(attrs={"class": "form-check-input"}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, label in RULE_LABELS.items():
            self.fields[name] = forms.BooleanField(label=label, required=False,
                                                  widget=forms.CheckboxInput(attrs={"class": "form-check-input"}))
