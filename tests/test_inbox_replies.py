"""Replies from the inbox (inbox/replies.py, inbox.tasks.publish_reply, the connectors' publish_reply).

The platforms are stubbed at the HTTP transport with recorded answers (tweepy's create-tweet
cassette, Mastodon.py's status-reply cassette, atproto's XRPC shapes), so tweepy, Mastodon.py and
atproto really build and send each request. PostgreSQL, the domain actions and the Celery task
(run in process with ``apply``) are the real ones.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import requests
import yaml
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from inbox import replies
from inbox.models import CannedAnswer, Conversation, ConversationEvent, Message
from inbox.tasks import publish_reply
from listening import actions as listening_actions
from listening.connectors.base import AccountConfig, OutcomeUnknown, ReplyTarget
from listening.connectors.bluesky import BlueskyConnector
from listening.connectors.facebook.connector import FacebookConnector
from social_crm.tenancy.models import Notification
from social_crm.tenancy.permissions import Role
from social_crm.tenancy.scope import tenant_context

from .conftest import login
from .test_connector_bluesky import xrpc  # noqa: F401 (the XRPC transport stub fixture)
from .test_connector_x import FIXTURES as X_FIXTURES
from .test_connector_x import RecordedX, answer, cassette
from .world_inbox import make_mention

MASTODON = X_FIXTURES.parent / "mastodon"
USER_KEYS = {"consumer_key": "ck", "consumer_secret": "cs", "access_token": "at", "access_token_secret": "ats"}


@pytest.fixture
def http(monkeypatch):
    """Every requests call in the process answered by one queue of recorded responses."""
    transport = RecordedX()
    monkeypatch.setattr(requests.adapters.HTTPAdapter, "send",
                        lambda self, request, **kwargs: transport.send(request, **kwargs))
    return transport


def created_tweet():
    """tweepy's recorded POST /2/tweets answer (201, gzip body with the new id 1456012973835788293)."""
    return cassette("test_client_create_and_delete_tweet.yaml", 0)


def x_world(tw, *, text="@acme mon colis est en retard, commande n° 778899", author="u-9"):
    """An X channel with user keys and a conversation from one of its mentions."""
    tid = tw.tenant.pk
    account = listening_actions.account_save(tid, actor=None, platform="x", name="Acme replies", external_id="555",
                                             handle="acme_care", credentials={"bearer_token": "b", **USER_KEYS})
    mention = make_mention(tw, "1460323737035677698", text, author=author, account_id=account.pk)
    from inbox.conversations import attach_mentions

    attach_mentions(tid, [mention.pk])
    with tenant_context(tid):
        message = Message.objects.get(tenant_id=tid, mention=mention)
        return Conversation.objects.get(tenant_id=tid, pk=message.conversation_id), mention


def user(tw, role):
    return tw.members[role].user


def reload(tid, model, pk):
    with tenant_context(tid):
        return model.objects.get(tenant_id=tid, pk=pk)


# --- publishing -------------------------------------------------------------------------------------


def test_a_community_managers_reply_is_published_as_an_x_reply_and_counts_as_first_response(world, http,
                                                                                           django_capture_on_commit_callbacks):
    tid = world.a.tenant.pk
    conversation, mention = x_world(world.a)
    http.answers.append(created_tweet())
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        message = replies.reply_send(tid, actor=user(world.a, Role.COMMUNITY_MANAGER), conversation_id=conversation.pk,
                                     text="Désolés ! Nous regardons la commande 778899.")
    assert message.delivery_status == "queued" and callbacks, "queued, and the task is sent after commit"
    assert publish_reply.apply(args=(tid, message.pk)).get() == "sent"

    sent = http.sent[-1]
    assert (sent.method, sent.url) == ("POST", "https://api.twitter.com/2/tweets")
    assert json.loads(sent.body) == {"text": "Désolés ! Nous regardons la commande 778899.",
                                     "reply": {"in_reply_to_tweet_id": mention.external_id}}
    assert sent.headers["Authorization"].startswith("OAuth "), "X takes replies in user context only"
    message = reload(tid, Message, message.pk)
    assert (message.delivery_status, message.external_id, message.attempts) == ("sent", "1456012973835788293", 1)
    conversation = reload(tid, Conversation, conversation.pk)
    assert conversation.first_response_at == message.sent_at and conversation.status == "open"
    with tenant_context(tid):
        kinds = list(ConversationEvent.objects.filter(tenant_id=tid, conversation=conversation)
                     .values_list("kind", flat=True))
    assert "reply_queued" in kinds and "reply_sent" in kinds
    # A second delivery of the same task publishes nothing more.
    assert publish_reply.apply(args=(tid, message.pk)).get() == "skipped"
    assert len(http.sent) == 1


def test_the_first_response_time_is_the_first_reply_only(world, http):
    tid = world.a.tenant.pk
    conversation, _mention = x_world(world.a)
    cm = user(world.a, Role.COMMUNITY_MANAGER)
    http.answers += [created_tweet(), created_tweet()]
    first = replies.reply_send(tid, actor=cm, conversation_id=conversation.pk, text="Premier")
    publish_reply.apply(args=(tid, first.pk)).get()
    first_at = reload(tid, Conversation, conversation.pk).first_response_at
    second = replies.reply_send(tid, actor=cm, conversation_id=conversation.pk, text="Second")
    publish_reply.apply(args=(tid, second.pk)).get()
    assert reload(tid, Conversation, conversation.pk).first_response_at == first_at
    assert reload(tid, Message, second.pk).delivery_status == "sent"


def test_a_refused_reply_is_failed_with_its_error_and_a_retry_publishes_it(world, http):
    tid = world.a.tenant.pk
    conversation, _mention = x_world(world.a)
    cm = user(world.a, Role.COMMUNITY_MANAGER)
    refused = {"detail": "You attempted to reply to a Tweet that is deleted or not visible to you.",
               "type": "about:blank", "title": "Forbidden", "status": 403}
    http.answers += [answer(refused, 403), created_tweet()]
    message = replies.reply_send(tid, actor=cm, conversation_id=conversation.pk, text="Bonjour")
    assert publish_reply.apply(args=(tid, message.pk)).get() == "failed"
    failed = reload(tid, Message, message.pk)
    assert failed.delivery_status == "failed" and "deleted or not visible" in failed.error

    # The failure is on the conversation page, with a Retry button for those who may publish.
    client = world_client(world, "cm@example.com")
    page = client.get(f"/t/acme/inbox/c/{conversation.pk}/").content.decode()
    assert 'data-testid="reply-error"' in page and "deleted or not visible" in page and "reply-retry" in page

    response = client.post(f"/t/acme/inbox/replies/{message.pk}/retry/")
    assert response.status_code == 302
    assert publish_reply.apply(args=(tid, message.pk)).get() == "sent"
    assert reload(tid, Message, message.pk).attempts == 2


def world_client(world, email):
    from django.test import Client

    client = Client()
    login(client, email)
    return client


def test_a_transient_error_is_retried_then_published(world, http):
    tid = world.a.tenant.pk
    conversation, _mention = x_world(world.a)
    http.answers += [answer({"title": "Service Unavailable"}, 503), created_tweet()]
    message = replies.reply_send(tid, actor=user(world.a, Role.ADMIN), conversation_id=conversation.pk, text="Hello")
    publish_reply.apply(args=(tid, message.pk))  # eager: the retry runs at once
    message = reload(tid, Message, message.pk)
    assert (message.delivery_status, message.attempts) == ("sent", 2)
    assert len(http.sent) == 2


def test_a_read_timeout_is_never_resent_blindly(world, http):
    tid = world.a.tenant.pk
    conversation, _mention = x_world(world.a)
    http.answers.append(requests.ReadTimeout("read timed out"))
    message = replies.reply_send(tid, actor=user(world.a, Role.ADMIN), conversation_id=conversation.pk, text="Hello")
    assert publish_reply.apply(args=(tid, message.pk)).get() == "failed"
    message = reload(tid, Message, message.pk)
    assert message.delivery_status == "failed" and "may be published" in message.error
    assert len(http.sent) == 1


def test_a_claim_left_by_a_killed_worker_is_not_published_again(world):
    tid = world.a.tenant.pk
    conversation, _mention = x_world(world.a)
    message = replies.reply_send(tid, actor=user(world.a, Role.ADMIN), conversation_id=conversation.pk, text="Hello")
    job = replies.claim_for_publication(tid, message.pk)
    assert job is not None and job.target.external_id == "1460323737035677698"
    assert replies.claim_for_publication(tid, message.pk) is None, "claimed: a second worker does nothing"
    with tenant_context(tid):
        Message.objects.filter(pk=message.pk).update(claimed_at=timezone.now() - replies.CLAIM_LEASE - timedelta(1))
    assert replies.claim_for_publication(tid, message.pk) is None
    message = reload(tid, Message, message.pk)
    assert message.delivery_status == "failed" and "outcome is unknown" in message.error


def test_no_channel_that_can_publish_fails_with_a_clear_message(world, http):
    tid = world.a.tenant.pk
    with tenant_context(tid):
        conversation = world.a.conversation
    message = replies.reply_send(tid, actor=user(world.a, Role.ADMIN), conversation_id=conversation.pk, text="Hi")
    assert publish_reply.apply(args=(tid, message.pk)).get() == "failed"
    # The world's X channel has only a bearer token: X refuses replies without user keys.
    assert "user access keys" in reload(tid, Message, message.pk).error
    assert http.sent == []


# --- approval -----------------------------------------------------------------------------------------


def test_a_marketers_reply_waits_for_the_department_head_who_approves_it(world, http):
    tid = world.a.tenant.pk
    conversation, _mention = x_world(world.a)
    with tenant_context(tid):
        Conversation.objects.filter(pk=conversation.pk).update(department=world.a.departments["customer-service"])
    marketer, head = user(world.a, Role.MARKETER), user(world.a, Role.DEPARTMENT_HEAD)
    mail.outbox.clear()
    message = replies.reply_send(tid, actor=marketer, conversation_id=conversation.pk, text="Merci pour votre retour")
    assert message.delivery_status == "pending_approval"
    with tenant_context(tid):
        notes = list(Notification.objects.filter(tenant_id=tid, kind="inbox.reply_approval"))
    assert [n.user for n in notes] == [head], "the head of the conversation's department is asked"
    assert list(replies.pending_approvals(tid, head)) == [message]
    assert list(replies.pending_approvals(world.b.tenant.pk, head)) == []
    assert publish_reply.apply(args=(tid, message.pk)).get() == "skipped", "not before approval"

    with pytest.raises(PermissionDenied):
        replies.reply_approve(tid, actor=marketer, message_id=message.pk)
    replies.reply_approve(tid, actor=head, message_id=message.pk, text="Merci pour votre retour, nous regardons.")
    http.answers.append(created_tweet())
    assert publish_reply.apply(args=(tid, message.pk)).get() == "sent"
    message = reload(tid, Message, message.pk)
    assert (message.approved_by, message.text) == (head, "Merci pour votre retour, nous regardons.")
    assert json.loads(http.sent[-1].body)["text"] == "Merci pour votre retour, nous regardons."


def test_a_rejected_reply_stays_with_its_reason_and_its_author_is_told(world):
    tid = world.a.tenant.pk
    conversation, _mention = x_world(world.a)
    marketer, admin = user(world.a, Role.MARKETER), user(world.a, Role.ADMIN)
    message = replies.reply_send(tid, actor=marketer, conversation_id=conversation.pk, text="LOL")
    with pytest.raises(ValidationError):
        replies.reply_reject(tid, actor=admin, message_id=message.pk, reason=" ")
    replies.reply_reject(tid, actor=admin, message_id=message.pk, reason="Pas le ton de la marque")
    message = reload(tid, Message, message.pk)
    assert (message.delivery_status, message.error) == ("rejected", "Pas le ton de la marque")
    with tenant_context(tid):
        told = Notification.objects.get(tenant_id=tid, kind="inbox.reply_rejected")
    assert told.user == marketer and told.body == "Pas le ton de la marque"
    with pytest.raises(ValidationError):
        replies.reply_approve(tid, actor=admin, message_id=message.pk)


def test_the_tenant_can_ask_approval_for_community_managers(world):
    from inbox.conversations import relevance_save

    tid = world.a.tenant.pk
    conversation, _mention = x_world(world.a)
    cm = user(world.a, Role.COMMUNITY_MANAGER)
    assert replies.may_publish(tid, cm)
    relevance_save(tid, actor=None, rules={}, author_window_hours=24, community_manager_replies_need_approval=True)
    assert not replies.may_publish(tid, cm) and replies.may_publish(tid, user(world.a, Role.DEPARTMENT_HEAD))
    message = replies.reply_send(tid, actor=cm, conversation_id=conversation.pk, text="Bonjour")
    assert message.delivery_status == "pending_approval"
    assert replies.may_publish(world.b.tenant.pk, cm), "the other tenant's setting is its own"


# --- validation and canned answers ----------------------------------------------------------------


def test_a_reply_is_refused_empty_too_long_or_with_an_unfilled_variable(world):
    tid = world.a.tenant.pk
    conversation, _mention = x_world(world.a)
    cm = user(world.a, Role.COMMUNITY_MANAGER)
    for text, expected in (("  ", "Write a reply"), ("x" * 281, "at most 280"),
                           ("Bonjour {first_name}, commande {order_number}", "{order_number}")):
        with pytest.raises(ValidationError) as error:
            replies.reply_send(tid, actor=cm, conversation_id=conversation.pk, text=text)
        assert expected in " ".join(error.value.message_dict["text"])
    with tenant_context(tid):
        assert not Message.objects.filter(tenant_id=tid, direction="out", conversation=conversation).exists()


def test_canned_answers_fill_variables_in_the_conversations_language(world):
    tid = world.a.tenant.pk
    conversation, _mention = x_world(world.a)
    with tenant_context(tid):
        from listening.models import Author, Mention

        Mention.objects.filter(tenant_id=tid, external_id="1460323737035677698").update(detected_language="fr")
        Author.objects.filter(tenant_id=tid, platform_user_id="u-9").update(name="Jeanne Martin")
        conversation = Conversation.objects.select_related("author").get(pk=conversation.pk)
    cm = user(world.a, Role.COMMUNITY_MANAGER)
    choice = next(c for c in replies.canned_for(tid, conversation, cm) if c.answer == world.a.canned_answer)
    assert choice.language == "fr"
    assert choice.text == "Bonjour Jeanne, désolés pour le retard de la commande 778899."
    assert choice.missing == []
    english = CannedAnswer(tenant_id=tid, name="x", body_en="Hi {first_name} ({handle}), {agent_name} here")
    assert replies.canned_render(english, "fr", {"first_name": "Jo"}) == ("Hi Jo ({handle}), {agent_name} here", "en")


def test_canned_answers_are_managed_by_their_role_with_clear_errors(world):
    tid = world.a.tenant.pk
    cm, marketer = user(world.a, Role.COMMUNITY_MANAGER), user(world.a, Role.MARKETER)
    with pytest.raises(PermissionDenied):
        replies.canned_save(tid, actor=marketer, name="Nope", body_en="x")
    with pytest.raises(ValidationError) as error:
        replies.canned_save(tid, actor=cm, name="Delivery delay", body_en="Hello {firstname}")
    assert set(error.value.message_dict) == {"name", "body_en"}
    answer = replies.canned_save(tid, actor=cm, name="Thanks", body_en="Thanks {first_name}!", body_fr="Merci !")
    assert replies.canned_save(world.b.tenant.pk, actor=cm, name="Thanks", body_fr="Merci").pk != answer.pk


# --- pages ----------------------------------------------------------------------------------------------


def test_the_reply_box_offers_the_canned_answers_and_sends(world, http, django_capture_on_commit_callbacks):
    tid = world.a.tenant.pk
    conversation, _mention = x_world(world.a)
    client = world_client(world, "cm@example.com")
    page = client.get(f"/t/acme/inbox/c/{conversation.pk}/").content.decode()
    assert 'data-testid="canned-select"' in page and "Delivery delay" in page
    response = client.post(f"/t/acme/inbox/c/{conversation.pk}/reply/", {"text": "Bonjour {order_number}"})
    assert response.status_code == 400 and "Fill in {order_number}" in response.content.decode()
    http.answers.append(created_tweet())
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/t/acme/inbox/c/{conversation.pk}/reply/",
                               {"text": "Nous regardons.", "canned_answer": world.a.canned_answer.pk, "language": "fr"})
    assert response.status_code == 302
    with tenant_context(tid):
        message = Message.objects.get(tenant_id=tid, conversation=conversation, direction="out")
    assert message.canned_answer_id == world.a.canned_answer.pk and message.language == "fr"


def test_the_approvals_page_lists_what_waits_and_approves(world, django_capture_on_commit_callbacks):
    tid = world.a.tenant.pk
    conversation, _mention = x_world(world.a)
    message = replies.reply_send(tid, actor=user(world.a, Role.MARKETER), conversation_id=conversation.pk,
                                 text="Proposition de réponse")
    client = world_client(world, "admin@example.com")
    page = client.get("/t/acme/inbox/approvals/").content.decode()
    assert "Proposition de réponse" in page
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(f"/t/acme/inbox/replies/{message.pk}/approve/", {"next": "approvals"})
    assert response.status_code == 302 and response["Location"].endswith("/inbox/approvals/")
    assert reload(tid, Message, message.pk).delivery_status == "queued"


def test_the_api_sends_and_approves_replies(world, client):
    tid = world.a.tenant.pk
    conversation, _mention = x_world(world.a)
    login(client, "marketer@example.com")
    response = client.post("/api/v1/t/acme/replies/", {"conversation": conversation.pk, "text": ""},
                           content_type="application/json")
    assert response.status_code == 400 and "text" in response.json()
    response = client.post("/api/v1/t/acme/replies/", {"conversation": conversation.pk, "text": "Bonjour"},
                           content_type="application/json")
    assert response.status_code == 201 and response.json()["delivery_status"] == "pending_approval"
    reply_id = response.json()["id"]
    listed = client.get("/api/v1/t/acme/replies/?status=pending_approval").json()["results"]
    assert [r["id"] for r in listed] == [reply_id]
    assert client.get("/api/v1/t/acme/replies/?status=nope").status_code == 400
    assert client.post(f"/api/v1/t/acme/replies/{reply_id}/approve/").status_code == 403
    login(client, "admin@example.com")
    response = client.post(f"/api/v1/t/acme/replies/{reply_id}/approve/", {}, content_type="application/json")
    assert response.status_code == 200 and response.json()["delivery_status"] == "queued"
    rendered = client.get(f"/api/v1/t/acme/canned-answers/{world.a.canned_answer.pk}/render/"
                          f"?conversation={conversation.pk}").json()
    assert "778899" in rendered["text"] and rendered["missing"] == []
    assert reload(tid, Message, reply_id).approved_by == user(world.a, Role.ADMIN)


# --- the other connectors' publish_reply -----------------------------------------------------------


def test_facebook_replies_to_a_comment_and_a_reply_to_a_reply_goes_on_its_parent(http):
    facebook = FacebookConnector(AccountConfig(platform="facebook", external_id="PAGE",
                                               credentials={"page_access_token": "page-token"}))
    http.answers += [answer({"id": "POST_1_COMMENT_9"}), answer({"id": "POST_1_COMMENT_10"})]
    top = ReplyTarget(platform="facebook", external_id="POST_1_COMMENT_7", parent_external_id="POST_1",
                      conversation_external_id="POST_1")
    nested = ReplyTarget(platform="facebook", external_id="POST_1_COMMENT_8", parent_external_id="POST_1_COMMENT_7",
                         conversation_external_id="POST_1")
    assert facebook.publish_reply(top, "Merci !", idempotency_key="k").external_id == "POST_1_COMMENT_9"
    facebook.publish_reply(nested, "Merci !", idempotency_key="k")
    first, second = http.sent
    assert first.method == "POST" and first.url.endswith("/POST_1_COMMENT_7/comments")
    assert second.url.endswith("/POST_1_COMMENT_7/comments"), "Graph nests one level: the parent comment"
    assert "message=Merci+%21" in first.body and "access_token=page-token" in first.body


def test_facebook_read_timeout_on_a_write_is_outcome_unknown(http):
    facebook = FacebookConnector(AccountConfig(platform="facebook", external_id="PAGE",
                                               credentials={"page_access_token": "page-token"}))
    http.answers.append(requests.ReadTimeout("slow"))
    with pytest.raises(OutcomeUnknown):
        facebook.publish_reply(ReplyTarget(platform="facebook", external_id="POST_1"), "Hi", idempotency_key="k")


def test_mastodon_replies_on_our_instance_naming_the_author(http):
    from listening.connectors.mastodon import MastodonConnector

    recording = yaml.safe_load((MASTODON / "test_status_reply.yaml").read_text())["interactions"]
    original = json.loads(recording[0]["response"]["body"]["string"])
    reply = recording[2]["response"]
    http.answers.append((200, [("Content-Type", "application/json")], reply["body"]["string"].encode()))
    mastodon = MastodonConnector(AccountConfig(platform="mastodon", base_url="http://localhost:3000",
                                               credentials={"access_token": "tok"}))
    target = ReplyTarget(platform="mastodon", external_id=original["uri"], raw={
        **original, "account": {**original["account"], "acct": "mastodonpy_test_2"}})
    published = mastodon.publish_reply(target, "same!", idempotency_key="t1-m2")
    sent = http.sent[-1]
    assert (sent.method, sent.url) == ("POST", "http://localhost:3000/api/v1/statuses")
    assert f"in_reply_to_id={original['id']}" in sent.body and "status=%40mastodonpy_test_2+same%21" in sent.body
    assert sent.headers["Idempotency-Key"] == "t1-m2"
    assert published.external_id == "117020583258292382"


def test_bluesky_reply_names_its_parent_and_the_threads_root(xrpc):  # noqa: F811
    xrpc.on("com.atproto.repo.createRecord", {"uri": "at://did:plc:me/app.bsky.feed.post/3kreply", "cid": "bafyreply"})
    bluesky = BlueskyConnector(AccountConfig(platform="bluesky", handle="test.marshal.dev",
                                             credentials={"handle": "test.marshal.dev", "app_password": "a-b-c-d"}))
    root = {"uri": "at://did:plc:x/app.bsky.feed.post/root", "cid": "bafyroot"}
    target = ReplyTarget(platform="bluesky", external_id="at://did:plc:y/app.bsky.feed.post/parent", raw={
        "uri": "at://did:plc:y/app.bsky.feed.post/parent", "cid": "bafyparent",
        "record": {"text": "colis ?", "reply": {"root": root, "parent": root}}})
    published = bluesky.publish_reply(target, "On regarde !", idempotency_key="k")
    record = json.loads(xrpc.made("com.atproto.repo.createRecord")[0].content)["record"]
    assert record["text"] == "On regarde !"
    ref = lambda r: {k: r[k] for k in ("uri", "cid")}  # noqa: E731
    assert ref(record["reply"]["parent"]) == {"uri": "at://did:plc:y/app.bsky.feed.post/parent", "cid": "bafyparent"}
    assert ref(record["reply"]["root"]) == root
    assert published.url == "https://bsky.app/profile/test.marshal.dev/post/3kreply"
