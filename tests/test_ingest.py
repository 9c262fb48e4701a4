"""The one write path (listening.ingest) and the ingest API, on real PostgreSQL."""

from __future__ import annotations

import copy
import json
from datetime import datetime, timezone

import pytest
from django.db import DataError

from listening.connectors.base import AuthorData, MentionData, Page, Quarantined
from listening.ingest import CursorKey, ingest_page
from listening.models import Author, Mention, MentionMatch, PollCursor, QuarantinedPayload
from social_crm.tenancy.scope import tenant_context

from .conftest import login, sample_page


def snapshot(tenant_id):
    """Every stored row of the tenant that ingestion writes, comparable across runs."""
    with tenant_context(tenant_id):
        return (
            sorted(Mention.objects.filter(tenant_id=tenant_id).values_list("platform", "external_id", "version_id", "text",
                                                                          "like_count", "is_edited", "is_deleted")),
            sorted(Author.objects.filter(tenant_id=tenant_id).values_list("platform", "platform_user_id", "followers")),
            sorted(MentionMatch.objects.filter(tenant_id=tenant_id).values_list("mention__external_id", "query__name")),
            QuarantinedPayload.objects.filter(tenant_id=tenant_id).count(),
            sorted((c.stream, json.dumps(c.state)) for c in PollCursor.objects.filter(tenant_id=tenant_id)),
        )


def test_ingesting_the_same_page_twice_changes_nothing(world):
    tid = world.a.tenant.pk
    key = CursorKey(world.a.account.pk, world.a.query.pk, "search")
    page = sample_page(external_ids=("2001", "2002", "2003"), quarantined=False)
    first = ingest_page(tid, platform="x", page=page, source="poll", account_id=world.a.account.pk, cursor_key=key)
    before = snapshot(tid)
    second = ingest_page(tid, platform="x", page=copy.deepcopy(page), source="poll", account_id=world.a.account.pk, cursor_key=key)
    assert (first.inserted, first.updated) == (3, 0)
    assert (second.inserted, second.updated) == (0, 3)
    assert snapshot(tid) == before


def test_mentions_record_the_queries_they_match_and_authors_are_upserted(world):
    tid = world.a.tenant.pk
    with tenant_context(tid):
        matched = set(MentionMatch.objects.filter(tenant_id=tid).values_list("mention__external_id", flat=True))
        author = Author.objects.get(tenant_id=tid, platform="x", platform_user_id="u-42")
    assert matched == {"1001", "1002"}  # "colis Acme ... retard ... livraison" matches the Brand query
    assert (author.handle, author.followers) == ("someone", 1200)
    page = sample_page(external_ids=("3001",), text="Rien à voir avec la marque", quarantined=False)
    page.mentions[0].author = AuthorData(platform_user_id="u-42", handle="someone_new", followers=1500)
    ingest_page(tid, platform="x", page=page, source="poll")
    with tenant_context(tid):
        author.refresh_from_db()
        assert (author.handle, author.followers) == ("someone_new", 1500)
        assert not MentionMatch.objects.filter(tenant_id=tid, mention__external_id="3001").exists()
        assert Author.objects.filter(tenant_id=tid).count() == 1


def test_an_edit_chain_is_one_mention_and_the_newest_text_wins_in_any_order(world):
    tid = world.a.tenant.pk

    def version(vid, text):
        return MentionData(external_id="5000", version_id=vid, text=text, created_at=datetime(2026, 11, 2, tzinfo=timezone.utc))

    ingest_page(tid, platform="x", page=Page(mentions=[version("5009", "edited text")]), source="poll")
    ingest_page(tid, platform="x", page=Page(mentions=[version("5000", "first text")]), source="poll")  # late original
    with tenant_context(tid):
        m = Mention.objects.get(tenant_id=tid, platform="x", external_id="5000")
    assert (m.text, m.version_id, m.is_edited) == ("edited text", "5009", True)
    # Both versions in one page: still one row, newest wins (ids of different lengths compare numerically).
    ingest_page(tid, platform="x", page=Page(mentions=[version("99999", "v2"), version("100000", "v3")]), source="poll")
    with tenant_context(tid):
        m.refresh_from_db()
    assert (m.text, m.version_id) == ("v3", "100000")


def test_bad_records_are_quarantined_and_the_rest_of_the_batch_is_stored(world):
    tid = world.a.tenant.pk
    good = sample_page(external_ids=("6001",), quarantined=False).mentions
    too_long = MentionData(external_id="x" * 500, text="t", created_at=datetime(2026, 11, 2, tzinfo=timezone.utc))
    naive = MentionData(external_id="6002", text="t", created_at=datetime(2026, 11, 2))
    result = ingest_page(tid, platform="x", source="poll", page=Page(
        mentions=[*good, too_long, naive], quarantined=[Quarantined(payload="not json {", reason="unparsable")]))
    assert (result.inserted, result.quarantined) == (1, 3)
    with tenant_context(tid):
        reasons = set(QuarantinedPayload.objects.filter(tenant_id=tid).values_list("reason", flat=True))
    assert {"external_id longer than 200 characters", "created_at missing or without a time zone", "unparsable"} <= reasons


def test_own_posts_and_plain_reposts_are_kept_but_flagged(world):
    tid = world.a.tenant.pk  # the account's external_id is "999" and is_own
    page = sample_page(external_ids=("7001", "7002"), quarantined=False, author_id="999")
    page.mentions[1].is_repost = True
    ingest_page(tid, platform="x", page=page, source="poll")
    with tenant_context(tid):
        flags = dict(Mention.objects.filter(tenant_id=tid, external_id__in=["7001", "7002"])
                     .values_list("external_id", "is_own"))
        repost = Mention.objects.get(tenant_id=tid, external_id="7002").is_repost
    assert flags == {"7001": True, "7002": True} and repost


def test_a_deletion_marks_the_stored_mention_deleted(world):
    tid = world.a.tenant.pk
    gone = MentionData(external_id="1001", text="", created_at=datetime(2026, 11, 2, tzinfo=timezone.utc), is_deleted=True)
    assert ingest_page(tid, platform="x", page=Page(mentions=[gone]), source="webhook").deleted == 1
    with tenant_context(tid):
        assert Mention.objects.get(tenant_id=tid, external_id="1001").is_deleted


def test_the_cursor_is_saved_in_the_same_transaction_as_the_rows(world):
    """If storing fails, neither the rows nor the cursor move: the poll is simply redone."""
    tid = world.a.tenant.pk
    key = CursorKey(world.a.account.pk, world.a.query.pk, "search")
    before = snapshot(tid)
    page = sample_page(external_ids=("8001",), quarantined=False)
    page.cursor = {"since_id": "8001"}
    # The cursor write fails (a stream name longer than its column) after the mention rows
    # were written in the same transaction: they must be rolled back with it.
    with pytest.raises(DataError):
        ingest_page(tid, platform="x", page=page, source="poll", cursor_key=CursorKey(key.account_id, None, "s" * 41))
    assert snapshot(tid) == before
    ingest_page(tid, platform="x", page=page, source="poll", cursor_key=key)
    with tenant_context(tid):
        assert PollCursor.objects.get(tenant_id=tid, account_id=key.account_id, query_id=key.query_id).state == {"since_id": "8001"}


def test_the_same_external_ids_in_two_tenants_are_two_mentions(world):
    with tenant_context(world.a.tenant.pk):
        a = set(Mention.objects.values_list("external_id", "tenant_id"))
    with tenant_context(world.b.tenant.pk):
        b = set(Mention.objects.values_list("external_id", "tenant_id"))
    assert {e for e, _t in a} == {e for e, _t in b} == {"1001", "1002"}
    assert {t for _e, t in a} == {world.a.tenant.pk} and {t for _e, t in b} == {world.b.tenant.pk}


# --- The ingest API -----------------------------------------------------------------------------


def _item(ext="r-1", **extra):
    return {"platform": "reviews", "external_id": ext, "text": "Livraison acme en retard", "created_at": "2026-11-02T10:00:00Z",
            "author": {"id": "a-1", "handle": "jo", "followers": 10}, **extra}


def test_the_token_bound_ingest_endpoint_is_idempotent_on_platform_and_external_id(client, world):
    auth = {"HTTP_AUTHORIZATION": f"Bearer {world.a.token_key}"}
    body = json.dumps({"mentions": [_item("r-1"), _item("r-2")]})
    first = client.post("/api/v1/mentions/ingest", body, content_type="application/json", **auth)
    assert first.status_code == 201 and first.json()["inserted"] == 2
    again = client.post("/api/v1/mentions/ingest", body, content_type="application/json", **auth)
    assert again.status_code == 201 and (again.json()["inserted"], again.json()["updated"]) == (0, 2)
    with tenant_context(world.a.tenant.pk):
        assert Mention.objects.filter(tenant_id=world.a.tenant.pk, platform="reviews").count() == 2
        assert MentionMatch.objects.filter(tenant_id=world.a.tenant.pk, mention__platform="reviews").count() == 2
    with tenant_context(world.b.tenant.pk):
        assert not Mention.objects.filter(tenant_id=world.b.tenant.pk, platform="reviews").exists()


def test_the_token_bound_ingest_endpoint_needs_a_token_with_the_right(client, world):
    body = json.dumps({"mentions": [_item()]})
    login(client, "admin@example.com")  # a session names no tenant: there is nothing to ingest into
    assert client.post("/api/v1/mentions/ingest", body, content_type="application/json").status_code == 404
    client.logout()
    from social_crm.tenancy.actions import api_token_create

    _t, marketer_key = api_token_create(world.a.tenant.pk, user=world.a.members["marketer"].user, name="m")
    denied = client.post("/api/v1/mentions/ingest", body, content_type="application/json",
                         HTTP_AUTHORIZATION=f"Bearer {marketer_key}")
    assert denied.status_code == 403


@pytest.mark.parametrize(("items", "field"), [
    ([_item(created_at="yesterday")], "created_at"),
    ([_item(platform="Not A Slug!")], "platform"),
    ([{"text": "no id"}], "external_id"),
    ([_item(like_count=-1)], "like_count"),
    ([_item(author={"handle": "no id"})], "author"),
])
def test_malformed_ingest_items_are_a_400_naming_the_item_and_field_and_nothing_is_stored(client, world, items, field):
    auth = {"HTTP_AUTHORIZATION": f"Bearer {world.a.token_key}"}
    response = client.post("/api/v1/mentions/ingest", json.dumps({"mentions": [_item("ok-1"), *items]}),
                           content_type="application/json", **auth)
    assert response.status_code == 400
    errors = response.json()["mentions"]
    assert list(errors) == ["1"] and field in errors["1"]  # only the bad item, by its index
    with tenant_context(world.a.tenant.pk):
        assert not Mention.objects.filter(tenant_id=world.a.tenant.pk, external_id="ok-1").exists()


def test_an_empty_or_oversized_batch_is_a_400(client, world):
    auth = {"HTTP_AUTHORIZATION": f"Bearer {world.a.token_key}"}
    assert client.post("/api/v1/mentions/ingest", json.dumps({"mentions": []}), content_type="application/json", **auth).status_code == 400
    big = {"mentions": [_item(f"r-{i}") for i in range(1001)]}
    assert client.post("/api/v1/mentions/ingest", json.dumps(big), content_type="application/json", **auth).status_code == 400


def test_only_http_links_are_stored(world):
    tid = world.a.tenant.pk
    m = MentionData(external_id="9100", text="x", created_at=datetime(2026, 11, 2, tzinfo=timezone.utc),
                    url="javascript:alert(1)",
                    author=AuthorData(platform_user_id="evil", profile_url="data:text/html,hi", avatar_url="https://a.example/p.png"))
    ingest_page(tid, platform="x", page=Page(mentions=[m]), source="ingest_api")
    with tenant_context(tid):
        stored = Mention.objects.select_related("author").get(tenant_id=tid, external_id="9100")
    assert (stored.url, stored.author.profile_url, stored.author.avatar_url) == ("", "", "https://a.example/p.png")


def test_a_quarantined_record_that_parses_now_is_stored_once_on_replay(client, world):
    from listening.actions import quarantine_replay

    from .test_connector_x import sns

    tid = world.a.tenant.pk
    page = sns("apis/searches/search_tweets_query.json")
    with tenant_context(tid):
        item = QuarantinedPayload.objects.create(tenant_id=tid, platform="x", source="poll", payload=page,
                                                 reason="parser bug (fixed since)")
    replayed = quarantine_replay(tid, actor=None, item_id=item.pk)
    assert replayed.replayed_at is not None and replayed.replay_error == ""
    ids = {t["id"] for t in page["data"]}
    with tenant_context(tid):
        assert set(Mention.objects.filter(tenant_id=tid, platform="x", external_id__in=ids).values_list("external_id", flat=True)) == ids
    again = quarantine_replay(tid, actor=None, item_id=item.pk)
    assert again.replayed_at == replayed.replayed_at  # a second replay changes nothing
    # A record that still does not parse keeps its reason and says why the replay failed.
    still_bad = world.a.quarantined  # {"id": None} from the world
    failed = quarantine_replay(tid, actor=None, item_id=still_bad.pk)
    assert failed.replayed_at is None and failed.replay_error


def test_a_mention_of_any_source_slug_reads_back_as_the_schema_documents(client, world):
    """The ingest API takes any source slug, so the read side documents platform as a string:
    with the enum of the polled platforms, a 'reviews' mention broke the schema (schemathesis)."""
    auth = {"HTTP_AUTHORIZATION": f"Bearer {world.a.token_key}"}
    body = json.dumps({"mentions": [_item("r-9")]})
    assert client.post("/api/v1/mentions/ingest", body, content_type="application/json", **auth).status_code == 201
    listed = client.get("/api/v1/t/acme/mentions/", **auth)
    assert listed.status_code == 200
    assert "reviews" in [m["platform"] for m in listed.json()["results"]]
    schema = client.get("/api/schema/", {"format": "json"}).json()["components"]["schemas"]
    for component in ("Mention", "Author", "Conversation", "Identity"):
        platform = schema[component]["properties"]["platform"]
        assert platform.get("type") == "string" and "enum" not in platform and "$ref" not in platform, component
