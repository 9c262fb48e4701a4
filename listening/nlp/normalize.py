"""Social-media normalisation before tokenisation.

Links, @handles, emoji and emoticons become stable tokens so that the models see "a link" or
"a rolling-eyes face" instead of millions of distinct strings. The training data already
replaces handles by ``@user`` and links by ``http`` (TweetEval / XLM-T normalisation); live
mentions get the same treatment here so that training and prediction see the same text.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

URL_TOKEN = "xurl"
USER_TOKEN = "xuser"
ELONG_TOKEN = "xelong"
EMOJI_PREFIX = "emj_"
EMOTICON_PREFIX = "emo_"
NEGATION_PREFIX = "NEG_"

_URL_RE = re.compile(r"(?:https?://\S+|www\.\S+|\bhttps?\b)", re.IGNORECASE)
_USER_RE = re.compile(r"@\w+")
_HASHTAG_RE = re.compile(r"#(\w+)")
# Three or more of the same letter: "trooop" -> "trop", "nooon" -> "non". Two are kept
# ("cool", "bien"), so only real elongations are touched; a marker token keeps the emphasis.
_ELONG_RE = re.compile(r"([^\W\d_])\1{2,}")
_REPEAT_PUNCT_RE = re.compile(r"([!?.])\1+")

# Emoticons, longest first so ":-))" is not read as ":-)" followed by ")".
_EMOTICONS = {
    "smile": [":-)", ":)", "=)", ":]", ":-]", "(:", ":o)", "^^", "^_^", ":3"],
    "laugh": [":-D", ":D", "xD", "XD", "=D", ":'-)", ":')"],
    "wink": [";-)", ";)", ";-D", ";D"],
    "tongue": [":-P", ":P", ":p", ":-p", ";P", ";p"],
    "sad": [":-(", ":(", "=(", ":[", ":-[", "):", ":/", ":-/", ":\\", ":|", ":-|"],
    "cry": [":'-(", ":'(", "T_T", ";_;"],
    "angry": [">:(", ">:-(", ">_<"],
    "heart": ["<3", "♥"],
    "broken_heart": ["</3"],
}
_EMOTICON_LOOKUP = {e: name for name, items in _EMOTICONS.items() for e in items}
_EMOTICON_RE = re.compile(
    r"(?:(?<=\s)|^)("
    + "|".join(re.escape(e) for e in sorted(_EMOTICON_LOOKUP, key=len, reverse=True))
    + r")(?=\s|$|[.,!?])"
)


def _emoji_token(char: str) -> str | None:
    """A token for one emoji/pictograph character, "" for one to drop, None when it is not one."""
    if char in ("\u200d", "\ufe0f", "\ufe0e") or "\U0001f3fb" <= char <= "\U0001f3ff":
        return ""  # joiners, variation selectors and skin tones carry no sentiment
    code = ord(char)
    if code < 0x2190 or 0xFE00 <= code <= 0xFE0F:
        return None
    if unicodedata.category(char) != "So":
        return None
    name = unicodedata.name(char, "")
    if not name:
        return None
    if name.startswith("EMOJI MODIFIER"):
        return ""
    return " " + EMOJI_PREFIX + re.sub(r"\W+", "_", name.lower()).strip("_") + " "


_EMOJI_CANDIDATE_RE = re.compile("[\u200d\u2190-\U0010ffff]")


@lru_cache(maxsize=4096)
def _emoji_replacement(char: str) -> str:
    token = _emoji_token(char)
    return char if token is None else token


def replace_emoji(text: str) -> str:
    # Only characters from U+2190 up can be emoji: plain Latin text is left to one regex scan.
    return _EMOJI_CANDIDATE_RE.sub(lambda m: _emoji_replacement(m.group()), text)


def _normalize_word(word: str) -> tuple[str, int]:
    """One whitespace-free chunk normalised; returns the text and how many elongations it had.

    Every rule below is local to a chunk (links and handles are ``\\S+`` / ``\\w+``, emoticons
    need whitespace or the edge of the text around them), so the whole text is the join of its
    chunks, and chunks repeat a lot in social posts: they are cached (``_WORD_CACHE``).
    """
    lowered = word.lower()
    if "http" in lowered or "www." in lowered:
        word = _URL_RE.sub(f" {URL_TOKEN} ", word)
    if "@" in word:
        word = _USER_RE.sub(f" {USER_TOKEN} ", word)
    word = _EMOTICON_RE.sub(lambda m: f" {EMOTICON_PREFIX}{_EMOTICON_LOOKUP[m.group(1)]} ", word)
    if not word.isascii():
        word = replace_emoji(word)
    if "#" in word:
        word = _HASHTAG_RE.sub(r" \1 ", word)
    word = word.lower()
    word, n_elongated = _ELONG_RE.subn(r"\1", word)
    word = _REPEAT_PUNCT_RE.sub(r"\1\1", word)
    return " ".join(word.split()), n_elongated


_WORD_CACHE: dict[str, tuple[str, int]] = {}
WORD_CACHE_SIZE = 200_000  # chunks; cleared when full (a few MB), refilled by the next posts


def clear_cache() -> None:
    """Forget the normalised chunks (benchmarks measure a cold start with it)."""
    _WORD_CACHE.clear()


def normalize(text: str) -> str:
    """Lower-cased text with links, handles, hashtags, emoji and emoticons made into tokens.

    Idempotent enough to run on already-normalised training data (``@user`` and ``http``).
    """
    if not text:
        return ""
    text = unicodedata.normalize("NFC", text)
    text = text.replace("\u2019", "'").replace("`", "'")
    cache = _WORD_CACHE
    if len(cache) > WORD_CACHE_SIZE:
        cache.clear()
    parts = []
    n_elongated = 0
    for word in text.split():
        hit = cache.get(word)
        if hit is None:
            hit = cache[word] = _normalize_word(word)
        if hit[0]:
            parts.append(hit[0])
        n_elongated += hit[1]
    if n_elongated:
        parts.append(ELONG_TOKEN)
    return " ".join(parts)


NEGATION_CUES = {
    "en": {"not", "no", "never", "n't", "nobody", "nothing", "nowhere", "neither", "nor",
           "none", "cannot", "cant", "dont", "doesnt", "didnt", "isnt", "wasnt", "wont",
           "without", "aint"},
    "fr": {"ne", "n'", "pas", "jamais", "rien", "aucun", "aucune", "personne", "ni", "sans",
           "guère", "nul"},
}
_SCOPE_END = re.compile(r"^[.,!?;:()\"]+$")
NEGATION_WINDOW = 4  # tokens after a cue; tweets rarely close a negated clause with punctuation


def mark_negation(tokens: list[str], lang: str) -> list[str]:
    """Prefix the tokens in the scope of a negation cue with ``NEG_``.

    The scope runs from the cue to the next punctuation mark or ``NEGATION_WINDOW`` tokens,
    whichever comes first ("pas reçu mon colis" -> "pas NEG_recevoir NEG_mon NEG_colis").
    Special tokens (emoji, links) are never prefixed: their polarity does not flip.
    """
    cues = NEGATION_CUES.get(lang, NEGATION_CUES["en"])
    out: list[str] = []
    remaining = 0
    for token in tokens:
        if _SCOPE_END.match(token):
            remaining = 0
            out.append(token)
            continue
        if token in cues:
            remaining = NEGATION_WINDOW
            out.append(token)
            continue
        if remaining and not token.startswith((EMOJI_PREFIX, EMOTICON_PREFIX)):
            out.append(NEGATION_PREFIX + token)
            remaining -= 1
        else:
            out.append(token)
    return out
