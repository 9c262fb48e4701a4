"""Tenant sentiment models: trained from the tenant's corrections by a real Celery worker on the
"training" queue, activated only when not worse, rolled back in one click, loaded once per
process, and visible (with their progress) to the tenant's admin. The shared models are the
small ones of the ``models`` fixture, trained on the first 3,000 English tweets; tenant models
are trained on the same 3,000 (NLP_TENANT_BASE_SAMPLE) plus the corrections."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from listening.connectors.base import MentionData, Page
from listening.ingest import ingest_page
from listening.models import Mention, ModelStatus, SentimentLabel, TenantSentimentModel
from listening.nlp import tenant_models
from listening.nlp.corrections import correct_sentiment
from listening.nlp.data import LABELS, load_split
from listening.nlp.sentiment import SentimentModel, load_model
from listening.nlp.stage import tag_mentions
from listening.tasks import fanout_tenant_retraining
from social_crm.celery import app as celery_app
from social_crm.core.redis import client, key
from social_crm.tenancy.models import AuditEvent
from social_crm.tenancy.permissions import Role
from social_crm.tenancy.scope import tenant_context

from .conftest import login
from .test_celery_worker import START_TIMEOUT, Worker, _stop

BASE_SAMPLE = 3000  # the English shared model of the ``models`` fixture is trained on this prefix
NAMES = ["Quix", "Vorp", "Plink", "Snarf", "Gribble", "Tonk"]
# The tenant's product updates: neutral words to the shared model, bad news to this brand.
PRODUCT_UPDATES = [f"Zorblat {NAMES[i % 6]} {1000 + i} update from Wexbury" for i in range(70)]
TRAINING_TIMEOUT = 300


def add_mentions(tenant_id: int, texts: list[str], prefix: str = "z", days_ago: int = 1) -> list[int]:
    created = timezone.now() - timedelta(days=days_ago)
    page = Page(mentions=[MentionData(external_id=f"{prefix}-{i}", text=t, created_at=created, version_id=f"{prefix}-{i}")
                          for i, t in enumerate(texts)])
    return ingest_page(tenant_id, platform="x", source="poll", page=page).inserted_ids


def sentiments(tenant_id: int, ids: list[int]) -> dict[int, tuple[str, str]]:
    with tenant_context(tenant_id):
        return {pk: (s, v) for pk, s, v in Mention.objects.filter(tenant_id=tenant_id, pk__in=ids)
                .values_list("pk", "sentiment", "nlp_model_version")}


def model_row(tenant_id: int, model_id: int) -> TenantSentimentModel:
    with tenant_context(tenant_id):
        return TenantSentimentModel.objects.get(tenant_id=tenant_id, pk=model_id)


def add_labels(tenant_id: int, texts: list[str], label: str, language: str = "en") -> None:
    with tenant_context(tenant_id):
        SentimentLabel.objects.bulk_create([SentimentLabel(tenant_id=tenant_id, text=t, language=language, label=label)
                                            for t in texts])


def queue_model(tenant_id: int, language: str = "en", **fields) -> TenantSentimentModel:
    with tenant_context(tenant_id):
        return TenantSentimentModel.objects.create(tenant_id=tenant_id, language=language, **fields)


_tiny: dict[int, tuple[bytes, str]] = {}


def tiny(size: int) -> dict:
    """Fields of a stored real (small) English model; different sizes give different models."""
    if size not in _tiny:
        texts, labels = load_split("en", "train")
        model = SentimentModel.train("en", texts[:size], labels[:size])
        _tiny[size] = (tenant_models.model_to_bytes(model), model.version)
    artefact, version = _tiny[size]
    return {"artefact": artefact, "version": version}


@pytest.fixture(autouse=True)
def _fresh_cache():
    tenant_models._cache.clear()
    yield
    tenant_models._cache.clear()


# --- A real worker on the "training" queue ---------------------------------------------------------


@pytest.fixture
def training_worker(models, test_database_env, tmp_path):
    """A worker that consumes the real "training" queue (under this run's broker prefix, so no
    other run's worker takes the messages), with the small shared models."""
    run_id = uuid.uuid4().hex[:12]
    hostname = f"pytest-training-{run_id}@localhost"
    env = {**test_database_env, "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "tests.settings"),
           "NLP_MODEL_DIR": str(models), "NLP_TENANT_BASE_SAMPLE": str(BASE_SAMPLE), "PYTHONUNBUFFERED": "1"}
    log = tmp_path / "training-worker.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "social_crm", "worker", "--pool", "solo", "--concurrency", "1",
             "-Q", "training", "-n", hostname, "--without-gossip", "--without-mingle", "--loglevel", "WARNING"],
            env=env, cwd=django_settings.BASE_DIR, stdout=out, stderr=subprocess.STDOUT)
    worker = Worker(process, hostname, "training", log)
    deadline = time.monotonic() + START_TIMEOUT
    while not celery_app.control.ping(destination=[hostname], timeout=1):
        if process.poll() is not None or time.monotonic() > deadline:
            _stop(process)
            pytest.fail(f"the training worker did not start:\n{worker.output()}")
    yield worker
    _stop(process)


def wait_until_finished(worker: Worker, tenant_id: int, language: str) -> TenantSentimentModel:
    """The tenant's first model of the language that is finished (active, rejected or failed)."""
    deadline = time.monotonic() + TRAINING_TIMEOUT
    while time.monotonic() < deadline:
        assert worker.process.poll() is None, f"the training worker died:\n{worker.output()}"
        with tenant_context(tenant_id):
            row = (TenantSentimentModel.objects.filter(tenant_id=tenant_id, language=language)
                   .exclude(status__in=tenant_models.IN_PROGRESS).first())
        if row is not None:
            return row
        time.sleep(1)
    with tenant_context(tenant_id):
        rows = list(TenantSentimentModel.objects.filter(tenant_id=tenant_id).values("status", "progress", "error"))
    pytest.fail(f"no finished model after {TRAINING_TIMEOUT}s ({rows}):\n{worker.output()}")


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True, databases=["default", "owner"])
def test_a_tenants_corrections_change_that_tenants_model_and_not_anothers(training_worker, committed_world, settings):
    settings.NLP_TENANT_BASE_SAMPLE = BASE_SAMPLE
    settings.NLP_RETRAIN_MIN_LABELS = 60
    a, b = committed_world.a.tenant.pk, committed_world.b.tenant.pk
    agent = committed_world.a.members[Role.COMMUNITY_MANAGER].user
    corrected, untouched = PRODUCT_UPDATES[:60], PRODUCT_UPDATES[60:]
    ids_a, ids_b = add_mentions(a, corrected + untouched), add_mentions(b, corrected + untouched)
    assert tag_mentions(a, ids_a) == tag_mentions(b, ids_b) == 70
    shared = load_model("en")
    before_b = sentiments(b, ids_b)
    assert {s for s, _v in before_b.values()} == {"neutral"}, "the shared model must call these updates neutral"

    # A's agents correct 60 of them; the 60th correction queues the training (after its commit).
    for pk in ids_a[:60]:
        correct_sentiment(a, actor=agent, mention_id=pk, label="negative")
    model = wait_until_finished(training_worker, a, "en")

    assert model.status == ModelStatus.ACTIVE, model.metrics
    assert model.version.startswith("sentiment-en-acme-") and model.n_labels == 60
    held = model.metrics["held_out"]
    assert held["candidate"]["n"] == 60 - model.metrics["n_tenant_train"] > 0
    assert held["candidate"]["recall"]["negative"] > held["baseline"]["recall"]["negative"]
    assert model.metrics["baseline_version"] == shared.version
    # A's model is the one A's stage uses: the ten updates nobody corrected were queued for
    # re-tagging by the activation and now come out negative; A's people's labels stay theirs.
    mine = tenant_models.models_for_tenant(a)
    assert list(mine) == ["en"] and mine["en"].version == model.version
    assert [p.label for p in mine["en"].predict(untouched)] != [p.label for p in shared.predict(untouched)]
    with tenant_context(a):
        assert Mention.objects.filter(tenant_id=a, pk__in=ids_a[60:], tagged_at__isnull=True).count() == 10
    assert tag_mentions(a, ids_a) == 70
    after_a = sentiments(a, ids_a)
    assert {after_a[pk] for pk in ids_a[60:]} == {("negative", model.version)}
    assert {after_a[pk][0] for pk in ids_a[:60]} == {"negative"}
    # B never corrected anything: no model of its own, and the same texts are tagged as before.
    assert tenant_models.models_for_tenant(b) == {}
    assert tag_mentions(b, ids_b) == 70
    assert sentiments(b, ids_b) == before_b
    with tenant_context(b):
        assert list(TenantSentimentModel.objects.filter(tenant_id=b).values_list("pk", flat=True)) == [
            committed_world.b.tenant_model.pk]  # only the test world's own (rejected, French) row


# --- Training in this process: the gate, progress, failures, redelivery -------------------------


@pytest.fixture
def base_sample(settings, models):
    settings.NLP_TENANT_BASE_SAMPLE = BASE_SAMPLE
    return BASE_SAMPLE


def test_a_candidate_worse_than_the_model_in_use_is_rejected_with_its_metrics(world, base_sample):
    tid = world.a.tenant.pk
    texts, labels = load_split("en", "train")
    # 400 plainly positive tweets (not in the shared sample) that this tenant calls negative.
    contradicting = [t for t, lab in zip(texts[base_sample:], labels[base_sample:]) if lab == LABELS.index("positive")][:400]
    add_labels(tid, contradicting, "negative")
    queued = queue_model(tid)

    model = tenant_models.train_tenant_model(tid, queued.pk)

    assert model.status == ModelStatus.REJECTED
    shared = model.metrics["shared_validation"]
    assert model.metrics["reasons"] == ["shared_validation_dropped"]
    assert shared["candidate"]["macro_recall"] < shared["baseline"]["macro_recall"] - tenant_models.SHARED_VALIDATION_TOLERANCE
    assert shared["candidate"]["recall"]["positive"] < shared["baseline"]["recall"]["positive"]
    assert shared["candidate"]["n"] == len(load_split("en", "val")[0])
    assert model_row(tid, model.pk).artefact, "kept, so that an admin may still choose it explicitly"
    assert tenant_models.models_for_tenant(tid) == {}
    with tenant_context(tid):
        assert AuditEvent.objects.filter(tenant_id=tid, action="sentiment_model.rejected", target_id=str(model.pk)).exists()


def test_progress_moves_through_the_phases_and_ends_at_100_and_a_finished_row_is_not_retrained(world, settings, models):
    settings.NLP_TENANT_BASE_SAMPLE = 300
    tid = world.a.tenant.pk
    add_labels(tid, PRODUCT_UPDATES[:10], "negative")
    queued = queue_model(tid)
    seen = []

    def record(percent, message):
        seen.append((percent, message, model_row(tid, queued.pk).progress))

    model = tenant_models.train_tenant_model(tid, queued.pk, progress=record)

    percents = [p for p, _m, _db in seen]
    assert percents == sorted(set(percents)) and len(percents) == 4
    assert all(db == p for p, _m, db in seen), "each phase is written on the row as it starts"
    assert [m for _p, m, _db in seen][:3] == ["Loading the training data", "Computing features and fitting the model",
                                               "Evaluating against the model in use"]
    row = model_row(tid, model.pk)
    assert row.status in (ModelStatus.ACTIVE, ModelStatus.REJECTED) and row.progress == 100 and row.finished_at
    assert row.n_labels == 10 and row.metrics["n_base"] == 300

    again = tenant_models.train_tenant_model(tid, queued.pk, progress=record)
    assert len(seen) == 4 and again.finished_at == row.finished_at and again.version == row.version


def test_a_failing_training_ends_failed_with_the_error_not_stuck(world, base_sample, monkeypatch, tmp_path):
    tid = world.a.tenant.pk
    monkeypatch.setattr("listening.nlp.data.DATA_DIR", tmp_path)  # the corpus is gone
    queued = queue_model(tid)

    model = tenant_models.train_tenant_model(tid, queued.pk)

    row = model_row(tid, model.pk)
    assert row.status == ModelStatus.FAILED and row.progress == 100 and row.finished_at is not None
    assert "FileNotFoundError" in row.error
    assert tenant_models.models_for_tenant(tid) == {}


def test_a_training_in_progress_is_not_taken_twice_but_a_redelivered_one_is_trained(world, settings, models):
    settings.NLP_TENANT_BASE_SAMPLE = 300
    tid = world.a.tenant.pk
    now = timezone.now()
    running = queue_model(tid, status=ModelStatus.TRAINING, metrics={"started_at": tenant_models._stamp(now)})
    killed = queue_model(tid, language="fr", status=ModelStatus.TRAINING,
                         metrics={"started_at": tenant_models._stamp(now - timedelta(hours=1))})

    assert tenant_models.train_tenant_model(tid, running.pk).status == ModelStatus.TRAINING  # a duplicate message
    assert model_row(tid, running.pk).progress == 0
    assert tenant_models.train_tenant_model(tid, killed.pk).status in (ModelStatus.ACTIVE, ModelStatus.REJECTED)


# --- Activation, rollback, the shared model ------------------------------------------------------


def test_rollback_to_a_retired_model_and_back_to_the_shared_one_retags_recent_mentions(world):
    a, b = world.a.tenant.pk, world.b.tenant.pk
    admin = world.a.members[Role.ADMIN].user
    old = queue_model(a, status=ModelStatus.RETIRED, **tiny(300))
    new = queue_model(a, status=ModelStatus.ACTIVE, **tiny(400))
    assert tenant_models.models_for_tenant(a)["en"].version == new.version
    recent, older, human = add_mentions(a, ["one", "two", "three"], prefix="r", days_ago=2)[:3]
    [ancient] = add_mentions(a, ["four"], prefix="old", days_ago=90)
    [other_tenant] = add_mentions(b, ["one"], prefix="r", days_ago=2)
    for tid, ids in ((a, [recent, older, human, ancient]), (b, [other_tenant])):
        with tenant_context(tid):
            Mention.objects.filter(tenant_id=tid, pk__in=ids).update(detected_language="en", sentiment="neutral",
                                                                    sentiment_source="model", tagged_at=timezone.now())
    with tenant_context(a):
        Mention.objects.filter(tenant_id=a, pk=human).update(sentiment_source="human")
        Mention.objects.filter(tenant_id=a, pk=older).update(detected_language="fr")

    tenant_models.activate(a, actor=admin, model_id=old.pk)

    assert (model_row(a, old.pk).status, model_row(a, new.pk).status) == (ModelStatus.ACTIVE, ModelStatus.RETIRED)
    assert tenant_models.models_for_tenant(a)["en"].version == old.version
    with tenant_context(a):
        untagged = set(Mention.objects.filter(tenant_id=a, tagged_at__isnull=True).values_list("pk", flat=True))
        assert AuditEvent.objects.get(tenant_id=a, action="sentiment_model.activated").data["previous_status"] == "retired"
    assert recent in untagged and not {older, human, ancient} & untagged
    with tenant_context(b):
        assert Mention.objects.get(tenant_id=b, pk=other_tenant).tagged_at is not None

    assert tenant_models.use_shared(a, actor=admin, language="en") == old.pk
    assert tenant_models.models_for_tenant(a) == {} and model_row(a, old.pk).status == ModelStatus.RETIRED
    assert tenant_models.use_shared(a, actor=admin, language="en") is None  # already shared: a no-op


def test_only_a_retired_or_rejected_model_with_its_file_can_be_activated(world):
    tid, admin = world.a.tenant.pk, world.a.members[Role.ADMIN].user
    failed = queue_model(tid, status=ModelStatus.FAILED)
    queued = queue_model(tid, language="fr")
    pruned = queue_model(tid, status=ModelStatus.RETIRED, version="sentiment-en-acme-pruned")
    for model in (failed, queued, pruned):
        with pytest.raises(ValidationError):
            tenant_models.activate(tid, actor=admin, model_id=model.pk)
    rejected = queue_model(tid, status=ModelStatus.REJECTED, **tiny(300))
    assert tenant_models.activate(tid, actor=admin, model_id=rejected.pk).status == ModelStatus.ACTIVE


def test_models_are_loaded_once_per_process_with_a_bounded_cache_and_a_bad_file_falls_back(world, settings):
    a, b = world.a.tenant.pk, world.b.tenant.pk
    queue_model(a, status=ModelStatus.ACTIVE, **tiny(300))
    queue_model(a, language="fr", status=ModelStatus.ACTIVE, version="sentiment-fr-acme-1", artefact=b"not a pickle")

    with CaptureQueriesContext(connection) as first:
        models_a = tenant_models.models_for_tenant(a)
    with CaptureQueriesContext(connection) as second:
        assert tenant_models.models_for_tenant(a)["en"] is models_a["en"]

    assert list(models_a) == ["en"]  # the unreadable French one is left out: the shared model is used
    fetched = [q["sql"] for q in first.captured_queries if '"artefact"' in q["sql"]]
    assert len(fetched) == 2 and not [q for q in second.captured_queries if '"artefact"' in q["sql"]]
    settings.NLP_TENANT_MODEL_CACHE = 1
    queue_model(b, status=ModelStatus.ACTIVE, **tiny(400))
    assert tenant_models.models_for_tenant(b)["en"].version == tiny(400)["version"]
    assert len(tenant_models._cache) == 1


# --- Beat --------------------------------------------------------------------------------------------


def test_beat_queues_due_trainings_and_fails_stuck_ones(world, settings):
    settings.NLP_RETRAIN_MIN_LABELS = 3
    a, b = world.a.tenant.pk, world.b.tenant.pk
    add_labels(a, PRODUCT_UPDATES[:3], "negative")
    add_labels(b, PRODUCT_UPDATES[:2], "negative")
    stuck = queue_model(b, language="fr", status=ModelStatus.TRAINING,
                        metrics={"started_at": tenant_models._stamp(timezone.now() - timedelta(days=1))})
    lost = queue_model(b, language="en")
    with tenant_context(b):
        TenantSentimentModel.objects.filter(tenant_id=b, pk=lost.pk).update(created_at=timezone.now() - timedelta(hours=2))
    client().delete(key("training"))

    assert fanout_tenant_retraining() == 2  # A's due training and B's lost message

    with tenant_context(a):
        [due] = TenantSentimentModel.objects.filter(tenant_id=a, status=ModelStatus.QUEUED)
    assert model_row(b, stuck.pk).status == ModelStatus.FAILED and "stopped" in model_row(b, stuck.pk).error
    queued = [json.loads(m)["headers"]["argsrepr"] for m in client().lrange(key("training"), 0, -1)]
    assert sorted(queued) == sorted([repr((b, lost.pk))])  # A's is sent on commit (the test never commits)
    assert due.language == "en"
    assert fanout_tenant_retraining() == 1  # A's is queued now: only B's lost message again
    client().delete(key("training"))


# --- The admin page and the API ------------------------------------------------------------------


def test_the_admin_page_lists_models_with_metrics_and_polls_progress_until_done(client, world):
    tid = world.a.tenant.pk
    metrics = {"primary": "macro_recall", "reasons": ["held_out_dropped"],
               "held_out": {"candidate": {"n": 12, "macro_recall": 0.25, "accuracy": 0.5,
                                          "recall": {"negative": 0.5, "neutral": 0.25, "positive": 0.0}},
                            "baseline": {"n": 12, "macro_recall": 0.5, "accuracy": 0.75,
                                         "recall": {"negative": 0.75, "neutral": 0.75, "positive": 0.0}}}}
    queue_model(tid, status=ModelStatus.REJECTED, version="sentiment-en-acme-20261120-aaaa1111", artefact=b"x",
                metrics=metrics)
    training = queue_model(tid, status=ModelStatus.TRAINING, progress=40, progress_message="Computing features and fitting the model")
    login(client, "admin@example.com")

    page = client.get("/t/acme/nlp/models/").content.decode()
    assert "sentiment-en-acme-20261120-aaaa1111" in page and "0.250" in page and "0.500" in page
    assert "worse on the tenant&#x27;s held-out corrections" in page
    assert f'hx-get="/t/acme/nlp/models/{training.pk}/progress/" hx-trigger="every 2s"' in page
    assert 'data-testid="retrain" disabled' in page  # English is training already

    polling = client.get(f"/t/acme/nlp/models/{training.pk}/progress/", HTTP_HX_REQUEST="true")
    assert b'value="40"' in polling.content and b"hx-trigger" in polling.content and "HX-Refresh" not in polling
    with tenant_context(tid):
        TenantSentimentModel.objects.filter(tenant_id=tid, pk=training.pk).update(status="active", progress=100)
    done = client.get(f"/t/acme/nlp/models/{training.pk}/progress/", HTTP_HX_REQUEST="true")
    assert done["HX-Refresh"] == "true" and b"hx-trigger" not in done.content


def test_retrain_now_queues_one_training_per_language_and_the_api_never_shows_the_file(client, world):
    tid = world.a.tenant.pk
    login(client, "admin@example.com")
    for _ in range(2):
        assert client.post("/t/acme/nlp/models/retrain/", {"language": "fr"}).status_code == 302
    assert client.post("/t/acme/nlp/models/retrain/", {"language": "de"}).status_code == 400
    with tenant_context(tid):
        assert TenantSentimentModel.objects.filter(tenant_id=tid, language="fr", status="queued").count() == 1

    api = client.post("/api/v1/t/acme/sentiment-models/retrain/", data={"language": "fr"}, content_type="application/json")
    listed = client.get("/api/v1/t/acme/sentiment-models/").json()["results"]
    assert api.status_code == 201 and api.json()["status"] == "queued"
    assert all("artefact" not in row for row in listed) and {row["has_artefact"] for row in listed} == {False}
    with tenant_context(tid):
        assert TenantSentimentModel.objects.filter(tenant_id=tid, language="fr", status="queued").count() == 1
