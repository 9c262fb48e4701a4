"""The NLP stage in the pipeline: new mentions are queued for tagging after their commit, a
tag task writes language and sentiment, nothing breaks without a model, and the backfill tags
what was stored meanwhile."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from django.conf import settings

from listening.connectors.base import MentionData, Page
from listening.ingest import ingest_page
from listening.models import Mention
from listening.tasks import nlp_backfill, nlp_tag
from social_crm.core.redis import client, key
from social_crm.tenancy.scope import tenant_context


@pytest.fixture
def no_models(tmp_path, monkeypatch):
    monkeypatch.setenv("NLP_MODEL_DIR", str(tmp_path))


def mention(ext, text):
    return MentionData(external_id=ext, text=text, created_at=datetime.now(timezone.utc) - timedelta(days=1), version_id=ext)  # inside NLP_RETAG_DAYS


def tags(tenant_id, ext):
    with tenant_context(tenant_id):
        return Mention.objects.filter(tenant_id=tenant_id, external_id=ext).values(
            "detected_language", "sentiment", "sentiment_confidence", "nlp_model_version", "needs_review", "tagged_at").get()


def queued_nlp_tasks() -> int:
    # Broker keys carry the run's prefix (tests/settings.py): this is the real "nlp" queue.
    return client().llen(key("nlp"))


def test_new_mentions_are_queued_after_commit_and_tagged_by_the_task(world, models, django_capture_on_commit_callbacks):
    tid = world.a.tenant.pk
    before = queued_nlp_tasks()
    with django_capture_on_commit_callbacks(execute=True):
        result = ingest_page(tid, platform="x", source="poll", page=Page(mentions=[
            mention("n-1", "Colis jamais arrivé, service client nul, je suis furieux, c'est honteux et inadmissible"),
            mention("n-2", "I love this shop, the staff were amazing and so helpful!")]))
    assert len(result.inserted_ids) == 2
    assert queued_nlp_tasks() == before + 1
    assert nlp_tag.run(tid, result.inserted_ids) == 2
    fr, en = tags(tid, "n-1"), tags(tid, "n-2")
    assert (fr["detected_language"], en["detected_language"]) == ("fr", "en")
    assert fr["sentiment"] == "negative" and en["sentiment"] == "positive"
    assert fr["nlp_model_version"].startswith("sentiment-fr-") and en["nlp_model_version"].startswith("sentiment-en-")
    assert 0 < fr["sentiment_confidence"] <= 1 and fr["tagged_at"] is not None


def test_without_a_model_ingestion_goes_on_and_the_backfill_tags_later(world, no_models, monkeypatch, trained_models):
    tid = world.a.tenant.pk
    stored = ingest_page(tid, platform="x", source="poll", page=Page(mentions=[mention("b-1", "Super appli, merci !")]))
    assert stored.inserted_ids and nlp_tag.run(tid, stored.inserted_ids) == 0
    assert nlp_backfill.run(tid) == 0  # no model: nothing tagged, nothing raised
    assert tags(tid, "b-1")["tagged_at"] is None
    monkeypatch.setenv("NLP_MODEL_DIR", str(trained_models))  # `train_sentiment` has run
    assert nlp_backfill.run(tid) >= 1
    assert tags(tid, "b-1")["sentiment"] in {"negative", "neutral", "positive"}
    with tenant_context(tid):
        assert not Mention.objects.filter(tenant_id=tid, tagged_at__isnull=True).exists()


def test_a_corrupt_model_file_leaves_mentions_untagged_without_an_error(world, tmp_path, monkeypatch):
    (tmp_path / "sentiment-fr.pkl").write_bytes(b"not a model")
    (tmp_path / "sentiment-en.pkl").write_bytes(b"not a model")
    monkeypatch.setenv("NLP_MODEL_DIR", str(tmp_path))
    tid = world.a.tenant.pk
    result = ingest_page(tid, platform="x", source="poll", page=Page(mentions=[mention("c-1", "Bonjour")]))
    assert nlp_tag.run(tid, result.inserted_ids) == 0
    assert tags(tid, "c-1")["tagged_at"] is None


def test_low_confidence_is_flagged_for_review(world, models):
    tid = world.a.tenant.pk
    result = ingest_page(tid, platform="x", source="poll", page=Page(mentions=[mention("r-1", "ok.")]))
    settings_threshold = settings.NLP_REVIEW_CONFIDENCE
    try:
        settings.NLP_REVIEW_CONFIDENCE = 1.0  # nothing is that sure
        nlp_tag.run(tid, result.inserted_ids)
        assert tags(tid, "r-1")["needs_review"] is True
        settings.NLP_REVIEW_CONFIDENCE = 0.0
        nlp_tag.run(tid, result.inserted_ids)
        assert tags(tid, "r-1")["needs_review"] is False
    finally:
        settings.NLP_REVIEW_CONFIDENCE = settings_threshold


def test_an_edit_clears_the_tags_so_the_new_text_is_tagged_again(world, models):
    tid = world.a.tenant.pk
    first = ingest_page(tid, platform="x", source="poll", page=Page(mentions=[mention("e-1", "Génial, merci")]))
    nlp_tag.run(tid, first.inserted_ids)
    assert tags(tid, "e-1")["tagged_at"] is not None
    edited = mention("e-1", "Finalement horrible, remboursez-moi")
    edited.version_id = "e-2"  # a newer version of the same post
    ingest_page(tid, platform="x", source="poll", page=Page(mentions=[edited]))
    assert tags(tid, "e-1")["tagged_at"] is None


def test_a_tag_task_under_tenant_a_cannot_touch_tenant_b(world, models):
    with tenant_context(world.b.tenant.pk):
        b_ids = list(Mention.objects.filter(tenant_id=world.b.tenant.pk).values_list("pk", flat=True))
    assert nlp_tag.run(world.a.tenant.pk, b_ids) == 0
    with tenant_context(world.b.tenant.pk):
        assert not Mention.objects.filter(tenant_id=world.b.tenant.pk, tagged_at__isnull=False).exists()


def test_the_stream_shows_sentiment_confidence_and_review_flags(client, world, models):
    from .conftest import login

    tid = world.a.tenant.pk
    result = ingest_page(tid, platform="x", source="poll", page=Page(mentions=[
        mention("s-1", "I love this shop, the staff were amazing and so helpful!")]))
    nlp_tag.run(tid, result.inserted_ids)
    login(client, "cm@example.com")
    page = client.get("/t/acme/mentions/")
    assert b'data-sentiment="positive"' in page.content


def test_the_analyze_endpoint_scores_texts_in_order_and_validates_input(client, world, models):
    auth = {"HTTP_AUTHORIZATION": f"Bearer {world.a.token_key}"}
    texts = ["I love this shop, the staff were amazing and so helpful!", "", "Colis jamais arrivé, service client nul"]
    response = client.post("/api/v1/nlp/analyze", {"texts": texts}, content_type="application/json", **auth)
    assert response.status_code == 200
    body = response.json()
    assert [r["language"] for r in body] == ["en", "other", "fr"] and body[0]["label"] == "positive"
    assert set(body[2]["probabilities"]) == {"negative", "neutral", "positive"}
    too_many = client.post("/api/v1/nlp/analyze", {"texts": ["x"] * 101}, content_type="application/json", **auth)
    assert too_many.status_code == 400 and "texts" in too_many.json()
    assert client.post("/api/v1/nlp/analyze", {"texts": "not a list"}, content_type="application/json", **auth).status_code == 400


def test_the_analyze_endpoint_says_503_without_a_model(client, world, no_models):
    auth = {"HTTP_AUTHORIZATION": f"Bearer {world.a.token_key}"}
    response = client.post("/api/v1/nlp/analyze", {"texts": ["bonjour"]}, content_type="application/json", **auth)
    assert response.status_code == 503


def mention_row(tenant_id, ext):
    with tenant_context(tenant_id):
        m = Mention.objects.filter(tenant_id=tenant_id, external_id=ext).get()
        return m, {mt.topic.name: mt.source for mt in m.mentiontopic_set.select_related("topic")}


def test_the_stage_writes_review_reasons_topics_and_entities_with_the_tenants_rules(world, models):
    from listening.nlp import topic_actions

    tid = world.a.tenant.pk
    topic_actions.topic_save(tid, actor=None, name="Billing", keywords=["facture", "rembours*"])
    topic_actions.entity_term_save(tid, actor=None, kind="product", name="Opaline", patterns=["lampe opaline"])
    result = ingest_page(tid, platform="x", source="poll", page=Page(mentions=[
        mention("t-1", "Colis jamais livré et facture payée deux fois, remboursez-moi ! Acme nul"),
        mention("t-2", "Oh great, my Opaline lamp broke on day one. Thanks a lot Acme #not")]))
    assert nlp_tag.run(tid, result.inserted_ids) == 2
    fr, fr_topics = mention_row(tid, "t-1")
    en, _ = mention_row(tid, "t-2")
    assert fr_topics == {"Delivery": "rule", "Billing": "rule"}  # the world's Delivery topic and the new one
    assert {(e["label"], e["canonical"]) for e in fr.entities} >= {("BRAND", "Acme")}
    assert {(e["label"], e["canonical"]) for e in en.entities} >= {("BRAND", "Acme"), ("PRODUCT", "Opaline")}
    assert "irony" in en.review_reasons and en.needs_review and en.sentiment_source == "model"
    # Tenant B has the same ids and a Delivery topic of its own, but neither A's Billing nor Opaline.
    b_result = ingest_page(world.b.tenant.pk, platform="x", source="poll", page=Page(mentions=[
        mention("t-1", "Colis jamais livré et facture payée deux fois, remboursez-moi ! Acme nul")]))
    nlp_tag.run(world.b.tenant.pk, b_result.inserted_ids)
    b_fr, b_topics = mention_row(world.b.tenant.pk, "t-1")
    assert b_topics == {"Delivery": "rule"} and not any(e["canonical"] == "Opaline" for e in b_fr.entities)


def test_a_topic_change_queues_one_retag_pass_that_updates_older_mentions(world, models, django_capture_on_commit_callbacks):
    from listening.nlp import topic_actions
    from listening.tasks import nlp_retopic

    tid = world.a.tenant.pk
    result = ingest_page(tid, platform="x", source="poll", page=Page(mentions=[
        mention("o-1", "Ma facture est fausse, je demande un remboursement")]))
    nlp_tag.run(tid, result.inserted_ids)
    assert "Billing" not in mention_row(tid, "o-1")[1]
    before = queued_nlp_tasks()
    with django_capture_on_commit_callbacks(execute=True):
        topic_actions.topic_save(tid, actor=None, name="Billing", keywords=["facture"])
    with django_capture_on_commit_callbacks(execute=True):  # a second save in the same edit session
        topic_actions.topic_save(tid, actor=None, name="Refunds", keywords=["rembours*"])
    assert queued_nlp_tasks() == before + 1  # one delayed pass for both saves
    assert nlp_retopic.run(tid) >= 1
    assert mention_row(tid, "o-1")[1] == {"Billing": "rule", "Refunds": "rule"}
