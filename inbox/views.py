"""Inbox pages: the shared inbox (filters, saved views, keyset pages, bulk bar, live rows), the
conversation page (messages, notes, timeline, author, triage controls, who is viewing) and the
relevance settings. Thin views over inbox.conversations, all on TenantView."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db.models import Prefetch, Q
from django.http import QueryDict
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from listening.models import Mention, MentionTopic, Topic
from social_crm.tenancy.base import TenantView
from social_crm.tenancy.models import Department
from social_crm.tenancy.permissions import Action
from social_crm.tenancy.views import apply_errors

from . import conversations as actions
from . import replies
from .access import access_conversation
from .forms_replies import ReplyForm
from .forms import (BulkForm, ConversationUpdateForm, InboxFilterForm, NoteForm, RelevanceForm, SavedViewForm,
                    encode_cursor, keyset)
from .models import Conversation, ConversationEvent, Message, Note, Priority, SavedView, Status
from .relevance import effective_rules

PAGE_SIZE = 50


def _members(tenant_id: int):
    return list(get_user_model().objects.filter(memberships__tenant_id=tenant_id, is_active=True).order_by("full_name",
                                                                                                         "email"))


def inbox_filter_form(tenant_id: int, data) -> InboxFilterForm:
    return InboxFilterForm(data, tenant_id=tenant_id, members=_members(tenant_id),
                           departments=Department.objects.filter(tenant_id=tenant_id),
                           topics=Topic.objects.filter(tenant_id=tenant_id, is_active=True))


def inbox_rows(form: InboxFilterForm, queryset, *, user_id: int):
    """The inbox list query: ``queryset`` (the tenant's conversations) narrowed by the filters,
    in keyset order (newest activity first), with what a row shows joined in."""
    return form.apply(queryset, user_id=user_id).select_related("author", "assignee", "department") \
        .order_by("-last_message_at", "-id")


def inbox_page(rows, before: str | None) -> tuple[list[Conversation], bool]:
    """One page of ``rows`` below the cursor ``before`` (None: the top), and whether more follow."""
    page = list(keyset(rows, before)[:PAGE_SIZE + 1])
    return page[:PAGE_SIZE], len(page) > PAGE_SIZE


class _InboxBase(TenantView):
    model = Conversation

    def filter_form(self, data):
        return inbox_filter_form(self.tenant.pk, data)

    def visible_views(self):
        return SavedView.objects.filter(Q(user_id=self.request.user.pk) | Q(is_shared=True), tenant_id=self.tenant.pk)


class InboxView(_InboxBase):
    """The shared inbox. ``?after=<cursor>`` (the htmx poll) returns only the rows that moved
    above the top one; ``?before=<cursor>`` is the next page; ``?view=<id>`` applies a saved view."""

    required_action = Action.INBOX_VIEW
    template_name = "inbox/inbox.html"

    def get(self, request):
        view_id = request.GET.get("view", "")
        if view_id.isdigit() and len(request.GET) == 1:
            saved = self.visible_views().filter(pk=int(view_id)).first()
            if saved is not None:
                return redirect(f"{request.path}?{urlencode({**saved.filters, 'view': saved.pk}, doseq=True)}")
        form = self.filter_form(request.GET)
        rows = inbox_rows(form, self.get_queryset(), user_id=request.user.pk)
        after = request.GET.get("after")
        if after:  # the live poll: oldest first so a burst is shown over a few polls, then newest on top
            self.template_name = "inbox/_rows.html"
            fresh = list(keyset(rows, after, newer=True).order_by("last_message_at", "id")[:PAGE_SIZE])
            response = self.render(conversations=fresh[::-1], live=True, can_work=self.can(Action.INBOX_WORK))
            if fresh:
                response["X-Inbox-Top"] = encode_cursor(fresh[-1])
            return response
        before = request.GET.get("before")
        page, more = inbox_page(rows, before)
        return self.render(
            conversations=page, form=form, before=before or "",
            top_cursor=encode_cursor(page[0]) if page else "", next_cursor=encode_cursor(page[-1]) if more else "",
            saved_views=self.visible_views().select_related("user"), current_view=view_id,
            saved_view_form=SavedViewForm(), can_work=self.can(Action.INBOX_WORK), members=_members(self.tenant.pk),
            filter_query=self._filter_query(request.GET))

    @staticmethod
    def _filter_query(params: QueryDict) -> str:
        kept = params.copy()
        for name in ("after", "before", "view"):
            kept.pop(name, None)
        return kept.urlencode()


class ConversationView(_InboxBase):
    required_action = Action.INBOX_VIEW
    template_name = "inbox/conversation.html"

    def get(self, request, conversation_id: int):
        conversation = access_conversation(self.tenant.pk, conversation_id)
        return self.render(**self.conversation_context(conversation))

    def conversation_context(self, conversation: Conversation, **extra) -> dict:
        tid = self.tenant.pk
        topics = MentionTopic.objects.filter(tenant_id=tid).select_related("topic")
        mentions = Mention.objects.filter(tenant_id=tid).prefetch_related(Prefetch("mentiontopic_set", topics))
        conversation_messages = (Message.objects.filter(tenant_id=tid, conversation=conversation)
                                 .select_related("author_user").prefetch_related(Prefetch("mention", mentions)))
        conversation = Conversation.objects.select_related("author", "assignee", "department").get(
            tenant_id=tid, pk=conversation.pk)
        members = _members(tid)
        names = {u.pk: u.get_full_name() for u in members}
        events = list(ConversationEvent.objects.filter(tenant_id=tid, conversation=conversation)
                      .select_related("actor", "rule"))
        departments = {d.pk: d.name for d in Department.objects.filter(tenant_id=tid)}
        for event in events:
            event.label_to = _label(event, names, departments)
        author_conversations = (Conversation.objects.filter(tenant_id=tid, author_id=conversation.author_id)
                                .exclude(pk=conversation.pk).order_by("-last_message_at")[:5]
                                if conversation.author_id else [])
        can_reply = self.can(Action.INBOX_REPLY)
        reply = {"reply_form": extra.pop("reply_form", None) or ReplyForm(), "can_reply": can_reply,
                 "canned": replies.canned_for(tid, conversation, self.request.user) if can_reply else [],
                 "replies_need_approval": can_reply and not replies.role_may_publish(tid, self.membership.role),
                 "can_approve": self.can(Action.INBOX_REPLY_APPROVE), "can_retry": self.can(Action.INBOX_REPLY_PUBLISH),
                 "reply_limit": replies.MAX_LENGTH.get(conversation.platform)}
        return {"conversation": conversation, "messages_list": conversation_messages, **reply,
                "notes": Note.objects.filter(tenant_id=tid, conversation=conversation).select_related("author_user"),
                "events": events, "members": members, "departments": Department.objects.filter(tenant_id=tid),
                "status_choices": Status.choices, "priority_choices": Priority.choices,
                "can_work": self.can(Action.INBOX_WORK), "note_form": NoteForm(), "update_form": None,
                "author_conversations": author_conversations, **extra}


def _label(event: ConversationEvent, names: dict, departments: dict) -> str:
    """The new value of a change, readable (a name rather than an id)."""
    to = event.data.get("to")
    if event.kind == "assigned":
        return names.get(to, _("nobody")) if to else _("nobody")
    if event.kind == "department":
        return departments.get(to, _("none")) if to else _("none")
    if event.kind == "status":
        return str(Status(to).label) if to in Status.values else str(to)
    if event.kind == "priority":
        return str(Priority(to).label) if to in Priority.values else str(to)
    if event.kind == "tags":
        return ", ".join(to or []) or _("none")
    return ""


class ConversationUpdateView(ConversationView):
    """Triage controls (status, priority, assignee, department, tags): an htmx post gets the side
    panel back; a plain post is redirected to the conversation."""

    required_action = Action.INBOX_WORK

    def post(self, request, conversation_id: int):
        conversation = access_conversation(self.tenant.pk, conversation_id)
        form = ConversationUpdateForm(request.POST)
        if form.is_valid():
            try:
                conversation = actions.conversation_update(self.tenant.pk, actor=request.user,
                                                           conversation_id=conversation.pk,
                                                           **form.changes(request.POST, user_id=request.user.pk))
            except ValidationError as exc:
                apply_errors(form, exc)
        status = 400 if form.errors else 200
        if request.headers.get("HX-Request"):
            self.template_name = "inbox/_controls.html"
            return self.render(status=status, **self.conversation_context(conversation, update_form=form))
        if status == 400:
            return self.render(status=400, **self.conversation_context(conversation, update_form=form))
        return redirect("inbox-conversation", tenant_slug=self.tenant.slug, conversation_id=conversation.pk)


class NoteCreateView(ConversationView):
    required_action = Action.INBOX_WORK

    def post(self, request, conversation_id: int):
        conversation = access_conversation(self.tenant.pk, conversation_id)
        form = NoteForm(request.POST)
        if form.is_valid():
            try:
                actions.note_add(self.tenant.pk, actor=request.user, conversation_id=conversation.pk,
                                 body=form.cleaned_data["body"])
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                messages.success(request, _("Note added."))
                return redirect(reverse("inbox-conversation", kwargs={
                    "tenant_slug": self.tenant.slug, "conversation_id": conversation.pk}) + "#notes")
        return self.render(status=400, **self.conversation_context(conversation, note_form=form))


class PresenceView(TenantView):
    """Polled by the conversation page every 10 s: refreshes the caller's presence and returns
    who else is viewing or replying."""

    required_action = Action.INBOX_VIEW
    template_name = "inbox/_presence.html"

    def post(self, request, conversation_id: int):
        conversation = access_conversation(self.tenant.pk, conversation_id)
        others = actions.presence_touch(self.tenant.pk, conversation.pk, user_id=request.user.pk,
                                        replying=request.POST.get("replying") == "1")
        users = {u.pk: u for u in get_user_model().objects.filter(pk__in=list(others),
                                                                   memberships__tenant_id=self.tenant.pk)}
        viewers = [{"name": users[uid].get_full_name(), "replying": mode == "replying"}
                   for uid, mode in others.items() if uid in users]
        return self.render(viewers=sorted(viewers, key=lambda v: v["name"]), conversation=conversation)


class BulkView(_InboxBase):
    required_action = Action.INBOX_WORK

    def post(self, request):
        form = BulkForm(request.POST, ids=request.POST.getlist("conversation_ids"))
        back = reverse("inbox", kwargs={"tenant_slug": self.tenant.slug})
        if request.POST.get("filters"):
            back += "?" + request.POST["filters"]
        if form.is_valid():
            data = form.cleaned_data
            assignee = request.user.pk if data["assignee"] == "me" else (data["assignee"] or None)
            try:
                changed = actions.conversations_bulk(self.tenant.pk, actor=request.user,
                                                     conversation_ids=data["conversation_ids"],
                                                     operation=data["operation"], assignee_id=assignee,
                                                     tags=[t for t in data["tags"].split(",") if t.strip()])
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                messages.success(request, ngettext("%(n)s conversation changed.", "%(n)s conversations changed.",
                                                   changed) % {"n": changed})
                return redirect(back)
        self.template_name = "inbox/bulk_error.html"
        return self.render(status=400, form=form, back=back)


class SavedViewCreateView(_InboxBase):
    """Save the inbox's current filters (posted as the ``filters`` query string) as a view."""

    required_action = Action.INBOX_WORK

    def post(self, request):
        form = SavedViewForm(request.POST)
        filters = QueryDict(request.POST.get("filters", ""))
        if form.is_valid():
            try:
                view = actions.saved_view_save(self.tenant.pk, actor=request.user, name=form.cleaned_data["name"],
                                               filters={k: filters.getlist(k) for k in filters},
                                               is_shared=form.cleaned_data["is_shared"])
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                messages.success(request, _("View saved."))
                return redirect(reverse("inbox", kwargs={"tenant_slug": self.tenant.slug}) + f"?view={view.pk}")
        self.template_name = "inbox/bulk_error.html"
        return self.render(status=400, form=form, back=reverse("inbox", kwargs={"tenant_slug": self.tenant.slug}))


class SavedViewDeleteView(TenantView):
    required_action = Action.INBOX_WORK

    def post(self, request, view_id: int):
        actions.saved_view_delete(self.tenant.pk, actor=request.user, view_id=view_id)
        messages.success(request, _("View deleted."))
        return redirect("inbox", tenant_slug=self.tenant.slug)


class RelevanceSettingsView(TenantView):
    """Which listening hits open conversations (tenant admins)."""

    required_action = Action.ROUTING_MANAGE
    template_name = "inbox/settings.html"

    def get(self, request):
        row = actions.inbox_settings(self.tenant.pk)
        form = RelevanceForm(initial={"author_window_hours": row.author_window_hours, **effective_rules(row.relevance),
                                      "community_manager_replies_need_approval":
                                          row.community_manager_replies_need_approval})
        return self.render(form=form)

    def post(self, request):
        form = RelevanceForm(request.POST)
        if form.is_valid():
            data = dict(form.cleaned_data)
            hours = data.pop("author_window_hours")
            approval = data.pop("community_manager_replies_need_approval")
            try:
                actions.relevance_save(self.tenant.pk, actor=request.user, rules=data, author_window_hours=hours,
                                       community_manager_replies_need_approval=approval)
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                messages.success(request, _("Inbox settings saved."))
                return redirect("inbox-settings", tenant_slug=self.tenant.slug)
        return self.render(status=400, form=form)
