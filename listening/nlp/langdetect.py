"""Offline language detection for short social posts: ``fr``, ``en`` or ``other``.

Choice: ``py3langid`` (a numpy port of langid.py, BSD licence). Its naive-Bayes character
n-gram model ships inside the wheel (~2 MB), so nothing is downloaded at run time, it is
deterministic and it classifies thousands of posts per second.

langid.py alone is unreliable on posts of one or two words ("merci", "love it"), so:

1. the text is normalised first (links, handles, emoji and hashtag signs carry no language);
2. no letters at all (empty, emoji-only, numbers) -> ``other``;
3. langid is restricted to French, English and the five languages a French/English brand
   most often receives by mistake (es, de, it, pt, nl). A confident non-fr/en answer ->
   ``other`` unless two or more very frequent French/English words say otherwise; a
   confident fr/en answer is kept;
4. when langid is not confident, a small list of very frequent French and English social-media
   words votes; a tie falls back to langid restricted to fr/en.

Mixed-language posts get the language with the most evidence; very long posts are cut to
their first ``MAX_CHARS`` characters, which is plenty to decide and bounds the cost.
"""

from __future__ import annotations

import re
from functools import lru_cache

from listening.nlp.normalize import normalize

FRENCH = "fr"
ENGLISH = "en"
OTHER = "other"
MAX_CHARS = 2000
CANDIDATES = ["fr", "en", "es", "de", "it", "pt", "nl"]
CONFIDENT = 0.9

_WORD_RE = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")

_FRENCH_WORDS = frozenset(
    """le la les un une des du de au aux et est c'est ce cet cette je tu il elle nous vous ils
    elles on mon ma mes ton ta tes son sa ses notre votre leur pas ne plus très trop bien mal
    merci bonjour salut nul nulle génial super top avec pour sans dans sur chez mais ou donc
    car qui que quoi quand comment pourquoi toujours jamais encore déjà rien tout tous aussi
    suis es sont était été fait faire avoir ai as avez ont va vais vont j'ai j'adore adore
    n'est d'un d'une qu'il l'on colis livraison commande service client bravo franchement
    vraiment putain mdr ptdr lol oui non ça ca là voilà grave ouf enfin""".split()
)
_ENGLISH_WORDS = frozenset(
    """the a an and is it's it this that these those i you he she we they my your his her our
    their not no never very too so good bad thanks thank love hate awesome great terrible
    worst best with for without in on at but or what when how why always still already
    nothing all also am are was were be been do does did don't can't won't i'm i've have has
    had will would should could get got just really package order delivery customer support
    lol omg wtf yes yeah please hello hi there here""".split()
)


@lru_cache(maxsize=1)
def _identifier():
    # Imported lazily: loading the model takes ~0.1 s and most imports of this package never
    # detect anything.
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    identifier = LanguageIdentifier.from_pickled_model(MODEL_FILE, norm_probs=True)
    identifier.set_languages(CANDIDATES)
    return identifier


@lru_cache(maxsize=1)
def _fr_en_identifier():
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    identifier = LanguageIdentifier.from_pickled_model(MODEL_FILE, norm_probs=True)
    identifier.set_languages([FRENCH, ENGLISH])
    return identifier


def _clean(text: str) -> str:
    """Normalised text without the special tokens, which say nothing about the language."""
    words = [w for w in normalize(text[:MAX_CHARS]).split() if not w.startswith(("emj_", "emo_", "xurl", "xuser", "xelong"))]
    return " ".join(words)


def detect_language(text: str | None) -> str:
    """``fr``, ``en`` or ``other`` for one post; never raises on odd input."""
    cleaned = _clean(text or "")
    words = _WORD_RE.findall(cleaned)
    if not words:
        return OTHER
    lang, prob = _identifier().classify(cleaned)
    if lang in (FRENCH, ENGLISH) and prob >= CONFIDENT:
        return lang
    fr_votes = sum(w in _FRENCH_WORDS for w in words)
    en_votes = sum(w in _ENGLISH_WORDS for w in words)
    # Two or more very frequent fr/en words outweigh a confident "other" ("Mon train a encore
    # 40 minutes de retard" looks Dutch/German to character n-grams alone).
    if fr_votes != en_votes and (max(fr_votes, en_votes) >= 2 or prob < CONFIDENT):
        return FRENCH if fr_votes > en_votes else ENGLISH
    if lang not in (FRENCH, ENGLISH) and prob >= 0.5:
        return OTHER
    return _fr_en_identifier().classify(cleaned)[0]


def detect_languages(texts: list[str]) -> list[str]:
    return [detect_language(t) for t in texts]
