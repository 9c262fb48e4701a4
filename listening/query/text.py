"""Text normalisation shared by the parser (for query terms) and the matcher (for mentions).

Both sides go through ``normalize`` so that a term and a mention are compared in the same form:
case-folded, accents stripped, compatibility characters decomposed (``ﬁ`` -> ``fi``).
"""

from __future__ import annotations

import re
import unicodedata
from typing import NamedTuple


def _mark_class(codepoints: list[int]) -> str:
    """A regex character class for the given code points, as ranges."""
    ranges: list[list[int]] = []
    for codepoint in codepoints:
        if ranges and ranges[-1][1] == codepoint - 1:
            ranges[-1][1] = codepoint
        else:
            ranges.append([codepoint, codepoint])
    parts = (re.escape(chr(low)) + (f"-{re.escape(chr(high))}" if high > low else "") for low, high in ranges)
    return "[" + "".join(parts) + "]"


# Every combining mark lives in planes 0 and 1, so scanning those keeps the import cheap. The
# BMP marks get their own class because the regex engine tests a BMP-only class with a bitmap
# (fast), while mixing in astral ranges makes it scan a range list for every character (8x slower).
_MARKS = [cp for cp in range(0x20000) if unicodedata.combining(chr(cp))]
_BMP_MARK_RE = re.compile(_mark_class([cp for cp in _MARKS if cp <= 0xFFFF]) + "+")
_ASTRAL_MARKS = {cp: None for cp in _MARKS if cp > 0xFFFF}
_ASTRAL_RE = re.compile("[\U00010000-\U0010FFFF]+")  # emoji and rare scripts: checked char by char

_URL_RE = re.compile(r"https?://\S+", re.IGNORECASE)
# Words are runs of Unicode word characters: hyphens and apostrophes split them, so
# "l'avion" yields "l", "avion" and "e-commerce" yields "e", "commerce".
_WORD_RE = re.compile(r"\w+")
# A hashtag or handle starts a token: the "@" of "contact@sncf.fr" is not a handle.
_TAG_RE = re.compile(r"(?<!\w)[#@]\w+")


def normalize(text: str) -> str:
    """Case-fold, decompose (NFKD) and drop combining marks: ``"Délai"`` -> ``"delai"``."""
    text = text.casefold()
    if text.isascii():  # the common case for English, and nothing to decompose
        return text
    # Fold again after decomposing: NFKD turns e.g. a mathematical bold "𝐁" into a plain "B".
    text = _BMP_MARK_RE.sub("", unicodedata.normalize("NFKD", text).casefold())
    if text and max(text) > "\uffff":
        text = _ASTRAL_RE.sub(lambda match: match.group().translate(_ASTRAL_MARKS), text)
    return text


def words(text: str) -> list[str]:
    """The normalised word tokens of ``text`` (hashtag and handle signs dropped)."""
    return _WORD_RE.findall(normalize(text))


class PreparedText(NamedTuple):
    """A mention ready to be matched by any number of queries.

    ``tokens``: the word sequence (hashtags and handles appear as their bare word), for phrases.
    ``tokenset``: the words plus the ``#tag`` and ``@handle`` forms, for O(1) term checks.
    ``joined``: the tokens joined by single spaces, with a space at both ends, so that a phrase
    or a prefix is one C-speed substring search (``" service client "``, ``" rembours"``).
    """

    tokens: tuple[str, ...]
    tokenset: frozenset[str]
    joined: str


def prepare(text: str) -> PreparedText:
    """Normalise and tokenise a mention once, so that every query can test it cheaply."""
    if "://" in text:  # cheap guard: most mentions have no link
        text = _URL_RE.sub(" ", text)
    text = normalize(text)
    tokens = tuple(_WORD_RE.findall(text))
    tags = _TAG_RE.findall(text) if "#" in text or "@" in text else ()
    tokenset = frozenset((*tokens, *tags)) if tags else frozenset(tokens)
    return PreparedText(tokens, tokenset, f" {' '.join(tokens)} ")
