"""The whole analysis of a batch of texts in one pass: language, sentiment, irony cues, topics,
entities. Each text is normalised and lemmatised once, and every stage reads that.

    analyze(texts, models={"fr": m_fr, "en": m_en}, topic_matcher=tm, entity_extractor=ee)

* Language: detected unless ``languages`` is given; ``fr``, ``en`` or ``other``.
* Sentiment: the model of the language (``models`` first, else ``load_model(lang, model_dir)``);
  ``other`` posts are scored by the English model and keep the language ``other``. A needed
  model that is missing or unreadable raises ``ModelUnavailableError``, before any scoring.
* Irony: ``irony.irony_cues`` on the raw text, with the sentiment probabilities.
* Topics (optional): ``topic_matcher.match(normalized, lemmas, languages, texts)`` -> one list of
  hits per text (the original texts let ``#tag`` rules match hashtags only). ``lemmas`` (``tokenize.lemma_documents``) are space-joined and lower-case, with
  punctuation marks as tokens and without negation marks.
* Entities (optional): ``entity_extractor.extract(texts, languages, labels)`` -> one list of
  dicts per text; the sentiment labels let it choose where a heavier model pays.

``timings``, when given, receives the seconds spent per stage (``STAGES``), added up over calls:
the benchmark reads it.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from listening.nlp.irony import irony_cues
from listening.nlp.langdetect import detect_languages
from listening.nlp.normalize import normalize
from listening.nlp.sentiment import Prediction, SentimentModel, load_model
from listening.nlp.tokenize import lemma_documents, model_language

STAGES = ("normalise", "langdetect", "lemmas", "sentiment", "irony", "topics", "entities")


@dataclass(frozen=True)
class Analysis(Prediction):
    """A ``Prediction`` (``as_dict`` is its sentiment part) with the other stages' results."""

    irony: list[str]
    topics: list
    entities: list[dict]

    def prediction(self) -> Prediction:
        return Prediction(language=self.language, label=self.label, confidence=self.confidence,
                          probabilities=self.probabilities, model_version=self.model_version)


@contextmanager
def _timed(timings: dict[str, float] | None, stage: str):
    started = time.perf_counter()
    try:
        yield
    finally:
        if timings is not None:
            timings[stage] = timings.get(stage, 0.0) + time.perf_counter() - started


def analyze(texts: list[str], *, models: Mapping[str, SentimentModel] | None = None, topic_matcher=None,
            entity_extractor=None, languages: list[str] | None = None, model_dir: Path | None = None,
            timings: dict[str, float] | None = None) -> list[Analysis]:
    """One ``Analysis`` per text, in order (see the module docstring)."""
    texts = [t or "" for t in texts]
    if languages is not None and len(languages) != len(texts):
        raise ValueError(f"{len(texts)} texts but {len(languages)} languages")
    with _timed(timings, "normalise"):
        normalized = [normalize(t) for t in texts]
    with _timed(timings, "langdetect"):
        languages = list(languages) if languages is not None else detect_languages(texts, normalized)
    groups: dict[str, list[int]] = {}
    for i, lang in enumerate(languages):
        groups.setdefault(model_language(lang), []).append(i)
    # Every needed model first: a missing one raises before any work is done.
    scorers = {lang: (models or {}).get(lang) or load_model(lang, model_dir) for lang in groups}

    lemmas = [""] * len(texts)
    with _timed(timings, "lemmas"):
        for lang, idx in groups.items():
            for i, doc in zip(idx, lemma_documents([normalized[i] for i in idx], lang)):
                lemmas[i] = doc
    predictions: list[Prediction] = [None] * len(texts)  # type: ignore[list-item]
    with _timed(timings, "sentiment"):
        for lang, idx in groups.items():
            scored = scorers[lang].predict_prepared([normalized[i] for i in idx], [lemmas[i] for i in idx],
                                                    [languages[i] for i in idx])
            for i, prediction in zip(idx, scored):
                predictions[i] = prediction
    with _timed(timings, "irony"):
        irony = [irony_cues(t, p.probabilities) for t, p in zip(texts, predictions)]
    topics: list[list] = [[] for _ in texts]
    if topic_matcher is not None:
        with _timed(timings, "topics"):
            topics = topic_matcher.match(normalized, lemmas, languages, texts)
    entities: list[list[dict]] = [[] for _ in texts]
    if entity_extractor is not None:
        with _timed(timings, "entities"):
            entities = entity_extractor.extract(texts, languages, [p.label for p in predictions])
    return [
        Analysis(language=p.language, label=p.label, confidence=p.confidence, probabilities=p.probabilities,
                 model_version=p.model_version, irony=cues, topics=list(hits), entities=list(found))
        for p, cues, hits, found in zip(predictions, irony, topics, entities, strict=True)
    ]
