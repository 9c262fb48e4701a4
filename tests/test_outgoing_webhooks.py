"""Outgoing webhooks (social_crm/webhooks): emit, signed delivery to a real local receiver,
retries, idempotency by event id, replay, disabling, the SSRF guard, and the emit hooks of
ingestion, routing and alerts. The worker test at the end runs the real pipeline (a Celery
worker on the webhooks queue)."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest
from django.core import mail
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.utils import timezone

from social_crm.tenancy.models import Notification
from social_crm.tenancy.permissions import Role
from social_crm.tenancy.scope import tenant_context
from social_crm.webhooks import actions, events
from social_crm.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint, WebhookEvent
from social_crm.webhooks.tasks import deliver_webhook

from .webhook_receiver import start_receiver, verify_signature


@pytest.fixture
def receiver():
    r = start_receiver()
    yield r
    r.server.shutdown()
    r.server.server_close()


@pytest.fixture(autouse=True)
def _fresh_subscription_cache():
    events._subscriptions.clear()
    yield
    events._subscriptions.clear()


def subscribe(tw, url, types=("conversation.routed",), on_commit=None):
    endpoint, secret = actions.endpoint_create(tw.tenant.pk, actor=tw.members[Role.ADMIN].user, url=url,
                                               events=list(types))
    return endpoint, secret


def deliveries(tw, **filters):
    with tenant_context(tw.tenant.pk):
        return list(WebhookDelivery.objects.filter(tenant_id=tw.tenant.pk, **filters).select_related("event")
                    .order_by("id"))


def emit_one(tw, event="conversation.routed", data=None):
    with tenant_context(tw.tenant.pk):
        events.emit(tw.tenant.pk, event, data or {"conversation": {"id": 1, "number": 7}})


def make_due(tw, delivery):
    with tenant_context(tw.tenant.pk):
        WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())


def reload(tw, obj):
    with tenant_context(tw.tenant.pk):
        return type(obj).objects.get(pk=obj.pk)


# --- Signing, from the receiver's side -----------------------------------------------------------


def test_the_receiver_verifies_the_signature_with_the_documented_algorithm(world, receiver):
    tw = world.a
    endpoint, secret = subscribe(tw, receiver.url)
    emit_one(tw, data={"conversation": {"id": 1, "number": 7}, "note": "été ✓"})
    (delivery,) = deliveries(tw, endpoint=endpoint)
    assert deliver_webhook(tw.tenant.pk, delivery.pk) == "succeeded"
    (request,) = receiver.requests
    assert verify_signature(secret, request.headers, request.body)
    assert not verify_signature("whsec_wrong", request.headers, request.body)
    assert not verify_signature(secret, request.headers, request.body + b" ")  # a changed body fails
    old = {**request.headers, "X-SocialCRM-Timestamp": str(int(request.headers["X-SocialCRM-Timestamp"]) - 301)}
    assert not verify_signature(secret, old, request.body)  # outside the tolerance window
    assert request.headers["X-SocialCRM-Event"] == "conversation.routed"
    assert request.headers["X-SocialCRM-Event-Id"] == str(delivery.event.event_id) == request.json["id"]
    assert request.json["type"] == "conversation.routed" and request.json["tenant"] == "acme"
    assert request.json["data"] == {"conversation": {"id": 1, "number": 7}, "note": "été ✓"}
    delivery = reload(tw, delivery)
    assert (delivery.status, delivery.attempts, delivery.response_code) == ("succeeded", 1, 200)
    assert delivery.response_excerpt == "ok" and delivery.duration_ms is not None


def test_the_secret_is_stored_encrypted_and_shown_only_at_creation_and_rotation(world, receiver):
    tw = world.a
    endpoint, secret = subscribe(tw, receiver.url)
    assert secret.startswith("whsec_") and len(secret) > 40
    assert secret.encode() not in bytes(reload(tw, endpoint).secret_encrypted)
    _endpoint, rotated = actions.endpoint_rotate_secret(tw.tenant.pk, actor=None, endpoint_id=endpoint.pk)
    assert rotated != secret
    emit_one(tw)
    (delivery,) = deliveries(tw, endpoint=endpoint)
    deliver_webhook(tw.tenant.pk, delivery.pk)
    (request,) = receiver.requests
    assert verify_signature(rotated, request.headers, request.body)
    assert not verify_signature(secret, request.headers, request.body)


# --- Retries, idempotency, replay -------------------------------------------------------------------


def test_a_500_is_retried_with_backoff_then_delivered_with_the_same_event_id(world, receiver, settings):
    settings.WEBHOOK_RETRY_BASE_SECONDS = 30
    tw = world.a
    endpoint, secret = subscribe(tw, receiver.url)
    receiver.plan = [(500, {}, "boom")]
    emit_one(tw)
    (delivery,) = deliveries(tw, endpoint=endpoint)
    before = timezone.now()
    assert deliver_webhook(tw.tenant.pk, delivery.pk) == "retrying"
    delivery = reload(tw, delivery)
    assert (delivery.status, delivery.attempts, delivery.response_code, delivery.last_error) == (
        "retrying", 1, 500, "HTTP 500")
    # First retry: 30 s x 2^0 with jitter 0.5-1.0.
    assert before + timedelta(seconds=14) <= delivery.next_attempt_at <= timezone.now() + timedelta(seconds=31)
    assert deliver_webhook(tw.tenant.pk, delivery.pk) == "not due"  # too early: nothing is sent
    assert len(receiver.requests) == 1
    make_due(tw, delivery)
    assert deliver_webhook(tw.tenant.pk, delivery.pk) == "succeeded"
    first, second = receiver.requests
    assert first.headers["X-SocialCRM-Event-Id"] == second.headers["X-SocialCRM-Event-Id"]
    assert first.body == second.body
    assert verify_signature(secret, second.headers, second.body)
    delivery = reload(tw, delivery)
    assert (delivery.status, delivery.attempts) == ("succeeded", 2)
    assert [h["code"] for h in delivery.history] == [500, 200]


def test_a_duplicate_task_sends_each_attempt_once(world, receiver):
    tw = world.a
    endpoint, _secret = subscribe(tw, receiver.url)
    emit_one(tw)
    (delivery,) = deliveries(tw, endpoint=endpoint)
    results = [deliver_webhook(tw.tenant.pk, delivery.pk) for _ in range(3)]
    assert results == ["succeeded", "not due", "not due"]
    assert len(receiver.requests) == 1
    assert reload(tw, delivery).attempts == 1


def test_a_claimed_attempt_cannot_be_claimed_again_until_its_lease_runs_out(world, receiver):
    from social_crm.webhooks import delivery as delivery_module

    tw = world.a
    endpoint, _secret = subscribe(tw, receiver.url)
    emit_one(tw)
    (delivery,) = deliveries(tw, endpoint=endpoint)
    claimed = delivery_module.claim(tw.tenant.pk, delivery.pk)
    assert claimed is not None and claimed.attempt == 1
    assert delivery_module.claim(tw.tenant.pk, delivery.pk) is None  # a second worker gets nothing
    make_due(tw, delivery)  # the first worker "died": its lease ran out
    retaken = delivery_module.claim(tw.tenant.pk, delivery.pk)
    assert retaken is not None and retaken.attempt == 2
    # The first worker's late outcome is not written over the new claim.
    assert delivery_module.record(tw.tenant.pk, claimed, delivery_module.Outcome(code=200))[0] == "lost"
    assert reload(tw, delivery).status == "sending"


def test_a_4xx_is_not_retried(world, receiver):
    tw = world.a
    endpoint, _secret = subscribe(tw, receiver.url)
    receiver.plan = [(404, {}, "no such hook")]
    emit_one(tw)
    (delivery,) = deliveries(tw, endpoint=endpoint)
    assert deliver_webhook(tw.tenant.pk, delivery.pk) == "failed"
    delivery = reload(tw, delivery)
    assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == ("failed", 1, None)
    assert delivery.response_excerpt == "no such hook"
    assert reload(tw, endpoint).failure_streak == 1


def test_a_429_waits_at_least_its_retry_after(world, receiver, settings):
    settings.WEBHOOK_RETRY_BASE_SECONDS = 1
    tw = world.a
    endpoint, _secret = subscribe(tw, receiver.url)
    receiver.plan = [(429, {"Retry-After": "120"}, "slow down")]
    emit_one(tw)
    (delivery,) = deliveries(tw, endpoint=endpoint)
    before = timezone.now()
    assert deliver_webhook(tw.tenant.pk, delivery.pk) == "retrying"
    assert reload(tw, delivery).next_attempt_at >= before + timedelta(seconds=119)


def test_after_the_last_attempt_the_delivery_fails(world, receiver, settings):
    settings.WEBHOOK_MAX_ATTEMPTS = 2
    tw = world.a
    endpoint, _secret = subscribe(tw, receiver.url)
    receiver.plan = [(503, {}, ""), (503, {}, "")]
    emit_one(tw)
    (delivery,) = deliveries(tw, endpoint=endpoint)
    assert deliver_webhook(tw.tenant.pk, delivery.pk) == "retrying"
    make_due(tw, delivery)
    assert deliver_webhook(tw.tenant.pk, delivery.pk) == "failed"
    assert len(receiver.requests) == 2 and reload(tw, delivery).attempts == 2


def test_a_network_error_is_retried(world, settings):
    tw = world.a
    endpoint, _secret = subscribe(tw, "http://127.0.0.1:9/closed")
    emit_one(tw)
    (delivery,) = deliveries(tw, endpoint=endpoint)
    assert deliver_webhook(tw.tenant.pk, delivery.pk) == "retrying"
    delivery = reload(tw, delivery)
    assert delivery.response_code is None and "ConnectionError" in delivery.last_error


def test_a_replay_is_a_new_delivery_of_the_same_event_id(world, receiver):
    tw = world.a
    endpoint, secret = subscribe(tw, receiver.url)
    emit_one(tw)
    (original,) = deliveries(tw, endpoint=endpoint)
    deliver_webhook(tw.tenant.pk, original.pk)
    replay = actions.delivery_replay(tw.tenant.pk, actor=None, delivery_id=original.pk)
    assert replay.pk != original.pk and replay.replay_of_id == original.pk and replay.event_id == original.event_id
    assert deliver_webhook(tw.tenant.pk, replay.pk) == "succeeded"
    first, second = receiver.requests
    assert first.headers["X-SocialCRM-Event-Id"] == second.headers["X-SocialCRM-Event-Id"]
    assert first.headers["X-SocialCRM-Delivery-Id"] != second.headers["X-SocialCRM-Delivery-Id"]
    assert verify_signature(secret, second.headers, second.body)


def test_a_delivery_in_progress_cannot_be_replayed(world, receiver):
    tw = world.a
    endpoint, _secret = subscribe(tw, receiver.url)
    emit_one(tw)
    (pending,) = deliveries(tw, endpoint=endpoint)
    with pytest.raises(ValidationError):
        actions.delivery_replay(tw.tenant.pk, actor=None, delivery_id=pending.pk)


# --- Disabling a failing endpoint ----------------------------------------------------------------------


def test_an_endpoint_failing_persistently_is_disabled_and_the_admins_told_once(
        world, receiver, settings, django_capture_on_commit_callbacks):
    settings.WEBHOOK_DISABLE_AFTER = 2
    tw = world.a
    endpoint, _secret = subscribe(tw, receiver.url)
    receiver.plan = [(400, {}, "bad")] * 3
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(2):
            emit_one(tw)
        for delivery in deliveries(tw, endpoint=endpoint):
            assert deliver_webhook(tw.tenant.pk, delivery.pk) == "failed"
    endpoint = reload(tw, endpoint)
    assert not endpoint.is_active and endpoint.disabled_at and endpoint.failure_streak == 2
    admin = tw.members[Role.ADMIN].user
    with tenant_context(tw.tenant.pk):
        assert Notification.objects.filter(tenant_id=tw.tenant.pk, kind="webhook.disabled").count() == 1
    assert [m.to for m in mail.outbox] == [[admin.email]]
    # Disabled: new events are not recorded for it, and a replay is skipped without a request.
    emit_one(tw)
    assert len(deliveries(tw, endpoint=endpoint)) == 2
    with django_capture_on_commit_callbacks(execute=True):
        replay = actions.delivery_replay(tw.tenant.pk, actor=None, delivery_id=deliveries(tw)[-1].pk)
        assert deliver_webhook(tw.tenant.pk, replay.pk) == "not due"
    assert reload(tw, replay).status == "skipped" and len(receiver.requests) == 2
    with tenant_context(tw.tenant.pk):
        assert Notification.objects.filter(tenant_id=tw.tenant.pk, kind="webhook.disabled").count() == 1
    # Enabled again: the streak restarts.
    actions.endpoint_update(tw.tenant.pk, actor=None, endpoint_id=endpoint.pk, url=endpoint.url,
                            events=endpoint.events, description="", is_active=True)
    endpoint = reload(tw, endpoint)
    assert endpoint.is_active and endpoint.failure_streak == 0 and endpoint.disabled_at is None


# --- SSRF guard --------------------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["http://127.0.0.1:8000/hook", "http://10.0.0.5/hook", "http://169.254.169.254/latest",
                                 "http://[::1]/hook", "http://192.168.1.10/x", "ftp://example.com/x"])
def test_private_and_local_addresses_are_refused_when_saving(world, settings, url):
    settings.WEBHOOK_ALLOW_PRIVATE_HOSTS = False
    with pytest.raises(ValidationError) as error:
        actions.endpoint_create(world.a.tenant.pk, actor=None, url=url, events=["alert.raised"])
    assert "url" in error.value.message_dict


def test_a_url_that_became_private_is_refused_at_delivery_without_a_request(world, receiver, settings):
    tw = world.a
    endpoint, _secret = subscribe(tw, receiver.url)  # allowed while the setting allows it
    emit_one(tw)
    (delivery,) = deliveries(tw, endpoint=endpoint)
    settings.WEBHOOK_ALLOW_PRIVATE_HOSTS = False
    assert deliver_webhook(tw.tenant.pk, delivery.pk) == "failed"
    delivery = reload(tw, delivery)
    assert receiver.requests == [] and "non-public address" in delivery.last_error and delivery.attempts == 1


def test_redirects_are_not_followed(world, receiver):
    tw = world.a
    endpoint, _secret = subscribe(tw, receiver.url)
    receiver.plan = [(302, {"Location": "http://169.254.169.254/latest/meta-data"}, "")]
    emit_one(tw)
    (delivery,) = deliveries(tw, endpoint=endpoint)
    assert deliver_webhook(tw.tenant.pk, delivery.pk) == "failed"
    assert len(receiver.requests) == 1 and reload(tw, delivery).response_code == 302


# --- emit: subscriptions and their cache -----------------------------------------------------------------


def test_emit_records_nothing_and_runs_no_query_without_a_subscriber(world, django_assert_num_queries):
    tw = world.a
    emit_one(tw, "alert.raised")  # warms the cache: the world's endpoint subscribes to crisis.detected only
    with tenant_context(tw.tenant.pk):
        with django_assert_num_queries(0):
            for _ in range(100):
                events.emit(tw.tenant.pk, "mention.stored", {"mention_ids": [1, 2, 3]})
        assert not WebhookEvent.objects.filter(tenant_id=tw.tenant.pk, type__in=["alert.raised", "mention.stored"]).exists()


def test_emit_goes_only_to_active_endpoints_subscribed_to_the_type_of_the_tenant(world, receiver):
    a, b = world.a, world.b
    routed, _s = subscribe(a, receiver.url, ["conversation.routed"])
    alerts, _s = subscribe(a, receiver.url + "/alerts", ["alert.raised", "conversation.routed"])
    subscribe(b, receiver.url + "/b", ["conversation.routed"])
    paused, _s = subscribe(a, receiver.url + "/paused", ["conversation.routed"])
    actions.endpoint_update(a.tenant.pk, actor=None, endpoint_id=paused.pk, url=paused.url,
                            events=paused.events, description="", is_active=False)
    emit_one(a, "conversation.routed")
    emit_one(a, "alert.raised")
    got = {(d.endpoint_id, d.event.type) for d in deliveries(a)}
    assert got - {(a.webhook_delivery.endpoint_id, "crisis.detected")} == {
        (routed.pk, "conversation.routed"), (alerts.pk, "conversation.routed"), (alerts.pk, "alert.raised")}
    assert all(d.endpoint_id == world.b.webhook_endpoint.pk for d in deliveries(b))  # B got nothing


def test_a_subscription_made_in_another_process_is_seen_once_the_cache_period_ends(world, receiver, settings):
    settings.WEBHOOK_SUBSCRIBERS_CACHE_SECONDS = 60
    tw, tid = world.a, world.a.tenant.pk
    emit_one(tw, "alert.raised")  # cached: nobody subscribes to alert.raised
    with tenant_context(tid):  # another process adds an endpoint: our cache does not know yet
        WebhookEndpoint.objects.create(tenant_id=tid, url=receiver.url, events=["alert.raised"],
                                       secret_encrypted=b"x")
    emit_one(tw, "alert.raised")
    assert not deliveries(tw, event__type="alert.raised")  # within the cache period (documented)
    cache.set(events._generation_key(tid), uuid.uuid4().hex, timeout=None)  # that process's bump
    checked_at, generation, types = events._subscriptions[tid]
    events._subscriptions[tid] = (checked_at - 61, generation, types)  # the period is over
    emit_one(tw, "alert.raised")
    assert len(deliveries(tw, event__type="alert.raised")) == 1


def test_a_change_in_this_process_is_seen_at_once(world, receiver, django_capture_on_commit_callbacks, settings):
    settings.WEBHOOK_SUBSCRIBERS_CACHE_SECONDS = 60
    tw = world.a
    emit_one(tw, "alert.raised")
    with django_capture_on_commit_callbacks(execute=True):
        subscribe(tw, receiver.url, ["alert.raised"])
    emit_one(tw, "alert.raised")
    assert len(deliveries(tw, event__type="alert.raised")) == 1


def test_unknown_event_types_are_refused(world):
    with pytest.raises(ValueError):
        events.emit(world.a.tenant.pk, "mention.exploded", {})
    with pytest.raises(ValidationError) as error:
        actions.endpoint_create(world.a.tenant.pk, actor=None, url="http://127.0.0.1/x", events=["nope"])
    assert "events" in error.value.message_dict


# --- The emit hooks ---------------------------------------------------------------------------------------


def test_ingestion_emits_one_mention_stored_event_per_page_with_every_new_mention(world, receiver):
    from listening.ingest import ingest_page

    from .conftest import sample_page

    tw = world.a
    endpoint, _secret = subscribe(tw, receiver.url, ["mention.stored"])
    result = ingest_page(tw.tenant.pk, platform="x", page=sample_page(("2001", "2002", "2003")), source="poll")
    (delivery,) = deliveries(tw, endpoint=endpoint)
    data = delivery.event.data
    assert data["count"] == 3 == result.inserted
    assert [m["external_id"] for m in data["mentions"]] == ["2001", "2002", "2003"]
    assert {m["id"] for m in data["mentions"]} == set(result.inserted_ids)
    assert data["mentions"][0]["author"]["handle"] == "someone" and data["mentions"][0]["text"].startswith("Mon colis")
    ingest_page(tw.tenant.pk, platform="x", page=sample_page(("2001", "2002", "2003")), source="poll")
    assert len(deliveries(tw, endpoint=endpoint)) == 1  # nothing new stored: no event
    deliver_webhook(tw.tenant.pk, delivery.pk)
    assert receiver.requests[0].json["data"]["count"] == 3


def test_routing_and_alerts_emit_their_events(world, receiver):
    from inbox import routing

    from .test_inbox_routing import make_conversation, make_rule

    tw = world.a
    endpoint, _secret = subscribe(tw, receiver.url, ["conversation.routed", "alert.raised"])
    department = tw.departments["customer-service"]
    rule = make_rule(tw, "Complaints", [{"field": "sentiment", "op": "in", "value": ["negative"]}],
                     [{"type": "route", "department": department.pk}])
    conversation, _m = make_conversation(tw)
    routing.route(tw.tenant.pk, [conversation.pk])
    by_type = {d.event.type: d.event.data for d in deliveries(tw, endpoint=endpoint)}
    assert set(by_type) == {"conversation.routed", "alert.raised"}
    routed = by_type["conversation.routed"]
    assert routed["rule"] == {"id": rule.pk, "name": "Complaints"}
    assert routed["conversation"]["id"] == conversation.pk and routed["conversation"]["department"] == department.pk
    assert by_type["alert.raised"]["alert"]["department"]["slug"] == "customer-service"
    routing.route(tw.tenant.pk, [conversation.pk])  # already routed: no second decision, no second event
    assert len(deliveries(tw, endpoint=endpoint)) == 2


def test_a_rolled_back_transaction_emits_nothing(world, receiver):
    tw = world.a
    endpoint, _secret = subscribe(tw, receiver.url)
    with pytest.raises(RuntimeError):
        with tenant_context(tw.tenant.pk):
            events.emit(tw.tenant.pk, "conversation.routed", {"x": 1})
            raise RuntimeError("the routing failed")
    assert deliveries(tw, endpoint=endpoint) == []


def test_the_payload_is_json_of_the_data_given(world, receiver):
    tw = world.a
    endpoint, _secret = subscribe(tw, receiver.url)
    now = timezone.now()
    emit_one(tw, data={"at": now, "id": uuid.UUID(int=1)})
    (delivery,) = deliveries(tw, endpoint=endpoint)
    assert json.dumps(delivery.event.data)
    assert delivery.event.data["id"] == "00000000-0000-0000-0000-000000000001"
