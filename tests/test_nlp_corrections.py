"""A person corrects a mention: the mention keeps the person's label, the tenant keeps a labelled
example, enough new examples queue one retraining, and the stream shows it all in one click."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.http import Http404
from django.test.utils import CaptureQueriesContext

from listening.connectors.base import MentionData, Page
from listening.ingest import ingest_page
from listening.models import Mention, MentionTopic, SentimentLabel, TenantSentimentModel
from listening.nlp.corrections import correct_sentiment
from social_crm.core.redis import client, key
from social_crm.tenancy.models import AuditEvent
from social_crm.tenancy.permissions import Role
from social_crm.tenancy.scope import tenant_context

from .conftest import login

ENGLISH = "The courier left my parcel in the rain again, the box was soaked #{}"


def add_mentions(tenant_id: int, n: int, text: str = ENGLISH, prefix: str = "c") -> list[int]:
    page = Page(mentions=[MentionData(external_id=f"{prefix}-{i}", text=text.format(i), version_id=f"{prefix}-{i}",
                                      created_at=datetime(2026, 11, 5, 9, i % 60, tzinfo=timezone.utc))
                          for i in range(n)])
    return ingest_page(tenant_id, platform="x", source="poll", page=page).inserted_ids


def tag_as_the_model_did(tenant_id: int, ids: list[int], **fields) -> None:
    values = {"detected_language": "en", "sentiment": "neutral", "sentiment_confidence": 0.41,
              "sentiment_scores": {"negative": 0.35, "neutral": 0.41, "positive": 0.24}, "sentiment_source": "model",
              "nlp_model_version": "sentiment-en-20261123-abcdef12", "needs_review": True,
              "review_reasons": ["low_confidence"], **fields}
    with tenant_context(tenant_id):
        Mention.objects.filter(tenant_id=tenant_id, pk__in=ids).update(**values)


def mention(tenant_id: int, pk: int) -> Mention:
    with tenant_context(tenant_id):
        return Mention.objects.get(tenant_id=tenant_id, pk=pk)


def labels_of(tenant_id: int, mention_id: int) -> list[SentimentLabel]:
    with tenant_context(tenant_id):
        return list(SentimentLabel.objects.filter(tenant_id=tenant_id, mention_id=mention_id))


def queued_trainings() -> int:
    # Broker keys carry the run's prefix (tests/settings.py): this is the real "training" queue.
    return client().llen(key("training"))


@pytest.fixture
def cm(world):
    return world.a.members[Role.COMMUNITY_MANAGER].user


@pytest.fixture
def tagged(world) -> int:
    """A mention of A that the model tagged neutral with low confidence."""
    [pk] = add_mentions(world.a.tenant.pk, 1)
    tag_as_the_model_did(world.a.tenant.pk, [pk])
    return pk


def test_a_correction_sets_the_mention_and_stores_a_labelled_example(world, cm, tagged):
    tid, pk = world.a.tenant.pk, tagged

    correct_sentiment(tid, actor=cm, mention_id=pk, label="negative")

    m = mention(tid, pk)
    assert (m.sentiment, m.sentiment_source, m.needs_review, m.review_reasons) == ("negative", "human", False, [])
    # What the model said stays on the mention: it is how the review threshold is judged.
    assert m.sentiment_confidence == 0.41 and m.sentiment_scores["neutral"] == 0.41
    assert m.nlp_model_version == "sentiment-en-20261123-abcdef12"
    [example] = labels_of(tid, pk)
    assert (example.text, example.language, example.label) == (m.text, "en", "negative")
    assert (example.previous_label, example.previous_confidence) == ("neutral", 0.41)
    assert example.model_version == "sentiment-en-20261123-abcdef12" and example.created_by == cm
    with tenant_context(tid):
        event = AuditEvent.objects.get(tenant_id=tid, action="mention.sentiment_corrected")
    assert event.target_id == str(pk) and event.data["label"] == "negative" and event.data["previous_label"] == "neutral"


def test_a_second_correction_replaces_the_first_and_keeps_what_the_model_said(world, cm, tagged):
    tid, pk = world.a.tenant.pk, tagged
    correct_sentiment(tid, actor=cm, mention_id=pk, label="negative")
    first = labels_of(tid, pk)[0]

    correct_sentiment(tid, actor=cm, mention_id=pk, label="negative")  # a double click: no-op
    assert labels_of(tid, pk)[0].created_at == first.created_at
    correct_sentiment(tid, actor=world.a.members[Role.ADMIN].user, mention_id=pk, label="positive")

    [example] = labels_of(tid, pk)
    assert example.pk == first.pk and example.label == "positive"
    assert example.previous_label == "neutral", "the second correction must not record the first one as the model's"
    assert example.created_at > first.created_at  # a new example for the next retraining
    assert mention(tid, pk).sentiment == "positive"


def test_other_languages_are_labelled_for_the_english_model_and_french_for_the_french_one(world, cm):
    tid = world.a.tenant.pk
    other, fr = add_mentions(tid, 2, text="Hola amigos {}", prefix="o")
    tag_as_the_model_did(tid, [other], detected_language="other")
    tag_as_the_model_did(tid, [fr], detected_language="fr")

    correct_sentiment(tid, actor=cm, mention_id=other, label="positive")
    correct_sentiment(tid, actor=cm, mention_id=fr, label="positive")

    assert labels_of(tid, other)[0].language == "en"
    assert labels_of(tid, fr)[0].language == "fr"


def test_an_unknown_label_or_another_tenants_mention_changes_nothing(world, cm):
    a, b = world.a.tenant.pk, world.b.tenant.pk
    [pk_a] = add_mentions(a, 1)
    [pk_b] = add_mentions(b, 1)
    tag_as_the_model_did(a, [pk_a])
    tag_as_the_model_did(b, [pk_b])

    with pytest.raises(ValidationError) as error:
        correct_sentiment(a, actor=cm, mention_id=pk_a, label="furious")
    assert "sentiment" in error.value.message_dict
    with pytest.raises(Http404):
        correct_sentiment(a, actor=cm, mention_id=pk_b, label="negative")

    assert mention(a, pk_a).sentiment_source == "model" and labels_of(a, pk_a) == []
    assert mention(b, pk_b).sentiment_source == "model" and labels_of(b, pk_b) == []


def test_the_stage_never_overwrites_a_human_label(world, cm, models):
    from listening.nlp.stage import tag_mentions

    tid = world.a.tenant.pk
    [pk] = add_mentions(tid, 1, text="I love this shop, the staff were amazing and so helpful! {}")
    assert tag_mentions(tid, [pk]) == 1
    model_said = mention(tid, pk)
    assert model_said.sentiment == "positive" and model_said.sentiment_source == "model"

    correct_sentiment(tid, actor=cm, mention_id=pk, label="negative")
    assert tag_mentions(tid, [pk]) == 1  # tagged again, e.g. by the backfill after a model switch

    m = mention(tid, pk)
    assert (m.sentiment, m.sentiment_source, m.needs_review) == ("negative", "human", False)
    assert m.sentiment_scores["positive"] > m.sentiment_scores["negative"]  # the model's scores are refreshed


def test_enough_new_labels_queue_one_training_and_a_burst_queues_no_more(world, cm, settings, django_capture_on_commit_callbacks):
    settings.NLP_RETRAIN_MIN_LABELS = 3
    a, b = world.a.tenant.pk, world.b.tenant.pk
    ids = add_mentions(a, 6)
    ids_b = add_mentions(b, 6)
    tag_as_the_model_did(a, ids)
    tag_as_the_model_did(b, ids_b)
    before = queued_trainings()

    for n, pk in enumerate(ids, start=1):
        with django_capture_on_commit_callbacks(execute=True):
            correct_sentiment(a, actor=cm, mention_id=pk, label="negative")
        assert queued_trainings() == before + (1 if n >= 3 else 0), f"after correction {n}"
    # B corrected fewer than the threshold: nothing queued for B.
    for pk in ids_b[:2]:
        with django_capture_on_commit_callbacks(execute=True):
            correct_sentiment(b, actor=cm, mention_id=pk, label="negative")

    assert queued_trainings() == before + 1
    with tenant_context(a):
        [queued] = TenantSentimentModel.objects.filter(tenant_id=a, status="queued")
        assert queued.language == "en" and queued.requested_by is None
        assert AuditEvent.objects.filter(tenant_id=a, action="sentiment_model.training_requested",
                                         data__automatic=True).count() == 1
    with tenant_context(b):
        assert not TenantSentimentModel.objects.filter(tenant_id=b, status="queued").exists()
    message = json.loads(client().lindex(key("training"), 0))
    assert message["headers"]["task"] == "listening.tasks.nlp_retrain_tenant"
    assert message["headers"]["argsrepr"] == repr((a, queued.pk))
    client().delete(key("training"))


# --- The stream ------------------------------------------------------------------------------------


def htmx_post(client, url, data):
    return client.post(url, data=data, HTTP_HX_REQUEST="true")


def test_one_click_in_the_stream_corrects_the_row_and_returns_it_re_rendered(client, world, tagged):
    tid, pk = world.a.tenant.pk, tagged
    login(client, "cm@example.com")

    page = client.get("/t/acme/mentions/").content.decode()
    assert f'action="/t/acme/mentions/{pk}/sentiment/"' in page
    assert 'data-testid="review-reason" data-reason="low_confidence"' in page

    response = htmx_post(client, f"/t/acme/mentions/{pk}/sentiment/", {"sentiment": "negative"})

    assert response.status_code == 200
    row = response.content.decode()
    assert row.count('data-testid="mention-row"') == 1 and f'data-mention-id="{pk}"' in row
    assert 'data-testid="corrected-by-person"' in row and 'data-testid="needs-review"' not in row
    assert 'class="btn btn-danger active" aria-pressed="true" data-testid="correct-negative"' in row
    assert mention(tid, pk).sentiment_source == "human"


def test_a_plain_form_post_goes_back_to_the_stream_and_a_bad_label_is_a_400(client, world, tagged):
    tid, pk = world.a.tenant.pk, tagged
    login(client, "head@example.com")  # department heads may correct too

    response = client.post(f"/t/acme/mentions/{pk}/sentiment/", {"sentiment": "positive"})
    assert response.status_code == 302 and response.url == f"/t/acme/mentions/#mention-{pk}"
    bad = htmx_post(client, f"/t/acme/mentions/{pk}/sentiment/", {"sentiment": "furious"})
    assert bad.status_code == 400 and b"errorlist" in bad.content
    assert mention(tid, pk).sentiment == "positive"


def test_a_marketer_sees_no_correction_buttons_and_cannot_post_one(client, world, tagged):
    tid, pk = world.a.tenant.pk, tagged
    login(client, "marketer@example.com")

    page = client.get("/t/acme/mentions/").content.decode()
    assert 'data-testid="sentiment-correct"' not in page and 'data-testid="topic-remove"' not in page
    assert htmx_post(client, f"/t/acme/mentions/{pk}/sentiment/", {"sentiment": "negative"}).status_code == 403
    assert mention(tid, pk).sentiment_source == "model"


def test_topics_are_chips_removed_and_added_in_one_click(client, world):
    tid = world.a.tenant.pk
    with tenant_context(tid):
        tagged = MentionTopic.objects.get(tenant_id=tid, topic=world.a.topic)
    pk = tagged.mention_id
    login(client, "cm@example.com")
    page = client.get("/t/acme/mentions/").content.decode()
    assert f'data-testid="topic-chip" data-topic-id="{world.a.topic.pk}"' in page

    removed = htmx_post(client, f"/t/acme/mentions/{pk}/topics/", {"topic": world.a.topic.pk, "present": ""})
    assert removed.status_code == 200 and b'data-testid="topic-chip"' not in removed.content
    with tenant_context(tid):
        assert not MentionTopic.objects.filter(tenant_id=tid, mention_id=pk).exists()

    added = htmx_post(client, f"/t/acme/mentions/{pk}/topics/", {"topic": world.a.topic.pk, "present": "on"})
    assert added.status_code == 200 and b'data-testid="topic-chip"' in added.content
    with tenant_context(tid):
        assert MentionTopic.objects.get(tenant_id=tid, mention_id=pk).source == "human"
    foreign = htmx_post(client, f"/t/acme/mentions/{pk}/topics/", {"topic": world.b.topic.pk, "present": "on"})
    assert foreign.status_code == 400 and b"errorlist" in foreign.content


def test_the_stream_shows_entities_and_runs_one_query_per_table_whatever_the_number_of_rows(client, world):
    tid = world.a.tenant.pk
    login(client, "cm@example.com")

    def queries_for_stream() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get("/t/acme/mentions/").status_code == 200
        return len(ctx.captured_queries)

    few = queries_for_stream()
    ids = add_mentions(tid, 8)
    tag_as_the_model_did(tid, ids, entities=[{"label": "brand", "text": "ACME", "canonical": "Acme"}])
    with tenant_context(tid):
        MentionTopic.objects.bulk_create([MentionTopic(tenant_id=tid, mention_id=pk, topic=world.a.topic) for pk in ids])
    many = queries_for_stream()

    assert many == few
    page = client.get("/t/acme/mentions/").content.decode()
    # The 8 new mentions and the world's own tagged "Mon colis Acme…" (tests/conftest.py add_nlp).
    assert page.count('data-testid="mention-entities"') == 8 + 1 and ">Acme</li>" in page


# --- The API -------------------------------------------------------------------------------------


def test_the_api_corrects_sentiment_and_topics_and_refuses_another_tenants_ids(client, world, tagged):
    tid, pk = world.a.tenant.pk, tagged
    login(client, "cm@example.com")
    url = "/api/v1/t/acme/corrections/"

    def post(body):
        return client.post(url, data=json.dumps(body), content_type="application/json")

    ok = post({"mention": pk, "sentiment": "negative", "topics_add": [world.a.topic.pk]})
    assert ok.status_code == 200, ok.content
    body = ok.json()
    assert (body["sentiment"], body["sentiment_source"], body["needs_review"]) == ("negative", "human", False)
    assert [t["id"] for t in body["topics"]] == [world.a.topic.pk]
    assert len(labels_of(tid, pk)) == 1

    assert set(post({"mention": pk, "topics_add": [world.b.topic.pk]}).json()) == {"topics_add"}
    assert set(post({"mention": pk, "topics_remove": [987654]}).json()) == {"topics_remove"}
    assert set(post({"mention": pk}).json()) == {"non_field_errors"}
    assert set(post({"sentiment": "negative"}).json()) == {"mention"}
    with tenant_context(tid):
        assert MentionTopic.objects.filter(tenant_id=tid, mention_id=pk).count() == 1
