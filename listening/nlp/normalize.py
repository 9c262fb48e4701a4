"""Social-media normalisation before tokenisation.

Links, @handles, emoji and emoticons become stable tokens so that the models see "a link" or
"a rolling-eyes face" instead of millions of distinct strings. The training data already
replaces handles by ``@user`` and links by ``http`` (TweetEval / XLM-T normalisation); live
mentions get the same treatment here so that training and prediction see the same text.
"""

from __future__ import annotations

import re
import unicodedata

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
    """A token for one emoji/pictograph character, or None when it is not one."""
    code = ord(char)
    if code < 0x2190 or 0xFE00 <= code <= 0xFE0F or code == 0x200D:
        return None
    if unicodedata.category(char) != "So":
        return None
    name = unicodedata.name(char, "")
    if not name:
        return None
    # Skin-tone modifiers carry no sentiment.
    if name.startswith("EMOJI MODIFIER"):
        return ""
    return " " + EMOJI_PREFIX + re.sub(r"\W+", "_", name.lower()).strip("_") + " "


def replace_emoji(text: str) -> str:
    out = []
    for char in text:
        if char in ("\u200d", "\ufe0f", "\ufe0e") or "\U0001f3fb" <= char <= "\U0001f3ff":
            continue  # joiners, variation selectors and skin tones carry no sentiment
        token = _emoji_token(char)
        out.append(char if token is None else token)
    return "".join(out)


def normalize(text: str) -> str:
    """Lower-cased text with links, handles, hashtags, emoji and emoticons made into tokens.

    Idempotent enough to run on already-normalised training data (``@user`` and ``http``).
    """
    if not text:
        return ""
    text = unicodedata.normalize("NFC", text)
    text = text.replace("\u2019", "'").replace("`", "'")
    text = _URL_RE.sub(f" {URL_TOKEN} ", text)
    text = _USER_RE.sub(f" {USER_TOKEN} ", text)
    text = _EMOTICON_RE.sub(lambda m: f" {EMOTICON_PREFIX}{_EMOTICON_LOOKUP[m.group(1)]} ", text)
    text = replace_emoji(text)
    text = _HASHTAG_RE.sub(r" \1 ", text)
    text = text.lower()
    text, n_elongated = _ELONG_RE.subn(r"\1", text)
    text = _REPEAT_PUNCT_RE.sub(r"\1\1", text)
    if n_elongated:
        text += f" {ELONG_TOKEN}"
    return " ".join(text.split())


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
