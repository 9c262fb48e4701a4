"""The care facts the database keeps per conversation (inbox/migrations/0005_care_facts.py):
``care_answered_at``, ``care_sentiment_before``, ``care_sentiment_after``.

Every write that can change them goes through the real paths (attach_mentions, reply_send +
publish_reply against tweepy's recorded answer, correct_sentiment) or the ORM inside
``tenant_context``; the facts are read back with SQL, as analytics/care.py reads them.
Two tenants: tenant B's conversations keep their own facts whatever tenant A writes.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from django.db import connection

from analytics import care
from inbox import replies
from inbox.conversations import attach_mentions
from inbox.models import Conversation, Message
from inbox.tasks import publish_reply
from listening.nlp.corrections import correct_sentiment
from social_crm.tenancy.permissions import Role
from social_crm.tenancy.scope import tenant_context

from .test_inbox_replies import created_tweet, http, user, x_world  # noqa: F401 (the http fixture)
from .world_inbox import make_mention

T0 = datetime(2026, 11, 2, 10, tzinfo=UTC)


def facts(tid: int, conversation_id: int) -> tuple:
    with tenant_context(tid), connection.cursor() as cur:
        cur.execute("SELECT care_answered_at, care_sentiment_before, care_sentiment_after FROM inbox_conversation"
                    " WHERE tenant_id = %s AND id = %s", [tid, conversation_id])
        return cur.fetchone()


def inbound(tw, external_id: str, minutes: int, sentiment: str, author: str = "u-9") -> Message:
    mention = make_mention(tw, external_id, "Où est mon colis ? Toujours rien reçu", minutes=minutes, author=author, sentiment=sentiment)
    attach_mentions(tw.tenant.pk, [mention.pk])
    with tenant_context(tw.tenant.pk):
        return Message.objects.get(tenant_id=tw.tenant.pk, mention=mention)


def test_a_published_reply_later_inbound_and_a_correction_keep_the_facts_true(world, http):
    tid = world.a.tenant.pk
    conversation, mention = x_world(world.a)  # a negative mention of T0, tenant A
    b_conversation, _b_mention = x_world(world.b)
    assert facts(tid, conversation.pk) == (None, None, None), "not answered yet"
    with tenant_context(tid):
        stale = Conversation.objects.get(tenant_id=tid, pk=conversation.pk)

    http.answers.append(created_tweet())
    message = replies.reply_send(tid, actor=user(world.a, Role.COMMUNITY_MANAGER), conversation_id=conversation.pk,
                                 text="Désolés ! Nous regardons.")
    assert facts(tid, conversation.pk) == (None, None, None), "a queued reply is not an answer"
    assert publish_reply.apply(args=(tid, message.pk)).get() == "sent"
    with tenant_context(tid):
        sent_at = Message.objects.get(tenant_id=tid, pk=message.pk).sent_at
    assert facts(tid, conversation.pk) == (sent_at, "negative", None)

    # Put the answer 30 minutes after the opening (the story's time, not the test's clock): the
    # message's sent_at and the conversation's stamp both move, and the facts follow each.
    answered = T0 + timedelta(minutes=30)
    with tenant_context(tid):
        Message.objects.filter(tenant_id=tid, pk=message.pk).update(sent_at=answered)
        assert facts(tid, conversation.pk)[0] == answered, "the earliest of the stamp and the sent reply"
        Conversation.objects.filter(tenant_id=tid, pk=conversation.pk).update(first_response_at=answered)
    later = inbound(world.a, "after-1", 40, "positive")
    assert later.conversation_id == conversation.pk, "same author within the window: the same conversation"
    assert facts(tid, conversation.pk) == (answered, "negative", "positive")

    # A stale instance saved whole does not know the columns, so it cannot overwrite them.
    with tenant_context(tid):
        stale.tags = ["late"]
        stale.save()
    assert facts(tid, conversation.pk) == (answered, "negative", "positive")

    correct_sentiment(tid, actor=user(world.a, Role.COMMUNITY_MANAGER), mention_id=later.mention_id, label="neutral")
    assert facts(tid, conversation.pk) == (answered, "negative", "neutral"), "a person's label counts"
    with tenant_context(tid):
        type(mention).objects.filter(tenant_id=tid, pk=mention.pk).update(sentiment="positive")  # re-tagged
    assert facts(tid, conversation.pk) == (answered, "positive", "neutral")

    shift = care.care_metrics(tid, start=date(2026, 11, 2), end=date(2026, 11, 2), tz="UTC")["sentiment_shift"]
    assert shift == {"conversations": 1, "before": {"positive": 1, "neutral": 0, "negative": 0},
                     "after": {"positive": 0, "neutral": 1, "negative": 0}}
    assert facts(world.b.tenant.pk, b_conversation.pk) == (None, None, None), "tenant B untouched"


def test_deleting_or_moving_messages_and_clearing_the_stamp_recompute_the_facts(world):
    tid = world.a.tenant.pk
    first = inbound(world.a, "m-1", 0, "negative", author="u-1")
    other = inbound(world.a, "m-2", 0, "neutral", author="u-2")
    assert first.conversation_id != other.conversation_id
    with tenant_context(tid):
        reply = Message.objects.create(tenant_id=tid, conversation_id=first.conversation_id, direction="out",
                                       text="Bonjour", delivery_status="sent", created_at=T0 + timedelta(minutes=5),
                                       sent_at=T0 + timedelta(minutes=6))
        draft = Message.objects.create(tenant_id=tid, conversation_id=other.conversation_id, direction="out",
                                       text="Brouillon", delivery_status="pending_approval",
                                       created_at=T0 + timedelta(minutes=5))
    assert facts(tid, first.conversation_id) == (T0 + timedelta(minutes=6), "negative", None)
    assert facts(tid, other.conversation_id) == (None, None, None)

    # B writes the same kind of rows; A's facts and B's stay apart.
    b_first = inbound(world.b, "m-1", 0, "positive", author="u-1")
    with tenant_context(world.b.tenant.pk):
        Message.objects.create(tenant_id=world.b.tenant.pk, conversation_id=b_first.conversation_id, direction="out",
                               text="Hello", delivery_status="sent", created_at=T0, sent_at=T0 + timedelta(minutes=1))
    assert facts(world.b.tenant.pk, b_first.conversation_id) == (T0 + timedelta(minutes=1), "positive", None)

    with tenant_context(tid):  # the reply moves to the other conversation (a merge would)
        Message.objects.filter(tenant_id=tid, pk=reply.pk).update(conversation_id=other.conversation_id)
    assert facts(tid, first.conversation_id) == (None, None, None), "the old conversation lost its answer"
    assert facts(tid, other.conversation_id) == (T0 + timedelta(minutes=6), "neutral", None)

    with tenant_context(tid):
        Message.objects.filter(tenant_id=tid, pk=draft.pk).update(delivery_status="sent", sent_at=T0 + timedelta(minutes=2))
    assert facts(tid, other.conversation_id) == (T0 + timedelta(minutes=2), "neutral", None), "an approved draft"

    with tenant_context(tid):
        Conversation.objects.filter(tenant_id=tid, pk=other.conversation_id).update(first_response_at=T0 + timedelta(minutes=1))
        assert facts(tid, other.conversation_id)[0] == T0 + timedelta(minutes=1)
        Message.objects.filter(tenant_id=tid, conversation_id=other.conversation_id, direction="out").delete()
        assert facts(tid, other.conversation_id)[0] == T0 + timedelta(minutes=1), "the stamp alone still answers"
        Conversation.objects.filter(tenant_id=tid, pk=other.conversation_id).update(first_response_at=None)
    assert facts(tid, other.conversation_id) == (None, None, None)
    assert facts(world.b.tenant.pk, b_first.conversation_id) == (T0 + timedelta(minutes=1), "positive", None)


def test_the_durations_and_breach_flags_follow_every_write_of_the_conversation(world):
    """The generated columns the care statement reads (inbox migration 0007): seconds from the
    opening to the first answer and to the resolution (NULL without one, 0 for a reply dated
    before the opening), and the SLA breaches recorded; recomputed by PostgreSQL on every write,
    whoever writes (the care facts' trigger, the ORM's save(), a bulk update)."""
    tid = world.a.tenant.pk

    def columns(pk):
        with tenant_context(tid), connection.cursor() as cur:
            cur.execute("SELECT care_fr_seconds, care_res_seconds, care_fr_breached, care_res_breached "
                        "FROM inbox_conversation WHERE tenant_id = %s AND id = %s", [tid, pk])
            return cur.fetchone()

    with tenant_context(tid):
        c = Conversation.objects.create(tenant_id=tid, number=900, platform="x", thread_key="t:900",
                                        first_message_at=T0, last_message_at=T0)
    assert columns(c.pk) == (None, None, False, False)
    with tenant_context(tid):
        Conversation.objects.filter(tenant_id=tid, pk=c.pk).update(first_response_at=T0 + timedelta(minutes=90))
    assert columns(c.pk) == (5400.0, None, False, False), "the care facts' trigger sets the answer"
    with tenant_context(tid):
        c = Conversation.objects.get(tenant_id=tid, pk=c.pk)
        c.status, c.resolved_at, c.sla_breaches = "resolved", T0 + timedelta(hours=5, seconds=0.25), ["resolution"]
        c.save()
    assert columns(c.pk) == (5400.0, 18000.25, False, True)
    with tenant_context(tid):
        Conversation.objects.filter(tenant_id=tid, pk=c.pk).update(
            first_response_at=T0 - timedelta(minutes=3), sla_breaches=["first_response", "resolution"])
    assert columns(c.pk) == (0.0, 18000.25, True, True), "a reply dated before the opening counts as 0"
    with tenant_context(tid):
        Conversation.objects.filter(tenant_id=tid, pk=c.pk).update(status="open", resolved_at=None, sla_breaches=[])
    assert columns(c.pk) == (0.0, None, False, False)
