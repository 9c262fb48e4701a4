"""The mention's author, date and language and the conversation's department on inbound messages
(inbox.models.Message, kept by the triggers of inbox migration 0006): whoever writes the message,
moves it, changes its conversation's department or its mention, the copies are those of the
mention and the conversation; outbound messages carry none; a change of anything else rewrites
no message; the other tenant's messages are never touched."""

from __future__ import annotations

import importlib
from datetime import UTC, datetime, timedelta

from django.db import connection

from analytics import selectors
from inbox import replies
from inbox.conversations import attach_mentions, conversation_update
from inbox.models import Conversation, Message
from inbox.tasks import publish_reply
from listening.models import Author, Mention
from social_crm.tenancy import actions as tenancy_actions
from social_crm.tenancy.permissions import Role
from social_crm.tenancy.scope import tenant_context

from .test_inbox_replies import created_tweet, http, user, x_world  # noqa: F401 (the http fixture)
from .world_inbox import make_mention

T0 = datetime(2026, 11, 2, 10, tzinfo=UTC)
LANGUAGE = selectors.LANGUAGE_SQL  # the language the dashboards filter on (alias m)


def test_the_triggers_copy_the_language_the_dashboards_filter_on():
    """The migration spells the expression itself (a migration does not import app code)."""
    migration = importlib.import_module("inbox.migrations.0006_message_facts")
    assert migration.LANGUAGE.format(m="m") == selectors.LANGUAGE_SQL


def _messages(tid) -> dict[int, tuple]:
    """message id -> (direction, author id, created_at, language, department id, xmin), after
    checking every inbound copy against its mention and conversation and that outbound
    messages carry none."""
    out = {}
    with tenant_context(tid), connection.cursor() as cursor:
        cursor.execute(f"""
            SELECT x.id, x.direction, x.mention_author_id, x.mention_created_at, x.mention_language,
                   x.conversation_department_id, x.xmin::text,
                   CASE WHEN x.direction = 'in'
                        THEN (m.author_id, m.created_at, COALESCE({LANGUAGE}, ''), c.department_id)
                        ELSE (NULL::bigint, NULL::timestamptz, ''::text, NULL::bigint) END
                   IS DISTINCT FROM (x.mention_author_id, x.mention_created_at, x.mention_language::text,
                                     x.conversation_department_id)
            FROM inbox_message x
            JOIN inbox_conversation c ON c.tenant_id = x.tenant_id AND c.id = x.conversation_id
            LEFT JOIN listening_mention m ON m.tenant_id = x.tenant_id AND m.id = x.mention_id
            WHERE x.tenant_id = %s""", [tid])
        for message_id, direction, author_id, created_at, language, department_id, xmin, stale in cursor.fetchall():
            assert not stale, (message_id, direction)
            out[message_id] = (direction, author_id, created_at, language, department_id, xmin)
    return out


def _inbound(tw, external_id: str, minutes: int, author: str, **fields) -> Message:
    mention = make_mention(tw, external_id, "Où est mon colis ? Toujours rien reçu", minutes=minutes,
                           author=author, **fields)
    attach_mentions(tw.tenant.pk, [mention.pk])
    with tenant_context(tw.tenant.pk):
        return Message.objects.get(tenant_id=tw.tenant.pk, direction="in", mention=mention)


def test_every_writer_copies_the_facts_and_every_change_of_them_follows(world, http):
    a, b = world.a.tenant.pk, world.b.tenant.pk
    cm = user(world.a, Role.COMMUNITY_MANAGER)
    service, legal = world.a.departments["customer-service"].pk, world.a.departments["legal"].pk
    _inbound(world.b, "b-1", 0, "u-1")
    theirs = _messages(b)
    assert theirs

    # attach_mentions: the ingestion path. Two mentions of u-1 within the window: one conversation.
    first = _inbound(world.a, "f-1", 0, "u-1", language="fr-FR")
    second = _inbound(world.a, "f-2", 5, "u-1", language="en", detected_language="fr")
    other = _inbound(world.a, "f-3", 9, "u-2", language="")
    assert first.conversation_id == second.conversation_id != other.conversation_id
    with tenant_context(a):
        u1, u2 = (Author.objects.get(tenant_id=a, platform_user_id=u) for u in ("u-1", "u-2"))
    mine = _messages(a)
    assert mine[first.pk][:4] == ("in", u1.pk, T0, "fr")
    assert mine[second.pk][:4] == ("in", u1.pk, T0 + timedelta(minutes=5), "fr")
    assert mine[other.pk][:4] == ("in", u2.pk, T0 + timedelta(minutes=9), "")
    routed = mine[first.pk][4]  # the world's routing rules sent it somewhere (checked against it above)

    # A person sends the conversation to another department: exactly its inbound messages follow.
    target = legal if routed == service else service
    conversation_update(a, actor=cm, conversation_id=first.conversation_id, department_id=target)
    after = _messages(a)
    assert after[first.pk][4] == after[second.pk][4] == target != routed
    assert after[other.pk] == mine[other.pk], "the other conversation's message is not rewritten"
    # Changes of the conversation that leave its department alone rewrite no message.
    before = after
    conversation_update(a, actor=cm, conversation_id=first.conversation_id, priority="high", tags=["late"])
    with tenant_context(a):
        Conversation.objects.filter(tenant_id=a, pk=first.conversation_id).update(department_id=target)
    assert _messages(a) == before

    # The brand's reply: an outbound message, queued then published; even given a mention (as
    # linking its polled copy would), it carries none of the copies.
    conversation, _mention = x_world(world.a)
    http.answers.append(created_tweet())
    reply = replies.reply_send(a, actor=cm, conversation_id=conversation.pk, text="Désolés ! Nous regardons.")
    assert publish_reply.apply(args=(a, reply.pk)).get() == "sent"
    with tenant_context(a):
        Message.objects.filter(tenant_id=a, pk=reply.pk).update(mention_id=other.mention_id)
    assert _messages(a)[reply.pk][:5] == ("out", None, None, "", None)

    # The ORM, whatever it is given; a stale instance saved whole; a message moved elsewhere.
    with tenant_context(a):
        forged = Message.objects.create(tenant_id=a, conversation_id=other.conversation_id, direction="in",
                                        mention_id=make_mention(world.a, "f-4", minutes=20, author="u-2").pk,
                                        created_at=T0, mention_author_id=u1.pk, mention_created_at=T0,
                                        mention_language="xx", conversation_department_id=legal)
        stale = Message.objects.get(tenant_id=a, pk=first.pk)
        Mention.objects.filter(tenant_id=a, pk=first.mention_id).update(detected_language="en")
        stale.text = "note"
        stale.save()
        Message.objects.filter(tenant_id=a, pk=second.pk).update(conversation_id=other.conversation_id)
    mine = _messages(a)  # every copy checked against the mention and the conversation
    assert mine[forged.pk][1:4] == (u2.pk, T0 + timedelta(minutes=20), "") and mine[forged.pk][4] != legal
    assert mine[first.pk][3] == "en" and mine[second.pk][4] == mine[other.pk][4]

    # Changes of the mention that leave its facts as they are rewrite no message (same xmin)...
    before = _messages(a)
    with tenant_context(a):
        Mention.objects.filter(tenant_id=a, pk__in=[first.mention_id, other.mention_id]).update(
            sentiment="positive", like_count=4)
        Mention.objects.filter(tenant_id=a, pk=second.mention_id).update(language="EN-gb")  # detected "fr" wins
    assert _messages(a) == before
    # ...changes of its author, date or language rewrite exactly its message.
    with tenant_context(a):
        Mention.objects.filter(tenant_id=a, pk=first.mention_id).update(author_id=u2.pk)
        Mention.objects.filter(tenant_id=a, pk=other.mention_id).update(created_at=T0 + timedelta(days=1),
                                                                         detected_language="fr")
    after = _messages(a)
    assert {k for k in after if after[k] != before[k]} == {first.pk, other.pk}
    assert after[first.pk][1] == u2.pk and after[other.pk][2:4] == (T0 + timedelta(days=1), "fr")

    # A department deleted: its conversations have none, nor have their messages.
    tenancy_actions.department_delete(a, actor=None, department_id=target)
    assert _messages(a)[first.pk][4] is None
    assert _messages(b) == theirs  # tenant B's messages: same copies, same row versions
