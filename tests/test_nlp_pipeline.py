"""pipeline.analyze: one pass per text for language, sentiment, irony, topics and entities, with
the topic matcher and the entity extractor as duck-typed collaborators (fakes here)."""

from __future__ import annotations

import pytest

from listening.nlp.data import LABELS
from listening.nlp.normalize import normalize
from listening.nlp.pipeline import STAGES, Analysis, analyze
from listening.nlp.sentiment import ModelMissingError, load_model, predict_texts

TEXTS = [
    "Génial, encore une panne de fibre ce soir @orange",
    "Thanks for the quick reply, issue sorted",
    "Hola, ¿dónde está mi pedido? Llevo dos semanas esperando",
    "",
    "Je n'ai pas reçu mon colis",
]


class FakeTopics:
    """``match(normalized, lemmas, languages, texts)``: a hit per text that says "colis" or "reply"."""

    def __init__(self):
        self.calls = []

    def match(self, normalized, lemmas, languages, texts):
        self.calls.append((normalized, lemmas, languages, texts))
        return [[("delivery", lemma)] if "colis" in lemma.split() or "reply" in lemma.split() else []
                for lemma in lemmas]


class FakeEntities:
    """``extract(texts, languages, labels)``: the handles of each text, with its label."""

    def __init__(self):
        self.calls = []

    def extract(self, texts, languages, labels):
        self.calls.append((texts, languages, labels))
        return [[{"text": w, "label": label} for w in text.split() if w.startswith("@")]
                for text, label in zip(texts, labels)]


def test_analyze_runs_every_stage_once_per_batch(models):
    topics, entities = FakeTopics(), FakeEntities()
    timings = {}
    out = analyze(TEXTS, topic_matcher=topics, entity_extractor=entities, timings=timings)

    assert [type(a) for a in out] == [Analysis] * len(TEXTS)
    assert [a.language for a in out] == ["fr", "en", "other", "other", "fr"]
    assert out[0].model_version.startswith("sentiment-fr-") and out[4].model_version.startswith("sentiment-fr-")
    assert out[1].model_version.startswith("sentiment-en-")
    assert out[2].model_version.startswith("sentiment-en-")  # "other" is scored by the English model
    assert out[3].label == "neutral" and out[3].confidence < 0.5  # empty text
    for a in out:
        assert a.label in LABELS and set(a.probabilities) == set(LABELS)
    assert "praise_then_complaint" in out[0].irony and out[1].irony == []

    # The collaborators get the batch once, prepared once: normalised text, plain lemmas.
    [(normalized, lemmas, languages, originals)] = topics.calls
    assert normalized == [normalize(t) for t in TEXTS] and originals == TEXTS
    assert languages == [a.language for a in out]
    assert "recevoir" in lemmas[4].split() and "NEG_" not in lemmas[4]
    assert [a.topics for a in out] == [[], [("delivery", lemmas[1])], [], [], [("delivery", lemmas[4])]]
    [(texts, languages, labels)] = entities.calls
    assert texts == TEXTS and labels == [a.label for a in out]
    assert out[0].entities == [{"text": "@orange", "label": out[0].label}]
    assert set(timings) == set(STAGES) and all(seconds >= 0 for seconds in timings.values())


def test_analyze_agrees_with_the_models_and_predict_texts(models):
    out = analyze(TEXTS)
    by_model = {lang: load_model(lang) for lang in ("fr", "en")}
    for text, a in zip(TEXTS, out):
        expected = by_model["fr" if a.language == "fr" else "en"].predict([text], [a.language])[0]
        assert a.prediction() == expected
    assert predict_texts(TEXTS) == [a.prediction() for a in out]
    assert [a.topics for a in out] == [[]] * len(TEXTS) and [a.entities for a in out] == [[]] * len(TEXTS)


def test_given_languages_and_models_are_used_as_given(models):
    english = load_model("en")
    out = analyze(["Super service, merci !", "great"], models={"en": english, "fr": english}, languages=["fr", "en"])
    assert [a.language for a in out] == ["fr", "en"]
    assert {a.model_version for a in out} == {english.version}
    with pytest.raises(ValueError):
        analyze(["one", "two"], languages=["fr"])


def test_a_missing_model_raises_before_any_work(tmp_path, monkeypatch):
    monkeypatch.setenv("NLP_MODEL_DIR", str(tmp_path))
    topics = FakeTopics()
    with pytest.raises(ModelMissingError):
        analyze(["Colis pas arrivé, merci"], topic_matcher=topics)
    assert topics.calls == []
    assert analyze([]) == []
