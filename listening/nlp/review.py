"""When a person must look at a machine's sentiment, and what automation may do meanwhile.

* A mention is flagged "needs review" when the model's confidence is under the tenant-wide
  threshold ``NLP_REVIEW_CONFIDENCE`` (tuned on the validation splits: ``tune_threshold`` and
  ``make eval-nlp``) or when the text carries irony cues (``listening.nlp.irony``): sarcasm
  flips the polarity a bag-of-words model sees, so its confidence cannot be trusted there.
* The reasons are stored on the mention (``review_reasons``) so the inbox can say why.
* ``may_escalate_automatically``: a negative that the model is not sure of, or that reads as
  ironic, is never escalated by a rule; a person confirms it first (one click in the stream).
  Routing (inbox issue) must ask this before any automatic escalation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

LOW_CONFIDENCE = "low_confidence"
IRONY = "irony"
REASONS = (LOW_CONFIDENCE, IRONY)


def review_reasons(confidence: float, irony_cues: Sequence[str], threshold: float) -> list[str]:
    reasons = []
    if confidence < threshold:
        reasons.append(LOW_CONFIDENCE)
    if irony_cues:
        reasons.append(IRONY)
    return reasons


def may_escalate_automatically(*, sentiment: str, sentiment_source: str, needs_review: bool) -> bool:
    """False for a model's negative that is flagged for review (low confidence or irony). A
    person's label (source "human") is trusted; non-negative mentions are not blocked here."""
    if sentiment != "negative" or sentiment_source == "human":
        return True
    return not needs_review


@dataclass(frozen=True)
class ThresholdPoint:
    threshold: float
    flagged_share: float  # share of mentions a person would review
    kept_accuracy: float  # accuracy of the predictions not flagged
    kept_negative_precision: float  # of the unflagged "negative" predictions, how many are right


def threshold_curve(confidences: Sequence[float], predicted: Sequence[int], truth: Sequence[int],
                    negative: int = 0, thresholds: Sequence[float] | None = None) -> list[ThresholdPoint]:
    """For each candidate threshold: how many would be flagged and how right the rest are."""
    thresholds = thresholds or [round(0.35 + 0.05 * i, 2) for i in range(11)]  # 0.35 .. 0.85
    n = len(confidences)
    points = []
    for t in thresholds:
        kept = [i for i in range(n) if confidences[i] >= t]
        kept_neg = [i for i in kept if predicted[i] == negative]
        points.append(ThresholdPoint(
            threshold=t,
            flagged_share=round(1 - len(kept) / n, 4) if n else 0.0,
            kept_accuracy=round(sum(predicted[i] == truth[i] for i in kept) / len(kept), 4) if kept else 1.0,
            kept_negative_precision=(round(sum(truth[i] == negative for i in kept_neg) / len(kept_neg), 4)
                                     if kept_neg else 1.0),
        ))
    return points


def tune_threshold(points: Sequence[ThresholdPoint], *, target_negative_precision: float = 0.75,
                   max_flagged_share: float = 0.4) -> ThresholdPoint:
    """The lowest threshold whose unflagged negatives are right at least ``target`` of the time
    (these are the ones automation may act on), as long as people are not asked to review more
    than ``max_flagged_share`` of the stream; otherwise the threshold flagging at most that share."""
    ordered = sorted(points, key=lambda p: p.threshold)
    affordable = [p for p in ordered if p.flagged_share <= max_flagged_share] or ordered[:1]
    for point in affordable:
        if point.kept_negative_precision >= target_negative_precision:
            return point
    return affordable[-1]
