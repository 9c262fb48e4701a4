"""Tokens and lemmas per language, for already-normalised text: one regex and one dict lookup.

Lemmas come from spaCy's lookup tables (``spacy-lookups-data``, the tables behind spaCy's
``lookup`` lemmatizer, French and English), read once per process into plain dicts. We do not
run spaCy's pipeline here: its tokenizer alone costs ~150 µs per tweet and the French
morphologizer ~1.5 ms, while the regex below and a dict lookup cost a few µs, and the sentiment
figures held (see the README). Context-free lemmas are enough for bag-of-words features; the
French parser stays for named entities, where it pays.

Tokenisation follows spaCy's conventions where they matter to the features: English "don't"
-> "do" "n't", "i'm" -> "i" "'m"; French elisions "j'ai" -> "j'" "ai", "qu'il" -> "qu'" "il";
punctuation marks are tokens of their own ("!!" stays one token, as normalisation leaves it).
"""

from __future__ import annotations

import gzip
import json
import re
import threading
from functools import lru_cache

from listening.nlp.normalize import ELONG_TOKEN, EMOJI_PREFIX, EMOTICON_PREFIX, URL_TOKEN, USER_TOKEN

_TOKEN_RE = {
    "en": re.compile(r"[^\W\d_]+(?=n't\b)|n't\b|'(?:s|m|re|ve|ll|d)\b|\w+|[!?]+|[^\w\s]"),
    "fr": re.compile(r"\b(?:jusqu|lorsqu|puisqu|quoiqu|qu|[cdjlmnst])'(?=\w)|aujourd'hui|\w+|[!?]+|[^\w\s]"),
}
_SPECIAL_WORDS = frozenset({URL_TOKEN, USER_TOKEN, ELONG_TOKEN})
_lock = threading.Lock()


def model_language(lang: str) -> str:
    """The language whose tokens, lemmas and sentiment model a text uses: ``other`` -> English."""
    return "fr" if lang == "fr" else "en"


@lru_cache(maxsize=2)
def lemma_table(lang: str) -> dict[str, str]:
    """form -> lemma for ``fr`` or ``en`` (French forms with several lemmas keep the first)."""
    from importlib.resources import files

    with _lock:
        path = files("spacy_lookups_data") / "data" / f"{lang}_lemma_lookup.json.gz"
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            raw = json.load(fh)
    table = {}
    for form, lemma in raw.items():
        lemma = (lemma[0] if isinstance(lemma, list) and lemma else lemma) or form
        form, lemma = form.lower(), str(lemma).lower()
        # Our own tokens ("xurl", "emj_...") must reach the features unchanged.
        if form != lemma and form not in _SPECIAL_WORDS and not form.startswith((EMOJI_PREFIX, EMOTICON_PREFIX)):
            table.setdefault(form, lemma)
    return table


def lemmas(normalized: str, lang: str) -> str:
    """Space-joined lemmas of one normalised text, punctuation kept as tokens (negation scopes
    end there; the sentiment features drop it afterwards)."""
    lang = model_language(lang)
    get = lemma_table(lang).get
    return " ".join([get(token, token) for token in _TOKEN_RE[lang].findall(normalized)])


def lemma_documents(normalized_texts: list[str], lang: str) -> list[str]:
    """``lemmas`` for each text of one language."""
    return [lemmas(text, lang) for text in normalized_texts]
