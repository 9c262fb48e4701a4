"""The Facebook connector on recorded / documented Graph API bodies (tests/fixtures/facebook/,
sources in LICENSE-NOTES.md). HTTP is stubbed at the transport: a ``requests`` adapter mounted on
the session answers every request, so GraphClient and the connector run unchanged and nothing
can reach the network. No database."""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
from django.http import QueryDict
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

from listening.connectors import get_connector
from listening.connectors.base import (
    AccountConfig, NeedsReconnect, PermanentError, RateLimited, StreamRequest, TransientError,
)
from listening.connectors.facebook import (
    COMMENT_FIELDS, POST_FIELDS, FacebookConnector, GraphClient, WebhookRejected, check_signature,
    parse_feed_changes, parse_payload, verify_challenge,
)

FIXTURES = Path(__file__).parent / "fixtures" / "facebook"
PAGE_ID = "19292868552"
TOKEN = "page-token-123"  # noqa: S105 (a test value)
VERSION = "v21.0"
UTC = timezone.utc


def fixture(name: str):
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def raw_fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


# --- a fake Graph API at the transport level ------------------------------------------------------


@dataclass
class Call:
    host: str
    path: str
    params: dict
    timeout: object


@dataclass
class Route:
    path: str
    body: object
    status: int
    headers: dict
    when: object
    raises: Exception | None


class FakeGraph(BaseAdapter):
    """Answers requests by path (and an optional predicate on the query; the latest matching route
    wins); records every call; fails the test on any request it was not told about."""

    def __init__(self):
        super().__init__()
        self.routes: list[Route] = []
        self.calls: list[Call] = []

    def add(self, path, body=None, *, status=200, headers=None, when=None, raises=None):
        self.routes.append(Route(path, body, status, headers or {}, when, raises))
        return self

    def send(self, request, stream=False, timeout=None, verify=True, cert=None, proxies=None):
        parts = urlsplit(request.url)
        params = dict(parse_qsl(parts.query, keep_blank_values=True))
        self.calls.append(Call(parts.netloc, parts.path, params, timeout))
        assert parts.netloc == "graph.facebook.com", f"request off the Graph host: {request.url}"
        for route in reversed(self.routes):  # the latest route added for a request wins
            if route.path == parts.path and (route.when is None or route.when(params)):
                if route.raises is not None:
                    raise route.raises
                return self._response(request, route)
        raise AssertionError(f"unexpected request: {parts.path} {sorted(params)}")

    @staticmethod
    def _response(request, route: Route) -> requests.Response:
        response = requests.Response()
        response.status_code = route.status
        body = route.body
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        elif isinstance(body, str):
            body = body.encode()
        response._content = body or b""
        response.headers = CaseInsensitiveDict({"Content-Type": "application/json; charset=UTF-8", **route.headers})
        response.encoding = "utf-8"
        response.url = request.url
        response.request = request
        return response

    def close(self):
        pass

    def calls_to(self, suffix: str) -> list[Call]:
        return [c for c in self.calls if c.path.endswith(suffix)]


@pytest.fixture
def graph(settings):
    settings.FACEBOOK_GRAPH_VERSION = VERSION
    settings.FACEBOOK_APP_SECRET = ""
    return FakeGraph()


@pytest.fixture
def session(graph):
    s = requests.Session()
    s.mount("https://", graph)
    s.mount("http://", graph)
    return s


def account(**credentials) -> AccountConfig:
    return AccountConfig(platform="facebook", external_id=PAGE_ID,
                         credentials=credentials or {"page_access_token": TOKEN})


@pytest.fixture
def connector(session):
    return FacebookConnector(account(), session=session)


def path(*parts: str) -> str:
    return "/" + "/".join([VERSION, *parts])


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def unix(value: str) -> int:
    return int(datetime.strptime(value, "%Y-%m-%dT%H:%M:%S%z").timestamp())


# --- registry and shape ------------------------------------------------------------------------


def test_registered_with_account_streams_only():
    cls = get_connector("facebook")
    assert cls is FacebookConnector
    assert cls.platform == "facebook"
    assert cls.account_streams == ("feed", "visitor_posts", "tagged")
    assert cls.query_streams == ()


# --- polling -----------------------------------------------------------------------------------

FIRST_POST = "19292868552_10158349356748553"


def comments_with_replies():
    """comment_by_parent_p1 with two of its comments made replies to the first one, as Graph
    returns replies with filter=stream and the ``parent{id}`` field."""
    body = copy.deepcopy(fixture("graph/comment_by_parent_p1.json"))
    first = body["data"][0]["id"]
    for record in body["data"][2:4]:
        record["parent"] = {"id": first}
    return body


def test_feed_pages_to_the_last_page_with_nested_comments(graph, connector):
    feed = path(PAGE_ID, "feed")
    graph.add(feed, fixture("graph/page_feed_p1.json"), when=lambda p: "after" not in p)
    graph.add(feed, fixture("graph/page_feed_p2.json"), when=lambda p: p.get("after") == "after")
    graph.add(path(FIRST_POST, "comments"), comments_with_replies())
    # comment_by_parent_p1's paging.next, as recorded (another API version and object id).
    graph.add("/v5.0/2121008874780932_2498613793687103/comments", fixture("graph/comment_by_parent_p2.json"))
    for post in fixture("graph/page_feed_p1.json")["data"][1:] + fixture("graph/page_feed_p2.json")["data"]:
        graph.add(path(post["id"], "comments"), {"data": []})

    before = datetime.now(UTC)
    page = connector.fetch(StreamRequest(stream="feed"), {})

    # First page: 5 posts + 7 comments (2 comment pages of the first post).
    posts = [m for m in page.mentions if not m.parent_external_id]
    comments = [m for m in page.mentions if m.parent_external_id]
    assert [m.external_id for m in posts] == [p["id"] for p in fixture("graph/page_feed_p1.json")["data"]]
    assert len(comments) == 7
    assert page.quarantined == []
    assert page.has_more is True
    assert page.cursor["page"] == {"after": "after"}
    assert page.fetched_at is not None

    # The feed request: our fields, a bounded first window, our token.
    first_call = graph.calls_to("/feed")[0]
    assert first_call.params["fields"] == POST_FIELDS
    assert first_call.params["access_token"] == TOKEN
    assert "appsecret_proof" not in first_call.params  # no app secret configured
    since = int(first_call.params["since"])
    expected_since = (before - FacebookConnector.initial_lookback - FacebookConnector.since_overlap).timestamp()
    assert abs(since - expected_since) < 5
    assert first_call.timeout is not None

    # Posts: text, URL, time, metrics.
    post = posts[0]
    assert post.text.startswith("Singaporean logistics company Ninja Van")
    assert post.url == "https://www.facebook.com/19292868552/posts/10158349356748553/"
    assert post.created_at == utc(2021, 7, 9, 19, 9, 52)
    assert (post.like_count, post.share_count, post.reply_count) == (125, 10, 13)
    assert post.conversation_external_id == FIRST_POST
    assert post.is_repost is False and post.is_deleted is False
    assert post.author is None  # the recording did not ask for `from`
    assert post.raw["id"] == FIRST_POST

    # Comments: flat with parent, conversation = the post, authors from `from`.
    by_id = {m.external_id: m for m in comments}
    top = by_id["2498598377021978_2498617433686739"]
    assert top.text == "Good job!😏"
    assert top.parent_external_id == FIRST_POST
    assert top.conversation_external_id == FIRST_POST
    assert (top.like_count, top.reply_count, top.share_count) == (2, 0, None)
    assert top.created_at == utc(2019, 12, 16, 12, 9, 40)
    assert top.url.endswith("?comment_id=2498617433686739")
    assert top.author.platform_user_id == "2711636948859886"
    assert top.author.name == "Kun Liu"
    assert top.author.profile_url == "https://www.facebook.com/2711636948859886"
    assert top.author.followers is None
    reply = by_id["2498598377021978_2509257345956081"]
    assert reply.text == "reply"
    assert reply.parent_external_id == top.external_id
    assert reply.conversation_external_id == FIRST_POST
    assert by_id["2498598377021978_2509257922622690"].text == "sad"  # from the second comment page

    # The comment requests: filter=stream with our fields; the recorded next link is followed with
    # our token, never the one recorded in it.
    comment_calls = graph.calls_to(f"{FIRST_POST}/comments") + graph.calls_to("2498613793687103/comments")
    assert comment_calls[0].params["filter"] == "stream"
    assert comment_calls[0].params["fields"] == COMMENT_FIELDS
    assert comment_calls[1].params["after"].startswith("WTI5dGJXVnVkRjlq")
    assert all(c.params["access_token"] == TOKEN for c in comment_calls)

    # Second (last) page: same window, after-cursor, then the sweep ends.
    page2 = connector.fetch(StreamRequest(stream="feed"), page.cursor)
    second_call = graph.calls_to("/feed")[1]
    assert second_call.params["after"] == "after"
    assert int(second_call.params["since"]) == since
    assert len([m for m in page2.mentions if not m.parent_external_id]) == 5
    assert page2.has_more is False
    newest = unix("2021-07-12T01:03:23+0000")  # the newest created/updated time over both pages
    assert page2.cursor == {"since": max(newest, since + int(FacebookConnector.since_overlap.total_seconds()))}

    # The next sweep starts from the cursor (less the overlap), without a page position.
    graph.add(feed, {"data": []}, when=lambda p: "after" not in p)
    page3 = connector.fetch(StreamRequest(stream="feed"), {"since": newest})
    third_call = graph.calls_to("/feed")[2]
    assert int(third_call.params["since"]) == newest - 300
    assert "after" not in third_call.params
    assert page3.mentions == [] and page3.has_more is False and page3.cursor == {"since": newest}


def test_feed_skips_comment_requests_for_posts_without_comments(graph, connector):
    body = fixture("graph/page_feed_p2.json")
    for post in body["data"]:
        post["comments"]["summary"]["total_count"] = 0
    graph.add(path(PAGE_ID, "feed"), body)
    page = connector.fetch(StreamRequest(stream="feed"), {})
    assert len(page.mentions) == 5
    assert graph.calls_to("/comments") == []


def test_a_post_whose_comments_are_refused_does_not_stop_the_page(graph, connector):
    body = fixture("graph/page_feed_p2.json")
    graph.add(path(PAGE_ID, "feed"), body)
    refused = body["data"][0]["id"]
    graph.add(path(refused, "comments"), {"error": {"message": "(#10) Permission denied", "type": "OAuthException",
                                                    "code": 10, "fbtrace_id": "x"}}, status=400)
    for post in body["data"][1:]:
        graph.add(path(post["id"], "comments"), fixture("graph/comment_by_parent_p2.json")
                  if post is body["data"][1] else {"data": []})
    page = connector.fetch(StreamRequest(stream="feed"), {})
    assert len(page.mentions) == 5 + 2


def test_comments_without_ids_are_quarantined(graph, connector):
    """Graph v11+ hides comment ids from apps without the MODERATE task: visible, not stored."""
    body = fixture("graph/page_feed_p2.json")
    graph.add(path(PAGE_ID, "feed"), body)
    first = body["data"][0]["id"]
    graph.add(path(first, "comments"), fixture("graph/comments_p1_no_ids.json"))
    graph.add("/v11.0/19292868552_10158407654328553/comments", {"data": []})  # its recorded next link
    for post in body["data"][1:]:
        graph.add(path(post["id"], "comments"), {"data": []})
    page = connector.fetch(StreamRequest(stream="feed"), {})
    assert len(page.mentions) == 5
    assert len(page.quarantined) == 10
    assert {q.reason for q in page.quarantined} == {"no id"}
    assert page.quarantined[0].payload["message"].startswith("Boa noite")


def test_visitor_posts_follow_time_paging(graph, connector):
    edge = path(PAGE_ID, "visitor_posts")
    graph.add(edge, fixture("graph/feed_fields_p1.json"), when=lambda p: "until" not in p)
    graph.add(edge, fixture("graph/feed_fields_p2.json"), when=lambda p: p.get("until") == "1624385168")

    page = connector.fetch(StreamRequest(stream="visitor_posts"), {})
    assert [m.text for m in page.mentions][0] == "Happy July 4th! 🇺🇸"
    assert all(m.author is None and m.like_count is None for m in page.mentions)
    assert page.has_more is True
    assert page.cursor["page"] == {"until": "1624385168", "__paging_token": "__paging_token"}
    assert "access_token" not in json.dumps(page.cursor)  # a cursor never stores the token

    page2 = connector.fetch(StreamRequest(stream="visitor_posts"), page.cursor)
    calls = graph.calls_to("/visitor_posts")
    assert calls[1].params["until"] == "1624385168" and calls[1].params["__paging_token"] == "__paging_token"
    assert calls[1].params["since"] == calls[0].params["since"] != ""  # our window, not the link's blank since
    assert len(page2.mentions) == 5 and page2.has_more is False
    assert page2.cursor["since"] >= unix("2021-07-04T19:50:58+0000")
    assert graph.calls_to("/comments") == []  # comments are read for the feed stream only


def test_tagged_posts_single_page(graph, connector):
    graph.add(path(PAGE_ID, "tagged"), fixture("graph/tagged_posts.json"))
    page = connector.fetch(StreamRequest(stream="tagged"), {"since": unix("2019-09-01T00:00:00+0000")})
    assert [m.external_id for m in page.mentions] == [
        "2121008874780932_2427414477473702", "175154750010052_424924701699721", "175154750010052_427387458120112"]
    assert page.mentions[1].text == "我测试一下 MyLife"
    assert page.has_more is False  # cursors but no paging.next: the last page
    assert page.cursor == {"since": unix("2019-12-16T05:33:14+0000")}


def test_backfill_since_reaches_further_back_than_the_cursor(graph, connector):
    graph.add(path(PAGE_ID, "tagged"), {"data": []})
    backfill = utc(2024, 1, 1)
    connector.fetch(StreamRequest(stream="tagged", since=backfill), {"since": int(utc(2024, 3, 1).timestamp())})
    assert int(graph.calls[0].params["since"]) == int(backfill.timestamp()) - 300


def test_unknown_stream_and_missing_token(session):
    with pytest.raises(PermanentError):
        FacebookConnector(account(), session=session).fetch(StreamRequest(stream="search"), {})
    with pytest.raises(NeedsReconnect):
        FacebookConnector(account(other="x"), session=session).fetch(StreamRequest(stream="feed"), {})


# --- errors ------------------------------------------------------------------------------------


def test_error_190_needs_reconnect(graph, connector):
    body = fixture("graph/graph_error_190.json")
    graph.add(path(PAGE_ID, "feed"), body, status=400)
    with pytest.raises(NeedsReconnect) as info:
        connector.fetch(StreamRequest(stream="feed"), {})
    assert info.value.status == 400
    assert info.value.body == body
    assert "190/460" in str(info.value)
    assert not info.value.transient


@pytest.mark.parametrize("subcode", [458, 463, 467])
def test_auth_subcodes_need_reconnect(graph, session, subcode):
    graph.add(path("me"), {"error": {"message": "Error validating access token", "type": "OAuthException",
                                     "code": 190, "error_subcode": subcode, "fbtrace_id": "x"}}, status=400)
    with pytest.raises(NeedsReconnect):
        GraphClient(TOKEN, session=session).get("me")


def throttle_body(code: int, message: str) -> dict:
    return {"error": {"message": message, "type": "OAuthException", "is_transient": True, "code": code,
                      "fbtrace_id": "A1b2C3d4E5f"}}


THROTTLES = [
    (4, "(#4) Application request limit reached"),
    (17, "(#17) User request limit reached"),
    (32, "(#32) Page request limit reached"),
    (613, "(#613) Calls to this api have exceeded the rate limit."),
    (80001, "There have been too many calls to this Page account. Wait a bit and try again."),
]


@pytest.mark.parametrize("code,message", THROTTLES)
def test_throttling_is_rate_limited_until_the_usage_header_says(graph, connector, code, message):
    usage = {PAGE_ID: [{"type": "pages", "call_count": 100, "total_cputime": 25, "total_time": 25,
                        "estimated_time_to_regain_access": 19}]}
    graph.add(path(PAGE_ID, "feed"), throttle_body(code, message), status=400,
              headers={"X-Business-Use-Case-Usage": json.dumps(usage), "X-App-Usage": json.dumps(
                  {"call_count": 100, "total_time": 20, "total_cputime": 10})})
    before = datetime.now(UTC)
    with pytest.raises(RateLimited) as info:
        connector.fetch(StreamRequest(stream="feed"), {})
    exc = info.value
    assert exc.transient
    assert before + timedelta(minutes=19) <= exc.reset_at <= datetime.now(UTC) + timedelta(minutes=19)
    assert exc.status == 400 and exc.body["error"]["code"] == code


@pytest.mark.parametrize("code,message", THROTTLES[:4])
def test_throttling_without_an_estimate_waits_fifteen_minutes(graph, connector, code, message):
    graph.add(path(PAGE_ID, "feed"), throttle_body(code, message), status=403,
              headers={"X-App-Usage": json.dumps({"call_count": 100, "total_time": 25, "total_cputime": 25})})
    before = datetime.now(UTC)
    with pytest.raises(RateLimited) as info:
        connector.fetch(StreamRequest(stream="feed"), {})
    assert before + timedelta(minutes=15) <= info.value.reset_at <= datetime.now(UTC) + timedelta(minutes=15)


def test_server_errors_and_timeouts_are_transient(graph, session):
    client = GraphClient(TOKEN, session=session)
    graph.add(path("down"), "<html>Service Unavailable</html>", status=503, headers={"Content-Type": "text/html"})
    graph.add(path("unknown"), {"error": {"message": "An unknown error has occurred.", "type": "OAuthException",
                                          "code": 1, "fbtrace_id": "x"}}, status=500)
    graph.add(path("service"), {"error": {"message": "Service temporarily unavailable", "type": "OAuthException",
                                          "code": 2, "fbtrace_id": "x"}}, status=503)
    graph.add(path("slow"), raises=requests.exceptions.ReadTimeout(f"read timed out: /slow?access_token={TOKEN}"))
    graph.add(path("reset"), raises=requests.exceptions.ConnectionError(f"reset: /x?access_token={TOKEN}"))
    for name, status in [("down", 503), ("unknown", 500), ("service", 503), ("slow", None), ("reset", None)]:
        with pytest.raises(TransientError) as info:
            client.get(name)
        assert not isinstance(info.value, RateLimited)
        assert info.value.status == status
        assert TOKEN not in str(info.value)
    assert graph.calls_to("/down")[0].timeout is not None


def test_other_graph_errors_are_permanent(graph, connector):
    body = fixture("graph/error_data.json")
    graph.add(path(PAGE_ID, "feed"), body, status=400)
    with pytest.raises(PermanentError) as info:
        connector.fetch(StreamRequest(stream="feed"), {})
    assert type(info.value) is PermanentError  # not NeedsReconnect, not transient
    assert info.value.body == body and info.value.status == 400
    assert "Graph error 100" in str(info.value)


def test_paging_links_to_other_hosts_are_refused(graph, session):
    client = GraphClient(TOKEN, session=session)
    with pytest.raises(PermanentError):
        list(client.paginate({"data": [], "paging": {"next": "https://evil.example/v21.0/x?after=1"}}))
    assert graph.calls == []  # the token went nowhere


# --- appsecret_proof ------------------------------------------------------------------------------


def test_appsecret_proof_is_sent_and_correct(graph, session, settings):
    settings.FACEBOOK_APP_SECRET = "app-secret-xyz"
    expected = hmac.new(b"app-secret-xyz", TOKEN.encode(), hashlib.sha256).hexdigest()
    recorded_next = (f"https://graph.facebook.com/{VERSION}/{PAGE_ID}/tagged"
                     "?access_token=recorded&appsecret_proof=old&after=A")
    graph.add(path(PAGE_ID, "tagged"), {"data": [], "paging": {"next": recorded_next}},
              when=lambda p: "after" not in p)
    graph.add(path(PAGE_ID, "tagged"), {"data": []}, when=lambda p: p.get("after") == "A")
    client = GraphClient(TOKEN, session=session)
    pages = list(client.paginate(client.get(f"{PAGE_ID}/tagged")))
    assert len(pages) == 2
    for call in graph.calls:
        assert call.params["appsecret_proof"] == expected
        assert call.params["access_token"] == TOKEN
    assert len(expected) == 64


def test_no_appsecret_proof_without_a_secret(graph, session):
    graph.add(path("me"), {"id": "1"})
    assert GraphClient(TOKEN, session=session).get("me") == {"id": "1"}
    assert "appsecret_proof" not in graph.calls[0].params


# --- webhooks: handshake and signatures ------------------------------------------------------------


def test_webhook_challenge_with_the_right_token():
    params = {"hub.mode": "subscribe", "hub.verify_token": "s3cret-verify", "hub.challenge": "1158201444"}
    assert verify_challenge(params, "s3cret-verify") == "1158201444"
    query = QueryDict("hub.mode=subscribe&hub.verify_token=s3cret-verify&hub.challenge=42")
    assert verify_challenge(query, "s3cret-verify") == "42"


@pytest.mark.parametrize("params,configured", [
    ({"hub.mode": "subscribe", "hub.verify_token": "wrong", "hub.challenge": "1"}, "s3cret-verify"),
    ({"hub.mode": "subscribe", "hub.challenge": "1"}, "s3cret-verify"),
    ({"hub.mode": "unsubscribe", "hub.verify_token": "s3cret-verify", "hub.challenge": "1"}, "s3cret-verify"),
    ({"hub.mode": "subscribe", "hub.verify_token": "s3cret-verify"}, "s3cret-verify"),
    ({"hub.mode": "subscribe", "hub.verify_token": "", "hub.challenge": "1"}, ""),  # nothing configured
])
def test_webhook_challenge_rejected(params, configured):
    with pytest.raises(WebhookRejected) as info:
        verify_challenge(params, configured)
    assert info.value.reason


APP_SECRET = "webhook-app-secret"  # noqa: S105 (a test value)


def sign(body: bytes, secret: str = APP_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def test_good_signature_passes():
    body = raw_fixture("webhooks/feed-comment-add-211.json")
    assert check_signature(body, sign(body), APP_SECRET) is None
    assert check_signature(body, sign(body).upper().replace("SHA256=", "sha256="), APP_SECRET) is None


@pytest.mark.parametrize("header", [
    None, "", "sha256=", "sha1=" + "0" * 40, "sha256=" + "z" * 64, "sha256=abc", "deadbeef" * 8,
    "sha256=" + "0" * 64,
])
def test_missing_malformed_or_wrong_signature_rejected(header):
    body = raw_fixture("webhooks/feed-comment-add-211.json")
    with pytest.raises(WebhookRejected):
        check_signature(body, header, APP_SECRET)


def test_signature_of_another_body_or_secret_rejected():
    body = raw_fixture("webhooks/feed-comment-add-211.json")
    reserialised = json.dumps(json.loads(body)).encode()  # same object, other bytes
    with pytest.raises(WebhookRejected):
        check_signature(reserialised, sign(body), APP_SECRET)
    with pytest.raises(WebhookRejected):
        check_signature(body, sign(body, "another-secret"), APP_SECRET)


def test_no_app_secret_refuses_everything():
    body = raw_fixture("webhooks/feed-comment-add-211.json")
    with pytest.raises(WebhookRejected, match="no app secret"):
        check_signature(body, sign(body, ""), "")


# --- webhooks: feed changes ------------------------------------------------------------------------


def one(payload_name: str):
    parsed = parse_feed_changes(fixture(payload_name))
    assert len(parsed) == 1
    page_id, result = parsed[0]
    assert page_id == "1234567890321"
    return result


def test_feed_change_comment_add():
    payload = fixture("webhooks/feed-comment-add-211.json")
    result = one("webhooks/feed-comment-add-211.json")
    assert result.quarantined == []
    (m,) = result.mentions
    assert m.external_id == "901097836652708_903438993085259"
    assert m.text == "and the next one"
    assert m.created_at == datetime.fromtimestamp(1449135003, UTC)
    assert m.parent_external_id == "1234567890321_901097836652708"  # top level: the post
    assert m.conversation_external_id == "1234567890321_901097836652708"
    assert (m.author.platform_user_id, m.author.name) == ("1234567890321", "Tester")
    assert m.author.profile_url == "https://www.facebook.com/1234567890321"
    assert not m.is_deleted and not m.is_edited and m.version_id == ""
    assert m.raw == payload["entry"][0]["changes"][0]


def test_feed_change_edited_replaces_the_text():
    (comment,) = one("webhooks/feed-comment-edited-25.json").mentions
    assert comment.is_edited and comment.version_id == "1448555737"
    assert comment.text == "Let's see the Webhooks in action :D"
    assert (comment.author.platform_user_id, comment.author.name) == ("1234567890321", "Tester")  # sender_*

    (status,) = one("webhooks/feed-status-edited-25.json").mentions
    assert status.external_id == "1234567890321_949560725137650"
    assert status.is_edited and status.version_id == "1451949440"  # the change time, after created_time
    assert status.created_at == datetime.fromtimestamp(1451949415, UTC)
    assert status.url == "https://www.facebook.com/1234567890321_949560725137650"
    assert status.parent_external_id == "" and status.conversation_external_id == status.external_id

    (post,) = one("webhooks/feed-post-edit.json").mentions  # the "edit" spelling, numeric from.id
    assert post.is_edited and post.author.platform_user_id == "8423678347823"


def test_feed_change_add_without_created_time_uses_the_entry_time():
    (post,) = one("webhooks/feed-post-add-25.json").mentions
    assert post.external_id == "1234567890321_7293787835232"
    assert post.created_at == datetime.fromtimestamp(1454707020, UTC)
    assert post.text == "Let's check this" and post.author.name == "John Doe"

    (photo,) = one("webhooks/feed-photo-add-message.json").mentions
    assert photo.external_id == "1234567890321_900767076685784"
    assert photo.text == "A new really great Photo"
    assert photo.author.name == "Testers Paradise"


def test_feed_change_remove_marks_deleted():
    (comment,) = one("webhooks/feed-comment-remove-25.json").mentions
    assert comment.is_deleted
    assert comment.external_id == "905578656204626_905579239537901"
    assert comment.created_at == datetime.fromtimestamp(1452107182, UTC)  # entry time stands in
    (post,) = one("webhooks/feed-post-remove-25.json").mentions
    assert post.is_deleted and post.external_id == "1234567890321_901097836652708"


def test_reactions_likes_and_moderation_are_not_mentions():
    for name in ("webhooks/feed-reaction-add.json", "webhooks/feed-like-add-25.json",
                 "webhooks/feed-comment-hide.json"):
        assert parse_feed_changes(fixture(name)) == []


def test_a_delivery_with_several_entries_and_other_objects():
    names = ["feed-comment-add-211", "feed-reaction-add", "feed-comment-remove-25", "feed-status-edited-25"]
    payload = {"object": "page", "entry": [fixture(f"webhooks/{n}.json")["entry"][0] for n in names]}
    payload["entry"][1]["changes"].append({"field": "mention", "value": {"item": "post", "verb": "add"}})
    parsed = parse_feed_changes(payload)
    assert [(page, r.mentions[0].external_id, r.mentions[0].is_deleted) for page, r in parsed] == [
        ("1234567890321", "901097836652708_903438993085259", False),
        ("1234567890321", "905578656204626_905579239537901", True),
        ("1234567890321", "1234567890321_949560725137650", False),
    ]
    messenger = {"object": "page", "entry": [{"id": "111111", "time": 1457764198246, "messaging": [
        {"sender": {"id": "USER_ID"}, "recipient": {"id": "PAGE_ID"}, "timestamp": 1457764197627,
         "message": {"mid": "mid.1457764197618:41d102a3e1ae206a38", "seq": 73, "text": "hello, world!"}}]}]}
    assert parse_feed_changes(messenger) == []  # Messenger deliveries share object "page", no changes
    assert parse_feed_changes({"object": "instagram", "entry": payload["entry"]}) == []


def test_feed_change_without_ids_or_time_is_quarantined():
    change = {"field": "feed", "value": {"item": "comment", "verb": "add", "post_id": "1_2", "message": "hi"}}
    ((_, result),) = parse_feed_changes({"object": "page", "entry": [{"id": "1", "time": 5, "changes": [change]}]})
    assert result.mentions == [] and result.quarantined[0].reason == "comment add without comment_id"
    change = {"field": "feed", "value": {"item": "status", "verb": "add", "post_id": "1_2", "message": "hi"}}
    ((_, result),) = parse_feed_changes({"object": "page", "entry": [{"id": "1", "changes": [change]}]})
    assert result.quarantined[0].payload == change
    assert "created_time" in result.quarantined[0].reason


# --- normalisation ------------------------------------------------------------------------------


def test_record_without_id_is_quarantined_and_the_rest_kept():
    body = fixture("graph/comment_by_parent_p1.json")
    missing = body["data"][1]
    del missing["id"]
    result = parse_payload(body, post_id=FIRST_POST)
    assert [m.text for m in result.mentions] == ["Good job!😏", "reply", "More Reply", "hey"]
    assert len(result.quarantined) == 1
    assert result.quarantined[0].reason == "no id"
    assert result.quarantined[0].payload is missing


def test_record_without_or_with_a_bad_created_time_is_quarantined():
    body = fixture("graph/tagged_posts.json")
    del body["data"][0]["created_time"]
    body["data"][1]["created_time"] = "yesterday"
    body["data"].append("not an object")
    result = parse_payload(body)
    assert [m.external_id for m in result.mentions] == ["175154750010052_427387458120112"]
    assert [q.reason for q in result.quarantined] == [
        "no created_time", "created_time not readable: 'yesterday'", "not a JSON object"]


def test_single_post_and_single_comment_and_a_post_without_message():
    post = fixture("graph/page_feed_p1.json")["data"][0]
    (m,) = parse_payload(post).mentions
    assert m.external_id == FIRST_POST and m.like_count == 125

    silent = {k: v for k, v in post.items() if k != "message"}  # e.g. a photo shared without words
    (m,) = parse_payload(silent).mentions
    assert m.text == "" and m.external_id == FIRST_POST and m.reply_count == 13

    comment = fixture("graph/comment_by_parent_p2.json")["data"][0]
    (c,) = parse_payload(comment).mentions  # recognised as a comment by its fields
    assert c.like_count == 0 and c.reply_count == 0 and c.author.name == "Kun Liu"
    assert c.parent_external_id == "" and c.conversation_external_id == ""  # no post context given
    reply = dict(comment, parent={"id": "2498598377021978_2498617433686739"})
    (r,) = parse_payload(reply).mentions
    assert r.parent_external_id == "2498598377021978_2498617433686739"


def test_inline_comments_of_a_post_are_kept():
    post = copy.deepcopy(fixture("graph/page_feed_p1.json")["data"][0])
    post["comments"]["data"] = fixture("graph/comment_by_parent_p2.json")["data"]
    result = parse_payload(post)
    assert [m.parent_external_id for m in result.mentions] == ["", FIRST_POST, FIRST_POST]
