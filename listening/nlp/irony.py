"""Irony and sarcasm cues in French and English social posts: named, explainable, precise.

The sentiment model reads "Génial, encore une panne" as positive more often than not. We do not
try to flip its label: a post with a cue is flagged for a person to check (the NLP stage adds the
review reason "irony"). So every cue must be specific: ordinary praise ("Merci pour votre aide
😊") and ordinary complaints ("Colis toujours pas arrivé 🙄") give none.

Cues (``CUES``, in the order they are reported):

* ``sarcasm_hashtag``: #sarcasm, #irony, #not, #sarcasme, #ironie, #ouipas, ... or a final "/s".
* ``ironic_phrase``: set phrases, "yeah right", "thanks for nothing", "said no one ever",
  "merci pour rien", "merci du cadeau", "ben voyons", "c'est du propre", ... (not "gotta love"
  or "big surprise": in the corpus they are sincere more often than not).
* ``praise_then_complaint``: an evaluative word used as an interjection, then a failure within
  a few words ("Génial, encore une panne", "Great, another delay", "Bravo la SNCF, encore en
  retard"), in a post that does not say the failure was fixed.
* ``thanks_for_complaint``: thanking or congratulating *for* the failure itself ("Merci pour
  ces 2h de retard", "thanks for the 3 hour delay").
* ``scare_quotes``: one praise word in quotes inside a sentence ('such "fast" delivery',
  'le "meilleur" service'); not a quoted title or a quoted reply ('"Awesome" :)').
* ``laugh_at_complaint``: lol / mdr / ptdr / haha / 😂 / 🤣 after an unambiguous failure
  (a delay, an outage, a cancellation; not "lost" or "stuck": "I'm so lost lol").
* ``praise_with_eye_roll``: a praise word (or, given ``label_probs``, a text the model reads as
  clearly positive) with an eye-roll, upside-down or unamused face (🙄 🙃 😒 😑 🤦).
* ``failure_with_delight``: a failure with a delighted face or party emoji (😍 🥰 🎉 ...), in a
  post that does not say it was fixed.

An eye-roll next to a complaint alone is not a cue: that is ordinary exasperation.
"""

from __future__ import annotations

import re
import unicodedata

CUES = ("sarcasm_hashtag", "ironic_phrase", "praise_then_complaint", "thanks_for_complaint", "scare_quotes",
        "laugh_at_complaint", "praise_with_eye_roll", "failure_with_delight")
POSITIVE_GATE = 0.7  # model probability of "positive" that counts as a praise signal

_HASHTAG_RE = re.compile(
    r"#(?:sarcasm|sarcastic|sarcasme|sarcastique|irony|ironic|ironie|ironique|not|ouipas|oupas|jdcjdr)\b"
    r"|(?:^|\s)/s\s*$"
)
_PHRASE_RE = re.compile(
    r"\b(?:yeah,? right|thanks? (?:you )?for nothing|thanks a lot for nothing|said no one ever|how convenient"
    r"|merci pour rien|merci du cadeau|ben voyons|c'est du propre|on n'arr[eê]te pas le progr[eè]s"
    r"|elle est belle la)\b"
)
# French elisions are words of their own ("d'attente" -> "d'" "attente"), English "don't" is one.
_PHRASE_KEYS = ("right", "nothing", "ever", "convenient", "rien", "cadeau", "voyons", "propre", "progr", "belle")
_NON_WORD_RE = re.compile(r"[^\w']+")
_WORD_RE = re.compile(r"\b(?:qu|[cdjlmnst])'(?=[^\W\d_])|[^\W\d_]+(?:'[^\W\d_]+)?|\d+")

_PRAISE = frozenset("""great awesome perfect perfectly fantastic brilliant wonderful lovely nice excellent amazing
    superb fabulous yay congrats congratulations génial géniale genial super parfait parfaite top
    formidable magnifique bravo excellente chapeau merveilleux félicitations""".split())
_INTENSIFIERS = frozenset("super top".split())  # "super slow", "on top of": praise only as "Super, ..."
_THANKS = frozenset("thanks thank thx merci bravo congrats congratulations félicitations".split())
_LOVE = frozenset("love loving adore j'adore".split())
_NEGATIONS = frozenset("not no never pas jamais non n' isn't wasn't".split())
# Concrete failures a brand is blamed for; deliberately not generic negative words.
_FAILURES = frozenset("""retard retards retardé retardée panne pannes bug bugs bugue beug coupure coupures coupé
    coupée annulé annulée annulés annulées annulation perdu perdue perdus cassé cassée cassés bloqué bloquée
    plantage délai attente grève delay delays delayed outage outages broken broke crashed crashing crashes
    cancelled canceled cancellation lost stuck hold queue""".split())
# The ones that cannot be anything but a failure: a delighted emoji next to them is a cue.
_STRONG_FAILURES = _FAILURES - frozenset("perdu perdue perdus lost stuck hold queue broke bloqué bloquée".split())
# The failure is over: "Super, panne réparée" is plain praise.
_FIXED = frozenset("""réparé réparée réparation rétabli rétablie résolu résolue réglé réglée fini finie terminé
    remboursé remboursée arrivé arrivée reçu reçue fixed fix resolved solved sorted repaired restored over
    refunded arrived received""".split())
_AGAIN = frozenset("encore again another énième yet".split())
# Words allowed between "merci pour"/"thanks for" and the failure: "merci pour ces 2h de retard".
_FILLERS = frozenset("""the a an this that these those my our your yet another new latest extra le la les l' ce
    cet cette ces un une des du de d' mon ma mes notre nos votre vos encore nouveau nouvelle nouvel énième
    h hour hours hr hrs min mins minute minutes day days week weeks heure heures jour jours semaine
    semaines""".split())
_LAUGHS = frozenset("lol lool mdr mdrr ptdr lmao lmfao xd haha hahaha hahahaha ahah ahahah".split())
_LAUGH_EMOJI = "😂🤣"
_EYE_ROLL = "🙄🙃😒😑🤦"
_DELIGHT = "😍🥰😁😄😃🤩🥳🎉"
_PUNCT_AFTER = re.compile(r"\s*(?:[,!:;.…]|—|-)")
# What may come before a praise word that opens a clause: the start, punctuation, a handle or
# an emoji, then openers ("Oh great, ...", "C'est génial, ...", "@SNCF bravo, ...").
_CLAUSE_START_RE = re.compile(
    r"(?:^|[.!?…:;,\n(]|@\w+|[^\w\s])\s*"
    r"(?:(?:oh|ah|wow|just|so|really|well|how|that's|thats|vraiment|trop|c'est|ça|ca|bah|ben|bon|juste|alors)\s+)*$"
)
_CONTRAST = frozenset("but mais however though sauf except cependant pourtant".split())
_QUOTED_RE = re.compile(r"\w[,:]?\s+(?:[\"“«]\s*([^\W\d_]+)\s*[\"”»]|'([^\W\d_]+)')\s+\w")
# Not "free", "premium", "express": plan names are quoted without irony.
_QUOTED_PRAISE = _PRAISE | frozenset("""fast quick rapide rapides best meilleur meilleure helpful efficace
    professionnel professionnels""".split())


def _words(text: str) -> tuple[list[str], list[tuple[int, int]]]:
    """The words of (lower-cased) ``text`` and where each is."""
    matches = list(_WORD_RE.finditer(text))
    return [m.group() for m in matches], [m.span() for m in matches]


_DEGREE = frozenset("so very that too really très si trop vraiment super".split())


def _negated(words: list[str], i: int) -> bool:
    """"pas génial", "not so great", "n'est pas arrivé": a negation right before the word."""
    before = words[max(0, i - 3):i][::-1]
    while before and before[0] in _DEGREE:
        before = before[1:]
    return bool(before) and before[0] in _NEGATIONS


def _praise_positions(words: list[str], lexicon: frozenset[str]) -> list[int]:
    return [i for i, w in enumerate(words) if w in lexicon and not _negated(words, i)]


def _praise_then_complaint(text: str, spans: list[tuple[int, int]], words: list[str], failures: list[int]) -> bool:
    """A praise word opening a clause, then a failure within 6 words: right after it as an
    interjection ("Génial, encore une panne"), or after "encore"/"again" ("Bravo la SNCF, encore
    en retard"), with no "but"/"mais" between (mixed reviews are not irony)."""
    for i in _praise_positions(words, _PRAISE):
        start, end = spans[i]
        if not _CLAUSE_START_RE.search(text[max(0, start - 40):start]):
            continue
        interjection = _PUNCT_AFTER.match(text, end) is not None
        for j in failures:
            between = words[i + 1:j]
            if not 0 < j - i <= 6 or any(w in _CONTRAST for w in between):
                continue
            if interjection or (words[i] not in _INTENSIFIERS and any(w in _AGAIN for w in between)):
                return True
    return False


def _thanks_for_complaint(words: list[str], failures: set[int]) -> bool:
    for i, word in enumerate(words[:-1]):
        if word in _THANKS and words[i + 1] in ("for", "pour"):
            j = i + 2
            while j < len(words) and j - i <= 6 and (words[j] in _FILLERS or words[j].isdigit()):
                j += 1
            if j in failures:
                return True
    return False


def _scare_quotes(text: str) -> bool:
    return any((m.group(1) or m.group(2)) in _QUOTED_PRAISE for m in _QUOTED_RE.finditer(text))


def irony_cues(text: str, label_probs=None) -> list[str]:
    """The names of the irony cues found in one post (``CUES`` order; empty for most posts).

    ``label_probs``: optional sentiment probabilities (a dict with "positive", or a
    (negative, neutral, positive) sequence); a clearly positive reading counts as praise next
    to an eye-roll.
    """
    if not text:
        return []
    text = unicodedata.normalize("NFC", text).lower().replace("\u2019", "'")
    found: set[str] = set()
    if ("#" in text or "/s" in text) and _HASHTAG_RE.search(text):
        found.add("sarcasm_hashtag")
    if any(key in text for key in _PHRASE_KEYS) and _PHRASE_RE.search(text):
        found.add("ironic_phrase")
    if ('"' in text or "“" in text or "«" in text or " '" in text) and _scare_quotes(text):
        found.add("scare_quotes")
    # Cheap first: most posts name no failure and have no eye-roll, and stop here.
    rough = set(_NON_WORD_RE.split(text.replace("'", "' ")))
    if not _FAILURES.isdisjoint(rough):
        _failure_cues(text, found)
    if any(c in text for c in _EYE_ROLL):
        if _praise_positions(_WORD_RE.findall(text), _PRAISE | _THANKS | _LOVE) or _positive(label_probs):
            found.add("praise_with_eye_roll")
    return [cue for cue in CUES if cue in found]


def _failure_cues(text: str, found: set[str]) -> None:
    matches = list(_WORD_RE.finditer(text))
    words, spans = [m.group() for m in matches], [m.span() for m in matches]
    failures = [i for i, w in enumerate(words) if w in _FAILURES and not _negated(words, i)]
    if not failures:
        return
    if _thanks_for_complaint(words, set(failures)):
        found.add("thanks_for_complaint")
    if any(w in _FIXED and not _negated(words, i) for i, w in enumerate(words)):
        return  # the failure is over: what follows would be plain praise
    if _praise_then_complaint(text, spans, words, failures):
        found.add("praise_then_complaint")
    strong = [i for i in failures if words[i] in _STRONG_FAILURES]
    if strong and any(c in text for c in _DELIGHT):
        found.add("failure_with_delight")
    if strong and (any(w in _LAUGHS for w in words[strong[0] + 1:])
                   or any(c in text[spans[strong[0]][1]:] for c in _LAUGH_EMOJI)):
        found.add("laugh_at_complaint")


def _positive(label_probs) -> bool:
    if label_probs is None:
        return False
    positive = label_probs.get("positive", 0.0) if isinstance(label_probs, dict) else label_probs[2]
    return float(positive) >= POSITIVE_GATE
