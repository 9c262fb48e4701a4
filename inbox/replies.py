"""Replies: the brand's answers, written in the inbox and published through the connector of
the conversation's platform (X reply, Facebook comment reply, Mastodon reply, Bluesky reply).

The life of a reply (an outbound ``Message``):

    reply_send ──(may publish)──> queued ──publish_reply task──> publishing ──> sent
        │                           ^   ^                             │
        └─(needs approval)─> pending_approval ──reply_approve──┘      ├─ transient error ─> queued (retried)
                              └─reply_reject─> rejected               └─ permanent error ─> failed ──reply_retry──> queued

Every step is a domain action here (tenant id first, one transaction, audit row, conversation
event); the Celery task (``inbox.tasks.publish_reply``) only calls ``claim_for_publication``,
the connector (outside any transaction) and ``record_published`` / ``record_failed``.

Never doubled: a claim moves the row to "publishing" under a row lock, so a task delivered twice
publishes once; a claim that a killed worker left behind is not published again blindly (the
platform may have the post): after ``CLAIM_LEASE`` it is marked failed "outcome unknown", shown
in the conversation, and a person retries it after a look at the platform. Never lost: a failed
reply stays in the conversation with its error until someone retries or rewrites it.

Canned answers are shared across channels, in French and English, with variables filled from
what the conversation knows: {first_name}, {order_number}, {handle}, {agent_name}. A variable
nobody could fill stays visible in the reply box, and ``reply_send`` refuses a text that still
holds one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from listening.connectors.base import AccountConfig, Published, ReplyTarget
from listening.models import ConnectedAccount, Mention
from social_crm.tenancy.access import scoped_get
from social_crm.tenancy.actions import audit_record
from social_crm.tenancy.models import Membership, Tenant
from social_crm.tenancy.permissions import Action, Role, role_can
from social_crm.tenancy.scope import tenant_context

from .alerts import notify_users
from .conversations import _event
from .models import CannedAnswer, Conversation, DeliveryStatus, Message, Status

VARIABLES = ("first_name", "order_number", "handle", "agent_name")
PLACEHOLDER = re.compile(r"\{(" + "|".join(VARIABLES) + r")\}")
# What each platform accepts in one post (characters; X counts a URL as 23, we count it as typed).
MAX_LENGTH = {"x": 280, "bluesky": 300, "mastodon": 500, "facebook": 8000}
CLAIM_LEASE = timedelta(minutes=10)
# "commande n° 12345", "order #AB-1234", "cmd 998877": what {order_number} can be filled from.
ORDER_NUMBER = re.compile(
    r"\b(?:order|commande|cde|cmd)\s*(?:number|num(?:é|e)ro|n(?:°|o|º)\.?|#)?\s*:?\s*#?\s*([A-Z]{0,4}-?\d{4,12})\b",
    re.IGNORECASE)


# --- Who may do what ---------------------------------------------------------------------------


def _membership(tenant_id: int, actor) -> Membership:
    with tenant_context(tenant_id):
        membership = Membership.objects.filter(tenant_id=tenant_id, user_id=getattr(actor, "pk", None)).first()
    if membership is None:
        raise PermissionDenied("not a member of this tenant")
    return membership


def may_publish(tenant_id: int, actor) -> bool:
    """Whether the actor's replies go out at once (else they wait for an approver)."""
    return role_may_publish(tenant_id, _membership(tenant_id, actor).role)


def role_may_publish(tenant_id: int, role: str) -> bool:
    from .conversations import inbox_settings

    if not role_can(role, Action.INBOX_REPLY_PUBLISH):
        return False
    if role == Role.COMMUNITY_MANAGER and inbox_settings(tenant_id).community_manager_replies_need_approval:
        return False
    return True


def _require(tenant_id: int, actor, action: Action) -> Membership:
    membership = _membership(tenant_id, actor)
    if not role_can(membership.role, action):
        raise PermissionDenied("Your role does not allow this.")
    return membership


# --- Canned answers -------------------------------------------------------------------------------


def _inbound(tenant_id: int, conversation: Conversation) -> list[tuple[str, str]]:
    """(text, language) of the conversation's newest inbound mentions, newest first."""
    rows = Mention.objects.filter(tenant_id=tenant_id, pk__in=Message.objects.filter(
        tenant_id=tenant_id, conversation=conversation, direction="in").values("mention_id")) \
        .order_by("-created_at").values_list("text", "detected_language", "language")[:20]
    return [(text or "", detected or language) for text, detected, language in rows]


def conversation_language(tenant_id: int, conversation: Conversation, inbound=None) -> str:
    """fr or en: the language of the newest inbound message, else the tenant's default."""
    inbound = _inbound(tenant_id, conversation) if inbound is None else inbound
    language = inbound[0][1] if inbound else ""
    default = Tenant.objects.values_list("default_language", flat=True).get(pk=tenant_id)  # always: a constant count
    if language not in ("fr", "en"):
        language = default
    return language if language in ("fr", "en") else "en"


def variables_for(tenant_id: int, conversation: Conversation, agent, inbound=None) -> dict[str, str]:
    """The values the conversation gives for the canned-answer variables (missing ones absent)."""
    from social_crm.customers.models import SocialIdentity

    values: dict[str, str] = {}
    author = conversation.author
    # Queried even without an author, so the conversation page's query count never depends on it.
    identity = (SocialIdentity.objects.filter(tenant_id=tenant_id, author_id=getattr(author, "pk", None),
                                              customer__isnull=False).select_related("customer").first())
    if author is not None:
        if author.handle:
            values["handle"] = "@" + author.handle.lstrip("@")
        name = identity.customer.name if identity else author.name
        first = (name or "").strip().split(" ")[0]
        if first and not first.startswith("@"):
            values["first_name"] = first
    for text, _language in _inbound(tenant_id, conversation) if inbound is None else inbound:
        found = ORDER_NUMBER.search(text)
        if found:
            values["order_number"] = found.group(1)
            break
    agent_name = agent.get_short_name() if getattr(agent, "pk", None) else ""
    if agent_name:
        values["agent_name"] = agent_name
    return values


def canned_render(answer: CannedAnswer, language: str, values: dict[str, str]) -> tuple[str, str]:
    """(text, language used): the answer's version in ``language`` (else the other one) with the
    known variables filled; unknown ones stay as {name} for the agent to fill."""
    wanted, other = ("fr", "en") if language == "fr" else ("en", "fr")
    versions = {"fr": answer.body_fr, "en": answer.body_en}
    used = wanted if versions[wanted] else other
    body = versions[used]
    return PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), body), used


@dataclass
class CannedChoice:
    answer: CannedAnswer
    text: str
    language: str
    missing: list[str]


def canned_for(tenant_id: int, conversation: Conversation, agent) -> list[CannedChoice]:
    """Every canned answer rendered for this conversation, in its language."""
    with tenant_context(tenant_id):
        inbound = _inbound(tenant_id, conversation)
        language = conversation_language(tenant_id, conversation, inbound)
        values = variables_for(tenant_id, conversation, agent, inbound)
        choices = []
        for answer in CannedAnswer.objects.filter(tenant_id=tenant_id):
            text, used = canned_render(answer, language, values)
            choices.append(CannedChoice(answer, text, used, sorted(set(PLACEHOLDER.findall(text)))))
        return choices


def _check_body(field: str, text: str) -> str:
    text = (text or "").strip()
    unknown = {m for m in re.findall(r"\{([a-z_]+)\}", text) if m not in VARIABLES}
    if unknown:
        raise ValidationError({field: _("Unknown variable(s): %(names)s. Available: %(available)s.") % {
            "names": ", ".join("{%s}" % n for n in sorted(unknown)),
            "available": ", ".join("{%s}" % v for v in VARIABLES)}})
    return text


def canned_save(tenant_id: int, *, actor, answer_id: int | None = None, name: str, shortcut: str = "",
                body_en: str = "", body_fr: str = "") -> CannedAnswer:
    with tenant_context(tenant_id), transaction.atomic():
        _require(tenant_id, actor, Action.CANNED_ANSWERS_MANAGE)
        name = (name or "").strip()
        errors = {}
        if not name:
            errors["name"] = _("Give the answer a name.")
        try:
            body_en, body_fr = _check_body("body_en", body_en), _check_body("body_fr", body_fr)
        except ValidationError as exc:
            errors.update(exc.message_dict)
        if not errors and not body_en and not body_fr:
            errors["body_en"] = _("Write the answer in English, French or both.")
        clash = CannedAnswer.objects.filter(tenant_id=tenant_id, name__iexact=name).exclude(pk=answer_id)
        if name and clash.exists():
            errors["name"] = _("Another canned answer has this name.")
        if errors:
            raise ValidationError(errors)
        if answer_id is None:
            answer = CannedAnswer(tenant_id=tenant_id, created_by=actor if getattr(actor, "pk", None) else None)
        else:
            answer = scoped_get(CannedAnswer.objects.select_for_update(), tenant_id, answer_id)
        answer.name, answer.shortcut, answer.body_en, answer.body_fr = name, (shortcut or "").strip(), body_en, body_fr
        answer.updated_at = timezone.now()
        answer.save()
        audit_record(tenant_id, actor=actor, action="canned_answer.saved", target=answer, data={"name": name})
        return answer


def canned_delete(tenant_id: int, *, actor, answer_id: int) -> None:
    with tenant_context(tenant_id), transaction.atomic():
        _require(tenant_id, actor, Action.CANNED_ANSWERS_MANAGE)
        answer = scoped_get(CannedAnswer.objects.all(), tenant_id, answer_id)
        audit_record(tenant_id, actor=actor, action="canned_answer.deleted", target=answer, data={"name": answer.name})
        answer.delete()


# --- Writing, approving, retrying -----------------------------------------------------------------


def _reply_target(tenant_id: int, conversation: Conversation) -> Message | None:
    """The inbound message a reply answers: the newest one whose post is still there."""
    return (Message.objects.filter(tenant_id=tenant_id, conversation=conversation, direction="in",
                                   mention__isnull=False, mention__is_deleted=False)
            .select_related("mention").order_by("-created_at", "-id").first())


def _validated_text(tenant_id: int, conversation: Conversation, text: str) -> str:
    text = (text or "").strip()
    if not text:
        raise ValidationError({"text": _("Write a reply first.")})
    left = sorted(set(PLACEHOLDER.findall(text)))
    if left:
        raise ValidationError({"text": _("Fill in %(names)s before sending.") % {
            "names": ", ".join("{%s}" % n for n in left)}})
    limit = MAX_LENGTH.get(conversation.platform)
    if limit and len(text) > limit:
        raise ValidationError({"text": _("%(platform)s takes at most %(limit)d characters; this reply has %(n)d.") % {
            "platform": conversation.platform.capitalize(), "limit": limit, "n": len(text)}})
    return text


def _queue(tenant_id: int, message: Message) -> None:
    from .tasks import publish_reply

    transaction.on_commit(lambda: publish_reply.delay(tenant_id, message.pk))


def reply_send(tenant_id: int, *, actor, conversation_id: int, text: str, canned_answer_id: int | None = None,
               language: str = "") -> Message:
    """Write a reply. It is queued for publication at once when the actor may publish, else it
    waits for approval and the approvers are told (in-app and e-mail)."""
    with tenant_context(tenant_id), transaction.atomic():
        _require(tenant_id, actor, Action.INBOX_REPLY)
        conversation = scoped_get(Conversation.objects.select_for_update(of=("self",)).select_related("author"),
                                  tenant_id, conversation_id)
        text = _validated_text(tenant_id, conversation, text)
        target = _reply_target(tenant_id, conversation)
        if target is None:
            raise ValidationError({"text": _("This conversation has no post left to reply to.")})
        canned = None
        if canned_answer_id:
            canned = CannedAnswer.objects.filter(tenant_id=tenant_id, pk=canned_answer_id).first()
            if canned is None:
                raise ValidationError({"canned_answer": _("Unknown canned answer.")})
        direct = may_publish(tenant_id, actor)
        now = timezone.now()
        message = Message.objects.create(
            tenant_id=tenant_id, conversation=conversation, direction="out", text=text, author_user=actor,
            reply_to=target, canned_answer=canned, language=language if language in ("fr", "en") else "",
            delivery_status=DeliveryStatus.QUEUED if direct else DeliveryStatus.PENDING_APPROVAL,
            approved_by=actor if direct else None, approved_at=now if direct else None, created_at=now)
        if conversation.status == Status.NEW:
            conversation.status = Status.OPEN
        conversation.updated_at = now
        conversation.save(update_fields=["status", "updated_at"])
        _event(tenant_id, conversation, "reply_queued" if direct else "reply_pending", actor=actor,
               data={"message": message.pk, "canned_answer": canned.pk if canned else None})
        audit_record(tenant_id, actor=actor, action="reply.sent" if direct else "reply.submitted", target=message,
                     data={"conversation": conversation.number})
        if direct:
            _queue(tenant_id, message)
        else:
            _notify_approvers(tenant_id, conversation, message, actor)
        return message


def approvers(tenant_id: int, conversation: Conversation) -> list:
    """Who approves: the heads of the conversation's department, else the tenant admins."""
    heads = []
    if conversation.department_id:
        heads = [m.user for m in Membership.objects.filter(
            tenant_id=tenant_id, role=Role.DEPARTMENT_HEAD, user__is_active=True,
            departments_headed__pk=conversation.department_id).select_related("user")]
    return heads or [m.user for m in Membership.objects.filter(
        tenant_id=tenant_id, role=Role.ADMIN, user__is_active=True).select_related("user")]


def _conversation_url(tenant_id: int, conversation: Conversation) -> str:
    slug = Tenant.objects.values_list("slug", flat=True).get(pk=tenant_id)
    return reverse("inbox-conversation", kwargs={"tenant_slug": slug, "conversation_id": conversation.pk})


def _notify_approvers(tenant_id: int, conversation: Conversation, message: Message, actor) -> None:
    who = actor.get_short_name() if getattr(actor, "pk", None) else "?"
    users = [u for u in approvers(tenant_id, conversation) if u.pk != getattr(actor, "pk", None)]
    notify_users(tenant_id, users, kind="inbox.reply_approval",
                 title=gettext_lazy("%(who)s's reply on conversation #%(number)s waits for your approval"),
                 body="%(text)s", params={"who": who, "number": conversation.number, "text": message.text[:1000]},
                 url=_conversation_url(tenant_id, conversation))


def _locked_outbound(tenant_id: int, message_id: int) -> Message:
    message = (Message.objects.select_for_update(of=("self",)).select_related("conversation")
               .filter(tenant_id=tenant_id, pk=message_id, direction="out").first())
    if message is None:
        raise Message.DoesNotExist(f"no reply {message_id}")
    return message


def reply_approve(tenant_id: int, *, actor, message_id: int, text: str | None = None) -> Message:
    """Approve a pending reply (optionally edited by the approver) and queue it."""
    with tenant_context(tenant_id), transaction.atomic():
        _require(tenant_id, actor, Action.INBOX_REPLY_APPROVE)
        message = _locked_outbound(tenant_id, message_id)
        if message.delivery_status != DeliveryStatus.PENDING_APPROVAL:
            raise ValidationError(_("This reply is not waiting for approval."))
        if text is not None and text.strip() != message.text:
            message.text = _validated_text(tenant_id, message.conversation, text)
        message.delivery_status, message.approved_by, message.approved_at = DeliveryStatus.QUEUED, actor, timezone.now()
        message.save(update_fields=["text", "delivery_status", "approved_by", "approved_at"])
        _event(tenant_id, message.conversation, "reply_approved", actor=actor, data={"message": message.pk})
        audit_record(tenant_id, actor=actor, action="reply.approved", target=message)
        _queue(tenant_id, message)
        return message


def reply_reject(tenant_id: int, *, actor, message_id: int, reason: str) -> Message:
    """Reject a pending reply with a reason; its author is told. It stays in the conversation."""
    with tenant_context(tenant_id), transaction.atomic():
        _require(tenant_id, actor, Action.INBOX_REPLY_APPROVE)
        reason = (reason or "").strip()
        if not reason:
            raise ValidationError({"reason": _("Say why, so its author can do better.")})
        message = _locked_outbound(tenant_id, message_id)
        if message.delivery_status != DeliveryStatus.PENDING_APPROVAL:
            raise ValidationError(_("This reply is not waiting for approval."))
        message.delivery_status, message.error = DeliveryStatus.REJECTED, reason[:2000]
        message.save(update_fields=["delivery_status", "error"])
        _event(tenant_id, message.conversation, "reply_rejected", actor=actor, data={"message": message.pk})
        audit_record(tenant_id, actor=actor, action="reply.rejected", target=message, data={"reason": reason[:200]})
        if message.author_user_id and message.author_user_id != actor.pk:
            notify_users(tenant_id, [message.author_user], kind="inbox.reply_rejected",
                         title=gettext_lazy("Your reply on conversation #%(number)s was not approved"),
                         body="%(reason)s", params={"number": message.conversation.number, "reason": reason[:1000]},
                         url=_conversation_url(tenant_id, message.conversation))
        return message


def reply_retry(tenant_id: int, *, actor, message_id: int) -> Message:
    """Queue a failed reply again (after a look at the platform if its outcome was unknown)."""
    with tenant_context(tenant_id), transaction.atomic():
        _require(tenant_id, actor, Action.INBOX_REPLY_PUBLISH)
        message = _locked_outbound(tenant_id, message_id)
        if message.delivery_status != DeliveryStatus.FAILED:
            raise ValidationError(_("Only a failed reply can be retried."))
        message.delivery_status, message.claimed_at = DeliveryStatus.QUEUED, None
        message.save(update_fields=["delivery_status", "claimed_at"])
        _event(tenant_id, message.conversation, "reply_retried", actor=actor, data={"message": message.pk})
        audit_record(tenant_id, actor=actor, action="reply.retried", target=message)
        _queue(tenant_id, message)
        return message


def pending_approvals(tenant_id: int, user):
    """Replies waiting for approval in the conversations this user approves."""
    membership = _membership(tenant_id, user)
    pending = (Message.objects.filter(tenant_id=tenant_id, direction="out",
                                      delivery_status=DeliveryStatus.PENDING_APPROVAL)
               .select_related("conversation", "author_user").order_by("created_at", "id"))
    with tenant_context(tenant_id):
        if membership.role == Role.DEPARTMENT_HEAD:
            pending = pending.filter(conversation__department__in=list(membership.departments_headed.all()))
        elif membership.role != Role.ADMIN:
            return []
        return list(pending)


# --- Publication (called by inbox.tasks.publish_reply) ----------------------------------------------


@dataclass(frozen=True)
class PublishJob:
    message_id: int
    text: str
    platform: str
    account: AccountConfig
    target: ReplyTarget
    idempotency_key: str


def publishing_account(tenant_id: int, mention: Mention) -> ConnectedAccount | None:
    """The channel that answers a mention: the one it came through, else the tenant's own
    active account on that platform."""
    if mention.account_id:
        account = ConnectedAccount.objects.filter(tenant_id=tenant_id, pk=mention.account_id, is_active=True).first()
        if account is not None and account.platform in (mention.platform, "replay"):
            return account
    return (ConnectedAccount.objects.filter(tenant_id=tenant_id, platform=mention.platform, is_active=True)
            .order_by("-is_own", "id").first())


def claim_for_publication(tenant_id: int, message_id: int) -> PublishJob | None:
    """Take a queued reply for publication (status "publishing", one more attempt), or None when
    there is nothing to do: sent, rejected, waiting for approval, or claimed by another worker.
    A claim older than CLAIM_LEASE (its worker died mid-call) becomes "failed, outcome unknown"."""
    from listening.actions import account_credentials

    with tenant_context(tenant_id), transaction.atomic():
        message = Message.objects.select_for_update().filter(tenant_id=tenant_id, pk=message_id,
                                                             direction="out").first()
        if message is None:
            return None
        now = timezone.now()
        if message.delivery_status == DeliveryStatus.PUBLISHING:
            if message.claimed_at and now - message.claimed_at < CLAIM_LEASE:
                return None
            message.delivery_status = DeliveryStatus.FAILED
            message.error = _("The publication was interrupted and its outcome is unknown: check the platform "
                              "before retrying.")
            message.save(update_fields=["delivery_status", "error"])
            return None
        if message.delivery_status != DeliveryStatus.QUEUED:
            return None
        reply_to = (Message.objects.select_related("mention__author").filter(tenant_id=tenant_id, pk=message.reply_to_id)
                    .first() if message.reply_to_id else None)
        target = reply_to.mention if reply_to is not None and reply_to.mention_id else None
        account = publishing_account(tenant_id, target) if target is not None else None
        if target is None or target.is_deleted or account is None:
            message.delivery_status = DeliveryStatus.FAILED
            message.error = (_("The post this reply answers is gone.") if target is None or target.is_deleted else
                             _("No connected %(platform)s account can publish this reply: connect one, then retry.")
                             % {"platform": target.platform})
            message.attempts += 1
            message.save(update_fields=["delivery_status", "error", "attempts"])
            return None
        message.delivery_status, message.claimed_at = DeliveryStatus.PUBLISHING, now
        message.attempts += 1
        message.save(update_fields=["delivery_status", "claimed_at", "attempts"])
        config = AccountConfig(platform=account.platform, external_id=account.external_id, handle=account.handle,
                               base_url=account.base_url, credentials=account_credentials(account))
        handle = target.author.handle if target.author_id else ""
        reply_target = ReplyTarget(platform=target.platform, external_id=target.external_id,
                                   version_id=target.version_id, parent_external_id=target.parent_external_id,
                                   conversation_external_id=target.conversation_external_id,
                                   author_handle=handle, raw=target.raw or {})
        return PublishJob(message.pk, message.text, target.platform, config, reply_target,
                          idempotency_key=f"t{tenant_id}-m{message.pk}")


def record_published(tenant_id: int, message_id: int, published: Published) -> Message:
    """The platform took the reply: sent, its id and URL, and the conversation's first response."""
    with tenant_context(tenant_id), transaction.atomic():
        message = _locked_outbound(tenant_id, message_id)
        now = timezone.now()
        message.delivery_status, message.external_id, message.error = DeliveryStatus.SENT, published.external_id, ""
        message.sent_at, message.claimed_at = now, None
        message.save(update_fields=["delivery_status", "external_id", "error", "sent_at", "claimed_at"])
        conversation = Conversation.objects.select_for_update().get(tenant_id=tenant_id, pk=message.conversation_id)
        changed = ["last_message_at", "updated_at"]
        if conversation.first_response_at is None:
            conversation.first_response_at = now
            changed.append("first_response_at")
        conversation.last_message_at = max(conversation.last_message_at, now)
        conversation.updated_at = now
        conversation.save(update_fields=changed)
        _event(tenant_id, conversation, "reply_sent", data={"message": message.pk, "external_id": published.external_id,
                                                             "url": published.url})
        return message


def record_failed(tenant_id: int, message_id: int, error: str, *, final: bool) -> Message:
    """A publication failed: back to "queued" when it will be retried, else "failed" (shown in the
    conversation with its error, retried by a person)."""
    with tenant_context(tenant_id), transaction.atomic():
        message = _locked_outbound(tenant_id, message_id)
        message.delivery_status = DeliveryStatus.FAILED if final else DeliveryStatus.QUEUED
        message.error, message.claimed_at = error[:2000], None
        message.save(update_fields=["delivery_status", "error", "claimed_at"])
        if final:
            _event(tenant_id, message.conversation, "reply_failed", data={"message": message.pk, "error": error[:300]})
        return message
