"""`make bench-nlp` runs: the bench's main on 200 documents with the small trained models prints
every figure it promises (the figures themselves are measured, not checked: this is no bench)."""

from __future__ import annotations

import re

from listening.bench.nlp import build_batch, main


def test_the_batch_is_half_french_half_english_cycled_from_the_corpus():
    batch = build_batch(5001)
    assert len(batch) == 5001
    assert [lang for _t, lang, _l in batch[:4]] == ["en", "fr", "en", "fr"]
    assert abs(sum(lang == "fr" for _t, lang, _l in batch) - 2500) <= 1
    assert all(label in (0, 1, 2) and text for text, _lang, label in batch)


def test_bench_runs_and_prints_its_figures(models, capsys):
    assert main(["--docs", "200", "--batch", "50", "--model-dir", str(models)]) == 0
    out, err = capsys.readouterr()
    assert re.search(r"^documents\s+200 ", out, re.M)
    assert re.search(r"^CPU time \(process\)\s+[\d.]+ s -> [\d,]+ docs/s per core \(target >= 5,000: (met|MISSED)\)", out, re.M)
    assert re.search(r"^first pass, cold caches\s+\d+ distinct docs", out, re.M)
    assert re.search(r"^model load\s+model en [\d.]+ s, lemma table en [\d.]+ s, model fr [\d.]+ s", out, re.M)
    assert re.search(r"^peak RSS\s+[\d,]+ MB", out, re.M)
    for stage in ("normalise", "langdetect", "lemmas", "sentiment", "irony"):
        assert re.search(rf"^  stage {stage}\s+[\d.]+ s\s+[\d.]+ %\s+[\d,]+ docs/s", out, re.M), stage
    assert re.search(r"^topics\s+(5 keyword topics|not measured: .+)$", out, re.M)
    assert re.search(r"^English docs: ours\s+[\d,]+ docs/s per core .*macro recall 0\.\d{3}, macro F1 0\.\d{3}", out, re.M)
    assert re.search(r"^English docs: VADER\s+[\d,]+ docs/s per core .*macro recall 0\.\d{3}, macro F1 0\.\d{3}", out, re.M)
    assert "200 / 200 docs" in err  # progress, one line per batch, on stderr
