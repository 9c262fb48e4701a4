"""Mentions into conversations (grouping, relevance, numbering, reopening, idempotence) and the
triage actions (assign, status, department, tags, bulk, notes with @mentions, saved views,
presence), on the real database and Redis of the two-tenant world."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.http import Http404

from inbox import conversations as actions
from inbox.models import Conversation, ConversationEvent, InboxSettings, Message, Note, SavedView
from inbox.tasks import inbox_attach
from social_crm.tenancy.models import AuditEvent, Notification
from social_crm.tenancy.permissions import Role
from social_crm.tenancy.scope import tenant_context

from .world_inbox import make_mention


def conversation(tid: int, pk: int) -> Conversation:
    with tenant_context(tid):
        return Conversation.objects.get(tenant_id=tid, pk=pk)


def user(tw, role):
    return tw.members[role].user


# --- Grouping ------------------------------------------------------------------------------------


def test_replies_in_a_platform_thread_join_the_conversation_whatever_the_relevance_rules(world):
    a = world.a.tenant.pk
    root = make_mention(world.a, "t-1", "Acme, ma commande n'arrive pas", conversation_external_id="t-1")
    reply = make_mention(world.a, "t-2", "Pareil pour moi", minutes=5, author="u-8", sentiment="neutral",
                         matched=False, conversation_external_id="t-1", parent_external_id="t-1")
    (first,) = actions.attach_mentions(a, [root.pk])
    assert actions.attach_mentions(a, [reply.pk]) == [first]
    c = conversation(a, first)
    assert c.thread_key == "thread:t-1" and c.message_count == 2 and c.preview == "Pareil pour moi"
    assert c.sentiment == "neutral" and c.last_inbound_at == reply.created_at


def test_a_reply_without_a_thread_id_joins_the_conversation_of_its_parent(world):
    a = world.a.tenant.pk
    root = make_mention(world.a, "p-1", "Service client injoignable")
    reply = make_mention(world.a, "p-2", "+1", minutes=90, author="u-9", sentiment="neutral", matched=False,
                         parent_external_id="p-1")
    (first,) = actions.attach_mentions(a, [root.pk])
    assert actions.attach_mentions(a, [reply.pk]) == [first]


def test_an_authors_posts_group_within_the_window_and_open_a_new_conversation_after_it(world):
    a = world.a.tenant.pk
    one = make_mention(world.a, "w-1", minutes=0)
    two = make_mention(world.a, "w-2", minutes=120)
    late = make_mention(world.a, "w-3", minutes=120 + 25 * 60)  # 25 h after the last one; the window is 24 h
    touched = actions.attach_mentions(a, [one.pk, two.pk, late.pk])
    assert len(touched) == 2
    first, second = (conversation(a, pk) for pk in touched)
    assert first.message_count == 2 and second.message_count == 1
    assert first.thread_key.startswith(f"author:{one.author_id}:") and first.thread_key != second.thread_key


def test_the_authors_window_only_joins_open_conversations(world):
    a = world.a.tenant.pk
    (first,) = actions.attach_mentions(a, [make_mention(world.a, "o-1").pk])
    actions.conversation_set_status(a, actor=None, conversation_id=first, status="resolved")
    (second,) = actions.attach_mentions(a, [make_mention(world.a, "o-2", minutes=10).pk])
    assert second != first


def test_own_posts_and_plain_reposts_never_become_conversations(world):
    a = world.a.tenant.pk
    actions.relevance_save(a, actor=None, rules={"all_matches": True}, author_window_hours=24)
    own = make_mention(world.a, "own-1", "Nos horaires de Noël", is_own=True)
    repost = make_mention(world.a, "rt-1", "", is_repost=True)
    thread_root = make_mention(world.a, "thr-1", conversation_external_id="thr-1")
    (c,) = actions.attach_mentions(a, [thread_root.pk])
    in_thread = make_mention(world.a, "own-2", "Nous regardons", is_own=True, conversation_external_id="thr-1")
    assert actions.attach_mentions(a, [own.pk, repost.pk, in_thread.pk]) == []
    with tenant_context(a):
        assert not Message.objects.filter(tenant_id=a, mention_id__in=[own.pk, repost.pk, in_thread.pk]).exists()


# --- Relevance -----------------------------------------------------------------------------------


def test_default_relevance_opens_negative_questions_and_flagged_hits_and_skips_the_rest(world):
    a = world.a.tenant.pk
    cases = {
        "neutral brand hit": (make_mention(world.a, "r-1", "Acme livre vite", sentiment="neutral", author="r1"), False),
        "negative brand hit": (make_mention(world.a, "r-2", "Acme encore en retard", author="r2"), True),
        "question": (make_mention(world.a, "r-3", "Acme livre le dimanche ?", sentiment="neutral", author="r3"), True),
        "needs review": (make_mention(world.a, "r-4", "Super, encore", sentiment="positive", needs_review=True,
                                      author="r4"), True),
        "names our account": (make_mention(world.a, "r-5", "Bonjour @acme", sentiment="neutral", matched=False,
                                           author="r5"), True),
        "unmatched negative": (make_mention(world.a, "r-6", "Quelle journée", matched=False, author="r6"), False),
    }
    for name, (mention, expected) in cases.items():
        assert bool(actions.attach_mentions(a, [mention.pk])) is expected, name


def test_a_reply_to_one_of_our_posts_opens_a_conversation(world):
    a = world.a.tenant.pk
    make_mention(world.a, "ours-1", "Nouvelle collection", is_own=True, sentiment="positive", author="brand")
    reply = make_mention(world.a, "ours-2", "Jolie", sentiment="positive", matched=False, parent_external_id="ours-1")
    assert actions.attach_mentions(a, [reply.pk])


def test_the_tenants_rules_decide_and_the_other_tenant_keeps_the_defaults(world):
    a, b = world.a.tenant.pk, world.b.tenant.pk
    actions.relevance_save(a, actor=user(world.a, Role.ADMIN), rules={"brand_negative": False, "all_matches": False},
                           author_window_hours=24)
    assert actions.attach_mentions(a, [make_mention(world.a, "n-1").pk]) == []
    assert actions.attach_mentions(b, [make_mention(world.b, "n-1").pk])  # same id, B's rules: negative opens
    actions.relevance_save(a, actor=None, rules={"all_matches": True}, author_window_hours=24)
    assert actions.attach_mentions(a, [make_mention(world.a, "n-2", sentiment="positive").pk])
    with tenant_context(a):
        assert AuditEvent.objects.filter(tenant_id=a, action="inbox.relevance_updated").count() == 2


def test_the_author_window_must_be_sensible(world):
    with pytest.raises(ValidationError) as exc:
        actions.relevance_save(world.a.tenant.pk, actor=None, rules={}, author_window_hours=0)
    assert "author_window_hours" in exc.value.message_dict


# --- Numbers, reopening, idempotence ----------------------------------------------------------------


def test_numbers_are_per_tenant_and_follow_on_without_gaps(world):
    a, b = world.a.tenant.pk, world.b.tenant.pk
    numbers = {}
    for tw in (world.a, world.b):
        ids = [make_mention(tw, f"num-{i}", author=f"num{i}").pk for i in range(3)]
        touched = actions.attach_mentions(tw.tenant.pk, ids)
        numbers[tw.tenant.pk] = [conversation(tw.tenant.pk, pk).number for pk in touched]
    assert numbers[a] == numbers[b] == [2, 3, 4]  # the world's conversation is #1 in both
    with tenant_context(a):
        assert InboxSettings.objects.get(tenant_id=a).next_number == 5


def test_the_first_conversation_of_a_tenant_creates_its_counter(world):
    a = world.a.tenant.pk
    with tenant_context(a):
        InboxSettings.objects.filter(tenant_id=a).delete()
        Conversation.objects.filter(tenant_id=a).delete()
    (pk,) = actions.attach_mentions(a, [make_mention(world.a, "first").pk])
    assert conversation(a, pk).number == 1


def test_a_new_message_reopens_a_closed_conversation_with_an_event(world):
    a = world.a.tenant.pk
    (pk,) = actions.attach_mentions(a, [make_mention(world.a, "c-1", conversation_external_id="c-1").pk])
    actions.conversation_set_status(a, actor=user(world.a, Role.COMMUNITY_MANAGER), conversation_id=pk, status="closed")
    assert conversation(a, pk).resolved_at is not None
    follow_up = make_mention(world.a, "c-2", "Toujours rien", minutes=60, conversation_external_id="c-1")
    assert actions.attach_mentions(a, [follow_up.pk]) == [pk]
    c = conversation(a, pk)
    assert c.status == "open" and c.resolved_at is None and c.message_count == 2
    with tenant_context(a):
        event = ConversationEvent.objects.get(tenant_id=a, conversation_id=pk, kind="reopened")
    assert event.data == {"from": "closed", "mention": follow_up.pk}


def test_attaching_the_same_mentions_twice_changes_nothing(world):
    a = world.a.tenant.pk
    ids = [make_mention(world.a, "i-1").pk, make_mention(world.a, "i-2", minutes=3).pk]
    first = actions.attach_mentions(a, ids)
    with tenant_context(a):
        before = (Conversation.objects.filter(tenant_id=a).count(), Message.objects.filter(tenant_id=a).count(),
                  ConversationEvent.objects.filter(tenant_id=a).count())
    assert inbox_attach.run(a, ids) == []  # the Celery task, run in-process
    with tenant_context(a):
        after = (Conversation.objects.filter(tenant_id=a).count(), Message.objects.filter(tenant_id=a).count(),
                 ConversationEvent.objects.filter(tenant_id=a).count())
    assert len(first) == 1 and before == after
    assert conversation(a, first[0]).message_count == 2


def test_the_task_attaches_new_mentions_and_ignores_another_tenants_ids(world):
    a, b = world.a.tenant.pk, world.b.tenant.pk
    theirs = make_mention(world.b, "task-1")
    ours = make_mention(world.a, "task-1")
    touched = inbox_attach.run(a, [ours.pk, theirs.pk])
    assert len(touched) == 1
    with tenant_context(b):
        assert not Message.objects.filter(tenant_id=b, mention_id=theirs.pk).exists()


# --- Triage ------------------------------------------------------------------------------------------


def test_assigning_to_someone_who_is_not_a_member_is_a_field_error(world):
    a, c = world.a.tenant.pk, world.a.conversation
    outsider = user(world.b, Role.ADMIN)  # admin-b@ is a member of B only
    with pytest.raises(ValidationError) as exc:
        actions.conversation_assign(a, actor=None, conversation_id=c.pk, assignee_id=outsider.pk)
    assert "assignee" in exc.value.message_dict
    assert conversation(a, c.pk).assignee_id is None


def test_triage_changes_write_events_and_audit_rows_and_repeat_as_no_ops(world):
    a, c = world.a.tenant.pk, world.a.conversation
    cm = user(world.a, Role.COMMUNITY_MANAGER)
    legal = world.a.departments["legal"]
    actions.conversation_update(a, actor=cm, conversation_id=c.pk, assignee_id=cm.pk, status="pending",
                                priority="high", department_id=legal.pk, tags=["#Livraison", "livraison", " vip "])
    again = actions.conversation_update(a, actor=cm, conversation_id=c.pk, assignee_id=cm.pk, status="pending")
    assert (again.assignee_id, again.status, again.priority, again.department_id, again.tags) == (
        cm.pk, "pending", "high", legal.pk, ["Livraison", "vip"])
    with tenant_context(a):
        kinds = sorted(ConversationEvent.objects.filter(tenant_id=a, conversation=c, actor=cm).values_list("kind", flat=True))
        audits = AuditEvent.objects.filter(tenant_id=a, action="conversation.updated", target_id=str(c.pk)).count()
    assert kinds == ["assigned", "department", "priority", "status", "tags"] and audits == 1
    resolved = actions.conversation_set_status(a, actor=cm, conversation_id=c.pk, status="resolved")
    assert resolved.resolved_at is not None


def test_another_tenants_department_and_conversation_are_refused(world):
    a = world.a.tenant.pk
    with pytest.raises(ValidationError) as exc:
        actions.conversation_update(a, actor=None, conversation_id=world.a.conversation.pk,
                                    department_id=world.b.departments["legal"].pk)
    assert "department" in exc.value.message_dict
    with pytest.raises(Http404):
        actions.conversation_update(a, actor=None, conversation_id=world.b.conversation.pk, status="closed")
    assert conversation(world.b.tenant.pk, world.b.conversation.pk).status == "new"


def test_bulk_assign_close_and_tag_all_or_nothing(world):
    a = world.a.tenant.pk
    cm = user(world.a, Role.COMMUNITY_MANAGER)
    ids = actions.attach_mentions(a, [make_mention(world.a, f"b-{i}", author=f"b{i}").pk for i in range(2)])
    ids.append(world.a.conversation.pk)
    assert actions.conversations_bulk(a, actor=cm, conversation_ids=ids, operation="assign", assignee_id=cm.pk) == 3
    assert actions.conversations_bulk(a, actor=cm, conversation_ids=ids, operation="tag", tags=["promo"]) == 3
    assert actions.conversations_bulk(a, actor=cm, conversation_ids=ids, operation="tag", tags=["promo"]) == 0
    with pytest.raises(ValidationError) as exc:
        actions.conversations_bulk(a, actor=cm, conversation_ids=ids + [world.b.conversation.pk], operation="close")
    assert "conversation_ids" in exc.value.message_dict
    assert {conversation(a, pk).status for pk in ids} == {"new"}  # nothing closed
    assert actions.conversations_bulk(a, actor=cm, conversation_ids=ids, operation="close") == 3
    assert {(c.status, c.assignee_id, tuple(c.tags)) for c in (conversation(a, pk) for pk in ids)} == {
        ("closed", cm.pk, ("promo",))}


def test_a_note_notifies_the_members_it_names_but_not_its_writer(world):
    a, c = world.a.tenant.pk, world.a.conversation
    cm, head = user(world.a, Role.COMMUNITY_MANAGER), user(world.a, Role.DEPARTMENT_HEAD)
    outsider = user(world.b, Role.ADMIN)
    note = actions.note_add(a, actor=cm, conversation_id=c.pk,
                            body="@head tu peux regarder ? cc @cm @admin-b @HanaHead.")
    assert note.mentioned_user_ids == [head.pk, cm.pk]  # @admin-b is not a member of A
    with tenant_context(a):
        notes = list(Notification.objects.filter(tenant_id=a, kind="inbox.note_mention"))
        assert ConversationEvent.objects.filter(tenant_id=a, conversation=c, kind="note").exists()
    assert [n.user_id for n in notes] == [head.pk]
    assert f"#{c.number}" in notes[0].title and notes[0].url.endswith(f"/inbox/c/{c.pk}/")
    with tenant_context(world.b.tenant.pk):
        assert not Notification.objects.filter(user=outsider, kind="inbox.note_mention").exists()
    with pytest.raises(ValidationError):
        actions.note_add(a, actor=cm, conversation_id=c.pk, body="   ")


def test_saved_views_belong_to_their_owner(world):
    a = world.a.tenant.pk
    cm, admin = user(world.a, Role.COMMUNITY_MANAGER), user(world.a, Role.ADMIN)
    view = actions.saved_view_save(a, actor=admin, name="Urgent", filters={"priority": ["urgent"], "cursor": ["x"]},
                                   is_shared=True)
    assert view.filters == {"priority": ["urgent"]}
    with pytest.raises(ValidationError):
        actions.saved_view_save(a, actor=admin, name="Urgent", filters={})
    with pytest.raises(Http404):  # cm sees the shared view but cannot change it
        actions.saved_view_save(a, actor=cm, view_id=view.pk, name="Mine now", filters={})
    with pytest.raises(Http404):
        actions.saved_view_delete(a, actor=cm, view_id=view.pk)
    actions.saved_view_delete(a, actor=admin, view_id=view.pk)
    with tenant_context(a):
        assert not SavedView.objects.filter(pk=view.pk).exists()


def test_presence_shows_the_others_and_whether_they_reply(world):
    a, c = world.a.tenant.pk, world.a.conversation
    cm, head = user(world.a, Role.COMMUNITY_MANAGER), user(world.a, Role.DEPARTMENT_HEAD)
    from social_crm.core.redis import client, key

    client().delete(key("inbox-presence", a, c.pk))
    assert actions.presence_touch(a, c.pk, user_id=cm.pk) == {}
    assert actions.presence_touch(a, c.pk, user_id=head.pk, replying=True) == {cm.pk: "viewing"}
    assert actions.presence_touch(a, c.pk, user_id=cm.pk) == {head.pk: "replying"}
    assert actions.presence_touch(world.b.tenant.pk, c.pk, user_id=cm.pk) == {}  # keys are per tenant
    assert 0 < client().ttl(key("inbox-presence", a, c.pk)) <= actions.PRESENCE_TTL
    with tenant_context(a):
        assert Note.objects.filter(tenant_id=a).count() == 1  # presence writes nothing to the database
