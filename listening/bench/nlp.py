"""`make bench-nlp`: the whole NLP stage (``pipeline.analyze``) on a 50/50 French/English batch.

    make bench-nlp                          # 20,000 documents
    make bench-nlp DOCS=100000
    python -m listening.bench.nlp --docs 5000 [--batch 1000] [--model-dir DIR]

The batch cycles the corpus' held-out tweets (``listening/nlp/corpus``: the validation splits,
and test splits if the corpus ever has them), one English, one French, ... The models are the
trained artefacts of ``var/models`` (or NLP_MODEL_DIR / --model-dir); a missing one is trained
first, as ``train_sentiment`` does, and saved there. Topics: when ``listening.nlp.topics`` has
``TopicMatcher.from_rules``, five typical topics (keywords only) are matched too.

"Per core": the bench is one process, with the BLAS/OpenMP thread pools pinned to one thread
(OMP_NUM_THREADS=1 etc., set before numpy loads), so one process is one core; docs/s per core is
documents per second of the process' CPU time (``time.process_time``), which other work on the
machine does not inflate, and the wall-clock rate is printed next to it.

Printed while it runs: one line per batch on stderr. At the end, in one table: documents,
wall and CPU time, docs/s and docs/s per core (the batch; a first pass over its distinct
documents with every cache emptied; and the held-out documents scored by a process whose caches
were filled by up to 20,000 training tweets per language, the nearest to a worker that has run
for a while and meets tweets it has never seen), the cost of entities apart (ruler + French NER
on negative French documents: outside the stage's target), model load time per language, peak RSS, the time per
stage, and VADER's speed and scores on the same English documents next to ours.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS",
             "VECLIB_MAXIMUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

TARGET_PER_CORE = 5000.0
WARM_PER_LANGUAGE = 20_000  # training tweets (French has 5,244) before the "new documents" pass
LANGUAGES = ("en", "fr")
# Five topics a French/English brand typically has (keyword lines as the topics page takes them).
TOPIC_RULES = [
    (1, ["livraison", "colis", "deliver*", "package", "shipping"]),
    (2, ["factur*", "rembours*", "bill*", "refund*", "prix", "price"]),
    (3, ["bug", "appli", "app", "crash*", '"mise à jour"', "update"]),
    (4, ['"service client"', "sav", '"customer service"', "support", "conseiller"]),
    (5, ["retard", "delay*", "annul*", "cancel*", "panne", "outage"]),
]


def say(text: str = "") -> None:
    print(text, flush=True)


def progress(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Benchmark the NLP stage on a 50/50 French/English batch.")
    parser.add_argument("--docs", type=int, default=20_000, help="documents in the batch (default 20,000)")
    parser.add_argument("--batch", type=int, default=1000, help="documents per analyze() call (default 1,000)")
    parser.add_argument("--model-dir", default=None, help="default: var/models (or NLP_MODEL_DIR)")
    return parser.parse_args(argv)


def corpus_documents(lang: str) -> tuple[list[str], list[int]]:
    """The held-out labelled tweets of one language: validation, plus test if present."""
    from listening.nlp.data import load_split

    texts, labels = load_split(lang, "val")
    try:
        test_texts, test_labels = load_split(lang, "test")
    except FileNotFoundError:
        test_texts, test_labels = [], []
    return texts + test_texts, labels + test_labels


def build_batch(n: int) -> list[tuple[str, str, int]]:
    """``n`` (text, corpus language, label): English and French alternately, each cycled."""
    pools = {lang: corpus_documents(lang) for lang in LANGUAGES}
    batch = []
    for i in range(n):
        texts, labels = pools[LANGUAGES[i % 2]]
        k = (i // 2) % len(texts)
        batch.append((texts[k], LANGUAGES[i % 2], labels[k]))
    return batch


def warm_documents(per_language: int) -> list[str]:
    """Up to ``per_language`` training tweets of each language, alternately: they fill the
    per-word caches the way a live stream would before the "new documents" pass, which then
    scores the held-out tweets (never trained on, never seen by this process)."""
    from listening.nlp.data import load_split

    pools = [list(dict.fromkeys(load_split(lang, "train")[0]))[:per_language] for lang in LANGUAGES]
    out = []
    for i in range(max(len(p) for p in pools)):
        out += [p[i] for p in pools if i < len(p)]
    return out


def train(lang: str, path: str) -> None:
    """Train one language's model as ``train_sentiment`` does and save it at ``path``."""
    from listening.nlp.data import load_training
    from listening.nlp.sentiment import SentimentModel

    started = time.monotonic()
    texts, labels, weights = load_training(lang)
    SentimentModel.train(lang, texts, labels, sample_weight=weights).save(Path(path))
    progress(f"trained {lang} on {len(texts):,} tweets in {time.monotonic() - started:.0f} s -> {path}")


def load_models(directory: Path) -> tuple[dict, dict[str, float]]:
    """The sentiment model of each language (trained first if missing, in a child process so
    that this one's load times and peak RSS stay those of a worker) and what loading took: the
    artefact, the lemma table, and the language-identification model."""
    import subprocess

    from listening.nlp.langdetect import language_identifier
    from listening.nlp.sentiment import ModelUnavailableError, SentimentModel, model_path
    from listening.nlp.tokenize import lemma_table

    models, seconds = {}, {}
    for lang in LANGUAGES:
        path = model_path(lang, directory)
        try:
            SentimentModel.load(path)
        except ModelUnavailableError as exc:
            progress(f"{exc}; training the {lang} model from the corpus (as train_sentiment does) ...")
            code = "import sys; from listening.bench.nlp import train; train(sys.argv[1], sys.argv[2])"
            subprocess.run([sys.executable, "-c", code, lang, str(path)], cwd=ROOT, check=True)
        started = time.perf_counter()
        models[lang] = SentimentModel.load(path)
        seconds[f"model {lang}"] = time.perf_counter() - started
        started = time.perf_counter()
        lemma_table(lang)
        seconds[f"lemma table {lang}"] = time.perf_counter() - started
    started = time.perf_counter()
    language_identifier()
    seconds["language id"] = time.perf_counter() - started
    return models, seconds


def topic_matcher():
    """``TopicMatcher.from_rules(TOPIC_RULES)`` when the topics module offers it, else None
    (and why)."""
    try:
        import django
        from django.apps import apps

        if not apps.ready:
            # Topics read Django settings (translations); the bench opens no connection.
            os.environ.setdefault("DJANGO_SETTINGS_MODULE", "social_crm.settings")
            os.environ.setdefault("DJANGO_DEBUG", "true")
            os.environ.setdefault("DATABASE_URL", "postgres://bench@localhost/unused")
            os.environ.setdefault("REDIS_URL", "redis://localhost/0")
            django.setup()
        from listening.nlp import topics
    except Exception as exc:  # noqa: BLE001 (any reason means the same: not measured)
        return None, f"listening.nlp.topics not usable ({exc.__class__.__name__}: {exc})"
    factory = getattr(getattr(topics, "TopicMatcher", None), "from_rules", None)
    if factory is None:
        return None, "listening.nlp.topics has no TopicMatcher.from_rules"
    return factory(TOPIC_RULES), f"{len(TOPIC_RULES)} keyword topics"


ENTITY_TERMS = [(1, "brand", "SNCF", ["@SNCF", "sncf connect"]), (2, "brand", "Orange", []),
                (3, "product", "iPhone", ["iphone 15"]), (4, "competitor", "Free", ["free mobile"]),
                (5, "handle", "@Bouygues", [])]


def entities_rate(analyses: list, texts: list[str], batch: int) -> str:
    """Entities are outside the stage's target (the French parser "only where it pays"): their
    cost, ruler on every document + French NER on the negative French ones, measured apart."""
    try:
        from listening.nlp.entities import EntityExtractor, Term
    except Exception as exc:  # noqa: BLE001
        return f"not measured ({exc.__class__.__name__}: {exc})"
    extractor = EntityExtractor.from_terms([Term(i, kind, name, patterns) for i, kind, name, patterns in ENTITY_TERMS])
    languages, labels = [a.language for a in analyses], [a.label for a in analyses]
    extractor.extract(texts[:50], languages[:50], labels[:50])  # loads the French NER model
    started = time.process_time()
    for start in range(0, len(texts), batch):
        extractor.extract(texts[start:start + batch], languages[start:start + batch], labels[start:start + batch])
    cpu = time.process_time() - started
    ner = sum(lang == "fr" and label == "negative" for lang, label in zip(languages, labels))
    return (f"{len(texts) / cpu:,.0f} docs/s per core ({len(texts):,} docs, French NER on the {ner:,} negative "
            f"French ones; {cpu:.2f} CPU-s)")


def run(texts: list[str], batch: int, models: dict, matcher, report: bool) -> tuple[list, dict, float, float]:
    """``analyze`` over ``texts`` in batches: (analyses, seconds per stage, wall s, CPU s)."""
    from listening.nlp.pipeline import analyze

    timings: dict[str, float] = {}
    analyses = []
    wall, cpu = time.perf_counter(), time.process_time()
    for start in range(0, len(texts), batch):
        analyses += analyze(texts[start:start + batch], models=models, topic_matcher=matcher, timings=timings)
        if report:
            elapsed = time.perf_counter() - wall
            progress(f"  {len(analyses):>9,} / {len(texts):,} docs  {elapsed:6.1f} s  {len(analyses) / elapsed:8,.0f} docs/s")
    return analyses, timings, time.perf_counter() - wall, time.process_time() - cpu


def empty_caches(models: dict) -> None:
    from listening.nlp.normalize import clear_cache

    clear_cache()
    for model in models.values():
        model.clear_caches()


def vader(texts: list[str], labels: list[int]) -> tuple[float, dict]:
    """VADER's docs per CPU-second and scores on these texts (compound cut-offs +/-0.05)."""
    from listening.nlp.evaluation import metrics, vader_predict

    started = time.process_time()
    predicted = vader_predict(texts)
    return len(texts) / (time.process_time() - started), metrics(labels, predicted)


def _scores(m: dict) -> str:
    r = m["recall"]
    return (f"macro recall {m['macro_recall']:.3f}, macro F1 {m['macro_f1']:.3f}, accuracy {m['accuracy']:.3f}, "
            f"recall neg/neu/pos {r['negative']:.3f}/{r['neutral']:.3f}/{r['positive']:.3f}")


def main(argv: list[str] | None = None) -> int:
    from listening.nlp.data import LABELS
    from listening.nlp.evaluation import metrics
    from listening.nlp.pipeline import STAGES
    from listening.nlp.sentiment import model_dir

    args = arguments(argv)
    directory = Path(args.model_dir) if args.model_dir else model_dir()
    threads = os.environ.get("OMP_NUM_THREADS")
    say(f"== bench-nlp: {args.docs:,} documents (50/50 fr/en), batches of {args.batch:,}, one process "
        f"(OMP/BLAS threads {threads}), {os.cpu_count()} CPUs on the machine")
    batch = build_batch(args.docs)
    texts = [text for text, _lang, _label in batch]
    models, load_seconds = load_models(directory)
    matcher, topics_note = topic_matcher()

    distinct = list(dict.fromkeys(texts))
    empty_caches(models)
    progress(f"first pass over the {len(distinct):,} distinct documents, caches emptied ...")
    _, _, cold_wall, cold_cpu = run(distinct, args.batch, models, matcher, report=False)
    # Steady state of a worker: caches filled by other tweets, then documents it has never seen.
    empty_caches(models)
    warm = warm_documents(WARM_PER_LANGUAGE)
    progress(f"warming the caches on {len(warm):,} training tweets, then the {len(distinct):,} held-out ones ...")
    run(warm, args.batch, models, matcher, report=False)
    _, _, new_wall, new_cpu = run(distinct, args.batch, models, matcher, report=False)
    progress(f"the batch, {args.docs:,} documents ...")
    analyses, timings, wall, cpu = run(texts, args.batch, models, matcher, report=True)

    english = [i for i, (_t, lang, _l) in enumerate(batch) if lang == "en"]
    en_texts, en_labels = [texts[i] for i in english], [batch[i][2] for i in english]
    ours = metrics(en_labels, [LABELS.index(analyses[i].label) for i in english])
    progress(f"VADER on the {len(en_texts):,} English documents ...")
    vader_rate, vader_scores = vader(en_texts, en_labels)
    progress("entities (ruler + French NER on negative French documents) ...")
    entities_note = entities_rate(analyses, texts, args.batch)
    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    per_core = args.docs / cpu
    flagged = sum(bool(a.irony) for a in analyses)

    say()
    say("== results")
    rows = [
        ("documents", f"{args.docs:,} ({len(distinct):,} distinct; en {len(english):,}, fr {args.docs - len(english):,})"),
        ("wall time", f"{wall:.2f} s -> {args.docs / wall:,.0f} docs/s"),
        ("CPU time (process)", f"{cpu:.2f} s -> {per_core:,.0f} docs/s per core "
                               f"(target >= {TARGET_PER_CORE:,.0f}: {'met' if per_core >= TARGET_PER_CORE else 'MISSED'})"),
        ("first pass, cold caches", f"{len(distinct):,} distinct docs in {cold_cpu:.2f} CPU-s -> "
                                    f"{len(distinct) / cold_cpu:,.0f} docs/s per core ({cold_wall:.2f} s wall)"),
        ("new docs, warm caches", f"{len(distinct):,} held-out docs after {len(warm):,} training tweets: "
                                  f"{len(distinct) / new_cpu:,.0f} docs/s per core ({new_wall:.2f} s wall)"),
        ("model load", ", ".join(f"{name} {s:.2f} s" for name, s in load_seconds.items())),
        ("peak RSS", f"{peak_rss:,.0f} MB (whole process)"),
        ("topics", topics_note if matcher is not None else f"not measured: {topics_note}"),
        ("irony cues", f"{flagged:,} of {args.docs:,} documents"),
        ("entities (apart)", entities_note),
    ]
    measured = sum(timings.values())
    for stage in STAGES:
        if stage in timings:
            rows.append((f"  stage {stage}", f"{timings[stage]:.3f} s  {100 * timings[stage] / measured:4.1f} %  "
                                             f"{args.docs / timings[stage]:>10,.0f} docs/s"))
    rows += [
        ("English docs: ours", f"{per_core:,.0f} docs/s per core (whole stage); " + _scores(ours)),
        ("English docs: VADER", f"{vader_rate:,.0f} docs/s per core (sentiment only); " + _scores(vader_scores)),
    ]
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        say(f"{name:<{width}}  {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
