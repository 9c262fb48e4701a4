"""Humans stay in charge: why a mention is flagged for review, and that a doubtful negative is
never escalated automatically."""

from __future__ import annotations

import pytest

from listening.nlp.review import (
    IRONY,
    LOW_CONFIDENCE,
    ThresholdPoint,
    may_escalate_automatically,
    review_reasons,
    threshold_curve,
    tune_threshold,
)


def test_reasons_name_low_confidence_and_irony_separately():
    assert review_reasons(0.9, [], threshold=0.55) == []
    assert review_reasons(0.4, [], threshold=0.55) == [LOW_CONFIDENCE]
    assert review_reasons(0.9, ["sarcasm_hashtag"], threshold=0.55) == [IRONY]
    assert review_reasons(0.4, ["eye_roll"], threshold=0.55) == [LOW_CONFIDENCE, IRONY]


@pytest.mark.parametrize(("sentiment", "source", "needs_review", "allowed"), [
    ("negative", "model", True, False),  # the model is unsure (or the text reads as ironic): a person first
    ("negative", "model", False, True),
    ("negative", "human", False, True),  # a person said negative: trusted
    ("positive", "model", True, True),  # only negatives escalate; nothing to hold back
    ("neutral", "model", True, True),
])
def test_a_doubtful_negative_is_never_escalated_automatically(sentiment, source, needs_review, allowed):
    assert may_escalate_automatically(sentiment=sentiment, sentiment_source=source, needs_review=needs_review) is allowed


def test_the_threshold_curve_counts_flagged_share_and_the_accuracy_of_the_rest():
    # 0 = negative. Two confident right answers, one confident wrong negative, two unsure ones.
    confidences = [0.9, 0.8, 0.7, 0.5, 0.4]
    predicted = [0, 2, 0, 0, 1]
    truth = [0, 2, 1, 0, 2]
    points = {p.threshold: p for p in threshold_curve(confidences, predicted, truth, thresholds=[0.45, 0.75])}
    assert points[0.45] == ThresholdPoint(0.45, flagged_share=0.2, kept_accuracy=0.75, kept_negative_precision=0.6667)
    assert points[0.75] == ThresholdPoint(0.75, flagged_share=0.6, kept_accuracy=1.0, kept_negative_precision=1.0)


def test_tuning_picks_the_lowest_threshold_that_makes_automated_negatives_trustworthy():
    points = [ThresholdPoint(0.4, 0.05, 0.7, 0.6), ThresholdPoint(0.5, 0.15, 0.75, 0.72),
              ThresholdPoint(0.55, 0.2, 0.78, 0.76), ThresholdPoint(0.6, 0.3, 0.8, 0.8),
              ThresholdPoint(0.7, 0.5, 0.9, 0.9)]
    assert tune_threshold(points, target_negative_precision=0.75).threshold == 0.55
    # Unreachable within the review budget: the highest threshold people can afford.
    assert tune_threshold(points, target_negative_precision=0.95, max_flagged_share=0.4).threshold == 0.6
