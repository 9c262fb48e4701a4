"""Train the per-language sentiment models from listening/nlp/corpus into var/models.

Deterministic (fixed seed, same data -> same predictions and data hash). Safe to re-run: the
artefact is replaced atomically, and workers pick the new one up on their next load.
"""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand

from listening.nlp.data import load_training
from listening.nlp.sentiment import DEFAULT_SEED, SentimentModel, model_path


class Command(BaseCommand):
    help = "Train the sentiment model(s) (fr, en) and write them to var/models/."

    def add_arguments(self, parser):
        parser.add_argument("--lang", choices=["fr", "en"], action="append",
                            help="language to train (repeatable; default: both)")
        parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
        parser.add_argument("--C", type=float, default=None, help="override the regularisation")
        parser.add_argument("--output-dir", default=None, help="default: var/models")

    def handle(self, *args, **opts):
        for lang in opts["lang"] or ["fr", "en"]:
            started = time.monotonic()
            texts, labels, weights = load_training(lang)
            model = SentimentModel.train(lang, texts, labels, seed=opts["seed"], C=opts["C"],
                                         sample_weight=weights)
            path = model.save(model_path(lang, opts["output_dir"]))
            self.stdout.write(self.style.SUCCESS(
                f"{model.version}: {len(texts)} tweets, {time.monotonic() - started:.0f}s, "
                f"{path} ({path.stat().st_size / 1e6:.1f} MB), data sha256 {model.data_hash}"
            ))
