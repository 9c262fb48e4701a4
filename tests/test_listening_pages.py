"""The listening pages as people use them: the live stream, query errors that point at the
mistake, the preview, the channel health page and notifications."""

from __future__ import annotations

from datetime import datetime, timezone

from listening.connectors.base import AuthorData, MentionData, Page
from listening.ingest import ingest_page
from listening.models import ListeningQuery, Mention
from social_crm.tenancy.scope import tenant_context

from .conftest import login


def test_the_stream_shows_mentions_and_htmx_gets_only_newer_ones_oldest_first(client, world):
    login(client, "cm@example.com")
    page = client.get("/t/acme/mentions/")
    assert page.status_code == 200
    assert b"Mon colis Acme est en retard" in page.content and b'hx-trigger="every 5s"' in page.content
    with tenant_context(world.a.tenant.pk):
        newest = Mention.objects.filter(tenant_id=world.a.tenant.pk).order_by("-id").first().pk
    mentions = [MentionData(external_id=f"live-{i}", text=f"nouveau message {i} acme livraison",
                            created_at=datetime(2026, 11, 3, 9, i, tzinfo=timezone.utc),
                            author=AuthorData(platform_user_id="u-9", handle="fan")) for i in range(3)]
    ingest_page(world.a.tenant.pk, platform="x", page=Page(mentions=mentions), source="poll")
    fragment = client.get(f"/t/acme/mentions/?after={newest}")
    assert fragment.status_code == 200 and b"<html" not in fragment.content
    body = fragment.content.decode()
    assert "nouveau message 2" in body and "Mon colis" not in body
    assert body.index("nouveau message 2") < body.index("nouveau message 0")  # newest first on screen
    assert client.get(f"/t/acme/mentions/?after={newest + 10_000}").content.count(b"data-mention-id") == 0


def test_an_invalid_query_is_refused_with_a_caret_under_the_error(client, world):
    login(client, "admin@example.com")
    response = client.post("/t/acme/listening/queries/new/", {"name": "Bad", "kind": "topic",
                                                              "expression": "(livraison OR colis"})
    assert response.status_code == 400
    body = response.content.decode()
    assert "query-error" in body and "(livraison OR colis" in body and "^" in body
    with tenant_context(world.a.tenant.pk):
        assert not ListeningQuery.objects.filter(tenant_id=world.a.tenant.pk, name="Bad").exists()


def test_a_query_can_be_tried_on_recent_mentions_before_saving(client, world):
    login(client, "admin@example.com")
    response = client.post("/t/acme/listening/queries/new/", {"name": "", "kind": "topic", "expression": "colis retard",
                                                              "preview": "1"})
    assert response.status_code == 200
    assert b"Mon colis Acme est en retard" in response.content
    with tenant_context(world.a.tenant.pk):
        assert ListeningQuery.objects.filter(tenant_id=world.a.tenant.pk).count() == 1  # nothing saved


def test_the_channel_health_page_shows_status_and_last_error(client, world):
    login(client, "cm@example.com")
    page = client.get("/t/acme/listening/channels/")
    assert page.status_code == 200
    assert b'data-status="needs_reconnect"' in page.content and b"401 Unauthorized" in page.content


def test_admins_see_an_unread_badge_and_can_mark_notifications_read(client, world):
    login(client, "admin@example.com")
    page = client.get("/t/acme/notifications/")
    assert b'data-testid="unread-count"' in page.content and b"Brand on X" in page.content
    assert client.post("/t/acme/notifications/").status_code == 302
    assert b'data-testid="unread-count"' not in client.get("/t/acme/notifications/").content
    login(client, "cm@example.com")  # not an admin: never notified
    assert b'data-testid="unread-count"' not in client.get("/t/acme/").content
