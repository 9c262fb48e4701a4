"""The RSS/Atom connector on two feeds written for these tests (tests/fixtures/rss, see
LICENSE-NOTES.md there): an RSS 2.0 French news feed and an Atom English blog.

The network is replaced at requests' transport adapter (``HTTPAdapter.send``): requests and
feedparser run unchanged. No database, no network.
"""

from __future__ import annotations

import io
import json
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path

import pytest
import requests
from urllib3.response import HTTPResponse

from listening.connectors import get_connector
from listening.connectors.base import (
    AccountConfig,
    PermanentError,
    RateLimited,
    StreamRequest,
    TransientError,
)
from listening.connectors.rss import RssConnector, html_to_text, parse_payload

FIXTURES = Path(__file__).parent / "fixtures" / "rss"
RSS_URL = "https://www.courrier-rhone.example/economie/rss.xml"
ATOM_URL = "https://blog.fieldnotes.example/feed.atom"
RSS = (FIXTURES / "courrier-rhone-economie.rss.xml").read_bytes()
ATOM = (FIXTURES / "field-notes-blog.atom.xml").read_bytes()
RSS_TYPE = {"Content-Type": "application/rss+xml; charset=UTF-8"}
ATOM_TYPE = {"Content-Type": "application/atom+xml; charset=utf-8"}
ETAG = 'W/"5f2b-1731602700"'
MODIFIED = "Fri, 14 Nov 2025 17:05:00 GMT"
FEED = StreamRequest(stream="feed")


class FakeNetwork:
    """Answers GETs at the transport adapter, in order; remembers what was sent."""

    def __init__(self):
        self.answers: dict[str, list] = {}
        self.calls: list[tuple[requests.PreparedRequest, object]] = []
        self.unexpected: list[str] = []

    def on(self, url: str, *answers) -> None:
        self.answers[url] = list(answers)

    def send(self, adapter, request, stream=False, timeout=None, verify=True, cert=None, proxies=None):
        self.calls.append((request, timeout))
        queue = self.answers.get(request.url)
        if not queue:
            self.unexpected.append(request.url)
            raise requests.ConnectionError(f"unexpected request {request.url}")
        answer = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(answer, BaseException):
            raise answer
        status, headers, body = answer
        raw = HTTPResponse(body=io.BytesIO(body), headers=headers, status=status, preload_content=False,
                           decode_content=False)
        return adapter.build_response(request, raw)


@pytest.fixture
def net(monkeypatch):
    fake = FakeNetwork()
    monkeypatch.setattr(requests.adapters.HTTPAdapter, "send",
                        lambda adapter, request, **kwargs: fake.send(adapter, request, **kwargs))
    yield fake
    assert not fake.unexpected, f"requests nobody expected: {fake.unexpected}"


def rss_connector(url=RSS_URL):
    return RssConnector(AccountConfig(platform="rss", base_url=url))


def feed_200(body=RSS, **headers):
    return 200, {**RSS_TYPE, "ETag": ETAG, "Last-Modified": MODIFIED, **headers}, body


def ids(mentions):
    return [m.external_id for m in mentions]


# --- parsing -----------------------------------------------------------------------------------


def test_registry_returns_the_connector():
    assert get_connector("rss") is RssConnector
    assert RssConnector.account_streams == ("feed",) and RssConnector.query_streams == ()


def test_rss_items_normalised_and_malformed_items_quarantined(net):
    net.on(RSS_URL, feed_200())
    page = rss_connector().fetch(FEED, {})
    assert ids(page.mentions) == [
        f"{RSS_URL}#courrier-rhone-eco-20251114-0183",  # a bare guid, scoped by the feed URL
        "https://www.courrier-rhone.example/economie/2025/11/14/sncf-service-client-gratuit",
        "https://www.courrier-rhone.example/economie/2025/11/13/marche-noel-frequentation",  # no guid: the link
        f"{RSS_URL}#courrier-rhone-eco-20251112-0168",
    ]
    first = page.mentions[0]
    assert first.text == (
        "Ligne Lyon–Turin : les travaux du tunnel prennent six mois de retard\n\n"
        "Le chantier du tunnel de base accuse six mois de retard, selon le maître d'ouvrage.\n\n"
        "Les entreprises de la vallée de la Maurienne s'inquiètent : « on nous avait promis 2032 ».\n"
        "Réunion publique le 2 décembre à Saint-Jean-de-Maurienne.")
    assert first.url == "https://www.courrier-rhone.example/economie/2025/11/14/lyon-turin-retard-tunnel"
    assert first.created_at == datetime(2025, 11, 14, 16, 45, tzinfo=timezone.utc)  # 17:45 +01:00
    assert first.language == "fr"
    assert not first.is_edited and first.version_id == ""
    assert "&" in page.mentions[1].text and "&amp;" not in page.mentions[1].text
    author = first.author
    assert author.platform_user_id == RSS_URL
    assert author.name == "Le Courrier du Rhône – Économie"
    assert author.handle == "www.courrier-rhone.example"
    assert author.profile_url == "https://www.courrier-rhone.example/economie/"
    assert author.avatar_url == "https://www.courrier-rhone.example/static/logo-144.png"
    assert sorted(q.reason for q in page.quarantined) == [
        "entry without a date (published or updated)", "entry without id and without link"]
    brief = next(q for q in page.quarantined if "without id" in q.reason)
    assert brief.payload["entry"]["title"].startswith("Brève") and brief.payload["feed_url"] == RSS_URL
    json.dumps([q.payload for q in page.quarantined])  # storable
    assert page.has_more is False


def test_atom_entries_with_edit_relative_link_and_updated_only(net):
    net.on(ATOM_URL, (200, ATOM_TYPE, ATOM))
    page = rss_connector(ATOM_URL).fetch(FEED, {})
    launch, four_hours, lisbon = page.mentions
    assert page.quarantined == []
    assert launch.external_id == "tag:blog.fieldnotes.example,2025:/posts/launch-week"
    assert launch.text == ("Launch week: shared inbox, routing rules and a faster search\n\n"
                           "Three features we have been promising since spring are live today.\n\n"
                           "Update: search is now 3× faster than in the beta & supports phrases.")  # summary, not content
    assert launch.created_at == datetime(2025, 10, 20, 6, 0, tzinfo=timezone.utc)
    assert launch.is_edited and launch.version_id == "2025-10-21T09:30:00Z"
    assert launch.language == "en"
    assert four_hours.url == "https://blog.fieldnotes.example/posts/four-hours"  # xml:base
    assert not four_hours.is_edited  # updated == published
    assert lisbon.created_at == datetime(2025, 9, 18, 16, 40, tzinfo=timezone.utc)  # updated only
    assert lisbon.text.endswith("Slides and a few take-aways.\n\nMeasure first-contact resolution.\nPublish your response times.")
    assert launch.author.name == "Field Notes" and launch.author.avatar_url == "https://blog.fieldnotes.example/icon-64.png"
    assert launch.raw["entry"]["author"] == "Priya Natarajan"  # the entry's own author stays in raw


def test_stored_raw_and_quarantined_payloads_parse_again(net):
    net.on(RSS_URL, feed_200())
    page = rss_connector().fetch(FEED, {})
    again = parse_payload(json.loads(json.dumps(page.mentions[0].raw)))
    [m] = again.mentions
    original = page.mentions[0]
    assert (m.external_id, m.text, m.created_at, m.language, m.author) == \
        (original.external_id, original.text, original.created_at, original.language, original.author)
    replay = parse_payload(page.quarantined[0].payload)
    assert replay.mentions == [] and replay.quarantined[0].reason == page.quarantined[0].reason


def test_long_ids_are_hashed_to_fit():
    entry = {"id": "https://example.org/" + "a" * 300, "title": "t", "published": "2025-11-14T10:00:00Z"}
    [m] = parse_payload(entry).mentions
    assert m.external_id.startswith("sha256:") and len(m.external_id) <= 200


def test_html_to_text():
    assert html_to_text("<p>A&nbsp;<b>b</b></p><hr/><ul><li>x</li><li>y</li></ul><script>evil()</script>") == "A b\n\nx\ny"


# --- conditional GET, changes ------------------------------------------------------------------


def test_first_fetch_keeps_etag_and_last_modified(net):
    net.on(RSS_URL, feed_200())
    page = rss_connector().fetch(FEED, {})
    assert page.cursor["etag"] == ETAG and page.cursor["modified"] == MODIFIED
    assert len(page.cursor["seen"]) == 6  # 4 mentions + 2 quarantined
    [(request, timeout)] = net.calls
    assert "If-None-Match" not in request.headers and "If-Modified-Since" not in request.headers
    assert request.headers["User-Agent"].startswith("social-crm-listening")
    assert timeout == RssConnector.timeout


def test_conditional_get_304_is_an_empty_page(net):
    net.on(RSS_URL, feed_200(), (304, {"ETag": ETAG}, b""))
    connector = rss_connector()
    cursor = connector.fetch(FEED, {}).cursor
    page = connector.fetch(FEED, cursor)
    assert page.mentions == [] and page.quarantined == [] and page.has_more is False
    assert page.cursor == cursor
    request, _ = net.calls[-1]
    assert request.headers["If-None-Match"] == ETAG
    assert request.headers["If-Modified-Since"] == MODIFIED


def test_unchanged_entries_are_not_handed_over_twice(net):
    # A server without validators serves the same document again, then one with an entry
    # edited (built here from the fixture: a changed description).
    edited = RSS.replace(b"Un train sur trois circulera", b"Un train sur deux circulera")
    net.on(RSS_URL, (200, RSS_TYPE, RSS), (200, RSS_TYPE, RSS), (200, RSS_TYPE, edited))
    connector = rss_connector()
    first = connector.fetch(FEED, {})
    assert len(first.mentions) == 4 and len(first.quarantined) == 2
    second = connector.fetch(FEED, first.cursor)
    assert second.mentions == [] and second.quarantined == []  # malformed items not re-quarantined
    third = connector.fetch(FEED, second.cursor)
    assert ids(third.mentions) == [f"{RSS_URL}#courrier-rhone-eco-20251112-0168"]
    assert "Un train sur deux" in third.mentions[0].text
    assert "etag" not in third.cursor


def test_bozo_feed_still_yields_its_entries(net):
    # Built: the fixture made not well-formed (a raw "&" in a title).
    broken = RSS.replace(b"<title>Le march\xc3\xa9 de No\xc3\xabl de Lyon", b"<title>March\xc3\xa9 & No\xc3\xabl de Lyon")
    assert broken != RSS
    net.on(RSS_URL, (200, RSS_TYPE, broken))
    page = rss_connector().fetch(FEED, {})
    assert len(page.mentions) == 4
    assert any(m.text.startswith("Marché & Noël de Lyon") for m in page.mentions)


@pytest.mark.parametrize("body", [
    b"<!DOCTYPE html><html><head><title>Page introuvable</title></head><body><h1>404</h1></body></html>",
    b"\x00\x01\x02 binary garbage \xff\xfe",
    b"",
    b"/etc/hostname",  # feedparser would open a file of that name: the connector passes a stream
])
def test_a_body_that_is_no_feed_is_permanent(net, body):
    net.on(RSS_URL, (200, {"Content-Type": "text/html"}, body))
    with pytest.raises(PermanentError) as caught:
        rss_connector().fetch(FEED, {})
    assert "Not a feed" in str(caught.value)


def test_too_large_a_body_is_permanent(net):
    net.on(RSS_URL, feed_200())
    connector = rss_connector()
    connector.max_bytes = 1000
    with pytest.raises(PermanentError):
        connector.fetch(FEED, {})


# --- errors --------------------------------------------------------------------------------------


@pytest.mark.parametrize("answer", [
    (500, {}, b"Internal Server Error"),
    (502, {"Content-Type": "text/html"}, b"<h1>Bad gateway</h1>"),
    (503, {"Retry-After": "120"}, b""),
    requests.ConnectTimeout("connect timed out"),
    requests.ReadTimeout("read timed out"),
    requests.ConnectionError("connection reset by peer"),
])
def test_server_errors_and_timeouts_are_transient(net, answer):
    net.on(RSS_URL, answer)
    with pytest.raises(TransientError) as caught:
        rss_connector().fetch(FEED, {})
    assert not isinstance(caught.value, RateLimited)


def test_429_waits_for_retry_after_seconds(net):
    net.on(RSS_URL, (429, {"Retry-After": "120"}, b"slow down"))
    before = datetime.now(timezone.utc)
    with pytest.raises(RateLimited) as caught:
        rss_connector().fetch(FEED, {})
    assert before + timedelta(seconds=119) <= caught.value.reset_at <= datetime.now(timezone.utc) + timedelta(seconds=121)


def test_429_waits_for_retry_after_date_or_a_fallback(net):
    when = (datetime.now(timezone.utc) + timedelta(minutes=10)).replace(microsecond=0)
    net.on(RSS_URL, (429, {"Retry-After": format_datetime(when, usegmt=True)}, b""), (429, {}, b""))
    connector = rss_connector()
    with pytest.raises(RateLimited) as caught:
        connector.fetch(FEED, {})
    assert caught.value.reset_at == when
    with pytest.raises(RateLimited) as caught:
        connector.fetch(FEED, {})
    assert caught.value.reset_at > datetime.now(timezone.utc) + timedelta(minutes=29)


@pytest.mark.parametrize("status", [401, 403, 404, 410])
def test_client_errors_are_permanent(net, status):
    net.on(RSS_URL, (status, {}, b""))
    with pytest.raises(PermanentError) as caught:
        rss_connector().fetch(FEED, {})
    assert caught.value.status == status


def test_bad_url_and_missing_url_are_permanent(net):
    with pytest.raises(PermanentError):
        rss_connector("").fetch(FEED, {})
    with pytest.raises(PermanentError):
        rss_connector("not a url").fetch(FEED, {})
    with pytest.raises(PermanentError):
        rss_connector().fetch(StreamRequest(stream="search"), {})
    assert net.calls == []


# --- feed URLs typed by tenants cannot reach our own network -------------------------------------


@pytest.mark.parametrize("url", ["http://127.0.0.1:8000/admin/", "http://169.254.169.254/latest/meta-data/",
                                 "http://10.0.0.5/feed.xml", "http://[::1]/feed", "http://localhost/feed"])
def test_a_feed_url_pointing_at_a_private_address_is_refused_without_a_request(net, url):
    with pytest.raises(PermanentError, match="non-public address"):
        rss_connector(url).fetch(StreamRequest(stream="feed"), {})
    assert net.calls == []


def test_a_redirect_to_a_private_address_is_refused(net, monkeypatch):
    public = "http://93.184.215.14/feed.xml"  # an IP literal: no DNS needed here
    net.on(public, (302, {"Location": "http://127.0.0.1/secret"}, b""))
    with pytest.raises(PermanentError, match="non-public address"):
        rss_connector(public).fetch(StreamRequest(stream="feed"), {})
    assert [request.url for request, _t in net.calls] == [public]


def test_private_feeds_can_be_allowed_for_on_premises_installs(net, settings):
    settings.FEED_ALLOW_PRIVATE_HOSTS = True
    url = "http://10.0.0.5/feed.xml"
    net.on(url, feed_200())
    page = rss_connector(url).fetch(StreamRequest(stream="feed"), {})
    assert page.mentions
