"""Offline language detection for short social posts: ``fr``, ``en`` or ``other``.

Choice: ``py3langid`` (a numpy port of langid.py, BSD licence). Its naive-Bayes character
n-gram model ships inside the wheel (~2 MB), so nothing is downloaded at run time, it is
deterministic and it classifies thousands of posts per second.

langid.py alone is unreliable on posts of one or two words ("merci", "love it"), so:

1. the text is normalised first (links, handles, emoji and hashtag signs carry no language);
2. no letters at all (empty, emoji-only, numbers) -> ``other``;
3. langid (scored by ``_Identifier``, same model, faster) is restricted to French, English and the five languages a French/English brand
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

import numpy as np
from scipy.sparse import csr_matrix

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


class _Identifier:
    """py3langid's naive Bayes model, restricted to ``CANDIDATES``, scored without its per-text
    feature vector: langid.py's byte automaton emits the same n-gram features every time it
    enters a given state, so each state's summed log-probabilities are computed once here and
    a text's score is the sum over the states it walks through (same figures, ~5x faster)."""

    def __init__(self):
        from py3langid.langid import MODEL_FILE, LanguageIdentifier

        model = LanguageIdentifier.from_pickled_model(MODEL_FILE)
        model.set_languages(CANDIDATES)
        self.classes = list(model.nb_classes)
        self.nextmove = np.frombuffer(model.tk_nextmove, dtype=model.tk_nextmove.typecode).astype(np.int64)
        ptc = model.nb_ptc.astype(np.float64)
        self.state_scores = np.zeros((len(self.nextmove) >> 8, len(self.classes)))
        for state, features in model.tk_output.items():
            if features:
                self.state_scores[state] = ptc[list(features)].sum(axis=0)
        self.prior = model.nb_pc.astype(np.float64)
        self.fr_en = (self.classes.index(FRENCH), self.classes.index(ENGLISH))

    def scores(self, texts: list[str]) -> np.ndarray:
        """Log-scores (one row per text, one column per class), the automaton run on all texts
        at once: one numpy step per byte position instead of one Python step per byte."""
        encoded = [t.encode("utf-8", errors="surrogatepass") for t in texts]
        lengths = np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded))
        order = np.argsort(-lengths, kind="stable")  # longest first: the active texts are a prefix
        data = np.frombuffer(b"".join(encoded[i] for i in order), dtype=np.uint8).astype(np.int64)
        sorted_lengths = lengths[order]
        starts = np.concatenate(([0], np.cumsum(sorted_lengths)[:-1]))
        visited = np.empty_like(data)
        state = np.zeros(len(texts), dtype=np.int64)
        active = len(texts)
        for pos in range(int(sorted_lengths[0]) if len(texts) else 0):
            while sorted_lengths[active - 1] <= pos:
                active -= 1
            at = starts[:active] + pos
            state[:active] = self.nextmove[(state[:active] << 8) + data[at]]
            visited[at] = state[:active]
        rows = np.repeat(np.arange(len(texts)), sorted_lengths)
        counts = csr_matrix((np.ones(rows.size), (rows, visited)), shape=(len(texts), len(self.state_scores)))
        out = np.empty((len(texts), len(self.classes)))
        out[order] = counts @ self.state_scores
        return out + self.prior


@lru_cache(maxsize=1)
def language_identifier() -> _Identifier:
    # Built lazily: loading the model takes ~0.2 s and most imports of this package never
    # detect anything.
    return _Identifier()


_SPECIAL_PREFIXES = ("emj_", "emo_", "xurl", "xuser", "xelong")


def _softmax(scores: np.ndarray) -> np.ndarray:
    probs = np.exp(scores - scores.max(axis=1, keepdims=True))
    return probs / probs.sum(axis=1, keepdims=True)


def _language(words: list[str], lang: str, prob: float, fr_over_en: bool) -> str:
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
    return FRENCH if fr_over_en else ENGLISH  # langid restricted to fr/en


def detect_languages(texts: list[str | None], normalized: list[str] | None = None) -> list[str]:
    """``fr``, ``en`` or ``other`` per post; pass ``normalized`` (``normalize`` of each text)
    when it is already at hand, so it is not computed twice."""
    if normalized is None:
        normalized = [normalize((t or "")[:MAX_CHARS]) for t in texts]
    # The special tokens say nothing about the language.
    cleaned = [" ".join([w for w in t.split() if not w.startswith(_SPECIAL_PREFIXES)])[:MAX_CHARS] for t in normalized]
    words = [_WORD_RE.findall(c) for c in cleaned]
    out = [OTHER] * len(words)  # no letters at all: "other"
    todo = [i for i, w in enumerate(words) if w]
    if not todo:
        return out
    identifier = language_identifier()
    scores = identifier.scores([cleaned[i] for i in todo])
    probs = _softmax(scores)
    best = probs.argmax(axis=1).tolist()
    best_prob = probs.max(axis=1).tolist()
    fr, en = identifier.fr_en
    fr_over_en = (scores[:, fr] >= scores[:, en]).tolist()
    for k, i in enumerate(todo):
        out[i] = _language(words[i], identifier.classes[best[k]], best_prob[k], fr_over_en[k])
    return out
def detect_language(text: str | None) -> str:
    """``fr``, ``en`` or ``other`` for one post; never raises on odd input."""
    return detect_languages([text])[0]
