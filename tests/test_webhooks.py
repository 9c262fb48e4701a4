"""The Facebook webhook endpoint: Meta's verification handshake, signatures checked before
anything is read, deliveries routed to the tenants that connected the Page and stored there."""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

import pytest
from django.test import override_settings

from listening import actions
from listening.models import Mention
from listening.tasks import ingest_webhook
from social_crm.tenancy.scope import tenant_context

HOOKS = Path(__file__).parent / "fixtures" / "facebook" / "webhooks"
SECRET, VERIFY = "app-secret-for-tests", "verify-me"  # noqa: S105 (test values)
PAGE_ID = "1234567890321"  # the Page of the recorded deliveries


def sign(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@pytest.fixture
def fb_settings():
    with override_settings(FACEBOOK_APP_SECRET=SECRET, FACEBOOK_VERIFY_TOKEN=VERIFY):
        yield


@pytest.fixture
def queued(monkeypatch):
    """What the view hands to the ingest queue (the task itself is run by the tests)."""
    calls = []
    monkeypatch.setattr(ingest_webhook, "apply_async", lambda args, queue=None, **kw: calls.append((args, queue)))
    return calls


def connect_page(tenant_id):
    return actions.account_save(tenant_id, actor=None, platform="facebook", name="Page", external_id=PAGE_ID,
                                credentials={"page_access_token": "t"})


def test_the_subscription_challenge_is_answered_only_with_the_right_token(client, fb_settings):
    ok = client.get("/webhooks/facebook", {"hub.mode": "subscribe", "hub.verify_token": VERIFY, "hub.challenge": "1158201444"})
    assert ok.status_code == 200 and ok.content == b"1158201444"
    bad = client.get("/webhooks/facebook", {"hub.mode": "subscribe", "hub.verify_token": "nope", "hub.challenge": "1"})
    assert bad.status_code == 403


@pytest.mark.parametrize("header", [None, "sha256=" + "0" * 64, "sha1=abc", "garbage", "SIGNED"])
def test_a_bad_or_missing_signature_is_rejected_logged_and_never_processed(client, world, fb_settings, queued, header, caplog):
    connect_page(world.a.tenant.pk)
    body = (HOOKS / "feed-post-add-25.json").read_bytes()
    if header == "SIGNED":  # signed with another secret
        header = sign(body, "someone-else")
    headers = {"HTTP_X_HUB_SIGNATURE_256": header} if header else {}
    response = client.post("/webhooks/facebook", body, content_type="application/json", **headers)
    assert response.status_code == 403
    assert queued == []
    assert "rejected" in caplog.text


def test_a_signed_delivery_is_queued_for_each_tenant_that_connected_the_page_and_stored(client, world, fb_settings, queued):
    a_account = connect_page(world.a.tenant.pk)
    b_account = connect_page(world.b.tenant.pk)
    body = (HOOKS / "feed-post-add-25.json").read_bytes()
    response = client.post("/webhooks/facebook", body, content_type="application/json", HTTP_X_HUB_SIGNATURE_256=sign(body))
    assert response.status_code == 200
    targets = sorted(args[:2] for args, queue in queued)
    assert targets == sorted([(world.a.tenant.pk, a_account.pk), (world.b.tenant.pk, b_account.pk)])
    assert {queue for _args, queue in queued} == {"ingest"}
    for args, _queue in queued:
        assert ingest_webhook.run(*args) >= 1
    for tenant in (world.a.tenant, world.b.tenant):
        with tenant_context(tenant.pk):
            assert Mention.objects.filter(tenant_id=tenant.pk, platform="facebook").count() >= 1


def test_a_removal_delivery_marks_the_stored_post_deleted(client, world, fb_settings, queued):
    from datetime import datetime, timezone

    from listening.connectors.base import MentionData, Page
    from listening.ingest import ingest_page

    account = connect_page(world.a.tenant.pk)
    removed_id = "1234567890321_901097836652708"  # the post of the recorded "remove" delivery
    ingest_page(world.a.tenant.pk, platform="facebook", source="poll", account_id=account.pk, page=Page(mentions=[
        MentionData(external_id=removed_id, text="a post", created_at=datetime(2015, 12, 3, tzinfo=timezone.utc))]))
    body = (HOOKS / "feed-post-remove-25.json").read_bytes()
    assert client.post("/webhooks/facebook", body, content_type="application/json",
                       HTTP_X_HUB_SIGNATURE_256=sign(body)).status_code == 200
    for args, _queue in queued:
        ingest_webhook.run(*args)
    with tenant_context(world.a.tenant.pk):
        assert Mention.objects.get(tenant_id=world.a.tenant.pk, platform="facebook", external_id=removed_id).is_deleted


def test_a_signed_but_unparsable_body_is_a_400(client, fb_settings, queued, db):
    body = b"{not json"
    assert client.post("/webhooks/facebook", body, content_type="application/json",
                       HTTP_X_HUB_SIGNATURE_256=sign(body)).status_code == 400
    assert queued == []


def test_without_an_app_secret_every_delivery_is_refused(client, db, queued):
    body = (HOOKS / "feed-post-add-25.json").read_bytes()
    with override_settings(FACEBOOK_APP_SECRET=""):
        assert client.post("/webhooks/facebook", body, content_type="application/json",
                           HTTP_X_HUB_SIGNATURE_256=sign(body, "")).status_code == 403
    assert queued == []
