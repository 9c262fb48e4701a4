"""Score a file of texts, one per line, into JSON lines in the same order.

    manage.py sentiment_predict --input posts.txt --output scores.jsonl [--lang fr|en]

Reads and scores in chunks (``CHUNK`` lines) so memory stays flat on large files; inside a
chunk the pipeline (``pipeline.analyze``) works in batches. Empty lines give a neutral,
low-confidence result.
"""

from __future__ import annotations

import json
from itertools import islice

from django.core.management.base import BaseCommand, CommandError

from listening.nlp.sentiment import ModelUnavailableError, predict_texts

CHUNK = 5000  # lines per read; the model vectorises them 1,000 at a time


class Command(BaseCommand):
    help = "Predict sentiment for each line of --input; write one JSON object per line to --output."

    def add_arguments(self, parser):
        parser.add_argument("--input", required=True)
        parser.add_argument("--output", required=True)
        parser.add_argument("--lang", choices=["fr", "en"], default=None,
                            help="force the language; default: detect per line")
        parser.add_argument("--model-dir", default=None, help="default: var/models")

    def handle(self, *args, **opts):
        count = 0
        try:
            with open(opts["input"], encoding="utf-8", newline=None) as src, \
                    open(opts["output"], "w", encoding="utf-8") as dst:
                while True:
                    lines = [line.rstrip("\n") for line in islice(src, CHUNK)]
                    if not lines:
                        break
                    for pred in predict_texts(lines, lang=opts["lang"], directory=opts["model_dir"]):
                        dst.write(json.dumps(pred.as_dict(), ensure_ascii=False) + "\n")
                    count += len(lines)
        except ModelUnavailableError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"{count} line(s) scored -> {opts['output']}")
