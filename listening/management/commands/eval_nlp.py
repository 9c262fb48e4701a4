"""Print validation figures per language (and VADER on English), training first if needed.

EN: TweetEval validation split. FR: XLM-T validation split (DEFT 2017 is used for training
only; it has no validation split of its own). The product's held-out test tweets are not in
the repository: these are validation figures, reported as they are.
"""

from __future__ import annotations

import time

from django.core.management import call_command
from django.core.management.base import BaseCommand

from listening.nlp.data import LABELS, load_split
from listening.nlp.evaluation import format_table, metrics, vader_predict
from listening.nlp.sentiment import ModelUnavailableError, load_model


class Command(BaseCommand):
    help = "Evaluate the sentiment models on the validation splits (trains first if no artefact)."

    def add_arguments(self, parser):
        parser.add_argument("--lang", choices=["fr", "en"], action="append")
        parser.add_argument("--model-dir", default=None)

    def handle(self, *args, **opts):
        rows = []
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
            preds = [LABELS.index(p.label) for p in model.predict(texts)]
            elapsed = time.monotonic() - started
            rows.append((lang, model.version, len(texts), metrics(labels, preds)))
            self.stdout.write(f"{lang}: {len(texts)} validation tweets scored in {elapsed:.1f}s")
            if lang == "en":
                rows.append((lang, "VADER (compound +/-0.05)", len(texts), metrics(labels, vader_predict(texts))))
        self.stdout.write(format_table(rows))
