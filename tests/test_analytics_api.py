"""The reputation metrics API and the dashboard page, on a small data set whose figures are
worked out by hand below (tests/test_analytics_rollups.dataset, then a person's sentiments).

    mention  hour (UTC)  platform  author (followers)  interactions  queries         sentiment
    a1       08:05       x         u-1 (100)           3+1+0 = 4     Brand           negative
    a2       08:20       x         u-2 (50)            0+0+2 = 2     Brand           positive
    a3       09:10       mastodon  u-3 (1000)          10            Rival           positive
    a4       09:15       x         u-1 (100)           0             Brand, Rival    neutral
"""

from __future__ import annotations

import csv
import io

import pytest
from django.conf import settings
from django.utils import translation

from analytics import selectors
from analytics.filters import FilterSerializer
from listening.models import ListeningQuery, Mention
from listening.nlp.corrections import correct_sentiment
from social_crm.tenancy.scope import tenant_context

from .conftest import login
from .test_analytics_rollups import dataset

DAY = {"from": "2026-10-05", "to": "2026-10-05", "tz": "UTC"}
LABELS = {"a1": "negative", "a2": "positive", "a3": "positive", "a4": "neutral"}


@pytest.fixture
def data(world):
    tid = world.a.tenant.pk
    dataset(tid)
    with tenant_context(tid):
        ids = dict(Mention.objects.filter(tenant_id=tid, external_id__in=LABELS).values_list("external_id", "pk"))
    for ext, label in LABELS.items():
        correct_sentiment(tid, actor=None, mention_id=ids[ext], label=label)
    with tenant_context(tid):
        world.a.rival = ListeningQuery.objects.get(tenant_id=tid, name="Rival")
    return world


def _get(client, series, slug="acme", **params):
    return client.get(f"/api/v1/t/{slug}/analytics/{series}", {**DAY, **params})


def test_volume_counts_each_hour_by_sentiment(client, data):
    login(client, "marketer@example.com")
    body = _get(client, "volume").json()
    assert (body["interval"], body["source"], body["total"]) == ("hour", "rollup", 4)
    assert len(body["points"]) == 24
    eight, nine = body["points"][8], body["points"][9]
    assert (eight["t"], eight["total"], eight["positive"], eight["negative"], eight["neutral"]) == (
        "2026-10-05T08:00:00+00:00", 2, 1, 1, 0)
    assert (nine["total"], nine["positive"], nine["neutral"], nine["untagged"]) == (2, 1, 1, 0)


def test_net_sentiment_is_positive_minus_negative_over_tagged(client, data):
    login(client, "marketer@example.com")
    body = _get(client, "sentiment").json()
    assert body["net_sentiment"] == pytest.approx((2 - 1) / 4)  # 0.25
    assert body["previous_net_sentiment"] is None and body["change"] is None  # nothing on 2026-10-04
    assert body["points"][9]["net_sentiment"] == pytest.approx((1 - 0) / 2)
    # Only the competitor query's mentions (a3 positive, a4 neutral): (1 - 0) / 2.
    assert _get(client, "sentiment", query=data.a.rival.pk).json()["net_sentiment"] == pytest.approx(0.5)


def test_net_sentiment_compares_with_the_previous_period_of_the_same_length(client, data):
    """The previous period is read as totals only (no buckets): 2026-10-06's previous day is the
    data set's day, 0.25, and a two-day range ending on 2026-10-07 compares with 10-04..10-05."""
    login(client, "marketer@example.com")
    body = _get(client, "sentiment", **{"from": "2026-10-06", "to": "2026-10-06"}).json()
    assert (body["net_sentiment"], body["change"]) == (None, None)
    assert body["previous_net_sentiment"] == pytest.approx(0.25)
    body = _get(client, "sentiment", **{"from": "2026-10-06", "to": "2026-10-07", "query": data.a.rival.pk}).json()
    assert body["previous_net_sentiment"] == pytest.approx(0.5)
    tid = data.a.tenant.pk
    with tenant_context(tid):
        serializer = FilterSerializer(data={"from": "2026-10-06", "to": "2026-10-06", "tz": "Europe/Paris"},
                                      context={"tenant": data.a.tenant})
        serializer.is_valid(raise_exception=True)
        f = serializer.validated_data
        assert selectors.net_sentiment(tid, f)["previous_net_sentiment"] == pytest.approx(0.25)
        assert selectors.net_sentiment(tid, f, source="raw")["previous_net_sentiment"] == pytest.approx(0.25)


def test_reach_and_engagement_rate(client, data):
    login(client, "marketer@example.com")
    body = _get(client, "reach").json()
    assert (body["reach"], body["interactions"]) == (100 + 50 + 1000 + 100, 4 + 2 + 10 + 0)
    assert body["engagement_rate"] == pytest.approx(16 / 1250)  # 0.0128
    x = _get(client, "reach", platform="x").json()
    assert (x["reach"], x["interactions"], x["engagement_rate"]) == (250, 6, pytest.approx(6 / 250))


def test_share_of_voice_of_the_brand_against_its_competitor(client, data):
    login(client, "marketer@example.com")
    body = _get(client, "share-of-voice").json()
    rows = {r["name"]: r for r in body["rows"]}
    assert (rows["Brand"]["mentions"], rows["Rival"]["mentions"], body["total"]) == (3, 2, 5)
    assert rows["Brand"]["share"] == pytest.approx(3 / 5) and rows["Rival"]["share"] == pytest.approx(2 / 5)
    assert body["brand_share"] == pytest.approx(0.6)
    # On X only: Brand a1 a2 a4, Rival a4 -> 3 / 4.
    assert _get(client, "share-of-voice", platform="x").json()["brand_share"] == pytest.approx(0.75)


def test_top_authors_by_volume_and_by_reach(client, data):
    login(client, "marketer@example.com")
    body = _get(client, "top-authors").json()
    assert [(r["handle"], r["mentions"]) for r in body["by_volume"]][0] == ("u-1", 2)
    assert [r["handle"] for r in body["by_reach"]] == ["u-3", "u-1", "u-2"]
    assert len(_get(client, "top-authors", limit=1).json()["by_reach"]) == 1


def test_top_topics_and_terms_follow_the_tagging(client, data):
    from listening.nlp.topic_actions import set_mention_topic

    tid = data.a.tenant.pk
    with tenant_context(tid):
        ids = dict(Mention.objects.filter(tenant_id=tid, external_id__in=LABELS).values_list("external_id", "pk"))
    for ext in ("a1", "a4"):
        set_mention_topic(tid, actor=None, mention_id=ids[ext], topic_id=data.a.topic.pk, present=True)
    login(client, "marketer@example.com")
    topics = _get(client, "top-topics").json()["rows"]
    assert [(t["name"], t["mentions"], t["negative"], t["neutral"]) for t in topics] == [("Delivery", 2, 1, 1)]
    assert topics[0]["net_sentiment"] == pytest.approx(-0.5)
    # Volume of one topic comes from the topic rollup: a1 and a4.
    assert _get(client, "volume", topic=data.a.topic.pk).json()["total"] == 2
    assert _get(client, "top-terms").json()["rows"] == []  # nothing tagged entities yet


def test_rollups_and_raw_group_by_give_the_same_figures(data):
    tid = data.a.tenant.pk
    cases = [DAY, {**DAY, "platform": "x"}, {**DAY, "query": [data.a.rival.pk]},
             {"from": "2026-09-01", "to": "2026-10-31", "tz": "Europe/Paris"},
             {"from": "2026-06-01", "to": "2026-12-31", "tz": "America/New_York", "language": "fr"}]
    for params in cases:
        with tenant_context(tid):
            f = _filters(data.a.tenant, params)
            for name, fn in selectors.SERIES.items():
                rollup, raw = fn(tid, f), fn(tid, f, source="raw")
                used = rollup.pop("source")
                assert raw.pop("source") == "raw"
                assert rollup == raw, (name, params)
                # A query filter sends the per-topic and per-term tables to the raw rows (no query there).
                assert used == ("raw" if params.get("query") and name in ("top-topics", "top-terms")
                                else "rollup"), (name, params)


def _filters(tenant, params):
    s = FilterSerializer(data=params, context={"tenant": tenant})
    assert s.is_valid(), s.errors
    return s.validated_data


def test_buckets_are_cut_in_the_time_zone_asked_for(client, data):
    login(client, "marketer@example.com")
    week = _get(client, "volume", **{"from": "2026-10-01", "to": "2026-10-07", "tz": "Europe/Paris"}).json()
    assert week["interval"] == "day"
    assert [p["t"] for p in week["points"]][4] == "2026-10-05T00:00:00+02:00"
    assert [p["total"] for p in week["points"]] == [0, 0, 0, 0, 4, 0, 0]
    # In Honolulu (UTC-10) the 08:00-09:59 UTC mentions fall on the 4th.
    hnl = _get(client, "volume", **{"from": "2026-10-01", "to": "2026-10-07", "tz": "Pacific/Honolulu"}).json()
    assert [p["total"] for p in hnl["points"]] == [0, 0, 0, 4, 0, 0, 0]
    quarter = _get(client, "volume", **{"from": "2026-07-01", "to": "2026-10-31"}).json()
    assert quarter["interval"] == "week" and sum(p["total"] for p in quarter["points"]) == 4


def test_the_other_tenants_rollups_never_show(client, data):
    login(client, "admin@example.com")  # admin of A, marketer of B
    for series in ("volume", "reach", "share-of-voice", "top-authors"):
        body = _get(client, series, slug="globex").json()
        assert body.get("total", 0) == 0 and body.get("reach", 0) == 0
        assert not body.get("by_volume")
        assert "Rival" not in str(body)


@pytest.mark.parametrize("params, field", [
    ({"from": "2026-10-06", "to": "2026-10-05"}, "from"),
    ({"from": "2025-01-01", "to": "2026-10-05"}, "to"),
    ({"from": "5 October"}, "from"),
    ({"tz": "Mars/Olympus"}, "tz"),
    ({"platform": "myspace"}, "platform"),
    ({"language": "FR!"}, "language"),
    ({"topic": "999999"}, "topic"),
    ({"query": "abc"}, "query"),
    ({"limit": "0"}, "limit"),
])
def test_bad_filters_are_400_with_field_errors(client, data, params, field):
    login(client, "marketer@example.com")
    response = client.get("/api/v1/t/acme/analytics/volume", params)
    assert response.status_code == 400
    assert field in response.json()


def test_another_tenants_ids_in_the_filters_are_400(client, data):
    login(client, "admin@example.com")
    for params in ({"query": data.b.query.pk}, {"topic": data.b.topic.pk},
                   {"department": data.b.departments["legal"].pk}):
        response = _get(client, "volume", **params)
        assert response.status_code == 400 and list(params)[0] in response.json()


def test_csv_has_one_row_per_point_or_table_row(client, data):
    login(client, "marketer@example.com")
    response = _get(client, "volume", format="csv")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert 'filename="volume.csv"' in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert len(rows) == 24 and rows[8]["total"] == "2" and rows[8]["negative"] == "1"
    authors = list(csv.DictReader(io.StringIO(_get(client, "top-authors", format="csv").content.decode())))
    assert {r["table"] for r in authors} == {"by_volume", "by_reach"} and len(authors) == 6
    bad = _get(client, "volume", format="csv", tz="Mars/Olympus")
    assert bad.status_code == 400 and "tz" in bad.content.decode()


def test_an_api_token_of_the_tenant_reads_the_series(client, data):
    response = client.get("/api/v1/t/acme/analytics/volume", DAY, HTTP_AUTHORIZATION=f"Bearer {data.a.token_key}")
    assert response.status_code == 200 and response.json()["total"] == 4
    other = client.get("/api/v1/t/globex/analytics/volume", DAY, HTTP_AUTHORIZATION=f"Bearer {data.a.token_key}")
    assert other.status_code == 404


def test_the_series_are_in_the_openapi_schema(client, data):
    login(client, "marketer@example.com")
    schema = client.get("/api/schema/", {"format": "json"}).json()
    for series in ("volume", "sentiment", "reach", "share-of-voice", "top-authors", "top-topics", "top-terms"):
        operation = schema["paths"][f"/api/v1/t/{{tenant_slug}}/analytics/{series}"]["get"]
        names = {p["name"] for p in operation["parameters"]}
        assert {"from", "to", "tz", "query", "platform", "language", "topic", "department", "format"} <= names


def test_the_dashboard_page_has_a_chart_and_a_csv_link_per_series(client, data, django_assert_max_num_queries):
    login(client, "marketer@example.com")
    with django_assert_max_num_queries(30):
        response = client.get("/t/acme/analytics/", {"range": "custom", **DAY, "platform": "x"})
    assert response.status_code == 200
    html = response.content.decode()
    for series in ("volume", "sentiment", "reach", "share-of-voice", "top-authors", "top-topics", "top-terms"):
        assert f'data-series="{series}"' in html and f'data-testid="csv-{series}"' in html
    assert "/api/v1/t/acme/analytics/volume?from=2026-10-05&amp;to=2026-10-05&amp;tz=UTC&amp;platform=x" in html
    assert 'data-url="/api/v1/t/acme/analytics/care?' in html  # the care API of the contract
    assert 'data-testid="analytics-link"' in html
    assert "vendor/chart.js/chart.umd.min.js" in html


def test_the_dashboard_page_says_what_is_wrong_with_bad_filters(client, data):
    login(client, "marketer@example.com")
    response = client.get("/t/acme/analytics/", {"range": "custom", "from": "2026-10-06", "to": "2026-10-05"})
    assert response.status_code == 400
    assert 'data-testid="analytics-errors"' in response.content.decode()


def test_the_dashboard_page_speaks_french(client, data):
    from django.contrib.auth import get_user_model

    get_user_model().objects.filter(email="marketer@example.com").update(language="fr")
    login(client, "marketer@example.com")
    try:
        html = client.get("/t/acme/analytics/", {"range": "7"}).content.decode()
    finally:
        translation.activate(settings.LANGUAGE_CODE)  # the request's language stays active in this thread
    assert "Part de voix" in html and "Les 7 derniers jours" in html
