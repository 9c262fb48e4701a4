"""Topics: which of the tenant's topics (Delivery, Billing, App bug...) a mention is about.

A topic is a set of keyword lines plus example mentions. One line is one term; a mention that
has any term of a topic (and none of its exclusions) is about it:

* ``livraison``: the word, or any word with the same lemma (``livraison`` matches "livraisons",
  ``deliver`` matches "delivered"; keywords are lemmatised at build time with the same lookup
  tables as the mentions, French and English);
* ``"service client"``: the phrase, word for word, in the normalised text;
* ``rembours*``: any word starting with these letters (two at least);
* ``#sav``: the hashtag (given only the normalised text, where a hashtag is a plain word, it
  matches the word too);
* ``-pizza``: the topic is excluded when the term is present; any kind of term may follow the
  minus (``-"bon voyage"``, ``-promo*``, ``-#ad``).

Case and accents are ignored everywhere ("qualite" matches "Qualité"). A line of several words
must be quoted: the quotes say that the words form a phrase.

Example mentions: a mention is also about a topic when its lemmas are close to one of the
topic's positive examples (cosine similarity of hashed lemma vectors at least
``EXAMPLE_THRESHOLD``); a negative example (a person said "not this topic") that is closer than
the best positive one, and close in its own right, suppresses the topic, rules included.

The hot path (``TopicMatcher.match``) runs no query and loads no model: keyword forms are an
inverted index (one dict look-up per word of the mention), phrases and prefixes are substring
searches in the space-joined words, and the batch is vectorised once for the examples.
Measured on 10,000 demo posts with the five starter topics and one example each: about 16 µs
per post (60,000 posts/s on one core), 11 µs without examples; the stage's budget is 200 µs.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from django.utils.translation import gettext as _

from listening.nlp.normalize import EMOJI_PREFIX, EMOTICON_PREFIX, NEGATION_PREFIX, URL_TOKEN, USER_TOKEN
from listening.query.text import normalize as fold

from .tenant_cache import TenantCache

# Cosine similarity of binary, l2-normalised vectors of content lemmas, i.e. shared lemmas over
# sqrt(len(a) * len(b)), after dropping stop words, the tenant's entity terms (brands and products
# say who, not what) and lemmas found in the examples of several topics. Measured on the demo
# stream (1,930 original single-brand posts of listening/demo with the generator's own topic
# labels, six topics; one random example per topic, 50 draws): the posts let in are of the
# example's topic 84 % of the time at 0.40 (about 12 posts per example), 80 % at 0.35 (16), 70 % at
# 0.25 (34), 92 % at 0.45 (9). 0.40 keeps most of the recall of the lower values at a precision a
# person can trust; it means that two tweets of about seven content lemmas share three.
EXAMPLE_THRESHOLD = 0.40
N_FEATURES = 2**18  # hashed lemma space: collisions are rare at a few thousand distinct lemmas

Source = Literal["rule", "example"]


@dataclass(frozen=True)
class TopicHit:
    topic_id: int
    source: Source
    score: float


class KeywordError(ValueError):
    """A keyword line that cannot be read; ``line`` is its 1-based number."""

    def __init__(self, line: int, text: str, message: str):
        super().__init__(message)
        self.line, self.text, self.message = line, text, message


# --- Keyword lines -------------------------------------------------------------------------------

_WORD_RE = re.compile(r"\w+")
_PREFIX_MIN = 2


@dataclass(frozen=True)
class Term:
    kind: Literal["word", "phrase", "prefix", "hashtag"]
    value: str  # folded: the word, the space-joined phrase words, the prefix, the tag (no "#")
    exclude: bool = False
    raw_word: str = ""  # a word as typed (lower case, accents kept): what spaCy lemmatises


def parse_keywords(lines: Iterable[str]) -> list[Term]:
    """The terms of keyword lines (blank lines ignored), or KeywordError naming the bad line."""
    terms = []
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if line:
            terms.append(_parse_line(number, line))
    return terms


def _parse_line(number: int, line: str) -> Term:
    body, exclude = (line[1:].strip(), True) if line.startswith("-") else (line, False)

    def fail(message: str):
        return KeywordError(number, line, message)

    if not body:
        raise fail(_("A minus must be followed by the term to exclude"))
    if body.startswith('"'):
        if len(body) < 2 or not body.endswith('"'):
            raise fail(_("A phrase must end with a closing quote"))
        words = _WORD_RE.findall(fold(body[1:-1]))
        if not words:
            raise fail(_("The phrase is empty"))
        if len(words) > 1:
            return Term("phrase", " ".join(words), exclude)
        return Term("word", words[0], exclude, body[1:-1].strip().lower())
    if '"' in body:
        raise fail(_('Quotes must enclose the whole line: "a phrase"'))
    if " " in body:
        raise fail(_('Put a phrase of several words in quotes: "service client"'))
    if body.startswith("#"):
        words = _WORD_RE.findall(fold(body[1:]))
        if len(words) != 1 or body[1:].strip() != body[1:] or not body[1:]:
            raise fail(_("A hashtag is # followed by letters or digits"))
        return Term("hashtag", words[0], exclude)
    if body.endswith("*"):
        stem = body[:-1]
        words = _WORD_RE.findall(fold(stem))
        if "*" in stem or len(words) != 1 or "".join(words) != fold(stem):
            raise fail(_("A prefix is letters followed by one star: rembours*"))
        if len(words[0]) < _PREFIX_MIN:
            raise fail(_("A prefix needs at least %(n)s letters") % {"n": _PREFIX_MIN})
        return Term("prefix", words[0], exclude)
    if "*" in body:
        raise fail(_("The star may only end a word: rembours*"))
    words = _WORD_RE.findall(fold(body))
    if not words:
        raise fail(_("No word in this line"))
    if len(words) == 1:
        return Term("word", words[0], exclude, body.lower())
    # "e-mail", "aujourd'hui": the mention's words are split the same way, so it is a phrase.
    return Term("phrase", " ".join(words), exclude)


# --- Preparing texts -----------------------------------------------------------------------------

_SPECIAL = (EMOJI_PREFIX, EMOTICON_PREFIX)
_SPECIAL_WORDS = {URL_TOKEN, USER_TOKEN}


_folded: dict[str, str] = {}
_FOLD_CACHE_SIZE = 200_000  # distinct accented words remembered: words are Zipfian, a tweet has a few


def _fold_word(word: str) -> str:
    """``fold`` for one word, memoised: folding costs a microsecond, a dict hit 50 ns."""
    folded = _folded.get(word)
    if folded is None:
        if len(_folded) >= _FOLD_CACHE_SIZE:
            _folded.clear()
        folded = _folded[word] = fold(word)
    return folded


def _fold_words(words: list[str]) -> list[str]:
    """Fold words that are already lower case (normalize() and spaCy lemmas are)."""
    return [w if w.isascii() else _fold_word(w) for w in words]


def _lemma_words(lemmas: str) -> list[str]:
    """The folded lemmas of a lemma string, without the negation marks (a negated word is still
    the topic: "pas reçu mon colis" is about delivery). Lemmas are lower case and NEG_ is the
    only upper-case text in them, so one replace removes every mark."""
    if not lemmas:
        return []
    words = lemmas.replace(NEGATION_PREFIX, "").split()
    return words if lemmas.isascii() else _fold_words(words)


def _lemma_language(lang: str) -> str:
    """The spaCy pipeline for a detected language: "other" and unknown texts get the English
    lookup lemmatiser (cheap, and leaves foreign words as they are)."""
    return "fr" if lang == "fr" else "en"


def prepare_texts(texts: Sequence[str], languages: Sequence[str] | None = None) -> tuple[list[str], list[str], list[str]]:
    """``(normalized, lemmas, languages)`` of raw texts, as the NLP stage computes them: one
    spaCy batch per language. Languages are detected when not given."""
    from listening.nlp.langdetect import detect_languages
    from listening.nlp.normalize import normalize
    from listening.nlp.tokenize import lemma_documents

    languages = list(languages) if languages is not None else detect_languages(list(texts))
    normalized = [normalize(t or "") for t in texts]
    lemmas = [""] * len(normalized)
    by_lang: dict[str, list[int]] = defaultdict(list)
    for i, lang in enumerate(languages):
        by_lang[_lemma_language(lang)].append(i)
    for lang, indices in by_lang.items():
        for i, doc in zip(indices, lemma_documents([normalized[i] for i in indices], lang)):
            lemmas[i] = doc
    return normalized, lemmas, languages


def _stop_words() -> frozenset[str]:
    from spacy.lang.en.stop_words import STOP_WORDS as EN
    from spacy.lang.fr.stop_words import STOP_WORDS as FR

    return frozenset(fold(w) for w in (*FR, *EN))


_STOP = _stop_words()


def _content(lemma_words: list[str], drop: frozenset[str]) -> list[str]:
    """The lemmas that say what a post is about, once each (the vectors are binary): no stop
    words, nothing in ``drop``, no links, handles, emoji, punctuation or numbers."""
    words = set(lemma_words)
    words -= drop
    return [w for w in words if len(w) > 1 and w[0].isalnum() and not w.startswith(_SPECIAL) and not w.isdigit()]


def _identity(tokens):
    return tokens


_vectorizer = None


def _vectorize(token_lists: list[list[str]]):
    """Binary, l2-normalised hashed vectors: nothing is fitted, so examples and mentions of any
    tenant share one space and a new example needs no training."""
    global _vectorizer
    if _vectorizer is None:
        from sklearn.feature_extraction.text import HashingVectorizer

        _vectorizer = HashingVectorizer(n_features=N_FEATURES, analyzer=_identity, binary=True, norm="l2",
                                        alternate_sign=False, dtype=np.float32)
    return _vectorizer.transform(token_lists)


# --- The compiled matcher ------------------------------------------------------------------------


@dataclass(frozen=True)
class TopicRules:
    """What ``TopicMatcher.from_rules`` takes for one topic (a plain tuple works too)."""

    topic_id: int
    keywords: Sequence[str]
    examples: Sequence[str] = ()  # texts of positive example mentions
    negatives: Sequence[str] = ()  # texts of negative example mentions


class _Side:
    """The include (or exclude) terms of every topic, compiled for look-ups."""

    def __init__(self):
        self.words: dict[str, dict[str, set[int]]] = {"fr": defaultdict(set), "en": defaultdict(set),
                                                      "other": defaultdict(set)}
        self.hashtags: dict[str, set[int]] = defaultdict(set)
        self.needles: dict[int, list[str]] = defaultdict(list)  # substring searches in " joined words "

    def add(self, index: int, term: Term, forms: dict[str, set[str]]) -> None:
        if term.kind == "word":
            for lang in ("fr", "en"):
                for form in forms[lang]:
                    self.words[lang][form].add(index)
                    self.words["other"][form].add(index)
        elif term.kind == "hashtag":
            self.hashtags[term.value].add(index)
        elif term.kind == "phrase":
            self.needles[index].append(f" {term.value} ")
        else:
            self.needles[index].append(f" {term.value}")

    def freeze(self) -> None:
        self.words = {lang: {form: frozenset(ids) for form, ids in index.items()} for lang, index in self.words.items()}
        self.keys = {lang: frozenset(index) for lang, index in self.words.items()}
        self.hashtags = {tag: frozenset(ids) for tag, ids in self.hashtags.items()}
        self.hashtag_keys = frozenset(self.hashtags)
        self.needles = {index: tuple(needles) for index, needles in self.needles.items()}
        self.empty = not (any(self.keys.values()) or self.hashtags or self.needles)

    def found(self, lang: str, vocab: set[str], joined: str, tags, among: set[int] | None = None) -> set[int]:
        """Topics (indices) with a term in the text; with ``among``, only those are searched
        for phrases and prefixes (the exclusion side only checks the candidate topics)."""
        hits: set[int] = set()
        common = vocab & self.keys[lang]  # in C, over the smaller set
        if common:
            index = self.words[lang]
            for word in common:
                hits.update(index[word])
        if tags:
            for tag in self.hashtag_keys.intersection(tags):
                hits.update(self.hashtags[tag])
        for topic, needles in self.needles.items():
            if topic not in hits and (among is None or topic in among):
                for needle in needles:
                    if needle in joined:
                        hits.add(topic)
                        break
        return hits


_TAG_RE = re.compile(r"(?<!\w)#(\w+)")


class TopicMatcher:
    """Compiled topics of one tenant (or of a preview). Build once, match many batches."""

    def __init__(self, topics: Sequence[TopicRules | tuple], ignore_words: Iterable[str] = ()):
        topics = [t if isinstance(t, TopicRules) else TopicRules(*t) for t in topics]
        self.topic_ids = [t.topic_id for t in topics]
        parsed = [parse_keywords(t.keywords) for t in topics]
        forms = _word_forms({term.raw_word for terms in parsed for term in terms if term.kind == "word"})
        self._include, self._exclude = _Side(), _Side()
        for index, terms in enumerate(parsed):
            for term in terms:
                (self._exclude if term.exclude else self._include).add(index, term, forms.get(term.raw_word, {}))
        self._include.freeze()
        self._exclude.freeze()
        self._has_hashtags = bool(self._include.hashtags or self._exclude.hashtags)
        self._rule_hits = [TopicHit(topic_id, "rule", 1.0) for topic_id in self.topic_ids]  # immutable: shared
        positives, pos_owners = _example_content(topics, "examples")
        negatives, neg_owners = _example_content(topics, "negatives")
        self._ignore = frozenset(w for text in ignore_words for w in _WORD_RE.findall(fold(text)))
        self._ignore |= _shared_by_topics(positives, pos_owners)
        self._drop = self._ignore | _STOP | _SPECIAL_WORDS
        self._pos, self._pos_topics = self._matrix(positives), np.array(pos_owners)
        self._neg, self._neg_topics = self._matrix(negatives), np.array(neg_owners)

    @classmethod
    def from_rules(cls, topics: Sequence[TopicRules | tuple], ignore_words: Iterable[str] = ()) -> TopicMatcher:
        """``topics``: ``(topic_id, keywords, example texts, negative example texts)`` each;
        ``ignore_words``: names that say nothing about a topic (the tenant's brands, products and
        handles), left out of the example similarity. Raises ``KeywordError`` on a bad line."""
        return cls(topics, ignore_words)

    @classmethod
    def for_tenant(cls, tenant_id: int) -> TopicMatcher:
        """The tenant's active topics, compiled once per process and rebuilt when a topic or
        an example changes (a cheap stamp query per call, so every batch sees the rules saved
        before it started)."""
        return _tenant_cache.get(tenant_id)

    @property
    def is_empty(self) -> bool:
        return not self.topic_ids

    def match(self, normalized: list[str], lemmas: list[str], languages: list[str],
              texts: list[str] | None = None) -> list[list[TopicHit]]:
        """The topics of each text, in topic order. ``normalized``: ``normalize.normalize()``
        of each text; ``lemmas``: ``tokenize.lemma_documents`` of that; ``texts`` (optional):
        the original texts, so that ``#tag`` terms match hashtags only."""
        if not self.topic_ids:
            return [[] for _ in normalized]
        include, exclude = self._include, self._exclude
        lemma_lists = [_lemma_words(doc) for doc in lemmas]
        example_hits, suppressed = self._example_hits(lemma_lists)
        out = []
        for i, text in enumerate(normalized):
            words = _WORD_RE.findall(text) if text else []
            if not text.isascii():
                words = _fold_words(words)
            vocab = set(words)
            vocab.update(lemma_lists[i])
            joined = f" {' '.join(words)} "
            lang = languages[i] if languages[i] in ("fr", "en") else "other"
            tags = ()
            if self._has_hashtags:
                if texts is None:
                    tags = vocab
                elif "#" in (texts[i] or ""):
                    tags = _TAG_RE.findall(fold(texts[i]))
            rules = include.found(lang, vocab, joined, tags)
            examples = example_hits[i] if example_hits else None
            if suppressed and suppressed[i]:
                rules.difference_update(suppressed[i])
            if not rules and not examples:
                out.append([])
                continue
            candidates = rules.union(examples) if examples else rules
            if not exclude.empty:
                candidates -= exclude.found(lang, vocab, joined, tags, among=candidates)
            out.append([self._rule_hits[k] if k in rules else TopicHit(self.topic_ids[k], "example", examples[k])
                        for k in sorted(candidates)])
        return out

    def _example_hits(self, lemma_lists: list[list[str]]):
        """Per text: {topic index: similarity} of the topics it is close to an example of, and
        the topic indices a closer negative example suppresses; None when no topic has examples.
        One sparse product for the whole batch, then plain lists (numpy per row is slow)."""
        if self._pos is None and self._neg is None:
            return None, None
        vectors = self._vectors(lemma_lists)
        n = len(self.topic_ids)
        best_pos = _best_per_topic(vectors, self._pos, self._pos_topics, n)
        best_neg = _best_per_topic(vectors, self._neg, self._neg_topics, n)
        if best_neg is not None:
            # A negative example suppresses the topic when it is close in its own right and
            # closer than every positive one.
            veto = (best_neg >= EXAMPLE_THRESHOLD) & (best_neg > best_pos if best_pos is not None else True)
            if best_pos is not None:
                best_pos = np.where(veto, 0.0, best_pos)
            suppressed = [None] * len(lemma_lists)
            rows, cols = np.nonzero(veto)
            for i, k in zip(rows.tolist(), cols.tolist()):
                suppressed[i] = (suppressed[i] or set()) | {k}
        else:
            suppressed = None
        example_hits = None
        if best_pos is not None:
            example_hits = [None] * len(lemma_lists)
            rows, cols = np.nonzero(best_pos >= EXAMPLE_THRESHOLD)
            for i, k in zip(rows.tolist(), cols.tolist()):
                if example_hits[i] is None:
                    example_hits[i] = {}
                example_hits[i][k] = round(float(best_pos[i, k]), 4)
        return example_hits, suppressed

    def _vectors(self, lemma_lists: list[list[str]]):
        drop = self._drop
        return _vectorize([_content(words, drop) for words in lemma_lists])

    def _matrix(self, lemma_lists: list[list[str]]):
        return self._vectors(lemma_lists) if lemma_lists else None


def _best_per_topic(vectors, examples, example_topics, n_topics: int):
    if examples is None:
        return None
    similarity = (vectors @ examples.T).toarray()
    best = np.zeros((vectors.shape[0], n_topics), dtype=np.float32)
    for k in np.unique(example_topics):
        best[:, k] = similarity[:, example_topics == k].max(axis=1)
    return best


def _example_content(topics: list[TopicRules], field: str) -> tuple[list[list[str]], list[int]]:
    """The lemmas of every example text of the topics, and the topic index of each."""
    texts, owners = [], []
    for index, topic in enumerate(topics):
        for text in getattr(topic, field):
            if text and text.strip():
                texts.append(text)
                owners.append(index)
    if not texts:
        return [], []
    _normalized, lemmas, _languages = prepare_texts(texts)
    return [_lemma_words(doc) for doc in lemmas], owners


def _shared_by_topics(lemma_lists: list[list[str]], owners: list[int]) -> frozenset[str]:
    """Lemmas that appear in the examples of two topics or more: they tell no topic apart."""
    seen: dict[str, set[int]] = defaultdict(set)
    for words, owner in zip(lemma_lists, owners):
        for word in words:
            seen[word].add(owner)
    return frozenset(w for w, topics in seen.items() if len(topics) > 1)


def _word_forms(words: set[str]) -> dict[str, dict[str, set[str]]]:
    """Each keyword word's forms per language: itself and its lemma by that language's spaCy
    pipeline (folded). "livraisons" -> livraison; "delivered" -> deliver."""
    from listening.nlp.tokenize import lemma_documents

    ordered = sorted(words)
    forms = {w: {"fr": {fold(w)}, "en": {fold(w)}} for w in ordered}
    for lang in ("fr", "en"):
        for word, lemma in zip(ordered, lemma_documents(ordered, lang)):
            forms[word][lang].update(w for w in _lemma_words(lemma) if w)
    return forms


# --- Per-process cache of each tenant's matcher -------------------------------------------------


def _build(tenant_id: int) -> TopicMatcher:
    return TopicMatcher(*_load_rules(tenant_id))


# Changes whenever a topic is created, edited or deleted, an example is added, removed or flipped,
# or an entity term changes (its words are left out of the example similarity): counts catch
# deletions, max(updated_at) / max(id) catch edits and additions.
_STAMP_SQL = """
    SELECT (SELECT count(*) FROM listening_topic WHERE tenant_id = %(t)s),
           (SELECT max(updated_at) FROM listening_topic WHERE tenant_id = %(t)s),
           (SELECT count(*) FROM listening_entityterm WHERE tenant_id = %(t)s),
           (SELECT max(updated_at) FROM listening_entityterm WHERE tenant_id = %(t)s),
           count(*), count(*) FILTER (WHERE is_positive), max(id)
    FROM listening_topicexample WHERE tenant_id = %(t)s
"""
_tenant_cache: TenantCache[TopicMatcher] = TenantCache(_STAMP_SQL, _build)


def _load_rules(tenant_id: int) -> tuple[list[TopicRules], list[str]]:
    """The tenant's active topics with their example texts, and the names of its entity terms
    (left out of the example similarity). Lines that no longer parse (saved
    before a syntax change) are left out rather than stopping the tagging of every mention."""
    import logging

    from listening.models import EntityTerm, Topic, TopicExample
    from social_crm.tenancy.scope import tenant_context

    with tenant_context(tenant_id):
        names = [text for name, patterns in EntityTerm.objects.filter(tenant_id=tenant_id, is_active=True)
                 .values_list("name", "patterns") for text in (name, *(patterns or []))]
        topics = list(Topic.objects.filter(tenant_id=tenant_id, is_active=True).order_by("id").values_list("id", "keywords"))
        examples: dict[tuple[int, bool], list[str]] = defaultdict(list)
        for topic_id, text, positive in TopicExample.objects.filter(
                tenant_id=tenant_id, topic__is_active=True).values_list("topic_id", "text", "is_positive"):
            examples[(topic_id, positive)].append(text)
    rules = []
    for topic_id, keywords in topics:
        valid = []
        for line in keywords or []:
            try:
                parse_keywords([line])
            except KeywordError as exc:
                logging.getLogger(__name__).warning("topic %s: keyword line %r skipped: %s", topic_id, line, exc)
            else:
                valid.append(line)
        rules.append(TopicRules(topic_id, valid, examples[(topic_id, True)], examples[(topic_id, False)]))
    return rules, names
