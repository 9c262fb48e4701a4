"""Reply pages: the reply box of a conversation, the approval step, retrying a failed reply and
the shared canned answers. Thin views over inbox/replies.py, all on TenantView."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from social_crm.tenancy.base import ActionDeleteView, TenantView
from social_crm.tenancy.permissions import Action
from social_crm.tenancy.views import apply_errors

from . import replies
from .access import access_conversation
from .forms_replies import ApproveForm, CannedAnswerForm, RejectForm, ReplyForm
from .models import CannedAnswer, Message
from .views import ConversationView


def _back(view, message: Message) -> str:
    return reverse("inbox-conversation", kwargs={"tenant_slug": view.tenant.slug,
                                                 "conversation_id": message.conversation_id}) + "#messages-title"


class ReplyCreateView(ConversationView):
    """Send (or submit for approval) a reply from the conversation page."""

    required_action = Action.INBOX_REPLY

    def post(self, request, conversation_id: int):
        conversation = access_conversation(self.tenant.pk, conversation_id)
        form = ReplyForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                message = replies.reply_send(self.tenant.pk, actor=request.user, conversation_id=conversation.pk,
                                             text=data["text"], canned_answer_id=data["canned_answer"],
                                             language=data["language"])
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                messages.success(request, _("Reply queued for publication.") if message.delivery_status == "queued"
                                 else _("Reply sent for approval."))
                return redirect(_back(self, message))
        return self.render(status=400, **self.conversation_context(conversation, reply_form=form))


class _ReplyAction(TenantView):
    def message(self, message_id: int) -> Message:
        from social_crm.tenancy.access import scoped_get

        return scoped_get(Message.objects.filter(direction="out"), self.tenant.pk, message_id)

    def done(self, request, message: Message, text: str):
        messages.success(request, text)
        nxt = request.POST.get("next", "")
        if nxt == "approvals":
            return redirect("inbox-approvals", tenant_slug=self.tenant.slug)
        return redirect(_back(self, message))

    def failed(self, request, message: Message, exc: ValidationError):
        for text in exc.messages:
            messages.error(request, text)
        return redirect(_back(self, message))


class ReplyApproveView(_ReplyAction):
    required_action = Action.INBOX_REPLY_APPROVE

    def post(self, request, message_id: int):
        message = self.message(message_id)
        form = ApproveForm(request.POST)
        form.is_valid()
        try:
            replies.reply_approve(self.tenant.pk, actor=request.user, message_id=message.pk,
                                  text=form.cleaned_data.get("text") or None)
        except ValidationError as exc:
            return self.failed(request, message, exc)
        return self.done(request, message, _("Reply approved and queued for publication."))


class ReplyRejectView(_ReplyAction):
    required_action = Action.INBOX_REPLY_APPROVE

    def post(self, request, message_id: int):
        message = self.message(message_id)
        form = RejectForm(request.POST)
        try:
            if not form.is_valid():
                raise ValidationError({"reason": _("Say why, so its author can do better.")})
            replies.reply_reject(self.tenant.pk, actor=request.user, message_id=message.pk,
                                 reason=form.cleaned_data["reason"])
        except ValidationError as exc:
            return self.failed(request, message, exc)
        return self.done(request, message, _("Reply rejected; its author was told why."))


class ReplyRetryView(_ReplyAction):
    required_action = Action.INBOX_REPLY_PUBLISH

    def post(self, request, message_id: int):
        message = self.message(message_id)
        try:
            replies.reply_retry(self.tenant.pk, actor=request.user, message_id=message.pk)
        except ValidationError as exc:
            return self.failed(request, message, exc)
        return self.done(request, message, _("Reply queued again."))


class ApprovalsView(TenantView):
    """Replies waiting for the caller's approval (department heads: their departments)."""

    required_action = Action.INBOX_REPLY_APPROVE
    template_name = "inbox/approvals.html"

    def get(self, request):
        return self.render(pending=replies.pending_approvals(self.tenant.pk, request.user))


class CannedListView(TenantView):
    required_action = Action.INBOX_VIEW
    template_name = "inbox/canned/list.html"
    model = CannedAnswer

    def get(self, request):
        return self.render(answers=self.get_queryset().order_by("name"),
                           can_manage=self.can(Action.CANNED_ANSWERS_MANAGE), variables=replies.VARIABLES)


class CannedEditView(TenantView):
    required_action = Action.CANNED_ANSWERS_MANAGE
    template_name = "inbox/canned/edit.html"
    model = CannedAnswer

    def _answer(self, answer_id):
        from social_crm.tenancy.access import scoped_get

        return scoped_get(CannedAnswer.objects.all(), self.tenant.pk, answer_id) if answer_id is not None else None

    def get(self, request, answer_id: int | None = None):
        answer = self._answer(answer_id)
        initial = ({"name": answer.name, "shortcut": answer.shortcut, "body_en": answer.body_en,
                    "body_fr": answer.body_fr} if answer else {})
        return self.render(form=CannedAnswerForm(initial=initial), answer=answer, variables=replies.VARIABLES)

    def post(self, request, answer_id: int | None = None):
        answer = self._answer(answer_id)
        form = CannedAnswerForm(request.POST)
        if form.is_valid():
            try:
                replies.canned_save(self.tenant.pk, actor=request.user, answer_id=answer.pk if answer else None,
                                    **form.cleaned_data)
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                messages.success(request, _("Canned answer saved."))
                return redirect("inbox-canned", tenant_slug=self.tenant.slug)
        return self.render(status=400, form=form, answer=answer, variables=replies.VARIABLES)


class CannedDeleteView(ActionDeleteView):
    required_action = Action.CANNED_ANSWERS_MANAGE
    delete_action = staticmethod(replies.canned_delete)
    id_kwarg, message, list_url = "answer_id", gettext_noop("Canned answer deleted."), "inbox-canned"
