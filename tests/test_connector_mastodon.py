"""The Mastodon connector on recorded Mastodon API traffic (Mastodon.py's vcrpy cassettes in
tests/fixtures/mastodon, see LICENSE-NOTES.md there).

The network is replaced at requests' transport adapter (``HTTPAdapter.send``): Mastodon.py runs
unchanged, and every request it sends must be one the test expects, answered by a recorded
response (or one built from recorded payloads and headers, said where). No database.
"""

from __future__ import annotations

import copy
import io
import json
import time
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
import yaml
from urllib3.response import HTTPResponse

from listening.connectors import get_connector
from listening.connectors.base import (
    AccountConfig,
    NeedsReconnect,
    PermanentError,
    RateLimited,
    StreamRequest,
    TransientError,
)
from listening.connectors.mastodon import MastodonConnector, html_to_text, parse_payload
from listening.connectors.mastodon.connector import hashtags, snowflake_id

FIXTURES = Path(__file__).parent / "fixtures" / "mastodon"
BASE = "http://localhost:3000"
HOST = "localhost:3000"


# --- recorded traffic ----------------------------------------------------------------------------


def interaction(cassette: str, index: int) -> dict:
    return yaml.safe_load((FIXTURES / cassette).read_text())["interactions"][index]


def recorded(cassette: str, index: int) -> dict:
    """The recorded response of one interaction: status, headers (one value each), body."""
    response = interaction(cassette, index)["response"]
    headers = {k: ", ".join(v) if isinstance(v, list) else v for k, v in response["headers"].items()}
    return {"status": response["status"]["code"], "reason": response["status"]["message"],
            "headers": headers, "body": response["body"]["string"]}


def body(cassette: str, index: int):
    return json.loads(recorded(cassette, index)["body"])


def respond(payload, *, status=200, headers=None, like=("test_hashtag_tl.yaml", 2)) -> dict:
    """A response built in the test: recorded headers of a similar real response, a JSON body."""
    base = recorded(*like)["headers"] if like else {}
    base = {k: v for k, v in base.items() if k.lower() not in ("link", "etag")}
    base.update(headers or {})
    return {"status": status, "reason": "", "headers": base, "body": json.dumps(payload)}


class FakeNetwork:
    """Answers requests at the transport adapter from a list of expected requests."""

    def __init__(self):
        self.routes: list[tuple[str, str, dict, object]] = []
        self.calls: list[requests.PreparedRequest] = []
        self.unexpected: list[str] = []

    def add(self, method: str, url: str, answer, **params) -> None:
        """``answer``: a response dict (see ``recorded``) or an exception to raise. A route matches
        the method, the path and at least the given query parameters; the latest added wins."""
        self.routes.insert(0, (method, url, {k.replace("__", "[]"): str(v) for k, v in params.items()}, answer))

    def send(self, adapter, request, stream=False, timeout=None, verify=True, cert=None, proxies=None):
        self.calls.append(request)
        parts = urlsplit(request.url)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        for method, url, params, answer in self.routes:
            if method == request.method and url == f"{parts.scheme}://{parts.netloc}{parts.path}" and \
                    all(query.get(k) == v for k, v in params.items()):
                if isinstance(answer, BaseException):
                    raise answer
                headers = {k: v for k, v in answer["headers"].items()
                           if k.lower() not in ("content-length", "content-encoding", "transfer-encoding")}
                data = answer["body"].encode() if isinstance(answer["body"], str) else answer["body"]
                raw = HTTPResponse(body=io.BytesIO(data), headers=headers, status=answer["status"],
                                   reason=answer.get("reason", ""), preload_content=False, decode_content=False)
                return adapter.build_response(request, raw)
        self.unexpected.append(f"{request.method} {request.url}")
        raise requests.ConnectionError(f"unexpected request {request.method} {request.url}")

    def requested(self, path: str) -> list[dict]:
        return [dict(parse_qsl(urlsplit(c.url).query)) for c in self.calls if urlsplit(c.url).path == path]


@pytest.fixture
def net(monkeypatch):
    fake = FakeNetwork()

    def send(adapter, request, **kwargs):
        return fake.send(adapter, request, **kwargs)

    monkeypatch.setattr(requests.adapters.HTTPAdapter, "send", send)
    # Mastodon.py checks whether hashtag timelines are public: the recorded instance document.
    fake.add("GET", f"{BASE}/api/v2/instance/", recorded("test_hashtag_tl.yaml", 1))
    yield fake
    assert not fake.unexpected, f"requests nobody expected: {fake.unexpected}"


@pytest.fixture
def connector():
    return MastodonConnector(AccountConfig(platform="mastodon", handle="mastodonpy_test", base_url=BASE,
                                           credentials={"access_token": "__MASTODON_PY_TEST_ACCESS_TOKEN"}))


def hashtag(*keywords, since=None):
    return StreamRequest(stream="hashtag", query_keywords=keywords, since=since)


TAG = f"{BASE}/api/v1/timelines/tag/hoot"
PAGES = "test_fetch_next_previous.yaml"  # 10 toots; #11 newest page, #12 older, #13 min_id page


def toots(mentions):
    return [m.text for m in mentions]


# --- parsing -----------------------------------------------------------------------------------


def test_registry_returns_the_connector():
    assert get_connector("mastodon") is MastodonConnector
    assert MastodonConnector.query_streams == ("hashtag", "search")
    assert MastodonConnector.account_streams == ("notifications",)


def test_status_normalised_with_its_author():
    result = parse_payload(body("test_hashtag_tl.yaml", 2), instance_host=HOST)
    assert result.quarantined == []
    [m] = result.mentions
    assert m.external_id == "http://localhost:3000/ap/users/117020566092212359/statuses/117020593741189701"
    assert m.text == "#hoot (hashtag toot)"
    assert m.language == "ja"
    assert m.url == "http://localhost:3000/@mastodonpy_test_2/117020593741189701"
    assert m.created_at == datetime(2026, 8, 1, 13, 55, 55, 867000, tzinfo=timezone.utc)
    assert (m.like_count, m.share_count, m.reply_count) == (0, 0, 0)
    assert not m.is_repost and not m.is_edited and m.version_id == ""
    assert m.conversation_external_id == m.external_id  # not a reply: its own conversation
    a = m.author
    assert a.platform_user_id == a.handle == "mastodonpy_test_2@localhost:3000"  # local acct qualified
    assert a.followers == 0 and a.verified is False
    assert a.profile_url == "http://localhost:3000/@mastodonpy_test_2"
    assert a.avatar_url == "http://localhost:3000/avatars/original/missing.png"
    json.dumps(m.raw)  # storable as is


def test_html_content_becomes_plain_text():
    # Recorded: '<p>it&#39;s cool guy</p>' and a mention's h-card markup.
    assert parse_payload(body("test_stream_user_local.yaml", 4), instance_host=HOST).mentions[0].text == "it's cool guy"
    reply = parse_payload(body("test_status_reply.yaml", 2), instance_host=HOST).mentions[0]
    assert reply.text == "@mastodonpy_test_2 same!"
    html = ('<p>Line one<br>line two &amp; <a href="https://example.com/x"><span class="invisible">https://'
            '</span><span class="ellipsis">example.com/very/long</span><span class="invisible">/path</span></a>'
            '</p><p>Second &lt;paragraph&gt;</p>')
    assert html_to_text(html) == "Line one\nline two & https://example.com/very/long/path\n\nSecond <paragraph>"
    # A content warning comes first.
    status = body("test_stream_user_local.yaml", 4)
    status["spoiler_text"] = "CW: food &amp; drink"
    assert parse_payload(status, instance_host=HOST).mentions[0].text == "CW: food & drink\n\nit's cool guy"


def test_verified_only_from_a_verified_profile_field():
    status = body(PAGES, 11)[0]
    assert parse_payload(status, instance_host=HOST).mentions[0].author.verified is False  # verified_at null
    status["account"]["fields"][0]["verified_at"] = "2026-08-01T12:00:00.000+00:00"
    assert parse_payload(status, instance_host=HOST).mentions[0].author.verified is True


def test_edit_keeps_one_external_id_and_the_new_text():
    original = parse_payload(body("test_status_edit.yaml", 0), instance_host=HOST).mentions[0]
    edited = parse_payload(body("test_status_edit.yaml", 3), instance_host=HOST).mentions[0]
    assert original.external_id == edited.external_id
    assert original.text == "the best editor? why, of course it is VS Code"
    assert edited.text == "the best editor? why, of course it is the KDE Advanced Text Editor, Kate"
    assert (original.is_edited, original.version_id) == (False, "")
    assert (edited.is_edited, edited.version_id) == (True, "2026-08-01T13:54:00.695Z")
    assert edited.created_at == original.created_at
    # Ingest keeps the version that sorts highest: the edit, whatever the order of arrival.
    assert (len(edited.version_id), edited.version_id) > (len(original.version_id), original.version_id)


def test_boost_is_flagged_repost_and_the_boosted_status_kept():
    # Built: a reblog wrapper as Mastodon serves it (uri .../activity, empty content) around the
    # recorded hashtag status, boosted by the recorded account of another cassette.
    boosted = body("test_hashtag_tl.yaml", 2)[0]
    booster = body("test_stream_user_local.yaml", 4)["account"]
    wrapper = {**copy.deepcopy(boosted), "id": "117020600000000000", "content": "", "reblog": boosted,
               "account": booster, "created_at": "2026-08-01T14:00:00.000Z", "url": None, "language": None,
               "uri": f"{booster['uri']}/statuses/117020600000000000/activity",
               "favourites_count": 0, "reblogs_count": 0, "replies_count": 0}
    result = parse_payload([wrapper], instance_host=HOST)
    original, boost = result.mentions
    assert original.external_id == boosted["uri"] and not original.is_repost
    assert boost.is_repost and boost.external_id == wrapper["uri"] != original.external_id
    assert boost.text == "#hoot (hashtag toot)"
    assert boost.author.platform_user_id == "mastodonpy_test@localhost:3000"
    assert original.author.platform_user_id == "mastodonpy_test_2@localhost:3000"
    assert boost.like_count is None and boost.url == boosted["url"]


def test_same_post_through_two_instances_is_one_mention():
    here = body("test_hashtag_tl.yaml", 2)[0]
    # Built: how a second instance (social.example) serves the same post: its own local id and
    # a remote acct, the same uri (ActivityPub id).
    there = copy.deepcopy(here)
    there["id"] = "113000000000000001"
    there["account"]["id"] = "113000000000000999"
    there["account"]["acct"] = "mastodonpy_test_2@localhost:3000"
    a = parse_payload(here, instance_host=HOST).mentions[0]
    b = parse_payload(there, instance_host="social.example").mentions[0]
    assert a.external_id == b.external_id
    assert a.author.platform_user_id == b.author.platform_user_id == "mastodonpy_test_2@localhost:3000"


def test_malformed_statuses_quarantined_the_rest_kept():
    page = body(PAGES, 11)
    del page[1]["uri"]
    page[3]["created_at"] = "not a date"
    page.append("garbage")
    result = parse_payload(page, instance_host=HOST)
    assert toots(result.mentions) == ["Toot number 9!", "Toot number 7!", "Toot number 5!"]
    assert sorted(q.reason for q in result.quarantined) == [
        "not a Mastodon object", "status without a valid created_at", "status without uri"]
    assert result.quarantined[0].payload  # kept whole for replay


def test_mention_notification_parsed_other_types_skipped():
    [notification] = body("test_notifications_mentions_only.yaml", 1)
    # Built from the recorded mention: a favourite, and a mention whose status was deleted.
    favourite = {**copy.deepcopy(notification), "id": "22", "type": "favourite"}
    gone = {**copy.deepcopy(notification), "id": "23", "status": None}
    result = parse_payload([favourite, notification, gone], instance_host=HOST)
    assert result.quarantined == []
    [m] = result.mentions
    assert m.text == "@mastodonpy_test hello!"
    assert m.author.platform_user_id == "admin@localhost:3000"


def test_hashtags_from_keywords():
    assert hashtags(("#SNCF", "retard", "#sncf")) == ["SNCF"]
    assert hashtags(("sncf", '"service client"', "retard train", "@ouigo", "2024")) == ["sncf", "serviceclient", "ouigo"]


# --- the hashtag stream ------------------------------------------------------------------------


def test_hashtag_stream_reads_the_tag_timeline_and_keeps_the_link_cursor(net, connector):
    net.add("GET", TAG, recorded("test_hashtag_tl.yaml", 2))
    page = connector.fetch(hashtag("#hoot"), {})
    assert toots(page.mentions) == ["#hoot (hashtag toot)"]
    assert page.mentions[0].author.platform_user_id == "mastodonpy_test_2@localhost:3000"
    assert page.cursor == {"next": 0, "terms": {"hoot": {"min_id": "117020593741189701"}}}
    assert page.has_more is False
    [params] = net.requested("/api/v1/timelines/tag/hoot")
    assert params == {"limit": "40"}
    assert net.calls[-1].headers["Authorization"] == "Bearer __MASTODON_PY_TEST_ACCESS_TOKEN"


def test_first_poll_takes_the_newest_page_only(net, connector):
    connector.page_limit = 5
    net.add("GET", TAG, recorded(PAGES, 11))  # a full page with next and prev links
    page = connector.fetch(hashtag("#hoot"), {})
    assert toots(page.mentions)[0] == "Toot number 9!" and len(page.mentions) == 5
    assert page.cursor["terms"]["hoot"] == {"min_id": "117020580518794573"}  # from Link rel="prev"
    assert page.has_more is False  # no history on the first poll


def test_paging_forward_with_the_link_header_to_the_last_page(net, connector):
    """min_id pages walk forward: the recorded older page, then the recorded answer to its
    rel="prev" min_id, then an empty page (built) where the stream is caught up."""
    connector.page_limit = 5
    start = "117020580445000000"
    net.add("GET", TAG, recorded(PAGES, 12), min_id=start)  # toots 4..0 (recorded as the max_id page)
    net.add("GET", TAG, recorded(PAGES, 13), min_id="117020580481736214")  # recorded min_id request
    net.add("GET", TAG, respond([]), min_id="117020580518794573")
    cursor = {"next": 0, "terms": {"hoot": {"min_id": start}}}

    first = connector.fetch(hashtag("#hoot"), cursor)
    assert toots(first.mentions) == [f"Toot number {i}!" for i in (4, 3, 2, 1, 0)]
    assert first.has_more and first.cursor["terms"]["hoot"] == {"min_id": "117020580481736214"}

    second = connector.fetch(hashtag("#hoot"), first.cursor)
    assert toots(second.mentions) == [f"Toot number {i}!" for i in (9, 8, 7, 6, 5)]
    assert second.has_more and second.cursor["terms"]["hoot"] == {"min_id": "117020580518794573"}

    last = connector.fetch(hashtag("#hoot"), second.cursor)
    assert last.mentions == [] and last.has_more is False
    assert last.cursor == second.cursor
    assert [p["min_id"] for p in net.requested("/api/v1/timelines/tag/hoot")] == [
        start, "117020580481736214", "117020580518794573"]


def test_backfill_since_starts_at_the_id_of_that_time(net, connector):
    connector.page_limit = 5
    since = datetime(2026, 8, 1, 13, 50, tzinfo=timezone.utc)
    net.add("GET", TAG, recorded(PAGES, 12), min_id=snowflake_id(since))
    page = connector.fetch(hashtag("#hoot", since=since), {})
    assert len(page.mentions) == 5 and page.has_more  # a full page after `since`: more to come
    # The snowflake of `since` sorts below every toot of that day.
    assert int(snowflake_id(since)) < int(page.mentions[-1].raw["id"])


def test_hashtag_terms_rotate_through_the_round(net, connector):
    net.add("GET", TAG, recorded("test_hashtag_tl.yaml", 2))
    net.add("GET", f"{BASE}/api/v1/timelines/tag/kate", respond([body("test_status_edit.yaml", 3)]))
    first = connector.fetch(hashtag("hoot", "kate"), {})
    assert first.has_more and first.cursor["next"] == 1  # the round is not over
    second = connector.fetch(hashtag("hoot", "kate"), first.cursor)
    assert toots(second.mentions) == ["the best editor? why, of course it is the KDE Advanced Text Editor, Kate"]
    assert second.has_more is False and second.cursor["next"] == 0
    assert set(second.cursor["terms"]) == {"hoot", "kate"}
    # A keyword removed from the query drops its state.
    net.add("GET", TAG, respond([]), min_id="117020593741189701")
    third = connector.fetch(hashtag("hoot"), second.cursor)
    assert set(third.cursor["terms"]) == {"hoot"}


def test_edit_seen_by_a_later_poll_is_the_same_mention(net, connector):
    net.add("GET", f"{BASE}/api/v1/timelines/tag/kate", respond([body("test_status_edit.yaml", 0)]))
    before = connector.fetch(hashtag("#kate"), {}).mentions[0]
    net.add("GET", f"{BASE}/api/v1/timelines/tag/kate", respond([body("test_status_edit.yaml", 3)]))
    after = connector.fetch(hashtag("#kate"), {}).mentions[0]
    assert before.external_id == after.external_id
    assert after.text.endswith("Kate") and after.is_edited and after.version_id > before.version_id


def test_malformed_status_in_a_page_is_quarantined_and_the_page_kept(net, connector):
    page = body(PAGES, 11)
    del page[2]["account"]
    net.add("GET", TAG, respond(page))
    result = connector.fetch(hashtag("#hoot"), {})
    assert len(result.mentions) == 4
    [q] = result.quarantined
    assert q.reason == "status without account" and q.payload["id"] == page[2]["id"]
    assert result.cursor["terms"]["hoot"] == {"min_id": "117020580518794573"}


# --- replies and missing statuses ------------------------------------------------------------------


def test_reply_parent_looked_up_as_its_uri(net, connector):
    net.add("GET", TAG, respond([body("test_status_reply.yaml", 2)]))
    net.add("GET", f"{BASE}/api/v1/statuses/117020583245459824", recorded("test_status_reply.yaml", 0))
    [reply] = connector.fetch(hashtag("#hoot"), {}).mentions
    assert reply.parent_external_id == "http://localhost:3000/ap/users/117020566092212359/statuses/117020583245459824"
    assert reply.conversation_external_id == ""  # the root is unknown; not guessed


def test_reply_parent_in_the_same_page_needs_no_lookup(net, connector):
    net.add("GET", TAG, respond([body("test_status_reply.yaml", 2), body("test_status_reply.yaml", 0)]))
    reply, parent = connector.fetch(hashtag("#hoot"), {}).mentions
    assert reply.parent_external_id == parent.external_id
    assert not net.requested("/api/v1/statuses/117020583245459824")


def test_missing_parent_status_is_handled(net, connector):
    """The parent was deleted (the cassette deletes it): the recorded 404 of a missing status."""
    net.add("GET", TAG, respond([body("test_status_reply.yaml", 2)]))
    net.add("GET", f"{BASE}/api/v1/statuses/117020583245459824", recorded("test_status_missing.yaml", 0))
    page = connector.fetch(hashtag("#hoot"), {})
    [reply] = page.mentions
    assert reply.parent_external_id == "" and reply.text == "@mastodonpy_test_2 same!"
    assert page.quarantined == []


def test_deleted_status_as_returned_by_delete_still_parses():
    # The recorded DELETE answer carries the source `text` instead of `content`.
    [m] = parse_payload(body("test_status_reply.yaml", 4), instance_host=HOST).mentions
    assert m.text == "Toot, finally!"


# --- search ------------------------------------------------------------------------------------

SEARCH = f"{BASE}/api/v2/search"


def search(*keywords):
    return StreamRequest(stream="search", query_keywords=keywords)


def results(statuses):
    """Built: a /api/v2/search body around recorded statuses (the recorded searches found none)."""
    return respond({"accounts": [], "statuses": statuses, "hashtags": []}, like=("test_search.yaml", 2))


def test_search_rotates_one_keyword_per_fetch(net, connector):
    net.add("GET", SEARCH, recorded("test_search.yaml", 2), q="mastodonpy_test", type="statuses")
    net.add("GET", SEARCH, results([body("test_status_edit.yaml", 3)]), q="Kate", type="statuses")
    first = connector.fetch(search("mastodonpy_test", "Kate"), {})
    assert first.mentions == [] and first.has_more and first.cursor["next"] == 1
    second = connector.fetch(search("mastodonpy_test", "Kate"), first.cursor)
    assert [m.external_id for m in second.mentions] == [body("test_status_edit.yaml", 3)["uri"]]
    assert second.has_more is False and second.cursor["next"] == 0
    assert second.cursor["terms"]["kate"] == {"min_id": "117020586180926938"}
    queries = net.requested("/api/v2/search")
    assert [q["q"] for q in queries] == ["mastodonpy_test", "Kate"]
    assert all(q["type"] == "statuses" and q["limit"] == "40" for q in queries)


def test_search_sweeps_a_full_page_down_then_moves_its_floor(net, connector):
    connector.page_limit = 5
    floor = "117020580400000000"
    net.add("GET", SEARCH, results(body(PAGES, 11)), q="toot", min_id=floor)
    net.add("GET", SEARCH, results(body(PAGES, 12)), q="toot", min_id=floor, max_id="117020580489281910")
    net.add("GET", SEARCH, results([]), q="toot", min_id=floor, max_id="117020580452511285")
    cursor = {"next": 0, "terms": {"toot": {"min_id": floor}}}
    seen = []
    for _ in range(3):
        page = connector.fetch(search("toot"), cursor)
        seen += toots(page.mentions)
        cursor = page.cursor
    assert seen == [f"Toot number {i}!" for i in range(9, -1, -1)]
    assert page.has_more is False
    assert cursor["terms"]["toot"] == {"min_id": "117020580518794573"}  # the newest seen


# --- notifications -----------------------------------------------------------------------------

NOTIFICATIONS = f"{BASE}/api/v1/notifications"


def test_notifications_mentions_only_with_cursor(net, connector):
    net.add("GET", NOTIFICATIONS, recorded("test_notifications_mentions_only.yaml", 1))
    page = connector.fetch(StreamRequest(stream="notifications"), {})
    [m] = page.mentions
    assert m.external_id == "http://localhost:3000/ap/users/117020565693913441/statuses/117020577157693549"
    assert m.author.platform_user_id == "admin@localhost:3000"
    assert page.cursor == {"min_id": "21"} and page.has_more is False
    [params] = net.requested("/api/v1/notifications")
    assert params["types[]"] == "mention"


def test_notifications_other_types_and_deleted_statuses_skipped(net, connector):
    [notification] = body("test_notifications_mentions_only.yaml", 1)
    # Built: what a server that ignores types[] sends (a favourite), and a mention whose status is gone.
    favourite = {**copy.deepcopy(notification), "id": "22", "type": "favourite"}
    gone = {**copy.deepcopy(notification), "id": "23", "status": None}
    net.add("GET", NOTIFICATIONS, respond([gone, favourite, notification]), min_id="20")
    page = connector.fetch(StreamRequest(stream="notifications"), {"min_id": "20"})
    assert [m.text for m in page.mentions] == ["@mastodonpy_test hello!"]
    assert page.cursor == {"min_id": "23"}


# --- errors --------------------------------------------------------------------------------------


def test_rate_limit_raises_with_the_reset_time_and_never_sleeps(net, connector, monkeypatch):
    monkeypatch.setattr(time, "sleep", lambda s: pytest.fail("Mastodon.py slept in a worker"))
    # Built: a 429 with the recorded rate-limit headers of a real response (server clock
    # 13:56:08, window reset 14:00:00.167624): the reset is 232 s after the server's now.
    headers = recorded("test_timeline_link_fails.yaml", 0)["headers"]
    headers = {**headers, "x-ratelimit-remaining": "0"}
    net.add("GET", TAG, {"status": 429, "reason": "Too Many Requests", "headers": headers,
                         "body": '{"error":"Too many requests"}'})
    before = datetime.now(timezone.utc)
    with pytest.raises(RateLimited) as caught:
        connector.fetch(hashtag("#hoot"), {})
    assert caught.value.status == 429 and caught.value.transient
    assert before + timedelta(seconds=225) < caught.value.reset_at < datetime.now(timezone.utc) + timedelta(seconds=240)


def test_rate_limit_reset_from_the_header_when_clocks_agree(net, connector):
    reset = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(minutes=3)
    net.add("GET", TAG, respond({"error": "Too many requests"}, status=429, headers={
        "Date": format_datetime(datetime.now(timezone.utc), usegmt=True),
        "x-ratelimit-remaining": "0", "x-ratelimit-reset": reset.isoformat().replace("+00:00", "Z")}))
    with pytest.raises(RateLimited) as caught:
        connector.fetch(hashtag("#hoot"), {})
    assert abs((caught.value.reset_at - reset).total_seconds()) < 5


def test_invalid_token_needs_reconnect(net, connector):
    # Built: Mastodon's answer to a revoked token, with recorded headers.
    net.add("GET", NOTIFICATIONS, respond({"error": "The access token is invalid"}, status=401))
    with pytest.raises(NeedsReconnect) as caught:
        connector.fetch(StreamRequest(stream="notifications"), {})
    assert caught.value.status == 401 and not caught.value.transient
    assert "access token is invalid" in str(caught.value)


def test_missing_scope_needs_reconnect(net, connector):
    net.add("GET", NOTIFICATIONS, respond({"error": "This action is outside the authorized scopes"}, status=403))
    with pytest.raises(NeedsReconnect):
        connector.fetch(StreamRequest(stream="notifications"), {})


def test_not_found_is_permanent(net, connector):
    net.add("GET", TAG, recorded("test_timeline_link_fails.yaml", 1))  # the recorded 404 "Record not found"
    with pytest.raises(PermanentError) as caught:
        connector.fetch(hashtag("#hoot"), {})
    assert caught.value.status == 404 and not isinstance(caught.value, NeedsReconnect)
    assert not caught.value.transient


@pytest.mark.parametrize("answer", [
    {"status": 503, "reason": "Service Unavailable", "headers": {"content-type": "text/html"}, "body": "<h1>down</h1>"},
    {"status": 500, "reason": "Internal Server Error", "headers": {"content-type": "application/json"},
     "body": '{"error":"We\'re sorry, but something went wrong on our end."}'},
    {"status": 200, "reason": "OK", "headers": {"content-type": "text/html"}, "body": "<html>maintenance</html>"},
    requests.ConnectionError("connection reset by peer"),
    requests.ReadTimeout("read timed out"),
])
def test_server_and_network_errors_are_transient(net, connector, answer):
    net.add("GET", TAG, answer)
    with pytest.raises(TransientError) as caught:
        connector.fetch(hashtag("#hoot"), {})
    assert not isinstance(caught.value, RateLimited)


def test_no_instance_url_is_permanent():
    with pytest.raises(PermanentError):
        MastodonConnector(AccountConfig(platform="mastodon")).fetch(hashtag("#hoot"), {})


def test_unknown_stream_and_no_keywords(net, connector):
    with pytest.raises(PermanentError):
        connector.fetch(StreamRequest(stream="mentions"), {})
    page = connector.fetch(hashtag(), {"next": 0})
    assert page.mentions == [] and page.cursor == {"next": 0} and not net.calls


def test_plain_turns_mastodon_py_objects_into_the_json_mastodon_sends():
    """``plain`` (an orjson round trip) gives what the Python walk gives: Mastodon.py's dict
    subclasses and datetimes back to plain JSON, datetimes in Mastodon's own millisecond form."""
    from mastodon.return_types import AttribAccessDict

    from listening.connectors.mastodon.parse import _walk, plain

    def attrib(**values):  # as Mastodon.py builds its return objects
        obj = AttribAccessDict()
        obj.update(values)
        return obj

    status = attrib(**{
        "id": "113", "created_at": datetime(2026, 8, 1, 13, 54, 0, 695123, tzinfo=timezone(timedelta(hours=2))),
        "edited_at": datetime(2026, 8, 1, 12, 0),  # naive: taken as UTC
        "account": attrib(acct="alice", bot=False, followers_count=12, score=1.5),
        "tags": ({"name": "acme", 7: None},), "day": datetime(2026, 8, 1).date(),
    })
    out = plain(status)
    assert out == {"id": "113", "created_at": "2026-08-01T11:54:00.695Z", "edited_at": "2026-08-01T12:00:00.000Z",
                   "account": {"acct": "alice", "bot": False, "followers_count": 12, "score": 1.5},
                   "tags": [{"name": "acme", "7": None}], "day": "2026-08-01"}
    assert type(out) is dict and type(out["account"]) is dict and out == _walk(status)
    # What orjson refuses (an integer beyond 64 bits) takes the walk, with the same result.
    assert plain({"n": 2**70, "at": status["created_at"]}) == {"n": 2**70, "at": "2026-08-01T11:54:00.695Z"}
