"""Spike and crisis detection: pure functions on one hourly series, no database.

A series is a list of ``(hour, volume, negative)``: ``hour`` an aware datetime on the hour (UTC),
``volume`` the mentions of a listening query posted in that hour, ``negative`` those tagged
negative. Hours missing from the list count as zero, from the first hour of the series on
(before it, nothing is known: a query created last week has no history of silence).

The baseline of an hour ``h`` is learned from the same series, before ``h``:

* **hour of week** (the normal case): the same hour of the week over the last 8 weeks, when at
  least 3 of those weeks are known. Brands have weekly rhythms (night, lunch, Sunday evening); a
  Monday 9:00 is compared with Mondays 9:00.
* **hour of day** (cold start, 4 days to 3 weeks of history): the same hour over the last 14 days.
* **overall** (1 to 4 days of history): every hour of the last 7 days.
* under 24 hours of history: no baseline, no verdict (a new query is not a crisis).

From the baseline values: ``expected`` is their median, the spread is their MAD scaled to a
standard deviation (x1.4826), floored by the Poisson spread ``sqrt(expected)`` and by 1 so that a
sparse series (a few mentions a day, MAD 0) does not turn 3 mentions into a 10-sigma event.
The volume score is the robust z-score ``(observed - expected) / spread``. The negative share is
compared with the pooled share of the baseline hours (smoothed towards 30 % when they hold few
mentions), its score is a binomial z-score.

An hour is a crisis when (thresholds by sensitivity, ``THRESHOLDS``):

* volume: score >= z, observed >= an absolute minimum, and observed >= ratio x expected; or
* negative share: enough mentions in the hour (an absolute minimum and at least half the expected
  volume), the share rose by at least ``negative_jump`` (absolute), and its score >= negative_z.

Medians make the baseline robust to past crises in the window. Hours are UTC: a daylight-saving
change shifts the local rhythm by one hour against the weekly baseline for a few weeks, which the
spread and the ratio absorb.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from statistics import median

from scipy.stats import binom, norm, poisson

HOUR = timedelta(hours=1)
WEEK_HOURS, DAY_HOURS = 7 * 24, 24
WEEKS_BACK, MIN_WEEKS = 8, 3
DAYS_BACK, MIN_DAYS = 14, 4
OVERALL_HOURS, MIN_OVERALL = 7 * 24, 24
PRIOR_SHARE, PRIOR_WEIGHT = 0.3, 10
FLOOR_RATE = 0.5  # an empty baseline still expects a mention now and then  # pseudo-mentions pulling a thin baseline's negative share


@dataclass(frozen=True)
class Thresholds:
    z: float  # volume robust z-score
    min_volume: int  # absolute minimum of mentions in the hour
    ratio: float  # observed / expected
    negative_jump: float  # rise of the negative share, absolute (0.25 = 25 points)
    negative_z: float
    min_negative_volume: int


THRESHOLDS = {
    "low": Thresholds(z=6.0, min_volume=20, ratio=2.5, negative_jump=0.3, negative_z=5.0, min_negative_volume=20),
    "medium": Thresholds(z=4.5, min_volume=10, ratio=2.0, negative_jump=0.25, negative_z=4.0, min_negative_volume=12),
    "high": Thresholds(z=3.5, min_volume=6, ratio=1.6, negative_jump=0.2, negative_z=3.0, min_negative_volume=8),
}


@dataclass(frozen=True)
class Baseline:
    expected: float  # the median
    spread: float  # MAD as a standard deviation, at least 1
    rate: float  # the Poisson rate behind the tail probability
    negative_share: float
    method: str  # hour_of_week | hour_of_day | overall
    points: int


@dataclass(frozen=True)
class Verdict:
    hour: datetime
    observed: int
    negative: int
    expected: float
    score: float  # the larger of the two scores
    volume_score: float
    negative_share: float
    expected_negative_share: float
    negative_score: float
    kinds: tuple[str, ...]  # ("volume",), ("negative_share",) or both
    method: str


class Series:
    """An hourly series indexed by hour (missing hours are zero from its first hour on)."""

    def __init__(self, rows: Iterable[tuple[datetime, int, int]], start: datetime | None = None):
        self.values: dict[datetime, tuple[int, int]] = {}
        for hour, volume, negative in rows:
            self.values[hour] = (int(volume), int(negative))
        known = min(self.values) if self.values else None
        self.start = min(filter(None, (start, known)), default=None)

    def at(self, hour: datetime) -> tuple[int, int]:
        return self.values.get(hour, (0, 0))

    def known(self, hour: datetime) -> bool:
        return self.start is not None and hour >= self.start


def _past_hours(series: Series, hour: datetime, step: int, count: int) -> list[datetime]:
    hours = (hour - k * step * HOUR for k in range(1, count + 1))
    return [h for h in hours if series.known(h)]


def baseline(series: Series, hour: datetime) -> Baseline | None:
    """The baseline of ``hour`` from the hours before it (module docstring), or None."""
    for method, step, count, minimum in (("hour_of_week", WEEK_HOURS, WEEKS_BACK, MIN_WEEKS),
                                         ("hour_of_day", DAY_HOURS, DAYS_BACK, MIN_DAYS),
                                         ("overall", 1, OVERALL_HOURS, MIN_OVERALL)):
        hours = _past_hours(series, hour, step, count)
        if len(hours) >= minimum:
            break
    else:
        return None
    points = [series.at(h) for h in hours]
    volumes = sorted(v for v, _n in points)
    expected = float(median(volumes))
    mad = float(median(abs(v - expected) for v in volumes))
    # The Poisson rate: a median of 3 to 8 counts often falls below the true rate, so the mean
    # without the largest value (one past spike) takes over when it is higher; then its upper
    # bound (two standard errors), so that a baseline that happened to be low raises no alarm.
    rate = max(expected, sum(volumes[:-1]) / (len(volumes) - 1), FLOOR_RATE)
    rate += 2 * math.sqrt(rate / len(volumes))
    total, negative = sum(volumes), sum(n for _v, n in points)
    share = (negative + PRIOR_SHARE * PRIOR_WEIGHT) / (total + PRIOR_WEIGHT)
    share += 2 * math.sqrt(share * (1 - share) / (total + PRIOR_WEIGHT))  # its upper bound, likewise
    return Baseline(expected=expected, spread=max(1.4826 * mad, 1.0), rate=rate, negative_share=share,
                    method=method, points=len(points))


def _tail_z(p_value: float) -> float:
    """A tail probability as a one-sided z-score (capped: 1e-300 is as alarming as it gets)."""
    return float(min(norm.isf(max(p_value, 1e-300)), 37.0))


def judge(series: Series, hour: datetime, thresholds: Thresholds) -> Verdict | None:
    """A Verdict when ``hour`` is unusual (module docstring), else None."""
    base = baseline(series, hour)
    if base is None:
        return None
    observed, negative = series.at(hour)
    # Both must be high: the robust z-score (overdispersed series) and the Poisson tail (sparse ones).
    robust = (observed - base.expected) / base.spread
    share = negative / observed if observed else 0.0
    p0 = min(max(base.negative_share, 0.02), 0.98)
    # The tail probabilities cost ~50 us each: computed only where the cheap conditions hold.
    volume_score = negative_score = None
    kinds = []
    if (observed >= thresholds.min_volume and observed >= thresholds.ratio * max(base.expected, 1.0)
            and robust >= thresholds.z):
        volume_score = min(robust, _tail_z(poisson.sf(observed - 1, base.rate)))
        if volume_score >= thresholds.z:
            kinds.append("volume")
    if (observed >= thresholds.min_negative_volume and observed >= 0.5 * base.expected
            and share - p0 >= thresholds.negative_jump):
        negative_score = _tail_z(binom.sf(negative - 1, observed, p0))
        if negative_score >= thresholds.negative_z:
            kinds.append("negative_share")
    if not kinds:
        return None
    if volume_score is None:
        volume_score = min(robust, _tail_z(poisson.sf(observed - 1, base.rate)))
    if negative_score is None:
        negative_score = _tail_z(binom.sf(negative - 1, observed, p0))
    return Verdict(hour=hour, observed=observed, negative=negative, expected=round(base.expected, 2),
                   score=round(max(volume_score, negative_score), 2), volume_score=round(volume_score, 2),
                   negative_share=round(share, 4), expected_negative_share=round(p0, 4),
                   negative_score=round(negative_score, 2), kinds=tuple(kinds), method=base.method)


def detect(rows: Sequence[tuple[datetime, int, int]], hours: Iterable[datetime], thresholds: Thresholds,
           start: datetime | None = None) -> list[Verdict]:
    """The verdicts of ``hours`` (in order) on one series."""
    series = Series(rows, start)
    return [v for h in sorted(hours) if (v := judge(series, h, thresholds)) is not None]


def expected_series(rows: Sequence[tuple[datetime, int, int]], hours: Iterable[datetime],
                    start: datetime | None = None) -> list[tuple[datetime, int, float | None]]:
    """``(hour, observed, expected)`` for a chart; expected is None where there is no baseline."""
    series = Series(rows, start)
    out = []
    for h in hours:
        base = baseline(series, h)
        out.append((h, series.at(h)[0], round(base.expected, 2) if base else None))
    return out


def hours_between(first: datetime, end: datetime) -> list[datetime]:
    """Every hour from ``first`` (on the hour) up to, not including, ``end``."""
    out, h = [], first
    while h < end:
        out.append(h)
        h += HOUR
    return out
