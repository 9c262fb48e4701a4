"""The outgoing-webhook delivery log from a tenant admin's side: the subscription form, the log
page, the replay button and the API replay, each ending at a real local receiver that checks
the signature the documented way (tests/webhook_receiver.py)."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from social_crm.tenancy.scope import tenant_context
from social_crm.webhooks.models import SUBSCRIBABLE, WebhookDelivery
from social_crm.webhooks.tasks import deliver_webhook

from .conftest import login
from .test_outgoing_webhooks import deliveries, emit_one, receiver, subscribe  # noqa: F401 (fixture)
from .webhook_receiver import verify_signature


@pytest.fixture
def admin(client, world):
    return login(client, "admin@example.com")  # admin of acme


def test_the_subscription_form_offers_every_event_crisis_detected_included(admin):
    page = admin.get(reverse("webhook-new", kwargs={"tenant_slug": "acme"})).content.decode()
    offered = set(re.findall(r'name="events" value="([^"]+)"', page))
    assert offered == {value for value, _label in SUBSCRIBABLE}
    assert "crisis.detected" in offered and "ping" not in offered


def test_a_subscription_to_crisis_detected_is_saved_from_the_form(admin, world):
    response = admin.post(reverse("webhook-new", kwargs={"tenant_slug": "acme"}),
                          {"url": "https://hooks.example.com/crm", "events": ["crisis.detected"], "is_active": "on"})
    assert response.status_code == 302
    from social_crm.webhooks.models import WebhookEndpoint

    with tenant_context(world.a.tenant.pk):
        endpoint = WebhookEndpoint.objects.get(tenant_id=world.a.tenant.pk, url="https://hooks.example.com/crm")
    assert endpoint.events == ["crisis.detected"]


def _delivered_once(tw, receiver):  # noqa: F811 (the fixture's value)
    endpoint, secret = subscribe(tw, receiver.url)
    emit_one(tw)
    (original,) = deliveries(tw, endpoint=endpoint)
    assert deliver_webhook(tw.tenant.pk, original.pk) == "succeeded"
    return original, secret


def test_the_log_lists_deliveries_and_the_replay_button_resends_the_same_event_id(admin, world, receiver):  # noqa: F811
    tw = world.a
    original, secret = _delivered_once(tw, receiver)
    log = admin.get(reverse("webhook-deliveries", kwargs={"tenant_slug": "acme"})).content.decode()
    detail_url = reverse("webhook-delivery", kwargs={"tenant_slug": "acme", "delivery_id": original.pk})
    assert detail_url in log
    detail = admin.get(detail_url).content.decode()
    assert 'data-testid="replay-delivery"' in detail and str(original.event.event_id) in detail
    response = admin.post(reverse("webhook-delivery-replay", kwargs={"tenant_slug": "acme", "delivery_id": original.pk}))
    (replay,) = deliveries(tw, replay_of=original)
    assert response.status_code == 302 and response["Location"].endswith(f"/deliveries/{replay.pk}/")
    assert replay.event_id == original.event_id
    assert deliver_webhook(tw.tenant.pk, replay.pk) == "succeeded"
    first, second = receiver.requests
    assert second.headers["X-SocialCRM-Event-Id"] == first.headers["X-SocialCRM-Event-Id"] == str(original.event.event_id)
    assert second.body == first.body  # the receiver can drop it as a duplicate
    assert verify_signature(secret, second.headers, second.body)


def test_the_api_lists_the_log_and_replays_with_the_same_event_id(admin, world, receiver):  # noqa: F811
    tw = world.a
    original, secret = _delivered_once(tw, receiver)
    event_id = str(original.event.event_id)
    rows = admin.get(f"/api/v1/t/acme/webhook-deliveries/?event_id={event_id}").json()["results"]
    assert [(r["id"], r["status"], r["event"]["event_id"]) for r in rows] == [(original.pk, "succeeded", event_id)]
    response = admin.post(f"/api/v1/t/acme/webhook-deliveries/{original.pk}/replay/")
    assert response.status_code == 201
    body = response.json()
    assert body["replay_of"] == original.pk and body["event"]["event_id"] == event_id and body["status"] == "pending"
    assert deliver_webhook(tw.tenant.pk, body["id"]) == "succeeded"
    assert [r.headers["X-SocialCRM-Event-Id"] for r in receiver.requests] == [event_id, event_id]
    assert verify_signature(secret, receiver.requests[1].headers, receiver.requests[1].body)
    rows = admin.get(f"/api/v1/t/acme/webhook-deliveries/?event_id={event_id}").json()["results"]
    assert sorted(r["id"] for r in rows) == sorted([original.pk, body["id"]])


def test_a_replay_of_a_delivery_in_progress_is_refused_on_the_page_and_in_the_api(admin, world, receiver):  # noqa: F811
    tw = world.a
    endpoint, _secret = subscribe(tw, receiver.url)
    emit_one(tw)
    (pending,) = deliveries(tw, endpoint=endpoint)
    response = admin.post(reverse("webhook-delivery-replay", kwargs={"tenant_slug": "acme", "delivery_id": pending.pk}))
    assert response.status_code == 302 and response["Location"].endswith(f"/deliveries/{pending.pk}/")
    assert admin.post(f"/api/v1/t/acme/webhook-deliveries/{pending.pk}/replay/").status_code == 400
    with tenant_context(tw.tenant.pk):
        assert not WebhookDelivery.objects.filter(replay_of=pending).exists()
    assert receiver.requests == []
