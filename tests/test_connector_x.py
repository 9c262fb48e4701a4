"""The X connector on recorded X API v2 payloads (tests/fixtures/x, see LICENSE-NOTES.md there).

HTTP is stubbed at the transport: a requests adapter mounted on the connector's session answers
with recorded responses, so tweepy really builds, signs and sends each request and really reads
the status, headers and (gzip) body. No database, no network, never the real X API.
"""

from __future__ import annotations

import copy
import io
import json
from http import HTTPStatus
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import yaml  # PyYAML, already installed (drf-spectacular depends on it): reads the vcrpy cassettes
from requests.adapters import HTTPAdapter
from urllib3 import HTTPHeaderDict, HTTPResponse

from listening.connectors import get_connector
from listening.connectors.base import (
    AccountConfig,
    NeedsReconnect,
    PermanentError,
    RateLimited,
    StreamRequest,
    TransientError,
)
from listening.connectors.x import XConnector, newest_version, parse_payload

FIXTURES = Path(__file__).parent / "fixtures" / "x"
SNS = FIXTURES / "sns-sdks-python-twitter"
UTC = timezone.utc

# Just after the recordings were made, so their ids fall inside recent search's 7-day window.
JUNE_2020 = datetime(2020, 6, 25, 7, 0, tzinfo=UTC)  # sns-sdks search pages
OCT_2022 = datetime(2022, 10, 7, 22, 43, 20, tzinfo=UTC)  # tweepy cassettes

EXPANSIONS = "author_id,referenced_tweets.id,referenced_tweets.id.author_id,edit_history_tweet_ids"
USER_KEYS = {"consumer_key": "ck", "consumer_secret": "cs", "access_token": "at", "access_token_secret": "ats"}


# --- recorded payloads ---------------------------------------------------------------------------


def load(relative: str) -> dict:
    return json.loads((FIXTURES / relative).read_text(encoding="utf-8"))


def sns(relative: str) -> dict:
    return json.loads((SNS / relative).read_text(encoding="utf-8"))


def cassette(name: str, index: int = 0) -> tuple[int, list[tuple[str, str]], bytes]:
    """One recorded response of a vcrpy cassette: status, headers, body as sent (gzip)."""
    interaction = yaml.safe_load((FIXTURES / "tweepy" / name).read_text())["interactions"][index]
    response = interaction["response"]
    headers = [(key, value) for key, values in response["headers"].items() for value in values]
    body = response["body"]["string"]
    return response["status"]["code"], headers, body if isinstance(body, bytes) else body.encode()


def recorded_headers(**overrides: str) -> list[tuple[str, str]]:
    """The header shape of a real X v2 answer (tweepy's search cassette) for a JSON body of ours:
    without its gzip encoding, length and cookies, with ``overrides`` replacing values."""
    _, headers, _ = cassette("test_client_search_recent_tweets.yaml")
    skip = {"content-encoding", "content-length", "set-cookie"} | {k.replace("_", "-") for k in overrides}
    kept = [(key, value) for key, value in headers if key.lower() not in skip]
    return kept + [(key.replace("_", "-"), value) for key, value in overrides.items()]


def answer(payload, status: int = 200, headers: list[tuple[str, str]] | None = None):
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return status, recorded_headers() if headers is None else headers, body


def observed_error(key: str) -> dict:
    return load("x-observed/x_error_bodies_observed.json")[key]


# --- the transport stub ------------------------------------------------------------------------


class RecordedX(HTTPAdapter):
    """A requests transport adapter that answers from a queue of recorded responses (or raises a
    queued exception) and keeps every prepared request it was sent, with its timeout."""

    def __init__(self, *answers):
        super().__init__()
        self.answers = list(answers)
        self.sent: list[requests.PreparedRequest] = []
        self.timeouts: list = []

    def send(self, request, stream=False, timeout=None, verify=True, cert=None, proxies=None):
        self.sent.append(request)
        self.timeouts.append(timeout)
        if not self.answers:
            raise AssertionError(f"unexpected request {request.method} {request.url}")
        item = self.answers.pop(0)
        if isinstance(item, BaseException):
            raise item
        status, headers, body = item
        raw = HTTPResponse(
            body=io.BytesIO(body), headers=HTTPHeaderDict(headers), status=status,
            reason=HTTPStatus(status).phrase,
            preload_content=False, decode_content=True, request_method=request.method,
        )
        return self.build_response(request, raw)  # requests' own response building (gzip, headers)

    def query(self, index: int = -1) -> dict[str, str]:
        """The query string of a sent request, one value per parameter."""
        return {key: values[0] for key, values in parse_qs(urlsplit(self.sent[index].url).query).items()}


def connector(*answers, clock=JUNE_2020, credentials=None, external_id="783214") -> tuple[XConnector, RecordedX]:
    account = AccountConfig(
        platform="x", external_id=external_id, handle="Twitter",
        credentials={"bearer_token": "tenant-bearer"} if credentials is None else credentials,
    )
    x = XConnector(account, clock=lambda: clock)
    transport = RecordedX(*answers)
    x.session.mount("https://", transport)
    return x, transport


SEARCH = StreamRequest(stream="search", query_expression="nyc OR snowman")
MENTIONS = StreamRequest(stream="mentions")


# --- (1) + (10) paging and the request actually sent ----------------------------------------------


def test_search_pages_to_the_last_page_then_moves_since_id():
    # Two real recent-search pages: the first with a next_token, the second without (the last).
    # They come from two different recorded searches, so their id ranges overlap unlike one real
    # run: the new since_id must still be the newest id of the whole run, not of the last page.
    first, last = sns("apis/searches/search_tweets_for_nyc.json"), sns("apis/searches/search_tweets_query.json")
    empty = {"meta": {"result_count": 0}}  # what recent search answers when nothing is newer
    x, transport = connector(answer(first), answer(last), answer(empty))
    since_id = "1273733248749690880"  # a real post id of 2020-06-18, inside the 7-day window

    page1 = x.fetch(SEARCH, {"since_id": since_id})
    sent = transport.query(0)
    assert urlsplit(transport.sent[0].url).path == "/2/tweets/search/recent"
    assert transport.sent[0].headers["Authorization"] == "Bearer tenant-bearer"  # app-only auth
    assert sent["query"] == "nyc OR snowman"
    assert sent["since_id"] == since_id and "next_token" not in sent and "start_time" not in sent
    assert sent["max_results"] == "100"
    assert sent["expansions"] == EXPANSIONS
    assert set(sent["tweet.fields"].split(",")) >= {
        "created_at", "lang", "public_metrics", "conversation_id", "referenced_tweets",
        "edit_history_tweet_ids", "note_tweet", "entities", "author_id", "in_reply_to_user_id"}
    assert set(sent["user.fields"].split(",")) >= {
        "username", "name", "public_metrics", "verified", "verified_type", "profile_image_url", "url"}
    assert len(page1.mentions) == 10 and page1.has_more
    # since_id stays fixed while paging; the run's newest id travels in the cursor.
    assert page1.cursor == {"since_id": since_id, "next_token": first["meta"]["next_token"],
                            "run_newest_id": "1275840892285399041"}
    assert page1.fetched_at == JUNE_2020

    page2 = x.fetch(SEARCH, page1.cursor)
    sent = transport.query(1)
    assert sent["since_id"] == since_id and sent["next_token"] == first["meta"]["next_token"]
    assert sent["expansions"] == EXPANSIONS
    assert len(page2.mentions) == 4 and not page2.has_more
    assert page2.cursor == {"since_id": "1276035977375477760"}  # newest of the run; next_token gone

    page3 = x.fetch(SEARCH, page2.cursor)
    sent = transport.query(2)
    assert sent["since_id"] == "1276035977375477760" and "next_token" not in sent
    assert page3.mentions == [] and page3.cursor == {"since_id": "1276035977375477760"} and not page3.has_more


def test_mentions_page_with_pagination_token_and_user_context():
    # The real gzip-encoded mentions cassette (recorded without tweet.fields, so its posts are
    # quarantined for lack of created_at: only the request and the paging matter here), then a
    # real mentions page (sns-sdks).
    mentions = sns("apis/timeline/timeline_mentions.json")
    x, transport = connector(cassette("test_client_get_users_mentions.yaml"), answer(mentions),
                             clock=OCT_2022, credentials={"bearer_token": "tenant-bearer", **USER_KEYS})

    page1 = x.fetch(MENTIONS, {})
    assert urlsplit(transport.sent[0].url).path == "/2/users/783214/mentions"
    # With the user's keys the mentions timeline is read in user context (OAuth 1.0a signature).
    assert transport.sent[0].headers["Authorization"].startswith("OAuth ")
    assert transport.query(0)["expansions"] == EXPANSIONS and "since_id" not in transport.query(0)
    assert page1.has_more and page1.cursor["next_token"] == "7140dibdnow9c7btw423i3sy3u5zupmkcpofxcsmxj48j"

    page2 = x.fetch(MENTIONS, page1.cursor)
    sent = transport.query(1)
    # The mentions timeline calls the token pagination_token.
    assert sent["pagination_token"] == "7140dibdnow9c7btw423i3sy3u5zupmkcpofxcsmxj48j" and "next_token" not in sent
    assert [m.external_id for m in page2.mentions][:2] == ["1364398068313903104", "1364377794327633925"]
    # sns-sdks' page has a next_token of its own: paging goes on, and the run's newest id stays
    # the cassette's (recorded later, so newer) rather than this page's.
    assert page2.has_more and page2.cursor["run_newest_id"] == "1578516295611748353"


def test_backfill_start_time_only_without_since_id_and_clamped_to_the_search_window():
    page = sns("apis/searches/search_tweets_query.json")
    x, transport = connector(answer(page), answer(page), answer(page))

    x.fetch(StreamRequest(stream="search", query_expression="q", since=JUNE_2020 - timedelta(days=2)), {})
    assert transport.query(0)["start_time"] == "2020-06-23T07:00:00Z"
    # Recent search answers 400 to a start_time older than 7 days: clamp into the window.
    x.fetch(StreamRequest(stream="search", query_expression="q", since=JUNE_2020 - timedelta(days=30)), {})
    assert transport.query(1)["start_time"] == "2020-06-18T07:10:00Z"
    # With a since_id there is nothing to backfill by time.
    x.fetch(StreamRequest(stream="search", query_expression="q", since=JUNE_2020 - timedelta(days=2)),
            {"since_id": "1275653067283759104"})
    assert "start_time" not in transport.query(2) and transport.query(2)["since_id"] == "1275653067283759104"


def test_since_id_older_than_the_search_window_becomes_a_start_time():
    # A channel down for more than a week: X would refuse the old since_id with a 400 for ever.
    x, transport = connector(answer(sns("apis/searches/search_tweets_query.json")), clock=datetime(2020, 7, 20, tzinfo=UTC))
    page = x.fetch(SEARCH, {"since_id": "1273733248749690880"})  # a post of 2020-06-18
    assert "since_id" not in transport.query(0)
    assert transport.query(0)["start_time"] == "2020-07-13T00:10:00Z"
    assert page.cursor == {"since_id": "1276035977375477760"}


def test_since_id_refused_by_x_is_retried_once_on_a_start_time():
    # X's 400 for a stale since_id (body shape as X sends it for invalid parameters); this one
    # slips past the local 7-day check (the clocks disagree), so the retry must handle it.
    stale = {"errors": [{"parameters": {"since_id": ["1275653067283759104"]},
                         "message": "'since_id' must be a tweet id created after 2020-06-24T10:00Z."}],
             "title": "Invalid Request", "detail": "One or more parameters to your request was invalid.",
             "type": "https://api.twitter.com/2/problems/invalid-request"}
    x, transport = connector(answer(stale, status=400), answer(sns("apis/searches/search_tweets_query.json")))
    page = x.fetch(SEARCH, {"since_id": "1275653067283759104"})
    assert transport.query(0)["since_id"] == "1275653067283759104"
    assert "since_id" not in transport.query(1) and transport.query(1)["start_time"] == "2020-06-18T07:10:00Z"
    assert len(page.mentions) == 4


def test_next_token_refused_by_x_restarts_the_run_with_the_same_since_id():
    # A next_token X no longer accepts (400 naming it, in X's invalid-request shape): start the
    # run again from the newest page with the same since_id; the run's newest id is kept.
    refused = {"errors": [{"parameters": {"next_token": ["expired"]}, "message": "Invalid next_token"}],
               "title": "Invalid Request", "detail": "One or more parameters to your request was invalid.",
               "type": "https://api.twitter.com/2/problems/invalid-request"}
    x, transport = connector(answer(refused, status=400), answer(sns("apis/searches/search_tweets_for_nyc.json")))
    cursor = {"since_id": "1273733248749690880", "next_token": "expired", "run_newest_id": "1276035977375477760"}
    page = x.fetch(SEARCH, cursor)
    assert transport.query(0)["next_token"] == "expired"
    assert "next_token" not in transport.query(1) and transport.query(1)["since_id"] == "1273733248749690880"
    assert page.has_more and page.cursor["since_id"] == "1273733248749690880"
    assert page.cursor["run_newest_id"] == "1276035977375477760"


# --- (2) includes joined to authors -------------------------------------------------------------


def test_authors_are_joined_from_includes_users():
    # tweets_resp.json's two posts with their authors expanded with user.fields: the same two
    # users (783214 @Twitter, 2244994945 @TwitterDev) as recorded in users_resp.json, which
    # carries public_metrics, verified and profile_image_url. Edit: includes.users swapped in.
    payload = sns("apis/tweet/tweets_resp.json")
    payload["includes"]["users"] = sns("apis/user/users_resp.json")["data"]

    result = parse_payload(payload)
    by_id = {m.external_id: m for m in result.mentions}
    post = by_id["1278347468690915330"]
    assert post.author.platform_user_id == "783214"
    assert post.author.handle == "Twitter" and post.author.name == "Twitter"
    assert post.author.followers == 58677711
    assert post.author.verified is True
    assert post.author.profile_url == "https://x.com/Twitter"
    assert post.author.avatar_url.startswith("https://pbs.twimg.com/profile_images/")
    assert post.url == "https://x.com/Twitter/status/1278347468690915330"
    assert post.created_at == datetime(2020, 7, 1, 15, 19, 21, tzinfo=UTC)
    assert by_id["1261326399320715264"].author.handle == "TwitterDev"
    assert by_id["1261326399320715264"].author.followers == 514020
    assert post.raw["post"]["id"] == "1278347468690915330" and post.raw["author"]["username"] == "Twitter"


def test_verified_type_counts_as_verified():
    # Since 2023 X says which check mark in verified_type. Edit of a recorded user: verified
    # false, verified_type "business" (and "none" must not count).
    payload = sns("apis/tweet/tweets_resp.json")
    users = sns("apis/user/users_resp.json")["data"]
    users[0].update(verified=False, verified_type="business")
    users[1].update(verified=False, verified_type="none")
    payload["includes"]["users"] = users
    authors = {m.author.handle: m.author for m in parse_payload(payload).mentions}
    assert authors["Twitter"].verified is True and authors["TwitterDev"].verified is False


def test_language_codes_that_are_not_languages_become_blank():
    # The recorded query page: post 1275763727908798470 is only mentions and a link, lang "und".
    languages = {m.external_id: m.language for m in parse_payload(sns("apis/searches/search_tweets_query.json")).mentions}
    assert languages["1275763727908798470"] == "" and languages["1276035977375477760"] == "en"


def test_author_not_in_includes_keeps_its_id_and_a_handle_free_url():
    # The recorded nyc search page has author_id but no includes at all.
    mention = parse_payload(sns("apis/searches/search_tweets_for_nyc.json")).mentions[2]
    assert mention.author.platform_user_id == "15004848" and mention.author.handle == ""
    assert mention.url == "https://x.com/i/web/status/1275840891014561796"
    assert mention.language == "en"


def test_metrics_reply_parent_conversation_and_long_text():
    # The recorded model post (replies to 1212092627178287104, which expansions.json includes)
    # with its recorded expansions; edit: a note_tweet added, as X sends for posts > 280 chars.
    post = sns("models/tweet.json")
    long_text = post["text"] + " And here is the rest of a long post, past 280 characters."
    post["note_tweet"] = {"text": long_text}
    result = parse_payload({"data": [post], "includes": sns("models/expansions.json")})
    mention = result.mentions[0]
    assert mention.text == long_text  # note_tweet wins over the truncated text
    assert mention.like_count == 40 and mention.reply_count == 2
    assert mention.share_count == 8 + 1  # retweets + quotes
    assert mention.view_count is None  # this 2019 post has no impression_count
    assert mention.parent_external_id == "1212092627178287104"
    assert mention.author.handle == "TwitterDev"
    assert [p["id"] for p in mention.raw["referenced"]] == ["1212092627178287104"]

    repost = parse_payload(sns("apis/tweet/tweet_retweet_tweets_resp.json")).mentions[0]
    assert repost.view_count == 0 and repost.share_count == 49  # impression_count -> view_count
    assert repost.conversation_external_id == "1724975633908789418"


# --- (3) partial errors ---------------------------------------------------------------------------


def test_partial_errors_do_not_fail_the_page():
    # The recorded nyc page plus errors[] entries in X's shapes: the retweeted post
    # 1275809336988557314 deleted (resource-not-found, as in X's docs examples) and the
    # mentioned user suspended ("User has been suspended", title Forbidden, as X sends it).
    payload = sns("apis/searches/search_tweets_for_nyc.json")
    payload["errors"] = [
        {"value": "1275809336988557314", "detail": "Could not find tweet with referenced_tweets.id: [1275809336988557314].",
         "title": "Not Found Error", "resource_type": "tweet", "parameter": "referenced_tweets.id",
         "resource_id": "1275809336988557314", "type": "https://api.twitter.com/2/problems/resource-not-found"},
        {"parameter": "entities.mentions.username", "resource_id": "skipbolden", "value": "skipbolden",
         "detail": "User has been suspended: [skipbolden].", "title": "Forbidden", "resource_type": "user",
         "type": "https://api.twitter.com/2/problems/resource-not-found"},
    ]
    x, _ = connector(answer(payload))
    page = x.fetch(SEARCH, {})
    assert len(page.mentions) == 10 and page.quarantined == []
    first = page.mentions[0]
    assert first.external_id == "1275840892285399041" and first.raw["referenced"] == []  # the deleted one


# --- (4) edits ----------------------------------------------------------------------------------


def _edit_chain():
    # No recording has an edited post: this is a recorded post (1275882613572583424) and an edit
    # of it 7 minutes later (a snowflake id of that time), both listing the chain oldest first
    # as X's edit_history_tweet_ids does.
    original = copy.deepcopy(sns("apis/searches/search_tweets_query.json")["data"][1])
    edited = copy.deepcopy(original)
    edited.update(id="1275884375180263424", created_at="2020-06-24T20:11:54.000Z",
                  text=original["text"].replace("🔥👍", "great"))
    for version in (original, edited):
        version["edit_history_tweet_ids"] = ["1275882613572583424", "1275884375180263424"]
    return original, edited


@pytest.mark.parametrize("order", ["oldest first", "newest first"])
def test_edit_chain_is_one_mention_and_the_newest_version_wins(order):
    original, edited = _edit_chain()
    posts = [original, edited] if order == "oldest first" else [edited, original]
    result = parse_payload({"data": posts})
    assert len(result.mentions) == 1
    mention = result.mentions[0]
    assert mention.external_id == "1275882613572583424"
    assert mention.version_id == "1275884375180263424" and mention.is_edited
    assert "great" in mention.text

    # Parsed on different pages, the two versions share the external_id; newest_version picks.
    old, new = parse_payload({"data": [original]}).mentions[0], parse_payload({"data": [edited]}).mentions[0]
    assert old.external_id == new.external_id == "1275882613572583424"
    assert old.version_id == "1275882613572583424"
    assert newest_version([new, old]) is new and newest_version([old, new]) is new


def test_unedited_post_is_its_own_external_id():
    mention = parse_payload(sns("apis/tweet/tweet_retweet_tweets_resp.json")).mentions[0]
    assert mention.external_id == mention.version_id == "1724975633908789418" and not mention.is_edited


# --- (5) + (6) + errors -------------------------------------------------------------------------


def test_429_raises_rate_limited_at_the_reset_header():
    # The real header shape of tweepy's cassette with the window exhausted, X's observed 429 body.
    headers = recorded_headers(x_rate_limit_remaining="0", content_type="application/problem+json")
    x, transport = connector(answer(observed_error("v2_429_search_all")["raw_body"].encode(), 429, headers),
                             clock=OCT_2022)
    with pytest.raises(RateLimited) as caught:
        x.fetch(SEARCH, {})
    assert caught.value.reset_at == datetime(2022, 10, 7, 22, 53, 49, tzinfo=UTC)  # x-rate-limit-reset 1665183229
    assert caught.value.status == 429 and caught.value.body["title"] == "Too Many Requests"
    assert caught.value.transient and len(transport.sent) == 1  # no sleeping, no retry


def test_429_on_the_24_hour_cap_waits_for_that_reset():
    # X's 24-hour app cap (x-app-limit-24hour-*) outlasts the 15-minute window.
    headers = recorded_headers(x_app_limit_24hour_limit="17", x_app_limit_24hour_remaining="0",
                               x_app_limit_24hour_reset="1665260000")
    x, _ = connector(answer(observed_error("v2_429_search_all")["body"], 429, headers), clock=OCT_2022)
    with pytest.raises(RateLimited) as caught:
        x.fetch(SEARCH, {})
    assert caught.value.reset_at == datetime.fromtimestamp(1665260000, UTC)


def test_401_needs_reconnect():
    # X's observed 401 with its headers, less content-length: the report gave the body as
    # parsed JSON, so the exact bytes (and their length) are not known.
    error = observed_error("v2_401_search_recent")
    headers = [(key, value) for key, value in error["headers"].items() if key != "content-length"]
    x, _ = connector(answer(error["body"], 401, headers))
    with pytest.raises(NeedsReconnect) as caught:
        x.fetch(SEARCH, {})
    assert caught.value.status == 401 and caught.value.body["detail"] == "Unauthorized"
    assert not caught.value.transient


def test_403_is_permanent_and_keeps_x_detail():
    # The observed report quotes tweepy's rendering "403 Forbidden\n453 - <message>", i.e. a
    # body errors=[{code: 453, message}]; rebuilt from it (its line break is the report's wrap).
    message = observed_error("v2_403_453_access_level")["tweepy_message"].split("453 - ", 1)[1].replace("\n", " ")
    x, _ = connector(answer({"errors": [{"message": message, "code": 453}]}, 403))
    with pytest.raises(PermanentError) as caught:
        x.fetch(SEARCH, {})
    assert not isinstance(caught.value, NeedsReconnect)
    assert caught.value.status == 403 and "453" in str(caught.value) and "different access level" in str(caught.value)


def test_other_4xx_is_permanent():
    invalid = {"errors": [{"parameters": {"query": ["(("]}, "message": "There were errors processing your request"}],
               "title": "Invalid Request", "detail": "One or more parameters to your request was invalid.",
               "type": "https://api.twitter.com/2/problems/invalid-request"}
    x, transport = connector(answer(invalid, 400))
    with pytest.raises(PermanentError) as caught:
        x.fetch(SEARCH, {})
    assert caught.value.status == 400 and caught.value.body == invalid and len(transport.sent) == 1


@pytest.mark.parametrize("failure", [
    answer({"title": "Service Unavailable", "detail": "Service Unavailable", "type": "about:blank", "status": 503}, 503),
    answer(b"<html>Bad Gateway</html>", 502, [("content-type", "text/html")]),
    requests.exceptions.ReadTimeout("read timed out"),
    requests.exceptions.ConnectionError("connection reset by peer"),
], ids=["503", "502-html", "timeout", "connection"])
def test_server_errors_and_network_failures_are_transient(failure):
    x, _ = connector(failure)
    with pytest.raises(TransientError) as caught:
        x.fetch(SEARCH, {})
    assert not isinstance(caught.value, RateLimited)


def test_every_request_has_a_timeout():
    # tweepy sets none; the connector's session does, so a stalled X cannot hang a worker.
    x, transport = connector(answer({"meta": {"result_count": 0}}))
    x.fetch(SEARCH, {})
    assert transport.timeouts == [(5, 30)]


def test_no_credentials_needs_reconnect():
    x, transport = connector(credentials={})
    with pytest.raises(NeedsReconnect):
        x.fetch(SEARCH, {})
    assert transport.sent == []


def test_mentions_of_a_search_only_channel_are_empty_without_a_request():
    # No X user id (a bearer token for search only): nothing to read, and no error that would
    # mark the channel broken and stop its searches.
    x, transport = connector(external_id="")
    page = x.fetch(MENTIONS, {"since_id": "1"})
    assert page.mentions == [] and page.cursor == {"since_id": "1"} and not page.has_more
    assert transport.sent == []


# --- (7) quarantine -----------------------------------------------------------------------------


def test_malformed_records_are_quarantined_and_the_rest_returned():
    # The recorded query page, edited: one post reduced to the id-only stub of a deleted post,
    # another with a created_at that is not a date.
    payload = sns("apis/searches/search_tweets_query.json")
    payload["data"][1] = {"id": payload["data"][1]["id"], "edit_history_tweet_ids": [payload["data"][1]["id"]]}
    payload["data"][2]["created_at"] = "yesterday"
    x, _ = connector(answer(payload))
    page = x.fetch(SEARCH, {})
    assert [m.external_id for m in page.mentions] == ["1276035977375477760", "1275653067283759104"]
    assert [q.reason for q in page.quarantined] == ["missing text", "bad created_at: 'yesterday'"]
    # Kept whole as a one-post page with its author: replaying it is parse_payload again.
    assert page.quarantined[1].payload["data"][0]["id"] == "1275763727908798470"
    assert page.quarantined[1].payload["includes"]["users"][0]["username"] == "jellybeanjones"
    assert page.cursor == {"since_id": "1276035977375477760"}


def test_page_recorded_without_created_at_is_quarantined_and_paging_goes_on():
    # tweepy's real cassette was recorded without tweet.fields: posts carry only id and text.
    x, _ = connector(cassette("test_client_search_recent_tweets.yaml"), clock=OCT_2022)
    page = x.fetch(SEARCH, {})
    assert page.mentions == [] and len(page.quarantined) == 10
    assert {q.reason for q in page.quarantined} == {"missing created_at"}
    assert page.has_more and page.cursor == {"next_token": "b26v89c19zqg8o3fpzbn1e0ffhxjiofzw6po136rvbnul",
                                             "run_newest_id": "1578516068309794817"}


def test_a_mentions_raw_parses_back_to_the_same_mention():
    # Storage quarantines a refused mention as its raw; replaying must give the mention again.
    mention = parse_payload(sns("apis/searches/search_tweets_query.json")).mentions[0]
    again = parse_payload(json.loads(json.dumps(mention.raw))).mentions
    assert again == [mention]


def test_payload_that_is_not_an_object_is_quarantined():
    result = parse_payload(["not", "a", "page"])
    assert result.mentions == [] and result.quarantined[0].reason == "not an X API v2 response object"


# --- (8) includes.posts -------------------------------------------------------------------------


def test_includes_posts_is_read_like_includes_tweets():
    # X's OpenAPI spec (xdk) calls the expansion list includes.posts; edit: renamed from tweets.
    tweets = sns("apis/searches/search_tweets_query.json")
    posts = copy.deepcopy(tweets)
    posts["includes"]["posts"] = posts["includes"].pop("tweets")
    from_tweets, from_posts = parse_payload(tweets).mentions, parse_payload(posts).mentions
    assert [m.raw["referenced"] for m in from_posts] == [m.raw["referenced"] for m in from_tweets]
    assert from_posts[1].raw["referenced"][0]["id"] == "1273733248749690880"
    assert [m.parent_external_id for m in from_posts] == [m.parent_external_id for m in from_tweets]


# --- (9) reposts --------------------------------------------------------------------------------


def test_plain_retweet_is_flagged_as_repost():
    mentions = {m.external_id: m for m in parse_payload(sns("apis/searches/search_tweets_for_nyc.json")).mentions}
    retweet = mentions["1275840892285399041"]  # referenced_tweets: retweeted
    assert retweet.is_repost and retweet.text.startswith("RT @skipbolden") and retweet.parent_external_id == ""
    reply = mentions["1275840892281249793"]  # referenced_tweets: replied_to
    assert not reply.is_repost and reply.parent_external_id == "1275781448855891968"
    assert not mentions["1275840891014561796"].is_repost  # no references
    assert sum(m.is_repost for m in mentions.values()) == 7  # of 10 on the page


# --- wiring -------------------------------------------------------------------------------------


def test_registry_finds_the_connector():
    cls = get_connector("x")
    assert cls is XConnector and cls.query_streams == ("search",) and cls.account_streams == ("mentions",)
