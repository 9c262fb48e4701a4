"""What the pipeline would have written for each pooled text, computed once per text (the real
model gives a text the same tags every time):

* the listening queries it matches: the tenant's compiled queries and the real matcher
  (``listening.query``);
* its topics: the tenant's topic rules and the real ``TopicMatcher`` of the NLP stage;
* its entities: the tenant's entity terms and the real ``EntityExtractor`` (the ruler, and
  French NER where the stage runs it: on the negative French posts by default);
* irony cues and review reasons: ``listening.nlp.irony`` and ``listening.nlp.review``;
* its sentiment, confidence and scores: drawn, leaning the way a model leans for that kind of
  post (no model has to be trained for a bench), with the model versions of the stage.

A reply is its parent's @names plus a pooled body; ``Tagger.queries`` matches the two parts
apart and joins the results, which is exact for the seeder's queries (disjunctions of terms:
checked when the tagger is built).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import orjson

LABELS = ("negative", "neutral", "positive")
# P(negative, neutral, positive) the model gives each kind of post (roughly the confusion of
# the shared models on the demo world: complaints are mostly caught, sarcasm often read as praise).
LEANING = {
    "complaint": (0.80, 0.14, 0.06), "praise": (0.05, 0.15, 0.80), "question": (0.22, 0.68, 0.10),
    "neutral": (0.10, 0.75, 0.15), "sarcasm": (0.45, 0.15, 0.40), "crisis": (0.88, 0.10, 0.02),
    "own": (0.02, 0.48, 0.50), "brand_reply": (0.05, 0.55, 0.40), "good": (0.05, 0.35, 0.60),
    "bad": (0.75, 0.20, 0.05),
}
MODEL_VERSIONS = {"fr": "sentiment-fr-20261120-3f9c2a1b", "en": "sentiment-en-20261120-8d41e07c"}


@dataclass(slots=True)
class PostText:
    text: str
    kind: str
    topic: str  # the demo generator's topic the sentence was written for
    lang: str  # fr, en
    sentiment: str
    confidence: float
    scores: str  # JSON object
    needs_review: bool
    reasons: str  # JSON list
    entities: str  # JSON list, as the NLP stage stores it
    model_version: str
    topic_ids: tuple[int, ...]
    query_ids: tuple[int, ...]
    question: bool


def _disjunctive(node) -> bool:
    from listening.query.nodes import Or, Term

    return isinstance(node, Term) or (isinstance(node, Or) and all(isinstance(c, Term) for c in node.children))


class Tagger:
    """The tenant's queries and topic rules, read once (inside the tenant's context)."""

    def __init__(self, tenant_id: int, rng: random.Random):
        from listening.models import ListeningQuery
        from listening.nlp.entities import EntityExtractor
        from listening.nlp.topics import TopicMatcher
        from listening.query import Query
        from social_crm.tenancy.scope import tenant_context

        self.rng = rng
        with tenant_context(tenant_id):
            self.compiled = [(q.pk, Query.from_dict(q.compiled)) for q in
                             ListeningQuery.objects.filter(tenant_id=tenant_id, is_active=True).order_by("pk")]
            self.topic_matcher = TopicMatcher.for_tenant(tenant_id)
            self.entity_extractor = EntityExtractor.for_tenant(tenant_id)
        for pk, query in self.compiled:
            if not _disjunctive(query.root):
                raise ValueError(f"query {pk} is not a disjunction of terms: Tagger.queries would not be exact")
        self._matches: dict[str, tuple[int, ...]] = {}

    def queries(self, text: str) -> tuple[int, ...]:
        found = self._matches.get(text)
        if found is None:
            from listening.query import prepare

            prepared = prepare(text)
            found = self._matches[text] = tuple(pk for pk, q in self.compiled if q.matches(prepared))
        return found

    def queries_of_reply(self, prefix: str, body: PostText) -> tuple[int, ...]:
        if not prefix:
            return body.query_ids
        extra = self.queries(prefix)
        return tuple(sorted(set(body.query_ids).union(extra))) if extra else body.query_ids

    def tag(self, texts: list[tuple[str, str, str, str]]) -> list[PostText]:
        """``texts``: (text, lang, kind, topic) -> the tagged entries, topics in one batch."""
        from django.conf import settings

        from listening.nlp.irony import irony_cues
        from listening.nlp.review import review_reasons
        from listening.nlp.topics import prepare_texts

        normalized, lemmas, languages = prepare_texts([t[0] for t in texts], [t[1] for t in texts])
        hits = self.topic_matcher.match(normalized, lemmas, languages, [t[0] for t in texts])
        sentiments = [self._sentiment(kind) for _text, _lang, kind, _topic in texts]
        entities = self.entity_extractor.extract([t[0] for t in texts], [t[1] for t in texts],
                                                 [label for label, _c, _s in sentiments])
        out = []
        for (text, lang, kind, topic), found, (label, confidence, scores), ents in zip(
                texts, hits, sentiments, entities, strict=True):
            reasons = review_reasons(confidence, irony_cues(text, scores), settings.NLP_REVIEW_CONFIDENCE)
            out.append(PostText(
                text=text, kind=kind, topic=topic, lang=lang, sentiment=label, confidence=confidence,
                scores=orjson.dumps(scores).decode(), needs_review=bool(reasons), reasons=orjson.dumps(reasons).decode(),
                entities=orjson.dumps(ents).decode(), model_version=MODEL_VERSIONS[lang], topic_ids=tuple(h.topic_id for h in found),
                query_ids=self.queries(text), question="?" in text))
        return out

    def _sentiment(self, kind: str) -> tuple[str, float, dict]:
        rng = self.rng
        label = rng.choices(LABELS, weights=LEANING.get(kind, LEANING["neutral"]))[0]
        confidence = round(0.34 + 0.66 * rng.random() ** 0.6, 4)  # most above the review threshold
        rest, split = 1.0 - confidence, rng.random()
        others = [x for x in LABELS if x != label]
        scores = {label: confidence, others[0]: round(rest * split, 4), others[1]: round(rest * (1 - split), 4)}
        return label, confidence, {k: scores[k] for k in LABELS}
