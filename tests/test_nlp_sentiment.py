"""NLP: language detection, normalisation, the sentiment model artefact and sentiment_predict.

Small samples of the real training data keep the file fast; no database is used.
"""

from __future__ import annotations

import json
import pickle
from collections import Counter
from io import StringIO

import numpy as np
import pytest
from django.core.management import call_command

from listening.nlp.data import LABELS, load_split
from listening.nlp.langdetect import detect_language
from listening.nlp.normalize import mark_negation, normalize
from listening.nlp.sentiment import (
    ModelCorruptError,
    ModelIncompatibleError,
    ModelMissingError,
    ModelUnavailableError,
    SentimentModel,
    load_model,
    model_path,
)

FRENCH_POSTS = [
    "Colis toujours pas arrivé, merci @laposte 🙄",
    "Trooop bien le nouveau forfait, merci @free !",
    "Ça fait 3 jours que j'attends un remboursement, c'est une blague ?",
    "Service client au top, problème réglé en 5 minutes 👏",
    "Encore une panne de fibre ce soir... #orange",
    "Je recommande vivement, livraison rapide et produit conforme",
    "Franchement déçu par la qualité, plus jamais je commande chez vous",
    "Quelqu'un sait si la boutique de Lyon est ouverte dimanche ?",
    "Merci pour votre réponse rapide, bonne journée",
    "Impossible de joindre le SAV, ça sonne dans le vide depuis ce matin",
    "Mon train a encore 40 minutes de retard @SNCF",
    "Super soirée hier au concert, l'organisation était parfaite",
]
ENGLISH_POSTS = [
    "My package still hasn't arrived, thanks a lot @UPS 🙄",
    "Sooo happy with my new phone, battery lasts forever!",
    "Worst customer service ever, been on hold for two hours",
    "Just landed, smooth flight and friendly crew @united",
    "Why does the app keep crashing every time I open it?",
    "Highly recommend this place, the food was amazing",
    "Can someone tell me if the store is open on Sunday?",
    "Thanks for the quick reply, issue sorted",
    "I want a refund, this product broke after one day",
    "Loving the new update, great job team 👏",
    "Internet down again tonight, what am I paying for #comcast",
    "Never ordering from them again, total waste of money",
]


@pytest.fixture(scope="module")
def en_sample():
    texts, labels = load_split("en", "train")
    rng = np.random.default_rng(0)
    idx = rng.choice(len(texts), size=2000, replace=False)
    return [texts[i] for i in idx], [labels[i] for i in idx]


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory, en_sample):
    """A directory holding small trained fr and en models."""
    directory = tmp_path_factory.mktemp("models")
    texts, labels = en_sample
    SentimentModel.train("en", texts, labels).save(model_path("en", directory))
    fr_texts, fr_labels = load_split("fr", "train")
    SentimentModel.train("fr", fr_texts[:400], fr_labels[:400]).save(model_path("fr", directory))
    return directory


def test_normalisation_turns_social_markup_into_tokens():
    text = normalize("Trooop nul @laposte 🙄 :( https://t.co/abc #colis")
    assert text.split() == ["trop", "nul", "xuser", "emj_face_with_rolling_eyes", "emo_sad", "xurl", "colis", "xelong"]
    assert mark_negation(["je", "ne", "aime", "pas", "ce", "colis", ",", "merci"], "fr") == [
        "je", "ne", "NEG_aime", "pas", "NEG_ce", "NEG_colis", ",", "merci"]
    assert mark_negation(["i", "do", "not", "like", "it", "."], "en") == ["i", "do", "not", "NEG_like", "NEG_it", "."]


@pytest.mark.parametrize("text", FRENCH_POSTS)
def test_it_detects_french_social_posts(text):
    assert detect_language(text) == "fr"


@pytest.mark.parametrize("text", ENGLISH_POSTS)
def test_it_detects_english_social_posts(text):
    assert detect_language(text) == "en"


@pytest.mark.parametrize("text", [
    "", "   ", "🙄🙄🔥", "😂", "12345 !!!", "x" * 10_000, ("Colis pas arrivé, merci " * 500)[:10_000],
    "Super service, thanks a lot for the help!", "Hola, ¿dónde está mi pedido? Gracias",
    None,
])
def test_language_detection_always_gives_a_result(text):
    assert detect_language(text) in {"fr", "en", "other"}


def test_language_detection_says_other_for_empty_emoji_and_foreign_posts():
    assert detect_language("") == "other"
    assert detect_language("🙄🙄🔥") == "other"
    assert detect_language("Hola, ¿dónde está mi pedido? Llevo dos semanas esperando") == "other"


def test_training_is_deterministic(en_sample):
    texts, labels = en_sample[0][:600], en_sample[1][:600]
    first = SentimentModel.train("en", texts, labels, seed=7)
    second = SentimentModel.train("en", texts, labels, seed=7)
    assert first.data_hash == second.data_hash and len(first.data_hash) == 64
    assert first.version == second.version and first.version.endswith(first.data_hash[:8])
    probe, _ = load_split("en", "val")
    np.testing.assert_array_equal(first.predict_proba(probe[:200]), second.predict_proba(probe[:200]))


def test_classifier_beats_the_majority_baseline_on_held_out_tweets(models_dir):
    from listening.nlp.evaluation import metrics

    texts, labels = load_split("en", "val")
    texts, labels = texts[:600], labels[:600]
    model = load_model("en", models_dir)
    predicted = [LABELS.index(p.label) for p in model.predict(texts)]
    majority = Counter(labels).most_common(1)[0][0]
    baseline = metrics(labels, [majority] * len(labels))
    scores = metrics(labels, predicted)
    assert scores["macro_recall"] >= baseline["macro_recall"] + 0.15  # baseline is 1/3
    assert scores["accuracy"] >= baseline["accuracy"] + 0.08


def test_artefact_round_trip_carries_version_and_is_cached(models_dir):
    model = load_model("en", models_dir)
    assert load_model("en", models_dir) is model  # loaded once per process
    pred = model.predict(["I love this so much!! 😍"])[0]
    assert pred.model_version == model.version and model.version.startswith("sentiment-en-")
    assert set(pred.probabilities) == set(LABELS)
    assert abs(sum(pred.probabilities.values()) - 1) < 1e-3
    assert pred.confidence == max(pred.probabilities.values())


def test_missing_artefact_raises_the_specific_error(tmp_path):
    with pytest.raises(ModelMissingError):
        load_model("en", tmp_path)
    with pytest.raises(ModelUnavailableError):
        SentimentModel.load(tmp_path / "nope.pkl")


@pytest.mark.parametrize("content", [b"", b"not a pickle at all", pickle.dumps({"format": 999})])
def test_corrupt_artefact_raises_the_specific_error(tmp_path, content):
    model_path("en", tmp_path).write_bytes(content)
    with pytest.raises(ModelCorruptError):
        load_model("en", tmp_path)


def test_truncated_artefact_raises_the_specific_error(tmp_path, models_dir):
    data = model_path("en", models_dir).read_bytes()
    model_path("en", tmp_path).write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelCorruptError):
        load_model("en", tmp_path)


def test_artefact_from_another_sklearn_version_is_refused(tmp_path, models_dir):
    payload = pickle.loads(model_path("en", models_dir).read_bytes())
    payload["sklearn_version"] = "0.24.2"
    model_path("en", tmp_path).write_bytes(pickle.dumps(payload))
    with pytest.raises(ModelIncompatibleError):
        load_model("en", tmp_path)


def test_saved_artefact_is_complete_and_readable_by_workers(models_dir):
    path = model_path("en", models_dir)
    assert path.stat().st_mode & 0o777 == 0o644
    assert not list(models_dir.glob("*.tmp"))  # the temp file was renamed, not left behind


def test_sentiment_predict_keeps_order_and_one_json_line_per_input(tmp_path, models_dir):
    lines = ["Colis toujours pas arrivé, merci @laposte 🙄", "", "🙄🙄", "I love this phone, best purchase ever",
             "Hola, ¿dónde está mi pedido? Llevo dos semanas esperando", "x" * 10_000,
             "Service client nul, plus jamais", "   "]
    src, dst = tmp_path / "in.txt", tmp_path / "out.jsonl"
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    call_command("sentiment_predict", input=str(src), output=str(dst), model_dir=str(models_dir), stdout=StringIO())
    rows = [json.loads(line) for line in dst.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == len(lines)
    for row in rows:
        assert set(row) == {"language", "label", "confidence", "probabilities", "model_version"}
        assert row["label"] in LABELS and set(row["probabilities"]) == set(LABELS)
    assert [r["language"] for r in rows[:5]] == ["fr", "other", "other", "en", "other"]
    assert rows[0]["model_version"].startswith("sentiment-fr-")
    assert rows[4]["model_version"].startswith("sentiment-en-")  # "other" uses the English model
    for empty in (rows[1], rows[7]):
        assert empty["label"] == "neutral" and empty["confidence"] < 0.5


def test_sentiment_predict_with_forced_language(tmp_path, models_dir):
    src, dst = tmp_path / "in.txt", tmp_path / "out.jsonl"
    src.write_text("great\n\nterrible service\n", encoding="utf-8")
    call_command("sentiment_predict", input=str(src), output=str(dst), lang="fr", model_dir=str(models_dir), stdout=StringIO())
    rows = [json.loads(line) for line in dst.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 3 and all(r["language"] == "fr" and r["model_version"].startswith("sentiment-fr-") for r in rows)


def test_fast_tfidf_features_equal_scikit_learns_matrices():
    from listening.nlp.sentiment import TfidfFeatures, sentiment_tokens, tfidf_vectorizers
    from listening.nlp.tokenize import lemma_documents

    texts, _ = load_split("fr", "train")
    normalized = [normalize(t) for t in texts[:800]] + [normalize(t) for t in FRENCH_POSTS] + [""]
    tokens = [sentiment_tokens(doc, "fr") for doc in lemma_documents(normalized, "fr")]
    words, chars = tfidf_vectorizers()
    words.fit([" ".join(t) for t in tokens[:800]])
    chars.fit(normalized[:800])
    fast_words, fast_chars = TfidfFeatures(words), TfidfFeatures(chars)
    for _ in range(2):  # the second pass reads the per-word cache
        assert abs(fast_words.transform(tokens) - words.transform([" ".join(t) for t in tokens])).max() < 1e-12
        assert abs(fast_chars.transform(normalized) - chars.transform(normalized)).max() < 1e-12
    assert pickle.loads(pickle.dumps(fast_chars))._cache == {}  # the cache is not saved in artefacts


def test_prepared_prediction_is_the_same_as_from_raw_text(models_dir):
    model = load_model("fr", models_dir)
    normalized, lemmas = model.prepare(FRENCH_POSTS)
    assert "NEG_" not in " ".join(lemmas)  # negation marks are the sentiment features' business
    np.testing.assert_array_equal(model.predict_proba_prepared(normalized, lemmas), model.predict_proba(FRENCH_POSTS))


def test_an_artefact_of_the_previous_feature_format_is_refused(tmp_path, models_dir):
    payload = pickle.loads(model_path("en", models_dir).read_bytes())
    payload["format"] = 1  # spaCy tokens and scikit-learn vectorizers: other features
    model_path("en", tmp_path).write_bytes(pickle.dumps(payload))
    with pytest.raises(ModelCorruptError):
        load_model("en", tmp_path)


def test_lemmas_come_from_the_lookup_tables_and_keep_our_tokens():
    from listening.nlp.tokenize import lemmas

    assert lemmas(normalize("J'ai reçu les colis, ils étaient cassés 🙄 @laposte"), "fr").split() == [
        "je", "avoir", "recevoir", "le", "colis", ",", "il", "être", "casser", "emj_face_with_rolling_eyes", "xuser"]
    assert lemmas(normalize("I don't like the new phones"), "en").split() == ["i", "do", "not", "like", "the", "new", "phone"]


def test_fast_language_scores_equal_py3langid():
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    from listening.nlp.langdetect import CANDIDATES, _softmax, language_identifier

    reference = LanguageIdentifier.from_pickled_model(MODEL_FILE, norm_probs=True)
    reference.set_languages(CANDIDATES)
    texts = FRENCH_POSTS + ENGLISH_POSTS + ["Hola, ¿dónde está mi pedido?", "x" * 3000, "é"]
    identifier = language_identifier()
    probs = _softmax(identifier.scores(texts))
    for text, row in zip(texts, probs):
        lang, prob = reference.classify(text)
        assert identifier.classes[int(row.argmax())] == lang
        assert abs(row.max() - prob) < 1e-4
