"""Routing rules against mentions: each condition and action, order, stop/continue, the dry run,
idempotence, negatives held for review, and the signed, retried webhook."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from itertools import count

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from inbox import routing, routing_rules
from inbox.models import Alert, Conversation, ConversationEvent, Message, RoutingRule
from listening.models import Author, Mention, MentionMatch, MentionTopic
from social_crm.tenancy.models import AuditEvent, Notification
from social_crm.tenancy.permissions import Role
from social_crm.tenancy.scope import tenant_context

from .conftest import login

_ids = count(1)


def make_conversation(tw, text="Mon colis est en retard", *, sentiment="negative", confidence=0.9,
                      needs_review=False, source="model", platform="x", language="fr", followers=10, verified=False):
    """A conversation with one inbound mention (as inbox/conversations.py would build it)."""
    n = next(_ids)
    tid = tw.tenant.pk
    with tenant_context(tid):
        author = Author.objects.create(tenant_id=tid, platform=platform, platform_user_id=f"au-{n}", handle=f"user{n}",
                                       followers=followers, verified=verified)
        mention = Mention.objects.create(
            tenant_id=tid, platform=platform, external_id=f"rt-{n}", author=author, text=text,
            created_at=timezone.now() - timedelta(minutes=5), detected_language=language, sentiment=sentiment,
            sentiment_confidence=confidence, needs_review=needs_review, sentiment_source=source)
        conversation = Conversation.objects.create(
            tenant_id=tid, number=1000 + n, platform=platform, thread_key=f"thread:rt-{n}", author=author,
            preview=text[:300], message_count=1, first_message_at=mention.created_at,
            last_message_at=mention.created_at, last_inbound_at=mention.created_at)
        Message.objects.create(tenant_id=tid, conversation=conversation, direction="in", mention=mention,
                               created_at=mention.created_at)
    return conversation, mention


def add_message(tw, conversation, text, **fields):
    n = next(_ids)
    tid = tw.tenant.pk
    with tenant_context(tid):
        mention = Mention.objects.create(tenant_id=tid, platform=conversation.platform, external_id=f"rt-{n}",
                                         author_id=conversation.author_id, text=text, created_at=timezone.now(),
                                         sentiment=fields.get("sentiment", "negative"), sentiment_confidence=0.9,
                                         sentiment_source="model")
        Message.objects.create(tenant_id=tid, conversation=conversation, direction="in", mention=mention,
                               created_at=mention.created_at)
    return mention


def make_rule(tw, name, conditions, actions, *, position=None, stop=True, active=True):
    with tenant_context(tw.tenant.pk):
        RoutingRule.objects.filter(tenant_id=tw.tenant.pk, name="Complaints to customer service").update(
            is_active=False)  # the world's rule stays out of the way
    rule = routing_rules.rule_save(tw.tenant.pk, actor=None, name=name, conditions=conditions, actions=actions,
                                   stop_processing=stop, is_active=active)
    if position is not None:
        with tenant_context(tw.tenant.pk):
            RoutingRule.objects.filter(pk=rule.pk).update(position=position)
    return rule


def events(tw, conversation, kind="routed"):
    with tenant_context(tw.tenant.pk):
        return list(ConversationEvent.objects.filter(tenant_id=tw.tenant.pk, conversation=conversation, kind=kind)
                    .order_by("id"))


def reload(tw, obj):
    with tenant_context(tw.tenant.pk):
        return type(obj).objects.get(pk=obj.pk)


TAG = [{"type": "tags", "value": ["hit"]}]


# --- Conditions ----------------------------------------------------------------------------------

CONDITION_CASES = [
    ({"field": "sentiment", "op": "in", "value": ["negative"]}, {"sentiment": "negative"}, {"sentiment": "positive"}),
    ({"field": "confidence", "op": "below", "value": 0.6}, {"confidence": 0.5, "sentiment": "neutral"},
     {"confidence": 0.7, "sentiment": "neutral"}),
    ({"field": "confidence", "op": "above", "value": 0.8}, {"confidence": 0.9}, {"confidence": None}),
    ({"field": "needs_review", "op": "is", "value": True}, {"needs_review": True, "sentiment": "neutral"},
     {"needs_review": False}),
    ({"field": "keywords", "op": "matches", "value": '(remboursement OR rembours*) -"merci"'},
     {"text": "Je veux un remboursement"}, {"text": "Remboursement reçu, merci"}),
    ({"field": "language", "op": "in", "value": ["en"]}, {"language": "en"}, {"language": "fr"}),
    ({"field": "platform", "op": "in", "value": ["facebook"]}, {"platform": "facebook"}, {"platform": "x"}),
    ({"field": "author_followers", "op": "gte", "value": 5000}, {"followers": 5000}, {"followers": 4999}),
    ({"field": "author_verified", "op": "is", "value": True}, {"verified": True}, {"verified": False}),
]


@pytest.mark.parametrize(("condition", "matching", "other"), CONDITION_CASES,
                         ids=[f"{c['field']}-{c['op']}" for c, _m, _o in CONDITION_CASES])
def test_each_condition_routes_the_matching_conversation_only(world, condition, matching, other):
    make_rule(world.a, "Rule", [condition], TAG)
    hit, _m1 = make_conversation(world.a, **matching)
    miss, _m2 = make_conversation(world.a, **other)
    assert routing.route(world.a.tenant.pk, [hit.pk, miss.pk]) == 1
    assert reload(world.a, hit).tags == ["hit"] and len(events(world.a, hit)) == 1
    assert reload(world.a, miss).tags == [] and events(world.a, miss) == []


def test_topic_and_matched_query_conditions_use_the_mentions_links(world):
    tw, tid = world.a, world.a.tenant.pk
    make_rule(tw, "Delivery topic", [{"field": "topic", "op": "in", "value": [tw.topic.pk]}],
              [{"type": "tags", "value": ["topic"]}], stop=False)
    make_rule(tw, "Brand query", [{"field": "matched_query", "op": "in", "value": [tw.query.pk]}],
              [{"type": "tags", "value": ["query"]}], stop=False)
    both, mention = make_conversation(tw)
    neither, _m = make_conversation(tw)
    with tenant_context(tid):
        MentionTopic.objects.create(tenant_id=tid, mention=mention, topic=tw.topic, source="rule", score=1.0)
        MentionMatch.objects.create(tenant_id=tid, mention=mention, query=tw.query)
    routing.route(tid, [both.pk, neither.pk])
    assert reload(tw, both).tags == ["topic", "query"]
    assert reload(tw, neither).tags == []


@pytest.mark.parametrize("condition", [{"field": "customer_vip", "op": "is", "value": False},
                                       {"field": "customer_tier", "op": "in", "value": ["gold"]}])
def test_customer_conditions_never_match_without_a_linked_customer(world, condition):
    make_rule(world.a, "Customers", [condition], TAG)
    conversation, _m = make_conversation(world.a)
    assert routing.route(world.a.tenant.pk, [conversation.pk]) == 0
    assert events(world.a, conversation) == []


def test_customer_conditions_read_the_linked_customer_and_follow_a_merge(world):
    from social_crm.customers.models import Customer, SocialIdentity

    tw, tid = world.a, world.a.tenant.pk
    make_rule(tw, "VIP", [{"field": "customer_vip", "op": "is", "value": True}], TAG)
    vip_conversation, vip_mention = make_conversation(tw)
    merged_conversation, merged_mention = make_conversation(tw)
    with tenant_context(tid):
        vip = Customer.objects.create(tenant_id=tid, name="Vera Vip", tier="vip")
        old = Customer.objects.create(tenant_id=tid, name="Old record", tier="standard", merged_into=vip)
        for mention, customer in ((vip_mention, vip), (merged_mention, old)):
            SocialIdentity.objects.create(tenant_id=tid, platform="x", platform_user_id=f"id-{mention.pk}",
                                          author_id=mention.author_id, customer=customer)
    assert routing.route(tid, [vip_conversation.pk, merged_conversation.pk]) == 2
    assert reload(tw, vip_conversation).tags == reload(tw, merged_conversation).tags != []


def test_all_conditions_of_a_rule_must_hold(world):
    make_rule(world.a, "Both", [{"field": "sentiment", "op": "in", "value": ["negative"]},
                                {"field": "platform", "op": "in", "value": ["facebook"]}], TAG)
    negative_on_x, _m = make_conversation(world.a, platform="x")
    negative_on_facebook, _m = make_conversation(world.a, platform="facebook")
    routing.route(world.a.tenant.pk, [negative_on_x.pk, negative_on_facebook.pk])
    assert reload(world.a, negative_on_x).tags == []
    assert reload(world.a, negative_on_facebook).tags == ["hit"]


# --- Actions -------------------------------------------------------------------------------------


def test_route_action_sends_to_the_department_opens_an_alert_and_notifies_its_heads(
        world, django_capture_on_commit_callbacks):
    tw, tid = world.a, world.a.tenant.pk
    department = tw.departments["customer-service"]
    rule = make_rule(tw, "Complaints", [{"field": "sentiment", "op": "in", "value": ["negative"]}],
                     [{"type": "route", "department": department.pk}])
    conversation, _m = make_conversation(tw)
    with django_capture_on_commit_callbacks(execute=True):
        routing.route(tid, [conversation.pk])
    assert reload(tw, conversation).department_id == department.pk
    with tenant_context(tid):
        alert = Alert.objects.get(tenant_id=tid, conversation=conversation)
        head = tw.members[Role.DEPARTMENT_HEAD].user
        assert Notification.objects.filter(tenant_id=tid, user=head, kind="alert.opened").count() == 1
    assert (alert.department_id, alert.rule_id, alert.status) == (department.pk, rule.pk, "open")
    assert [m.to for m in mail.outbox] == [[head.email]]
    (event,) = events(tw, conversation)
    assert event.rule_id == rule.pk and event.data["actions"][0]["alert"] == alert.pk


def test_priority_assign_and_tag_actions_change_the_conversation(world):
    tw, tid = world.a, world.a.tenant.pk
    cm = tw.members[Role.COMMUNITY_MANAGER]
    make_rule(tw, "Triage", [{"field": "sentiment", "op": "in", "value": ["negative"]}],
              [{"type": "priority", "value": "urgent"}, {"type": "assign", "member": cm.pk},
               {"type": "tags", "value": ["complaint", "delivery"]}])
    conversation, _m = make_conversation(tw)
    assert routing.route(tid, [conversation.pk]) == 3
    conversation = reload(tw, conversation)
    assert (conversation.priority, conversation.assignee_id, conversation.tags) == (
        "urgent", cm.user_id, ["complaint", "delivery"])


def test_notify_action_creates_in_app_notifications_and_emails_when_asked(world, django_capture_on_commit_callbacks):
    tw, tid = world.a, world.a.tenant.pk
    cm, marketer = tw.members[Role.COMMUNITY_MANAGER], tw.members[Role.MARKETER]
    make_rule(tw, "Tell them", [{"field": "sentiment", "op": "in", "value": ["negative"]}],
              [{"type": "notify", "members": [cm.pk, marketer.pk], "email": True}])
    conversation, _m = make_conversation(tw)
    with django_capture_on_commit_callbacks(execute=True):
        routing.route(tid, [conversation.pk])
    with tenant_context(tid):
        notified = set(Notification.objects.filter(tenant_id=tid, kind="routing.notify").values_list("user_id", flat=True))
    assert notified == {cm.user_id, marketer.user_id}
    assert sorted(m.to[0] for m in mail.outbox) == sorted([cm.user.email, marketer.user.email])


def test_webhook_action_is_queued_after_the_commit(world, django_capture_on_commit_callbacks):
    tw = world.a
    make_rule(tw, "Hook", [{"field": "sentiment", "op": "in", "value": ["negative"]}],
              [{"type": "webhook", "url": "https://hooks.example.com/in", "secret": "s" * 20}])
    conversation, _m = make_conversation(tw)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        routing.route(tw.tenant.pk, [conversation.pk])
    assert len(callbacks) == 1  # the delivery task, sent only once the decision is committed
    (event,) = events(tw, conversation)
    assert event.data["actions"] == [{"type": "webhook", "url": "https://hooks.example.com/in"}]


# --- Order, stop and continue --------------------------------------------------------------------


def test_rules_run_by_position_and_a_stopping_rule_ends_the_evaluation(world):
    tw = world.a
    negative = [{"field": "sentiment", "op": "in", "value": ["negative"]}]
    second = make_rule(tw, "Second", negative, [{"type": "tags", "value": ["second"]}], position=20)
    first = make_rule(tw, "First", negative, [{"type": "tags", "value": ["first"]}], position=10, stop=True)
    conversation, _m = make_conversation(tw)
    routing.route(tw.tenant.pk, [conversation.pk])
    assert reload(tw, conversation).tags == ["first"]
    assert [e.rule_id for e in events(tw, conversation)] == [first.pk]
    assert second.pk not in [e.rule_id for e in events(tw, conversation)]


def test_a_continuing_rule_lets_the_next_rules_apply_too(world):
    tw = world.a
    negative = [{"field": "sentiment", "op": "in", "value": ["negative"]}]
    first = make_rule(tw, "First", negative, [{"type": "priority", "value": "high"}], position=1, stop=False)
    second = make_rule(tw, "Second", negative, [{"type": "priority", "value": "urgent"}], position=2, stop=True)
    third = make_rule(tw, "Third", negative, [{"type": "priority", "value": "low"}], position=3)
    conversation, _m = make_conversation(tw)
    routing.route(tw.tenant.pk, [conversation.pk])
    assert reload(tw, conversation).priority == "urgent"  # the later rule's action wins; the third never ran
    assert [e.rule_id for e in events(tw, conversation)] == [first.pk, second.pk]
    assert third.pk


def test_reordering_changes_which_rule_wins(world):
    tw, tid = world.a, world.a.tenant.pk
    negative = [{"field": "sentiment", "op": "in", "value": ["negative"]}]
    a = make_rule(tw, "A", negative, [{"type": "tags", "value": ["a"]}])
    b = make_rule(tw, "B", negative, [{"type": "tags", "value": ["b"]}])
    with tenant_context(tid):
        others = list(RoutingRule.objects.filter(tenant_id=tid).exclude(pk__in=[a.pk, b.pk]).values_list("pk", flat=True))
    routing_rules.rules_reorder(tid, actor=None, rule_ids=[b.pk, a.pk, *others])
    conversation, _m = make_conversation(tw)
    routing.route(tid, [conversation.pk])
    assert reload(tw, conversation).tags == ["b"]
    with pytest.raises(ValidationError) as exc:
        routing_rules.rules_reorder(tid, actor=None, rule_ids=[a.pk, world.b.routing_rule.pk])
    assert "rule_ids" in exc.value.message_dict


def test_inactive_rules_are_skipped(world):
    make_rule(world.a, "Paused", [{"field": "sentiment", "op": "in", "value": ["negative"]}], TAG, active=False)
    conversation, _m = make_conversation(world.a)
    assert routing.route(world.a.tenant.pk, [conversation.pk]) == 0


# --- Idempotence and new messages ---------------------------------------------------------------


def test_routing_the_same_message_twice_changes_nothing(world):
    tw, tid = world.a, world.a.tenant.pk
    department = tw.departments["legal"]
    make_rule(tw, "Legal", [{"field": "sentiment", "op": "in", "value": ["negative"]}],
              [{"type": "route", "department": department.pk}, {"type": "tags", "value": ["x"]}])
    conversation, _m = make_conversation(tw)
    assert routing.route(tid, [conversation.pk]) == 2
    assert routing.route(tid, [conversation.pk]) == 0
    assert len(events(tw, conversation)) == 1
    # A new message is judged again, but the open alert of that department is not doubled.
    add_message(tw, conversation, "Toujours rien reçu")
    assert routing.route(tid, [conversation.pk]) == 2
    assert len(events(tw, conversation)) == 2
    with tenant_context(tid):
        assert Alert.objects.filter(tenant_id=tid, conversation=conversation, department=department).count() == 1


# --- Held for review ----------------------------------------------------------------------------


def test_an_uncertain_negative_is_held_for_review_not_routed(world):
    tw, tid = world.a, world.a.tenant.pk
    rule = make_rule(tw, "Complaints", [{"field": "sentiment", "op": "in", "value": ["negative"]}],
                     [{"type": "route", "department": tw.departments["legal"].pk}])
    fallback = make_rule(tw, "Everything else", [{"field": "platform", "op": "in", "value": ["x"]}],
                         [{"type": "route", "department": tw.departments["customer-service"].pk}], position=99)
    conversation, mention = make_conversation(tw, confidence=0.4, needs_review=True)
    with tenant_context(tid):
        Mention.objects.filter(pk=mention.pk).update(review_reasons=["low_confidence"])
    assert routing.route(tid, [conversation.pk]) == 0
    (held,) = events(tw, conversation, "held_for_review")
    assert held.rule_id == rule.pk and held.data["review_reasons"] == ["low_confidence"]
    assert events(tw, conversation) == []  # the stopping rule held it: the fallback did not route it either
    with tenant_context(tid):
        assert not Alert.objects.filter(tenant_id=tid, conversation=conversation).exists()
    routing.route(tid, [conversation.pk])
    assert len(events(tw, conversation, "held_for_review")) == 1  # recorded once
    # A person confirms the negative: the next routing applies the rule.
    with tenant_context(tid):
        Mention.objects.filter(pk=mention.pk).update(sentiment_source="human")
    assert routing.route(tid, [conversation.pk]) == 1
    assert [e.rule_id for e in events(tw, conversation)] == [rule.pk]
    assert fallback.pk


def test_a_rule_without_a_sentiment_condition_is_not_held(world):
    make_rule(world.a, "Facebook", [{"field": "platform", "op": "in", "value": ["x"]}], TAG)
    conversation, _m = make_conversation(world.a, needs_review=True)
    assert routing.route(world.a.tenant.pk, [conversation.pk]) == 1


# --- Validation ----------------------------------------------------------------------------------


def test_another_tenants_ids_and_bad_expressions_are_field_errors(world):
    tid = world.a.tenant.pk
    with pytest.raises(ValidationError) as exc:
        routing.clean_rule(tid, conditions=[{"field": "topic", "op": "in", "value": [world.b.topic.pk]},
                                            {"field": "keywords", "op": "matches", "value": "(colis"}],
                           actions=[{"type": "route", "department": world.b.departments["legal"].pk},
                                    {"type": "webhook", "url": "ftp://x", "secret": "short"}])
    errors = exc.value.message_dict
    assert len(errors["conditions"]) == 2 and "Unknown" in errors["conditions"][0]
    assert len(errors["actions"]) == 2 and "Unknown" in errors["actions"][0]
    with pytest.raises(ValidationError) as exc:
        routing.clean_rule(tid, conditions=[], actions=[])
    assert set(exc.value.message_dict) == {"conditions", "actions"}


# --- Dry run -------------------------------------------------------------------------------------


def _table_counts(tid):
    with tenant_context(tid):
        return (ConversationEvent.objects.count(), Alert.objects.count(), Notification.objects.count(),
                AuditEvent.objects.count(), list(Conversation.objects.order_by("id").values_list("tags", "priority")))


def test_the_dry_run_shows_matches_and_actions_and_writes_nothing(world):
    tw, tid = world.a, world.a.tenant.pk
    _c, angry = make_conversation(tw, "Colis perdu, scandale")
    _c, happy = make_conversation(tw, "Colis reçu, parfait", sentiment="positive")
    _c, unsure = make_conversation(tw, "Génial, encore en retard", needs_review=True, confidence=0.4)
    before = _table_counts(tid)
    hits, scanned = routing.dry_run(tid, {
        "conditions": [{"field": "sentiment", "op": "in", "value": ["negative"]}],
        "actions": [{"type": "route", "department": tw.departments["legal"].pk}, {"type": "priority", "value": "high"}],
    }, last_n=200)
    assert _table_counts(tid) == before
    by_mention = {h.mention.pk: h for h in hits}
    assert angry.pk in by_mention and happy.pk not in by_mention
    assert by_mention[angry.pk].actions == ["Send to Legal (alert)", "Set priority High"]
    assert by_mention[unsure.pk].held and by_mention[unsure.pk].actions == []
    assert scanned >= 3


def test_the_rule_form_dry_run_answers_htmx_with_the_results_panel(client, world):
    tw = world.a
    make_conversation(tw, "Remboursement refusé, honteux")
    login(client, "admin@example.com")
    url = reverse("routing-rule-new", kwargs={"tenant_slug": "acme"})
    before = _table_counts(tw.tenant.pk)
    response = client.post(url, {"dry_run": "1", "stop": "stop", "keywords": "remboursement", "priority": "high",
                                 "last_n": "50"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    body = response.content.decode()
    assert 'data-testid="dry-run-results"' in body and "<html" not in body
    assert "Remboursement refusé" in body and "Set priority High" in body
    assert _table_counts(tw.tenant.pk) == before
    with tenant_context(tw.tenant.pk):
        assert not RoutingRule.objects.filter(tenant_id=tw.tenant.pk, name="").exists()


def test_the_rule_pages_save_and_list_rules_in_plain_words(client, world):
    tw = world.a
    login(client, "admin@example.com")
    response = client.post(reverse("routing-rule-new", kwargs={"tenant_slug": "acme"}), {
        "name": "Big accounts", "is_active": "on", "stop": "continue", "min_followers": "10000",
        "department": tw.departments["legal"].pk})
    assert response.status_code == 302
    page = client.get(reverse("routing-rules", kwargs={"tenant_slug": "acme"})).content.decode()
    assert "Big accounts" in page and "author has at least 10000 followers" in page
    assert "Then continue: the rules below are checked too." in page
    with tenant_context(tw.tenant.pk):
        rule = RoutingRule.objects.get(tenant_id=tw.tenant.pk, name="Big accounts")
    assert rule.stop_processing is False
    assert rule.conditions == [{"field": "author_followers", "op": "gte", "value": 10000}]
    # Moving it up puts it first.
    client.post(reverse("routing-rule-move", kwargs={"tenant_slug": "acme", "rule_id": rule.pk}), {"direction": "up"})
    with tenant_context(tw.tenant.pk):
        assert RoutingRule.objects.filter(tenant_id=tw.tenant.pk).order_by("position").first().pk == rule.pk


def _queries(client, url) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_the_rule_list_reads_names_once_not_per_rule(client, world):
    login(client, "admin@example.com")
    url = reverse("routing-rules", kwargs={"tenant_slug": "acme"})
    one = _queries(client, url)
    for n in range(5):
        make_rule(world.a, f"Rule {n}", [{"field": "topic", "op": "in", "value": [world.a.topic.pk]}],
                  [{"type": "route", "department": world.a.departments["legal"].pk}])
    assert _queries(client, url) == one


def test_the_api_dry_run_and_validation(client, world):
    login(client, "admin@example.com")
    make_conversation(world.a, "Facture fausse")
    url = reverse("api-routing-rules-dry-run", kwargs={"tenant_slug": "acme"})
    body = {"conditions": [{"field": "keywords", "op": "matches", "value": "facture"}],
            "actions": [{"type": "tags", "value": ["billing"]}], "last_n": 50}
    response = client.post(url, json.dumps(body), content_type="application/json")
    assert response.status_code == 200
    data = response.json()
    assert [h["mention"]["text"] for h in data["matched"]] == ["Facture fausse"]
    assert data["matched"][0]["actions"] == ["Add tags billing"]
    bad = client.post(url, json.dumps({**body, "conditions": [{"field": "mood", "op": "in", "value": []}]}),
                      content_type="application/json")
    assert bad.status_code == 400 and "conditions" in bad.json()


# --- Webhook delivery ----------------------------------------------------------------------------


class _Receiver(BaseHTTPRequestHandler):
    statuses: list[int] = []
    received: list[tuple[dict, bytes]] = []

    def do_POST(self):  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append((dict(self.headers), body))
        status = type(self).statuses.pop(0) if type(self).statuses else 200
        self.send_response(status)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def receiver():
    _Receiver.statuses, _Receiver.received = [], []
    server = HTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server, _Receiver
    server.shutdown()
    server.server_close()


SECRET = "a-shared-secret-of-the-receiver"


def _hooked_conversation(world, port):
    tw = world.a
    rule = make_rule(tw, "Hook", [{"field": "sentiment", "op": "in", "value": ["negative"]}],
                     [{"type": "tags", "value": ["hooked"]},
                      {"type": "webhook", "url": f"http://127.0.0.1:{port}/hook", "secret": SECRET}])
    conversation, _m = make_conversation(tw)
    routing.route(tw.tenant.pk, [conversation.pk])
    (event,) = events(tw, conversation)
    return rule, conversation, event


def test_the_webhook_is_signed_and_retried_until_it_gets_through(world, receiver):
    from inbox.tasks import deliver_routing_webhook

    server, handler = receiver
    handler.statuses = [503, 503, 200]
    rule, conversation, event = _hooked_conversation(world, server.server_port)
    result = deliver_routing_webhook.apply(args=(world.a.tenant.pk, event.pk, 1))
    assert result.get() == "sent"
    assert len(handler.received) == 3
    for headers, body in handler.received:
        expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        assert hmac.compare_digest(headers["X-Signature-256"], expected)
        assert headers["X-Delivery-Id"] == f"{event.pk}-1"
    payload = json.loads(handler.received[-1][1])
    assert payload["rule"] == {"id": rule.pk, "name": "Hook"}
    assert payload["conversation"]["number"] == conversation.number and payload["conversation"]["tags"] == ["hooked"]
    (sent,) = events(world.a, conversation, "webhook_sent")
    assert sent.data["attempts"] == 3


def test_a_failing_webhook_is_recorded_and_the_decision_stays(world, receiver):
    from inbox.tasks import WEBHOOK_MAX_RETRIES, deliver_routing_webhook

    server, handler = receiver
    handler.statuses = [500] * (WEBHOOK_MAX_RETRIES + 1)
    _rule, conversation, event = _hooked_conversation(world, server.server_port)
    assert deliver_routing_webhook.apply(args=(world.a.tenant.pk, event.pk, 1)).get() == "failed"
    assert len(handler.received) == WEBHOOK_MAX_RETRIES + 1
    (failed,) = events(world.a, conversation, "webhook_failed")
    assert failed.data["error"] == "HTTP 500"
    assert events(world.a, conversation) == [event] and reload(world.a, conversation).tags == ["hooked"]


def test_a_refused_webhook_is_not_retried(world, receiver):
    from inbox.tasks import deliver_routing_webhook

    server, handler = receiver
    handler.statuses = [410]
    _rule, conversation, event = _hooked_conversation(world, server.server_port)
    assert deliver_routing_webhook.apply(args=(world.a.tenant.pk, event.pk, 1)).get() == "failed"
    assert len(handler.received) == 1
    assert events(world.a, conversation, "webhook_failed")[0].data["error"] == "HTTP 410"


def test_a_persons_correction_routes_the_negative_that_was_held(world, django_capture_on_commit_callbacks):
    from listening.nlp.corrections import correct_sentiment

    tw, tid = world.a, world.a.tenant.pk
    rule = make_rule(tw, "Complaints", [{"field": "sentiment", "op": "in", "value": ["negative"]}],
                     [{"type": "route", "department": tw.departments["legal"].pk}])
    conversation, mention = make_conversation(tw, confidence=0.4, needs_review=True)
    routing.route(tid, [conversation.pk])
    assert [e.rule_id for e in events(tw, conversation, "held_for_review")] == [rule.pk]
    with django_capture_on_commit_callbacks(execute=True):
        correct_sentiment(tid, actor=tw.members[Role.COMMUNITY_MANAGER].user, mention_id=mention.pk, label="negative")
    with tenant_context(tid):
        assert Alert.objects.filter(tenant_id=tid, conversation=conversation, department=tw.departments["legal"]).exists()
