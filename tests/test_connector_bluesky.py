"""The Bluesky connector on real AT Protocol objects (tests/fixtures/bluesky, see LICENSE-NOTES.md).

The atproto SDK runs unchanged; the network is replaced at httpx's transport
(``HTTPTransport.handle_request``) by an ``httpx.MockTransport``-style handler that answers each
XRPC method with a response built from the recorded records, views and profiles (what is
filled in is listed in LICENSE-NOTES.md and marked below). Every built object is checked
against the required fields of the lexicons. No database, no network.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import parse_qs

import httpx
import pytest

from listening.connectors import get_connector
from listening.connectors.base import (
    AccountConfig,
    NeedsReconnect,
    PermanentError,
    RateLimited,
    StreamRequest,
    TransientError,
)
from listening.connectors.bluesky import BlueskyConnector, parse_payload

FIXTURES = Path(__file__).parent / "fixtures" / "bluesky"
ENTRYWAY = "bsky.social"
PDS = "shimeji.us-east.host.bsky.network"  # from the recorded DID document


def load(name: str):
    return json.loads((FIXTURES / "test_data" / name).read_text())


def lexicon(name: str) -> dict:
    return json.loads((FIXTURES / "lexicons" / f"{name}.json").read_text())


DID_DOC = load("did_doc.json")
THREAD = load("thread_view_post_with_embed_media.json")
FOLLOWS = load("get_follows.json")["follows"]


def required(lexicon_id: str, definition: str = "main") -> list[str]:
    d = lexicon(lexicon_id)["defs"][definition]
    if d.get("type") == "record":
        d = d["record"]
    elif d.get("type") == "query":
        d = d["output"]["schema"]
    return d.get("required", [])


def conforms(obj: dict, lexicon_id: str, definition: str = "main") -> dict:
    missing = [k for k in required(lexicon_id, definition) if k not in obj]
    assert not missing, f"{lexicon_id}#{definition} misses {missing}"
    return obj


# --- real objects, and views built from them ---------------------------------------------------

QUOTE_POST = THREAD["thread"]["post"]  # recorded postView: an image + a quote, empty text
SDK_AUTHOR = QUOTE_POST["author"]  # did:plc:kvwvcn5iqfooopmyzvb4qzba, test.marshal.dev


def basic(profile: dict) -> dict:
    """A recorded profileView (get_follows) as the profileViewBasic a post view carries."""
    return conforms({k: v for k, v in profile.items() if k not in ("description", "indexedAt")},
                    "app.bsky.actor.defs", "profileViewBasic")


WHY, DIVY = basic(FOLLOWS[0]), basic(FOLLOWS[1])


def view_of_record(answer: dict, *, author=SDK_AUTHOR, indexed_at=None) -> dict:
    """Built: a getRecord answer {uri, cid, value} as a postView (author, indexedAt, counts)."""
    created = answer["value"]["createdAt"]
    indexed = indexed_at or (created if created.endswith(("Z", "+00:00")) else created[:23] + "Z")
    return conforms({"uri": answer["uri"], "cid": answer["cid"], "author": author, "record": answer["value"],
                     "replyCount": 0, "repostCount": 0, "likeCount": 0, "quoteCount": 0,
                     "indexedAt": indexed, "labels": []}, "app.bsky.feed.defs", "postView")


def quoted_post() -> dict:
    """Built: the recorded quoted post (a viewRecord inside the embed) as a postView."""
    record = QUOTE_POST["embed"]["record"]["record"]
    view = {k: v for k, v in record.items() if k not in ("$type", "value", "embeds")}
    view["record"] = record["value"]
    return conforms(view, "app.bsky.feed.defs", "postView")


def fake_cid(obj) -> str:
    digest = hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).digest()
    return "bafyrei" + base64.b32encode(digest).decode().lower().rstrip("=")[:52]


def indexed_after(created: str) -> str:
    """The app view indexes a post a little after its client wrote it."""
    moment = datetime.fromisoformat(created.replace("Z", "+00:00")) + timedelta(milliseconds=400)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def made_up_post(author: dict, rkey: str, text: str, created: str, *, reply_to: dict | None = None,
                 counts=(0, 0, 0, 0)) -> dict:
    """Built: a post by another recorded account (text, rkey, cid and times made up)."""
    record = {"$type": "app.bsky.feed.post", "text": text, "createdAt": created, "langs": ["en"]}
    if reply_to:
        ref = {"uri": reply_to["uri"], "cid": reply_to["cid"]}
        record["reply"] = {"root": ref, "parent": ref}
    conforms(record, "app.bsky.feed.post")
    likes, reposts, quotes, replies = counts
    view = {"uri": f"at://{author['did']}/app.bsky.feed.post/{rkey}", "cid": fake_cid(record), "author": author,
            "record": record, "likeCount": likes, "repostCount": reposts, "quoteCount": quotes,
            "replyCount": replies, "indexedAt": indexed_after(created), "labels": []}
    return conforms(view, "app.bsky.feed.defs", "postView")


REPLY = made_up_post(WHY, "3kahf2rrq7c2k", "Nice shot! (made up for the test)", "2023-09-28T13:02:11.120Z",
                     reply_to=QUOTE_POST, counts=(2, 1, 1, 0))
MENTION = made_up_post(DIVY, "3kahg5bq3xk2a", "@test.marshal.dev does the SDK do search? (made up)",
                       "2023-09-28T14:10:00.000Z")


def as_notification(view: dict, reason: str, *, read=False) -> dict:
    """Built: a listNotifications item for the record of a post view."""
    n = {"uri": view["uri"], "cid": view["cid"], "author": view["author"], "reason": reason,
         "record": view["record"], "isRead": read, "indexedAt": view["indexedAt"], "labels": []}
    if reason in ("reply", "quote"):
        n["reasonSubject"] = QUOTE_POST["uri"]
    return conforms(n, "app.bsky.notification.listNotifications", "notification")


def search_answer(posts, cursor=None) -> dict:
    answer = {"posts": posts}
    if cursor:
        answer["cursor"] = cursor
    return conforms(answer, "app.bsky.feed.searchPosts")


def notifications_answer(items, cursor=None) -> dict:
    answer = {"notifications": items}
    if cursor:
        answer["cursor"] = cursor
    return conforms(answer, "app.bsky.notification.listNotifications")


def jwt(scope: str, hours: float = 2) -> str:
    def b64(d):
        return base64.urlsafe_b64encode(json.dumps(d).encode()).rstrip(b"=").decode()

    now = int(time.time())
    return ".".join([b64({"typ": "at+jwt", "alg": "ES256K"}),
                     b64({"scope": scope, "sub": DID_DOC["did"], "iat": now, "exp": now + int(hours * 3600),
                          "aud": f"did:web:{PDS}"}), "c2lnbmF0dXJl"])


def session_answer() -> dict:
    """Built: a createSession answer for the recorded account (tokens made up, unsigned)."""
    return {"accessJwt": jwt("com.atproto.appPass"), "refreshJwt": jwt("com.atproto.refresh", 24 * 60),
            "handle": DID_DOC["handle"], "did": DID_DOC["did"], "didDoc": DID_DOC["didDoc"], "active": True}


def xrpc_error(status: int, error: str, message: str, headers=None) -> httpx.Response:
    return httpx.Response(status, json={"error": error, "message": message}, headers=headers or {})


# --- the transport stub ------------------------------------------------------------------------


class Xrpc:
    """Answers XRPC calls by method name; a list of answers is served in order, the last repeats."""

    def __init__(self):
        self.answers: dict[str, list] = {}
        self.calls: list[httpx.Request] = []
        self.unexpected: list[str] = []

    def on(self, nsid: str, *answers) -> None:
        self.answers[nsid] = list(answers)

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.calls.append(request)
        nsid = request.url.path.rsplit("/", 1)[-1]
        queue = self.answers.get(nsid)
        if not queue:
            self.unexpected.append(str(request.url))
            return xrpc_error(501, "MethodNotImplemented", "not expected by the test")
        answer = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(answer, BaseException):
            raise answer
        if isinstance(answer, httpx.Response):
            return httpx.Response(answer.status_code, headers=answer.headers, content=answer.content)
        return httpx.Response(200, json=answer)

    def made(self, nsid: str) -> list[httpx.Request]:
        return [c for c in self.calls if c.url.path.endswith("/" + nsid)]

    @staticmethod
    def params(request: httpx.Request) -> dict[str, list[str]]:
        return parse_qs(request.url.query.decode())


@pytest.fixture
def xrpc(monkeypatch):
    stub = Xrpc()
    transport = httpx.MockTransport(stub.handle)
    monkeypatch.setattr(httpx.HTTPTransport, "handle_request", lambda self, request: transport.handle_request(request))
    stub.session = session_answer()
    stub.on("com.atproto.server.createSession", stub.session)
    yield stub
    assert not stub.unexpected, f"requests nobody expected: {stub.unexpected}"


APP_PASSWORD = "abcd-efgh-ijkl-mnop"


@pytest.fixture
def connector():
    return BlueskyConnector(AccountConfig(platform="bluesky", handle="test.marshal.dev",
                                          credentials={"handle": "test.marshal.dev", "app_password": APP_PASSWORD}))


def search(*keywords, since=None):
    return StreamRequest(stream="search", query_keywords=keywords, since=since)


NOTIFICATIONS = StreamRequest(stream="notifications")


# --- parsing -----------------------------------------------------------------------------------


def test_registry_returns_the_connector():
    assert get_connector("bluesky") is BlueskyConnector
    assert BlueskyConnector.query_streams == ("search",)
    assert BlueskyConnector.account_streams == ("notifications",)


def test_recorded_post_view_normalised():
    result = parse_payload(THREAD)
    assert result.quarantined == []
    [m] = result.mentions
    assert m.external_id == "at://did:plc:kvwvcn5iqfooopmyzvb4qzba/app.bsky.feed.post/3kaheyt6vpc22"
    assert m.version_id == "bafyreigb666sdjyyaczcahxmf5tzh7dec6bwr3nhdab7llebn7vhsxzgr4"
    assert m.text == ""  # an image and a quote: the lexicon allows an empty text
    assert m.language == "en"
    assert m.url == "https://bsky.app/profile/test.marshal.dev/post/3kaheyt6vpc22"
    assert m.created_at == datetime(2023, 9, 28, 12, 49, 36, 735000, tzinfo=timezone.utc)
    assert (m.like_count, m.share_count, m.reply_count) == (0, 0, 0)
    assert m.parent_external_id == "" and m.conversation_external_id == m.external_id
    assert not m.is_repost and not m.is_deleted
    a = m.author
    assert (a.platform_user_id, a.handle, a.name) == ("did:plc:kvwvcn5iqfooopmyzvb4qzba", "test.marshal.dev", "Python SDK")
    assert a.followers is None and a.verified is False  # search views carry no follower count
    assert a.profile_url == "https://bsky.app/profile/test.marshal.dev"
    assert a.avatar_url.startswith("https://cdn.bsky.app/img/avatar/")


def test_reply_metrics_and_thread_links():
    [m] = parse_payload(REPLY).mentions
    assert m.parent_external_id == m.conversation_external_id == QUOTE_POST["uri"]
    assert (m.like_count, m.share_count, m.reply_count) == (2, 2, 0)  # reposts + quotes
    assert m.author.platform_user_id == "did:plc:vpkhqolt662uhesyj6nxm7ys" and m.author.handle == "why.bsky.team"


def test_get_record_answers_parse_and_a_zoneless_date_is_utc():
    result = parse_payload([load("post_record.json"), load("extended_post_record.json"), load("like_record.json")])
    assert result.quarantined == []  # the like is a record but no post: ignored
    new, regress = result.mentions
    assert new.text == "new text114" and new.language == ""
    assert new.created_at == datetime(2024, 2, 22, 19, 58, 13, 903293, tzinfo=timezone.utc)
    assert regress.text == "regress test" and regress.language == "en"
    assert regress.created_at == datetime(2023, 7, 21, 1, 33, 51, 481951, tzinfo=timezone.utc)
    assert regress.author.platform_user_id == "did:plc:kvwvcn5iqfooopmyzvb4qzba" and regress.author.handle == ""
    assert regress.url == "https://bsky.app/profile/did:plc:kvwvcn5iqfooopmyzvb4qzba/post/3k2yinh52ne2x"


def test_deleted_post_in_a_thread_becomes_a_deletion_marker():
    thread = copy.deepcopy(THREAD)
    # Built: the parent of the recorded post as the app view reports a deleted one, and a
    # reply from a blocked account.
    gone = "at://did:plc:kvwvcn5iqfooopmyzvb4qzba/app.bsky.feed.post/3kahesw26il2z"
    thread["thread"]["parent"] = {"$type": "app.bsky.feed.defs#notFoundPost", "uri": gone, "notFound": True}
    thread["thread"]["replies"] = [{"$type": "app.bsky.feed.defs#blockedPost", "uri": REPLY["uri"], "blocked": True,
                                    "author": {"did": WHY["did"]}}]
    conforms(thread["thread"]["parent"], "app.bsky.feed.defs", "notFoundPost")
    result = parse_payload(thread)
    post, marker = result.mentions
    assert post.external_id == QUOTE_POST["uri"] and not post.is_deleted
    assert marker.external_id == gone and marker.is_deleted and marker.created_at.tzinfo is not None
    assert result.quarantined == []


def test_repost_flagged_and_the_original_kept():
    # Built: a feed item (getTimeline) where a recorded account reposted the recorded post.
    item = {"post": QUOTE_POST, "reason": {"$type": "app.bsky.feed.defs#reasonRepost", "by": WHY,
                                           "uri": f"at://{WHY['did']}/app.bsky.feed.repost/3kahfa2c3kr2s",
                                           "cid": fake_cid("repost"), "indexedAt": "2023-09-28T13:30:00.000Z"}}
    conforms(item, "app.bsky.feed.defs", "feedViewPost")
    conforms(item["reason"], "app.bsky.feed.defs", "reasonRepost")
    original, repost = parse_payload({"feed": [item]}).mentions
    assert original.external_id == QUOTE_POST["uri"] and not original.is_repost
    assert repost.is_repost and repost.external_id == item["reason"]["uri"]
    assert repost.author.handle == "why.bsky.team" and repost.url == original.url
    assert repost.created_at == datetime(2023, 9, 28, 13, 30, tzinfo=timezone.utc)


def test_malformed_posts_quarantined_the_rest_kept():
    no_author = {k: v for k, v in quoted_post().items() if k != "author"}
    no_text = copy.deepcopy(REPLY)
    del no_text["record"]["text"]
    not_a_post = {**copy.deepcopy(MENTION), "uri": "https://bsky.app/not-an-at-uri"}
    result = parse_payload({"posts": [no_author, QUOTE_POST, no_text, not_a_post]})
    assert [m.external_id for m in result.mentions] == [QUOTE_POST["uri"]]
    assert sorted(q.reason for q in result.quarantined) == ["no at:// uri", "post record without text", "post without author"]


# --- search ------------------------------------------------------------------------------------


def test_search_logs_in_once_and_reads_the_newest_page(xrpc, connector):
    xrpc.on("app.bsky.feed.searchPosts", search_answer([MENTION, REPLY, QUOTE_POST], cursor="3"))
    page = connector.fetch(search("python sdk"), {})
    assert [m.external_id for m in page.mentions] == [MENTION["uri"], REPLY["uri"], QUOTE_POST["uri"]]
    assert page.has_more is False  # first poll: the newest page, no history
    # The newest sortAt seen (MENTION, 14:10:00) less two minutes of overlap.
    assert page.cursor == {"next": 0, "terms": {"python sdk": {"since": "2023-09-28T14:08:00.000Z"}}}

    [login] = xrpc.made("com.atproto.server.createSession")
    assert login.url.host == ENTRYWAY
    assert json.loads(login.content) == {"identifier": "test.marshal.dev", "password": APP_PASSWORD}
    [call] = xrpc.made("app.bsky.feed.searchPosts")
    assert call.url.host == PDS  # after login the SDK follows the DID document's PDS
    assert Xrpc.params(call) == {"q": ["python sdk"], "sort": ["latest"], "limit": ["50"]}
    assert call.headers["Authorization"] == f"Bearer {xrpc.session['accessJwt']}"
    # Credentials never go into a cursor.
    stored = json.dumps(page.cursor)
    assert APP_PASSWORD not in stored and xrpc.session["accessJwt"] not in stored
    assert xrpc.session["refreshJwt"] not in stored


def test_search_pages_with_the_cursor_to_the_last_page(xrpc, connector):
    floor = "2023-09-28T12:00:00.000Z"
    xrpc.on("app.bsky.feed.searchPosts",
            search_answer([MENTION, REPLY], cursor="2"),
            search_answer([QUOTE_POST, quoted_post()]))  # no cursor: the last page
    state = {"next": 0, "terms": {"python sdk": {"since": floor}}}
    first = connector.fetch(search("python sdk"), state)
    assert first.has_more and len(first.mentions) == 2
    assert first.cursor["terms"]["python sdk"] == {"since": floor, "cursor": "2", "top": "2023-09-28T14:10:00.000Z"}
    last = connector.fetch(search("python sdk"), first.cursor)
    assert last.has_more is False
    assert [m.external_id for m in last.mentions] == [QUOTE_POST["uri"], quoted_post()["uri"]]
    assert last.cursor["terms"]["python sdk"] == {"since": "2023-09-28T14:08:00.000Z"}
    calls = [Xrpc.params(c) for c in xrpc.made("app.bsky.feed.searchPosts")]
    assert [c.get("cursor") for c in calls] == [None, ["2"]]
    assert all(c["since"] == [floor] and c["sort"] == ["latest"] for c in calls)
    assert len(xrpc.made("com.atproto.server.createSession")) == 1  # the session is reused


def test_search_rotates_keywords_and_backfills_from_since(xrpc, connector):
    since = datetime(2023, 9, 1, tzinfo=timezone.utc)
    xrpc.on("app.bsky.feed.searchPosts", search_answer([QUOTE_POST]), search_answer([]))
    first = connector.fetch(search("marshal", "atproto", since=since), {})
    assert first.has_more and first.cursor["next"] == 1
    second = connector.fetch(search("marshal", "atproto", since=since), first.cursor)
    assert second.has_more is False and second.cursor["next"] == 0
    assert second.cursor["terms"] == {"marshal": {"since": "2023-09-28T12:47:36.735Z"},
                                      "atproto": {"since": "2023-09-01T00:00:00.000Z"}}
    calls = [Xrpc.params(c) for c in xrpc.made("app.bsky.feed.searchPosts")]
    assert [(c["q"], c["since"]) for c in calls] == [(["marshal"], ["2023-09-01T00:00:00.000Z"]),
                                                     (["atproto"], ["2023-09-01T00:00:00.000Z"])]


def test_malformed_post_in_a_search_page_quarantined(xrpc, connector):
    broken = {k: v for k, v in REPLY.items() if k != "author"}
    xrpc.on("app.bsky.feed.searchPosts", search_answer([MENTION, broken, QUOTE_POST]))
    page = connector.fetch(search("sdk"), {})
    assert [m.external_id for m in page.mentions] == [MENTION["uri"], QUOTE_POST["uri"]]
    [q] = page.quarantined
    assert q.reason == "post without author" and q.payload["uri"] == REPLY["uri"]


# --- notifications -----------------------------------------------------------------------------


def test_notifications_keep_mentions_replies_and_quotes(xrpc, connector):
    like = load("like_record.json")
    # Built: a like notification of the recorded like record (skipped by the connector).
    liked = conforms({"uri": like["uri"].replace("kvwvcn5iqfooopmyzvb4qzba", WHY["did"][8:]), "cid": like["cid"],
                      "author": WHY, "reason": "like", "reasonSubject": like["value"]["subject"]["uri"],
                      "record": like["value"], "isRead": True, "indexedAt": "2023-09-28T13:40:00.000Z"},
                     "app.bsky.notification.listNotifications", "notification")
    items = [as_notification(MENTION, "mention"), liked, as_notification(REPLY, "reply"),
             as_notification(QUOTE_POST, "quote", read=True)]
    xrpc.on("app.bsky.notification.listNotifications", notifications_answer(items, cursor="2023-09-28T12:49:36.735Z"))
    page = connector.fetch(NOTIFICATIONS, {})
    assert [m.external_id for m in page.mentions] == [MENTION["uri"], REPLY["uri"], QUOTE_POST["uri"]]
    reply = page.mentions[1]
    assert reply.parent_external_id == QUOTE_POST["uri"] and reply.author.handle == "why.bsky.team"
    assert reply.like_count is None  # notifications carry no counts
    assert page.has_more is False and page.cursor == {"floor": "2023-09-28T14:10:00.400Z"}
    [call] = xrpc.made("app.bsky.notification.listNotifications")
    assert Xrpc.params(call)["reasons"] == ["mention", "reply", "quote"]


def test_notifications_walk_back_to_the_last_one_seen(xrpc, connector):
    floor = "2023-09-28T13:00:00.000Z"
    xrpc.on("app.bsky.notification.listNotifications",
            notifications_answer([as_notification(MENTION, "mention")], cursor="c1"),
            notifications_answer([as_notification(REPLY, "reply"), as_notification(QUOTE_POST, "quote")], cursor="c2"))
    first = connector.fetch(NOTIFICATIONS, {"floor": floor})
    assert first.has_more and [m.external_id for m in first.mentions] == [MENTION["uri"]]
    last = connector.fetch(NOTIFICATIONS, first.cursor)
    # The quote (12:49) is older than the floor: already seen, dropped; the walk stops there.
    assert [m.external_id for m in last.mentions] == [REPLY["uri"]]
    assert last.has_more is False and last.cursor == {"floor": "2023-09-28T14:10:00.400Z"}
    calls = [Xrpc.params(c).get("cursor") for c in xrpc.made("app.bsky.notification.listNotifications")]
    assert calls == [None, ["c1"]]


# --- errors --------------------------------------------------------------------------------------


def test_rate_limit_with_the_reset_header(xrpc, connector):
    reset = int(time.time()) + 240
    xrpc.on("app.bsky.feed.searchPosts", xrpc_error(429, "RateLimitExceeded", "Rate Limit Exceeded", headers={
        "ratelimit-limit": "3000", "ratelimit-remaining": "0", "ratelimit-reset": str(reset),
        "ratelimit-policy": "3000;w=300"}))
    with pytest.raises(RateLimited) as caught:
        connector.fetch(search("sdk"), {})
    assert caught.value.reset_at == datetime.fromtimestamp(reset, tz=timezone.utc)
    assert caught.value.status == 429


def test_rate_limited_login_without_headers_waits_the_fallback(xrpc, connector):
    xrpc.on("com.atproto.server.createSession", xrpc_error(429, "RateLimitExceeded", "Rate Limit Exceeded"))
    with pytest.raises(RateLimited) as caught:
        connector.fetch(search("sdk"), {})
    wait = caught.value.reset_at - datetime.now(timezone.utc)
    assert timedelta(minutes=4) < wait <= timedelta(minutes=5)


def test_refused_app_password_needs_reconnect(xrpc, connector):
    xrpc.on("com.atproto.server.createSession",
            xrpc_error(401, "AuthenticationRequired", "Invalid identifier or password"))
    with pytest.raises(NeedsReconnect) as caught:
        connector.fetch(search("sdk"), {})
    assert caught.value.status == 401 and "Invalid identifier or password" in str(caught.value)
    assert not xrpc.made("app.bsky.feed.searchPosts")


def test_missing_credentials_need_reconnect_without_a_request(xrpc):
    bare = BlueskyConnector(AccountConfig(platform="bluesky", handle="test.marshal.dev"))
    with pytest.raises(NeedsReconnect):
        bare.fetch(NOTIFICATIONS, {})
    assert xrpc.calls == []


def test_expired_token_logs_in_again_once(xrpc, connector):
    xrpc.on("app.bsky.feed.searchPosts", xrpc_error(400, "ExpiredToken", "Token has expired"),
            search_answer([QUOTE_POST]))
    page = connector.fetch(search("sdk"), {})
    assert [m.external_id for m in page.mentions] == [QUOTE_POST["uri"]]
    assert len(xrpc.made("com.atproto.server.createSession")) == 2


def test_token_expired_again_after_a_new_login_needs_reconnect(xrpc, connector):
    xrpc.on("app.bsky.notification.listNotifications", xrpc_error(400, "ExpiredToken", "Token has expired"))
    with pytest.raises(NeedsReconnect) as caught:
        connector.fetch(NOTIFICATIONS, {})
    assert "ExpiredToken" in str(caught.value)
    assert len(xrpc.made("com.atproto.server.createSession")) == 2


@pytest.mark.parametrize("answer", [
    xrpc_error(500, "InternalServerError", "Internal Server Error"),
    xrpc_error(502, "UpstreamFailure", "Upstream Failure"),
    xrpc_error(503, "NotEnoughResources", "Service Unavailable"),
    httpx.ConnectError("connection refused"),
    httpx.ReadTimeout("timed out"),
])
def test_server_and_network_errors_are_transient(xrpc, connector, answer):
    xrpc.on("app.bsky.feed.searchPosts", answer)
    with pytest.raises(TransientError) as caught:
        connector.fetch(search("sdk"), {})
    assert not isinstance(caught.value, RateLimited)


def test_bad_query_is_permanent(xrpc, connector):
    xrpc.on("app.bsky.feed.searchPosts", xrpc_error(400, "BadQueryString", "Bad query string"))
    with pytest.raises(PermanentError) as caught:
        connector.fetch(search("((("), {})
    assert not isinstance(caught.value, NeedsReconnect) and caught.value.status == 400


def test_unknown_stream_and_no_keywords(xrpc, connector):
    with pytest.raises(PermanentError):
        connector.fetch(StreamRequest(stream="feed"), {})
    page = connector.fetch(search(), {"next": 0})
    assert page.mentions == [] and page.cursor == {"next": 0}
    assert xrpc.calls == []  # no login for nothing to do
