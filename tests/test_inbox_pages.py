"""The shared inbox and the conversation page as people use them (filters, saved views, keyset
pages, the live poll, bulk actions, triage with htmx, notes, who is viewing, the relevance
settings), and the inbox API; tenant B's conversations never show in A."""

from __future__ import annotations

import json
import re

from django.db import connection
from django.test.utils import CaptureQueriesContext

from inbox import conversations as actions
from inbox import views
from inbox.models import Conversation, InboxSettings, SavedView
from social_crm.tenancy.models import Notification
from social_crm.tenancy.permissions import Role
from social_crm.tenancy.scope import tenant_context

from .conftest import login
from .world_inbox import make_mention

INBOX = "/t/acme/inbox/"


def row_ids(response) -> list[int]:
    return [int(x) for x in re.findall(r'data-conversation-id="(\d+)"', response.content.decode())]


def conversations(world, count: int, prefix: str = "pg") -> list[int]:
    """``count`` more conversations in A, one minute apart (the newest last)."""
    a = world.a.tenant.pk
    ids = [make_mention(world.a, f"{prefix}-{i}", f"Texte {prefix} {i}", minutes=i, author=f"{prefix}{i}").pk
           for i in range(count)]
    return actions.attach_mentions(a, ids)


def post_json(client, path, body, method="post"):
    return getattr(client, method)(path, data=json.dumps(body), content_type="application/json")


# --- The inbox list ------------------------------------------------------------------------------


def test_the_inbox_lists_the_tenants_conversations_only_in_a_fixed_number_of_queries(client, world):
    login(client, "cm@example.com")
    with CaptureQueriesContext(connection) as one:
        page = client.get(INBOX)
    assert page.status_code == 200 and row_ids(page) == [world.a.conversation.pk]
    assert world.b.conversation.pk not in row_ids(page)
    assert 'data-testid="inbox-link"' in page.content.decode()
    conversations(world, 5)
    with CaptureQueriesContext(connection) as six:
        page = client.get(INBOX)
    assert len(row_ids(page)) == 6 and len(six) == len(one)


def test_filters_take_several_values_and_combine(client, world):
    a = world.a.tenant.pk
    cm = world.a.members[Role.COMMUNITY_MANAGER].user
    first, second, third = conversations(world, 3)
    actions.conversation_update(a, actor=cm, conversation_id=first, status="pending", assignee_id=cm.pk)
    actions.conversation_update(a, actor=cm, conversation_id=second, status="closed")
    login(client, "cm@example.com")
    assert set(row_ids(client.get(INBOX, {"status": ["pending", "closed"]}))) == {first, second}
    assert row_ids(client.get(INBOX, {"status": ["pending", "closed"], "assignee": "me"})) == [first]
    assert set(row_ids(client.get(INBOX, {"assignee": "none", "status": ["new", "closed"]}))) == {
        second, third, world.a.conversation.pk}
    with tenant_context(a):
        third_number = Conversation.objects.get(tenant_id=a, pk=third).number
    assert row_ids(client.get(INBOX, {"q": f"#{third_number}"})) == [third]
    assert row_ids(client.get(INBOX, {"q": "Texte pg 1"})) == [second]
    assert row_ids(client.get(INBOX, {"topic": str(world.a.topic.pk)})) == [world.a.conversation.pk]
    assert set(row_ids(client.get(INBOX, {"sentiment": "negative", "platform": "x"}))) == {first, second, third}
    actions.conversation_update(a, actor=cm, conversation_id=third, department_id=world.a.departments["legal"].pk)
    legal, none = world.a.departments["legal"].pk, "none"
    assert row_ids(client.get(INBOX, {"department": [str(legal)]})) == [third]
    assert row_ids(client.get(INBOX, {"department": [str(legal), none]})) == [third]
    assert row_ids(client.get(INBOX, {"date_from": "2026-11-02", "date_to": "2026-11-02"})) == [third, second, first]
    # Another tenant's department id filters to nothing; it never shows B's rows.
    assert row_ids(client.get(INBOX, {"department": str(world.b.departments["customer-service"].pk)})) == []


def test_keyset_pages_walk_every_conversation_once(client, world, monkeypatch):
    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    made = conversations(world, 4)
    login(client, "cm@example.com")
    seen, path = [], INBOX
    while path:
        page = client.get(path)
        seen += row_ids(page)
        found = re.search(r'rel="next" data-testid="older-link" href="([^"]+)"', page.content.decode())
        path = found.group(1).replace("&amp;", "&") if found else None
    assert seen == made[::-1] + [world.a.conversation.pk]


def test_the_live_poll_returns_only_conversations_with_newer_activity(client, world):
    login(client, "cm@example.com")
    page = client.get(INBOX)
    top = re.search(r"after=([0-9-]+)", page.content.decode()).group(1)
    assert row_ids(client.get(INBOX, {"after": top})) == []
    (fresh,) = conversations(world, 1, prefix="live")
    poll = client.get(INBOX, {"after": top})
    assert row_ids(poll) == [fresh] and "conversation-new" in poll.content.decode()
    assert row_ids(client.get(INBOX, {"after": poll["X-Inbox-Top"]})) == []


def test_a_saved_view_is_saved_shared_and_applied(client, world):
    login(client, "admin@example.com")
    response = client.post("/t/acme/inbox/views/", {"name": "Closed ones", "filters": "status=closed&q=", "is_shared": "on"})
    assert response.status_code == 302
    with tenant_context(world.a.tenant.pk):
        view = SavedView.objects.get(tenant_id=world.a.tenant.pk, name="Closed ones")
    assert view.filters == {"status": ["closed"]} and view.is_shared
    login(client, "cm@example.com")  # shared: cm sees and applies it
    page = client.get(INBOX)
    assert "Closed ones" in page.content.decode() and "My open" in page.content.decode()
    applied = client.get(INBOX, {"view": view.pk})
    assert applied.status_code == 302 and "status=closed" in applied["Location"]
    assert client.post(f"/t/acme/inbox/views/{view.pk}/delete/").status_code == 404  # not cm's own
    login(client, "marketer@example.com")
    assert "My open" not in client.get(INBOX).content.decode()  # cm's private view


def test_bulk_actions_from_the_inbox(client, world):
    ids = conversations(world, 2)
    login(client, "cm@example.com")
    response = client.post("/t/acme/inbox/bulk/", {"operation": "assign", "assignee": "me", "conversation_ids": ids})
    assert response.status_code == 302
    client.post("/t/acme/inbox/bulk/", {"operation": "close", "conversation_ids": ids})
    cm = world.a.members[Role.COMMUNITY_MANAGER].user
    with tenant_context(world.a.tenant.pk):
        assert set(Conversation.objects.filter(pk__in=ids).values_list("status", "assignee_id")) == {("closed", cm.pk)}
    refused = client.post("/t/acme/inbox/bulk/", {"operation": "close",
                                                  "conversation_ids": [world.a.conversation.pk, world.b.conversation.pk]})
    assert refused.status_code == 400 and b"errorlist" in refused.content
    assert client.post("/t/acme/inbox/bulk/", {"operation": "close"}).status_code == 400


# --- The conversation page -----------------------------------------------------------------------


def test_the_conversation_page_shows_messages_notes_activity_and_the_author(client, world):
    c = world.a.conversation
    login(client, "cm@example.com")
    page = client.get(f"/t/acme/inbox/c/{c.pk}/")
    body = page.content.decode()
    assert page.status_code == 200 and f"#{c.number}" in body
    assert body.count('data-testid="message"') == 1 and 'data-testid="topic-chip"' in body
    assert "Vu, je gère." in body and "Complaints to customer service" in body  # note and routing event
    assert "@someone" in body and 'data-testid="reply-box"' in body
    assert client.get(f"/t/acme/inbox/c/{world.b.conversation.pk}/").status_code == 404


def test_triage_with_htmx_returns_the_panel_and_refuses_a_non_member(client, world):
    c = world.a.conversation
    cm = world.a.members[Role.COMMUNITY_MANAGER].user
    login(client, "cm@example.com")
    url = f"/t/acme/inbox/c/{c.pk}/update/"
    panel = client.post(url, {"assignee": "me"}, HTTP_HX_REQUEST="true")
    assert panel.status_code == 200 and 'data-testid="conversation-controls"' in panel.content.decode()
    assert "<html" not in panel.content.decode() and "Carl Community" in panel.content.decode()
    outsider = world.b.members[Role.ADMIN].user
    refused = client.post(url, {"assignee": str(outsider.pk)}, HTTP_HX_REQUEST="true")
    assert refused.status_code == 400 and b"is-invalid" in refused.content
    assert client.post(url, {"status": "closed", "tags": "vip, retard"}).status_code == 302
    with tenant_context(world.a.tenant.pk):
        c.refresh_from_db()
    assert (c.assignee_id, c.status, c.tags) == (cm.pk, "closed", ["vip", "retard"])
    timeline = client.get(f"/t/acme/inbox/c/{c.pk}/").content.decode()
    assert "assigned it to Carl Community" in timeline and "set the status to Closed" in timeline


def test_a_note_from_the_page_notifies_the_member_named(client, world):
    c = world.a.conversation
    login(client, "cm@example.com")
    response = client.post(f"/t/acme/inbox/c/{c.pk}/notes/", {"body": "@head à toi"})
    assert response.status_code == 302
    head = world.a.members[Role.DEPARTMENT_HEAD].user
    with tenant_context(world.a.tenant.pk):
        assert Notification.objects.filter(tenant_id=world.a.tenant.pk, user=head, kind="inbox.note_mention").count() == 1
    assert client.post(f"/t/acme/inbox/c/{c.pk}/notes/", {"body": ""}).status_code == 400


def test_the_viewing_indicator_names_the_other_people_on_the_conversation(client, world):
    from social_crm.core.redis import client as redis_client, key

    c = world.a.conversation
    redis_client().delete(key("inbox-presence", world.a.tenant.pk, c.pk))
    login(client, "cm@example.com")
    assert "is viewing" not in client.post(f"/t/acme/inbox/c/{c.pk}/presence/").content.decode()
    login(client, "head@example.com")
    seen_by_head = client.post(f"/t/acme/inbox/c/{c.pk}/presence/", {"replying": "1"}).content.decode()
    assert "Carl Community is viewing" in seen_by_head
    login(client, "cm@example.com")
    assert "Hana Head is replying" in client.post(f"/t/acme/inbox/c/{c.pk}/presence/").content.decode()


def test_admins_change_the_relevance_rules_on_the_settings_page(client, world):
    login(client, "admin@example.com")
    page = client.get("/t/acme/inbox/settings/")
    body = page.content.decode()
    assert page.status_code == 200 and re.search(r'name="brand_negative"[^>]*checked', body)
    assert not re.search(r'name="all_matches"[^>]*checked', body)
    response = client.post("/t/acme/inbox/settings/", {"author_window_hours": "6", "all_matches": "on"})
    assert response.status_code == 302
    with tenant_context(world.a.tenant.pk):
        row = InboxSettings.objects.get(tenant_id=world.a.tenant.pk)
    assert row.author_window_hours == 6 and row.relevance["all_matches"] and not row.relevance["brand_negative"]
    assert client.post("/t/acme/inbox/settings/", {"author_window_hours": "0"}).status_code == 400
    login(client, "cm@example.com")
    assert client.get("/t/acme/inbox/settings/").status_code == 403


def test_the_pages_speak_french(client, world):
    from django.contrib.auth import get_user_model

    get_user_model().objects.filter(email="cm@example.com").update(language="fr")
    login(client, "cm@example.com")
    client.post("/i18n/setlang/", {"language": "fr"})
    body = client.get(INBOX).content.decode()
    assert '<html lang="fr">' in body and row_ids(client.get(INBOX)) == [world.a.conversation.pk]


# --- API -------------------------------------------------------------------------------------------


API = "/api/v1/t/acme/"


def test_the_api_lists_with_filters_and_a_cursor(client, world):
    made = conversations(world, 3)
    login(client, "cm@example.com")
    first = client.get(API + "conversations/", {"page_size": 2, "status": ["new"]}).json()
    second = client.get(first["next"]).json()
    ids = [c["id"] for c in first["results"] + second["results"]]
    assert ids == made[::-1] + [world.a.conversation.pk] and second["next"] is None
    assert world.b.conversation.pk not in ids
    assert client.get(API + "conversations/", {"status": "bogus"}).status_code == 400


def test_the_api_detail_update_bulk_notes_and_saved_views(client, world):
    c = world.a.conversation
    login(client, "cm@example.com")
    detail = client.get(f"{API}conversations/{c.pk}/").json()
    assert detail["number"] == c.number and len(detail["messages"]) == 1 and detail["notes"][0]["body"] == "Vu, je gère."
    assert {e["kind"] for e in detail["events"]} == {"routed"}
    outsider = world.b.members[Role.ADMIN].user
    refused = post_json(client, f"{API}conversations/{c.pk}/", {"assignee": outsider.pk}, "patch")
    assert refused.status_code == 400 and "assignee" in refused.json()
    cm = world.a.members[Role.COMMUNITY_MANAGER].user
    ok = post_json(client, f"{API}conversations/{c.pk}/", {"assignee": cm.pk, "tags": ["vip"], "status": "open"}, "patch")
    assert ok.status_code == 200 and (ok.json()["assignee"], ok.json()["tags"], ok.json()["status"]) == (cm.pk, ["vip"], "open")
    bulk = post_json(client, f"{API}conversations/bulk/", {"operation": "close", "conversation_ids": [c.pk]})
    assert bulk.json() == {"changed": 1}
    note = post_json(client, f"{API}notes/", {"conversation": c.pk, "body": "@head regarde"})
    assert note.status_code == 201 and note.json()["mentioned_user_ids"] == [world.a.members[Role.DEPARTMENT_HEAD].user.pk]
    view = post_json(client, f"{API}saved-views/", {"name": "Closed", "filters": {"status": ["closed"]}})
    assert view.status_code == 201
    names = [v["name"] for v in client.get(f"{API}saved-views/").json()["results"]]
    assert names == ["Closed", "My open"]
    assert client.delete(f"{API}saved-views/{view.json()['id']}/").status_code == 204
