"""Print validation figures per language (and VADER on English), training first if needed.

EN: TweetEval validation split. FR: XLM-T validation split (DEFT 2017 is used for training
only; it has no validation split of its own). The product's held-out test tweets are not in
the repository: these are validation figures, reported as they are.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from listening.nlp.data import LABELS, load_split
from listening.nlp.evaluation import format_table, metrics, vader_predict
from listening.nlp.review import threshold_curve, tune_threshold
from listening.nlp.sentiment import ModelUnavailableError, load_model


class Command(BaseCommand):
    help = "Evaluate the sentiment models on the validation splits (trains first if no artefact)."

    def add_arguments(self, parser):
        parser.add_argument("--lang", choices=["fr", "en"], action="append")
        parser.add_argument("--model-dir", default=None)

    def handle(self, *args, **opts):
        rows, curves = [], []
        for lang in opts["lang"] or ["en", "fr"]:
            try:
                model = load_model(lang, opts["model_dir"])
            except ModelUnavailableError as exc:
                self.stdout.write(f"{exc}; training {lang} first")
                extra = {"output_dir": opts["model_dir"]} if opts["model_dir"] else {}
                call_command("train_sentiment", lang=[lang], stdout=self.stdout, **extra)
                model = load_model(lang, opts["model_dir"])
            texts, labels = load_split(lang, "val")
            started = time.monotonic()
            predictions = model.predict(texts)
            preds = [LABELS.index(p.label) for p in predictions]
            elapsed = time.monotonic() - started
            curves.append((lang, threshold_curve([p.confidence for p in predictions], preds, labels,
                                                 negative=LABELS.index("negative"))))
            rows.append((lang, model.version, len(texts), metrics(labels, preds)))
            self.stdout.write(f"{lang}: {len(texts)} validation tweets scored in {elapsed:.1f}s")
            if lang == "en":
                rows.append((lang, "VADER (compound +/-0.05)", len(texts), metrics(labels, vader_predict(texts))))
        self.stdout.write(format_table(rows))
        self._review_thresholds(curves)

    def _review_thresholds(self, curves) -> None:
        """How NLP_REVIEW_CONFIDENCE is tuned: below it a mention is flagged for a person. The
        table shows, per threshold, the share flagged and how right the unflagged predictions
        (those automation may act on) are, above all the negatives."""
        self.stdout.write("\nreview threshold (NLP_REVIEW_CONFIDENCE, now %.2f): flagged share / accuracy of the rest"
                          " / precision of the unflagged negatives" % settings.NLP_REVIEW_CONFIDENCE)
        for lang, points in curves:
            chosen = tune_threshold(points)
            self.stdout.write(f"{lang}: " + "  ".join(
                f"{p.threshold:.2f}: {p.flagged_share:.0%}/{p.kept_accuracy:.2f}/{p.kept_negative_precision:.2f}"
                + ("*" if p == chosen else "") for p in points))
            why = ("the lowest whose unflagged negatives are right >= 75 % of the time"
                   if chosen.kept_negative_precision >= 0.75 else
                   "none reaches 75 % precision on unflagged negatives with at most 40 % flagged: the highest that does "
                   "not flag more")
            self.stdout.write(f"{lang}: tuned threshold {chosen.threshold:.2f} ({why})")
