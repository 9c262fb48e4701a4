"""Writes on conversations (tenant id first, one transaction, audit row, a ConversationEvent
for every change a person can see on the conversation's timeline).

``attach_mentions`` turns tagged listening hits into conversation messages; the others are
the triage actions behind the inbox pages and the API.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from listening.models import ConnectedAccount, Mention, MentionMatch
from social_crm.tenancy.actions import audit_record
from social_crm.tenancy.models import Department, Membership, Notification, Tenant
from social_crm.tenancy.scope import tenant_context

from . import grouping, relevance
from .access import access_conversation, access_saved_view
from .models import Conversation, ConversationEvent, InboxSettings, Message, Note, Priority, SavedView, Status

CLOSED_STATUSES = (Status.RESOLVED, Status.CLOSED)
MAX_TAGS, MAX_TAG_LENGTH = 20, 40
MAX_BULK = 500  # conversations per bulk action: one request, one transaction


# --- Mentions into conversations -----------------------------------------------------------------


def _locked_settings(tenant_id: int) -> InboxSettings:
    """The tenant's InboxSettings row, created on first use, locked until the transaction ends:
    it serialises conversation creation per tenant (gap-free numbers, one conversation per
    thread or author window even when two workers attach at once)."""
    try:
        with transaction.atomic():
            InboxSettings.objects.get_or_create(tenant_id=tenant_id)
    except IntegrityError:  # a concurrent first use created it
        pass
    return InboxSettings.objects.select_for_update().get(tenant_id=tenant_id)


def inbox_settings(tenant_id: int) -> InboxSettings:
    with tenant_context(tenant_id):
        return InboxSettings.objects.filter(tenant_id=tenant_id).first() or InboxSettings(tenant_id=tenant_id)


def _facts(tenant_id: int, mentions: list[Mention]) -> relevance.TenantFacts:
    handles = ConnectedAccount.objects.filter(tenant_id=tenant_id, is_own=True).exclude(handle="") \
        .values_list("handle", flat=True)
    parents = {x for m in mentions for x in (m.parent_external_id, m.conversation_external_id) if x}
    own_posts = Mention.objects.filter(tenant_id=tenant_id, is_own=True, external_id__in=parents) \
        .values_list("external_id", flat=True) if parents else []
    return relevance.TenantFacts(own_handles=frozenset(h.lstrip("@").lower() for h in handles),
                                 own_post_ids=frozenset(own_posts))


def _event(tenant_id: int, conversation: Conversation, kind: str, *, actor=None, data: dict | None = None, rule=None):
    return ConversationEvent.objects.create(tenant_id=tenant_id, conversation=conversation, kind=kind,
                                            actor=actor if getattr(actor, "pk", None) else None, rule=rule,
                                            data=data or {})


def _open_conversation(tenant_id: int, settings_row: InboxSettings, mention: Mention, key: str, reason: str):
    number = settings_row.next_number
    settings_row.next_number = number + 1
    settings_row.save(update_fields=["next_number"])
    conversation = Conversation.objects.create(
        tenant_id=tenant_id, number=number, platform=mention.platform, thread_key=key, author_id=mention.author_id,
        first_message_at=mention.created_at, last_message_at=mention.created_at)
    _event(tenant_id, conversation, "created", data={"mention": mention.pk, "relevance": reason})
    return conversation


def _add_inbound(tenant_id: int, conversation: Conversation, mention: Mention) -> None:
    Message.objects.create(tenant_id=tenant_id, conversation=conversation, direction="in", mention=mention,
                           created_at=mention.created_at)
    c = conversation
    if c.last_inbound_at is None or mention.created_at >= c.last_inbound_at:
        c.preview, c.sentiment, c.last_inbound_at = (mention.text or "")[:300], mention.sentiment, mention.created_at
    c.needs_review = c.needs_review or mention.needs_review
    c.message_count += 1
    c.first_message_at = min(c.first_message_at, mention.created_at)
    c.last_message_at = max(c.last_message_at, mention.created_at)
    if c.status in CLOSED_STATUSES:
        _event(tenant_id, c, "reopened", data={"from": c.status, "mention": mention.pk})
        c.status, c.resolved_at = Status.OPEN, None
    c.updated_at = timezone.now()
    c.save()


def attach_mentions(tenant_id: int, mention_ids: Iterable[int]) -> list[int]:
    """Put tagged mentions into conversations; returns the ids of the conversations touched
    (created, joined or reopened), after asking routing to look at them.

    Idempotent: a mention already in a conversation is skipped (and the unique inbound mention
    per tenant backs that up). Own posts and plain reposts never become messages. Mentions are
    taken oldest first so a thread opens with its first message."""
    from .routing import route

    ids = sorted({int(i) for i in mention_ids})
    touched: list[int] = []
    with tenant_context(tenant_id):
        settings_row = _locked_settings(tenant_id)
        rules = relevance.effective_rules(settings_row.relevance)
        already = set(Message.objects.filter(tenant_id=tenant_id, direction="in", mention_id__in=ids)
                      .values_list("mention_id", flat=True))
        mentions = [m for m in Mention.objects.filter(tenant_id=tenant_id, pk__in=ids).order_by("created_at", "id")
                    if m.pk not in already and not relevance.never_a_conversation(m)]
        matched = set(MentionMatch.objects.filter(tenant_id=tenant_id, mention_id__in=[m.pk for m in mentions])
                      .values_list("mention_id", flat=True))
        facts = _facts(tenant_id, mentions)
        for mention in mentions:
            placement = grouping.place(tenant_id, mention, window_hours=settings_row.author_window_hours)
            conversation = placement.conversation
            if conversation is None:
                reason = relevance.relevance_reason(mention, rules, facts, matched_query=mention.pk in matched)
                if reason is None:
                    continue
                conversation = _open_conversation(tenant_id, settings_row, mention, placement.thread_key, reason)
            _add_inbound(tenant_id, conversation, mention)
            if conversation.pk not in touched:
                touched.append(conversation.pk)
    if touched:
        route(tenant_id, touched)
    return touched


# --- Triage ------------------------------------------------------------------------------------------

_UNSET = object()


def _clean_tags(tags) -> list[str]:
    if isinstance(tags, str):
        tags = tags.split(",")
    cleaned: list[str] = []
    for raw in tags or []:
        tag = str(raw).strip().lstrip("#")
        if not tag:
            continue
        if len(tag) > MAX_TAG_LENGTH:
            raise ValidationError({"tags": [_("A tag has at most %(n)s characters.") % {"n": MAX_TAG_LENGTH}]})
        if tag.lower() not in {t.lower() for t in cleaned}:
            cleaned.append(tag)
    if len(cleaned) > MAX_TAGS:
        raise ValidationError({"tags": [_("At most %(n)s tags.") % {"n": MAX_TAGS}]})
    return cleaned


def _tenant_ref(queryset, value, field: str, message: str) -> int | None:
    """An id that must name a row of ``queryset`` (already narrowed to the tenant), or None
    for "nobody / none"; anything else is a ValidationError on ``field``."""
    if value in (None, ""):
        return None
    try:
        value = int(value)
    except (TypeError, ValueError):
        raise ValidationError({field: [message]}) from None
    if not queryset.filter(pk=value).exists():
        raise ValidationError({field: [message]})
    return value


def _check_member(tenant_id: int, user_id) -> int | None:
    members = get_user_model().objects.filter(is_active=True, memberships__tenant_id=tenant_id)
    return _tenant_ref(members, user_id, "assignee", _("Choose a member of this tenant."))


def _check_department(tenant_id: int, department_id) -> int | None:
    return _tenant_ref(Department.objects.filter(tenant_id=tenant_id), department_id, "department",
                       _("Choose one of this tenant's departments."))


def _validated_changes(tenant_id: int, *, status, priority, assignee_id, department_id, tags) -> dict:
    """The requested changes as model field values; ValidationError naming the bad field."""
    changes: dict = {}
    if status is not _UNSET:
        if status not in Status.values:
            raise ValidationError({"status": [_("Unknown status.")]})
        changes["status"] = status
    if priority is not _UNSET:
        if priority not in Priority.values:
            raise ValidationError({"priority": [_("Unknown priority.")]})
        changes["priority"] = priority
    if assignee_id is not _UNSET:
        changes["assignee_id"] = _check_member(tenant_id, assignee_id)
    if department_id is not _UNSET:
        changes["department_id"] = _check_department(tenant_id, department_id)
    if tags is not _UNSET:
        changes["tags"] = _clean_tags(tags)
    return changes


_EVENT_KINDS = {"status": "status", "priority": "priority", "assignee_id": "assigned", "department_id": "department",
                "tags": "tags"}


def _apply(tenant_id: int, conversation: Conversation, changes: dict, *, actor) -> list[str]:
    """Write the changes that differ; one event per change, one audit row. Returns what changed."""
    changed = [f for f, v in changes.items() if getattr(conversation, f) != v]
    if not changed:
        return []
    now = timezone.now()
    for field in changed:
        old = getattr(conversation, field)
        setattr(conversation, field, changes[field])
        _event(tenant_id, conversation, _EVENT_KINDS[field], actor=actor, data={"from": old, "to": changes[field]})
    if "status" in changed:
        conversation.resolved_at = now if conversation.status in CLOSED_STATUSES else None
    if "priority" in changed:  # the SLA policy may depend on the priority: new due dates
        from .sla import apply_policy

        apply_policy(conversation)
    conversation.updated_at = now
    conversation.save()
    audit_record(tenant_id, actor=actor, action="conversation.updated", target=conversation,
                 data={f.removesuffix("_id"): changes[f] for f in changed})
    return changed


def conversation_update(tenant_id: int, *, actor, conversation_id: int, status=_UNSET, priority=_UNSET,
                        assignee_id=_UNSET, department_id=_UNSET, tags=_UNSET) -> Conversation:
    """Change any of status, priority, assignee (a member of the tenant, or None), department
    (the tenant's, or None) and tags. Idempotent: values equal to the stored ones write nothing.
    ValidationError on the field at fault (e.g. "assignee" for a user who is not a member)."""
    with tenant_context(tenant_id):
        changes = _validated_changes(tenant_id, status=status, priority=priority, assignee_id=assignee_id,
                                     department_id=department_id, tags=tags)
        conversation = access_conversation(tenant_id, conversation_id)
        conversation = Conversation.objects.select_for_update().get(tenant_id=tenant_id, pk=conversation.pk)
        _apply(tenant_id, conversation, changes, actor=actor)
        return conversation


def conversation_assign(tenant_id: int, *, actor, conversation_id: int, assignee_id: int | None) -> Conversation:
    return conversation_update(tenant_id, actor=actor, conversation_id=conversation_id, assignee_id=assignee_id)


def conversation_set_status(tenant_id: int, *, actor, conversation_id: int, status: str) -> Conversation:
    return conversation_update(tenant_id, actor=actor, conversation_id=conversation_id, status=status)


BULK_OPERATIONS = ("assign", "close", "tag")


def conversations_bulk(tenant_id: int, *, actor, conversation_ids: Sequence, operation: str, assignee_id=None,
                       tags: Sequence[str] = ()) -> int:
    """Assign, close or add tags to many conversations at once (all or nothing). Ids of another
    tenant are a ValidationError on "conversation_ids". Returns how many changed; idempotent."""
    if operation not in BULK_OPERATIONS:
        raise ValidationError({"operation": [_("Unknown bulk action.")]})
    try:
        ids = sorted({int(i) for i in conversation_ids})
    except (TypeError, ValueError):
        raise ValidationError({"conversation_ids": [_("Conversation ids must be whole numbers.")]}) from None
    if not ids or len(ids) > MAX_BULK:
        raise ValidationError({"conversation_ids": [_("Select between 1 and %(n)s conversations.") % {"n": MAX_BULK}]})
    with tenant_context(tenant_id):
        conversations = list(Conversation.objects.select_for_update().filter(tenant_id=tenant_id, pk__in=ids))
        if len(conversations) != len(ids):
            raise ValidationError({"conversation_ids": [_("Unknown conversation.")]})
        if operation == "assign":
            changes = _validated_changes(tenant_id, status=_UNSET, priority=_UNSET, assignee_id=assignee_id,
                                         department_id=_UNSET, tags=_UNSET)
        elif operation == "close":
            changes = {"status": Status.CLOSED}
        else:
            added = _clean_tags(tags)
            if not added:
                raise ValidationError({"tags": [_("Give at least one tag.")]})
        changed = 0
        for conversation in conversations:
            if operation == "tag":
                changes = {"tags": _clean_tags(list(conversation.tags) + added)}
            changed += bool(_apply(tenant_id, conversation, changes, actor=actor))
        return changed


# --- Notes -----------------------------------------------------------------------------------------

MENTION_RE = re.compile(r"(?<![\w.])@([\w][\w.+-]*)")


def member_handles(tenant_id: int) -> dict[str, int]:
    """The @handle of every active member: the local part of their e-mail ("@cm" for
    cm@example.com), and their full name without spaces ("@carlcommunity"), lower case."""
    handles: dict[str, int] = {}
    for user_id, email, full_name in Membership.objects.filter(tenant_id=tenant_id, user__is_active=True) \
            .values_list("user_id", "user__email", "user__full_name"):
        handles.setdefault(email.split("@")[0].lower(), user_id)
        if full_name:
            handles.setdefault(re.sub(r"\s+", "", full_name).lower(), user_id)
    return handles


def note_add(tenant_id: int, *, actor, conversation_id: int, body: str) -> Note:
    """An internal note. Each member named with @handle (see member_handles) gets a notification,
    except the writer. Not idempotent: two posts are two notes."""
    body = (body or "").strip()
    if not body:
        raise ValidationError({"body": [_("Write something.")]})
    with tenant_context(tenant_id):
        conversation = access_conversation(tenant_id, conversation_id)
        handles = member_handles(tenant_id)
        named = [handles[h.rstrip(".").lower()] for h in MENTION_RE.findall(body) if h.rstrip(".").lower() in handles]
        mentioned = list(dict.fromkeys(named))
        note = Note.objects.create(tenant_id=tenant_id, conversation=conversation, body=body,
                                   author_user=actor if getattr(actor, "pk", None) else None,
                                   mentioned_user_ids=mentioned)
        _event(tenant_id, conversation, "note", actor=actor, data={"note": note.pk, "mentioned": mentioned})
        _notify_mentioned(tenant_id, conversation, note, actor, [u for u in mentioned if u != getattr(actor, "pk", None)])
        audit_record(tenant_id, actor=actor, action="conversation.note_added", target=conversation,
                     data={"note": note.pk, "mentioned": mentioned})
        return note


def _notify_mentioned(tenant_id: int, conversation: Conversation, note: Note, actor, user_ids: list[int]) -> None:
    if not user_ids:
        return
    tenant = Tenant.objects.get(pk=tenant_id)
    url = reverse("inbox-conversation", kwargs={"tenant_slug": tenant.slug, "conversation_id": conversation.pk})
    who = actor.get_short_name() if getattr(actor, "pk", None) else "?"
    for m in Membership.objects.filter(tenant_id=tenant_id, user_id__in=user_ids).select_related("user"):
        with translation.override(m.user.language or tenant.default_language):
            title = _("%(who)s mentioned you on conversation #%(number)s") % {"who": who, "number": conversation.number}
        Notification.objects.create(tenant_id=tenant_id, user=m.user, kind="inbox.note_mention", title=title[:200],
                                    body=note.body[:1000], url=url)


# --- Saved views and relevance settings ------------------------------------------------------------


def _clean_filters(filters) -> dict[str, list[str]]:
    if not isinstance(filters, dict):
        raise ValidationError({"filters": [_("Filters must be an object of lists.")]})
    cleaned: dict[str, list[str]] = {}
    for name, values in filters.items():
        values = values if isinstance(values, list) else [values]
        kept = [str(v)[:200] for v in values if str(v).strip()]
        if kept and name not in ("cursor", "after", "view"):
            cleaned[str(name)[:40]] = kept[:50]
    return cleaned


def saved_view_save(tenant_id: int, *, actor, view_id: int | None = None, name: str, filters: dict,
                    is_shared: bool = False) -> SavedView:
    """Create or update one of the actor's saved views (name unique per owner)."""
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": [_("Give the view a name.")]})
    with tenant_context(tenant_id):
        view = access_saved_view(tenant_id, view_id, user_id=actor.pk) if view_id else SavedView(tenant_id=tenant_id,
                                                                                                   user=actor)
        if SavedView.objects.filter(tenant_id=tenant_id, user=actor, name=name).exclude(pk=view.pk).exists():
            raise ValidationError({"name": [_("You already have a view with this name.")]})
        view.name, view.filters, view.is_shared = name[:120], _clean_filters(filters), bool(is_shared)
        try:
            with transaction.atomic():
                view.save()
        except IntegrityError as exc:
            raise ValidationError({"name": [_("You already have a view with this name.")]}) from exc
        audit_record(tenant_id, actor=actor, action="saved_view.created" if view_id is None else "saved_view.updated",
                     target=view, data={"filters": view.filters, "is_shared": view.is_shared})
        return view


def saved_view_delete(tenant_id: int, *, actor, view_id: int) -> None:
    with tenant_context(tenant_id):
        view = access_saved_view(tenant_id, view_id, user_id=actor.pk)
        name = view.name
        view.delete()
        audit_record(tenant_id, actor=actor, action="saved_view.deleted", data={"name": name})


def relevance_save(tenant_id: int, *, actor, rules: dict, author_window_hours: int,
                   community_manager_replies_need_approval: bool | None = None) -> InboxSettings:
    """The tenant's relevance rules (see inbox/relevance.py), author window and whether community
    managers' replies need approval (None: unchanged). Idempotent."""
    if not isinstance(author_window_hours, int) or not 1 <= author_window_hours <= 24 * 14:
        raise ValidationError({"author_window_hours": [_("Between 1 and 336 hours.")]})
    with tenant_context(tenant_id):
        row = _locked_settings(tenant_id)
        row.relevance = relevance.effective_rules(rules)
        row.author_window_hours = author_window_hours
        if community_manager_replies_need_approval is not None:
            row.community_manager_replies_need_approval = bool(community_manager_replies_need_approval)
        row.save(update_fields=["relevance", "author_window_hours", "community_manager_replies_need_approval"])
        audit_record(tenant_id, actor=actor, action="inbox.relevance_updated",
                     data={"rules": row.relevance, "author_window_hours": author_window_hours,
                           "community_manager_replies_need_approval": row.community_manager_replies_need_approval})
        return row


# --- Who is viewing / replying (Redis only: presence is not worth a database row) ----------------

PRESENCE_TTL = 30  # seconds; the conversation page refreshes its entry every 10 s


def presence_touch(tenant_id: int, conversation_id: int, *, user_id: int, replying: bool = False) -> dict[int, str]:
    """Record that the user is on the conversation (and whether they are writing a reply);
    returns the *other* people there now: {user id: "viewing" | "replying"}. A hash per
    conversation, field = user id, value = "<unix time>|<mode>"; stale fields are dropped here and
    the whole key expires when nobody refreshes it. Redis down: nobody is shown."""
    import time

    import redis

    from social_crm.core.redis import client, key

    name, now = key("inbox-presence", tenant_id, conversation_id), time.time()
    try:
        r = client()
        r.hset(name, str(user_id), f"{now}|{'replying' if replying else 'viewing'}")
        r.expire(name, PRESENCE_TTL)
        entries = r.hgetall(name)
    except redis.RedisError:
        return {}
    others, stale = {}, []
    for field, value in entries.items():
        uid, (seen, mode) = int(field), value.decode().split("|", 1)
        if now - float(seen) > PRESENCE_TTL:
            stale.append(field)
        elif uid != user_id:
            others[uid] = mode
    if stale:
        r.hdel(name, *stale)
    return others
