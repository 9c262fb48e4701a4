"""Irony cues: found in ironic French and English posts, absent from ordinary praise and
ordinary complaints (a cue there would send plain posts to review)."""

from __future__ import annotations

import pytest

from listening.nlp.irony import CUES, irony_cues


@pytest.mark.parametrize(("text", "cue"), [
    ("Trop hâte d'aller bosser lundi #sarcasme", "sarcasm_hashtag"),
    ("Love waiting 2 hours for a bus #not", "sarcasm_hashtag"),
    ("Best customer service ever /s", "sarcasm_hashtag"),
    ("Merci pour rien @Bouygues", "ironic_phrase"),
    ("Oh yeah right, your app 'works' on my phone", "ironic_phrase"),
    ("Fastest refund in history, said no one ever", "ironic_phrase"),
    ("Génial, encore une panne de fibre ce soir", "praise_then_complaint"),
    ("Super, 2h de retard pour changer", "praise_then_complaint"),
    ("C'est génial, encore un bug après la mise à jour", "praise_then_complaint"),
    ("Bravo la SNCF, encore en retard", "praise_then_complaint"),
    ("Oh great, another delay @united", "praise_then_complaint"),
    ("Perfect! My flight got cancelled", "praise_then_complaint"),
    ("Merci pour ces 2h de retard @SNCF", "thanks_for_complaint"),
    ("Thanks for the 3 hour delay @AmericanAir", "thanks_for_complaint"),
    ("Quel \"super\" service après-vente", "scare_quotes"),
    ("Such \"fast\" delivery, ordered a month ago", "scare_quotes"),
    ("Colis annulé sans prévenir mdr", "laugh_at_complaint"),
    ("Internet outage for the third time this week lol", "laugh_at_complaint"),
    ("Train annulé 😂", "laugh_at_complaint"),
    ("Colis toujours pas arrivé, merci @laposte 🙄", "praise_with_eye_roll"),
    ("Thanks a lot @UPS 🙄", "praise_with_eye_roll"),
    ("Vol annulé 😍", "failure_with_delight"),
    ("My train is delayed again 🎉", "failure_with_delight"),
])
def test_ironic_posts_carry_the_expected_cue(text, cue):
    assert cue in irony_cues(text)


@pytest.mark.parametrize("text", [
    # ordinary praise
    "Merci pour votre aide 😊",
    "Service client au top, problème réglé en 5 minutes 👏",
    "Super, panne réparée en une heure, merci !",
    "Génial, le colis est arrivé en avance",
    "Trooop bien le nouveau forfait, merci @free !",
    "Thanks for the quick reply, issue sorted",
    "Great, the outage is fixed, thanks team",
    "Loving the new update, great job team 👏",
    "Thanks for the update on the delay, very helpful",
    "Just landed, smooth flight and friendly crew @united",
    "Their \"Premium\" plan is worth it",
    # ordinary complaints
    "Colis toujours pas arrivé 🙄",
    "Encore une panne de fibre ce soir... #orange",
    "Mon train a encore 40 minutes de retard @SNCF",
    "Worst customer service ever, been on hold for two hours",
    "Internet down again tonight, what am I paying for #comcast",
    "Le service était parfait mais encore un retard à la livraison",
    "The staff were great, but the delay was long",
    "Super slow app, another crash today",
    "Pas génial, encore un retard",
    # neither
    "",
    "Quelqu'un sait si la boutique de Lyon est ouverte dimanche ?",
    "Can someone tell me if the store is open on Sunday?",
])
def test_ordinary_praise_and_complaints_carry_no_cue(text):
    assert irony_cues(text) == []


def test_a_clearly_positive_reading_next_to_an_eye_roll_is_a_cue():
    text = "Le nouveau forfait, vraiment au niveau 🙄"
    assert irony_cues(text) == []  # no praise word
    assert irony_cues(text, {"negative": 0.1, "neutral": 0.1, "positive": 0.8}) == ["praise_with_eye_roll"]
    assert irony_cues(text, (0.1, 0.1, 0.8)) == ["praise_with_eye_roll"]
    assert irony_cues(text, {"negative": 0.6, "neutral": 0.2, "positive": 0.2}) == []


def test_cues_are_named_once_in_a_fixed_order():
    cues = irony_cues("Génial, encore un retard mdr #sarcasme 🙄")
    assert cues == [c for c in CUES if c in cues] and len(cues) == len(set(cues))
    assert {"sarcasm_hashtag", "praise_then_complaint", "laugh_at_complaint", "praise_with_eye_roll"} <= set(cues)
